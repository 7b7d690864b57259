import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGetAddr, encodeSetLifetime, parseAddrReplies } from '../../src/os/netlink.js';

test('RTM_GETADDR dump request layout', () => {
  const m = encodeGetAddr(7);
  assert.equal(m.toString('hex'), '18000000' + '1600' + '0103' + '07000000' + '00000000' + '0200000000000000');
});

test('the lifetime change parses back as the address it names (same layout as the kernel replies)', () => {
  const m = encodeSetLifetime(9, '192.168.1.50', 24, 3, 8);
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.readUInt16LE(4), 20); // RTM_NEWADDR
  assert.equal(m.readUInt16LE(6), 0x105); // REQUEST | ACK | REPLACE: never CREATE
  const r = parseAddrReplies(m, 9);
  assert.equal(r.addresses.length, 1);
  const a = r.addresses[0]!;
  assert.equal(a.ifindex, 3);
  assert.equal(a.info.address, '192.168.1.50');
  assert.equal(a.info.prefixLength, 24);
  assert.equal(a.info.validLifetimeSec, 8);
  assert.equal(a.info.preferredLifetimeSec, 8);
  assert.equal(a.info.dynamic, true);
  assert.equal(parseAddrReplies(m, 10).addresses.length, 0, 'other sequence numbers are ignored');
});

test('ACK, error and DONE messages are recognised; truncation is an error, not a crash', () => {
  const ack = Buffer.alloc(36);
  ack.writeUInt32LE(36, 0);
  ack.writeUInt16LE(2, 4);
  ack.writeUInt32LE(5, 8);
  ack.writeInt32LE(-17, 16); // -EEXIST
  assert.equal(parseAddrReplies(ack, 5).error, 17);
  const done = Buffer.alloc(20);
  done.writeUInt32LE(20, 0);
  done.writeUInt16LE(3, 4);
  done.writeUInt32LE(5, 8);
  assert.equal(parseAddrReplies(done, 5).done, true);
  const bad = Buffer.from(done);
  bad.writeUInt32LE(400, 0);
  assert.throws(() => parseAddrReplies(bad, 5), { code: 'VIGIL_ERR_OS_COMMAND' });
});
