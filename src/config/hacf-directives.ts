/**
 * Heartbeat's Directives[] table (config.c), as one typed table: every ha.cf directive Heartbeat 3.0.6 knows, how its
 * line is read (an option directive splits its value on ", \t" and applies each token in turn; a whole-line one
 * gives the rest of the line to its own parser), whether it holds one value (the last one wins), and what it does.
 * Checked against `heartbeat -D` and the strings of the 3.0.6 binary. The Vigil-only directives have their own table
 * (vigil-directives.ts).
 */
import { HACF_LIMITS, type Builder, type DirectiveSpec, type OptionHandler } from './hacf-builder.js';
import {
  apiauth,
  bcast,
  mcast,
  mcast6,
  ping,
  pingGroup,
  respawn,
  serial,
  stonith,
  stonithHost,
  ucast,
  ucast6,
} from './hacf-lines.js';
import { parseBoolean, parseInteger, parseTimeMs } from './values.js';

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

// ------------------------------------------------------------------------------------------------ value kinds

/** A boolean directive; `set` undefined: validated and kept in `raw` only (it matters to Pacemaker or apphbd). */
function bool(set?: (b: Builder, v: boolean) => void): DirectiveSpec {
  return {
    form: 'option',
    scalar: true,
    apply: (b, v, bad, c) => {
      const bv = parseBoolean(v);
      if (bv === undefined)
        bad(`Invalid boolean [${v}] for ${c.directive}: use on/off, yes/no, true/false, y/n or 1/0`);
      else set?.(b, bv);
    },
  };
}

function scalar(apply: OptionHandler): DirectiveSpec {
  return { form: 'option', scalar: true, apply };
}

function list(apply: OptionHandler): DirectiveSpec {
  return { form: 'option', scalar: false, apply };
}

function time(key: keyof Builder['times']): DirectiveSpec {
  return scalar((b, v, bad) => {
    const ms = parseTimeMs(v);
    if (ms === undefined) {
      // Heartbeat has a message only for warntime; it stops silently on the others [verified].
      if (key === 'warntime') bad(`Warn time [${v}] is invalid. (${TIME_HELP})`);
      else bad(`Invalid ${key} time [${v}]: ${TIME_HELP}`);
      return;
    }
    if (ms <= 0) {
      bad(`${key} must be greater than 0 ms (got [${v}])`);
      return;
    }
    b.times[key] = ms;
  });
}

/** A whole number in [lo, hi]; `message` says what is wrong with a bad one. */
function int(
  lo: number,
  hi: number,
  message: (v: string) => string,
  set: (b: Builder, n: number) => void,
): DirectiveSpec {
  return scalar((b, v, bad) => {
    const n = parseInteger(v, lo, hi);
    if (n === undefined) bad(message(v));
    else set(b, n);
  });
}

function oneOf<T extends string>(
  values: readonly T[],
  message: (v: string) => string,
  set: (b: Builder, v: T) => void,
): DirectiveSpec {
  return scalar((b, v, bad) => {
    const hit = values.find((x) => x === v);
    if (hit === undefined) bad(message(v));
    else set(b, hit);
  });
}

// ------------------------------------------------------------------------------------------------ option directives

