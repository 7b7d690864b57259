/**
 * What changed between the running configuration and a new one, and whether the daemon can apply each change in
 * place (`vigil reload`) or only at a restart. Pure: the daemon applies what this says, area by area.
 *
 * Every ha.cf field is listed once, with its area or the reason a restart is needed; a field added to HaCf without
 * an entry here fails to compile, so nothing new is ever silently ignored by a reload.
 */
import type { CompiledConfig, HaCf, ResourceGroup, VigilExtensions } from './types.js';

/** Where a change lands when it is applied in place. */
export type ChangeArea =
  | 'auth'
  | 'timing'
  | 'detector'
  | 'media'
  | 'nodes'
  | 'ping'
  | 'failback'
  | 'groups'
  | 'resources'
  | 'health'
  | 'mail'
  | 'stonith'
  | 'logging'
  | 'http'
  | 'notify'
  | 'history';

export interface ConfigChange {
  /** What changed, for the operator: `keepalive 1000 ms → 200 ms`, `group IPaddr::… added`. */
  readonly text: string;
  /** Applied in place in this area... */
  readonly area?: ChangeArea;
  /** ...or not: why it needs a restart. */
  readonly restartWhy?: string;
}

export interface ConfigDiff {
  readonly changes: readonly ConfigChange[];
  /** The changes that cannot be applied in place (a subset of `changes`). */
  readonly needRestart: readonly ConfigChange[];
  /** Groups whose key is new, gone, or whose preferred node or resources changed. */
  readonly groups: {
    readonly added: string[];
    readonly removed: string[];
    readonly changed: string[];
    readonly moved: string[];
  };
}

type Rule = { name: string } & ({ area: ChangeArea } | { restart: string } | { ignore: true });

const HACF_RULES: { readonly [K in keyof HaCf]: Rule } = {
  nodes: { name: 'node', area: 'nodes' },
  localNode: { name: "(this node's name)", restart: 'this node’s name is its identity in the cluster' },
  media: { name: 'bcast/ucast/mcast/ucast6/mcast6', area: 'media' },
  pingNodes: { name: 'ping/ping_group', area: 'ping' },
  keepaliveMs: { name: 'keepalive', area: 'timing' },
  deadtimeMs: { name: 'deadtime', area: 'timing' },
  warntimeMs: { name: 'warntime', area: 'timing' },
  initdeadMs: { name: 'initdead', area: 'timing' },
  deadpingMs: { name: 'deadping', area: 'timing' },
  udpport: { name: 'udpport', area: 'media' },
  baud: { name: 'baud', area: 'media' },
  hopfudge: { name: 'hopfudge', area: 'timing' },
  autoFailback: { name: 'auto_failback', area: 'failback' },
  niceFailback: { name: 'nice_failback', ignore: true }, // follows autoFailback, judged there
  realtime: { name: 'realtime', restart: 'the scheduling policy is set when the daemon starts' },
  rtprio: { name: 'rtprio', restart: 'the scheduling policy is set when the daemon starts' },
  debug: { name: 'debug', area: 'logging' },
  hbgenmethod: { name: 'hbgenmethod', restart: 'the generation is chosen when the daemon starts' },
  msgfmt: { name: 'msgfmt', area: 'media' },
  logfile: { name: 'logfile', area: 'logging' },
  debugfile: { name: 'debugfile', area: 'logging' },
  logfacility: { name: 'logfacility', area: 'logging' },
  useLogd: { name: 'use_logd', area: 'logging' },
  connLogdTimeS: { name: 'conn_logd_time', ignore: true },
  coredumps: { name: 'coredumps', restart: 'core dump settings are set when the daemon starts' },
  coreroot: { name: 'coreroot', restart: 'core dump settings are set when the daemon starts' },
  logBadpack: { name: 'log_badpack', area: 'logging' },
  syslogmsgfmt: { name: 'syslogmsgfmt', area: 'logging' },
  pacemaker: { name: 'crm', restart: 'crm/pacemaker mode is chosen at start (and not supported)' },
  autojoin: { name: 'autojoin', restart: 'autojoin is chosen at start' },
  uuidfrom: { name: 'uuidfrom', restart: 'the node uuid is its identity in the cluster' },
  compression: { name: 'compression', ignore: true },
  compressionThreshold: { name: 'compression_threshold', ignore: true },
  traditionalCompression: { name: 'traditional_compression', ignore: true },
  maxRexmitDelayMs: { name: 'max_rexmit_delay', area: 'timing' },
  memreserveKb: { name: 'memreserve', ignore: true },
  cluster: { name: 'cluster', restart: 'the cluster name is set at start' },
  quorumServer: { name: 'quorum_server', restart: 'the quorum server is chosen at start' },
  env: { name: 'env', area: 'resources' },
  watchdog: { name: 'watchdog', restart: 'the watchdog device is opened at start' },
  stonith: { name: 'stonith/stonith_host', area: 'stonith' },
  apiauth: { name: 'apiauth', restart: 'API client rights are read at start (as Heartbeat does)' },
  respawn: { name: 'respawn', restart: 'respawn/ipfail clients are set up at start' },
  vigil: { name: 'vigil_*', ignore: true }, // field by field below
  raw: { name: '', ignore: true },
  origins: { name: '', ignore: true },
};

