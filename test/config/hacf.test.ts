// Expectations marked [verified] were checked against the real heartbeat 3.0.6 binary (Debian 1:3.0.6),
// started with `heartbeat -f` on the file inside private mount/uts/net namespaces (tmpfs over /etc/ha.d,
// hostname linux1, only `lo`), reading the ERROR/WARN lines it logs before "Configuration validated".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeHaCf, parseHaCf, HACF_LIMITS } from '../../src/config/hacf.js';
import { VigilErrors, type VigilError } from '../../src/util/errors.js';
import type { ConfigWarning } from '../../src/config/warnings.js';

const FILE = '/etc/ha.d/ha.cf';
const BASE = 'node linux1 linux2\nbcast eth1\nauto_failback on\n';

function ok(text: string, localNode: string | undefined = 'linux1') {
  return parseHaCf(text, { file: FILE, localNode }).hacf;
}
function errors(text: string, localNode: string | undefined = 'linux1'): readonly VigilError[] {
  return analyzeHaCf(text, { file: FILE, localNode }).errors;
}
function messages(text: string, localNode?: string): string[] {
  return errors(text, localNode ?? 'linux1').map((e) => e.message);
}
function warnings(text: string): readonly ConfigWarning[] {
  return analyzeHaCf(text, { file: FILE, localNode: 'linux1' }).warnings;
}
function oneError(text: string): VigilError {
  const e = errors(text);
  assert.equal(e.length, 1, `expected one error, got: ${e.map((x) => x.format()).join(' | ')}`);
  return e[0]!;
}

test('defaults match `heartbeat -D` and the derived rules', () => {
  // [verified] heartbeat -D: keepalive 1000ms, deadtime 30000ms, baud 19200, hopfudge 1, auto_failback legacy,
  // hbgenmethod file, realtime true, msgfmt classic, conn_logd_time 60, log_badpack true, syslogmsgfmt true,
  // coredumps true, pacemaker false, autojoin none, uuidfrom file, compression zlib, compression_threshold 2,
  // traditional_compression no, max_rexmit_delay 250, memreserve 6500, cluster linux-ha.
  const h = ok('node linux1\nbcast eth0\n');
  assert.equal(h.keepaliveMs, 1000);
  assert.equal(h.deadtimeMs, 30000);
  assert.equal(h.warntimeMs, 15000);
  assert.equal(h.initdeadMs, 30000);
  assert.equal(h.deadpingMs, 30000);
  assert.equal(h.udpport, 694);
  assert.equal(h.baud, 19200);
  assert.equal(h.hopfudge, 1);
  assert.equal(h.autoFailback, 'legacy');
  assert.equal(h.niceFailback, false);
  assert.equal(h.realtime, true);
  assert.equal(h.rtprio, undefined);
  assert.equal(h.debug, 0);
  assert.equal(h.hbgenmethod, 'file');
  assert.equal(h.msgfmt, 'classic');
  assert.equal(h.useLogd, true); // no logfile/debugfile/logfacility → logd
  assert.equal(h.connLogdTimeS, 60);
  assert.equal(h.coredumps, true);
  assert.equal(h.logBadpack, true);
  assert.equal(h.syslogmsgfmt, true);
  assert.equal(h.pacemaker, false);
  assert.equal(h.autojoin, 'none');
  assert.equal(h.uuidfrom, 'file');
  assert.equal(h.compression, 'zlib');
  assert.equal(h.compressionThreshold, 2);
  assert.equal(h.traditionalCompression, false);
  assert.equal(h.maxRexmitDelayMs, 250);
  assert.equal(h.memreserveKb, 6500);
  assert.equal(h.cluster, 'linux-ha');
  assert.equal(h.quorumServer, undefined);
  assert.equal(h.watchdog, undefined);
  assert.equal(h.stonith, undefined);
  assert.deepEqual(h.env, {});
  assert.deepEqual(h.vigil, {
    stateDir: '/var/lib/heartbeat',
    vipLease: 'auto',
    garpRefreshMs: 10_000,
    scriptTimeoutMs: 120000,
    rscStateDir: '/run/resource-agents',
    mailRelay: 'localhost:25',
    mailLang: 'en',
    mailTemplatesDir: '/etc/ha.d/mail-templates',
    stonithTimeoutMs: 60000,
    healthChecks: [],
    detector: 'deadtime',
    detectorPhi: 8,
    detectorMinBeats: 3,
    groupNodes: [],
    quorum: 'none',
    quorumEndpoints: [],
    quorumPrefix: '/vigil',
    quorumCa: '',
    quorumCert: '',
    quorumKey: '',
    quorumTtlMs: 5000,
    quorumLoss: 'release',
    httpListen: '',
    notifyProgram: '',
    notifyTimeoutMs: 10_000,
    notifyFifo: '',
    historyBytes: 1024 * 1024,
    journald: 'auto',
  });
});

test('initdead default: deadtime if > 10 s, 12 s if deadtime < 6 s, else 2 × deadtime', () => {
  assert.equal(ok(`${BASE}deadtime 11\n`).initdeadMs, 11000);
  assert.equal(ok(`${BASE}deadtime 10\n`).initdeadMs, 20000);
  assert.equal(ok(`${BASE}deadtime 6\n`).initdeadMs, 12000);
  assert.equal(ok(`${BASE}deadtime 5\n`).initdeadMs, 12000);
  assert.equal(ok(`${BASE}keepalive 100ms\ndeadtime 500ms\n`).initdeadMs, 12000);
});

test('warntime defaults to deadtime/2; deadping to deadtime', () => {
  const h = ok(`${BASE}deadtime 10\n`);
  assert.equal(h.warntimeMs, 5000);
  assert.equal(h.deadpingMs, 10000);
  assert.equal(ok(`${BASE}keepalive 100ms\ndeadtime 1001ms\n`).warntimeMs, 500);
  assert.equal(ok(`${BASE}warntime 7\n`).warntimeMs, 7000);
  assert.equal(ok(`${BASE}deadping 40\n`).deadpingMs, 40000);
});

