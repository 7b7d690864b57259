/**
 * ha.cf, haresources and authkeys. Contract (each parser's doc comment): `parse*` throws nothing but VigilErrors,
 * whose every error has a stable code (never VIGIL_ERR_INTERNAL), the file, and a line (and column) inside it;
 * `analyze*` never throws; parse fails exactly when analyze reports errors. Beyond the contract, a few oracles that
 * cannot be wrong: an unknown ha.cf directive is an `Illegal directive` error on its line, a known one never is; a
 * message never says `undefined`, `NaN` or `[object ...]` unless the file does; what parses keeps its limits.
 */
import fc from 'fast-check';
import { analyzeAuthkeys, parseAuthkeys } from '../../src/config/authkeys.js';
import { analyzeHaCf, parseHaCf } from '../../src/config/hacf.js';
import { analyzeHaresources, parseHaresources } from '../../src/config/haresources.js';
import { VIGIL_DIRECTIVES } from '../../src/config/vigil-directives.js';
import { WarningCodes, type ConfigWarning } from '../../src/config/warnings.js';
import { WHITESPACE, tokenize } from '../../src/config/values.js';
import { ErrorCodes, VigilError, VigilErrors } from '../../src/util/errors.js';
import { ContractViolation, type SyncTarget, unexpectedThrow } from '../engine.js';
import { PROTOTYPE_KEYS, applyMutation, joinLines, mutationArb, showBytes, type Mutation } from '../mutate.js';

// ---------------------------------------------------------------------------------------------
// Shared checks

const SUSPECT = ['undefined', 'NaN', '[object '] as const;

interface Located {
  readonly file: string;
  readonly lines: readonly string[];
  readonly text: string;
  /** Columns must fall inside their line (not for haresources, whose columns count across joined lines). */
  readonly columnInLine: boolean;
}

function checkMessage(what: string, message: string, src: Located): void {
  if (typeof message !== 'string' || message.length === 0) throw new ContractViolation(`${what}: empty message`, '');
  for (const s of SUSPECT) {
    if (message.includes(s) && !src.text.includes(s)) {
      throw new ContractViolation(`${what}: message says ${s}`, message);
    }
  }
}

function checkLocation(
  what: string,
  loc: { file: string; line?: number; column?: number } | undefined,
  src: Located,
  message: string,
): void {
  if (loc === undefined) throw new ContractViolation(`${what} without location`, message);
  if (loc.file !== src.file) throw new ContractViolation(`${what} names another file`, `${loc.file}: ${message}`);
  if (loc.line !== undefined) {
    if (!Number.isInteger(loc.line) || loc.line < 1 || loc.line > src.lines.length) {
      throw new ContractViolation(
        `${what} line outside the file`,
        `line ${loc.line} of ${src.lines.length}: ${message}`,
      );
    }
    if (loc.column !== undefined) {
      const len = (src.lines[loc.line - 1] ?? '').length;
      if (!Number.isInteger(loc.column) || loc.column < 1 || (src.columnInLine && loc.column > len + 1)) {
        throw new ContractViolation(
          `${what} column outside its line`,
          `line ${loc.line} column ${loc.column} (length ${len}): ${message}`,
        );
      }
    }
  } else if (loc.column !== undefined) {
    throw new ContractViolation(`${what} column without line`, message);
  }
}

function checkErrors(errors: readonly unknown[], src: Located): void {
  for (const e of errors) {
    if (!(e instanceof VigilError)) throw new ContractViolation('error is not a VigilError', String(e));
    if (!(e.code in ErrorCodes)) throw new ContractViolation('unknown error code', e.code);
    if (e.code === 'VIGIL_ERR_INTERNAL') throw new ContractViolation('VIGIL_ERR_INTERNAL from a parser', e.message);
    checkMessage('error', e.message, src);
    checkLocation('error', e.location, src, e.message);
    e.format();
  }
}

