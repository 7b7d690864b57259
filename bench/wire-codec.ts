/**
 * Throughput of the pure wire layer for a ~310-byte status packet: encode+sign, decode, decode+verify,
 * the full receive path, and the drop paths a flood exercises (garbage, forged digest, replay).
 * Not a test: prints a markdown table. Run: `npx tsc -p tsconfig.json && node dist/bench/wire-codec.js [seconds]`.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { AuthKeys, AuthMethod } from '../src/config/types.js';
import { SimulatedClock } from '../src/util/clock.js';
import { addInnerAuth, signNetstring, verifyPacket } from '../src/wire/auth.js';
import { decodePacket } from '../src/wire/codec.js';
import { addControlFields } from '../src/wire/control.js';
import { statusBody } from '../src/wire/messages.js';
import { WireProtocol } from '../src/wire/protocol.js';

const seconds = Number(process.argv[2] ?? '1');

function keysOf(method: AuthMethod): AuthKeys {
  return {
    active: 1,
    keys: new Map([[1, { index: 1, method, key: 'MaClefSecrete', origin: { file: 'authkeys', line: 2 } }]]),
  };
}

const uuid = new Uint8Array(randomBytes(16));

function statusPacket(keys: AuthKeys, seq: number, gen = 0x6b08470a): Buffer {
  let m = addControlFields(statusBody('active', 10000), {
    src: 'linux1',
    srcuuid: uuid,
    seq,
    generation: gen,
    tsSeconds: 0x6b084709,
    loadavg: '0.00 0.12 0.16 2/117 28385',
    ttl: 4,
    destuuid: undefined,
  });
  m = addInnerAuth(m, keys);
  return signNetstring(m, keys);
}

function receiver(keys: AuthKeys): WireProtocol {
  return new WireProtocol({
    localNode: 'linux2',
    localUuid: new Uint8Array(16),
    generation: 1,
    nodes: ['linux1', 'linux2'],
    keys,
    msgfmt: 'classic',
    ttl: 4,
    maxRexmitDelayMs: 250,
    scheduler: new SimulatedClock(),
    random: Math.random,
    loadavg: () => 'l',
    transmit: () => undefined,
  });
}

/** Runs `fn(i)` for about `seconds`; returns ops/s. */
function measure(fn: (i: number) => void): number {
  for (let i = 0; i < 2000; i++) fn(i);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) {
    for (let k = 0; k < 500; k++) fn(n++);
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

const rows: [string, number][] = [];
for (const method of ['sha1', 'md5', 'crc'] as const) {
  const keys = keysOf(method);
  const pkt = statusPacket(keys, 1);
  rows.push([`${method}: encode + inner auth + sign (${pkt.length} B)`, measure((i) => statusPacket(keys, i + 1))]);
  if (method !== 'sha1') continue;
  rows.push([`${method}: decode`, measure(() => decodePacket(pkt))]);
  rows.push([
    `${method}: decode + verify`,
    measure(() => {
      const d = decodePacket(pkt);
      if (d.ok) verifyPacket(d.packet, keys);
    }),
  ]);
  // In-sequence packets, each accepted: pre-built so only receive() is timed.
  const seqPkts = Array.from({ length: 200_000 }, (_, i) => statusPacket(keys, i + 1));
  let rx = receiver(keys);
  rows.push([
    `${method}: receive() accepted, in sequence`,
    measure((i) => {
      if (i % seqPkts.length === 0) rx = receiver(keys);
      rx.receive(seqPkts[i % seqPkts.length]!);
    }),
  ]);
  const replayRx = receiver(keys);
  replayRx.receive(statusPacket(keys, 1, 0x6b08470b));
  rows.push([`${method}: receive() replayed (older generation)`, measure(() => replayRx.receive(pkt))]);
  const dupRx = receiver(keys);
  dupRx.receive(pkt);
  dupRx.receive(statusPacket(keys, 2));
  rows.push([`${method}: receive() replayed copy of an accepted packet (old seq)`, measure(() => dupRx.receive(pkt))]);
  const oldSeq = statusPacket(keys, 1);
  oldSeq[oldSeq.length - 3] = oldSeq[oldSeq.length - 3] === 0x30 ? 0x31 : 0x30;
  rows.push([`${method}: receive() forged packet with an old seq`, measure(() => dupRx.receive(oldSeq))]);
  const forged = Buffer.from(pkt);
  forged[forged.length - 3] = forged[forged.length - 3] === 0x30 ? 0x31 : 0x30;
  const forgedRx = receiver(keys);
  rows.push([`${method}: receive() forged digest`, measure(() => forgedRx.receive(forged))]);
  const garbage = Array.from({ length: 1024 }, () => randomBytes(300));
  const garbageRx = receiver(keys);
  rows.push([`${method}: receive() random 300 B garbage`, measure((i) => garbageRx.receive(garbage[i % 1024]!))]);
}

console.log(`Wire codec, Node ${process.version}, ${seconds} s per row\n`);
console.log('| operation | ops/s | µs/op |');
console.log('|---|---:|---:|');
for (const [name, ops] of rows) {
  console.log(`| ${name} | ${Math.round(ops).toLocaleString('en-US')} | ${(1e6 / ops).toFixed(2)} |`);
}
