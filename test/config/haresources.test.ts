// [verified] = checked against the real heartbeat 3.0.6 (Debian) started on the file in private namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  analyzeHaresources,
  isBareIpShorthand,
  parseHaresources,
  parseIpArgument,
  parseResource,
} from '../../src/config/haresources.js';
import { tutorialGroup } from '../helpers/config.js';
import { VigilErrors } from '../../src/util/errors.js';

const FILE = '/etc/ha.d/haresources';
const NODES = ['linux1', 'linux2'];
const analyze = (text: string) => analyzeHaresources(text, { file: FILE, nodes: NODES });

test('the tutorial line: bare IP shorthand for IPaddr', () => {
  const { groups } = parseHaresources('linux1 192.168.1.50\n', { file: FILE, nodes: NODES });
  assert.deepEqual(groups, [tutorialGroup(FILE)]);
});

test('groups, :: arguments, comments, continuation lines, node names lowercased', () => {
  const r = analyze(
    '# comment\n\nLINUX1 IPaddr2::10.0.0.10/24/eth0 \\\n   Filesystem::/dev/drbd0::/data::ext4  # data\\\n\tapache\nlinux2 10.0.0.11 MailTo::root@example.com::failover\n',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.groups.map((g) => [g.node, g.key, g.origin.line, g.resources.map((x) => [x.type, x.args])]),
    [
      [
        'linux1',
        'IPaddr2::10.0.0.10/24/eth0',
        3,
        [
          ['IPaddr2', ['10.0.0.10/24/eth0']],
          ['Filesystem', ['/dev/drbd0', '/data', 'ext4']],
          ['apache', []],
        ],
      ],
      [
        'linux2',
        '10.0.0.11',
        6,
        [
          ['IPaddr', ['10.0.0.11']],
          ['MailTo', ['root@example.com', 'failover']],
        ],
      ],
    ],
  );
});

test('IPaddr argument forms: ip/cidr/nic/broadcast; a third field starting with a digit is the broadcast', () => {
  assert.deepEqual(parseIpArgument('10.0.0.1'), {
    address: '10.0.0.1',
    cidr: undefined,
    nic: undefined,
    broadcast: undefined,
  });
  assert.deepEqual(parseIpArgument('10.0.0.1/24'), {
    address: '10.0.0.1',
    cidr: 24,
    nic: undefined,
    broadcast: undefined,
  });
  assert.deepEqual(parseIpArgument('10.0.0.1/24/eth0'), {
    address: '10.0.0.1',
    cidr: 24,
    nic: 'eth0',
    broadcast: undefined,
  });
  assert.deepEqual(parseIpArgument('10.0.0.1/24/10.0.0.255'), {
    address: '10.0.0.1',
    cidr: 24,
    nic: undefined,
    broadcast: '10.0.0.255',
  });
  assert.deepEqual(parseIpArgument('10.0.0.1/24/eth0/10.0.0.255'), {
    address: '10.0.0.1',
    cidr: 24,
    nic: 'eth0',
    broadcast: '10.0.0.255',
  });
  assert.deepEqual(parseIpArgument('10.0.0.1/255.255.255.0/eth0'), {
    address: '10.0.0.1',
    cidr: 24,
    nic: 'eth0',
    broadcast: undefined,
  });
  assert.equal(typeof parseIpArgument('10.0.0.300'), 'string');
  assert.equal(typeof parseIpArgument('10.0.0.1/33'), 'string');
  assert.equal(typeof parseIpArgument('10.0.0.1/24/eth0/10.0.0.255/x'), 'string');
  assert.equal(typeof parseIpArgument('10.0.0.1/24/eth0/bad'), 'string');
  assert.equal(typeof parseIpArgument('10.0.0.1/24/10.0.0.255/10.0.0.255'), 'string');
});

test('the bare-IP glob is the shell one: [0-9]*.[0-9]*.[0-9]*.[0-9]*', () => {
  assert.ok(isBareIpShorthand('192.168.1.50'));
  assert.ok(isBareIpShorthand('10.0.0.1/24/eth0'));
  assert.ok(!isBareIpShorthand('apache'));
  assert.ok(!isBareIpShorthand('IPaddr::10.0.0.1'));
  const r = parseResource('10.0.0.1/24/eth0');
  assert.ok(typeof r !== 'string');
  assert.equal(r.type, 'IPaddr');
  assert.equal(r.ip?.nic, 'eth0');
});

test('IPv6 addresses: ip[/prefix[/nic]], canonical text, no broadcast, link-local needs its interface', () => {
  assert.deepEqual(parseIpArgument('2001:DB8:0:0:0:0:0:50/64/eth1.100'), {
    address: '2001:db8::50',
    cidr: 64,
    nic: 'eth1.100',
    broadcast: undefined,
  });
  assert.deepEqual(parseIpArgument('fe80::50/64/eth1', 'IPv6addr'), {
    address: 'fe80::50',
    cidr: 64,
    nic: 'eth1',
    broadcast: undefined,
  });
  assert.deepEqual(parseIpArgument('2001:db8::50'), {
    address: '2001:db8::50',
    cidr: undefined,
    nic: undefined,
    broadcast: undefined,
  });
  const err = (a: string, agent?: string): string => {
    const r = parseIpArgument(a, agent);
    assert.equal(typeof r, 'string', a);
    return r as string;
  };
  assert.match(err('fe80::50/64'), /link-local address fe80::50 is valid on one link only: name its interface/);
  assert.match(err('2001:db8::50/129'), /invalid prefix length \[129\]/);
  assert.match(err('2001:db8::50/64/2001:db8::ff'), /IPv6 has no broadcast address/);
  assert.match(err('2001:db8::50/64/eth1/x'), /too many fields/);
  assert.match(err('ff02::1'), /multicast address/);
  assert.match(err('::1'), /the loopback address/);
  assert.match(err('::ffff:10.0.0.1'), /ipv4-mapped/);
  assert.match(err('192.168.1.50', 'IPv6addr'), /IPv6addr takes an IPv6 address/);
  assert.match(err('2001:db8::g'), /invalid address \[2001:db8::g\]/);
});

