import { VigilError, VigilErrors, type ErrorCode } from '../util/errors.js';
import type {
  ApiAuthConfig,
  AutoFailback,
  HaCf,
  MediumConfig,
  Origin,
  PingNodeConfig,
  RespawnConfig,
  StonithConfig,
  VigilExtensions,
  WatchdogConfig,
} from './types.js';
import { parseHealthCheck, type HealthCheckSpec } from './health-check.js';
import { VIGIL_DIRECTIVES, parseVigilValue, vigilDefaults, vigilValueExpectation } from './vigil-directives.js';
import { type ConfigWarning, warning } from './warnings.js';
import {
  OPTION_SEPARATORS,
  WHITESPACE,
  type Token,
  isIPv4,
  isMulticastIPv4,
  parseBoolean,
  parseInteger,
  parseTimeMs,
  tokenize,
} from './values.js';

/** Heartbeat's compile-time limits (MAXLINE, MAXNODE, MAXMEDIA). */
export const HACF_LIMITS = { lineLength: 5120, nodes: 100, media: 64 } as const;

export const DEFAULT_UDPPORT = 694;

export interface ParseHaCfOptions {
  /** Path shown in messages (normally /etc/ha.d/ha.cf). */
  readonly file: string;
  /**
   * The name this host goes by (already lowercased or not). When omitted the `Current node [x] not in
   * configuration!` check is skipped and `localNode` is '' (only useful for checking a peer's copy).
   */
  readonly localNode?: string | undefined;
}

/** Everything found in one pass: the config (best effort even when there are errors), errors and warnings. */
export interface HaCfAnalysis {
  readonly hacf: HaCf;
  readonly errors: readonly VigilError[];
  readonly warnings: readonly ConfigWarning[];
}

/** Parses ha.cf; throws VigilErrors with every error of the file. */
export function parseHaCf(text: string, options: ParseHaCfOptions): { hacf: HaCf; warnings: readonly ConfigWarning[] } {
  const r = analyzeHaCf(text, options);
  if (r.errors.length > 0) throw new VigilErrors(r.errors);
  return { hacf: r.hacf, warnings: r.warnings };
}

// Heartbeat's Directives[] table (config.c), checked against `heartbeat -D` and the strings of the 3.0.6 binary.
// Option directives split their value on ", \t" and apply each token in turn.
const OPTION_DIRECTIVES = new Set([
  'cluster',
  'node',
  'hopfudge',
  'keepalive',
  'deadtime',
  'deadping',
  'initdead',
  'warntime',
  'watchdog',
  'baud',
  'udpport',
  'logfacility',
  'logfile',
  'debugfile',
  'nice_failback',
  'auto_failback',
  'rtprio',
  'hbgenmethod',
  'realtime',
  'debug',
  'msgfmt',
  'use_logd',
  'conn_logd_time',
  'use_apphbd',
  'log_badpack',
  'syslogmsgfmt',
  'coredumps',
  'coreroot',
  'crm_daemon_dir',
  'crmd_spawns_pengine',
  'crm',
  'pacemaker',
  'autojoin',
  'uuidfrom',
  'compression',
  'compression_threshold',
  'traditional_compression',
  'env',
  'max_rexmit_delay',
  'record_config_changes',
  'record_pengine_inputs',
  'enable_config_writes',
  'memreserve',
  'quorum_server',
  // Media whose plugin takes one device/address per token (HBcomm plugins shipped by Debian).
  'bcast',
  'udp',
  'serial',
  'ping',
  'ping6',
]);

// Whole-line directives: the rest of the line goes to one parser (WLdirectives and the media with own parsers).
const WHOLE_LINE_DIRECTIVES = new Set([
  'stonith',
  'stonith_host',
  'apiauth',
  'respawn',
  'failfast',
  'ucast',
  'mcast',
  'ucast6',
  'mcast6',
  'ping_group',
]);

/** Directives that hold one value: several tokens on one line, or several lines, mean the last wins. */
const SCALAR_DIRECTIVES = new Set([
  'cluster',
  'hopfudge',
  'keepalive',
  'deadtime',
  'deadping',
  'initdead',
  'warntime',
  'baud',
  'udpport',
  'logfacility',
  'logfile',
  'debugfile',
  'auto_failback',
  'nice_failback',
  'rtprio',
  'hbgenmethod',
  'realtime',
  'debug',
  'msgfmt',
  'use_logd',
  'conn_logd_time',
  'use_apphbd',
  'log_badpack',
  'syslogmsgfmt',
  'coredumps',
  'coreroot',
  'crm_daemon_dir',
  'crmd_spawns_pengine',
  'crm',
  'pacemaker',
  'autojoin',
  'uuidfrom',
  'compression',
  'compression_threshold',
  'traditional_compression',
  'max_rexmit_delay',
  'record_config_changes',
  'record_pengine_inputs',
  'enable_config_writes',
  'memreserve',
  'quorum_server',
]);

