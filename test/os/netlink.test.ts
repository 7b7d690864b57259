import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDelAddr, encodeGetAddr, encodeNewAddr, encodeRenew, parseAddrReplies } from '../../src/os/netlink.js';

test('RTM_GETADDR dump request layout', () => {
  const m = encodeGetAddr(7);
  assert.equal(m.toString('hex'), '18000000' + '1600' + '0103' + '07000000' + '00000000' + '0200000000000000');
});

test('the lease renewal parses back as the address it names (same layout as the kernel replies)', () => {
  const m = encodeRenew(9, '192.168.1.50', 24, 3, 8);
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.readUInt16LE(4), 20); // RTM_NEWADDR
  assert.equal(m.readUInt16LE(6), 0x105); // REQUEST | ACK | REPLACE: never CREATE
  assert.equal(
    m.subarray(-8).toString('hex'),
    '08000800' + '00040000',
    'IFA_FLAGS = IFA_F_MCAUTOJOIN (see encodeRenew)',
  );
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

test('the address creation carries label, broadcast and lease, and never replaces an existing address', () => {
  const m = encodeNewAddr(11, {
    address: '192.168.1.50',
    prefixLength: 24,
    ifindex: 4,
    label: 'eth1:0',
    broadcast: '192.168.1.255',
    lifetimeSec: 7,
  });
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.readUInt16LE(4), 20); // RTM_NEWADDR
  assert.equal(m.readUInt16LE(6), 0x605); // REQUEST | ACK | CREATE | EXCL
  const a = parseAddrReplies(m, 11).addresses[0]!;
  assert.equal(a.ifindex, 4);
  assert.equal(a.info.address, '192.168.1.50');
  assert.equal(a.info.labelAttr, 'eth1:0');
  assert.equal(a.info.broadcast, '192.168.1.255');
  assert.equal(a.info.validLifetimeSec, 7);
  const bare = parseAddrReplies(encodeNewAddr(12, { address: '10.0.0.9', prefixLength: 32, ifindex: 2 }), 12);
  assert.equal(bare.addresses[0]!.info.labelAttr, undefined);
  assert.equal(bare.addresses[0]!.info.broadcast, undefined);
  assert.equal(bare.addresses[0]!.info.validLifetimeSec, undefined);
  assert.throws(() => encodeNewAddr(1, { address: '300.1.1.1', prefixLength: 24, ifindex: 1 }), {
    code: 'VIGIL_ERR_ADDR_INVALID',
  });
});

test('the address removal names address and interface only (no IFA_ADDRESS: the prefix length is not matched)', () => {
  const m = encodeDelAddr(13, '192.168.1.50', 4);
  assert.equal(m.readUInt16LE(4), 21); // RTM_DELADDR
  assert.equal(m.readUInt16LE(6), 0x5); // REQUEST | ACK
  assert.equal(m.length, 32, 'one attribute');
  assert.equal(m.readUInt16LE(26), 2, 'IFA_LOCAL');
  assert.equal(m.readUInt32LE(20), 4);
  assert.equal(m.subarray(28, 32).toString('hex'), 'c0a80132');
});

test('IPv6: the dump asks for AF_INET6 (or both), creation carries nodad, removal carries the prefix', () => {
  assert.equal(encodeGetAddr(7, 6).readUInt8(16), 10);
  assert.equal(encodeGetAddr(7, 'both').readUInt8(16), 0);
  const add = encodeNewAddr(3, { address: '2001:db8::50', prefixLength: 64, ifindex: 4, lifetimeSec: 7, nodad: true });
  assert.deepEqual([add.readUInt8(16), add.readUInt8(17), add.readUInt8(18)], [10, 64, 0x02]); // AF_INET6, /64, NODAD
  const parsed = parseAddrReplies(add, 3).addresses[0]!;
  assert.deepEqual([parsed.info.address, parsed.info.family, parsed.info.validLifetimeSec], ['2001:db8::50', 6, 7]);
  assert.equal(parsed.info.secondary, false);
  assert.throws(() => encodeNewAddr(3, { address: '2001:db8::50', prefixLength: 64, ifindex: 4, label: 'eth1:0' }), {
    code: 'VIGIL_ERR_ADDR_INVALID',
  });
  const del = encodeDelAddr(5, '2001:db8::50', 4, 64);
  assert.deepEqual([del.readUInt8(16), del.readUInt8(17)], [10, 64]);
  assert.equal(del.readUInt16LE(26), 1, 'IFA_ADDRESS: IPv6 matches address and prefix');
  assert.throws(() => encodeDelAddr(5, '2001:db8::50', 4), { code: 'VIGIL_ERR_ADDR_INVALID' });
  const renew = encodeRenew(9, '2001:db8::50', 64, 3, 8);
  assert.equal(renew.subarray(-8).toString('hex'), '08000800' + '02040000', 'IFA_FLAGS = MCAUTOJOIN | NODAD');
});