test("`::` in an IP agent: the compressed IPv6 address stays whole; Heartbeat's expanded form reads the same", () => {
  const res = (spec: string) => {
    const r = parseResource(spec);
    assert.ok(typeof r !== 'string', `${spec}: ${typeof r === 'string' ? r : ''}`);
    return r;
  };
  const a = res('IPaddr2::2001:db8::50/64/eth1');
  assert.deepEqual(
    [a.type, a.args, a.ip?.address, a.ip?.cidr, a.ip?.nic],
    ['IPaddr2', ['2001:db8::50/64/eth1'], '2001:db8::50', 64, 'eth1'],
  );
  const b = res('IPv6addr::2001:db8:0:0:0:0:0:50/64/eth1');
  assert.deepEqual([b.type, b.args, b.ip?.address], ['IPv6addr', ['2001:db8:0:0:0:0:0:50/64/eth1'], '2001:db8::50']);
  assert.equal(res('IPv6addr::fe80::50/64/eth1').ip?.address, 'fe80::50');
  assert.equal(res('IPaddr::2001:db8::50').ip?.address, '2001:db8::50');
  // An IPv4 first argument keeps Heartbeat's reading (extra `::` arguments as Heartbeat passes them).
  assert.deepEqual(res('IPaddr::10.0.0.1/24::x').args, ['10.0.0.1/24', 'x']);
  // Scripts get Heartbeat's split, `::` or not (lint warns: lint.test.ts).
  assert.deepEqual(res('IPsrcaddr::2001:db8::1').args, ['2001:db8', '1']);
  const bad = (spec: string): string => {
    const r = parseResource(spec);
    assert.equal(typeof r, 'string', spec);
    return r as string;
  };
  assert.match(bad('IPaddr2::2001:db8::50::eth1'), /^IPaddr2: invalid address \[2001:db8::50::eth1\]/);
  assert.match(bad('IPv6addr::fe80::50'), /link-local/);
  assert.match(
    bad('2001:db8::50/64/eth1'),
    /a bare IPv6 address is not an IP resource \(Heartbeat would look for a script named \[2001:db8\]\): write IPaddr2::2001:db8::50\/64\/eth1/,
  );
});

test('resource errors: bad IPs, empty or path-like script names', () => {
  const r = analyze('linux1 IPaddr::10.0.0.300 ../../bin/sh ::x IPaddr2\n');
  assert.deepEqual(
    r.errors.map((e) => [e.code, e.location?.column]),
    [
      ['VIGIL_ERR_RSC_SYNTAX', 8],
      ['VIGIL_ERR_RSC_SYNTAX', 27],
      ['VIGIL_ERR_RSC_SYNTAX', 40],
      ['VIGIL_ERR_RSC_SYNTAX', 44],
    ],
  );
  assert.match(r.errors[0]!.message, /IPaddr: invalid address \[10\.0\.0\.300\]: an IPv4 address/);
  assert.match(r.errors[1]!.message, /invalid resource script name/);
  assert.match(r.errors[3]!.message, /IPaddr2 needs an address/);
});

test('Bad nodename in FILE [x] (heartbeat wording)', () => {
  // [verified] "Bad nodename in /etc/ha.d//haresources [linux3]"
  const r = analyze('linux1 10.0.0.1\nlinux3 10.0.0.2\nlinux4 x\n');
  assert.deepEqual(
    r.errors.map((e) => [e.message, e.code, e.location?.line]),
    [
      [`Bad nodename in ${FILE} [linux3]`, 'VIGIL_ERR_RSC_NODE', 2],
      [`Bad nodename in ${FILE} [linux4]`, 'VIGIL_ERR_RSC_NODE', 3],
    ],
  );
});

test('group keys are unique', () => {
  const r = analyze('linux1 10.0.0.1\nlinux2 10.0.0.1 apache\n');
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]!.code, 'VIGIL_ERR_RSC_DUPLICATE');
  assert.match(r.errors[0]!.message, /duplicate resource group key \[10\.0\.0\.1\] \(first used at line 1\)/);
  assert.throws(() => parseHaresources('linux1 a\nlinux1 a\n', { file: FILE, nodes: NODES }), VigilErrors);
});

test('a node without resources is ignored with a warning (heartbeat starts)', () => {
  // [verified] a haresources line "linux1" alone starts heartbeat.
  const r = analyze('linux1\n');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.groups, []);
  assert.equal(r.warnings[0]?.code, 'VIGIL_WARN_EMPTY');
});

test('empty arguments vanish as in the shell; CRLF is tolerated', () => {
  const r = parseResource('Filesystem::/dev/sda1::::/data');
  assert.ok(typeof r !== 'string');
  assert.deepEqual(r.args, ['/dev/sda1', '/data']);
  assert.equal(analyze('linux1 10.0.0.1\r\n').groups[0]?.key, '10.0.0.1');
});

test('a continuation on the last line ends the group', () => {
  const r = analyze('linux1 10.0.0.1 \\');
  assert.equal(r.groups[0]?.resources.length, 1);
});