const BOOLEAN_FIELDS = new Set([
  'realtime',
  'use_logd',
  'use_apphbd',
  'log_badpack',
  'syslogmsgfmt',
  'coredumps',
  'crmd_spawns_pengine',
  'traditional_compression',
  'record_config_changes',
  'record_pengine_inputs',
  'enable_config_writes',
]);

const BAUD_RATES = new Set([300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]);

const SYSLOG_FACILITIES = new Set([
  'auth',
  'authpriv',
  'cron',
  'daemon',
  'ftp',
  'kern',
  'lpr',
  'mail',
  'news',
  'syslog',
  'user',
  'uucp',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
  'none',
]);

const TIME_HELP =
  'a time is seconds (10), or a number followed by ms or us (1500ms); "s" is not a unit Heartbeat accepts';

interface Builder {
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
  apiauth: ApiAuthConfig[];
  respawn: RespawnConfig[];
  vigil: Record<string, unknown>;
  raw: Record<string, string>;
  origins: Record<string, Origin>;
}

function newBuilder(): Builder {
  return {
    nodes: [],
    media: [],
    pingNodes: [],
    times: {},
    udpport: DEFAULT_UDPPORT,
    baud: 19200,
    hopfudge: 1,
    autoFailback: undefined,
    realtime: true,
    rtprio: undefined,
    debug: 0,
    hbgenmethod: 'file',
    msgfmt: 'classic',
    logfile: undefined,
    debugfile: undefined,
    logfacility: undefined,
    useLogd: undefined,
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
    env: new Map(),
    watchdogDevice: undefined,
    stonith: undefined,
    apiauth: [],
    respawn: [],
    vigil: { ...vigilDefaults() },
    raw: {},
    origins: {},
  };
}

