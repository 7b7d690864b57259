/** The unsolicited Neighbour Advertisement frame, checked field by field and by tcpdump's own decoder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALL_NODES_MAC, NA_FRAME_BYTES, buildUnsolicitedNa } from '../../src/os/ndisc.js';
import { internetChecksum } from '../../src/os/icmp-pinger.js';

const MAC = Uint8Array.from([0x02, 0x00, 0x5e, 0x10, 0x20, 0x30]);

test('layout: all-nodes, from the target, hop limit 255, Override (and Router when asked), our MAC as TLLA', () => {
  const f = Buffer.from(buildUnsolicitedNa(MAC, '2001:DB8:1:0:0:0:0:50'));
  assert.equal(f.length, NA_FRAME_BYTES);
  assert.deepEqual([...f.subarray(0, 6)], [...ALL_NODES_MAC]);
  assert.deepEqual([...f.subarray(6, 12)], [...MAC]);
  assert.equal(f.readUInt16BE(12), 0x86dd);
  assert.equal(f.readUInt8(14) >> 4, 6);
  assert.equal(f.readUInt16BE(18), 32, 'payload length');
  assert.equal(f.readUInt8(20), 58, 'next header ICMPv6');
  assert.equal(f.readUInt8(21), 255, 'hop limit (RFC 4861: receivers drop anything else)');
  assert.equal(f.subarray(22, 38).toString('hex'), '20010db8000100000000000000000050', 'source = the target');
  assert.equal(f.subarray(38, 54).toString('hex'), 'ff020000000000000000000000000001');
  assert.equal(f.readUInt8(54), 136);
  assert.equal(f.readUInt8(58), 0x20, 'Override only');
  assert.equal(f.subarray(62, 78).toString('hex'), '20010db8000100000000000000000050', 'target');
  assert.deepEqual([...f.subarray(78, 80)], [2, 1], 'option: target link-layer address, 8 bytes');
  assert.deepEqual([...f.subarray(80, 86)], [...MAC]);
  // The checksum makes the pseudo-header and message sum to zero.
  const pseudo = Buffer.concat([f.subarray(22, 54), Buffer.from([0, 0, 0, 32, 0, 0, 0, 58]), f.subarray(54)]);
  assert.equal(internetChecksum(pseudo), 0);
  const r = Buffer.from(buildUnsolicitedNa(MAC, 'fe80::50', true));
  assert.equal(r.readUInt8(58), 0xa0, 'Router and Override');
  assert.throws(() => buildUnsolicitedNa(MAC, 'ff02::1'), { code: 'VIGIL_ERR_ADDR_INVALID' });
  assert.throws(() => buildUnsolicitedNa(MAC, '10.0.0.1'), { code: 'VIGIL_ERR_ADDR_INVALID' });
});

test('tcpdump decodes it as a neighbour advertisement with a good checksum', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-ndisc-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const frame = Buffer.from(buildUnsolicitedNa(MAC, '2001:db8:1::50'));
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(frame.length, 8);
  rec.writeUInt32LE(frame.length, 12);
  const file = join(dir, 'na.pcap');
  await writeFile(file, Buffer.concat([global, rec, frame]));
  const out = await new Promise<string | undefined>((resolve) => {
    execFile('tcpdump', ['-n', '-vv', '-r', file], (e, stdout) => {
      resolve(e === null ? stdout : undefined);
    });
  });
  if (out === undefined) {
    t.skip('tcpdump is not installed');
    return;
  }
  assert.match(out, /hlim 255/);
  assert.match(out, /neighbor advertisement, length 32, tgt is 2001:db8:1::50/);
  assert.match(out, /Flags \[override\]/);
  assert.match(out, /destination link-address option \(2\), length 8 \(1\): 02:00:5e:10:20:30/);
  assert.match(out, /icmp6 sum ok/);
});