function checkWarnings(warnings: readonly ConfigWarning[], src: Located): void {
  for (const w of warnings) {
    if (!(w.code in WarningCodes)) throw new ContractViolation('unknown warning code', w.code);
    checkMessage('warning', w.message, src);
    if (w.location !== undefined) checkLocation('warning', w.location, src, w.message);
  }
}

/** `parse` must throw nothing but VigilErrors, and exactly the errors `analyze` found. */
function checkParse(parse: () => unknown, analyzed: readonly VigilError[], src: Located): void {
  try {
    parse();
  } catch (e) {
    if (!(e instanceof VigilErrors)) throw unexpectedThrow('parse', e);
    checkErrors(e.errors, src);
    const a = analyzed.map((x) => x.format()).join('\n');
    const p = e.errors.map((x) => x.format()).join('\n');
    if (a !== p) throw new ContractViolation('parse and analyze disagree', `${p} vs ${a}`);
    return;
  }
  if (analyzed.length > 0)
    throw new ContractViolation('parse accepted what analyze refused', analyzed[0]?.message ?? '');
}

function analyzeOrViolate<R>(what: string, fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    throw unexpectedThrow(what, e);
  }
}

function outcome(errors: readonly VigilError[]): string {
  if (errors.length === 0) return 'ok';
  return `errors:${[...new Set(errors.map((e) => e.code.replace('VIGIL_ERR_', '')))].sort().join('+')}`;
}

/** Seed text plus mutation: half the inputs stay as generated, half are edited. */
interface TextInput {
  readonly base: string;
  readonly mutation: Mutation | null;
}

function render(i: TextInput): string {
  return i.mutation === null ? i.base : applyMutation(i.base, i.mutation, 0xffff);
}

const TEXT_TOKENS = [
  '\n',
  '\r\n',
  '\r',
  '\t',
  ' ',
  '#',
  '\\',
  '\\\n',
  ',',
  '=',
  '::',
  '/',
  '.',
  '\0',
  '\u00e9',
  '\ud800',
  '\u{1f600}',
  '\uFEFF',
  '\u2028',
  '\u0085',
];

function textInput(base: fc.Arbitrary<string>, tokens: readonly string[]): fc.Arbitrary<TextInput> {
  return fc.record({
    base,
    mutation: fc.option(mutationArb([...TEXT_TOKENS, ...tokens], 0xffff, base, 5), { freq: 2, nil: null }),
  });
}

function showText(i: TextInput): string {
  return showBytes(render(i));
}

// ---------------------------------------------------------------------------------------------
// ha.cf

/** Heartbeat's directive table (config.c), as Vigil reads it. */
export const HEARTBEAT_DIRECTIVES = [
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
  'bcast',
  'udp',
  'serial',
  'ping',
  'ping6',
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
] as const;

const KNOWN_DIRECTIVES: ReadonlySet<string> = new Set([...HEARTBEAT_DIRECTIVES, ...Object.keys(VIGIL_DIRECTIVES)]);