test('times accept ms and decimals; a space before the unit is an error (tokens split on ", \\t")', () => {
  assert.equal(ok(`${BASE}keepalive 1500ms\ndeadtime 10\n`).keepaliveMs, 1500);
  assert.equal(ok(`${BASE}keepalive 1.5\ndeadtime 10\n`).keepaliveMs, 1500); // [verified] accepted
  // [verified] `keepalive 1500 msec` and `keepalive 2 s` both stop heartbeat (the unit is a token of its own).
  assert.match(messages(`${BASE}keepalive 1500 msec\n`).join('\n'), /Invalid keepalive time \[msec\]/);
  assert.match(oneError(`${BASE}keepalive 2s\n`).message, /^Invalid keepalive time \[2s\]: .*"s" is not a unit/);
  assert.equal(oneError(`${BASE}keepalive 2s\n`).code, 'VIGIL_ERR_CFG_VALUE');
  assert.match(oneError(`${BASE}deadtime 30s\n`).message, /^Invalid deadtime time \[30s\]/);
  assert.match(oneError(`${BASE}initdead 1m\n`).message, /^Invalid initdead time \[1m\]/);
  assert.match(oneError(`${BASE}deadping x\n`).message, /^Invalid deadping time \[x\]/);
  // [verified] heartbeat's own wording for warntime: "Warn time [abc] is invalid."
  assert.match(oneError(`${BASE}warntime abc\n`).message, /^Warn time \[abc\] is invalid\./);
  // [verified] keepalive 0 and 0.0004 (rounds to 0 ms) stop heartbeat.
  assert.match(oneError(`${BASE}keepalive 0\n`).message, /keepalive must be greater than 0/);
  assert.match(oneError(`${BASE}keepalive 0.0004\n`).message, /keepalive must be greater than 0/);
});

test('Dead time [..] is too small compared to keeplive [..] (heartbeat typo kept)', () => {
  // [verified] keepalive 1500ms, deadtime 3 → "Dead time [3000] is too small compared to keeplive [1500]"
  const e = oneError(`${BASE}keepalive 1500ms\ndeadtime 3\n`);
  assert.equal(e.message, 'Dead time [3000] is too small compared to keeplive [1500]');
  assert.equal(e.location?.line, 5);
  // [verified] deadtime 4 with keepalive 1 starts (4000 > 2000).
  assert.equal(ok(`${BASE}deadtime 4\n`).deadtimeMs, 4000);
});

test('Initial dead time smaller than deadtime is an error; under 10 s a warning', () => {
  // [verified] "Initial dead time [5000] is smaller than deadtime [10000]"
  assert.equal(
    oneError(`${BASE}deadtime 10\ninitdead 5\n`).message,
    'Initial dead time [5000] is smaller than deadtime [10000]',
  );
  // [verified] WARN "Initial dead time [10 ms] may be too small!" and heartbeat starts.
  const w = warnings(`${BASE}keepalive 1ms\ndeadtime 5ms\ninitdead 10ms\n`);
  assert.ok(
    w.some((x) => x.code === 'VIGIL_WARN_HEARTBEAT' && x.message === 'Initial dead time [10 ms] may be too small!'),
  );
});

test('Ping dead time too small is an error even without ping nodes', () => {
  // [verified] `deadping 2` with keepalive 1: "Ping dead time [2000] is too small compared to keeplive [1000]"
  assert.equal(
    oneError(`${BASE}deadping 2\n`).message,
    'Ping dead time [2000] is too small compared to keeplive [1000]',
  );
});

test('unknown directives: Illegal directive [x] in FILE, with line and column; case-sensitive', () => {
  // [verified] "Illegal directive [foo] in /etc/ha.d//ha.cf"; `Keepalive 1` and `keepalive=2` are illegal too.
  const e = oneError(`${BASE}  foo bar\n`);
  assert.equal(e.message, `Illegal directive [foo] in ${FILE}`);
  assert.equal(e.code, 'VIGIL_ERR_CFG_DIRECTIVE');
  assert.deepEqual(e.location, { file: FILE, line: 4, column: 3 });
  assert.equal(oneError(`${BASE}Keepalive 1\n`).message, `Illegal directive [Keepalive] in ${FILE}`);
  assert.equal(oneError(`${BASE}keepalive=2\n`).message, `Illegal directive [keepalive=2] in ${FILE}`);
  // hbaping has no plugin in Debian's heartbeat [verified: Illegal directive [hbaping]].
  assert.equal(oneError(`${BASE}hbaping x\n`).message, `Illegal directive [hbaping] in ${FILE}`);
});

test('every error of the file is reported at once, in line order', () => {
  const r = analyzeHaCf('foo\nnode linux1\nkeepalive 2s\nbar\nbcast eth0\nudpport 0\n', {
    file: FILE,
    localNode: 'linux1',
  });
  assert.deepEqual(
    r.errors.map((e) => e.location?.line),
    [1, 3, 4, 6],
  );
  assert.throws(
    () => parseHaCf('foo\nbar\n', { file: FILE, localNode: 'linux1' }),
    (e: unknown) => e instanceof VigilErrors && e.errors.length >= 2 && e.code === 'VIGIL_ERR_CFG_DIRECTIVE',
  );
});

test('comments start anywhere with #; blank lines, tabs and CRLF are fine', () => {
  // [verified] `bcast lo # comment` and `keepalive 1#x` are accepted.
  const h = ok('# c\n\n\tnode\tlinux1 ,linux2\r\nbcast eth0 # comment\r\nkeepalive 1#x\ndeadtime 10\n  \t \n');
  assert.deepEqual(h.nodes, ['linux1', 'linux2']);
  assert.equal(h.keepaliveMs, 1000);
  assert.deepEqual(
    h.media.map((m) => (m.kind === 'bcast' ? m.dev : '')),
    ['eth0'],
  );
});

