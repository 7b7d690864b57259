/**
 * `vigil reload` (and SIGHUP): read the three files again, refuse a bad configuration (the running one stays),
 * apply in place everything Heartbeat's re-exec would apply, without moving a group that did not change, and say
 * what happened: applied (with the changes), unchanged, refused (every error as file:line), or which changes need a
 * restart and why (nothing is applied then, but new authkeys, as Heartbeat rereads them on any SIGHUP).
 */
import { diffConfig, type ConfigDiff } from '../config/diff.js';
import type { CompiledConfig, MediumConfig } from '../config/types.js';
import type { Logger } from '../obs/log.js';
import type { Medium } from '../transport/index.js';
import { errorMessage, isVigilError } from '../util/errors.js';
import type { Fencer } from './fencing.js';
import type { VigilNode } from './node.js';

export interface ReloadResult {
  readonly outcome: 'applied' | 'unchanged' | 'refused' | 'restart';
  /** What changed (applied, or found), one line each. */
  readonly changes: readonly string[];
  /** The changes that need a restart, with the reason. */
  readonly needRestart: readonly { readonly change: string; readonly why: string }[];
  /** Why a configuration was refused: every error, `file:line: message`. */
  readonly errors: readonly string[];
}

/** A medium's identity: what it was built from (its line's place in the file does not matter). */
export function mediumKey(m: MediumConfig): string {
  return JSON.stringify({ ...m, origin: undefined });
}

export interface ReloadDeps {
  readonly logger: Logger;
  readonly node: VigilNode;
  /** Reads and checks the files (throws VigilError/VigilErrors listing every error). */
  readonly load: () => Promise<CompiledConfig>;
  readonly current: () => CompiledConfig;
  readonly setCurrent: (c: CompiledConfig) => void;
  /** The media in use by their key. */
  readonly media: Map<string, Medium>;
  /** Builds the media of these configuration lines (unsupported kinds are logged and left out). */
  readonly buildMedia: (lines: readonly MediumConfig[]) => Map<string, Medium>;
  /** The STONITH device of a configuration (undefined when none is configured). */
  readonly makeFencer: (c: CompiledConfig) => Promise<Fencer | undefined>;
  readonly currentFencer: () => Fencer | undefined;
  /** New log destinations. */
  readonly resetLogging: (c: CompiledConfig) => Promise<void>;
  /** Ping probes for the new ping nodes or keepalive. */
  readonly restartPingers: (c: CompiledConfig) => void;
  /** Log files reopened (logrotate sends a SIGHUP after moving them). */
  readonly reopenLogs: () => void;
  /** The HTTP server on its new address (or stopped, or started). */
  readonly applyHttp?: (c: CompiledConfig) => Promise<void>;
  /** New notify program, timeout or FIFO. */
  readonly applyNotify?: (c: CompiledConfig) => void;
  /** New history size. */
  readonly applyHistory?: (c: CompiledConfig) => void;
}

export async function reload(d: ReloadDeps): Promise<ReloadResult> {
  const log = d.logger;
  d.reopenLogs();
  let next: CompiledConfig;
  try {
    next = await d.load();
  } catch (e) {
    const errors = (isVigilError(e) ? e.message : errorMessage(e)).split('\n').filter((l) => l !== '');
    for (const line of errors) log.error(line);
    log.error('New configuration rejected: keeping the running one.');
    return { outcome: 'refused', changes: [], needRestart: [], errors };
  }
  const cur = d.current();
  const diff = diffConfig(cur, next);
  if (diff.changes.length === 0) {
    log.info('Configuration reloaded: no change.');
    return { outcome: 'unchanged', changes: [], needRestart: [], errors: [] };
  }
  const needRestart = diff.needRestart.map((c) => ({ change: c.text, why: c.restartWhy ?? '' }));
  if (needRestart.length > 0) {
    // Heartbeat rereads authkeys on every SIGHUP; everything else waits for a restart, all together.
    const auth = diff.changes.some((c) => c.area === 'auth');
    if (auth) {
      log.info('Rereading authentication file.');
      d.node.wire.setKeys(next.authkeys);
      d.setCurrent({ ...cur, authkeys: next.authkeys });
    }
    for (const r of needRestart) log.warn(`Reload: ${r.change} needs a restart (${r.why}).`);
    log.warn('Configuration changes need a restart (vigil stop; vigil start): the running configuration is kept.');
    return { outcome: 'restart', changes: diff.changes.map((c) => c.text), needRestart, errors: [] };
  }
  try {
    await apply(d, cur, next, diff);
  } catch (e) {
    // Nothing above is expected to fail once the files were checked (a STONITH device that cannot be built is).
    log.error(`Reload failed: ${errorMessage(e)}; the running configuration is kept.`);
    return { outcome: 'refused', changes: diff.changes.map((c) => c.text), needRestart: [], errors: [errorMessage(e)] };
  }
  for (const c of diff.changes) log.info(`Configuration reloaded: ${c.text}`);
  return { outcome: 'applied', changes: diff.changes.map((c) => c.text), needRestart: [], errors: [] };
}

async function apply(d: ReloadDeps, cur: CompiledConfig, next: CompiledConfig, diff: ConfigDiff): Promise<void> {
  const areas = new Set(diff.changes.map((c) => c.area));
  if (areas.has('auth')) d.logger.info('Rereading authentication file.');
  // Built first: what can fail (a STONITH device) fails before anything changed.
  const fencer = areas.has('stonith') ? await d.makeFencer(next) : d.currentFencer();
  if (areas.has('logging')) await d.resetLogging(next);
  const wanted = new Map(next.hacf.media.map((m) => [mediumKey(m), m]));
  const remove: Medium[] = [];
  for (const [k, m] of d.media) {
    if (wanted.has(k)) continue;
    remove.push(m);
    d.media.delete(k);
  }
  const added = d.buildMedia([...wanted].filter(([k]) => !d.media.has(k)).map(([, m]) => m));
  for (const [k, m] of added) d.media.set(k, m);
  await d.node.reconfigure(next, diff, { add: [...added.values()], remove }, fencer);
  d.setCurrent(next);
  if (areas.has('ping') || cur.hacf.keepaliveMs !== next.hacf.keepaliveMs) d.restartPingers(next);
  if (areas.has('notify')) d.applyNotify?.(next);
  if (areas.has('history')) d.applyHistory?.(next);
  if (areas.has('http')) await d.applyHttp?.(next);
}
