import type { HealthCheckSpec } from './health-check.js';
import type { VigilExtensions } from './types.js';
import { parseBoolean, parseInteger, parseTimeMs } from './values.js';

/**
 * Vigil's own ha.cf directives. Heartbeat rejects any of them (`Illegal directive`), so only names in this
 * table are accepted beyond Heartbeat's: a file Heartbeat rejects for another reason is still rejected.
 * Adding a directive = one line here + its field in `VigilExtensions` (types.ts); the README lists this table.
 */
/** `health_check`: the whole line is one `vigil_health_check` (config/health-check.ts); lines accumulate. */
export type VigilValueKind =
  | 'path'
  | 'time'
  | 'boolean'
  | 'count'
  | 'word'
  | 'lease'
  | 'health_check'
  | 'detector'
  | 'phi'
  | 'beats'
  /** `none` or `etcd`. */
  | 'quorum'
  /** Whole line: one or more http(s)://host:port URLs; lines accumulate. */
  | 'endpoints'
  /** An absolute path, or nothing (the default: unset). */
  | 'file'
  /** Whole seconds, QUORUM_TTL_LIMITS. */
  | 'ttl'
  /** `release` or `keep`. */
  | 'quorum_loss'
  /** Whole line: `<group> <node> <node>...` (config/group-nodes.ts); lines accumulate. */
  | 'group_nodes'
  | 'listen'
  | 'program'
  | 'bytes'
  | 'journal';

/** Kinds whose whole line is one entry of a list (several lines accumulate). */
export const LIST_KINDS: ReadonlySet<VigilValueKind> = new Set(['health_check', 'endpoints', 'group_nodes']);

export interface VigilDirective {
  readonly field: keyof VigilExtensions;
  readonly kind: VigilValueKind;
  /** Default as an admin would write it in ha.cf. */
  readonly default: string;
  readonly doc: string;
}