test('UTF-8 comments with accents (the French tutorial) parse', () => {
  const h = ok(
    '# On défini la périodicité de controle des noeuds entre eux (en seconde)\nnode linux1\n# « mort »\nbcast eth1\n',
  );
  assert.deepEqual(h.nodes, ['linux1']);
});

test('node: several per line, separated by space, tab or comma; lowercased; duplicates warned', () => {
  const h = ok('node Linux1, LINUX2\tlinux3\nnode linux1\nbcast eth0\n');
  assert.deepEqual(h.nodes, ['linux1', 'linux2', 'linux3']);
  assert.ok(warnings('node linux1 Linux1\nbcast eth0\n').some((w) => w.code === 'VIGIL_WARN_REPEATED'));
});

test('node limit: 100', () => {
  const names = Array.from({ length: HACF_LIMITS.nodes + 1 }, (_, i) => `n${i}`);
  const e = errors(`node ${names.join(' ')}\nbcast eth0\n`, 'n0');
  assert.equal(e.length, 1);
  assert.match(e[0]!.message, /Too many nodes \(> 100\)/);
});

test('required items: media, nodes, the local node', () => {
  // [verified] "No heartbeat media defined", "no nodes defined", "Current node [linux1] not in configuration!"
  assert.deepEqual(messages('node linux1\n'), ['No heartbeat media defined']);
  const m = messages('bcast eth0\n');
  assert.equal(m[0], 'no nodes defined');
  assert.match(m[1]!, /^Current node \[linux1\] not in configuration!/);
  assert.match(messages('node linux2\nbcast eth0\n').join(), /^Current node \[linux1\] not in configuration!/);
  assert.equal(errors('node linux2\nbcast eth0\n')[0]!.code, 'VIGIL_ERR_CFG_MISSING');
  // The local name is compared lowercased ([verified] hostname LINUX1 with `node linux1` starts).
  assert.equal(ok('node linux1\nbcast eth0\n', 'LINUX1').localNode, 'linux1');
  // Without a local node the check is skipped (a peer's copy).
  assert.equal(parseHaCf('node linux2\nbcast eth0\n', { file: FILE }).hacf.localNode, '');
});

test('bcast: one medium per interface, port from the udpport in effect; udp is an alias that warns', () => {
  const h = ok('node linux1\nudpport 700\nbcast eth0, eth1\n');
  assert.deepEqual(
    h.media.map((m) => (m.kind === 'bcast' ? `${m.dev}:${m.port}:${m.origin.line}` : '')),
    ['eth0:700:3', 'eth1:700:3'],
  );
  // [verified] "WARNING: directive 'udp' replaced by 'bcast'"
  const w = warnings('node linux1\nudp eth0\n');
  assert.ok(w.some((x) => x.message === "WARNING: directive 'udp' replaced by 'bcast'"));
  assert.equal(ok('node linux1\nudp eth0\n').media[0]?.kind, 'bcast');
  assert.match(oneError(`${BASE}bcast averyveryverylongname\n`).message, /invalid interface name/);
});

test('udpport after the media: media keep the earlier port, and a warning says so', () => {
  // [verified] `bcast lo` then `udpport 700`: heartbeat starts and logs
  // "UDP Broadcast heartbeat started on port 694 (694) interface lo".
  const r = analyzeHaCf('node linux1\nbcast eth0\nudpport 700\nbcast eth1\n', { file: FILE, localNode: 'linux1' });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.hacf.media.map((m) => (m.kind === 'bcast' ? m.port : 0)),
    [694, 700],
  );
  assert.equal(r.hacf.udpport, 700);
  const w = r.warnings.find((x) => x.code === 'VIGIL_WARN_ORDER');
  assert.ok(w);
  assert.equal(w.location?.line, 3);
  assert.match(w.message, /udpport 700 comes after the media line at line 2, which keeps port 694/);
});

test('udpport values: 1–65535', () => {
  // [verified] "invalid port [0] specified." and "invalid port [abc] specified."; heartbeat silently accepts 70000
  // (Vigil rejects it rather than truncate it to 16 bits).
  assert.equal(oneError(`${BASE}udpport 0\n`).message, 'invalid port [0] specified.');
  assert.equal(oneError(`${BASE}udpport abc\n`).message, 'invalid port [abc] specified.');
  assert.equal(oneError(`${BASE}udpport 70000\n`).message, 'invalid port [70000] specified.');
});

test('serial and baud: baud applies to the serial lines after it', () => {
  const h = ok('node linux1\nbaud 9600\nserial /dev/ttyS0 /dev/ttyS1\n');
  assert.deepEqual(
    h.media.map((m) => (m.kind === 'serial' ? `${m.tty}@${m.baud}` : '')),
    ['/dev/ttyS0@9600', '/dev/ttyS1@9600'],
  );
  const w = warnings('node linux1\nserial /dev/ttyS0\nbaud 9600\n');
  assert.ok(
    w.some((x) => x.code === 'VIGIL_WARN_ORDER' && /baud 9600 comes after the serial line at line 2/.test(x.message)),
  );
  assert.equal(oneError(`${BASE}baud 12345\n`).message, 'invalid baudrate [12345] specified.');
  assert.match(oneError(`${BASE}serial ttyS0\n`).message, /not a device path/);
});

test('ucast: dev and peer; extra peers ignored with a warning; missing peer is an error', () => {
  const h = ok('node linux1\nucast eth1 192.168.1.2\nucast eth1 192.168.1.3\n');
  assert.deepEqual(
    h.media.map((m) => (m.kind === 'ucast' ? `${m.dev}>${m.peer}:${m.port}` : '')),
    ['eth1>192.168.1.2:694', 'eth1>192.168.1.3:694'],
  );
  // [verified] "ucast: [lo] missing target IP address/hostname"
  assert.equal(oneError(`${BASE}ucast lo\n`).message, 'ucast: [lo] missing target IP address/hostname');
  assert.match(oneError(`${BASE}ucast\n`).message, /ucast: missing interface/);
  // [verified] `ucast lo 1.2.3.4 5.6.7.8` starts (the extra address is ignored).
  assert.ok(warnings(`${BASE}ucast eth0 1.2.3.4 5.6.7.8\n`).some((w) => w.code === 'VIGIL_WARN_IGNORED'));
  assert.ok(warnings(`${BASE}ucast eth0 peerhost\n`).some((w) => w.code === 'VIGIL_WARN_RESOLVE'));
});

