import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isIPv6 as nodeIsIPv6 } from 'node:net';
import {
  addressFamily,
  canonicalIPv6,
  expandedIPv6,
  formatIPv6,
  ipv6InSubnet,
  ipv6Network,
  ipv6Special,
  isLikelyHostIPv6,
  isLinkLocalIPv6,
  mcast6GroupProblem,
  parseIPv6,
} from '../../src/util/inet.js';

test('canonical text as glibc inet_ntop writes it (what ip and the kernel print)', () => {
  const cases: [string, string][] = [
    ['2001:DB8:0:0:0:0:0:50', '2001:db8::50'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // the longest run
    ['2001:db8:1:1:1:1:1:0', '2001:db8:1:1:1:1:1:0'], // one zero group stays
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['fe80::', 'fe80::'],
    ['::ffff:192.168.1.50', '::ffff:192.168.1.50'],
    ['::ffff:c0a8:132', '::ffff:192.168.1.50'],
    ['::1.2.3.4', '::1.2.3.4'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['fd00:0001:0000::0029', 'fd00:1::29'],
  ];
  for (const [input, want] of cases) assert.equal(canonicalIPv6(input), want, input);
});

test('parseIPv6 refuses what is not one address', () => {
  for (const bad of [
    '',
    ':',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '12345::',
    'g::1',
    '::1%eth1',
    '[::1]',
    '1.2.3.4',
    ':1::2',
    '1::2:',
    '1:2:3:4:5:6:7::8',
    '::256.1.1.1',
    '::1.2.3',
    '2001:db8::50/64',
  ]) {
    assert.equal(parseIPv6(bad), undefined, bad);
  }
});

test('parse and format agree with Node for any 16 bytes, and parse agrees with Node on any text', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const text = formatIPv6(bytes);
      assert.ok(nodeIsIPv6(text), text);
      assert.deepEqual(parseIPv6(text), bytes);
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.stringMatching(/^[0-9a-f:.]{0,20}$/), (text) => {
      assert.equal(parseIPv6(text) !== undefined, nodeIsIPv6(text), text);
    }),
    { numRuns: 20000 },
  );
});

test('subnets, networks, scopes, special addresses, families', () => {
  assert.ok(ipv6InSubnet('2001:db8:1::50', '2001:db8:1::29', 64));
  assert.ok(!ipv6InSubnet('2001:db8:2::50', '2001:db8:1::29', 64));
  assert.ok(!ipv6InSubnet('2001:db8:1::50', '2001:db8:1:ff00::', 56));
  assert.ok(ipv6InSubnet('2001:db8:1:ff::1', '2001:db8:1::', 56));
  assert.ok(ipv6InSubnet('::1', 'ffff::', 0));
  assert.equal(ipv6Network('2001:db8:1::50', 64), '2001:db8:1::');
  assert.equal(ipv6Network('2001:db8:1:abcd::50', 52), '2001:db8:1:a000::');
  assert.ok(isLinkLocalIPv6('fe80::1') && isLinkLocalIPv6('febf::1') && !isLinkLocalIPv6('fec0::1'));
  assert.equal(ipv6Special('::'), 'unspecified');
  assert.equal(ipv6Special('::1'), 'loopback');
  assert.equal(ipv6Special('::ffff:10.0.0.1'), 'ipv4-mapped');
  assert.equal(ipv6Special('2001:db8::1'), undefined);
  assert.equal(expandedIPv6('2001:db8::50'), '2001:db8:0:0:0:0:0:50');
  assert.equal(addressFamily('192.168.1.50'), 4);
  assert.equal(addressFamily('2001:db8::50'), 6);
  assert.equal(addressFamily('192.168.1.256'), undefined);
  assert.equal(addressFamily('linux1'), undefined);
  assert.ok(isLikelyHostIPv6('2001:db8::1') && isLikelyHostIPv6('fd00::1') && isLikelyHostIPv6('fe80::1'));
  assert.ok(!isLikelyHostIPv6('abc::def') && !isLikelyHostIPv6('ff02::1'));
});

test("mcast6 groups as Heartbeat's plugin judges them", () => {
  assert.equal(mcast6GroupProblem('ff02::694'), undefined);
  assert.equal(mcast6GroupProblem('ff12::1:2:3:4'), undefined); // the plugin's own example (transient)
  assert.equal(mcast6GroupProblem('ff05::1'), undefined);
  assert.match(mcast6GroupProblem('ff0e::694') ?? '', /scope e/);
  assert.match(mcast6GroupProblem('ff01::694') ?? '', /scope 1/);
  assert.match(mcast6GroupProblem('ff32::694') ?? '', /transient/);
  assert.match(mcast6GroupProblem('ff02::') ?? '', /reserved/);
  assert.match(mcast6GroupProblem('2001:db8::1') ?? '', /not a multicast/);
  assert.match(mcast6GroupProblem('nope') ?? '', /not an IPv6/);
});
