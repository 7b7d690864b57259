/**
 * What ha.cf's directives fill in while the file is read (the Builder, from Heartbeat's defaults), and the shape of a
 * directive's handler. hacf-directives.ts has the table, hacf-lines.ts the whole-line directives and media.
 */
import type { ErrorCode } from '../util/errors.js';
import type {
  ApiAuthConfig,
  AutoFailback,
  MediumConfig,
  Origin,
  PingNodeConfig,
  RespawnConfig,
  StonithConfig,
} from './types.js';
import { HACF_DEFAULTS } from './heartbeat-defaults.js';
import { vigilDefaults } from './vigil-directives.js';
import type { Token } from './values.js';
import type { warning } from './warnings.js';

/** Heartbeat's compile-time limits (MAXLINE, MAXNODE, MAXMEDIA). */
export const HACF_LIMITS = { lineLength: 5120, nodes: 100, media: 64 } as const;

export type ErrFn = (code: ErrorCode, message: string, column?: number) => void;
export type WarnFn = (code: Parameters<typeof warning>[0], message: string, hint?: string) => void;

/** What the directives fill in while the file is read; `finish` in hacf.ts turns it into a HaCf. */
export interface Builder {
  nodes: string[];
  media: MediumConfig[];
  pingNodes: PingNodeConfig[];
  times: Partial<Record<'keepalive' | 'deadtime' | 'warntime' | 'initdead' | 'deadping', number>>;
  udpport: number;
  baud: number;
  hopfudge: number;
  autoFailback: AutoFailback | undefined;
  realtime: boolean;
  rtprio: number | undefined;
  debug: number;
  hbgenmethod: 'file' | 'time';
  msgfmt: 'classic' | 'netstring';
  logfile: string | undefined;
  debugfile: string | undefined;
  logfacility: string | undefined;
  useLogd: boolean | undefined;
  connLogdTimeS: number;
  coredumps: boolean;
  coreroot: string | undefined;
  logBadpack: boolean;
  syslogmsgfmt: boolean;
  pacemaker: boolean;
  autojoin: 'none' | 'other' | 'any';
  uuidfrom: 'file' | 'nodename';
  compression: string;
  compressionThreshold: number;
  traditionalCompression: boolean;
  maxRexmitDelayMs: number;
  memreserveKb: number;
  cluster: string;
  quorumServer: string | undefined;
  env: Map<string, string>;
  watchdogDevice: string | undefined;
  stonith: StonithConfig | undefined;
  /** Every stonith_host line that applies to this host; the last one wins over `stonith`. */
  stonithHost: StonithConfig | undefined;
  apiauth: ApiAuthConfig[];
  respawn: RespawnConfig[];
  vigil: Record<string, unknown>;
  raw: Record<string, string>;
  origins: Record<string, Origin>;
}

export function newBuilder(): Builder {
  const d = HACF_DEFAULTS;
  return {
    nodes: [],
    media: [],
    pingNodes: [],
    times: {},
    udpport: d.udpport,
    baud: d.baud,
    hopfudge: d.hopfudge,
    autoFailback: undefined,
    realtime: d.realtime,
    rtprio: undefined,
    debug: d.debug,
    hbgenmethod: d.hbgenmethod,
    msgfmt: d.msgfmt,
    logfile: undefined,
    debugfile: undefined,
    logfacility: undefined,
    useLogd: undefined,
    connLogdTimeS: d.connLogdTimeS,
    coredumps: d.coredumps,
    coreroot: undefined,
    logBadpack: d.logBadpack,
    syslogmsgfmt: d.syslogmsgfmt,
    pacemaker: d.pacemaker,
    autojoin: d.autojoin,
    uuidfrom: d.uuidfrom,
    compression: d.compression,
    compressionThreshold: d.compressionThreshold,
    traditionalCompression: d.traditionalCompression,
    maxRexmitDelayMs: d.maxRexmitDelayMs,
    memreserveKb: d.memreserveKb,
    cluster: d.cluster,
    quorumServer: undefined,
    env: new Map(),
    watchdogDevice: undefined,
    stonith: undefined,
    stonithHost: undefined,
    apiauth: [],
    respawn: [],
    vigil: { ...vigilDefaults() },
    raw: {},
    origins: {},
  };
}

/** What a directive's handler may use: where it is, and how to report. */
export interface DirectiveCtx {
  readonly directive: string;
  readonly origin: Origin;
  /** The rest of the line after the directive (whole-line directives' own messages quote it). */
  readonly rest: string;
  /** This host's name (lowercased), if known: `stonith_host` lines for other hosts are skipped. */
  readonly localNode: string | undefined;
  readonly err: ErrFn;
  readonly warn: WarnFn;
}

export type OptionHandler = (b: Builder, v: string, bad: (message: string) => void, c: DirectiveCtx) => void;
export type LineHandler = (b: Builder, toks: readonly Token[], c: DirectiveCtx) => void;

export type DirectiveSpec =
  /** An option directive; `scalar`: it holds one value (repeats warn, the last wins). */
  | { readonly form: 'option'; readonly scalar: boolean; readonly apply: OptionHandler }
  | { readonly form: 'line'; readonly apply: LineHandler };

export function validInterfaceName(name: string): boolean {
  // Linux IFNAMSIZ is 16 including the NUL; '/' and whitespace are never valid.
  return name.length > 0 && name.length <= 15 && !/[/\s]/.test(name);
}

export function addMedium(b: Builder, m: MediumConfig, err: ErrFn): void {
  if (b.media.length + b.pingNodes.length >= HACF_LIMITS.media) {
    err('VIGIL_ERR_CFG_LIMIT', `Too many media specified (> ${HACF_LIMITS.media})`);
    return;
  }
  b.media.push(m);
}

export function addPing(b: Builder, p: PingNodeConfig, err: ErrFn): void {
  // Ping nodes are media in Heartbeat (one plugin instance each) and count towards its limit.
  if (b.media.length + b.pingNodes.length >= HACF_LIMITS.media) {
    err('VIGIL_ERR_CFG_LIMIT', `Too many media specified (> ${HACF_LIMITS.media})`);
    return;
  }
  b.pingNodes.push(p);
}