test('mcast: all five fields, ttl 0–4, loop 0/1, a multicast group', () => {
  const m = ok('node linux1\nmcast eth0 225.0.0.1 694 1 0\n').media[0];
  assert.deepEqual(m, {
    kind: 'mcast',
    dev: 'eth0',
    group: '225.0.0.1',
    port: 694,
    ttl: 1,
    loop: false,
    origin: { file: FILE, line: 2 },
  });
  // [verified] "mcast [lo] bad ttl [5]", "mcast [lo] bad loop [2]", "mcast [lo] missing loop"
  assert.match(oneError(`${BASE}mcast lo 225.0.0.1 694 5 0\n`).message, /^mcast \[lo\] bad ttl \[5\]/);
  assert.match(oneError(`${BASE}mcast lo 225.0.0.1 694 1 2\n`).message, /^mcast \[lo\] bad loop \[2\]/);
  assert.equal(oneError(`${BASE}mcast lo 225.0.0.1 694 1\n`).message, 'mcast [lo] missing loop');
  assert.match(oneError(`${BASE}mcast lo 10.0.0.1 694 1 0\n`).message, /^mcast \[lo\] bad addr \[10\.0\.0\.1\]/);
  assert.match(oneError(`${BASE}mcast lo 225.0.0.1 0 1 0\n`).message, /^mcast \[lo\] bad port \[0\]/);
  assert.equal(
    oneError(
      `${BASE}mcast lo 225.0.0.1 694 1 0\n`
        .replace('694 1 0', '694 1 0')
        .replace('mcast lo 225.0.0.1 694 1 0', 'mcast lo'),
    ).message,
    'mcast [lo] missing mcast address',
  );
  assert.equal(oneError(`${BASE}mcast lo 225.0.0.1\n`).message, 'mcast [lo] missing port');
  assert.equal(oneError(`${BASE}mcast lo 225.0.0.1 694\n`).message, 'mcast [lo] missing ttl');
  assert.equal(errors(`${BASE}mcast lo 225.0.0.1 694 1 0\n`).length, 0);
});

test("ucast6 and mcast6: parsed as Heartbeat's plugins read them, addresses in canonical text", () => {
  const h = ok(
    'node linux1 linux2\nudpport 700\nucast6 eth1 2001:DB8:1:0:0:0:0:30\nucast6 eth1 fe80::2%eth1\nmcast6 eth1 ff02::694 695 1 0\n',
  );
  assert.deepEqual(h.media, [
    { kind: 'ucast6', dev: 'eth1', peer: '2001:db8:1::30', port: 700, origin: { file: FILE, line: 3 } },
    { kind: 'ucast6', dev: 'eth1', peer: 'fe80::2', port: 700, origin: { file: FILE, line: 4 } },
    {
      kind: 'mcast6',
      dev: 'eth1',
      group: 'ff02::694',
      port: 695,
      hops: 1,
      loop: false,
      origin: { file: FILE, line: 5 },
    },
  ]);
  const N = 'node linux1 linux2\nauto_failback on\nbcast eth1\n';
  assert.equal(oneError(`${N}ucast6\n`).message, 'ucast6 statement without device (ucast6 <dev> <peer-ipv6>)');
  assert.equal(oneError(`${N}ucast6 eth1\n`).message, 'ucast6 [eth1] missing ucast6 address');
  assert.match(oneError(`${N}ucast6 eth1 192.168.1.30\n`).message, /^ucast6 \[eth1\] bad addr \[192\.168\.1\.30\]/);
  assert.match(oneError(`${N}ucast6 eth1 ff02::1\n`).message, /bad addr \[ff02::1\]: a multicast/);
  assert.match(oneError(`${N}ucast6 eth1 ::1\n`).message, /the loopback address/);
  assert.match(oneError(`${N}ucast6 eth1 fe80::2%eth2\n`).message, /zone must be the device eth1/);
  assert.equal(warnings(`${N}ucast6 eth1 fe80::2 fe80::3\n`)[0]?.code, 'VIGIL_WARN_IGNORED');
  assert.equal(oneError(`${N}mcast6 eth1\n`).message, 'mcast6 [eth1] missing mcast6 address');
  assert.match(
    oneError(`${N}mcast6 eth1 ff0e::694 694 1 0\n`).message,
    /^mcast6 \[eth1\] bad addr \[ff0e::694\]: scope e/,
  );
  assert.equal(oneError(`${N}mcast6 eth1 ff02::694\n`).message, 'mcast6 [eth1] missing port');
  assert.match(oneError(`${N}mcast6 eth1 ff02::694 ha-cluster 1 0\n`).message, /bad port \[ha-cluster\]/);
  assert.equal(oneError(`${N}mcast6 eth1 ff02::694 694\n`).message, 'mcast6 [eth1] missing hops');
  assert.equal(oneError(`${N}mcast6 eth1 ff02::694 694 5 0\n`).message, 'mcast6 [eth1] bad hops [5] (0 to 4)');
  assert.equal(oneError(`${N}mcast6 eth1 ff02::694 694 1\n`).message, 'mcast6 [eth1] missing loop');
  assert.equal(oneError(`${N}mcast6 eth1 ff02::694 694 1 2\n`).message, 'mcast6 [eth1] bad loop [2] (0 or 1)');
});