export const VIGIL_DIRECTIVES: Readonly<Record<string, VigilDirective>> = {
  vigil_state_dir: {
    field: 'stateDir',
    kind: 'path',
    default: '/var/lib/heartbeat',
    doc: 'directory holding hb_uuid and hb_generation (Heartbeat: fixed /var/lib/heartbeat)',
  },
  vigil_vip_lease: {
    field: 'vipLease',
    kind: 'lease',
    default: 'auto',
    doc: 'kernel lease on held VIPs: auto (deadtime − 3 s, at least 2 s), off, or whole seconds up to deadtime − keepalive − 1 s; a dead daemon drops its VIP',
  },
  vigil_garp_refresh: {
    field: 'garpRefreshMs',
    kind: 'time',
    default: '10',
    doc: 'gratuitous ARP for each held VIP this often (0 = off), so switches and clients that missed the takeover burst converge',
  },
  vigil_script_timeout: {
    field: 'scriptTimeoutMs',
    kind: 'time',
    default: '120',
    doc: 'longest run of one resource script call; a hung script is killed with its process group and counts as failed',
  },
  vigil_rsc_state_dir: {
    field: 'rscStateDir',
    kind: 'path',
    default: '/run/resource-agents',
    doc: "where pseudo-resources (MailTo) mark themselves started (Heartbeat's HA_RSCTMP)",
  },
  vigil_mail_relay: {
    field: 'mailRelay',
    kind: 'word',
    default: 'localhost:25',
    doc: 'SMTP relay MailTo sends through, host[:port]',
  },
  vigil_mail_lang: {
    field: 'mailLang',
    kind: 'word',
    default: 'en',
    doc: 'language of MailTo notices: en or fr shipped, others through vigil_mail_templates',
  },
  vigil_mail_templates: {
    field: 'mailTemplatesDir',
    kind: 'path',
    default: '/etc/ha.d/mail-templates',
    doc: 'directory of <lang>.json files rewording MailTo subjects and bodies (optional)',
  },
  vigil_stonith_timeout: {
    field: 'stonithTimeoutMs',
    kind: 'time',
    default: '60',
    doc: 'longest run of one STONITH reset command (command and cluster-glue devices); then killed and retried 5 s later',
  },
  vigil_health_check: {
    field: 'healthChecks',
    kind: 'health_check',
    default: '',
    doc: 'watch a group: <group> [interval=T timeout=T rise=N fall=N restarts=N grace=T failure_timeout=T id=NAME] resource <name> | command </path> [args]; one line per check',
  },
  vigil_detector: {
    field: 'detector',
    kind: 'detector',
    default: 'deadtime',
    doc: "deadtime: Heartbeat's fixed rule (dead after deadtime of silence); adaptive: φ-accrual over the peer's observed heartbeat intervals, dead after vigil_detector_min_beats missed beats on a steady link, later when the link jitters, never later than deadtime",
  },
  vigil_detector_phi: {
    field: 'detectorPhi',
    kind: 'phi',
    default: '8',
    doc: 'suspicion threshold of the adaptive detector (1–20; higher waits longer when heartbeats jitter)',
  },
  vigil_detector_min_beats: {
    field: 'detectorMinBeats',
    kind: 'beats',
    default: '3',
    doc: 'the adaptive detector never declares a peer dead before this many heartbeats in a row are missing (2–100)',
  },
  vigil_group_nodes: {
    field: 'groupNodes',
    kind: 'group_nodes',
    default: '',
    doc: 'the nodes a group may run on, in order of preference: <group> <node> <node>...; the first is its haresources node; failback, standby and health-check hand-overs follow the order; one line per group',
  },
  vigil_quorum: {
    field: 'quorum',
    kind: 'quorum',
    default: 'none',
    doc: "none: heartbeats alone decide who holds a group (a partition can leave two holders); etcd: a node holds a group only while it owns the group's key in etcd under a live lease of its own (docs/quorum.md)",
  },
  vigil_quorum_endpoints: {
    field: 'quorumEndpoints',
    kind: 'endpoints',
    default: '',
    doc: 'etcd client URLs (http:// or https://host:port), several per line or one line each; every member of the etcd cluster, so that losing one changes nothing',
  },
  vigil_quorum_prefix: {
    field: 'quorumPrefix',
    kind: 'path',
    default: '/vigil',
    doc: 'etcd key prefix: group keys are <prefix>/groups/<group>; one prefix per cluster sharing an etcd',
  },
  vigil_quorum_ca: {
    field: 'quorumCa',
    kind: 'file',
    default: '',
    doc: "PEM file of the CA that signed the etcd servers' certificates (https endpoints)",
  },
  vigil_quorum_cert: {
    field: 'quorumCert',
    kind: 'file',
    default: '',
    doc: 'PEM client certificate for etcd (with vigil_quorum_key), when etcd asks for client certificates',
  },
  vigil_quorum_key: {
    field: 'quorumKey',
    kind: 'file',
    default: '',
    doc: 'PEM private key of vigil_quorum_cert',
  },
  vigil_quorum_ttl: {
    field: 'quorumTtlMs',
    kind: 'ttl',
    default: '5',
    doc: "etcd lease TTL, whole seconds (4–60): a dead holder's group is free this long after its last renewal; a holder that cannot renew drops its VIP before then",
  },
  vigil_quorum_loss: {
    field: 'quorumLoss',
    kind: 'quorum_loss',
    default: 'release',
    doc: 'when etcd cannot be reached: release (holders give their groups up before their lease can expire; safety first) or keep (holders keep what they hold, nothing is acquired; two holders become possible again if the heartbeats are cut too)',
  },
  vigil_http: {
    field: 'httpListen',
    kind: 'listen',
    default: 'off',
    doc: 'address:port of the read-only HTTP server (/metrics, /api/v1/status, /api/v1/events, the dashboard at /); off by default; bind it to localhost or a management address',
  },
  vigil_notify: {
    field: 'notifyProgram',
    kind: 'program',
    default: 'off',
    doc: 'program run on every group transition (keepalived-style notify): arguments GROUP NEW_STATE OLD_STATE NODE REASON TIME, VIGIL_* environment; runs one at a time, in order, each bounded by vigil_notify_timeout',
  },
  vigil_notify_timeout: {
    field: 'notifyTimeoutMs',
    kind: 'time',
    default: '10',
    doc: 'longest run of one vigil_notify call; then its process group is killed and the next event runs',
  },
  vigil_notify_fifo: {
    field: 'notifyFifo',
    kind: 'program',
    default: 'off',
    doc: 'named pipe that receives one line per transition (keepalived notify_fifo): GROUP NEW_STATE OLD_STATE NODE REASON TIME; created if missing; lines are dropped while no reader is attached',
  },
  vigil_history_size: {
    field: 'historyBytes',
    kind: 'bytes',
    default: '1M',
    doc: 'size of the transition journal (vigil history) in the state directory before it is rotated; one older file is kept (16k–1G)',
  },
  vigil_journald: {
    field: 'journald',
    kind: 'journal',
    default: 'auto',
    doc: "syslog lines through journald's native protocol with fields (SYSLOG_IDENTIFIER, PRIORITY, NODE, GROUP, EVENT): auto = when started by systemd and journald listens, on, or off (RFC 5424 to /dev/log)",
  },
};

