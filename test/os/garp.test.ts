import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGarpFrames, formatMac, parseMac, sendGratuitousArp, GARP_FRAME_BYTES } from '../../src/os/garp.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A broadcast gratuitous ARP from 02:00:00:00:00:29 for 192.168.1.50, field by field (RFC 826 layout). */
const garp = (opcode: string, targetMac: string): string =>
  [
    'ffffffffffff', // Ethernet destination: broadcast
    '020000000029', // Ethernet source
    '0806', // EtherType ARP
    '0001', // hardware type Ethernet
    '0800', // protocol type IPv4
    '06', // hardware address length
    '04', // protocol address length
    opcode,
    '020000000029', // sender MAC
    'c0a80132', // sender IP 192.168.1.50
    targetMac,
    'c0a80132', // target IP: the same address, which makes it gratuitous
  ].join('');

test('gratuitous ARP frames are byte-exact: request with zero target MAC, reply with our MAC, both broadcast', () => {
  const mac = parseMac('02:00:00:00:00:29');
  const { request, reply } = buildGarpFrames(mac, '192.168.1.50');
  assert.equal(request.length, GARP_FRAME_BYTES);
  // The two frames differ only in the ARP opcode and the target MAC (zero in the request, ours in the reply).
  assert.equal(hex(request), garp('0001', '000000000000'));
  assert.equal(hex(reply), garp('0002', '020000000029'));
});

test('MAC text round-trips; bad input is refused with a code', () => {
  assert.equal(formatMac(parseMac('AA:bb:0c:00:01:ff')), 'aa:bb:0c:00:01:ff');
  assert.throws(() => parseMac('aa:bb:cc:dd:ee'), { code: 'VIGIL_ERR_ADDR_INVALID' });
  assert.throws(() => buildGarpFrames(new Uint8Array(5), '10.0.0.1'), { code: 'VIGIL_ERR_ADDR_INVALID' });
  assert.throws(() => buildGarpFrames(new Uint8Array(6), '10.0.0'), { code: 'VIGIL_ERR_ADDR_INVALID' });
});

test('sendGratuitousArp validates before touching the network', async () => {
  await assert.rejects(sendGratuitousArp({ device: 'eth1', address: 'x' }), { code: 'VIGIL_ERR_ADDR_INVALID' });
  await assert.rejects(sendGratuitousArp({ device: '-eth1', address: '10.0.0.1' }), { code: 'VIGIL_ERR_NO_DEVICE' });
  await assert.rejects(sendGratuitousArp({ device: 'eth1', address: '10.0.0.1', count: 0 }), {
    code: 'VIGIL_ERR_ADDR_INVALID',
  });
  await assert.rejects(sendGratuitousArp({ device: 'eth1', address: '10.0.0.1', intervalMs: -1 }), {
    code: 'VIGIL_ERR_ADDR_INVALID',
  });
  await assert.rejects(sendGratuitousArp({ device: 'lo', address: '127.0.0.1', count: 1 }), {
    code: 'VIGIL_ERR_ARP_SEND',
    message: /not an Ethernet device/,
  });
  // A missing device is not a reason to fall back to arping: it would fail the same way.
  await assert.rejects(sendGratuitousArp({ device: 'vigilnosuch0', address: '10.0.0.1', count: 1 }), {
    code: 'VIGIL_ERR_NO_DEVICE',
  });
});
