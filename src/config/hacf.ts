/**
 * ha.cf as Heartbeat 3.0.6 reads it: line by line, `#` comments, the directive table of hacf-directives.ts (and the
 * Vigil-only one of vigil-directives.ts), then the checks Heartbeat makes once the whole file is read (`finish`).
 */
import { VigilError, VigilErrors, type ErrorCode } from '../util/errors.js';
import type { GroupNodes, HaCf, MediumConfig, Origin, VigilExtensions, WatchdogConfig } from './types.js';
import { HACF_LIMITS, type Builder, type DirectiveCtx, newBuilder } from './hacf-builder.js';
import { HACF_DIRECTIVES } from './hacf-directives.js';
import { HACF_DEFAULTS, defaultInitdeadMs, defaultWarntimeMs } from './heartbeat-defaults.js';
import { parseHealthCheck, type HealthCheckSpec } from './health-check.js';
import { parseGroupNodes } from './group-nodes.js';
import {
  LIST_KINDS,
  VIGIL_DIRECTIVES,
  autoVipLeaseSec,
  parseEndpoint,
  maxVipLeaseSec,
  parseVigilValue,
  vigilValueExpectation,
} from './vigil-directives.js';
import { type ConfigWarning, warning } from './warnings.js';
import { OPTION_SEPARATORS, WHITESPACE, type Token, tokenize } from './values.js';

/** The media this build carries (serial is parsed, as Heartbeat reads it, and not carried). */
export const VIGIL_MEDIA: ReadonlySet<MediumConfig['kind']> = new Set(['bcast', 'ucast', 'mcast', 'ucast6', 'mcast6']);

export { HACF_LIMITS } from './hacf-builder.js';

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

/** Never throws on bad input: every problem becomes an entry of `errors` with file, line and column. */
export function analyzeHaCf(text: string, options: ParseHaCfOptions): HaCfAnalysis {
  const file = options.file;
  const localNode = options.localNode?.toLowerCase();
  const errors: VigilError[] = [];
  const warnings: ConfigWarning[] = [];
  const b = newBuilder();
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
    const wordTokens = (): Token[] => tokenize(rest, WHITESPACE, restOffset);

    const spec = HACF_DIRECTIVES.get(directive);
    // Own keys only: `__proto__` or `constructor` would find Object.prototype's members and pass as a directive.
    const vigilDirective = Object.hasOwn(VIGIL_DIRECTIVES, directive) ? VIGIL_DIRECTIVES[directive] : undefined;
    if (spec === undefined && vigilDirective === undefined) {
      err('VIGIL_ERR_CFG_DIRECTIVE', `Illegal directive [${directive}] in ${file}`, first.column);
      continue;
    }
    b.raw[directive] = rest.trim();
    b.origins[directive] ??= origin;

    if (vigilDirective !== undefined) {
      vigilLine(b, directive, vigilDirective, rest, wordTokens(), origin, err);
      // The last line wins: errors about the value point there.
      if (!LIST_KINDS.has(vigilDirective.kind)) scalarLines[directive] = lineNo;
      continue;
    }
    if (spec === undefined) continue;

    const ctx: DirectiveCtx = { directive, origin, rest, localNode, err, warn };
    if (spec.form === 'line') {
      spec.apply(b, wordTokens(), ctx);
      continue;
    }
    if (spec.scalar) {
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
    const toks = tokenize(rest, OPTION_SEPARATORS, restOffset);
    if (toks.length === 0) {
      warn(
        'VIGIL_WARN_EMPTY',
        `${directive} has no value and is ignored (Heartbeat ignores it too)`,
        'give it a value or remove the line',
      );
      continue;
    }
    if (toks.length > 1 && spec.scalar) {
      warn(
        'VIGIL_WARN_REPEATED',
        `${directive} is given ${toks.length} values; Heartbeat applies each in turn, so [${toks[toks.length - 1]?.text ?? ''}] wins`,
        'a time unit is written without a space: 1500ms',
      );
    }
    // Heartbeat applies each token in turn.
    for (const tok of toks) {
      spec.apply(
        b,
        tok.text,
        (message) => {
          err('VIGIL_ERR_CFG_VALUE', message, tok.column);
        },
        ctx,
      );
    }
  }

  if (b.stonithHost !== undefined) b.stonith = b.stonithHost;
  return finish(b, file, localNode, errors, warnings, scalarLines);
}

/** At most this many etcd endpoints (an etcd cluster has 3, 5 or 7 members). */
export const QUORUM_ENDPOINTS_MAX = 16;

/** What `vigil_quorum etcd` needs, checked once the whole file is read. */
function quorumErrors(v: VigilExtensions, where: (d: string) => { file: string; line?: number }): VigilError[] {
  const out: VigilError[] = [];
  const bad = (directive: string, text: string): void => {
    out.push(new VigilError('VIGIL_ERR_CFG_VALUE', text, where(directive)));
  };
  if ((v.quorumCert === '') !== (v.quorumKey === '')) {
    bad(
      v.quorumCert === '' ? 'vigil_quorum_key' : 'vigil_quorum_cert',
      'vigil_quorum_cert and vigil_quorum_key go together',
    );
  }
  const tlsFiles = v.quorumCa !== '' || v.quorumCert !== '';
  if (tlsFiles && v.quorumEndpoints.some((e) => e.startsWith('http://'))) {
    bad('vigil_quorum_endpoints', 'etcd TLS files are set but some vigil_quorum_endpoints are http://: use https://');
  }
  if (v.quorum !== 'etcd') return out;
  if (v.quorumEndpoints.length === 0) {
    bad('vigil_quorum', 'vigil_quorum etcd needs vigil_quorum_endpoints (the client URLs of every etcd member)');
  }
  if (v.vipLease === 'off') {
    // The kernel lease is what drops a frozen or killed holder's VIP before its etcd lease can expire.
    bad('vigil_vip_lease', 'vigil_quorum etcd needs the VIP lease: vigil_vip_lease off cannot be used with it');
  }
  return out;
}

