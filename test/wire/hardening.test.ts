/**
 * A hostile LAN: nothing unsigned is decoded, no crc key downgrades a keyed cluster, inflating is bounded, and a
 * node that restarted does not believe captures older than what it had already seen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, inflateSync } from 'node:zlib';
import { SimulatedClock } from '../../src/util/clock.js';
import { computeDigest, signClassic, signNetstring, verifyPacket } from '../../src/wire/auth.js';
import {
  MAX_INFLATED_BYTES,
  decodePacket,
  decodeSigned,
  encodeNetstringBody,
  encodeTrailer,
  splitSigned,
} from '../../src/wire/codec.js';
import { bin, msg, str, type Field, type WireMessage } from '../../src/wire/message.js';
import { statusBody } from '../../src/wire/messages.js';
import { type PeerProgress, WireProtocol, type WireProtocolOptions } from '../../src/wire/protocol.js';
import { keys, testWire } from './helpers.js';

const K = keys([[1, 'sha1', 'MaClefSecrete']]);

function node(name: string, o: Partial<WireProtocolOptions> & { clock: SimulatedClock }): WireProtocol {
  return testWire({
    localNode: name,
    generation: 10,
    keys: K,
    msgfmt: 'netstring',
    ttl: 3,
    scheduler: o.clock,
    ...o,
  });
}

/** A wire message that inflates to `size` bytes of netstring inside a (4) field, `depth` levels deep. */
function compressed(depth: number, size: number): Field {
  let inner: WireMessage = msg(str('pad', 'z'.repeat(size)));
  for (let i = 0; i < depth; i++) inner = msg({ name: `c${i}`, type: 'compress', value: inner });
  return inner.fields[0]!;
}

function countingInflate(): { calls: number; bytes: number; fn: (d: Uint8Array, max: number) => Uint8Array } {
  const c = {
    calls: 0,
    bytes: 0,
    fn: (d: Uint8Array, max: number) => {
      c.calls++;
      const out = inflateSync(d, { maxOutputLength: max });
      c.bytes += out.length;
      return out;
    },
  };
  return c;
}

test('a netstring packet without a trailer is dropped as unsigned before any field is decoded', () => {
  const clock = new SimulatedClock();
  const inf = countingInflate();
  const b = node('b', { clock, codec: { decompress: inf.fn } });
  const bomb = encodeNetstringBody(msg(str('t', 'status'), compressed(1, 200_000)));
  const r = b.receive(bomb);
  assert.equal(r.kind === 'dropped' && r.reason, 'unsigned');
  assert.equal(inf.calls, 0);
  assert.equal(b.counters().unsigned, 1);
});

test('a bomb with a bad or unknown trailer costs no inflate', () => {
  const clock = new SimulatedClock();
  const inf = countingInflate();
  const b = node('b', { clock, codec: { decompress: inf.fn } });
  const body = encodeNetstringBody(msg(str('t', 'status'), compressed(1, 200_000)));
  for (const [trailer, reason] of [
    [{ index: 1, digest: '0'.repeat(40) }, 'auth'],
    [{ index: 1, digest: 'ab' }, 'auth'],
    [{ index: 7, digest: '0'.repeat(40) }, 'unknown_key'],
  ] as const) {
    const r = b.receive(Buffer.concat([body, encodeTrailer(trailer)]));
    assert.equal(r.kind === 'dropped' && r.reason, reason);
  }
  assert.equal(inf.calls, 0);
});

test('authentic packets: compressed data inside compressed data is refused, one level is fine', () => {
  const sign = (m: WireMessage) => signNetstring(m, K);
  const one = decodePacket(sign(msg(str('t', 'x'), compressed(1, 1000))));
  assert.ok(one.ok);
  for (const depth of [2, 3, 8]) {
    const d = decodePacket(sign(msg(str('t', 'x'), compressed(depth, 1000))));
    assert.ok(!d.ok, `depth ${depth}`);
    assert.equal(d.reason, 'decompress');
    assert.match(d.detail, /compressed data inside compressed data/);
  }
});