const TIMES = [
  '1',
  '2',
  '10',
  '30',
  '0',
  '500ms',
  '1500ms',
  '2s',
  '1.5',
  '.5',
  '5.',
  '-1',
  '1e3',
  '0.0004',
  '1500usec',
  '20000msec',
  '10 ms',
  'ms',
  '999999999999999999999',
  'NaN',
  'Infinity',
  '1.2.3',
];
const BOOLS = ['on', 'off', 'yes', 'no', 'true', 'false', 'y', 'n', '1', '0', 'ON', 'maybe', ''];
const INTS = [
  '0',
  '1',
  '2',
  '99',
  '100',
  '255',
  '256',
  '694',
  '65535',
  '65536',
  '19200',
  '115200',
  '-5',
  '007',
  '1e2',
  '123456789012345678',
];
const IPS = [
  '10.0.0.1',
  '10.0.2.2',
  '192.168.1.1',
  '224.0.0.1',
  '225.0.0.1',
  '239.255.255.255',
  '240.0.0.1',
  '223.255.255.255',
  '1.2.3',
  '1.2.3.4.5',
  '010.0.0.1',
  '256.1.1.1',
  '::1',
  'fe80::1',
  'peer.example',
  '',
];
const IFACES = ['eth0', 'eth1', 'lo', 'bond0.100', 'eth0:1', 'abcdefghijklmnop', 'abcdefghijklmno', 'eth/0', 'é'];
const PATHS = ['/dev/ttyS0', '/dev/watchdog', '/var/log/ha-log', '/', '//', 'relative', './x', '/tmp/a b'];
const WORDS = [
  'legacy',
  'classic',
  'netstring',
  'file',
  'time',
  'none',
  'other',
  'any',
  'nodename',
  'zlib',
  'bz2',
  'respawn',
  'local0',
  'daemon',
  'LOCAL7',
  'auto',
  'adaptive',
  'deadtime',
  'phi',
  'x=y',
  'LANG=C',
  '_A=1',
  '=x',
  '1A=2',
  '__proto__=x',
  'constructor=1',
  'localhost:25',
  'en',
  'fr',
  'a:b:c',
];

const VALUES: Readonly<Record<string, readonly string[]>> = {
  node: ['alpha', 'beta', 'ALPHA', 'gamma', 'a,b', ...PROTOTYPE_KEYS],
  keepalive: TIMES,
  deadtime: TIMES,
  deadping: TIMES,
  initdead: TIMES,
  warntime: TIMES,
  udpport: INTS,
  baud: INTS,
  hopfudge: INTS,
  debug: INTS,
  rtprio: INTS,
  conn_logd_time: INTS,
  compression_threshold: INTS,
  max_rexmit_delay: INTS,
  memreserve: INTS,
  bcast: IFACES,
  udp: IFACES,
  serial: PATHS,
  watchdog: PATHS,
  coreroot: PATHS,
  logfile: PATHS,
  debugfile: PATHS,
  ping: IPS,
  ping6: IPS,
  ucast: IFACES.flatMap((i) => IPS.slice(0, 4).map((ip) => `${i} ${ip}`)).concat([
    'eth0',
    '',
    'eth0 10.0.0.1 10.0.0.2',
  ]),
  mcast: [
    'eth3 225.0.0.1 694 1 0',
    'eth3 225.0.0.1 694 1 1',
    'eth3 225.0.0.1 694 5 0',
    'eth3 225.0.0.1 0 1 0',
    'eth3 225.0.0.1 694 1 2',
    'eth3 10.0.0.1 694 1 0',
    'eth3 225.0.0.1 694 1',
    'eth3 225.0.0.1 694',
    'eth3 225.0.0.1',
    'eth3',
    'eth3 225.0.0.1 694 1 0 extra',
  ],
  ucast6: ['eth0 fe80::1', 'eth0'],
  mcast6: ['eth0 ff02::1 694 1 0', ''],
  ping_group: ['routers 10.0.0.1 10.0.0.2', 'routers', 'g 1.1.1.1', '__proto__ 1.1.1.1'],
  stonith: ['external/ipmi /etc/ha.d/ipmi.cfg', 'meatware', 'null /dev/null'],
  stonith_host: ['* external/ipmi alpha 10.0.9.1 admin secret', 'alpha meatware', 'beta null', '*', ''],
  apiauth: [
    'ipfail uid=hacluster',
    'x gid=haclient,root',
    'x uid=',
    'x foo',
    'x',
    'ipfail uid=a gid=b',
    'ipfail uid=,,',
  ],
  respawn: ['hacluster /usr/lib/heartbeat/ipfail', 'root relative/path', 'root', 'root /bin/x -a -b'],
  failfast: ['hacluster /usr/lib/heartbeat/ipfail', 'root'],
  auto_failback: ['on', 'off', 'legacy', 'LEGACY', 'maybe'],
  nice_failback: BOOLS,
  logfacility: ['local0', 'daemon', 'none', 'LOCAL7', 'kernel', 'x'],
  hbgenmethod: ['file', 'time', 'x'],
  msgfmt: ['classic', 'netstring', 'x'],
  autojoin: ['none', 'other', 'any', 'x'],
  uuidfrom: ['file', 'nodename', 'x'],
  crm: ['on', 'off', 'respawn', 'x'],
  pacemaker: ['on', 'off', 'respawn', 'x'],
  env: ['LANG=C', 'bad', '=x', '__proto__=x', 'A=', 'A=b=c', 'constructor=x'],
  vigil_health_check: [
    '192.168.1.50 interval=5 fall=2 restarts=1 command /usr/lib/nagios/plugins/check_ssh localhost',
    'g resource apache',
    'g id=x resource r',
    'g id=x resource r extra',
    'g interval=abc resource r',
    'g interval=50ms resource r',
    'g foo=1 resource r',
    'g rise=0 resource r',
    'g command',
    'g command relative',
    'g',
    'g =x resource r',
    'g id= resource r',
    'g timeout=0 resource r',
    'g grace=1 failure_timeout=2 command /bin/true',
  ],
  vigil_state_dir: PATHS,
  vigil_rsc_state_dir: PATHS,
  vigil_mail_templates: PATHS,
  vigil_vip_lease: ['auto', 'off', '0', '1', '86400', '86401', 'AUTO'],
  vigil_garp_refresh: TIMES,
  vigil_script_timeout: TIMES,
  vigil_stonith_timeout: TIMES,
  vigil_mail_relay: ['localhost:25', '[::1]:25', 'a b', 'x'],
  vigil_mail_lang: ['en', 'fr', 'e n'],
  vigil_detector: ['deadtime', 'adaptive', 'ADAPTIVE', 'phi'],
  vigil_detector_phi: ['1', '8', '20', '20.5', '0.5', '1e3', '10.5', '.5'],
  vigil_detector_min_beats: ['1', '2', '100', '101', 'x'],
};

