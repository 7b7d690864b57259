import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileConfig } from '../../src/config/compile.js';
import { type HostInterface, lintConfig, respawnKey } from '../../src/config/lint.js';
import type { CompiledConfig } from '../../src/config/types.js';
import type { WarningCode } from '../../src/config/warnings.js';
import { formatWarning } from '../../src/config/warnings.js';

const DIR = '/etc/ha.d';
const HACF = 'node linux1 linux2\nbcast eth1\nauto_failback on\ndeadtime 10\n';

function compile(hacf = HACF, authkeys = 'auth 1\n1 sha1 k\n', haresources = 'linux1 192.168.1.50\n'): CompiledConfig {
  return compileConfig({
    configDir: DIR,
    localNode: 'linux1',
    hacf: { file: `${DIR}/ha.cf`, text: hacf },
    authkeys: { file: `${DIR}/authkeys`, text: authkeys, mode: 0o600 },
    haresources: { file: `${DIR}/haresources`, text: haresources },
  }).config;
}

const HOST: HostInterface[] = [
  { name: 'lo', up: true, ipv4: [{ address: '127.0.0.1', prefixlen: 8 }] },
  { name: 'eth0', up: true, ipv4: [{ address: '10.0.0.5', prefixlen: 24 }] },
  { name: 'eth1', up: true, ipv4: [{ address: '192.168.1.10', prefixlen: 24 }] },
];

const codes = (c: CompiledConfig, ctx: Parameters<typeof lintConfig>[1] = {}): WarningCode[] =>
  lintConfig(c, ctx).map((w) => w.code);

test('a clean configuration on a matching host has no lint', () => {
  assert.deepEqual(lintConfig(compile(), { interfaces: HOST }), []);
});

test('warntime ≥ deadtime, warntime ≤ keepalive, deadtime < 4 × keepalive', () => {
  const w1 = lintConfig(compile(`${HACF}warntime 10\n`));
  assert.equal(w1[0]?.code, 'VIGIL_WARN_TIMING');
  assert.equal(w1[0].location?.line, 5);
  assert.match(w1[0].message, /warntime \(10000 ms\) is not below deadtime \(10000 ms\)/);
  assert.deepEqual(codes(compile(`${HACF}warntime 1\n`)), ['VIGIL_WARN_TIMING']);
  const w3 = lintConfig(compile(`${HACF}keepalive 3\n`));
  assert.ok(w3.some((w) => /deadtime \(10000 ms\) is less than 4×keepalive \(3000 ms\)/.test(w.message)));
});

test('media interfaces absent or down on this host', () => {
  const w = lintConfig(
    compile(
      'node linux1\nauto_failback on\nbcast eth9\nucast eth0 10.0.0.6\nmcast eth2 225.0.0.1 694 1 0\n',
      undefined,
      'linux1 10.0.0.50\n',
    ),
    {
      interfaces: [...HOST, { name: 'eth2', up: false, ipv4: [] }],
    },
  );
  assert.deepEqual(
    w.map((x) => [x.code, x.location?.line, x.message]),
    [
      ['VIGIL_WARN_INTERFACE', 3, 'interface eth9 (bcast) is absent on this host'],
      ['VIGIL_WARN_INTERFACE', 5, 'interface eth2 (mcast) is down'],
    ],
  );
  assert.match(w[0]!.hint ?? '', /this host has lo, eth0, eth1, eth2/);
});

test('a virtual IP in no subnet of any interface (the NIC that does not take the VIP)', () => {
  const w = lintConfig(
    compile(
      HACF,
      undefined,
      'linux1 172.16.0.1\nlinux2 IPaddr2::10.0.0.99/24/eth1\nlinux2 IPaddr::10.0.0.98/24/eth7\n',
    ),
    {
      interfaces: HOST,
    },
  );
  assert.deepEqual(
    w.map((x) => [x.code, x.location?.line]),
    [
      ['VIGIL_WARN_VIP_SUBNET', 1],
      ['VIGIL_WARN_VIP_SUBNET', 2],
      ['VIGIL_WARN_INTERFACE', 3],
    ],
  );
  assert.match(w[0]!.message, /virtual IP 172\.16\.0\.1 .* lies in no subnet of any interface of this host/);
  assert.match(w[1]!.message, /lies in no subnet of interface eth1/);
  // Loopback never counts, and no interface list means no such lint.
  assert.deepEqual(codes(compile(HACF, undefined, 'linux1 127.0.0.2\n'), { interfaces: HOST }), [
    'VIGIL_WARN_VIP_SUBNET',
  ]);
  assert.deepEqual(codes(compile(HACF, undefined, 'linux1 172.16.0.1\n')), []);
});