test('no usable medium: refused when ping nodes or serial lines are all there is (Heartbeat would start)', () => {
  // [verified] heartbeat starts with ping as its only medium (test/config/heartbeat-oracle.test.ts); with no
  // heartbeat link every node would declare the others dead and take every group.
  const e = oneError('node linux1 linux2\nauto_failback on\nping 10.0.0.1\n');
  assert.equal(e.code, 'VIGIL_ERR_CFG_MISSING');
  assert.match(e.message, /^No usable heartbeat medium: only ping nodes are defined/);
  assert.match(
    oneError('node linux1 linux2\nauto_failback on\nserial /dev/ttyS0\n').message,
    /Vigil does not carry serial/,
  );
  // IPv6 media alone are usable; so is a single-node cluster with a ping node only (nobody to split with).
  assert.deepEqual(errors('node linux1 linux2\nauto_failback on\nucast6 eth1 fe80::2\n'), []);
  assert.deepEqual(errors('node linux1 linux2\nauto_failback on\nmcast6 eth1 ff02::694 694 1 0\n'), []);
  assert.deepEqual(errors('node linux1\nping 10.0.0.1\n'), []);
});

test('ping, ping6 and ping_group make ping nodes (and count as media)', () => {
  // [verified] `ping 10.0.0.1, 10.0.0.2` and two ping_group lines for one name start.
  // [verified] a ha.cf whose only medium is `ping 10.0.0.1` starts: ping nodes are media.
  assert.deepEqual(errors('node linux1\nping 10.0.0.1\n'), []);
  const h = ok(
    'node linux1\nping 10.0.0.1, 10.0.0.2\nping_group g1 10.0.0.3 10.0.0.4\nping_group g1 10.0.0.5\nping6 ::1\n',
  );
  assert.deepEqual(
    h.pingNodes.map((p) => [p.name, p.addresses, p.group]),
    [
      ['10.0.0.1', ['10.0.0.1'], false],
      ['10.0.0.2', ['10.0.0.2'], false],
      ['g1', ['10.0.0.3', '10.0.0.4', '10.0.0.5'], true],
      ['::1', ['::1'], false],
    ],
  );
  assert.equal(h.media.length, 0);
  assert.match(oneError(`${BASE}ping_group g1\n`).message, /ping_group needs a name and at least one address/);
  assert.match(oneError(`${BASE}ping linux2\n`).message, /ping node \[linux2\] has the name of a cluster node/);
});

test('ping6 takes IPv6 addresses (canonical for the probes, named as written), ping takes IPv4', () => {
  const h = ok(`${BASE}ping6 2001:DB8:1:0:0:0:0:1\nping_group g6 2001:db8:1::1 2001:db8:2:0::1 10.0.0.1\n`);
  assert.deepEqual(
    h.pingNodes.map((p) => [p.name, p.addresses]),
    [
      ['2001:DB8:1:0:0:0:0:1', ['2001:db8:1::1']],
      ['g6', ['2001:db8:1::1', '2001:db8:2::1', '10.0.0.1']],
    ],
  );
  assert.ok(warnings(`${BASE}ping_group g6 2001:db8:1::1\n`).some((w) => w.code === 'VIGIL_WARN_RSC_HEARTBEAT'));
  assert.match(oneError(`${BASE}ping6 10.0.0.1\n`).message, /ping6: \[10\.0\.0\.1\] is not a unicast IPv6 address/);
  assert.match(oneError(`${BASE}ping6 ff02::1\n`).message, /not a unicast IPv6 address/);
  assert.match(oneError(`${BASE}ping6 fe80::1\n`).message, /is link-local/);
  assert.match(oneError(`${BASE}ping 2001:db8::1\n`).message, /write ping6 2001:db8::1/);
});

test('media limit: 64', () => {
  const lines = Array.from({ length: HACF_LIMITS.media + 1 }, (_, i) => `ucast eth0 10.0.0.${i + 1}`);
  const e = errors(`node linux1\n${lines.join('\n')}\n`);
  assert.equal(e.length, 1);
  assert.equal(e[0]!.message, 'Too many media specified (> 64)');
  assert.equal(e[0]!.code, 'VIGIL_ERR_CFG_LIMIT');
});

test('line limit: 5120 characters', () => {
  const e = oneError(`${BASE}# ${'x'.repeat(HACF_LIMITS.lineLength)}\n`);
  assert.equal(e.code, 'VIGIL_ERR_CFG_LIMIT');
  assert.equal(e.location?.line, 4);
});

test('auto_failback: booleans map to on/off, legacy (default) warns', () => {
  assert.equal(ok('node linux1\nbcast eth0\nauto_failback yes\n').autoFailback, 'on');
  assert.equal(ok('node linux1\nbcast eth0\nauto_failback yes\n').niceFailback, true);
  assert.equal(ok('node linux1\nbcast eth0\nauto_failback OFF\n').autoFailback, 'off');
  assert.equal(ok('node linux1\nbcast eth0\nauto_failback off\n').niceFailback, true);
  assert.equal(ok('node linux1\nbcast eth0\nauto_failback legacy\n').autoFailback, 'legacy');
  // [verified] `auto_failback maybe` stops heartbeat (no message).
  assert.match(
    oneError(`${BASE}auto_failback maybe\n`).message,
    /Invalid auto_failback \[maybe\]: use on, off or legacy/,
  );
  // [verified] without auto_failback: WARN "Deprecated 'legacy' auto_failback option selected."
  const w = warnings('node linux1\nbcast eth0\n');
  assert.ok(
    w.some(
      (x) => x.code === 'VIGIL_WARN_FAILBACK' && /Deprecated 'legacy' auto_failback option selected/.test(x.message),
    ),
  );
  assert.ok(warnings('node linux1\nbcast eth0\nauto_failback legacy\n').some((x) => x.code === 'VIGIL_WARN_FAILBACK'));
  assert.ok(!warnings(BASE).some((x) => x.code === 'VIGIL_WARN_FAILBACK'));
});