/** The etcd lease TTL's bounds, s: below 4 s the kernel's 2 s minimum VIP lease no longer fits under it (docs/quorum.md). */
export const QUORUM_TTL_LIMITS = { minSec: 4, maxSec: 60 } as const;

/** Shorter VIP leases are not reliable: the kernel counts address lifetimes in whole seconds. */
export const MIN_VIP_LEASE_SEC = 2;
/** The kernel drops an expired address on a timer rounded up to the next whole second: up to this much late. */
export const KERNEL_LIFETIME_SLACK_MS = 1000;

/**
 * The longest VIP lease that still runs out before the peer takes over after this daemon dies. Worst case: the lease
 * was renewed just before the crash, while the last heartbeat the peer heard left up to a keepalive earlier (the
 * peer declares us dead deadtime after that heartbeat); and the kernel removes the address up to 1 s after its
 * lifetime. So lease ≤ deadtime − keepalive − 1 s, in whole seconds, and never under the 2 s minimum (at such
 * deadtimes the README's documented overlap applies).
 */
export function maxVipLeaseSec(deadtimeMs: number, keepaliveMs: number): number {
  return Math.max(MIN_VIP_LEASE_SEC, Math.floor((deadtimeMs - keepaliveMs - KERNEL_LIFETIME_SLACK_MS) / 1000));
}

/** `vigil_vip_lease auto`: deadtime − 3 s, capped by maxVipLeaseSec (which only bites when keepalive exceeds 2 s). */
export function autoVipLeaseSec(deadtimeMs: number, keepaliveMs: number): number {
  return Math.max(
    MIN_VIP_LEASE_SEC,
    Math.min(Math.floor(deadtimeMs / 1000) - 3, maxVipLeaseSec(deadtimeMs, keepaliveMs)),
  );
}

export type VigilValue = string | number | boolean;

/** Parses a Vigil directive's value by kind; `undefined` means invalid (the caller words the error). */
export function parseVigilValue(kind: VigilValueKind, text: string): VigilValue | undefined {
  switch (kind) {
    case 'path':
      return text.startsWith('/') ? text.replace(/\/+$/, '') || '/' : undefined;
    case 'time':
      return parseTimeMs(text);
    case 'boolean':
      return parseBoolean(text);
    case 'count':
      return parseInteger(text, 0, 1_000_000);
    case 'word':
      return /^[A-Za-z0-9_.:-]+$/.test(text) ? text : undefined;
    case 'lease': {
      const t = text.toLowerCase();
      if (t === 'auto' || t === 'off') return t;
      const n = parseInteger(text, 1, 86_400);
      return n === undefined ? undefined : String(n);
    }
    case 'health_check':
      // Whole-line kind: parsed by parseHealthCheck with its own errors, never through here.
      return undefined;
    case 'detector': {
      const t = text.toLowerCase();
      return t === 'deadtime' || t === 'adaptive' ? t : undefined;
    }
    case 'phi': {
      if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
      const n = Number(text);
      return n >= 1 && n <= 20 ? n : undefined;
    }
    case 'beats':
      return parseInteger(text, 2, 100);
    case 'quorum': {
      const t = text.toLowerCase();
      return t === 'none' || t === 'etcd' ? t : undefined;
    }
    case 'quorum_loss': {
      const t = text.toLowerCase();
      return t === 'release' || t === 'keep' ? t : undefined;
    }
    case 'file':
      if (text === '') return '';
      return text.startsWith('/') && !text.endsWith('/') ? text : undefined;
    case 'ttl': {
      const n = parseInteger(text, QUORUM_TTL_LIMITS.minSec, QUORUM_TTL_LIMITS.maxSec);
      return n === undefined ? undefined : n * 1000;
    }
    case 'endpoints':
      return parseEndpoint(text);
    case 'group_nodes':
      // Whole-line kind: parsed by the ha.cf reader, never through here.
      return undefined;
    case 'listen':
      return parseListen(text);
    case 'program':
      if (text.toLowerCase() === 'off') return '';
      return text.startsWith('/') && !text.endsWith('/') ? text : undefined;
    case 'bytes':
      return parseBytes(text);
    case 'journal': {
      const t = text.toLowerCase();
      return t === 'auto' || t === 'on' || t === 'off' ? t : undefined;
    }
  }
}