const VIGIL_RULES: { readonly [K in keyof VigilExtensions]: Rule } = {
  stateDir: { name: 'vigil_state_dir', restart: 'hb_uuid and hb_generation are read at start' },
  vipLease: { name: 'vigil_vip_lease', area: 'resources' },
  garpRefreshMs: { name: 'vigil_garp_refresh', area: 'resources' },
  scriptTimeoutMs: { name: 'vigil_script_timeout', area: 'resources' },
  rscStateDir: { name: 'vigil_rsc_state_dir', area: 'resources' },
  mailRelay: { name: 'vigil_mail_relay', area: 'mail' },
  mailLang: { name: 'vigil_mail_lang', area: 'mail' },
  mailTemplatesDir: { name: 'vigil_mail_templates', area: 'mail' },
  stonithTimeoutMs: { name: 'vigil_stonith_timeout', area: 'stonith' },
  healthChecks: { name: 'vigil_health_check', area: 'health' },
  detector: { name: 'vigil_detector', area: 'detector' },
  detectorPhi: { name: 'vigil_detector_phi', area: 'detector' },
  detectorMinBeats: { name: 'vigil_detector_min_beats', area: 'detector' },
  groupNodes: { name: 'vigil_group_nodes', area: 'groups' },
  quorum: { name: 'vigil_quorum', restart: 'turning the etcd quorum on or off changes who may hold a group' },
  quorumEndpoints: { name: 'vigil_quorum_endpoints', restart: 'the etcd client is built at start' },
  quorumPrefix: { name: 'vigil_quorum_prefix', restart: 'group keys in etcd are named at start' },
  quorumCa: { name: 'vigil_quorum_ca', restart: 'the etcd client is built at start' },
  quorumCert: { name: 'vigil_quorum_cert', restart: 'the etcd client is built at start' },
  quorumKey: { name: 'vigil_quorum_key', restart: 'the etcd client is built at start' },
  quorumTtlMs: { name: 'vigil_quorum_ttl', restart: 'leases held now were granted with the old TTL' },
  quorumLoss: { name: 'vigil_quorum_loss', restart: 'the etcd client is built at start' },
  httpListen: { name: 'vigil_http', area: 'http' },
  notifyProgram: { name: 'vigil_notify', area: 'notify' },
  notifyTimeoutMs: { name: 'vigil_notify_timeout', area: 'notify' },
  notifyFifo: { name: 'vigil_notify_fifo', area: 'notify' },
  historyBytes: { name: 'vigil_history_size', area: 'history' },
  journald: { name: 'vigil_journald', area: 'logging' },
};

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (v === '') return 'off'; // vigil_http, vigil_notify, vigil_notify_fifo
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v, (k, x: unknown) => (k === 'origin' ? undefined : x));
}

