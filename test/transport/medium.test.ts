/** Medium behaviour that needs no namespace: validation, states, counters, loopback delivery. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BcastMedium,
  broadcastAddressOf,
  createMedium,
  McastMedium,
  UcastMedium,
  type MediumEvent,
} from '../../src/transport/index.js';
import type { InterfaceIPv4 } from '../../src/os/libc.js';
import * as libc from '../../src/os/libc.js';
import { wrapUdpFd } from '../../src/transport/udp-medium.js';
import { fstatSync, openSync } from 'node:fs';

const iface = (over: Partial<InterfaceIPv4>): InterfaceIPv4 => ({
  index: 3,
  up: true,
  loopback: false,
  multicast: true,
  address: '192.168.1.29',
  netmask: '255.255.255.0',
  broadcast: '192.168.1.255',
  ...over,
});

test('broadcastAddressOf: configured one, else derived from address and mask, none for /31 /32 or no IFF_BROADCAST', () => {
  assert.equal(broadcastAddressOf(iface({})), '192.168.1.255');
  assert.equal(broadcastAddressOf(iface({ broadcast: '0.0.0.0' })), '192.168.1.255');
  assert.equal(
    broadcastAddressOf(iface({ broadcast: '0.0.0.0', netmask: '255.255.240.0', address: '10.1.2.3' })),
    '10.1.15.255',
  );
  assert.equal(broadcastAddressOf(iface({ broadcast: '0.0.0.0', netmask: '255.255.255.254' })), undefined);
  assert.equal(broadcastAddressOf(iface({ broadcast: '0.0.0.0', netmask: '255.255.255.255' })), undefined);
  assert.equal(broadcastAddressOf(iface({ broadcast: undefined })), undefined);
  assert.equal(broadcastAddressOf(iface({ broadcast: '0.0.0.0', address: undefined })), undefined);
});

test('constructors validate device, port, peer, group and ttl', () => {
  assert.throws(() => new BcastMedium({ dev: '-x', port: 694 }), { code: 'VIGIL_ERR_NO_DEVICE' });
  assert.throws(() => new BcastMedium({ dev: 'eth1', port: 0 }), { code: 'VIGIL_ERR_SOCKET_BIND' });
  assert.throws(() => new BcastMedium({ dev: 'eth1', port: 65536 }), { code: 'VIGIL_ERR_SOCKET_BIND' });
  assert.throws(() => new UcastMedium({ dev: 'eth1', peer: 'node2', port: 694 }), { code: 'VIGIL_ERR_ADDR_INVALID' });
  const m = { dev: 'eth1', port: 694, ttl: 1, loop: false };
  assert.throws(() => new McastMedium({ ...m, group: '10.0.0.1' }), { code: 'VIGIL_ERR_ADDR_INVALID' });
  assert.throws(() => new McastMedium({ ...m, group: '239.0.0.1', ttl: 256 }), { code: 'VIGIL_ERR_SOCKET_OPTION' });
  const ok = new McastMedium({ ...m, group: '239.0.0.1' });
  assert.equal(ok.description, 'mcast eth1 239.0.0.1 694 1 0');
  assert.equal(ok.name, 'eth1');
  assert.equal(
    createMedium({ kind: 'ucast', dev: 'eth1', peer: '10.0.0.2', port: 694 }).description,
    'ucast eth1 10.0.0.2',
  );
});

test('send before start is a programming error; start on a missing device fails cleanly', async () => {
  const m = new BcastMedium({ dev: 'vigilnosuch0', port: 47000 });
  assert.throws(
    () => {
      m.send(new Uint8Array(1));
    },
    { code: 'VIGIL_ERR_MEDIUM_STATE' },
  );
  await assert.rejects(m.start(), { code: 'VIGIL_ERR_NO_DEVICE' });
  const bc = new BcastMedium({ dev: 'lo', port: 47000 });
  await assert.rejects(bc.start(), { code: 'VIGIL_ERR_NO_ADDRESS' });
  assert.equal(bc.sockets().length, 0);
});

test('ucast naming one of our addresses is inert and says so', async () => {
  const m = new UcastMedium(
    { dev: 'lo', peer: '10.9.9.9', port: 47001 },
    { localAddresses: () => new Set(['10.9.9.9']) },
  );
  await m.start();
  assert.equal(m.peerIsSelf, true);
  assert.equal(m.state, 'self');
  m.send(new Uint8Array(10));
  assert.equal(m.stats.sendDropped, 1);
  assert.equal(m.stats.packetsSent, 0);
  await m.close();
  assert.equal(m.state, 'closed');
});

test('ucast over loopback: delivery with link name, counters, oversize drop, idempotent close', async () => {
  const port = 47000 + (process.pid % 900);
  const m = new UcastMedium(
    { dev: 'lo', peer: '127.0.0.2', port },
    { localAddresses: () => new Set(['127.0.0.1']), deviceCheckMs: 0, recvBufferBytes: 65536 },
  );
  const events: MediumEvent[] = [];
  m.onEvent((e) => events.push(e));
  const got = new Promise<{ text: string; link: string; address: string }>((resolve) => {
    m.onPacket((bytes, rinfo, link) => {
      resolve({ text: Buffer.from(bytes).toString(), link, address: rinfo.address });
    });
  });
  await m.start();
  assert.equal(m.state, 'open');
  assert.equal(events[0]?.type, 'open');
  const recv = m.sockets().find((x) => x.role === 'recv')!;
  // The kernel doubles SO_RCVBUF for its bookkeeping.
  assert.equal(libc.getIntOption(recv.fd, libc.SOL_SOCKET, libc.SO_RCVBUF), 131072);
  assert.equal(libc.boundDevice(recv.fd), 'lo');
  m.send(Buffer.from('hello'));
  assert.deepEqual(await got, { text: 'hello', link: 'lo', address: '127.0.0.1' });
  m.send(new Uint8Array(70_000));
  const s = m.stats;
  assert.equal(s.packetsSent, 1);
  assert.equal(s.bytesSent, 5);
  assert.equal(s.packetsReceived, 1);
  assert.equal(s.sendDropped, 1);
  assert.ok(events.some((e) => e.type === 'error' && e.error.code === 'VIGIL_ERR_MSG_TOO_BIG'));
  await m.close();
  await m.close();
  m.send(Buffer.from('late'));
  assert.equal(m.stats.sendDropped, 2);
  await assert.rejects(m.start(), { code: 'VIGIL_ERR_MEDIUM_STATE' });
});

test('a throwing packet handler is counted and reported, and the medium keeps delivering', async () => {
  const port = 47000 + ((process.pid + 1) % 900);
  const m = new UcastMedium(
    { dev: 'lo', peer: '127.0.0.2', port },
    { localAddresses: () => new Set(['127.0.0.1']), deviceCheckMs: 0 },
  );
  const events: MediumEvent[] = [];
  m.onEvent((e) => events.push(e));
  let calls = 0;
  const second = new Promise<void>((resolve) => {
    m.onPacket(() => {
      calls++;
      if (calls === 1) throw new Error('bug above the medium');
      resolve();
    });
  });
  await m.start();
  m.send(Buffer.from('one'));
  await new Promise((r) => setTimeout(r, 50));
  m.send(Buffer.from('two'));
  await second;
  assert.equal(m.stats.handlerErrors, 1);
  assert.ok(events.some((e) => e.type === 'error' && e.error.code === 'VIGIL_ERR_INTERNAL'));
  await m.close();
});

test('wrapUdpFd refuses an fd that is not a UDP socket and closes it', async () => {
  const fd = openSync('/dev/null', 'r');
  await assert.rejects(wrapUdpFd(fd), { code: 'VIGIL_ERR_SOCKET' });
  assert.throws(() => fstatSync(fd), { code: 'EBADF' });
});