test('the inflated bytes of one packet are capped in total, across fields', () => {
  const inf = countingInflate();
  const each = Math.floor(MAX_INFLATED_BYTES / 3);
  const fields = [str('t', 'x')];
  for (let i = 0; i < 8; i++) fields.push({ ...compressed(1, each), name: `c${i}` });
  const d = decodePacket(signNetstring(msg(...fields), K), { decompress: inf.fn });
  assert.ok(!d.ok);
  assert.equal(d.reason, 'decompress');
  assert.ok(inf.bytes <= MAX_INFLATED_BYTES, `${inf.bytes} inflated`);
  assert.ok(inf.calls <= 4, `${inf.calls} inflates`);
});

test('whole-message compression: one level, no compressed fields beside it, no payload inside a payload', () => {
  const inner = msg(str('t', 'status'), str('src', 'a'));
  const payload = (m: WireMessage) => bin('_compressed_payload', deflateSync(encodeNetstringBody(m)));
  const algo = str('_compression_algorithm', 'zlib');
  const ok = decodePacket(signNetstring(msg(payload(inner), algo), K));
  assert.ok(ok.ok);
  assert.deepEqual(ok.packet.message, inner);
  const nested = decodePacket(signNetstring(msg(payload(msg(payload(inner), algo)), algo), K));
  assert.ok(!nested.ok);
  assert.equal(nested.reason, 'decompress');
  const beside = decodePacket(signNetstring(msg(payload(inner), algo, compressed(1, 10)), K));
  assert.ok(!beside.ok);
  const fieldInside = decodePacket(signNetstring(msg(payload(msg(str('t', 'x'), compressed(1, 10))), algo), K));
  assert.ok(!fieldInside.ok);
});

test('crc is believed only as the active key: a listed crc line does not let a forger downgrade sha1', () => {
  const rx = keys(
    [
      [1, 'sha1', 'secret'],
      [2, 'crc', ''],
    ],
    1,
  );
  const forger = keys([[2, 'crc', '']]);
  const pkt = signNetstring(msg(str('t', 'stonith'), str('src', 'a')), forger);
  const s = splitSigned(pkt);
  assert.ok(s.ok);
  assert.equal(verifyPacket(s.parts, rx), 'weak_key');
  // The same crc key as the active one: the cluster chose crc, and crc is what it gets (vigil check warns).
  assert.equal(verifyPacket(s.parts, keys([[2, 'crc', '']])), 'ok');
  const clock = new SimulatedClock();
  const b = node('b', { clock, keys: rx });
  const r = b.receive(pkt);
  assert.equal(r.kind === 'dropped' && r.reason, 'weak_key');
});

test('key rotation: a packet signed with another listed (non-crc) key verifies with that key', () => {
  const both = (active: number) =>
    keys(
      [
        [1, 'sha1', 'old-secret'],
        [2, 'sha1', 'new-secret'],
      ],
      active,
    );
  const early = signNetstring(msg(str('t', 'x')), both(2));
  const s = splitSigned(early);
  assert.ok(s.ok);
  assert.equal(verifyPacket(s.parts, both(1)), 'ok');
  assert.equal(verifyPacket(s.parts, keys([[1, 'sha1', 'old-secret']])), 'unknown_key');
  assert.equal(verifyPacket(s.parts, keys([[2, 'sha1', 'other']])), 'bad_digest');
});

test('classic text: the auth line is split off and checked before the fields are parsed', () => {
  const m = msg(str('t', 'status'), str('src', 'a'), str('ts', '1'), str('seq', '1'));
  const text = signClassic(m, K);
  const s = splitSigned(text);
  assert.ok(s.ok);
  assert.equal(s.parts.format, 'classic');
  assert.equal(Buffer.from(s.parts.signed).toString('latin1'), 't=status\nsrc=a\nts=1\nseq=1\n');
  assert.equal(verifyPacket(s.parts, K), 'ok');
  const d = decodeSigned(text, s.parts);
  assert.ok(d.ok);
  assert.deepEqual(d.packet.message, m);
  // Authentic bytes but not in canonical form (a string field written with its (0) tag): refused after the check.
  const body = 't=status\n(0)src=a\n';
  const digest = computeDigest('sha1', 'MaClefSecrete', Buffer.from(body, 'latin1'));
  const odd = Buffer.from(`>>>\n${body}auth=1 ${digest}\n<<<\n`, 'latin1');
  const so = splitSigned(odd);
  assert.ok(so.ok);
  assert.equal(verifyPacket(so.parts, K), 'ok');
  assert.equal(decodeSigned(odd, so.parts).ok, false);
  // Unsigned classic text, and two auth lines.
  const unsigned = splitSigned(Buffer.from('>>>\nt=x\n<<<\n', 'latin1'));
  assert.ok(unsigned.ok && unsigned.parts.auth === undefined);
  const two = splitSigned(Buffer.from(`>>>\nauth=1 ${digest}\nt=x\nauth=1 ${digest}\n<<<\n`, 'latin1'));
  assert.ok(!two.ok);
});

