import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as libc from '../../src/os/libc.js';

test('parseIPv4 accepts dotted quads only', () => {
  assert.deepEqual([...libc.parseIPv4('192.168.1.50')!], [192, 168, 1, 50]);
  for (const bad of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '', '1.2.3.4.5', '-1.2.3.4']) {
    assert.equal(libc.parseIPv4(bad), undefined, bad);
  }
  assert.equal(libc.formatIPv4(Uint8Array.from([10, 0, 0, 255])), '10.0.0.255');
});

test('validateIfName refuses what could be mistaken for an option or overflow IFNAMSIZ', () => {
  for (const bad of ['', '-eth0', 'a'.repeat(16), 'eth 0', 'eth0;x', 'eth/0']) {
    assert.throws(
      () => {
        libc.validateIfName(bad);
      },
      { code: 'VIGIL_ERR_NO_DEVICE' },
    );
  }
  libc.validateIfName('eth1:0');
  libc.validateIfName('enp0s31f6.100');
});

test('int socket options round-trip through setsockopt/getsockopt', () => {
  const fd = libc.openUdpSocket();
  try {
    assert.equal(libc.getIntOption(fd, libc.SOL_SOCKET, libc.SO_REUSEADDR), 0);
    libc.setIntOption(fd, libc.SOL_SOCKET, libc.SO_REUSEADDR, 1);
    assert.equal(libc.getIntOption(fd, libc.SOL_SOCKET, libc.SO_REUSEADDR), 1);
    libc.setIntOption(fd, libc.IPPROTO_IP, libc.IP_TOS, libc.IPTOS_LOWDELAY);
    assert.equal(libc.getIntOption(fd, libc.IPPROTO_IP, libc.IP_TOS), 0x10);
    libc.setIntOption(fd, libc.IPPROTO_IP, libc.IP_MULTICAST_TTL, 4);
    assert.equal(libc.getIntOption(fd, libc.IPPROTO_IP, libc.IP_MULTICAST_TTL), 4);
    assert.equal(libc.boundDevice(fd), '');
    libc.bindToDevice(fd, 'lo');
    assert.equal(libc.boundDevice(fd), 'lo');
    libc.bindIPv4(fd, '127.0.0.1', 0);
  } finally {
    libc.closeFd(fd);
  }
});

test('syscall failures carry the errno and a stable code', () => {
  const fd = libc.openUdpSocket();
  try {
    assert.throws(
      () => {
        libc.bindToDevice(fd, 'vigilnosuch0');
      },
      (e: unknown) =>
        e instanceof libc.SyscallError &&
        e.code === 'VIGIL_ERR_SOCKET_OPTION' &&
        e.errnoName === 'ENODEV' &&
        e.message.includes('SO_BINDTODEVICE'),
    );
    assert.throws(
      () => {
        libc.bindIPv4(fd, '192.0.2.1', 1);
      },
      (e: unknown) => e instanceof libc.SyscallError && e.code === 'VIGIL_ERR_SOCKET_BIND',
    );
    assert.throws(
      () => {
        libc.bindIPv4(fd, 'nonsense', 1);
      },
      { code: 'VIGIL_ERR_ADDR_INVALID' },
    );
  } finally {
    libc.closeFd(fd);
  }
  assert.throws(
    () => libc.getIntOption(-1, libc.SOL_SOCKET, libc.SO_REUSEADDR),
    (e: unknown) => e instanceof libc.SyscallError && e.errnoName === 'EBADF',
  );
});

test('interface lookups: index, IPv4 side and hardware address of lo; nothing for a missing device', () => {
  const lo = libc.interfaceIPv4('lo')!;
  assert.ok(lo.index > 0);
  assert.equal(lo.index, libc.interfaceIndex('lo'));
  assert.equal(lo.loopback, true);
  assert.equal(lo.address, '127.0.0.1');
  assert.equal(lo.netmask, '255.0.0.0');
  assert.equal(lo.broadcast, undefined);
  assert.deepEqual([...libc.interfaceHwAddr('lo')!], [0, 0, 0, 0, 0, 0]);
  assert.equal(libc.interfaceIndex('vigilnosuch0'), 0);
  assert.equal(libc.interfaceIPv4('vigilnosuch0'), undefined);
  assert.equal(libc.interfaceHwAddr('vigilnosuch0'), undefined);
  assert.equal(libc.libcAvailable(), true);
});

test('the off-loop interface lookup answers exactly like the synchronous one', async () => {
  assert.deepEqual(await libc.interfaceIPv4Async('lo'), libc.interfaceIPv4('lo'));
  assert.equal(await libc.interfaceIPv4Async('vigilnosuch0'), undefined);
  const many = await Promise.all(Array.from({ length: 20 }, () => libc.interfaceIPv4Async('lo')));
  assert.ok(many.every((x) => x?.address === '127.0.0.1'));
});