test('nice_failback: obsolete; after auto_failback on it becomes off, else legacy', () => {
  // [verified] "'nice_failback on' has been changed to 'auto_failback off'" when auto_failback was set;
  // "nice_failback on has been strictly interpreted as 'auto_failback legacy'" otherwise. Both start.
  const a = analyzeHaCf('node linux1\nbcast eth0\nauto_failback on\nnice_failback on\n', {
    file: FILE,
    localNode: 'linux1',
  });
  assert.equal(a.hacf.autoFailback, 'off');
  assert.ok(a.warnings.some((w) => /has been changed to 'auto_failback off'/.test(w.message)));
  const b = analyzeHaCf('node linux1\nbcast eth0\nnice_failback on\n', { file: FILE, localNode: 'linux1' });
  assert.equal(b.hacf.autoFailback, 'legacy');
  assert.ok(b.warnings.some((w) => /strictly interpreted as 'auto_failback legacy'/.test(w.message)));
  assert.equal(ok('node linux1\nbcast eth0\nnice_failback off\n').autoFailback, 'legacy');
  const c = analyzeHaCf('node linux1\nbcast eth0\nauto_failback on\nnice_failback off\n', {
    file: FILE,
    localNode: 'linux1',
  });
  assert.equal(c.hacf.autoFailback, 'off');
  assert.ok(c.warnings.some((w) => /'nice_failback off' has been changed to 'auto_failback off'/.test(w.message)));
});

test('boolean directives', () => {
  const h = ok(
    `${BASE}realtime off\ncoredumps no\nlog_badpack n\nsyslogmsgfmt false\ntraditional_compression yes\nuse_logd yes\nuse_apphbd no\nrecord_config_changes on\nrecord_pengine_inputs off\nenable_config_writes 1\ncrmd_spawns_pengine 0\n`,
  );
  assert.equal(h.realtime, false);
  assert.equal(h.coredumps, false);
  assert.equal(h.logBadpack, false);
  assert.equal(h.syslogmsgfmt, false);
  assert.equal(h.traditionalCompression, true);
  assert.equal(h.useLogd, true);
  assert.equal(h.raw['record_config_changes'], 'on');
  // [verified] `realtime maybe` and `use_logd maybe` stop heartbeat (no message).
  assert.match(oneError(`${BASE}realtime maybe\n`).message, /^Invalid boolean \[maybe\] for realtime/);
  assert.match(oneError(`${BASE}use_logd maybe\n`).message, /^Invalid boolean \[maybe\] for use_logd/);
});

test('numeric directives: hopfudge, debug, rtprio, conn_logd_time, memreserve, compression_threshold, max_rexmit_delay', () => {
  const h = ok(
    `${BASE}hopfudge 3\ndebug 2\nrtprio 50\nconn_logd_time 30\nmemreserve 8000\ncompression_threshold 4\nmax_rexmit_delay 300\n`,
  );
  assert.deepEqual(
    [h.hopfudge, h.debug, h.rtprio, h.connLogdTimeS, h.memreserveKb, h.compressionThreshold, h.maxRexmitDelayMs],
    [3, 2, 50, 30, 8000, 4, 300],
  );
  // [verified] `hopfudge 300` stops heartbeat (no message); `hopfudge x` and `debug abc` start (atoi → 0):
  // Vigil rejects these non-numbers rather than read 0.
  assert.match(oneError(`${BASE}hopfudge 300\n`).message, /^Invalid hopfudge \[300\]/);
  assert.match(oneError(`${BASE}hopfudge x\n`).message, /^Invalid hopfudge \[x\]/);
  assert.match(oneError(`${BASE}debug abc\n`).message, /^Invalid debug level \[abc\]/);
  // [verified] heartbeat's messages:
  assert.equal(oneError(`${BASE}rtprio 200\n`).message, 'Illegal realtime priority [200]');
  assert.equal(
    oneError(`${BASE}compression_threshold x\n`).message,
    'set_compression_threshold: compress_threshhold(x) invalid',
  );
  assert.equal(oneError(`${BASE}max_rexmit_delay x\n`).message, 'Invalid max_rexmit_delay time(x)');
  // [verified] conn_logd_time x and memreserve x stop heartbeat (no message).
  assert.match(oneError(`${BASE}conn_logd_time x\n`).message, /^Invalid conn_logd_time \[x\]/);
  assert.match(oneError(`${BASE}memreserve x\n`).message, /^Invalid memreserve \[x\]/);
});

test('word directives: hbgenmethod, msgfmt, autojoin, uuidfrom, logfacility', () => {
  const h = ok(`${BASE}hbgenmethod time\nmsgfmt netstring\nuuidfrom nodename\nlogfacility LOCAL0\n`);
  assert.equal(h.hbgenmethod, 'time');
  assert.equal(h.msgfmt, 'netstring');
  assert.equal(h.uuidfrom, 'nodename');
  assert.equal(h.logfacility, 'local0');
  // [verified] heartbeat's messages:
  assert.equal(oneError(`${BASE}hbgenmethod foo\n`).message, 'Illegal hb generation method [foo]');
  assert.equal(oneError(`${BASE}uuidfrom foo\n`).message, 'Invalid uuidfrom directive [foo]');
  assert.equal(oneError(`${BASE}autojoin foo\n`).message, 'Invalid autojoin directive [foo]');
  assert.equal(oneError(`${BASE}logfacility foo\n`).message, 'Log facility(foo) not valid');
  // [verified] `msgfmt foo` stops heartbeat (no message).
  assert.match(oneError(`${BASE}msgfmt foo\n`).message, /^Invalid msgfmt \[foo\]/);
});

test('autojoin other/any conflicts with haresources (R1) mode', () => {
  // [verified] "R1 style resource management conflicts with  autojoin set" (two spaces, as printed).
  assert.match(
    oneError(`${BASE}autojoin any\n`).message,
    /^R1 style resource management conflicts with {2}autojoin set/,
  );
  assert.match(
    oneError(`${BASE}autojoin other\n`).message,
    /^R1 style resource management conflicts with {2}autojoin set/,
  );
  assert.equal(ok(`${BASE}autojoin none\n`).autojoin, 'none');
});

