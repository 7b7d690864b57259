import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readPcap } from '../helpers/pcap.js';
import { decodePacket } from '../../src/wire/codec.js';
import { addInnerAuth, signNetstring } from '../../src/wire/auth.js';
import { addControlFields, computeTtl, isNoSeqType, readControl } from '../../src/wire/control.js';
import { getBinary, getString, msg, str } from '../../src/wire/message.js';
import { toFields } from '../../src/cluster/protocol.js';
import { LAB_KEYS, VECTORS } from './helpers.js';

const CONTROL = new Set(['destuuid', 'src', 'srcuuid', 'seq', 'hg', 'ts', 'ld', 'ttl', 'auth']);

test('the builder reproduces every node-sent vector from its body and control values', async () => {
  const files = (await readdir(VECTORS)).filter((f) => f.startsWith('hb-udp694-') && f.endsWith('.pcap'));
  assert.equal(files.length, 10);
  for (const file of files) {
    const raw = (await readPcap(path.join(VECTORS, file)))[0]!.payload;
    const d = decodePacket(raw);
    assert.ok(d.ok);
    const m = d.packet.message;
    const body = msg(...m.fields.filter((f) => !CONTROL.has(f.name)));
    const seq = getString(m, 'seq');
    let built = addControlFields(body, {
      src: getString(m, 'src')!,
      srcuuid: getBinary(m, 'srcuuid')!,
      seq: seq === undefined ? 999 : parseInt(seq, 16),
      generation: parseInt(getString(m, 'hg')!, 16),
      tsSeconds: parseInt(getString(m, 'ts')!, 16),
      loadavg: getString(m, 'ld') ?? 'ignored for NS_ types',
      ttl: computeTtl(1, 3),
      destuuid: getBinary(m, 'destuuid'),
    });
    built = addInnerAuth(built, LAB_KEYS);
    assert.deepEqual(signNetstring(built, LAB_KEYS), Buffer.from(raw), file);
  }
});

test('NS_ types carry no seq and no ld', () => {
  assert.equal(isNoSeqType('NS_ackmsg'), true);
  assert.equal(isNoSeqType('status'), false);
  const m = addControlFields(msg(str('t', 'NS_rexmit'), str('dest', 'b')), {
    src: 'a',
    srcuuid: new Uint8Array(16),
    seq: 5,
    generation: 1,
    tsSeconds: 2,
    loadavg: '0 0 0 1/1 1',
    ttl: 4,
    destuuid: undefined,
  });
  assert.deepEqual(
    m.fields.map((f) => f.name),
    ['t', 'dest', 'src', 'srcuuid', 'hg', 'ts', 'ttl'],
  );
});

test('destuuid is added only when the message has a dest', () => {
  const c = {
    src: 'a',
    srcuuid: new Uint8Array(16),
    seq: 1,
    generation: 1,
    tsSeconds: 2,
    loadavg: 'l',
    ttl: 4,
    destuuid: new Uint8Array(16).fill(7),
  };
  assert.equal(getBinary(addControlFields(msg(str('t', 'x')), c), 'destuuid'), undefined);
  assert.deepEqual(getBinary(addControlFields(msg(str('t', 'x'), str('dest', 'b')), c), 'destuuid'), c.destuuid);
});

test('repnodes body matches the vector layout', () => {
  assert.deepEqual(toFields({ t: 'repnodes', dest: 'linux2', nodelist: ['linux1', 'linux2'], delnodelist: [] }), [
    ['dest', 'linux2'],
    ['t', 'repnodes'],
    ['nodelist', 'linux1 linux2 '],
    ['delnodelist', ' '],
  ]);
});

test('receive rules: t, src, non-zero hex ts, seq unless NS_, hex hg', () => {
  const ok = (m: ReturnType<typeof msg>) => readControl(m).ok;
  assert.equal(ok(msg(str('t', 'status'), str('src', 'a'), str('ts', '1f'), str('seq', '1'))), true);
  assert.equal(ok(msg(str('src', 'a'), str('ts', '1f'), str('seq', '1'))), false);
  assert.equal(ok(msg(str('t', 'status'), str('ts', '1f'), str('seq', '1'))), false);
  assert.equal(ok(msg(str('t', 'status'), str('src', 'a'), str('ts', '0'), str('seq', '1'))), false);
  assert.equal(ok(msg(str('t', 'status'), str('src', 'a'), str('ts', 'zz'), str('seq', '1'))), false);
  assert.equal(ok(msg(str('t', 'status'), str('src', 'a'), str('ts', '1'))), false);
  assert.equal(ok(msg(str('t', 'status'), str('src', 'a'), str('ts', '1'), str('seq', '0'))), false);
  assert.equal(ok(msg(str('t', 'NS_ackmsg'), str('src', 'a'), str('ts', '1'))), true);
  assert.equal(ok(msg(str('t', 'NS_ackmsg'), str('src', 'a'), str('ts', '1'), str('hg', 'g'))), false);
});
