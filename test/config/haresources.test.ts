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
import { VigilErrors } from '../../src/util/errors.js';

const FILE = '/etc/ha.d/haresources';
const NODES = ['linux1', 'linux2'];
const analyze = (text: string) => analyzeHaresources(text, { file: FILE, nodes: NODES });

test('the tutorial line: bare IP shorthand for IPaddr', () => {
  const { groups } = parseHaresources('linux1 192.168.1.50\n', { file: FILE, nodes: NODES });
  assert.deepEqual(groups, [
    {
      key: '192.168.1.50',
      node: 'linux1',
      resources: [
        {
          spec: '192.168.1.50',
          type: 'IPaddr',
          args: ['192.168.1.50'],
          ip: { address: '192.168.1.50', cidr: undefined, nic: undefined, broadcast: undefined },
        },
      ],
      origin: { file: FILE, line: 1 },
    },
  ]);
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
  assert.match(r.errors[0]!.message, /IPaddr: invalid IPv4 address \[10\.0\.0\.300\]/);
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