/** Never throws on bad input: every problem becomes an entry of `errors` with file, line and column. */
export function analyzeHaCf(text: string, options: ParseHaCfOptions): HaCfAnalysis {
  const file = options.file;
  const localNode = options.localNode?.toLowerCase();
  const errors: VigilError[] = [];
  const warnings: ConfigWarning[] = [];
  const b = newBuilder();
  // Every stonith_host line that applies to this host; the last one wins.
  let stonithHost: StonithConfig | undefined;
  const scalarLines: Record<string, number> = {};

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i] ?? '';
    const at = (column?: number): { file: string; line: number; column?: number } =>
      column === undefined ? { file, line: lineNo } : { file, line: lineNo, column };
    const origin: Origin = { file, line: lineNo };
    const err = (code: ErrorCode, message: string, column?: number): void => {
      errors.push(new VigilError(code, message, at(column)));
    };
    const warn = (code: Parameters<typeof warning>[0], message: string, hint?: string): void => {
      warnings.push(warning(code, message, at(), hint));
    };

    if (line.length > HACF_LIMITS.lineLength) {
      err('VIGIL_ERR_CFG_LIMIT', `line longer than ${HACF_LIMITS.lineLength} characters (Heartbeat's limit)`);
      continue;
    }
    const hash = line.indexOf('#');
    const content = hash >= 0 ? line.slice(0, hash) : line;
    const first = tokenize(content, WHITESPACE)[0];
    if (first === undefined) continue;
    const directive = first.text;
    const restOffset = first.column - 1 + directive.length;
    const rest = content.slice(restOffset);
    const optionTokens = (): Token[] => tokenize(rest, OPTION_SEPARATORS, restOffset);
    const wordTokens = (): Token[] => tokenize(rest, WHITESPACE, restOffset);

    // Own keys only: `__proto__` or `constructor` would find Object.prototype's members and pass as a directive.
    const vigilDirective = Object.hasOwn(VIGIL_DIRECTIVES, directive) ? VIGIL_DIRECTIVES[directive] : undefined;
    const known = OPTION_DIRECTIVES.has(directive) || WHOLE_LINE_DIRECTIVES.has(directive);
    if (!known && vigilDirective === undefined) {
      err('VIGIL_ERR_CFG_DIRECTIVE', `Illegal directive [${directive}] in ${file}`, first.column);
      continue;
    }
    b.raw[directive] = rest.trim();
    b.origins[directive] ??= origin;

    if (vigilDirective?.kind === 'health_check') {
      try {
        const spec = parseHealthCheck(rest, origin);
        const list = b.vigil[vigilDirective.field] as HealthCheckSpec[];
        if (list.some((c) => c.id === spec.id)) {
          err('VIGIL_ERR_HEALTH_CONFIG', `vigil_health_check: duplicate id [${spec.id}] (give one with id=NAME)`);
        } else {
          list.push(spec);
        }
      } catch (e) {
        if (!(e instanceof VigilError)) throw e;
        err(e.code, e.message);
      }
      continue;
    }

    if (vigilDirective !== undefined) {
      const toks = wordTokens();
      const tok = toks[0];
      if (tok === undefined || toks.length > 1) {
        err('VIGIL_ERR_CFG_VALUE', `${directive} takes one value: ${vigilValueExpectation(vigilDirective.kind)}`);
        continue;
      }
      const v = parseVigilValue(vigilDirective.kind, tok.text);
      if (v === undefined) {
        err(
          'VIGIL_ERR_CFG_VALUE',
          `Invalid ${directive} [${tok.text}]: expected ${vigilValueExpectation(vigilDirective.kind)}`,
          tok.column,
        );
        continue;
      }
      b.vigil[vigilDirective.field] = v;
      continue;
    }

    if (SCALAR_DIRECTIVES.has(directive)) {
      const previous = scalarLines[directive];
      if (previous !== undefined && previous !== lineNo) {
        warn(
          'VIGIL_WARN_REPEATED',
          `${directive} is set again (first at line ${previous}); this later value wins`,
          'keep one line per directive',
        );
      }
      scalarLines[directive] = lineNo;
    }

    if (WHOLE_LINE_DIRECTIVES.has(directive)) {
      const toks = wordTokens();
      switch (directive) {
        case 'ucast': {
          const [dev, peer, ...extra] = toks;
          if (dev === undefined) {
            err('VIGIL_ERR_CFG_VALUE', 'ucast: missing interface (ucast <dev> <peer-ip>)');
            break;
          }
          if (!validInterfaceName(dev.text)) {
            err('VIGIL_ERR_CFG_VALUE', `ucast: invalid interface name [${dev.text}]`, dev.column);
            break;
          }
          if (peer === undefined) {
            err('VIGIL_ERR_CFG_VALUE', `ucast: [${dev.text}] missing target IP address/hostname`);
            break;
          }
          if (extra.length > 0) {
            warn(
              'VIGIL_WARN_IGNORED',
              `ucast takes one peer; ${extra.map((t) => t.text).join(' ')} ignored, as Heartbeat does`,
              'write one ucast line per peer',
            );
          }
          if (!isIPv4(peer.text)) {
            warn(
              'VIGIL_WARN_RESOLVE',
              `ucast peer [${peer.text}] is a host name, resolved once at start`,
              'use the IP address: a DNS failure at boot would leave this link down',
            );
          }
          addMedium(b, { kind: 'ucast', dev: dev.text, peer: peer.text, port: b.udpport, origin }, err);
          break;
        }
        case 'mcast': {
          const [dev, group, port, ttl, loop, ...extra] = toks;
          const name = dev?.text ?? '';
          if (dev === undefined) {
            err('VIGIL_ERR_CFG_VALUE', 'mcast: missing interface (mcast <dev> <group> <port> <ttl> <loop>)');
            break;
          }
          if (!validInterfaceName(dev.text)) {
            err('VIGIL_ERR_CFG_VALUE', `mcast: invalid interface name [${dev.text}]`, dev.column);
            break;
          }
          // Messages as the mcast plugin logs them [verified: "mcast [lo] bad ttl [5]", "mcast [lo] missing loop"].
          if (group === undefined) {
            err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing mcast address`);
            break;
          }
          if (!isMulticastIPv4(group.text)) {
            err(
              'VIGIL_ERR_CFG_VALUE',
              `mcast [${name}] bad addr [${group.text}] (a multicast group is 224.0.0.0–239.255.255.255)`,
              group.column,
            );
            break;
          }
          if (port === undefined) {
            err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing port`);
            break;
          }
          const portNum = parseInteger(port.text, 1, 65535);
          if (portNum === undefined) {
            err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] bad port [${port.text}]`, port.column);
            break;
          }
          if (ttl === undefined) {
            err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing ttl`);
            break;
          }
          const ttlNum = parseInteger(ttl.text, 0, 4);
          if (ttlNum === undefined) {
            err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] bad ttl [${ttl.text}] (0 to 4)`, ttl.column);
            break;
          }
          if (loop === undefined) {
            err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing loop`);
            break;
          }
          if (loop.text !== '0' && loop.text !== '1') {
            err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] bad loop [${loop.text}] (0 or 1)`, loop.column);
            break;
          }
          if (extra.length > 0) warn('VIGIL_WARN_IGNORED', `mcast: extra fields ignored`, 'mcast takes 5 fields');
          addMedium(
            b,
            {
              kind: 'mcast',
              dev: dev.text,
              group: group.text,
              port: portNum,
              ttl: ttlNum,
              loop: loop.text === '1',
              origin,
            },
            err,
          );
          break;
        }
        case 'ucast6':
        case 'mcast6': {
          if (toks.length < 2) {
            err('VIGIL_ERR_CFG_VALUE', `${directive}: missing arguments (interface and address)`);
            break;
          }
          addMedium(b, { kind: directive, args: toks.map((t) => t.text), port: b.udpport, origin }, err);
          break;
        }
        case 'ping_group': {
          const [name, ...addrs] = toks;
          if (name === undefined || addrs.length === 0) {
            err('VIGIL_ERR_CFG_VALUE', 'ping_group needs a name and at least one address: ping_group <name> <ip>...');
            break;
          }
          const existing = b.pingNodes.findIndex((p) => p.name === name.text);
          const prior = b.pingNodes[existing];
          if (prior !== undefined) {
            warn(
              'VIGIL_WARN_REPEATED',
              `ping_group ${name.text} is defined again (line ${prior.origin.line}); addresses merged`,
              'list every address of a group on one line',
            );
            b.pingNodes[existing] = { ...prior, addresses: [...prior.addresses, ...addrs.map((t) => t.text)] };
            break;
          }
          addPing(b, { name: name.text, addresses: addrs.map((t) => t.text), group: true, origin }, err);
          break;
        }
        case 'stonith': {
          const [type, cfg] = toks;
          if (type === undefined || cfg === undefined) {
            err('VIGIL_ERR_CFG_VALUE', 'stonith needs a device type and its configuration file: stonith <type> <file>');
            break;
          }
          b.stonith = { directive: 'stonith', type: type.text, params: [cfg.text], host: undefined, origin };
          break;
        }
        case 'stonith_host': {
          const [host, type, ...params] = toks;
          if (host === undefined) {
            err('VIGIL_ERR_CFG_VALUE', 'No Stonith hostname argument given');
            break;
          }
          if (type === undefined) {
            // [verified] heartbeat's message for `stonith_host *`.
            err('VIGIL_ERR_CFG_VALUE', 'No Stonith type given (stonith_host <host|*> <type> <params...>)');
            break;
          }
          const h = host.text.toLowerCase();
          if (h === '*' || localNode === undefined || h === localNode) {
            stonithHost = {
              directive: 'stonith_host',
              type: type.text,
              params: params.map((t) => t.text),
              host: h,
              origin,
            };
          }
          break;
        }
        case 'apiauth': {
          const [client, ...kv] = toks;
          const uids: string[] = [];
          const gids: string[] = [];
          let ok = client !== undefined && kv.length > 0;
          for (const t of kv) {
            const m = /^(uid|gid)=(.+)$/.exec(t.text);
            if (m === null) ok = false;
            else (m[1] === 'uid' ? uids : gids).push(...(m[2] ?? '').split(',').filter((s) => s !== ''));
          }
          if (!ok || client === undefined) {
            err(
              'VIGIL_ERR_CFG_VALUE',
              `Invalid apiauth directive [${rest.trim()}]: apiauth client [uid=uidlist] [gid=gidlist], one or the other must be specified`,
            );
            break;
          }
          if (b.apiauth.some((a) => a.client === client.text)) {
            err('VIGIL_ERR_CFG_VALUE', `Duplicate apiauth directive for API client ${client.text}`, client.column);
            break;
          }
          b.apiauth.push({ client: client.text, uids, gids, origin });
          break;
        }
        case 'respawn':
        case 'failfast': {
          const [user, cmd, ...args] = toks;
          if (user === undefined || cmd === undefined) {
            err(
              'VIGIL_ERR_CFG_VALUE',
              `${directive} needs a user and an absolute command: ${directive} <user> </path args>`,
            );
            break;
          }
          if (!cmd.text.startsWith('/')) {
            err('VIGIL_ERR_CFG_VALUE', `Client child command [${cmd.text}] is not full pathname`, cmd.column);
            break;
          }
          b.respawn.push({
            user: user.text,
            argv: [cmd.text, ...args.map((t) => t.text)],
            failfast: directive === 'failfast',
            origin,
          });
          break;
        }
        default:
          err('VIGIL_ERR_INTERNAL', `whole-line directive ${directive} has no parser`);
      }
      continue;
    }

    const toks = optionTokens();
    if (toks.length === 0) {
      warn(
        'VIGIL_WARN_EMPTY',
        `${directive} has no value and is ignored (Heartbeat ignores it too)`,
        'give it a value or remove the line',
      );
      continue;
    }
    if (toks.length > 1 && SCALAR_DIRECTIVES.has(directive)) {
      warn(
        'VIGIL_WARN_REPEATED',
        `${directive} is given ${toks.length} values; Heartbeat applies each in turn, so [${toks[toks.length - 1]?.text ?? ''}] wins`,
        'a time unit is written without a space: 1500ms',
      );
    }
    for (const tok of toks) {
      applyOption(b, directive, tok, lineNo, origin, err, warn);
    }
  }

  if (stonithHost !== undefined) b.stonith = stonithHost;
  return finish(b, file, localNode, errors, warnings, scalarLines);
}

type ErrFn = (code: ErrorCode, message: string, column?: number) => void;
type WarnFn = (code: Parameters<typeof warning>[0], message: string, hint?: string) => void;

function validInterfaceName(name: string): boolean {
  // Linux IFNAMSIZ is 16 including the NUL; '/' and whitespace are never valid.
  return name.length > 0 && name.length <= 15 && !/[/\s]/.test(name);
}

function addMedium(b: Builder, m: MediumConfig, err: ErrFn): void {
  if (b.media.length + b.pingNodes.length >= HACF_LIMITS.media) {
    err('VIGIL_ERR_CFG_LIMIT', `Too many media specified (> ${HACF_LIMITS.media})`);
    return;
  }
  b.media.push(m);
}

function addPing(b: Builder, p: PingNodeConfig, err: ErrFn): void {
  // Ping nodes are media in Heartbeat (one plugin instance each) and count towards its limit.
  if (b.media.length + b.pingNodes.length >= HACF_LIMITS.media) {
    err('VIGIL_ERR_CFG_LIMIT', `Too many media specified (> ${HACF_LIMITS.media})`);
    return;
  }
  b.pingNodes.push(p);
}

function applyOption(
  b: Builder,
  directive: string,
  tok: Token,
  lineNo: number,
  origin: Origin,
  err: ErrFn,
  warn: WarnFn,
): void {
  const v = tok.text;
  const bad = (message: string): void => {
    err('VIGIL_ERR_CFG_VALUE', message, tok.column);
  };
  if (BOOLEAN_FIELDS.has(directive)) {
    const bv = parseBoolean(v);
    if (bv === undefined) {
      bad(`Invalid boolean [${v}] for ${directive}: use on/off, yes/no, true/false, y/n or 1/0`);
      return;
    }
    switch (directive) {
      case 'realtime':
        b.realtime = bv;
        break;
      case 'use_logd':
        b.useLogd = bv;
        break;
      case 'log_badpack':
        b.logBadpack = bv;
        break;
      case 'syslogmsgfmt':
        b.syslogmsgfmt = bv;
        break;
      case 'coredumps':
        b.coredumps = bv;
        break;
      case 'traditional_compression':
        b.traditionalCompression = bv;
        break;
      default:
        // use_apphbd, crmd_spawns_pengine, record_* and enable_config_writes only matter to Pacemaker
        // or apphbd; they are validated and kept in `raw`.
        break;
    }
    return;
  }
  switch (directive) {
    case 'node': {
      const name = v.toLowerCase();
      if (b.nodes.includes(name)) {
        warn(
          'VIGIL_WARN_REPEATED',
          `node ${name} is listed twice`,
          'names are case-insensitive: Linux1 and linux1 are one node',
        );
        return;
      }
      if (b.nodes.length >= HACF_LIMITS.nodes) {
        bad(`Too many nodes (> ${HACF_LIMITS.nodes})`);
        return;
      }
      b.nodes.push(name);
      return;
    }
    case 'keepalive':
    case 'deadtime':
    case 'deadping':
    case 'initdead':
    case 'warntime': {
      const ms = parseTimeMs(v);
      if (ms === undefined) {
        // Heartbeat has a message only for warntime; it stops silently on the others [verified].
        if (directive === 'warntime') bad(`Warn time [${v}] is invalid. (${TIME_HELP})`);
        else bad(`Invalid ${directive} time [${v}]: ${TIME_HELP}`);
        return;
      }
      if (ms <= 0) {
        bad(`${directive} must be greater than 0 ms (got [${v}])`);
        return;
      }
      b.times[directive] = ms;
      return;
    }
    case 'udpport': {
      // Heartbeat rejects 0 and non-numbers ("invalid port [x] specified.") but silently truncates 70000;
      // Vigil rejects anything outside 1–65535.
      const port = parseInteger(v, 1, 65535);
      if (port === undefined) {
        bad(`invalid port [${v}] specified.`);
        return;
      }
      const earlier = b.media.filter((m) => m.kind === 'bcast' || m.kind === 'ucast');
      const firstEarlier = earlier[0];
      if (firstEarlier !== undefined && port !== b.udpport) {
        warn(
          'VIGIL_WARN_ORDER',
          `udpport ${port} comes after the media line at line ${firstEarlier.origin.line}, which keeps port ${b.udpport}`,
          'move udpport above the bcast/ucast lines: Heartbeat reads ha.cf top to bottom',
        );
      }
      b.udpport = port;
      return;
    }
    case 'baud': {
      const rate = parseInteger(v, 1, 10_000_000);
      if (rate === undefined || !BAUD_RATES.has(rate)) {
        bad(`invalid baudrate [${v}] specified.`);
        return;
      }
      const firstSerial = b.media.find((m) => m.kind === 'serial');
      if (firstSerial !== undefined && rate !== b.baud) {
        warn(
          'VIGIL_WARN_ORDER',
          `baud ${rate} comes after the serial line at line ${firstSerial.origin.line}, which keeps ${b.baud} baud`,
          'move baud above the serial lines',
        );
      }
      b.baud = rate;
      return;
    }
    case 'hopfudge': {
      const n = parseInteger(v, 0, 255);
      if (n === undefined) bad(`Invalid hopfudge [${v}]: a whole number from 0 to 255`);
      else b.hopfudge = n;
      return;
    }
    case 'auto_failback': {
      if (v.toLowerCase() === 'legacy') {
        b.autoFailback = 'legacy';
        return;
      }
      const bv = parseBoolean(v);
      if (bv === undefined) bad(`Invalid auto_failback [${v}]: use on, off or legacy`);
      else b.autoFailback = bv ? 'on' : 'off';
      return;
    }
    case 'nice_failback': {
      const bv = parseBoolean(v);
      if (bv === undefined) {
        bad(`Invalid boolean [${v}] for nice_failback: use on or off`);
        return;
      }
      // Heartbeat logs these as ERROR lines but starts [verified]; once auto_failback is on/off, nice_failback
      // on *and* off become 'auto_failback off' [verified].
      if (b.autoFailback !== undefined && b.autoFailback !== 'legacy') {
        warn(
          'VIGIL_WARN_HEARTBEAT',
          `nice_failback flag is obsolete.. Use auto_failback {on, off, legacy} instead. 'nice_failback ${v}' has been changed to 'auto_failback off'`,
          'replace nice_failback by auto_failback',
        );
        b.autoFailback = 'off';
      } else {
        warn(
          'VIGIL_WARN_HEARTBEAT',
          `nice_failback flag is obsolete.. Use auto_failback {on, off, legacy} instead. nice_failback ${v} has been strictly interpreted as 'auto_failback legacy'`,
          "Consider converting to 'auto_failback on'. When you do, then you can use ipfail, and hb_standby",
        );
        b.autoFailback = 'legacy';
      }
      return;
    }
    case 'rtprio': {
      const n = parseInteger(v, 1, 99);
      if (n === undefined) bad(`Illegal realtime priority [${v}]`);
      else b.rtprio = n;
      return;
    }
    case 'hbgenmethod':
      if (v === 'file' || v === 'time') b.hbgenmethod = v;
      else bad(`Illegal hb generation method [${v}]`);
      return;
    case 'debug': {
      const n = parseInteger(v, 0, 255);
      if (n === undefined) bad(`Invalid debug level [${v}]: a whole number from 0 to 255`);
      else b.debug = n;
      return;
    }
    case 'msgfmt':
      if (v === 'classic' || v === 'netstring') b.msgfmt = v;
      else bad(`Invalid msgfmt [${v}]: use classic or netstring`);
      return;
    case 'logfile':
      b.logfile = v;
      return;
    case 'debugfile':
      b.debugfile = v;
      return;
    case 'logfacility':
      if (SYSLOG_FACILITIES.has(v.toLowerCase())) b.logfacility = v.toLowerCase();
      else bad(`Log facility(${v}) not valid`);
      return;
    case 'conn_logd_time': {
      const n = parseInteger(v, 0, 86_400);
      if (n === undefined) bad(`Invalid conn_logd_time [${v}]: a number of seconds`);
      else b.connLogdTimeS = n;
      return;
    }
    case 'coreroot':
      if (v.startsWith('/')) b.coreroot = v;
      else bad(`Invalid core directory [${v}]`);
      return;
    case 'crm_daemon_dir':
      return;
    case 'crm':
    case 'pacemaker': {
      const bv = v.toLowerCase() === 'respawn' ? true : parseBoolean(v);
      if (bv === undefined) {
        bad(`Invalid ${directive} [${v}]: use on, off or respawn`);
        return;
      }
      b.pacemaker = bv;
      if (bv) {
        bad(
          `${directive} ${v}: Pacemaker mode is not supported by Vigil, which runs haresources clusters (Heartbeat's R1 style)`,
        );
      }
      return;
    }
    case 'autojoin':
      if (v === 'none' || v === 'other' || v === 'any') b.autojoin = v;
      else bad(`Invalid autojoin directive [${v}]`);
      return;
    case 'uuidfrom':
      if (v === 'file' || v === 'nodename') b.uuidfrom = v;
      else bad(`Invalid uuidfrom directive [${v}]`);
      return;
    case 'compression':
      b.compression = v;
      return;
    case 'compression_threshold': {
      const n = parseInteger(v, 0, 1_000_000);
      if (n === undefined) bad(`set_compression_threshold: compress_threshhold(${v}) invalid`);
      else b.compressionThreshold = n;
      return;
    }
    case 'max_rexmit_delay': {
      const n = parseInteger(v, 1, 3_600_000);
      if (n === undefined) bad(`Invalid max_rexmit_delay time(${v})`);
      else b.maxRexmitDelayMs = n;
      return;
    }
    case 'memreserve': {
      const n = parseInteger(v, 0, 10_000_000);
      if (n === undefined) bad(`Invalid memreserve [${v}]: a number of kilobytes`);
      else b.memreserveKb = n;
      return;
    }
    case 'cluster':
      b.cluster = v;
      return;
    case 'quorum_server':
      b.quorumServer = v;
      return;
    case 'env': {
      const eq = v.indexOf('=');
      const name = eq > 0 ? v.slice(0, eq) : '';
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        // Heartbeat accepts and drops it [verified: `env bad` starts].
        warn('VIGIL_WARN_IGNORED', `env: invalid nvpair(${v}) ignored`, 'write env NAME=value');
        return;
      }
      b.env.set(name, v.slice(eq + 1));
      return;
    }
    case 'watchdog':
      if (b.watchdogDevice !== undefined) {
        bad('Watchdog device multiply specified.');
        return;
      }
      b.watchdogDevice = v;
      return;
    case 'bcast':
    case 'udp':
      if (directive === 'udp')
        warn('VIGIL_WARN_HEARTBEAT', "WARNING: directive 'udp' replaced by 'bcast'", 'write bcast');
      if (!validInterfaceName(v)) {
        bad(`${directive}: invalid interface name [${v}]`);
        return;
      }
      addMedium(b, { kind: 'bcast', dev: v, port: b.udpport, origin }, err);
      return;
    case 'serial':
      if (!v.startsWith('/')) {
        bad(`serial: [${v}] is not a device path (e.g. /dev/ttyS0)`);
        return;
      }
      addMedium(b, { kind: 'serial', tty: v, baud: b.baud, origin }, err);
      return;
    case 'ping':
    case 'ping6': {
      if (b.pingNodes.some((p) => p.name === v)) {
        warn('VIGIL_WARN_REPEATED', `ping node ${v} is listed twice`);
        return;
      }
      if (directive === 'ping' && !isIPv4(v)) {
        warn('VIGIL_WARN_RESOLVE', `ping node [${v}] is a host name, resolved once at start`, 'use the IP address');
      }
      addPing(b, { name: v, addresses: [v], group: false, origin }, err);
      return;
    }
    default:
      err('VIGIL_ERR_INTERNAL', `option directive ${directive} has no parser (line ${lineNo})`);
  }
}

