import { VigilError } from '../../src/util/errors.js';
import { HeartbeatDriver } from './heartbeat.js';
import { KeepalivedDriver } from './keepalived.js';
import { IMPLS, type Driver, type Impl } from './types.js';
import { VigilDriver } from './vigil.js';

export function isImpl(s: string): s is Impl {
  return (IMPLS as readonly string[]).includes(s);
}

export function driverFor(impl: string): Driver {
  if (!isImpl(impl))
    throw new VigilError('VIGIL_ERR_USAGE', `--impl must be one of ${IMPLS.join(', ')}, got '${impl}'`);
  switch (impl) {
    case 'heartbeat':
      return new HeartbeatDriver();
    case 'keepalived':
      return new KeepalivedDriver();
    case 'vigil':
      return new VigilDriver();
  }
}