const HOST6: HostInterface[] = [
  {
    name: 'lo',
    up: true,
    ipv4: [{ address: '127.0.0.1', prefixlen: 8 }],
    ipv6: [{ address: '::1', prefixlen: 128, scope: 'host' }],
  },
  {
    name: 'eth1',
    up: true,
    ipv4: [{ address: '192.168.1.10', prefixlen: 24 }],
    ipv6: [
      { address: '2001:db8:1::10', prefixlen: 64, scope: 'global' },
      { address: 'fe80::10', prefixlen: 64, scope: 'link' },
    ],
  },
  { name: 'eth2', up: true, ipv4: [{ address: '10.0.0.5', prefixlen: 24 }], ipv6: [] },
];

test('IPv6 virtual IPs: a subnet behind them, the prefix of that subnet, IPv6 on at all', () => {
  const w = lintConfig(
    compile(
      HACF,
      undefined,
      [
        'linux1 IPaddr2::2001:db8:1::50/64/eth1 IPv6addr::fe80::50/64/eth1',
        'linux1 IPaddr2::2001:db8:1::51/48/eth1',
        'linux1 IPaddr2::2001:db8:1::52/128/eth1',
        'linux2 IPaddr2::2001:db8:9::50/64',
        'linux2 IPaddr2::2001:db8:1::53/64/eth2',
        'linux2 IPv6addr::fe80::51/10/eth1',
        '',
      ].join('\n'),
    ),
    { interfaces: HOST6 },
  );
  assert.deepEqual(
    w.filter((x) => x.code !== 'VIGIL_WARN_RSC_SPLIT').map((x) => [x.code, x.location?.line]),
    [
      ['VIGIL_WARN_IPV6', 2],
      ['VIGIL_WARN_VIP_SUBNET', 4],
      ['VIGIL_WARN_IPV6', 5],
      ['VIGIL_WARN_IPV6', 6],
    ],
  );
  const [prefix, , off, ll] = w.filter((x) => x.code !== 'VIGIL_WARN_RSC_SPLIT');
  assert.match(prefix!.message, /2001:db8:1::51\/48 .* lies in 2001:db8:1::\/64 on eth1 but has another prefix length/);
  assert.match(prefix!.hint ?? '', /use \/64/);
  assert.match(off!.message, /interface eth2 has no IPv6 address, not even a link-local one/);
  assert.match(off!.hint ?? '', /net\.ipv6\.conf\.eth2\.disable_ipv6=0/);
  assert.match(ll!.message, /link-local addresses live in fe80::\/64/);
  // IPv4-only interface facts (no ipv6 list): no IPv6 lint at all.
  assert.deepEqual(
    codes(compile(HACF, undefined, 'linux1 IPaddr2::2001:db8:9::50/64/eth1\n'), { interfaces: HOST }).filter(
      (c) => c !== 'VIGIL_WARN_RSC_SPLIT',
    ),
    [],
  );
});

test('IPv6 media on an interface without IPv6', () => {
  const w = lintConfig(
    compile(
      'node linux1 linux2\nauto_failback on\nucast6 eth2 fe80::2\nmcast6 eth1 ff02::694 694 1 0\n',
      undefined,
      'linux1 192.168.1.50\n',
    ),
    { interfaces: HOST6 },
  );
  assert.deepEqual(
    w.map((x) => [x.code, x.location?.line]),
    [['VIGIL_WARN_IPV6', 3]],
  );
});

