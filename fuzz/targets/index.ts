/** Every fuzz target, in campaign order. */
import type { AnyTarget } from '../engine.js';
import { authkeysTarget, haresourcesTarget, hacfTarget } from './config.js';
import { controlClientTarget, controlRequestTarget } from './control.js';
import { smtpReplyTarget } from './smtp.js';
import { wireDecodeTarget, wireReceiveTarget } from './wire.js';

export const TARGETS: readonly AnyTarget[] = [
  wireDecodeTarget,
  wireReceiveTarget,
  hacfTarget,
  haresourcesTarget,
  authkeysTarget,
  controlRequestTarget,
  controlClientTarget,
  smtpReplyTarget,
];

export function targetNamed(name: string): AnyTarget | undefined {
  return TARGETS.find((t) => t.name === name);
}