function same(a: unknown, b: unknown): boolean {
  return show(a) === show(b);
}

function fieldChanges<T extends object>(
  rules: { readonly [K in keyof T]: Rule },
  a: T,
  b: T,
  prefix: string,
  out: ConfigChange[],
): void {
  for (const key of Object.keys(rules) as (keyof T & string)[]) {
    const rule = rules[key];
    if ('ignore' in rule) continue;
    if (same(a[key], b[key])) continue;
    const unit = key.endsWith('Ms') ? ' ms' : '';
    const text = `${prefix}${rule.name} ${show(a[key])}${unit} → ${show(b[key])}${unit}`;
    out.push('area' in rule ? { text, area: rule.area } : { text, restartWhy: rule.restart });
  }
}

function groupSig(g: ResourceGroup): string {
  return g.resources.map((r) => r.spec).join(' ');
}

export function diffConfig(a: CompiledConfig, b: CompiledConfig): ConfigDiff {
  const changes: ConfigChange[] = [];
  if (
    a.authkeys.active !== b.authkeys.active ||
    show([...a.authkeys.keys.values()].map((k) => [k.index, k.method, k.key])) !==
      show([...b.authkeys.keys.values()].map((k) => [k.index, k.method, k.key]))
  ) {
    changes.push({ text: 'authkeys', area: 'auth' });
  }
  fieldChanges(HACF_RULES, a.hacf, b.hacf, '', changes);
  fieldChanges(VIGIL_RULES, a.hacf.vigil, b.hacf.vigil, '', changes);
  // A VIP added without a lifetime cannot be given one in place, nor the other way round, reliably.
  const lease = changes.findIndex((c) => c.text.startsWith('vigil_vip_lease '));
  if (lease >= 0 && (a.hacf.vigil.vipLease === 'off') !== (b.hacf.vigil.vipLease === 'off')) {
    changes[lease] = {
      text: changes[lease]?.text ?? 'vipLease',
      restartWhy: 'turning the VIP lease on or off changes how held addresses were added',
    };
  }
  // Heartbeat's legacy protocol (ip-request) and nice_failback's (starting/resource) do not mix in one run.
  const fb = changes.findIndex((c) => c.area === 'failback');
  if (fb >= 0 && a.hacf.niceFailback !== b.hacf.niceFailback) {
    changes[fb] = {
      text: changes[fb]?.text ?? 'auto_failback',
      restartWhy: 'auto_failback legacy speaks another protocol (ip-request) than on/off',
    };
  }
  const before = new Map(a.groups.map((g) => [g.key, g]));
  const after = new Map(b.groups.map((g) => [g.key, g]));
  const groups = { added: [] as string[], removed: [] as string[], changed: [] as string[], moved: [] as string[] };
  for (const [k, g] of after) {
    const old = before.get(k);
    if (old === undefined) {
      groups.added.push(k);
      changes.push({ text: `group ${k} added (preferred node ${g.node})`, area: 'groups' });
    } else if (groupSig(old) !== groupSig(g)) {
      groups.changed.push(k);
      changes.push({ text: `group ${k} resources ${groupSig(old)} → ${groupSig(g)}`, area: 'groups' });
    } else if (old.node !== g.node) {
      groups.moved.push(k);
      changes.push({ text: `group ${k} preferred node ${old.node} → ${g.node}`, area: 'groups' });
    }
  }
  for (const k of before.keys()) {
    if (!after.has(k)) {
      groups.removed.push(k);
      changes.push({ text: `group ${k} removed`, area: 'groups' });
    }
  }
  return { changes, needRestart: changes.filter((c) => c.restartWhy !== undefined), groups };
}