/** One entry of a repeatable directive: parsed (its error reported), and refused when its key is already there. */
function addEntry<T>(
  list: T[],
  parse: () => T,
  key: (x: T) => string,
  duplicate: (key: string) => void,
  err: (code: ErrorCode, message: string) => void,
): void {
  let spec: T;
  try {
    spec = parse();
  } catch (e) {
    if (!(e instanceof VigilError)) throw e;
    err(e.code, e.message);
    return;
  }
  const k = key(spec);
  if (list.some((x) => key(x) === k)) duplicate(k);
  else list.push(spec);
}

/** A `vigil_*` line: one typed value, or a health check. */
function vigilLine(
  b: Builder,
  directive: string,
  d: NonNullable<(typeof VIGIL_DIRECTIVES)[string]>,
  rest: string,
  toks: readonly Token[],
  origin: Origin,
  err: (code: ErrorCode, message: string, column?: number) => void,
): void {
  if (d.kind === 'health_check') {
    addEntry(
      b.vigil[d.field] as HealthCheckSpec[],
      () => parseHealthCheck(rest, origin),
      (c) => c.id,
      (id) => {
        err('VIGIL_ERR_HEALTH_CONFIG', `vigil_health_check: duplicate id [${id}] (give one with id=NAME)`);
      },
      err,
    );
    return;
  }
  if (d.kind === 'endpoints') {
    if (toks.length === 0) err('VIGIL_ERR_CFG_VALUE', `${directive} needs ${vigilValueExpectation(d.kind)}`);
    const list = b.vigil[d.field] as string[];
    for (const t of toks) {
      const url = parseEndpoint(t.text);
      if (url === undefined) {
        err(
          'VIGIL_ERR_CFG_VALUE',
          `Invalid ${directive} [${t.text}]: expected ${vigilValueExpectation(d.kind)}`,
          t.column,
        );
      } else if (list.length >= QUORUM_ENDPOINTS_MAX) {
        err('VIGIL_ERR_CFG_LIMIT', `${directive}: more than ${QUORUM_ENDPOINTS_MAX} endpoints`, t.column);
        return;
      } else if (!list.includes(url)) {
        list.push(url);
      }
    }
    return;
  }
  if (d.kind === 'group_nodes') {
    addEntry(
      b.vigil[d.field] as GroupNodes[],
      () => parseGroupNodes(toks, origin),
      (x) => x.group,
      (group) => {
        err('VIGIL_ERR_CFG_VALUE', `vigil_group_nodes: group [${group}] is listed twice`);
      },
      err,
    );
    return;
  }
  const tok = toks[0];
  if (tok === undefined || toks.length > 1) {
    err('VIGIL_ERR_CFG_VALUE', `${directive} takes one value: ${vigilValueExpectation(d.kind)}`);
    return;
  }
  const v = parseVigilValue(d.kind, tok.text);
  if (v === undefined) {
    err(
      'VIGIL_ERR_CFG_VALUE',
      `Invalid ${directive} [${tok.text}]: expected ${vigilValueExpectation(d.kind)}`,
      tok.column,
    );
    return;
  }
  b.vigil[d.field] = v;
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
  const keepaliveMs = b.times.keepalive ?? HACF_DEFAULTS.keepaliveMs;
  const deadtimeMs = b.times.deadtime ?? HACF_DEFAULTS.deadtimeMs;
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
  const warntimeMs = b.times.warntime ?? defaultWarntimeMs(deadtimeMs);
  const initdeadMs = b.times.initdead ?? defaultInitdeadMs(deadtimeMs);
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
  const lease = String(b.vigil.vipLease);
  if (lease !== 'auto' && lease !== 'off') {
    const max = maxVipLeaseSec(deadtimeMs, keepaliveMs);
    if (Number(lease) > max) {
      errors.push(
        new VigilError(
          'VIGIL_ERR_CFG_VALUE',
          `vigil_vip_lease ${lease} is too long for deadtime ${deadtimeMs} ms and keepalive ${keepaliveMs} ms: a killed ` +
            `daemon's VIP would still be up when the peer takes it over. The lease must run out before the peer's ` +
            `deadtime does: at most ${max} s here (deadtime − keepalive − 1 s for the kernel's whole-second expiry, ` +
            `rounded down; 2 s at least), or auto (${autoVipLeaseSec(deadtimeMs, keepaliveMs)} s)`,
          where('vigil_vip_lease'),
        ),
      );
    }
  }
  errors.push(...quorumErrors(b.vigil as unknown as VigilExtensions, where));
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
  } else if (b.nodes.length > 1 && !b.media.some((m) => VIGIL_MEDIA.has(m.kind))) {
    // Heartbeat counts ping nodes (and serial lines) as media; with no heartbeat link no node ever hears another,
    // each declares the others dead and takes every group.
    const have = [...new Set(b.media.map((m) => m.kind))];
    errors.push(
      new VigilError(
        'VIGIL_ERR_CFG_MISSING',
        `No usable heartbeat medium: ${have.length === 0 ? 'only ping nodes are defined' : `Vigil does not carry ${have.join(', ')}`}, so no node would hear another and every node would take every group. Add bcast, ucast, mcast, ucast6 or mcast6`,
        { file },
      ),
    );
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