test('garbage of every size up to 64 KB is dropped without an exception', () => {
  const clock = new SimulatedClock();
  const b = node('b', { clock });
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (const size of [0, 1, 4, 5, 300, 1500, 9000, 65_507]) {
    const g = Buffer.alloc(size);
    for (let i = 0; i < size; i++) g[i] = rnd() & 0xff;
    for (const head of ['', '###\n', '>>>\n']) {
      const p = Buffer.concat([Buffer.from(head, 'latin1'), g]);
      const r = b.receive(p);
      assert.ok(r.kind === 'dropped');
      assert.notEqual(r.reason, 'internal');
    }
  }
});

test('after a restart, captures at or below what was seen before are replays; the live peer is heard', () => {
  const clock = new SimulatedClock();
  const sent: Uint8Array[] = [];
  const a = node('a', { clock, generation: 50, transmit: (p) => sent.push(Uint8Array.from(p)) });
  for (let i = 0; i < 5; i++) a.send(statusBody('active', 10000));
  // b saw a up to seq 3 in its previous run, and persisted it.
  const floors = new Map<string, PeerProgress>([['a', { generation: 50, seq: 3 }]]);
  const gens: [string, number][] = [];
  const b = node('b', { clock, floors, onGeneration: (n, g) => gens.push([n, g]) });
  for (const old of sent.slice(0, 3)) {
    const r = b.receive(old);
    assert.equal(r.kind === 'dropped' && r.reason, 'replay');
  }
  const live = b.receive(sent[4]!);
  assert.equal(live.kind, 'accepted');
  assert.deepEqual(gens, [['a', 50]]);
  assert.deepEqual(b.progress().get('a'), { generation: 50, seq: 5 });
  // An older generation is a replay whatever its seq (Heartbeat's rule, now across restarts too).
  const older = node('a', { clock, generation: 49, transmit: (p) => sent.push(Uint8Array.from(p)) });
  older.send(statusBody('active', 10000));
  const r = b.receive(sent.at(-1)!);
  assert.equal(r.kind === 'dropped' && r.reason, 'replay');
});

test('a peer that restarted while we were down gets a new generation and is heard at once', () => {
  const clock = new SimulatedClock();
  const sent: Uint8Array[] = [];
  const b = node('b', { clock, floors: new Map([['a', { generation: 50, seq: 900 }]]) });
  assert.deepEqual(b.progress().get('a'), { generation: 50, seq: 900 });
  const a = node('a', { clock, generation: 51, transmit: (p) => sent.push(Uint8Array.from(p)) });
  a.send(statusBody('active', 10000));
  const r = b.receive(sent[0]!);
  assert.ok(r.kind === 'accepted');
  // Not a "Heartbeat restart on node": this process had not heard a before.
  assert.equal(r.restart, false);
  assert.deepEqual(b.progress().get('a'), { generation: 51, seq: 1 });
});

test('what a peer sent stays known after stop(): the daemon persists it on its way out', () => {
  const clock = new SimulatedClock();
  const sent: Uint8Array[] = [];
  const a = node('a', { clock, generation: 60, transmit: (p) => sent.push(Uint8Array.from(p)) });
  const b = node('b', { clock });
  a.send(statusBody('active', 10000));
  a.send(statusBody('active', 10000));
  for (const p of sent) b.receive(p);
  b.stop();
  assert.deepEqual(b.progress().get('a'), { generation: 60, seq: 2 });
});

test('a capture of our own earlier run played back at us is a replay, not a restart of ourselves', () => {
  const clock = new SimulatedClock();
  const sent: Uint8Array[] = [];
  const before = node('b', { clock, generation: 40, transmit: (p) => sent.push(Uint8Array.from(p)) });
  before.send(statusBody('active', 10000));
  const events: string[] = [];
  const now = node('b', { clock, generation: 41, onEvent: (e) => events.push(e.text) });
  const r = now.receive(sent[0]!);
  assert.equal(r.kind === 'dropped' && r.reason, 'replay');
  assert.deepEqual(events, []);
});