function finish(
  b: Builder,
  file: string,
  localNode: string | undefined,
  errors: VigilError[],
  warnings: ConfigWarning[],
  lastLines: Readonly<Record<string, number>>,
): HaCfAnalysis {
  // Point at the line whose value is in effect: the last one.
  const where = (directive: string): { file: string; line?: number } => {
    const line = lastLines[directive] ?? b.origins[directive]?.line;
    return line === undefined ? { file } : { file, line };
  };
  const keepaliveMs = b.times.keepalive ?? 1000;
  const deadtimeMs = b.times.deadtime ?? 30000;
  // Messages and their numbers as heartbeat 3.0.6 prints them [verified], including its "keeplive" typo.
  if (deadtimeMs <= 2 * keepaliveMs) {
    errors.push(
      new VigilError(
        'VIGIL_ERR_CFG_VALUE',
        `Dead time [${deadtimeMs}] is too small compared to keeplive [${keepaliveMs}]`,
        where(b.times.deadtime !== undefined ? 'deadtime' : 'keepalive'),
      ),
    );
  }
  const warntimeMs = b.times.warntime ?? Math.floor(deadtimeMs / 2);
  let initdeadMs: number;
  if (b.times.initdead !== undefined) initdeadMs = b.times.initdead;
  else if (deadtimeMs > 10000) initdeadMs = deadtimeMs;
  else if (deadtimeMs < 6000) initdeadMs = 12000;
  else initdeadMs = 2 * deadtimeMs;
  if (initdeadMs < deadtimeMs) {
    errors.push(
      new VigilError(
        'VIGIL_ERR_CFG_VALUE',
        `Initial dead time [${initdeadMs}] is smaller than deadtime [${deadtimeMs}]`,
        where('initdead'),
      ),
    );
  } else if (initdeadMs < 10000) {
    warnings.push(
      warning(
        'VIGIL_WARN_HEARTBEAT',
        `Initial dead time [${initdeadMs} ms] may be too small!`,
        where('initdead'),
        'Initial dead time accounts for slow network startup time. It should be >= deadtime and >= 10 seconds',
      ),
    );
  }
  const deadpingMs = b.times.deadping ?? deadtimeMs;
  // Checked only when set: the default follows deadtime, whose own error already says it all.
  if (b.times.deadping !== undefined && deadpingMs <= 2 * keepaliveMs) {
    errors.push(
      new VigilError(
        'VIGIL_ERR_CFG_VALUE',
        `Ping dead time [${deadpingMs}] is too small compared to keeplive [${keepaliveMs}]`,
        where('deadping'),
      ),
    );
  }
  if (b.media.length + b.pingNodes.length === 0) {
    errors.push(new VigilError('VIGIL_ERR_CFG_MISSING', 'No heartbeat media defined', { file }));
  }
  if (b.nodes.length === 0 && b.autojoin !== 'any') {
    errors.push(new VigilError('VIGIL_ERR_CFG_MISSING', 'no nodes defined', { file }));
  }
  if (localNode !== undefined && !b.nodes.includes(localNode)) {
    errors.push(
      new VigilError(
        'VIGIL_ERR_CFG_MISSING',
        `Current node [${localNode}] not in configuration! Cluster nodes are named by \`uname -n\` (or /etc/ha.d/nodeinfo) and must be declared with a 'node' directive in ha.cf`,
        { file },
      ),
    );
  }
  for (const p of b.pingNodes) {
    if (b.nodes.includes(p.name.toLowerCase())) {
      errors.push(
        new VigilError('VIGIL_ERR_CFG_VALUE', `ping node [${p.name}] has the name of a cluster node`, {
          file,
          line: p.origin.line,
        }),
      );
    }
  }
  if (b.autojoin !== 'none' && !b.pacemaker) {
    errors.push(
      new VigilError(
        'VIGIL_ERR_CFG_VALUE',
        'R1 style resource management conflicts with  autojoin set (You need either unset autojoin or enable crm)',
        where('autojoin'),
      ),
    );
  }
  if (b.autoFailback === undefined) {
    warnings.push(
      warning(
        'VIGIL_WARN_FAILBACK',
        "Deprecated 'legacy' auto_failback option selected (auto_failback is not set).",
        { file },
        "Please convert to 'auto_failback on' (or off): legacy disables hb_standby and the start-up resource exchange",
      ),
    );
  } else if (b.autoFailback === 'legacy') {
    warnings.push(
      warning(
        'VIGIL_WARN_FAILBACK',
        "Deprecated 'legacy' auto_failback option selected.",
        where('auto_failback'),
        "Please convert to 'auto_failback on'",
      ),
    );
  }
  const autoFailback = b.autoFailback ?? 'legacy';
  let watchdog: WatchdogConfig | undefined;
  if (b.watchdogDevice !== undefined) {
    watchdog = { device: b.watchdogDevice, timeoutS: Math.ceil((deadtimeMs + 10) / 1000) };
  }
  const useLogd = b.useLogd ?? (b.logfile === undefined && b.debugfile === undefined && b.logfacility === undefined);

  const hacf: HaCf = {
    nodes: b.nodes,
    localNode: localNode ?? '',
    media: b.media,
    pingNodes: b.pingNodes,
    keepaliveMs,
    deadtimeMs,
    warntimeMs,
    initdeadMs,
    deadpingMs,
    udpport: b.udpport,
    baud: b.baud,
    hopfudge: b.hopfudge,
    autoFailback,
    niceFailback: autoFailback !== 'legacy',
    realtime: b.realtime,
    rtprio: b.rtprio,
    debug: b.debug,
    hbgenmethod: b.hbgenmethod,
    msgfmt: b.msgfmt,
    logfile: b.logfile,
    debugfile: b.debugfile,
    logfacility: b.logfacility,
    useLogd,
    connLogdTimeS: b.connLogdTimeS,
    coredumps: b.coredumps,
    coreroot: b.coreroot,
    logBadpack: b.logBadpack,
    syslogmsgfmt: b.syslogmsgfmt,
    pacemaker: b.pacemaker,
    autojoin: b.autojoin,
    uuidfrom: b.uuidfrom,
    compression: b.compression,
    compressionThreshold: b.compressionThreshold,
    traditionalCompression: b.traditionalCompression,
    maxRexmitDelayMs: b.maxRexmitDelayMs,
    memreserveKb: b.memreserveKb,
    cluster: b.cluster,
    quorumServer: b.quorumServer,
    // fromEntries defines own properties, so a name like __proto__ cannot reach the prototype.
    env: Object.fromEntries(b.env),
    watchdog,
    stonith: b.stonith,
    apiauth: b.apiauth,
    respawn: b.respawn,
    vigil: b.vigil as unknown as VigilExtensions,
    raw: b.raw,
    origins: b.origins,
  };
  return { hacf, errors, warnings };
}
