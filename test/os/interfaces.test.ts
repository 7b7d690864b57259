import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listInterfaces, parseIpAddrJson } from '../../src/os/interfaces.js';
import { VigilError } from '../../src/util/errors.js';

test('parses `ip -json addr show` output: names, UP flag, IPv4 and IPv6 addresses', () => {
  const json = JSON.stringify([
    {
      ifindex: 1,
      ifname: 'lo',
      flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
      addr_info: [
        { family: 'inet', local: '127.0.0.1', prefixlen: 8 },
        { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
      ],
    },
    { ifindex: 2, ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST'], addr_info: [] },
    { ifindex: 3, ifname: 'eth0', flags: ['UP'], addr_info: [{ family: 'inet', local: '10.0.0.5', prefixlen: 24 }] },
    { ifindex: 4 },
    'garbage',
  ]);
  assert.deepEqual(parseIpAddrJson(json), [
    {
      name: 'lo',
      up: true,
      ipv4: [{ address: '127.0.0.1', prefixlen: 8 }],
      ipv6: [{ address: '::1', prefixlen: 128, scope: 'host' }],
    },
    { name: 'eth1', up: false, ipv4: [], ipv6: [] },
    { name: 'eth0', up: true, ipv4: [{ address: '10.0.0.5', prefixlen: 24 }], ipv6: [] },
  ]);
});

test('output that is not iproute2 JSON is a VIGIL_ERR_OS_COMMAND', () => {
  assert.throws(
    () => parseIpAddrJson('nope'),
    (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_OS_COMMAND',
  );
  assert.throws(
    () => parseIpAddrJson('{}'),
    (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_OS_COMMAND',
  );
});

test('lists the real interfaces of this host (lo at least)', async () => {
  const ifaces = await listInterfaces();
  const lo = ifaces.find((i) => i.name === 'lo');
  assert.ok(lo, `no lo among ${ifaces.map((i) => i.name).join(', ')}`);
});

test('a missing ip command is a VIGIL_ERR_OS_COMMAND', async () => {
  await assert.rejects(
    listInterfaces('/nonexistent/ip'),
    (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_OS_COMMAND',
  );
});