/** One etcd client URL, normalised to scheme://host:port (no path: the JSON gateway lives at the root). */
export function parseEndpoint(text: string): string | undefined {
  const m = /^(https?):\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})\/?$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return `${m[1] ?? ''}://${(m[2] ?? '').toLowerCase()}:${port}`;
}

/**
 * `vigil_http`: `off`, `HOST:PORT` with an IPv4 address or a name, or `[IPv6]:PORT`. Returned as written (IPv6 in
 * brackets), `off` as ''. The port is 1–65535: a random port (0) would be one nobody scrapes.
 */
export function parseListen(text: string): string | undefined {
  if (text.toLowerCase() === 'off') return '';
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? text : undefined;
}

/** `vigil_http` split for listen(): host without brackets, port. */
export function listenAddress(value: string): { host: string; port: number } {
  const i = value.lastIndexOf(':');
  const host = value.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(value.slice(i + 1)) };
}

const MIN_HISTORY_BYTES = 16 * 1024;
const MAX_HISTORY_BYTES = 1024 * 1024 * 1024;

/** `512k`, `4M`, `1G` or plain bytes, 16k to 1G. */
export function parseBytes(text: string): number | undefined {
  const m = /^(\d{1,10})([kKmMgG]?)$/.exec(text);
  if (m === null) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const n = Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
  return n >= MIN_HISTORY_BYTES && n <= MAX_HISTORY_BYTES ? n : undefined;
}

export function vigilDefaults(): VigilExtensions {
  const out: Record<string, VigilValue | HealthCheckSpec[] | unknown[]> = {};
  for (const d of Object.values(VIGIL_DIRECTIVES)) {
    if (LIST_KINDS.has(d.kind)) {
      out[d.field] = [];
      continue;
    }
    const v = parseVigilValue(d.kind, d.default);
    if (v === undefined) throw new Error(`bad default for Vigil directive field ${d.field}`);
    out[d.field] = v;
  }
  return out as unknown as VigilExtensions;
}

export function vigilValueExpectation(kind: VigilValueKind): string {
  switch (kind) {
    case 'path':
      return 'an absolute path';
    case 'time':
      return 'a time (seconds, or a number followed by ms)';
    case 'boolean':
      return 'on or off';
    case 'count':
      return 'a whole number';
    case 'word':
      return 'a single word';
    case 'lease':
      return 'auto, off, or whole seconds (1-86400)';
    case 'health_check':
      return '<group> [key=value...] resource <name> | command </path> [args]';
    case 'detector':
      return 'deadtime or adaptive';
    case 'phi':
      return 'a number from 1 to 20';
    case 'beats':
      return 'a whole number from 2 to 100';
    case 'quorum':
      return 'none or etcd';
    case 'quorum_loss':
      return 'release or keep';
    case 'file':
      return 'an absolute path to a file';
    case 'ttl':
      return `whole seconds from ${QUORUM_TTL_LIMITS.minSec} to ${QUORUM_TTL_LIMITS.maxSec}`;
    case 'endpoints':
      return 'etcd client URLs: http://host:port or https://host:port';
    case 'group_nodes':
      return '<group> <node> <node>... (its haresources node first)';
    case 'listen':
      return 'off, or address:port (127.0.0.1:9100, [::1]:9100)';
    case 'program':
      return 'off, or an absolute path';
    case 'bytes':
      return 'a size from 16k to 1G (bytes, or with k, M or G)';
    case 'journal':
      return 'auto, on or off';
  }
}