test('pacemaker / crm on is refused: Vigil runs haresources clusters', () => {
  assert.match(oneError(`${BASE}crm on\n`).message, /Pacemaker mode is not supported by Vigil/);
  assert.match(oneError(`${BASE}pacemaker respawn\n`).message, /Pacemaker mode is not supported by Vigil/);
  assert.equal(ok(`${BASE}pacemaker off\n`).pacemaker, false);
  assert.match(oneError(`${BASE}crm sometimes\n`).message, /Invalid crm \[sometimes\]/);
});

test('logging: logfile/debugfile/logfacility; none of them implies use_logd', () => {
  const h = ok(`${BASE}logfile /var/log/ha-log\ndebugfile /var/log/ha-debug\nlogfacility daemon\n`);
  assert.equal(h.logfile, '/var/log/ha-log');
  assert.equal(h.debugfile, '/var/log/ha-debug');
  assert.equal(h.logfacility, 'daemon');
  assert.equal(h.useLogd, false);
  assert.equal(ok(`${BASE}use_logd off\n`).useLogd, false);
});

test('coreroot, cluster, quorum_server, compression, crm_daemon_dir', () => {
  const h = ok(
    `${BASE}coreroot /var/lib/cores\ncluster prod\nquorum_server q1\ncompression bz2\ncrm_daemon_dir /usr/lib/pacemaker\n`,
  );
  assert.equal(h.coreroot, '/var/lib/cores');
  assert.equal(h.cluster, 'prod');
  assert.equal(h.quorumServer, 'q1');
  assert.equal(h.compression, 'bz2');
  assert.equal(oneError(`${BASE}coreroot relative\n`).message, 'Invalid core directory [relative]');
});

test('env N=V; an invalid pair is ignored with a warning (heartbeat starts)', () => {
  // [verified] `env FOO=bar` and `env bad` start.
  assert.deepEqual(ok(`${BASE}env FOO=bar BAZ=a=b\n`).env, { FOO: 'bar', BAZ: 'a=b' });
  assert.ok(
    warnings(`${BASE}env bad\n`).some(
      (w) => w.code === 'VIGIL_WARN_IGNORED' && /invalid nvpair\(bad\)/.test(w.message),
    ),
  );
  const proto = ok(`${BASE}env __proto__=x\n`).env;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(proto['__proto__'], 'x');
});

test('watchdog: timeout is deadtime + 10 ms rounded up to seconds; twice is an error', () => {
  assert.deepEqual(ok(`${BASE}deadtime 10\nwatchdog /dev/watchdog\n`).watchdog, {
    device: '/dev/watchdog',
    timeoutS: 11,
  });
  // [verified] "Watchdog device multiply specified."
  assert.equal(
    oneError(`${BASE}watchdog /dev/watchdog\nwatchdog /dev/x\n`).message,
    'Watchdog device multiply specified.',
  );
});

test('stonith and stonith_host (lines for this host or *, the last wins)', () => {
  const s = ok(`${BASE}stonith baytech /etc/ha.d/conf/stonith.baytech\n`).stonith;
  assert.deepEqual(s, {
    directive: 'stonith',
    type: 'baytech',
    params: ['/etc/ha.d/conf/stonith.baytech'],
    host: undefined,
    origin: { file: FILE, line: 4 },
  });
  const h = ok(
    `${BASE}stonith_host * null linux1 linux2\nstonith_host linux1 external/ipmi a b\nstonith_host linux2 x y\n`,
  );
  assert.equal(h.stonith?.type, 'external/ipmi');
  assert.deepEqual(h.stonith.params, ['a', 'b']);
  assert.equal(ok(`${BASE}stonith_host * null linux1 linux2\n`).stonith?.host, '*');
  // [verified] "No Stonith hostname argument given" exists in the binary.
  assert.equal(oneError(`${BASE}stonith_host\n`).message, 'No Stonith hostname argument given');
  assert.match(oneError(`${BASE}stonith_host *\n`).message, /^No Stonith type given/);
  assert.match(oneError(`${BASE}stonith baytech\n`).message, /stonith needs a device type and its configuration file/);
});

test('apiauth: uid= / gid= lists; one of them required; duplicates refused', () => {
  const h = ok(`${BASE}apiauth ipfail uid=hacluster\napiauth mon gid=haclient,root uid=a\n`);
  assert.deepEqual(
    h.apiauth.map((a) => [a.client, a.uids, a.gids]),
    [
      ['ipfail', ['hacluster'], []],
      ['mon', ['a'], ['haclient', 'root']],
    ],
  );
  // [verified] "Invalid apiauth directive [foo]"
  assert.match(oneError(`${BASE}apiauth foo\n`).message, /^Invalid apiauth directive \[foo\]/);
  assert.match(
    oneError(`${BASE}apiauth a uid=x\napiauth a gid=y\n`).message,
    /^Duplicate apiauth directive for API client a/,
  );
});

test('respawn and failfast: user and an absolute command', () => {
  const h = ok(`${BASE}respawn hacluster /usr/lib/heartbeat/ipfail -v\nfailfast root /usr/bin/mon\n`);
  assert.deepEqual(
    h.respawn.map((r) => [r.user, r.argv, r.failfast]),
    [
      ['hacluster', ['/usr/lib/heartbeat/ipfail', '-v'], false],
      ['root', ['/usr/bin/mon'], true],
    ],
  );
  // [verified] "Client child command [relative/path] is not full pathname"
  assert.equal(
    oneError(`${BASE}respawn hacluster relative/path\n`).message,
    'Client child command [relative/path] is not full pathname',
  );
  assert.match(oneError(`${BASE}respawn hacluster\n`).message, /respawn needs a user and an absolute command/);
});