const GENERIC = [...TIMES, ...BOOLS, ...INTS, ...IPS, ...IFACES, ...PATHS, ...WORDS];

const sep = fc.constantFrom(' ', '  ', '\t', ' \t ', ',', ', ', ' ,');
const word = fc.stringMatching(/^[A-Za-z0-9_./:=-]{1,12}$/);
const anyText = fc.string({ unit: 'binary', maxLength: 40 });

const directiveName: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...KNOWN_DIRECTIVES) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 1, arbitrary: word },
  { weight: 1, arbitrary: fc.constantFrom(...KNOWN_DIRECTIVES).map((d) => d.toUpperCase()) },
  { weight: 1, arbitrary: fc.constantFrom(...KNOWN_DIRECTIVES).map((d) => `${d}x`) },
);

const hacfLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(
        fc.constantFrom('', '', '', ' ', '\t'),
        directiveName,
        sep,
        fc.array(fc.oneof(fc.constant('V'), fc.constantFrom(...GENERIC), word), { minLength: 1, maxLength: 3 }),
        fc.constantFrom('', '', '', ' # comment', '#', ' \r', '\\'),
        fc.nat(),
      )
      .map(([lead, d, s, vals, tail, pick]) => {
        const pool = VALUES[d] ?? GENERIC;
        const values = vals.map((v) => (v === 'V' ? (pool[pick % pool.length] ?? '') : v));
        return `${lead}${d}${s}${values.join(s)}${tail}`;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '   ', '#node alpha', '\t# x') },
  { weight: 1, arbitrary: anyText },
);