test('"::" in haresources: where Heartbeat and Vigil read a line differently, or both cut an address', () => {
  const w = lintConfig(
    compile(
      HACF,
      undefined,
      [
        'linux1 IPaddr2::2001:db8:1::50/64/eth1',
        'linux1 IPv6addr::2001:db8:1:0:0:0:0:51/64/eth1',
        'linux1 IPaddr::2001:db8:1:0:0:0:0:52/64/eth1',
        'linux2 IPsrcaddr::2001:db8:1::1/64',
        'linux2 MailTo::root::abc::def',
        '',
      ].join('\n'),
    ),
  );
  assert.deepEqual(
    w.map((x) => [x.code, x.location?.line]),
    [
      ['VIGIL_WARN_RSC_SPLIT', 1],
      ['VIGIL_WARN_RSC_HEARTBEAT', 3],
      ['VIGIL_WARN_RSC_SPLIT', 4],
    ],
  );
  assert.equal(
    w[0]!.message,
    'IPaddr2::2001:db8:1::50/64/eth1: Vigil reads one IPv6 address (2001:db8:1::50/64 on eth1); Heartbeat splits arguments at every "::" and would run IPaddr2 with [2001:db8:1] [50/64/eth1]',
  );
  assert.match(w[0]!.hint ?? '', /write IPaddr2::2001:db8:1:0:0:0:0:50\/64\/eth1/);
  assert.match(w[1]!.message, /Heartbeat's \(resource-agents' IPaddr\) is IPv4-only/);
  assert.match(
    w[2]!.message,
    /the arguments \[2001:db8:1\] \[1\/64\] look like the IPv6 address 2001:db8:1::1 cut at "::"/,
  );
  assert.match(w[2]!.hint ?? '', /2001:db8:1:0:0:0:0:1/);
});

test('crc (no authentication) and the Vigil-only sha256/sha512', () => {
  const w = lintConfig(compile(HACF, 'auth 2\n1 crc\n2 sha256 k\n3 sha512 j\n'));
  assert.deepEqual(
    w.map((x) => [x.code, x.location?.line]),
    [
      ['VIGIL_WARN_AUTH_WEAK', 2],
      ['VIGIL_WARN_AUTH_VIGIL_ONLY', 3],
      ['VIGIL_WARN_AUTH_VIGIL_ONLY', 4],
    ],
  );
  assert.match(w[1]!.message, /Heartbeat peers cannot verify/);
  assert.match(w[0]!.message, /crc and is not the active key: Vigil ignores packets signed with it/);
  const activeCrc = lintConfig(compile(HACF, 'auth 1\n1 crc\n'));
  assert.match(activeCrc[0]!.message, /crc \(the active key\).*anyone on the network can forge/);
});

test("this host's own name matches no node line when --node overrides it", () => {
  const w = lintConfig(compile(), { hostName: { name: 'VM', source: 'uname -n' } });
  assert.deepEqual(
    w.map((x) => x.code),
    ['VIGIL_WARN_NODE_NAME'],
  );
  assert.match(w[0]!.message, /this host is vm \(uname -n\), which matches no node line/);
  assert.deepEqual(lintConfig(compile(), { hostName: { name: 'linux2', source: 'uname -n' } }), []);
});

test('Vigil-only directives are pointed out (Heartbeat rejects the file)', () => {
  const w = lintConfig(compile(`${HACF}vigil_state_dir /srv/vigil\n`));
  assert.deepEqual(
    w.map((x) => [x.code, x.location?.line]),
    [['VIGIL_WARN_VIGIL_ONLY', 5]],
  );
});

test('missing resource scripts', () => {
  const scripts = new Map([
    ['IPaddr', '/etc/ha.d/resource.d/IPaddr'],
    ['apache', undefined],
  ]);
  const w = lintConfig(compile(HACF, undefined, 'linux1 192.168.1.50 apache\nlinux2 192.168.1.51 apache\n'), {
    scripts,
  });
  assert.deepEqual(
    w.map((x) => [x.code, x.message, x.location?.line]),
    [['VIGIL_WARN_SCRIPT', 'Cannot locate resource script apache', 1]],
  );
});

