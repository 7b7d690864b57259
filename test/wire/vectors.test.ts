import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { readPcap } from '../helpers/pcap.js';
import { decodePacket, encodeNetstringBody } from '../../src/wire/codec.js';
import { addInnerAuth, classicSignedText, signNetstring, verifyPacket } from '../../src/wire/auth.js';
import { getString, withoutField } from '../../src/wire/message.js';
import { LAB_KEYS, VECTORS } from './helpers.js';

const files = (await readdir(VECTORS)).filter((f) => f.startsWith('hb-') && f.endsWith('.pcap')).sort();

test('the vector set is present (12 Heartbeat captures)', () => {
  assert.equal(files.length, 12);
});

for (const file of files) {
  test(`vector ${file}: decodes, verifies with sha1 MaClefSecrete, re-encodes byte for byte`, async () => {
    const pkts = await readPcap(path.join(VECTORS, file));
    assert.equal(pkts.length, 1);
    const raw = pkts[0]!.payload;
    const txt = await readFile(path.join(VECTORS, file.replace(/\.pcap$/, '.txt')), 'latin1');
    const hex = /## raw payload hex\n([0-9a-f]+)/.exec(txt)![1]!;
    assert.equal(Buffer.from(raw).toString('hex'), hex, 'pcap payload equals the documented hex');

    const r = decodePacket(raw);
    assert.ok(r.ok, r.ok ? '' : r.detail);
    const p = r.packet;
    assert.equal(p.format, 'netstring');
    assert.equal(verifyPacket(p, LAB_KEYS), 'ok');

    // Field list as documented in the .txt.
    const documented = [...txt.matchAll(/^ {2}\((\d)\) (\S+) = (.*)$/gm)].map((m) => [m[1], m[2]]);
    assert.deepEqual(
      p.message.fields.map((f) => [f.type === 'string' ? '0' : '1', f.name]),
      documented,
    );
    assert.equal(getString(p.message, 't'), file.replace(/^hb-(udp694|icmp-echo-re[qp])-/, '').replace(/\.pcap$/, ''));

    // Re-encoding: body, then full signed packet, then the inner classic auth field.
    assert.deepEqual(encodeNetstringBody(p.message), Buffer.from(p.signed));
    assert.deepEqual(signNetstring(p.message, LAB_KEYS), Buffer.from(raw));
    const legacy = /## legacy text form that the auth= field signs\n([\s\S]*?)\n\n## raw/.exec(txt)![1]! + '\n';
    assert.equal(classicSignedText(p.message).toString('latin1'), legacy);
    assert.deepEqual(addInnerAuth(withoutField(p.message, 'auth'), LAB_KEYS), p.message);
  });
}

test('every Heartbeat packet of the tutorial capture decodes, verifies and re-encodes', async () => {
  const pkts = await readPcap(path.join(VECTORS, 'heartbeat-tutorial.pcap'));
  let n = 0;
  const types = new Set<string>();
  for (const pk of pkts) {
    const isHb = (pk.proto === 'udp' && pk.dstPort === 694) || (pk.proto === 'icmp' && pk.payload[0] === 0x23);
    if (!isHb) continue;
    n++;
    const r = decodePacket(pk.payload);
    assert.ok(r.ok, r.ok ? '' : r.detail);
    assert.equal(verifyPacket(r.packet, LAB_KEYS), 'ok');
    assert.deepEqual(signNetstring(r.packet.message, LAB_KEYS), Buffer.from(pk.payload));
    assert.deepEqual(addInnerAuth(withoutField(r.packet.message, 'auth'), LAB_KEYS), r.packet.message);
    types.add(getString(r.packet.message, 't') ?? '?');
  }
  assert.ok(n > 50, `only ${n} Heartbeat packets`);
  console.log(`tutorial: ${n} packets, types ${[...types].sort().join(' ')}`);
  for (const t of ['status', 'NS_ackmsg', 'reqnodes', 'repnodes', 'starting', 'resource']) assert.ok(types.has(t), t);
});
