import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import {
  decodePacket,
  encodeClassic,
  encodeNetstringBody,
  encodeTrailer,
  expandCompressed,
} from '../../src/wire/codec.js';
import { signClassic, signNetstring } from '../../src/wire/auth.js';
import { MAX_MESSAGE_BYTES, bin, msg, str, type WireMessage } from '../../src/wire/message.js';
import { isVigilError } from '../../src/util/errors.js';
import { keys } from './helpers.js';

const K = keys([[1, 'sha1', 'k']]);

function roundTrip(m: WireMessage, format: 'netstring' | 'classic'): WireMessage {
  const pkt = format === 'netstring' ? signNetstring(m, K) : signClassic(m, K);
  const d = decodePacket(pkt);
  assert.ok(d.ok, d.ok ? '' : d.detail);
  return d.packet.message;
}

test('classic: newline in a string travels as 0x13 and comes back', () => {
  const m = msg(str('t', 'x'), str('info', 'line1\nline2'));
  const text = encodeClassic(m, { head: true });
  assert.equal(text, '>>>\nt=x\ninfo=line1\x13line2\n<<<\n');
  assert.deepEqual(roundTrip(m, 'classic'), m);
});

test('classic: binary is base64 with padding, (1) prefix', () => {
  const m = msg(str('t', 'x'), bin('u', Uint8Array.from([1, 2, 3, 4])));
  assert.equal(encodeClassic(m), 't=x\n(1)u=AQIDBA==\n');
  assert.deepEqual(roundTrip(m, 'classic'), m);
});

test('classic: a string holding 0x13 itself cannot be encoded (Heartbeat refuses it too)', () => {
  assert.throws(
    () => encodeClassic(msg(str('t', 'a\x13b'))),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_MSG_FIELD',
  );
});

test('classic: non-canonical base64 and unknown type tags are parse drops', () => {
  for (const bad of [
    '>>>\n(1)u=AQI\n<<<\n',
    '>>>\n(9)u=x\n<<<\n',
    '>>>\nnovalue\n<<<\n',
    '>>>\nt=x\n',
    '>>>\nt=\n<<<\n',
  ]) {
    const d = decodePacket(Buffer.from(bad, 'latin1'));
    assert.equal(d.ok, false, bad);
  }
});

test('empty values are rejected when encoding and decoding', () => {
  assert.throws(
    () => encodeNetstringBody(msg(str('t', ''))),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_MSG_FIELD',
  );
  const body = Buffer.from('###\n5:(0)t=,%%%\n', 'latin1');
  const d = decodePacket(Buffer.concat([body, encodeTrailer({ index: 1, digest: 'ab' })]));
  assert.equal(d.ok, false);
});

test('nested struct and list survive netstring; struct survives classic', () => {
  const inner = msg(str('a', '1'), str('b', 'two\nlines'));
  const m: WireMessage = {
    fields: [
      str('t', 'x'),
      { name: 's', type: 'struct', value: inner },
      { name: 'l', type: 'list', value: ['p', 'q r'] },
    ],
  };
  assert.deepEqual(roundTrip(m, 'netstring'), m);
  const c: WireMessage = { fields: [str('t', 'x'), { name: 's', type: 'struct', value: inner }] };
  assert.deepEqual(roundTrip(c, 'classic'), c);
  assert.equal(encodeClassic(c), 't=x\n(2)s=>>>\x14a=1\x14b=two\x13lines\x14<<<\x14\n');
});

test('the 256 KiB limit: encoding refuses, decoding drops as too_big', () => {
  const big = msg(str('t', 'x'), str('v', 'a'.repeat(MAX_MESSAGE_BYTES)));
  assert.throws(
    () => encodeNetstringBody(big),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_MSG_TOO_BIG',
  );
  const d = decodePacket(new Uint8Array(MAX_MESSAGE_BYTES + 1));
  assert.ok(!d.ok);
  assert.equal(d.reason, 'too_big');
});

test('compressed payload: (1)_compressed_payload + _compression_algorithm=zlib expand to the inner message', () => {
  const inner = msg(str('t', 'status'), str('src', 'a'), str('ts', '1'), str('seq', '1'), str('pad', 'z'.repeat(5000)));
  const outer = msg(
    bin('_compressed_payload', deflateSync(encodeNetstringBody(inner))),
    str('_compression_algorithm', 'zlib'),
  );
  const d = decodePacket(signNetstring(outer, K));
  assert.ok(d.ok);
  const x = expandCompressed(d.packet.message);
  assert.ok(x.ok);
  assert.deepEqual(x.message, inner);
  const bomb = msg(
    bin('_compressed_payload', deflateSync(Buffer.alloc(MAX_MESSAGE_BYTES * 4))),
    str('_compression_algorithm', 'zlib'),
  );
  const e = expandCompressed(bomb);
  assert.ok(!e.ok);
  assert.equal(e.reason, 'decompress');
  const other = expandCompressed(
    msg(bin('_compressed_payload', Uint8Array.of(1)), str('_compression_algorithm', 'bz2')),
  );
  assert.ok(!other.ok);
});

test('compress field (type 4) inflates to a nested message', () => {
  const inner = msg(str('a', 'b'.repeat(100)));
  const m: WireMessage = { fields: [str('t', 'x'), { name: 'c', type: 'compress', value: inner }] };
  assert.deepEqual(roundTrip(m, 'netstring'), m);
});

test('netstring without trailer, with bytes after the trailer, or with a bad length is a parse drop', () => {
  const body = encodeNetstringBody(msg(str('t', 'x')));
  const good = signNetstring(msg(str('t', 'x')), K);
  for (const bad of [
    body,
    Buffer.concat([good, Buffer.from('x')]),
    Buffer.from('###\n09:(0)t=x,%%%\n', 'latin1'),
    Buffer.from('###\n99:(0)t=x,%%%\n', 'latin1'),
    Buffer.from('###\n7:(0)t=xy%%%\n', 'latin1'),
    Buffer.from('hello'),
    Buffer.alloc(0),
  ]) {
    const d = decodePacket(bad);
    assert.ok(!d.ok);
    assert.equal(d.reason, 'parse');
  }
});

test('characters outside 0-255 are refused, not silently mangled', () => {
  for (const fmt of ['netstring', 'classic'] as const) {
    assert.throws(
      () => (fmt === 'netstring' ? encodeNetstringBody(msg(str('t', 'nœud'))) : encodeClassic(msg(str('t', 'nœud')))),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_MSG_FIELD',
    );
  }
  // latin1 range is carried byte for byte.
  assert.deepEqual(roundTrip(msg(str('t', 'caf\xe9')), 'netstring'), msg(str('t', 'caf\xe9')));
});

test('classic list: items as netstring pieces, as cluster-glue writes them; a newline in an item is refused', () => {
  const m: WireMessage = { fields: [str('t', 'x'), { name: 'l', type: 'list', value: ['p', 'q r'] }] };
  assert.equal(encodeClassic(m, { head: true }), '>>>\nt=x\n(3)l=1:p,3:q r,\n<<<\n');
  assert.deepEqual(roundTrip(m, 'classic'), m);
  assert.throws(
    () => encodeClassic({ fields: [{ name: 'l', type: 'list', value: ['a\nb'] }] }),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_MSG_FIELD',
  );
});