const HACF_SKELETON = ['node alpha', 'node beta', 'bcast eth0', 'auto_failback on'];
const HACF_FULL = `# A configuration using most of what Heartbeat 3 accepts (valid for node alpha).
logfile /var/log/ha-log
debugfile /var/log/ha-debug
logfacility local0
udpport 694
baud 19200
keepalive 500ms
deadtime 5
warntime 2500ms
initdead 30
deadping 6
hopfudge 1
node alpha
node beta
bcast eth1
ucast eth2 10.0.2.2
mcast eth3 225.0.0.1 694 1 0
ping 10.0.0.254
ping_group routers 10.0.0.1 10.0.0.2
auto_failback off
realtime on
debug 0
msgfmt netstring
hbgenmethod file
uuidfrom file
compression zlib
compression_threshold 2
max_rexmit_delay 250
memreserve 6500
cluster prod
env LANG=C
watchdog /dev/watchdog
stonith_host * external/ipmi alpha 10.0.9.1 admin secret
apiauth ipfail uid=hacluster
respawn hacluster /usr/lib/heartbeat/ipfail
vigil_state_dir /var/lib/vigil
vigil_health_check 10.0.1.100 interval=5 fall=2 command /bin/true
`;

/** Limits sit at counts no random line list reaches: blocks that cross them. */
const HACF_BLOCKS: readonly string[] = [
  Array.from({ length: 101 }, (_, i) => `node n${i}`).join('\n'),
  Array.from({ length: 65 }, (_, i) => `bcast eth${i}`).join('\n'),
  Array.from({ length: 64 }, (_, i) => `ping 10.0.0.${i}`).join('\n'),
  `cluster ${'x'.repeat(5120 - 8)}`,
  `cluster ${'x'.repeat(5120 - 7)}`,
];

const hacfBase: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc
      .record({
        skeleton: fc.subarray(HACF_SKELETON),
        lines: fc.array(hacfLine, { maxLength: 12 }),
        crlf: fc.boolean(),
        finalNl: fc.boolean(),
        at: fc.nat(),
      })
      .map(({ skeleton, lines, crlf, finalNl, at }) => {
        const i = lines.length === 0 ? 0 : at % (lines.length + 1);
        return joinLines([...lines.slice(0, i), ...skeleton, ...lines.slice(i)], crlf, finalNl);
      }),
  },
  { weight: 3, arbitrary: fc.constant(HACF_FULL) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...HACF_BLOCKS), fc.subarray(HACF_SKELETON))
      .map(([b, s]) => `${s.join('\n')}\n${b}\n`),
  },
);

interface HacfInput extends TextInput {
  readonly localNode: string | undefined;
}

/** ha.cf's own first-token rule: what the line's directive is, if any (undefined for blank, comment, too long). */
function hacfDirectiveOf(line: string): string | undefined {
  if (line.length > 5120) return undefined;
  const hash = line.indexOf('#');
  return tokenize(hash >= 0 ? line.slice(0, hash) : line, WHITESPACE)[0]?.text;
}

