/**
 * Build a CompiledConfig in memory for simulations, tests and benchmarks (the real one comes from
 * the config parsers). Defaults follow Heartbeat's; timing and failback mode are parameters.
 */
import type { AutoFailback, CompiledConfig, HaCf, ResourceGroup } from '../config/types.js';
import { vigilDefaults } from '../config/vigil-directives.js';

export interface SimConfigOptions {
  readonly nodes: readonly string[];
  readonly localNode: string;
  /** [key, preferred node] per haresources line. */
  readonly groups: ReadonlyArray<readonly [string, string]>;
  readonly keepaliveMs?: number;
  readonly deadtimeMs?: number;
  readonly warntimeMs?: number;
  readonly initdeadMs?: number;
  readonly autoFailback?: AutoFailback;
  /** STONITH device type, or undefined for none. */
  readonly stonith?: string;
  readonly pingNodes?: readonly string[];
}

const origin = { file: '<sim>', line: 0 };

export function simConfig(o: SimConfigOptions): CompiledConfig {
  const keepaliveMs = o.keepaliveMs ?? 1000;
  const deadtimeMs = o.deadtimeMs ?? 10_000;
  const autoFailback = o.autoFailback ?? 'on';
  const initdeadMs = o.initdeadMs ?? (deadtimeMs > 10_000 ? deadtimeMs : deadtimeMs < 6000 ? 12_000 : 2 * deadtimeMs);
  const hacf: HaCf = {
    nodes: o.nodes,
    localNode: o.localNode,
    media: [{ kind: 'bcast', dev: 'eth0', port: 694, origin }],
    pingNodes: (o.pingNodes ?? []).map((ip) => ({ name: ip, addresses: [ip], group: false, origin })),
    keepaliveMs,
    deadtimeMs,
    warntimeMs: o.warntimeMs ?? Math.floor(deadtimeMs / 2),
    initdeadMs,
    deadpingMs: deadtimeMs,
    udpport: 694,
    baud: 19200,
    hopfudge: 1,
    autoFailback,
    niceFailback: autoFailback !== 'legacy',
    realtime: true,
    debug: 0,
    hbgenmethod: 'file',
    msgfmt: 'classic',
    logfile: undefined,
    debugfile: undefined,
    logfacility: undefined,
    useLogd: false,
    connLogdTimeS: 60,
    coredumps: true,
    coreroot: undefined,
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
    quorumServer: undefined,
    env: {},
    watchdog: undefined,
    stonith:
      o.stonith === undefined
        ? undefined
        : { directive: 'stonith_host', type: o.stonith, params: [], host: '*', origin },
    apiauth: [],
    respawn: [],
    vigil: vigilDefaults(),
    raw: {},
    origins: {},
  };
  const groups: ResourceGroup[] = o.groups.map(([key, node]) => ({
    key,
    node,
    resources: [{ spec: key, type: 'IPaddr', args: [key], ip: undefined }],
    origin,
  }));
  return {
    configDir: '/etc/ha.d',
    hacf,
    authkeys: { active: 1, keys: new Map([[1, { index: 1, method: 'sha1', key: 'sim', origin }]]) },
    groups,
  };
}
