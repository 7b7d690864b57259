import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import fc from 'fast-check';
import { readPcap } from '../helpers/pcap.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { signClassic, signNetstring } from '../../src/wire/auth.js';
import { decodePacket } from '../../src/wire/codec.js';
import type { Field, WireMessage } from '../../src/wire/message.js';
import { WireProtocol, isBenignDrop } from '../../src/wire/protocol.js';
import { keys, LAB_KEYS, testWire, VECTORS } from './helpers.js';

const K = keys([[1, 'sha1', 'k']]);

const byteString = (min: number, max: number, exclude: number[] = []) =>
  fc
    .uint8Array({ minLength: min, maxLength: max })
    .map((b) => Buffer.from(b.filter((x) => !exclude.includes(x))).toString('latin1'))
    .filter((s) => s.length >= min);

const fieldName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.:,-]{0,15}$/);

const asMsg = (fields: Field[]): WireMessage => ({ fields: fields.map((f) => ({ ...f })) });

const flatField: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ name: fieldName, type: fc.constant('string' as const), value: byteString(1, 40) }),
  fc.record({
    name: fieldName,
    type: fc.constant('binary' as const),
    value: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
);

const netstringField: fc.Arbitrary<Field> = fc.oneof(
  flatField,
  fc.record({
    name: fieldName,
    type: fc.constant('list' as const),
    value: fc.array(byteString(0, 10), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({
    name: fieldName,
    type: fc.constant('struct' as const),
    value: fc.array(flatField, { maxLength: 4 }).map(asMsg),
  }),
);

test('netstring: decode(sign(m)) == m for arbitrary messages (strings are arbitrary bytes)', () => {
  fc.assert(
    fc.property(fc.array(netstringField, { maxLength: 12 }).map(asMsg), (m) => {
      const d = decodePacket(signNetstring(m, K));
      assert.ok(d.ok, d.ok ? '' : d.detail);
      assert.deepEqual(d.packet.message, m);
    }),
    { numRuns: 500 },
  );
});

test('classic: decode(sign(m)) == m (strings may hold newlines, never the 0x13 escape byte)', () => {
  const classicField: fc.Arbitrary<Field> = fc.oneof(
    fc
      .record({ name: fieldName, type: fc.constant('string' as const), value: byteString(1, 40, [0x13]) })
      .filter((f) => f.name !== 'auth'),
    fc.record({
      name: fieldName,
      type: fc.constant('binary' as const),
      value: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    }),
  );
  fc.assert(
    fc.property(fc.array(classicField, { maxLength: 12 }).map(asMsg), (m) => {
      const d = decodePacket(signClassic(m, K));
      assert.ok(d.ok, d.ok ? '' : d.detail);
      assert.deepEqual(d.packet.message, m);
    }),
    { numRuns: 500 },
  );
});

function receiver(): WireProtocol {
  return testWire({
    localNode: 'linux2',
    localUuid: new Uint8Array(16),
    nodes: ['linux1', 'linux2'],
    pingNodes: ['192.168.1.1'],
    keys: LAB_KEYS,
    scheduler: new SimulatedClock(),
  });
}

const status = (await readPcap(path.join(VECTORS, 'hb-udp694-status.pcap')))[0]!.payload;

test('the untouched status vector is accepted by a fresh receiver', () => {
  assert.equal(receiver().receive(status).kind, 'accepted');
});

test('any single changed byte of a signed packet is rejected', () => {
  fc.assert(
    fc.property(fc.nat({ max: status.length - 1 }), fc.integer({ min: 1, max: 255 }), (pos, delta) => {
      const p = Uint8Array.from(status);
      p[pos] = (p[pos]! + delta) & 0xff;
      const r = receiver().receive(p);
      if (r.kind !== 'dropped') assert.fail(`accepted a packet changed at byte ${pos}`);
      assert.ok(!isBenignDrop(r.reason) && r.reason !== 'internal', JSON.stringify(r));
    }),
    { numRuns: 3000 },
  );
});

test('every single-bit flip of the status vector is rejected (exhaustive)', () => {
  const rx = receiver();
  for (let pos = 0; pos < status.length; pos++) {
    for (let bit = 0; bit < 8; bit++) {
      const p = Uint8Array.from(status);
      p[pos] = p[pos]! ^ (1 << bit);
      assert.equal(rx.receive(p).kind, 'dropped', `byte ${pos} bit ${bit}`);
    }
  }
  assert.equal(rx.counters().accepted, 0);
  assert.equal(rx.counters().internal, 0);
});

test('arbitrary bytes never throw: each is one counted drop', () => {
  const rx = receiver();
  let n = 0;
  const garbage = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.concat([Buffer.from('###\n'), b])),
    fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.concat([Buffer.from('>>>\n'), b, Buffer.from('\n<<<\n')])),
    fc.nat({ max: status.length }).map((cut) => status.subarray(0, cut)),
    fc
      .array(fc.tuple(fc.nat({ max: status.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
      .map((muts) => {
        const p = Uint8Array.from(status);
        for (const [i, v] of muts) p[i] = v;
        return p;
      }),
    fc
      .array(fc.stringMatching(/^[0-9:(),=#%\n]{1,12}$/), { maxLength: 30 })
      .map((parts) => Buffer.from('###\n' + parts.join('') + '%%%\n', 'latin1')),
  );
  fc.assert(
    fc.property(garbage, (bytes) => {
      const before = rx.counters();
      const r = rx.receive(bytes);
      n++;
      const after = rx.counters();
      const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
      assert.equal(total(after) - total(before), 1);
      if (r.kind === 'dropped') assert.notEqual(r.reason, 'internal', r.detail);
    }),
    { numRuns: 5000 },
  );
  assert.equal(rx.counters().internal, 0);
  assert.ok(n >= 5000);
});

test('oversized input is dropped as too_big without being parsed', () => {
  const rx = receiver();
  const r = rx.receive(new Uint8Array(256 * 1024 + 1).fill(0x23));
  assert.equal(r.kind === 'dropped' && r.reason, 'too_big');
  assert.equal(rx.counters().too_big, 1);
});
