import type { Origin } from './types.js';
import { parseInteger, parseTimeMs } from './values.js';
import { VigilError } from '../util/errors.js';

/**
 * Service health checks (a Vigil extension; Heartbeat only noticed a dead node, never a dead service).
 * A check watches one group: a resource's status action, or any command (exit 0 = healthy). After `fall`
 * consecutive failures the check is down: the group is restarted in place, up to `maxRestarts` times; after that
 * the group is handed to a healthy peer and this node stops being eligible for it until the operator clears the
 * fail count. `rise` consecutive successes bring a down check up again.
 */
export interface HealthCheckSpec {
  /** Unique, shown in logs and `vigil status` (default `<group>:<target>`). */
  readonly id: string;
  /** Key of the resource group this check guards. */
  readonly group: string;
  readonly target: HealthTarget;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** Restarts in place before the group is handed over; 0 = hand over at the first failure. */
  readonly maxRestarts: number;
  /** First check this long after the group started (services need time to come up). Default: intervalMs. */
  readonly graceMs: number;
  /** A failure older than this no longer counts (0 = counts until the operator clears them). */
  readonly failureTimeoutMs: number;
  readonly origin?: Origin;
}

export type HealthTarget =
  /** The status action of a resource of the group, by its haresources name (e.g. `apache` or `IPaddr2::…`). */
  | { readonly kind: 'resource'; readonly resource: string }
  | { readonly kind: 'command'; readonly argv: readonly string[] };

export const HEALTH_LIMITS = { checks: 256, detailChars: 500, minIntervalMs: 100 } as const;

export function describeTarget(t: HealthTarget): string {
  return t.kind === 'resource' ? `resource ${t.resource}` : `command ${t.argv.join(' ')}`;
}

export function validateHealthCheck(s: HealthCheckSpec): void {
  const bad = (m: string): never => {
    throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `health check [${s.id}]: ${m}`, s.origin);
  };
  if (s.intervalMs < HEALTH_LIMITS.minIntervalMs) bad(`interval below ${HEALTH_LIMITS.minIntervalMs} ms`);
  if (s.timeoutMs <= 0) bad('timeout must be positive');
  if (s.rise < 1 || s.fall < 1) bad('rise and fall must be at least 1');
  if (s.maxRestarts < 0) bad('restarts must not be negative');
  if (s.target.kind === 'command' && s.target.argv[0]?.startsWith('/') !== true) bad('command needs an absolute path');
}

/** Defaults of `vigil_health_check` keys. */
export const HEALTH_DEFAULTS = {
  intervalMs: 10_000,
  timeoutMs: 5_000,
  rise: 2,
  fall: 3,
  maxRestarts: 1,
  failureTimeoutMs: 0,
} as const;

/**
 * One `vigil_health_check` line (the text after the directive):
 * `<group> [interval=T] [timeout=T] [rise=N] [fall=N] [restarts=N] [grace=T] [failure_timeout=T] [id=NAME]
 *  resource <name> | command </abs/path> [args...]`
 * Times use ha.cf syntax (seconds, or `500ms`). Example:
 * `vigil_health_check 192.168.1.50 interval=5 fall=2 restarts=1 command /usr/lib/nagios/plugins/check_ssh localhost`
 */
export function parseHealthCheck(text: string, origin?: Origin): HealthCheckSpec {
  const fail = (m: string): never => {
    throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `vigil_health_check: ${m}`, origin);
  };
  const toks = text
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  const group = toks.shift();
  if (group === undefined) return fail('missing group (the first resource of its haresources line)');
  const v: Record<string, number> = { ...HEALTH_DEFAULTS };
  let grace: number | undefined;
  let id: string | undefined;
  let tok: string | undefined;
  while ((tok = toks.shift()) !== undefined && tok.includes('=')) {
    const [k = '', val = ''] = tok.split('=', 2);
    const time = (): number =>
      parseTimeMs(val) ?? fail(`${k}=${val}: expected a time (seconds, or a number followed by ms)`);
    const count = (): number => parseInteger(val, 0, 1000) ?? fail(`${k}=${val}: expected a whole number`);
    switch (k) {
      case 'interval':
        v.intervalMs = time();
        break;
      case 'timeout':
        v.timeoutMs = time();
        break;
      case 'rise':
        v.rise = count();
        break;
      case 'fall':
        v.fall = count();
        break;
      case 'restarts':
        v.maxRestarts = count();
        break;
      case 'failure_timeout':
        v.failureTimeoutMs = time();
        break;
      case 'grace':
        grace = time();
        break;
      case 'id':
        if (!/^[A-Za-z0-9_.:-]+$/.test(val)) fail(`id=${val}: expected a single word`);
        id = val;
        break;
      default:
        fail(`unknown key [${k}] (interval, timeout, rise, fall, restarts, grace, failure_timeout, id)`);
    }
  }
  let target: HealthTarget;
  if (tok === 'resource') {
    const r = toks.shift();
    if (r === undefined || toks.length > 0) return fail('resource takes one name, as written in haresources');
    target = { kind: 'resource', resource: r };
  } else if (tok === 'command') {
    if (toks.length === 0) return fail('command needs a program');
    target = { kind: 'command', argv: toks };
  } else {
    return fail(`expected "resource <name>" or "command <path> [args]", got [${tok ?? ''}]`);
  }
  const spec: HealthCheckSpec = {
    id: id ?? `${group}:${target.kind === 'resource' ? target.resource : (target.argv[0]?.split('/').pop() ?? '')}`,
    group,
    target,
    intervalMs: v.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
    timeoutMs: v.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs,
    rise: v.rise ?? HEALTH_DEFAULTS.rise,
    fall: v.fall ?? HEALTH_DEFAULTS.fall,
    maxRestarts: v.maxRestarts ?? HEALTH_DEFAULTS.maxRestarts,
    graceMs: grace ?? v.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
    failureTimeoutMs: v.failureTimeoutMs ?? 0,
    origin,
  };
  validateHealthCheck(spec);
  return spec;
}