export const hacfTarget: SyncTarget<HacfInput> = {
  kind: 'sync',
  name: 'hacf',
  about: 'parseHaCf/analyzeHaCf (src/config/hacf.ts): only VigilErrors with file:line, unknown directives named',
  arbitrary: () =>
    fc
      .tuple(
        textInput(hacfBase, [...KNOWN_DIRECTIVES, ...PROTOTYPE_KEYS, ...GENERIC.slice(0, 40)]),
        fc.constantFrom('alpha', 'ALPHA', 'gamma', undefined),
      )
      .map(([t, localNode]) => ({ ...t, localNode })),
  show: (i) => `{"localNode":${JSON.stringify(i.localNode ?? null)},"text":${showText(i)}}`,
  run: (i) => {
    const text = render(i);
    const file = '/etc/ha.d/ha.cf';
    const opts = { file, localNode: i.localNode };
    const lines = text.split('\n');
    const src: Located = { file, lines, text, columnInLine: true };
    const r = analyzeOrViolate('analyzeHaCf', () => analyzeHaCf(text, opts));
    checkErrors(r.errors, src);
    checkWarnings(r.warnings, src);
    checkParse(() => parseHaCf(text, opts), r.errors, src);
    for (let n = 0; n < lines.length; n++) {
      const d = hacfDirectiveOf(lines[n] ?? '');
      if (d === undefined) continue;
      const illegal = r.errors.some((e) => e.code === 'VIGIL_ERR_CFG_DIRECTIVE' && e.location?.line === n + 1);
      if (!KNOWN_DIRECTIVES.has(d) && !illegal) {
        throw new ContractViolation('unknown directive not refused as Illegal directive', `line ${n + 1}: ${d}`);
      }
      if (KNOWN_DIRECTIVES.has(d) && illegal) {
        throw new ContractViolation('known directive refused as Illegal directive', `line ${n + 1}: ${d}`);
      }
    }
    if (r.errors.length === 0) {
      const h = r.hacf;
      if (i.localNode !== undefined && !h.nodes.includes(i.localNode.toLowerCase())) {
        throw new ContractViolation('accepted without the local node', i.localNode);
      }
      if (!(h.deadtimeMs > 2 * h.keepaliveMs) || h.initdeadMs < h.deadtimeMs || h.keepaliveMs <= 0) {
        throw new ContractViolation(
          'accepted inconsistent timings',
          `${h.keepaliveMs}/${h.deadtimeMs}/${h.initdeadMs}`,
        );
      }
      if (h.nodes.length > 100 || h.media.length + h.pingNodes.length > 64) {
        throw new ContractViolation('accepted beyond the limits', `${h.nodes.length} nodes, ${h.media.length} media`);
      }
      if (h.media.length + h.pingNodes.length === 0) throw new ContractViolation('accepted without media', '');
    }
    return outcome(r.errors);
  },
};

// ---------------------------------------------------------------------------------------------
// haresources

const RSC_IPS = [
  '10.0.1.100',
  '192.168.1.50',
  '1.2.3',
  '1.2.3.4.5',
  '256.0.0.1',
  '010.0.0.1',
  '0.0.0.0',
  'fe80::1',
  '',
];
const RSC_MASKS = ['24', '32', '1', '0', '33', '255.255.255.0', '255.0.255.0', '', 'x', '08'];
const RSC_NICS = ['eth0', 'eth1', 'abcdefghijklmnop', 'e\tth', '', '0eth'];
const RSC_BCASTS = ['10.0.1.255', '1.2.3', 'x', ''];

const ipSpec: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...RSC_IPS), fc.array(fc.nat(), { maxLength: 5 }))
  .map(([ip, parts]) =>
    [ip, ...parts.map((p, i) => [RSC_MASKS, RSC_NICS, RSC_BCASTS, RSC_BCASTS, RSC_NICS][i]?.[p % 10] ?? '')].join('/'),
  );

const resource: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: ipSpec },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom('IPaddr', 'IPaddr2'), ipSpec).map(([a, s]) => `${a}::${s}`) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'Filesystem::/dev/drbd0::/srv::ext4',
      'drbddisk::r0',
      'MailTo::root@example.com::failover',
      'apache',
      'IPaddr',
      'IPaddr::',
      'IPaddr2::::',
      '::x',
      '../etc/passwd',
      '.hidden',
      'a/b',
      'x::::y',
      '10.0.0.1x',
      '1.2.3.4/24/eth0/10.0.0.255/extra',
      ...PROTOTYPE_KEYS,
    ),
  },
  { weight: 1, arbitrary: word },
);

const hrLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(
        fc.constantFrom('alpha', 'beta', 'ALPHA', 'gamma', '#alpha', ...PROTOTYPE_KEYS),
        fc.array(resource, { maxLength: 5 }),
        fc.constantFrom(' ', '\t', '  '),
        fc.constantFrom('', '', ' # c', ' \\', '\\', ' \\ \t', '\r'),
      )
      .map(([n, rs, s, tail]) => `${n}${s}${rs.join(s)}${tail}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '\\', '  \\') },
  { weight: 1, arbitrary: anyText },
);

const HR_BLOCKS: readonly string[] = [
  Array.from({ length: 1001 }, (_, i) => `alpha r${i}`).join('\n'),
  `alpha ${Array.from({ length: 101 }, (_, i) => `r${i}`).join(' ')}`,
  `alpha ${'r'.repeat(5120)}`,
  `alpha ${'\\\n'.repeat(3000)}x`,
  'alpha 10.0.1.100\nbeta 10.0.1.100',
];

const hrBase: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc
      .tuple(fc.array(hrLine, { maxLength: 8 }), fc.boolean(), fc.boolean())
      .map(([l, crlf, nl]) => joinLines(l, crlf, nl)),
  },
  {
    weight: 3,
    arbitrary: fc.constant(
      'alpha IPaddr2::10.0.1.100/24/eth1 \\\n      Filesystem::/dev/drbd0::/srv::ext4 \\\n      apache\nbeta  10.0.1.101 MailTo::root@example.com::failover\n',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(...HR_BLOCKS) },
);

interface HrInput extends TextInput {
  readonly nodes: readonly string[];
}

export const haresourcesTarget: SyncTarget<HrInput> = {
  kind: 'sync',
  name: 'haresources',
  about: 'parseHaresources/analyzeHaresources (src/config/haresources.ts): only VigilErrors with file:line',
  arbitrary: () =>
    fc
      .tuple(
        textInput(hrBase, ['::', 'IPaddr::', 'IPaddr2::', '/24', '/eth0', 'alpha ', '\\\n', '10.0.0.1']),
        fc.constantFrom<readonly string[]>(['alpha', 'beta'], ['alpha'], [], ['__proto__', 'alpha']),
      )
      .map(([t, nodes]) => ({ ...t, nodes })),
  show: (i) => `{"nodes":${JSON.stringify(i.nodes)},"text":${showText(i)}}`,
  run: (i) => {
    const text = render(i);
    const file = '/etc/ha.d/haresources';
    const opts = { file, nodes: i.nodes };
    const src: Located = { file, lines: text.split('\n'), text, columnInLine: false };
    const r = analyzeOrViolate('analyzeHaresources', () => analyzeHaresources(text, opts));
    checkErrors(r.errors, src);
    checkWarnings(r.warnings, src);
    checkParse(() => parseHaresources(text, opts), r.errors, src);
    const keys = new Set<string>();
    if (r.groups.length > 1000) throw new ContractViolation('more groups than the limit', String(r.groups.length));
    for (const g of r.groups) {
      if (!i.nodes.includes(g.node)) throw new ContractViolation('group for a node not in ha.cf', g.node);
      if (keys.has(g.key)) throw new ContractViolation('duplicate group key accepted', g.key);
      keys.add(g.key);
      if (g.resources.length === 0 || g.resources.length > 100) {
        throw new ContractViolation('group size outside 1-100', String(g.resources.length));
      }
      for (const res of g.resources) {
        if (res.type.includes('/') || res.type.startsWith('.') || res.type === '') {
          throw new ContractViolation('resource script name climbs out of resource.d', res.type);
        }
        if ((res.type === 'IPaddr' || res.type === 'IPaddr2') && res.ip === undefined) {
          throw new ContractViolation('IP resource without a parsed address', res.spec);
        }
      }
    }
    return outcome(r.errors);
  },
};

// ---------------------------------------------------------------------------------------------
// authkeys

const METHODS = ['crc', 'md5', 'sha1', 'sha256', 'sha512', 'SHA1', 'sha3', 'md4', ''];
const KEYS = ['k', 'Str0ngKey', '#k', 'a b', 'x'.repeat(300), '\u00e9t\u00e9', '\0'];
const NUMS = ['0', '1', '2', '15', '16', '01', '99999999999999999999', '-1', 'x', ''];

const akLine: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...NUMS),
        fc.constantFrom(...METHODS),
        fc.option(fc.constantFrom(...KEYS), { nil: undefined }),
        fc.constantFrom('', ' extra', ' #c', '\r'),
      )
      .map(([n, m, k, tail]) => `${n} ${m}${k === undefined ? '' : ` ${k}`}${tail}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('auth', ' auth', 'auth\t', 'AUTH', 'authx', 'auth  '), fc.constantFrom(...NUMS))
      .map(([a, n]) => `${a} ${n}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', 'auth', '   ', '\t#x') },
  { weight: 1, arbitrary: anyText },
);

/** `auth N` then key N: the shape of every working file, with other lines around it. */
const akValid: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 0, max: 15 }),
    fc.constantFrom('crc', 'md5', 'sha1', 'sha256', 'sha512'),
    fc.constantFrom(...KEYS.slice(0, 3)),
    fc.array(akLine, { maxLength: 3 }),
    fc.nat(),
  )
  .map(([n, m, k, others, at]) => {
    const lines = [`auth ${n}`, m === 'crc' ? `${n} crc` : `${n} ${m} ${k}`];
    lines.splice(at % 3, 0, ...others);
    return joinLines(lines, false, true);
  });

const akBase: fc.Arbitrary<string> = fc.oneof(
  { weight: 10, arbitrary: akValid },
  {
    weight: 20,
    arbitrary: fc
      .tuple(fc.array(akLine, { maxLength: 6 }), fc.boolean(), fc.boolean())
      .map(([l, c, n]) => joinLines(l, c, n)),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'auth 2\n1 md5 oldkey\n2 sha1 Str0ngKey\n',
      'auth 1\n1 crc\n',
      `auth 1\n1 sha1 ${'k'.repeat(5200)}\n`,
    ),
  },
);

interface AkInput extends TextInput {
  readonly mode: number | undefined;
}

export const authkeysTarget: SyncTarget<AkInput> = {
  kind: 'sync',
  name: 'authkeys',
  about: 'parseAuthkeys/analyzeAuthkeys (src/config/authkeys.ts): only VigilErrors with file:line',
  arbitrary: () =>
    fc
      .tuple(
        textInput(akBase, ['auth ', 'auth 1', '1 sha1 ', 'crc', 'md5', 'sha256', '16']),
        fc.oneof(fc.constantFrom(0o600, 0o644, 0o620, 0o602, 0o400, undefined), fc.integer({ min: 0, max: 0o7777 })),
      )
      .map(([t, mode]) => ({ ...t, mode })),
  show: (i) => `{"mode":${i.mode === undefined ? 'null' : `0o${i.mode.toString(8)}`},"text":${showText(i)}}`,
  run: (i) => {
    const text = render(i);
    const file = '/etc/ha.d/authkeys';
    const opts = { file, mode: i.mode };
    const src: Located = { file, lines: text.split('\n'), text, columnInLine: true };
    const r = analyzeOrViolate('analyzeAuthkeys', () => analyzeAuthkeys(text, opts));
    checkErrors(r.errors, src);
    checkWarnings(r.warnings, src);
    checkParse(() => parseAuthkeys(text, opts), r.errors, src);
    const a = r.authkeys;
    if (r.errors.length === 0) {
      if (a === undefined) throw new ContractViolation('no error and no key', '');
      const k = a.keys.get(a.active);
      if (k === undefined) throw new ContractViolation('active key missing from the keys', String(a.active));
      if (a.active < 0 || a.active > 15) throw new ContractViolation('key index out of 0-15', String(a.active));
      if (k.method !== 'crc' && k.key.length === 0)
        throw new ContractViolation('keyed method with an empty key', k.method);
    }
    return outcome(r.errors);
  },
};