test('--compare: haresources and authkeys must be identical on every node', () => {
  const c = compile(HACF, 'auth 1\n1 sha1 SecretA\n', 'linux1 192.168.1.50\nlinux2 192.168.1.51\n');
  const peer = (authkeys: string | undefined, haresources: string | undefined) => ({
    dir: '/peer',
    authkeys: authkeys === undefined ? undefined : { file: '/peer/authkeys', text: authkeys },
    haresources: haresources === undefined ? undefined : { file: '/peer/haresources', text: haresources },
  });
  // Same content, different comments and spacing: no warning.
  assert.deepEqual(
    lintConfig(c, { peer: peer('# x\nauth 1\n1  sha1 SecretA\n', 'linux1   192.168.1.50 # a\nLINUX2 192.168.1.51\n') }),
    [],
  );
  const w = lintConfig(c, { peer: peer('auth 1\n1 sha1 SecretB\n', 'linux1 192.168.1.50\nlinux2 192.168.1.52\n') });
  assert.deepEqual(
    w.map((x) => [x.code, x.location?.file, x.location?.line]),
    [
      ['VIGIL_WARN_PEER_DIFFERS', `${DIR}/haresources`, 2],
      ['VIGIL_WARN_PEER_DIFFERS', `${DIR}/authkeys`, undefined],
    ],
  );
  assert.match(
    w[0]!.message,
    /group 2 is \[linux2 192\.168\.1\.51\] here and \[linux2 192\.168\.1\.52\] in \/peer\/haresources:2/,
  );
  // The key itself is never printed.
  assert.ok(!/Secret/.test(w.map((x) => `${x.message} ${x.hint ?? ''}`).join()));
  assert.match(
    lintConfig(c, { peer: peer('auth 2\n2 sha1 SecretA\n1 sha1 SecretA\n', undefined) })
      .map((x) => x.message)
      .join('\n'),
    /no haresources[\s\S]*the active key/,
  );
  assert.match(
    lintConfig(c, { peer: peer('garbage\n', 'linux7 1.2.3.4\n') })
      .map((x) => x.message)
      .join('\n'),
    /peer's haresources is invalid here[\s\S]*peer's authkeys is invalid/,
  );
});

test('warnings format as file:line: warning: message (hint: ...)', () => {
  const [w] = lintConfig(compile(`${HACF}warntime 10\n`));
  assert.match(
    formatWarning(w!),
    /^\/etc\/ha\.d\/ha\.cf:5: warning: warntime .* \(hint: set warntime to about half of deadtime\)$/,
  );
});

test('respawn clients whose user or command is missing on this host (heartbeat refuses to start)', () => {
  const c = compile(
    `${HACF}respawn nosuchuser /usr/bin/nothing\nrespawn hacluster /usr/lib/heartbeat/ipfail\nrespawn hacluster /usr/libexec/heartbeat/ipfail\n`,
  );
  const respawn = new Map([
    [respawnKey('nosuchuser', '/usr/bin/nothing'), { userExists: false, executable: false }],
    [respawnKey('hacluster', '/usr/lib/heartbeat/ipfail'), { userExists: undefined, executable: true }],
    // ipfail is built into Vigil: a host without Heartbeat's binary is fine.
    [respawnKey('hacluster', '/usr/libexec/heartbeat/ipfail'), { userExists: true, executable: false }],
  ]);
  const w = lintConfig(c, { respawn });
  assert.deepEqual(
    w.map((x) => [x.code, x.message, x.location?.line]),
    [
      ['VIGIL_WARN_RESPAWN', 'Invalid uid [nosuchuser] specified for client child', 5],
      ['VIGIL_WARN_RESPAWN', 'Client child command [/usr/bin/nothing] is not executable', 5],
    ],
  );
});

test('vigil_vip_lease off: what a killed or frozen daemon then costs, and what auto would be', () => {
  const w = lintConfig(compile(`${HACF}vigil_vip_lease off\n`)).filter((x) => x.code === 'VIGIL_WARN_VIP_LEASE');
  assert.equal(w.length, 1);
  assert.equal(w[0]!.location?.line, 5);
  assert.match(
    w[0]!.message,
    /^vigil_vip_lease off: a daemon killed \(kill -9, OOM\) or frozen while holding a VIP keeps it/,
  );
  assert.match(w[0]!.message, /two hosts hold the address/);
  assert.equal(w[0]!.hint, "use auto (7 s here): the kernel drops a dead daemon's VIP before the peer takes over");
  // No VIP, nothing to lose.
  assert.deepEqual(
    lintConfig(compile(`${HACF}vigil_vip_lease off\n`, undefined, 'linux1 apache\n')).filter(
      (x) => x.code === 'VIGIL_WARN_VIP_LEASE',
    ),
    [],
  );
});