test('a directive without a value is ignored with a warning (heartbeat starts)', () => {
  // [verified] `node` and `keepalive` alone start.
  const r = analyzeHaCf(`${BASE}keepalive\n`, { file: FILE, localNode: 'linux1' });
  assert.deepEqual(r.errors, []);
  assert.equal(r.hacf.keepaliveMs, 1000);
  assert.ok(r.warnings.some((w) => w.code === 'VIGIL_WARN_EMPTY' && w.location?.line === 4));
});

test('several values for one scalar: each applies in turn, the last wins, with a warning', () => {
  // [verified] `deadtime 10 20` starts.
  const r = analyzeHaCf(`${BASE}deadtime 10 20\ndeadtime 30\n`, { file: FILE, localNode: 'linux1' });
  assert.equal(r.hacf.deadtimeMs, 30000);
  assert.equal(r.warnings.filter((w) => w.code === 'VIGIL_WARN_REPEATED').length, 2);
});

test('raw values (last wins) and origins (first occurrence) for cl_status hbparameter and warnings', () => {
  const h = ok(`${BASE}deadtime 10\ndeadtime  20000ms # c\n`);
  assert.equal(h.raw['deadtime'], '20000ms');
  assert.deepEqual(h.origins['deadtime'], { file: FILE, line: 4 });
  assert.deepEqual(h.origins['node'], { file: FILE, line: 1 });
});

test('Vigil-only directives: accepted only from the documented table', () => {
  assert.equal(ok(`${BASE}vigil_state_dir /srv/vigil/\n`).vigil.stateDir, '/srv/vigil');
  assert.match(
    oneError(`${BASE}vigil_state_dir relative\n`).message,
    /^Invalid vigil_state_dir \[relative\]: expected an absolute path/,
  );
  assert.match(oneError(`${BASE}vigil_state_dir /a /b\n`).message, /vigil_state_dir takes one value/);
  assert.equal(oneError(`${BASE}vigil_lease 3\n`).message, `Illegal directive [vigil_lease] in ${FILE}`);
});

test('the adaptive detector directives: values checked, with their ranges in the error', () => {
  const v = ok(`${BASE}vigil_detector adaptive\nvigil_detector_phi 10.5\nvigil_detector_min_beats 4\n`).vigil;
  assert.equal(v.detector, 'adaptive');
  assert.equal(v.detectorPhi, 10.5);
  assert.equal(v.detectorMinBeats, 4);
  assert.match(
    oneError(`${BASE}vigil_detector phi\n`).message,
    /Invalid vigil_detector \[phi\]: expected deadtime or adaptive/,
  );
  assert.match(oneError(`${BASE}vigil_detector_phi 0.5\n`).message, /expected a number from 1 to 20/);
  assert.match(oneError(`${BASE}vigil_detector_phi 1e3\n`).message, /expected a number from 1 to 20/);
  assert.match(oneError(`${BASE}vigil_detector_min_beats 1\n`).message, /expected a whole number from 2 to 100/);
});

test('fuzz regression: names of Object.prototype members are illegal directives, not Vigil ones', () => {
  // Found by `npm run fuzz` (target hacf): `__proto__ A` was looked up in the Vigil directive table as a plain
  // object key, found Object.prototype, and came out as "Invalid __proto__ [A]: expected undefined".
  const text = '__proto__ A';
  const e = analyzeHaCf(text, { file: FILE, localNode: 'alpha' }).errors;
  assert.deepEqual(
    e.filter((x) => x.location?.line === 1).map((x) => [x.code, x.message]),
    [['VIGIL_ERR_CFG_DIRECTIVE', `Illegal directive [__proto__] in ${FILE}`]],
  );
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
    const one = oneError(`${BASE}${name} 1\n`);
    assert.equal(one.code, 'VIGIL_ERR_CFG_DIRECTIVE', name);
    assert.equal(one.message, `Illegal directive [${name}] in ${FILE}`);
  }
});

test('vigil_vip_lease: a lease that outlives deadtime − keepalive − 1 s is refused at its line, with the maximum', () => {
  // Tutorial timing: keepalive 1, deadtime 10 → at most 8 s; auto is 7.
  const T = `${BASE}keepalive 1\ndeadtime 10\n`;
  assert.equal(ok(`${T}vigil_vip_lease 8\n`).vigil.vipLease, '8');
  const e = oneError(`${T}vigil_vip_lease 60\nvigil_vip_lease 9\n`);
  assert.equal(e.code, 'VIGIL_ERR_CFG_VALUE');
  assert.equal(e.location?.line, 7, 'the line in effect (the last)');
  assert.match(e.message, /^vigil_vip_lease 9 is too long for deadtime 10000 ms and keepalive 1000 ms: /);
  assert.match(e.message, /at most 8 s here \(deadtime − keepalive − 1 s for the kernel's whole-second expiry/);
  assert.match(e.message, /or auto \(7 s\)$/);
  // The case: 60 s against deadtime 10.
  assert.match(oneError(`${T}vigil_vip_lease 60\n`).message, /at most 8 s here/);
  // A long keepalive shortens the maximum (the last heartbeat can predate the last renewal by a keepalive).
  assert.match(oneError(`${BASE}keepalive 5\ndeadtime 20\nvigil_vip_lease 15\n`).message, /at most 14 s here/);
  // auto and off are never refused; at sub-3 s deadtimes the 2 s minimum stands (the README's documented overlap).
  for (const v of ['auto', 'off']) assert.deepEqual(errors(`${T}vigil_vip_lease ${v}\n`), []);
  assert.deepEqual(errors(`${BASE}keepalive 100ms\ndeadtime 500ms\nvigil_vip_lease 2\n`), []);
  assert.match(oneError(`${BASE}keepalive 100ms\ndeadtime 500ms\nvigil_vip_lease 3\n`).message, /at most 2 s here/);
  assert.deepEqual(errors(`${BASE}deadtime 3\nvigil_vip_lease 2\n`), []);
});
