import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  addInnerAuth,
  computeDigest,
  crc32Heartbeat,
  digestEquals,
  isVigilOnlyMethod,
  signClassic,
  signNetstring,
  verifyPacket,
} from '../../src/wire/auth.js';
import { decodePacket } from '../../src/wire/codec.js';
import { addControlFields } from '../../src/wire/control.js';
import { statusBody } from '../../src/wire/messages.js';
import { msg, str } from '../../src/wire/message.js';
import { keys } from './helpers.js';

test('crc is CRC-32 poly 04C11DB7, init 0, final NOT, no length: "123456789" -> 765e7680', () => {
  assert.equal(crc32Heartbeat(Buffer.from('123456789')).toString(16), '765e7680');
  assert.equal(computeDigest('crc', '', Buffer.from('123456789')), '765e7680');
});

test('crc prints as %lx: no zero padding', () => {
  // Find an input whose crc has a leading zero nibble, then check the digest is shorter than 8.
  let found = false;
  for (let i = 0; i < 10000 && !found; i++) {
    const data = Buffer.from(`x${i}`);
    const c = crc32Heartbeat(data);
    if (c < 0x10000000) {
      assert.equal(computeDigest('crc', '', data), c.toString(16));
      assert.ok(computeDigest('crc', '', data).length < 8);
      found = true;
    }
  }
  assert.ok(found);
});

test('md5/sha1/sha256/sha512 are RFC 2104 HMACs in lowercase hex; only the last two are Vigil-only', () => {
  const data = Buffer.from('hello');
  for (const m of ['md5', 'sha1', 'sha256', 'sha512'] as const) {
    assert.equal(computeDigest(m, 'k', data), createHmac(m, 'k').update(data).digest('hex'));
  }
  assert.equal(computeDigest('md5', 'k', data).length, 32);
  assert.equal(computeDigest('sha1', 'k', data).length, 40);
  assert.deepEqual((['crc', 'md5', 'sha1', 'sha256', 'sha512'] as const).map(isVigilOnlyMethod), [
    false,
    false,
    false,
    true,
    true,
  ]);
});

test('digestEquals: equal, different, different length', () => {
  assert.equal(digestEquals('abcd', 'abcd'), true);
  assert.equal(digestEquals('abcd', 'abce'), false);
  assert.equal(digestEquals('abcd', 'abc'), false);
});

test('reference §4 worked example: status packet with sha1 testkey, 309 bytes', () => {
  const k = keys([[1, 'sha1', 'testkey']]);
  const body = statusBody('active', 8000);
  let m = addControlFields(body, {
    src: 'node1',
    srcuuid: Buffer.from('VTO1A/uGTYeRD3yDrTTEHQ==', 'base64'),
    seq: 6,
    generation: 0x6b084505,
    tsSeconds: 0x6b08480e,
    loadavg: '0.73 0.25 0.19 4/138 288\n',
    ttl: 3,
    destuuid: undefined,
  });
  m = addInnerAuth(m, k);
  const pkt = signNetstring(m, k);
  assert.equal(pkt.length, 309);
  const s = pkt.toString('latin1');
  assert.ok(s.includes('50:(0)auth=1 46d1358681369044614698f49de3680ecf149fbb,%%%\n'), s);
  assert.ok(s.endsWith('%%%\n42:1 3064a195adcba847459058ad98a56b39d7fd1aa9,'));
  assert.ok(
    s.startsWith('###\n11:(0)t=status,12:(0)st=active,10:(0)dt=1f40,13:(0)protocol=1,12:(0)src=node1,27:(1)srcuuid='),
  );
});

function signedStatus(k: ReturnType<typeof keys>): Buffer {
  return signNetstring(msg(str('t', 'status'), str('src', 'a'), str('ts', '1'), str('seq', '1')), k);
}

test('every packet is checked with the key listed under its own index (rotation works across active indexes)', () => {
  const sender = keys(
    [
      [1, 'sha1', 'one'],
      [2, 'md5', 'two'],
    ],
    2,
  );
  const pkt = signedStatus(sender);
  const d = decodePacket(pkt);
  assert.ok(d.ok);
  assert.equal(d.packet.auth?.index, 2);
  // Receiver lists the same keys with index 1 active: md5 with key "two" verifies. (Heartbeat would use its
  // active secret "one" here and drop it, which is why it cannot roll keys without an outage.)
  const rx1 = keys(
    [
      [1, 'sha1', 'one'],
      [2, 'md5', 'two'],
    ],
    1,
  );
  assert.equal(verifyPacket(d.packet, rx1), 'ok');
  // Another secret under index 2: fails.
  const rx2 = keys(
    [
      [1, 'sha1', 'two'],
      [2, 'md5', 'one'],
    ],
    1,
  );
  assert.equal(verifyPacket(d.packet, rx2), 'bad_digest');
  assert.equal(verifyPacket(d.packet, keys([[1, 'sha1', 'two']])), 'unknown_key');
});

test('classic packets use the key of their own index', () => {
  const sender = keys(
    [
      [1, 'sha1', 'one'],
      [2, 'md5', 'two'],
    ],
    2,
  );
  const text = signClassic(msg(str('t', 'status'), str('src', 'a'), str('ts', '1'), str('seq', '1')), sender);
  assert.match(text.toString('latin1'), /^>>>\nt=status\nsrc=a\nts=1\nseq=1\nauth=2 [0-9a-f]{32}\n<<<\n$/);
  const d = decodePacket(text);
  assert.ok(d.ok);
  assert.equal(d.packet.format, 'classic');
  const rx = keys(
    [
      [1, 'sha1', 'one'],
      [2, 'md5', 'two'],
    ],
    1,
  );
  assert.equal(verifyPacket(d.packet, rx), 'ok');
});

test('crc-signed packets verify; a wrong key method fails', () => {
  const k = keys([[3, 'crc', '']]);
  const pkt = signedStatus(k);
  const d = decodePacket(pkt);
  assert.ok(d.ok);
  assert.equal(verifyPacket(d.packet, k), 'ok');
  assert.equal(verifyPacket(d.packet, keys([[3, 'md5', 'x']])), 'bad_digest');
});
