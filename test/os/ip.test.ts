/** Pure parts of address management and the in-memory AddressManager. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { broadcastOf, firstFreeLabel, inSubnet, parseIpAddrJson, pickNic, validateLabel } from '../../src/os/ip.js';
import { MemoryAddressManager } from '../../src/os/address-memory.js';
import { SimulatedClock } from '../../src/util/clock.js';

// Real `ip -json -4 addr show` output (iproute2 6.1), shortened.
const SAMPLE = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    addr_info: [
      {
        family: 'inet',
        local: '127.0.0.1',
        prefixlen: 8,
        scope: 'host',
        label: 'lo',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
    ],
  },
  {
    ifindex: 2,
    ifname: 'eth1',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    addr_info: [
      {
        family: 'inet',
        local: '10.9.0.1',
        prefixlen: 24,
        broadcast: '10.9.0.255',
        scope: 'global',
        label: 'eth1',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
      {
        family: 'inet',
        local: '10.9.0.50',
        prefixlen: 24,
        scope: 'global',
        secondary: true,
        dynamic: true,
        label: 'eth1:0',
        valid_life_time: 2,
        preferred_life_time: 2,
      },
    ],
  },
  {
    ifindex: 3,
    ifname: 'eth2',
    addr_info: [
      {
        family: 'inet',
        local: '10.8.0.1',
        prefixlen: 16,
        label: 'eth2',
        valid_life_time: 4294967295,
        preferred_life_time: 4294967295,
      },
    ],
  },
]);

test('parseIpAddrJson reads addresses, labels, flags and lifetimes', () => {
  const a = parseIpAddrJson(SAMPLE);
  assert.equal(a.length, 4);
  const vip = a.find((x) => x.address === '10.9.0.50')!;
  assert.deepEqual(vip, {
    address: '10.9.0.50',
    family: 4,
    prefixLength: 24,
    device: 'eth1',
    label: 'eth1:0',
    broadcast: undefined,
    secondary: true,
    dynamic: true,
    scope: 'global',
    tentative: false,
    dadFailed: false,
    validLifetimeSec: 2,
    preferredLifetimeSec: 2,
  });
  assert.equal(a.find((x) => x.address === '10.9.0.1')!.validLifetimeSec, undefined);
  assert.deepEqual(parseIpAddrJson(''), []);
  assert.throws(() => parseIpAddrJson('{nope'), { code: 'VIGIL_ERR_OS_COMMAND' });
  assert.throws(() => parseIpAddrJson('{}'), { code: 'VIGIL_ERR_OS_COMMAND' });
});

test('pickNic: longest prefix, never lo, undefined when no subnet holds the address', () => {
  const a = parseIpAddrJson(SAMPLE);
  assert.deepEqual(pickNic('10.9.0.77', a), {
    device: 'eth1',
    prefixLength: 24,
    broadcast: '10.9.0.255',
    localAddress: '10.9.0.1',
  });
  assert.equal(pickNic('10.8.200.1', a)?.device, 'eth2');
  assert.equal(pickNic('10.8.200.1', a)?.broadcast, '10.8.255.255');
  assert.equal(pickNic('127.0.0.5', a), undefined);
  assert.equal(pickNic('192.0.2.1', a), undefined);
  assert.throws(() => pickNic('x', a), { code: 'VIGIL_ERR_ADDR_INVALID' });
});

test('subnet arithmetic and labels', () => {
  assert.ok(inSubnet('192.168.1.50', '192.168.1.1', 24));
  assert.ok(!inSubnet('192.168.2.50', '192.168.1.1', 24));
  assert.ok(inSubnet('8.8.8.8', '1.2.3.4', 0));
  assert.equal(broadcastOf('192.168.1.50', 24), '192.168.1.255');
  assert.equal(broadcastOf('10.1.2.3', 20), '10.1.15.255');
  assert.equal(broadcastOf('10.1.2.3', 31), undefined);
  assert.equal(firstFreeLabel('eth1', ['eth1', 'eth1:0', 'eth1:2']), 'eth1:1');
  assert.throws(() => firstFreeLabel('enp0s31f6abcdef', []), { code: 'VIGIL_ERR_ADDR_INVALID' });
  validateLabel('eth1:0', 'eth1');
  assert.throws(
    () => {
      validateLabel('eth2:0', 'eth1');
    },
    { code: 'VIGIL_ERR_ADDR_INVALID' },
  );
});

test('MemoryAddressManager: add, exists, labels, lease expiry on the clock, renew, remove', async () => {
  const clock = new SimulatedClock();
  const m = new MemoryAddressManager(clock, { eth1: ['192.168.1.1/24'] });
  const nic = await m.findNic('192.168.1.50');
  assert.equal(nic?.device, 'eth1');
  const label = await m.nextLabel('eth1');
  assert.equal(label, 'eth1:0');
  await m.add({ address: '192.168.1.50', prefixLength: 24, device: 'eth1', label, lifetimeSec: 3 });
  await assert.rejects(m.add({ address: '192.168.1.50', prefixLength: 24, device: 'eth1' }), {
    code: 'VIGIL_ERR_ADDR_EXISTS',
  });
  assert.equal((await m.find('192.168.1.50'))?.label, 'eth1:0');
  assert.equal((await m.find('192.168.1.50'))?.broadcast, '192.168.1.255');
  clock.advance(2000);
  assert.equal(await m.renew('192.168.1.50', 'eth1', 3), 'renewed');
  clock.advance(2000);
  assert.ok(await m.find('192.168.1.50'));
  clock.advance(1001);
  assert.equal(await m.find('192.168.1.50'), undefined);
  assert.equal(await m.renew('192.168.1.50', 'eth1', 3), 'absent');
  assert.equal(await m.remove('192.168.1.50', 'eth1'), false);
  await m.add({ address: '192.168.1.51', prefixLength: 24, device: 'eth1' });
  assert.equal(await m.remove('192.168.1.51', 'eth1'), true);
  assert.deepEqual(m.log.slice(0, 2), ['add 192.168.1.50/24 eth1 eth1:0 3', 'renew 192.168.1.50 eth1 3']);
});

test('IPv6 in the pure parts: ip -json inet6 entries, NIC choice skips link-local and /128, no broadcast', () => {
  const json = JSON.stringify([
    {
      ifname: 'eth1',
      addr_info: [
        { family: 'inet6', local: '2001:db8:1::29', prefixlen: 64, scope: 'global', valid_life_time: 4294967295 },
        { family: 'inet6', local: '2001:db8:1::50', prefixlen: 64, scope: 'global', dynamic: true, valid_life_time: 7 },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link', tentative: true },
        { family: 'inet6', local: '2001:db8:9::1', prefixlen: 128, scope: 'global' },
      ],
    },
    { ifname: 'eth2', addr_info: [{ family: 'inet6', local: '2001:db8::1', prefixlen: 48, scope: 'global' }] },
  ]);
  const a = parseIpAddrJson(json);
  assert.deepEqual(
    a.map((x) => [x.address, x.family, x.scope, x.tentative, x.dynamic]),
    [
      ['2001:db8:1::29', 6, 'global', false, false],
      ['2001:db8:1::50', 6, 'global', false, true],
      ['fe80::1', 6, 'link', true, false],
      ['2001:db8:9::1', 6, 'global', false, false],
      ['2001:db8::1', 6, 'global', false, false],
    ],
  );
  // The /64 on eth1 is longer than the /48 on eth2; neither a link-local nor a /128 is a subnet to pick.
  assert.deepEqual(pickNic('2001:db8:1::77', a), {
    device: 'eth1',
    prefixLength: 64,
    broadcast: undefined,
    localAddress: '2001:db8:1::29',
  });
  assert.equal(pickNic('2001:db8:0:5::1', a)?.device, 'eth2');
  assert.equal(pickNic('fe80::77', a), undefined);
  assert.equal(pickNic('2001:db8:9::1', a), undefined);
  assert.equal(pickNic('10.0.0.1', a), undefined, 'an IPv4 address never picks by IPv6 subnets');
  assert.ok(inSubnet('2001:db8:1::77', '2001:db8:1::29', 64));
  assert.ok(!inSubnet('10.0.0.1', '2001:db8:1::29', 0), 'families never mix');
  assert.equal(broadcastOf('2001:db8:1::77', 64), undefined);
});

test('MemoryAddressManager with IPv6: nodad in the log, families apart, removal by address and prefix', async () => {
  const clock = new SimulatedClock();
  const m = new MemoryAddressManager(clock, { eth1: ['192.168.1.1/24', '2001:db8:1::1/64', 'fe80::1/64'] });
  assert.equal((await m.findNic('2001:db8:1::50'))?.device, 'eth1');
  await m.add({ address: '2001:db8:1::50', prefixLength: 64, device: 'eth1', lifetimeSec: 3, nodad: true });
  await assert.rejects(m.add({ address: '2001:db8:1::51', prefixLength: 64, device: 'eth1', label: 'eth1:0' }), {
    code: 'VIGIL_ERR_ADDR_INVALID',
  });
  assert.deepEqual(
    (await m.list('eth1', 6)).map((x) => [x.address, x.scope, x.secondary, x.broadcast]),
    [
      ['2001:db8:1::1', 'global', false, undefined],
      ['fe80::1', 'link', false, undefined],
      ['2001:db8:1::50', 'global', false, undefined],
    ],
  );
  assert.equal((await m.list('eth1', 4)).length, 1);
  assert.equal(await m.remove('2001:db8:1::50', 'eth1', 128), false, 'the kernel matches the prefix too');
  assert.equal(await m.remove('2001:db8:1::50', 'eth1', 64), true);
  assert.deepEqual(m.log, [
    'add 2001:db8:1::50/64 eth1 - 3 nodad',
    'remove 2001:db8:1::50 eth1 /128',
    'remove 2001:db8:1::50 eth1 /64',
  ]);
});