const node: DirectiveSpec = list((b, v, bad, c) => {
  const name = v.toLowerCase();
  if (b.nodes.includes(name)) {
    c.warn(
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
});

const udpport: DirectiveSpec = scalar((b, v, bad, c) => {
  // Heartbeat rejects 0 and non-numbers ("invalid port [x] specified.") but silently truncates 70000;
  // Vigil rejects anything outside 1–65535.
  const port = parseInteger(v, 1, 65535);
  if (port === undefined) {
    bad(`invalid port [${v}] specified.`);
    return;
  }
  const firstEarlier = b.media.find((m) => m.kind === 'bcast' || m.kind === 'ucast');
  if (firstEarlier !== undefined && port !== b.udpport) {
    c.warn(
      'VIGIL_WARN_ORDER',
      `udpport ${port} comes after the media line at line ${firstEarlier.origin.line}, which keeps port ${b.udpport}`,
      'move udpport above the bcast/ucast lines: Heartbeat reads ha.cf top to bottom',
    );
  }
  b.udpport = port;
});

const baud: DirectiveSpec = scalar((b, v, bad, c) => {
  const rate = parseInteger(v, 1, 10_000_000);
  if (rate === undefined || !BAUD_RATES.has(rate)) {
    bad(`invalid baudrate [${v}] specified.`);
    return;
  }
  const firstSerial = b.media.find((m) => m.kind === 'serial');
  if (firstSerial !== undefined && rate !== b.baud) {
    c.warn(
      'VIGIL_WARN_ORDER',
      `baud ${rate} comes after the serial line at line ${firstSerial.origin.line}, which keeps ${b.baud} baud`,
      'move baud above the serial lines',
    );
  }
  b.baud = rate;
});

const autoFailback: DirectiveSpec = scalar((b, v, bad) => {
  if (v.toLowerCase() === 'legacy') {
    b.autoFailback = 'legacy';
    return;
  }
  const bv = parseBoolean(v);
  if (bv === undefined) bad(`Invalid auto_failback [${v}]: use on, off or legacy`);
  else b.autoFailback = bv ? 'on' : 'off';
});

const niceFailback: DirectiveSpec = scalar((b, v, bad, c) => {
  const bv = parseBoolean(v);
  if (bv === undefined) {
    bad(`Invalid boolean [${v}] for nice_failback: use on or off`);
    return;
  }
  // Heartbeat logs these as ERROR lines but starts [verified]; once auto_failback is on/off, nice_failback
  // on *and* off become 'auto_failback off' [verified].
  if (b.autoFailback !== undefined && b.autoFailback !== 'legacy') {
    c.warn(
      'VIGIL_WARN_HEARTBEAT',
      `nice_failback flag is obsolete.. Use auto_failback {on, off, legacy} instead. 'nice_failback ${v}' has been changed to 'auto_failback off'`,
      'replace nice_failback by auto_failback',
    );
    b.autoFailback = 'off';
  } else {
    c.warn(
      'VIGIL_WARN_HEARTBEAT',
      `nice_failback flag is obsolete.. Use auto_failback {on, off, legacy} instead. nice_failback ${v} has been strictly interpreted as 'auto_failback legacy'`,
      "Consider converting to 'auto_failback on'. When you do, then you can use ipfail, and hb_standby",
    );
    b.autoFailback = 'legacy';
  }
});

const crm: DirectiveSpec = scalar((b, v, bad, c) => {
  const bv = v.toLowerCase() === 'respawn' ? true : parseBoolean(v);
  if (bv === undefined) {
    bad(`Invalid ${c.directive} [${v}]: use on, off or respawn`);
    return;
  }
  b.pacemaker = bv;
  if (bv) {
    bad(
      `${c.directive} ${v}: Pacemaker mode is not supported by Vigil, which runs haresources clusters (Heartbeat's R1 style)`,
    );
  }
});

const env: DirectiveSpec = list((b, v, _bad, c) => {
  const eq = v.indexOf('=');
  const name = eq > 0 ? v.slice(0, eq) : '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    // Heartbeat accepts and drops it [verified: `env bad` starts].
    c.warn('VIGIL_WARN_IGNORED', `env: invalid nvpair(${v}) ignored`, 'write env NAME=value');
    return;
  }
  b.env.set(name, v.slice(eq + 1));
});

const ignored: DirectiveSpec = scalar(() => undefined);

/** Every directive Heartbeat 3.0.6 accepts, by name (a Map: names like `__proto__` find nothing). */
export const HACF_DIRECTIVES: ReadonlyMap<string, DirectiveSpec> = new Map<string, DirectiveSpec>([
  [
    'cluster',
    scalar((b, v) => {
      b.cluster = v;
    }),
  ],
  ['node', node],
  [
    'hopfudge',
    int(
      0,
      255,
      (v) => `Invalid hopfudge [${v}]: a whole number from 0 to 255`,
      (b, n) => {
        b.hopfudge = n;
      },
    ),
  ],
  ['keepalive', time('keepalive')],
  ['deadtime', time('deadtime')],
  ['deadping', time('deadping')],
  ['initdead', time('initdead')],
  ['warntime', time('warntime')],
  [
    'watchdog',
    scalar((b, v, bad) => {
      if (b.watchdogDevice !== undefined) bad('Watchdog device multiply specified.');
      else b.watchdogDevice = v;
    }),
  ],
  ['baud', baud],
  ['udpport', udpport],
  [
    'logfacility',
    scalar((b, v, bad) => {
      if (SYSLOG_FACILITIES.has(v.toLowerCase())) b.logfacility = v.toLowerCase();
      else bad(`Log facility(${v}) not valid`);
    }),
  ],
  [
    'logfile',
    scalar((b, v) => {
      b.logfile = v;
    }),
  ],
  [
    'debugfile',
    scalar((b, v) => {
      b.debugfile = v;
    }),
  ],
  ['nice_failback', niceFailback],
  ['auto_failback', autoFailback],
  [
    'rtprio',
    int(
      1,
      99,
      (v) => `Illegal realtime priority [${v}]`,
      (b, n) => {
        b.rtprio = n;
      },
    ),
  ],
  [
    'hbgenmethod',
    oneOf(
      ['file', 'time'],
      (v) => `Illegal hb generation method [${v}]`,
      (b, v) => {
        b.hbgenmethod = v;
      },
    ),
  ],
  [
    'realtime',
    bool((b, v) => {
      b.realtime = v;
    }),
  ],
  [
    'debug',
    int(
      0,
      255,
      (v) => `Invalid debug level [${v}]: a whole number from 0 to 255`,
      (b, n) => {
        b.debug = n;
      },
    ),
  ],
  [
    'msgfmt',
    oneOf(
      ['classic', 'netstring'],
      (v) => `Invalid msgfmt [${v}]: use classic or netstring`,
      (b, v) => {
        b.msgfmt = v;
      },
    ),
  ],
  [
    'use_logd',
    bool((b, v) => {
      b.useLogd = v;
    }),
  ],
  [
    'conn_logd_time',
    int(
      0,
      86_400,
      (v) => `Invalid conn_logd_time [${v}]: a number of seconds`,
      (b, n) => {
        b.connLogdTimeS = n;
      },
    ),
  ],
  ['use_apphbd', bool()],
  [
    'log_badpack',
    bool((b, v) => {
      b.logBadpack = v;
    }),
  ],
  [
    'syslogmsgfmt',
    bool((b, v) => {
      b.syslogmsgfmt = v;
    }),
  ],
  [
    'coredumps',
    bool((b, v) => {
      b.coredumps = v;
    }),
  ],
  [
    'coreroot',
    scalar((b, v, bad) => {
      if (v.startsWith('/')) b.coreroot = v;
      else bad(`Invalid core directory [${v}]`);
    }),
  ],
  ['crm_daemon_dir', ignored],
  ['crmd_spawns_pengine', bool()],
  ['crm', crm],
  ['pacemaker', crm],
  [
    'autojoin',
    oneOf(
      ['none', 'other', 'any'],
      (v) => `Invalid autojoin directive [${v}]`,
      (b, v) => {
        b.autojoin = v;
      },
    ),
  ],
  [
    'uuidfrom',
    oneOf(
      ['file', 'nodename'],
      (v) => `Invalid uuidfrom directive [${v}]`,
      (b, v) => {
        b.uuidfrom = v;
      },
    ),
  ],
  [
    'compression',
    scalar((b, v) => {
      b.compression = v;
    }),
  ],
  [
    'compression_threshold',
    int(
      0,
      1_000_000,
      (v) => `set_compression_threshold: compress_threshhold(${v}) invalid`,
      (b, n) => {
        b.compressionThreshold = n;
      },
    ),
  ],
  [
    'traditional_compression',
    bool((b, v) => {
      b.traditionalCompression = v;
    }),
  ],
  ['env', env],
  [
    'max_rexmit_delay',
    int(
      1,
      3_600_000,
      (v) => `Invalid max_rexmit_delay time(${v})`,
      (b, n) => {
        b.maxRexmitDelayMs = n;
      },
    ),
  ],
  ['record_config_changes', bool()],
  ['record_pengine_inputs', bool()],
  ['enable_config_writes', bool()],
  [
    'memreserve',
    int(
      0,
      10_000_000,
      (v) => `Invalid memreserve [${v}]: a number of kilobytes`,
      (b, n) => {
        b.memreserveKb = n;
      },
    ),
  ],
  [
    'quorum_server',
    scalar((b, v) => {
      b.quorumServer = v;
    }),
  ],
  // Media whose plugin takes one device/address per token (HBcomm plugins shipped by Debian).
  ['bcast', bcast],
  ['udp', bcast],
  ['serial', serial],
  ['ping', ping],
  ['ping6', ping],
  // Whole-line directives: WLdirectives and the media with parsers of their own.
  ['stonith', stonith],
  ['stonith_host', stonithHost],
  ['apiauth', apiauth],
  ['respawn', respawn],
  ['failfast', respawn],
  ['ucast', ucast],
  ['mcast', mcast],
  ['ucast6', ucast6],
  ['mcast6', mcast6],
  ['ping_group', pingGroup],
]);
