/**
 * Heartbeat 3.0.6's defaults for ha.cf (config.c, checked against `heartbeat -D` on the real binary), written once:
 * the parser starts from them, the simulator and the tests build configurations from them.
 */
import type { HaCf, MediumConfig } from './types.js';
import { vigilDefaults } from './vigil-directives.js';

export const HACF_DEFAULTS = {
  keepaliveMs: 1000,
  deadtimeMs: 30_000,
  udpport: 694,
  baud: 19200,
  hopfudge: 1,
  realtime: true,
  debug: 0,
  hbgenmethod: 'file',
  msgfmt: 'classic',
  connLogdTimeS: 60,
  coredumps: true,
  logBadpack: true,
  syslogmsgfmt: true,
  pacemaker: false,
  autojoin: 'none',
  uuidfrom: 'file',
  compression: 'zlib',
  compressionThreshold: 2,
  traditionalCompression: false,
  maxRexmitDelayMs: 250,
  memreserveKb: 6500,
  cluster: 'linux-ha',
} as const satisfies Partial<HaCf>;

/** `warntime` unset: half the deadtime. */
export function defaultWarntimeMs(deadtimeMs: number): number {
  return Math.floor(deadtimeMs / 2);
}

/** `initdead` unset: deadtime above 10 s; 12 s below 6 s; else twice the deadtime. */
export function defaultInitdeadMs(deadtimeMs: number): number {
  if (deadtimeMs > 10_000) return deadtimeMs;
  if (deadtimeMs < 6000) return 12_000;
  return 2 * deadtimeMs;
}

/**
 * A whole HaCf as ha.cf with only `node` lines and one bcast medium would give, for code that builds configurations
 * without a file (the simulator, tests). Timings and failback mode may be set; everything else is Heartbeat's default.
 */
export function defaultHaCf(o: {
  readonly nodes: readonly string[];
  readonly localNode: string;
  readonly media?: readonly MediumConfig[];
  readonly keepaliveMs?: number;
  readonly deadtimeMs?: number;
  readonly warntimeMs?: number;
  readonly initdeadMs?: number;
  readonly autoFailback?: HaCf['autoFailback'];
}): HaCf {
  const d = HACF_DEFAULTS;
  const keepaliveMs = o.keepaliveMs ?? d.keepaliveMs;
  const deadtimeMs = o.deadtimeMs ?? d.deadtimeMs;
  const autoFailback = o.autoFailback ?? 'legacy';
  return {
    ...d,
    nodes: o.nodes,
    localNode: o.localNode,
    media: o.media ?? [{ kind: 'bcast', dev: 'eth0', port: d.udpport, origin: { file: '<defaults>', line: 0 } }],
    pingNodes: [],
    keepaliveMs,
    deadtimeMs,
    warntimeMs: o.warntimeMs ?? defaultWarntimeMs(deadtimeMs),
    initdeadMs: o.initdeadMs ?? defaultInitdeadMs(deadtimeMs),
    deadpingMs: deadtimeMs,
    autoFailback,
    niceFailback: autoFailback !== 'legacy',
    rtprio: undefined,
    logfile: undefined,
    debugfile: undefined,
    logfacility: undefined,
    // No logfile, debugfile nor logfacility: Heartbeat logs through ha_logd.
    useLogd: true,
    coreroot: undefined,
    quorumServer: undefined,
    env: {},
    watchdog: undefined,
    stonith: undefined,
    apiauth: [],
    respawn: [],
    vigil: vigilDefaults(),
    raw: {},
    origins: {},
  };
}
