/**
 * Hostile packets for the `hostile` lab scenario and `bench/hostile-cost.ts`: replays, flipped bytes, garbage,
 * forgeries and decompression bombs, built with the wire layer's own encoders. Pure (no I/O): the caller writes the
 * packet file the flood sender cycles through (`encodePacketFile`).
 *
 * Randomness comes from a seeded generator so that a run can be rebuilt byte for byte.
 */
import { deflateSync } from 'node:zlib';
import { computeDigest } from '../src/wire/auth.js';
import { decodePacket, encodeNetstringBody, encodeTrailer } from '../src/wire/codec.js';
import { addControlFields, type ControlInfo, readControl } from '../src/wire/control.js';
import { MAX_MESSAGE_BYTES, str, type WireMessage } from '../src/wire/message.js';
import { statusBody } from '../src/wire/messages.js';

/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP): "garbage up to 64 KB" stops here. */
export const MAX_UDP_PAYLOAD = 65_507;

export const HOSTILE_CLASSES = [
  'replay',
  'replay_oldgen',
  'flipped',
  'garbage',
  'garbage_big',
  'text',
  'forged_wrongkey',
  'forged_crc_other',
  'forged_crc_active',
  'bomb_notrailer',
  'bomb_badtrailer',
  'bomb_wrongdigest',
  'bomb_crc_other',
  'payload_bomb',
] as const;
export type HostileClass = (typeof HOSTILE_CLASSES)[number];

export const CLASS_TEXT: Readonly<Record<HostileClass, string>> = {
  replay: 'captured authentic packets of the current generations (old seqnos)',
  replay_oldgen: "captured authentic packets of linux2's previous generation (before its restart)",
  flipped: "captured authentic packets with 1-8 random bytes flipped; one in four with only a field's type tag broken",
  garbage: 'random bytes, 1-1472 B (one frame)',
  garbage_big: `random bytes, 1473-${MAX_UDP_PAYLOAD} B (fragmented; sizes near 64 KB included)`,
  text: 'non-netstring text: HTTP, classic >>> text with thousands of lines, ### with 4096 tiny fields, deep structs',
  forged_wrongkey:
    'status from linux1 / linux2 / a foreign node, current generation, new seqnos, sha1 with a wrong key',
  forged_crc_other: 'status from linux1 / linux2 / a foreign node, next generation, "signed" crc under key index 2',
  forged_crc_active: 'the same "signed" crc under the active key index 1 (a sha1 key)',
  bomb_notrailer: '(4) zlib fields nested several deep, no trailer',
  bomb_badtrailer: '(4) zlib fields nested several deep, a malformed trailer',
  bomb_wrongdigest: '(4) zlib fields nested several deep, a well-formed trailer "1 <sha1 of a wrong key>"',
  bomb_crc_other: '(4) zlib fields nested several deep, trailer "2 <crc>" (valid crc under the non-active index)',
  payload_bomb:
    'whole-message compression (_compressed_payload, zlib) around a nested (4) bomb: wrong sha1 / crc index 2 / no trailer',
};

/** Packets per class in one cycle of the default mix (sums to 100: the numbers are percentages). */
export const DEFAULT_MIX: Readonly<Record<HostileClass, number>> = {
  replay: 12,
  replay_oldgen: 8,
  flipped: 12,
  garbage: 12,
  garbage_big: 2,
  text: 6,
  forged_wrongkey: 10,
  forged_crc_other: 10,
  forged_crc_active: 4,
  bomb_notrailer: 6,
  bomb_badtrailer: 6,
  bomb_wrongdigest: 4,
  bomb_crc_other: 4,
  payload_bomb: 4,
};

export function isHostileClass(s: string): s is HostileClass {
  return (HOSTILE_CLASSES as readonly string[]).includes(s);
}

/** mulberry32: small, seedable, good enough to pick bytes and positions. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytesOf(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rand() * 256);
  return b;
}

// ---- forgeries --------------------------------------------------------------------------------------------------

export interface Identity {
  readonly name: string;
  readonly uuid: Uint8Array;
  /** The generation the node runs under now (as captured). */
  readonly generation: number;
}

export type Signature =
  | { readonly kind: 'sha1'; readonly index: number; readonly key: string }
  | { readonly kind: 'crc'; readonly index: number }
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed' };

/** Trailer bytes for a body: a real digest (of the given key), crc under any index, none, or unparseable. */
export function trailerFor(body: Uint8Array, s: Signature): Buffer {
  switch (s.kind) {
    case 'sha1':
      return encodeTrailer({ index: s.index, digest: computeDigest('sha1', s.key, body) });
    case 'crc':
      return encodeTrailer({ index: s.index, digest: computeDigest('crc', '', body) });
    case 'none':
      return Buffer.alloc(0);
    case 'malformed':
      // A netstring whose value is not "<n> <hex>": the receiver cannot even read a key index from it.
      return Buffer.from('14:1 not-a-digest!,', 'latin1');
  }
}

export function signedPacket(m: WireMessage, s: Signature): Buffer {
  const body = encodeNetstringBody(m);
  return Buffer.concat([body, trailerFor(body, s)]);
}

/** A status message as the node itself would send it (field order of heartbeat.c), padded to `padTo` bytes. */
export function statusMessage(
  id: Identity,
  seq: number,
  generation: number,
  o: { deadtimeMs?: number; padTo?: number; tsSeconds?: number } = {},
): WireMessage {
  let m = addControlFields(statusBody('active', o.deadtimeMs ?? 10_000), {
    src: id.name,
    srcuuid: id.uuid,
    seq,
    generation,
    tsSeconds: o.tsSeconds ?? Math.floor(Date.now() / 1000),
    loadavg: '0.42 0.30 0.25 2/117 28385',
    ttl: 4,
    destuuid: undefined,
  });
  if (o.padTo !== undefined) {
    const base = encodeNetstringBody(m).length + 60;
    if (o.padTo > base) m = { fields: [...m.fields, str('pad', 'x'.repeat(o.padTo - base))] };
  }
  return m;
}

// ---- decompression bombs ----------------------------------------------------------------------------------------

export interface BombShape {
  /** (4) fields per level, outermost first: [4, 4, 4] is three levels of four, 64 leaves. */
  readonly fanouts: readonly number[];
  /** Each leaf inflates to a netstring body of this many bytes (one binary field of zeros); at most 256 KiB. */
  readonly leafBytes: number;
}

export interface Bomb {
  /** The outermost `###\n ... %%%\n` body (no trailer). */
  readonly body: Buffer;
  /** Bytes a receiver that parses the whole tree inflates (leaves and every level below the packet). */
  readonly inflatedBytes: number;
  readonly leaves: number;
  readonly depth: number;
}

function nsItem(item: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${item.length}:`, 'latin1'), item, Buffer.from(',', 'latin1')]);
}

function nsBody(items: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('###\n', 'latin1'), ...items.map(nsItem), Buffer.from('%%%\n', 'latin1')]);
}

const zeroLeaf = new Map<number, Buffer>();

/** A netstring body of `bytes` bytes (one less when the length's digits do not fit): `###\n<len>:(1)z=<zeros>,%%%\n`. */
export function leafBody(bytes: number): Buffer {
  const cached = zeroLeaf.get(bytes);
  if (cached !== undefined) return cached;
  // 4 + digits + 1 + 4 ("(1)z=") + n + 1 + 4 = bytes
  let n = bytes - 14 - String(bytes).length;
  while (4 + String(n + 5).length + 1 + 5 + n + 1 + 4 > bytes) n--;
  const b = nsBody([Buffer.concat([Buffer.from('(1)z=', 'latin1'), Buffer.alloc(n)])]);
  zeroLeaf.set(bytes, b);
  return b;
}

/** Nested (4) fields, each level's body deflated once and repeated `fanout` times under numbered names. */
export function buildBomb(shape: BombShape, extra: readonly Buffer[] = []): Bomb {
  if (shape.leafBytes > MAX_MESSAGE_BYTES) throw new RangeError('a leaf larger than 256 KiB is refused by inflate');
  let body = leafBody(shape.leafBytes);
  let inflated = body.length;
  let leaves = 1;
  for (let level = shape.fanouts.length - 1; level >= 0; level--) {
    const fanout = shape.fanouts[level] ?? 1;
    const z = deflateSync(body, { level: 9 });
    const items: Buffer[] = level === 0 ? [...extra] : [];
    for (let i = 0; i < fanout; i++) items.push(Buffer.concat([Buffer.from(`(4)c${i}=`, 'latin1'), z]));
    const next = nsBody(items);
    if (level > 0 && next.length > MAX_MESSAGE_BYTES) throw new RangeError(`level ${level} body over 256 KiB`);
    inflated = fanout * inflated + (level > 0 ? next.length : 0);
    leaves *= fanout;
    body = next;
  }
  return { body, inflatedBytes: inflated, leaves, depth: shape.fanouts.length };
}

/** The largest fan-out of a one-level bomb whose body fits in `packetBytes`. */
export function flatFanoutFor(packetBytes: number, leafBytes: number): number {
  const one = buildBomb({ fanouts: [1], leafBytes }).body.length - 8;
  return Math.max(1, Math.floor((packetBytes - 8 - 60) / (one + 2)));
}

/** Heartbeat's whole-message compression: the inflated payload is a full netstring message. */
export function payloadBomb(inner: Buffer, s: Signature, plausible: readonly Buffer[] = []): Buffer {
  const m = nsBody([
    ...plausible,
    Buffer.concat([Buffer.from('(1)_compressed_payload=', 'latin1'), deflateSync(inner, { level: 9 })]),
    Buffer.from('(0)_compression_algorithm=zlib', 'latin1'),
  ]);
  return Buffer.concat([m, trailerFor(m, s)]);
}

// ---- captured packets -------------------------------------------------------------------------------------------

export interface Captured {
  readonly bytes: Buffer;
  readonly info: ControlInfo;
}

/** Parses captured datagrams; those that are not Heartbeat packets are left out. */
export function parseCaptured(packets: readonly Buffer[]): Captured[] {
  const out: Captured[] = [];
  for (const bytes of packets) {
    const d = decodePacket(bytes);
    if (!d.ok) continue;
    const c = readControl(d.packet.message);
    if (c.ok) out.push({ bytes, info: c.info });
  }
  return out;
}

/** What the captures say about each node: its uuid and its latest generation. */
export function identities(captured: readonly Captured[]): Identity[] {
  const byName = new Map<string, Identity>();
  for (const c of captured) {
    if (c.info.srcuuid === undefined || c.info.generation === undefined) continue;
    const prev = byName.get(c.info.src);
    if (prev === undefined || c.info.generation >= prev.generation)
      byName.set(c.info.src, { name: c.info.src, uuid: c.info.srcuuid, generation: c.info.generation });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

// ---- the mix ----------------------------------------------------------------------------------------------------

export interface MixInput {
  /** Authentic packets of the nodes' current generations, captured just before the flood. */
  readonly current: readonly Captured[];
  /** Authentic packets captured before a node's restart (an older generation). */
  readonly oldGeneration: readonly Captured[];
  /** Cluster nodes as the captures show them. */
  readonly nodes: readonly Identity[];
  /** A node name no cluster node has (a forged newcomer). */
  readonly foreignName: string;
  readonly deadtimeMs: number;
  readonly seed: number;
  /** Packets per class in one cycle (DEFAULT_MIX); classes at 0 are left out. */
  readonly mix: Readonly<Record<HostileClass, number>>;
  /** Cycles in the file: the sender loops over it, so distinct forged seqnos = cycles x their share. */
  readonly cycles: number;
  /** Upper bound on what one bomb asks a receiver to inflate (bytes); keeps the lab machine alive. */
  readonly maxBombBytes: number;
  /** The forged status messages' `ts` (Unix seconds); now by default. Fixed, the mix is the same on every call. */
  readonly tsSeconds?: number;
}

export interface MixPacket {
  readonly cls: HostileClass;
  readonly bytes: Buffer;
}

const TEXTS: readonly ((rand: () => number) => Buffer)[] = [
  () => Buffer.from('GET / HTTP/1.1\r\nHost: 192.168.1.29:694\r\nUser-Agent: curl/8.0\r\n\r\n', 'latin1'),
  // Classic text: thousands of name=value lines and an auth line that cannot verify.
  (rand) => {
    let s = '>>>\nt=status\nst=active\nsrc=linux1\nseq=1\nhg=1\nts=1\n';
    while (s.length < 60_000) s += `f${Math.floor(rand() * 1e9)}=${'v'.repeat(Math.floor(rand() * 20) + 1)}\n`;
    return Buffer.from(`${s}auth=1 ${'0'.repeat(40)}\n<<<\n`, 'latin1');
  },
  // Netstring: 4096 one-byte fields, then a trailer that cannot verify.
  () => {
    const body = nsBody(Array.from({ length: 4096 }, (_, i) => Buffer.from(`(0)${(i % 10).toString()}=x`, 'latin1')));
    return Buffer.concat([body, encodeTrailer({ index: 1, digest: '0'.repeat(40) })]);
  },
  // Structs nested deeper than any receiver allows.
  () => {
    let b = nsBody([Buffer.from('(0)t=status', 'latin1')]);
    for (let i = 0; i < 12; i++) b = nsBody([Buffer.concat([Buffer.from('(2)s=', 'latin1'), b])]);
    return Buffer.concat([b, encodeTrailer({ index: 1, digest: '0'.repeat(40) })]);
  },
  // Lengths that overrun, absurd digits, only markers.
  () => Buffer.from('###\n99999999:(0)t=status,%%%\n', 'latin1'),
  () => Buffer.from('###\n%%%\n%%%\n%%%\n', 'latin1'),
  (rand) => Buffer.from(`###\n${'9'.repeat(Math.floor(rand() * 2000) + 20)}`, 'latin1'),
  () => Buffer.from('<<<\n>>>\n', 'latin1'),
];

/** The bomb shapes a mix rotates through, each asking for at most `maxBytes` of inflation. */
export function bombShapes(maxBytes: number, packetBytes: number): BombShape[] {
  const leaf = 256 * 1024 - 64;
  const cap = (n: number): number => Math.max(1, Math.min(n, Math.floor(maxBytes / leaf)));
  const flat = cap(flatFanoutFor(packetBytes, leaf));
  const per = (levels: number): number => Math.max(1, Math.floor(Math.pow(cap(Infinity), 1 / levels)));
  return [
    { fanouts: [flat], leafBytes: leaf },
    { fanouts: [per(2), per(2)], leafBytes: leaf },
    { fanouts: [per(4), per(4), per(4), per(4)], leafBytes: leaf },
    { fanouts: [1, 1, 1, 1, 1, 1, per(2), per(2)], leafBytes: leaf },
  ];
}

/** Positions of the `)` closing each field's type tag (`<len>:(t)name=...`) in a netstring packet. */
export function typeTagEnds(p: Buffer): number[] {
  const out: number[] = [];
  for (let i = 2; i + 1 < p.length; i++) if (p[i] === 0x28 && p[i - 1] === 0x3a && p[i + 2] === 0x29) out.push(i + 2);
  return out;
}

/**
 * Random bytes flipped; every fourth packet instead gets one field's type tag broken (`(0)` → `(0` + another
 * byte) with everything else, the trailer included, intact: the flip a parser that asserts on the tag meets.
 */
export function flip(rand: () => number, p: Buffer, n: number): Buffer {
  const b = Buffer.from(p);
  if (n % 4 === 3) {
    const tags = typeTagEnds(b);
    const at = tags[Math.floor(rand() * tags.length)];
    if (at !== undefined) {
      b[at] = 0x58;
      return b;
    }
  }
  const count = 1 << Math.floor(rand() * 4);
  for (let i = 0; i < count; i++) {
    const at = Math.floor(rand() * b.length);
    b[at] = (b[at] ?? 0) ^ (1 + Math.floor(rand() * 255));
  }
  return b;
}

/**
 * One file's worth of packets: `cycles` rounds of the mix, interleaved (each round shuffled) so every class is spread
 * evenly over time. Forged seqnos keep rising across rounds.
 */
export function buildMix(inp: MixInput): MixPacket[] {
  const rand = seeded(inp.seed);
  const tsSeconds = inp.tsSeconds ?? Math.floor(Date.now() / 1000);
  const wrongKey: Signature = { kind: 'sha1', index: 1, key: 'NotTheClusterKey' };
  const forgedSeq = new Map<string, number>();
  const nextSeq = (who: string, start: number): number => {
    const s = (forgedSeq.get(who) ?? start) + 1;
    forgedSeq.set(who, s);
    return s;
  };
  const cluster = inp.nodes.filter((n) => n.name !== inp.foreignName);
  const foreign: Identity = { name: inp.foreignName, uuid: randomBytesOf(rand, 16), generation: 1 };
  const victims = [...cluster, foreign];
  let victim = 0;
  const pickVictim = (): Identity => victims[victim++ % victims.length]!;
  const lastSeq = new Map<string, number>();
  for (const c of inp.current) lastSeq.set(c.info.src, Math.max(lastSeq.get(c.info.src) ?? 0, c.info.seq ?? 0));

  // A flat bomb of 16 KB: the fragments of 60 KB ones would cost the lab's two cores more than the bomb costs the
  // receiver; the nested shapes ask as much from under 4 KB.
  const shapes = bombShapes(inp.maxBombBytes, 16_000);
  const bombs = shapes.map((s) => buildBomb(s));
  let bombAt = 0;
  const nextBomb = (): Bomb => bombs[bombAt++ % bombs.length]!;
  // A plausible status header ahead of the payload, so a receiver that reads `t` first sees a status.
  const plausible = [Buffer.from('(0)t=status', 'latin1'), Buffer.from(`(0)src=${cluster[0]?.name ?? 'linux1'}`)];
  const innerForPayload = buildBomb(shapes[1] ?? { fanouts: [1], leafBytes: 1024 }, plausible).body;
  let payloadVariant = 0;
  let textAt = 0;
  let flips = 0;
  const bigSizes = [MAX_UDP_PAYLOAD, 65_000, 64 * 1024 - 29, 60_000, 32_768, 16_384, 8192, 4096, 1473];
  let bigAt = 0;

  const make = (cls: HostileClass): Buffer | undefined => {
    switch (cls) {
      case 'replay':
        return inp.current.length === 0 ? undefined : inp.current[Math.floor(rand() * inp.current.length)]!.bytes;
      case 'replay_oldgen':
        return inp.oldGeneration.length === 0
          ? undefined
          : inp.oldGeneration[Math.floor(rand() * inp.oldGeneration.length)]!.bytes;
      case 'flipped': {
        const src = inp.current.length > 0 ? inp.current : inp.oldGeneration;
        return src.length === 0 ? undefined : flip(rand, src[Math.floor(rand() * src.length)]!.bytes, flips++);
      }
      case 'garbage':
        return randomBytesOf(rand, 1 + Math.floor(rand() * 1472));
      case 'garbage_big': {
        const n = bigSizes[bigAt++ % bigSizes.length]!;
        return randomBytesOf(rand, n);
      }
      case 'text':
        return TEXTS[textAt++ % TEXTS.length]!(rand);
      case 'forged_wrongkey': {
        const id = pickVictim();
        const seq = nextSeq(`wk ${id.name}`, (lastSeq.get(id.name) ?? 0) + 1000);
        return signedPacket(statusMessage(id, seq, id.generation, { deadtimeMs: inp.deadtimeMs, tsSeconds }), wrongKey);
      }
      case 'forged_crc_other': {
        const id = pickVictim();
        const seq = nextSeq(`crc2 ${id.name}`, 0);
        return signedPacket(statusMessage(id, seq, id.generation + 1, { deadtimeMs: inp.deadtimeMs, tsSeconds }), {
          kind: 'crc',
          index: 2,
        });
      }
      case 'forged_crc_active': {
        const id = pickVictim();
        const seq = nextSeq(`crc1 ${id.name}`, (lastSeq.get(id.name) ?? 0) + 1000);
        return signedPacket(statusMessage(id, seq, id.generation, { deadtimeMs: inp.deadtimeMs, tsSeconds }), {
          kind: 'crc',
          index: 1,
        });
      }
      case 'bomb_notrailer':
        return nextBomb().body;
      case 'bomb_badtrailer': {
        const b = nextBomb().body;
        return Buffer.concat([b, trailerFor(b, { kind: 'malformed' })]);
      }
      case 'bomb_wrongdigest': {
        const b = nextBomb().body;
        return Buffer.concat([b, trailerFor(b, wrongKey)]);
      }
      case 'bomb_crc_other': {
        const b = nextBomb().body;
        return Buffer.concat([b, trailerFor(b, { kind: 'crc', index: 2 })]);
      }
      case 'payload_bomb': {
        const sigs: Signature[] = [wrongKey, { kind: 'crc', index: 2 }, { kind: 'none' }];
        return payloadBomb(innerForPayload, sigs[payloadVariant++ % sigs.length]!, plausible);
      }
    }
  };

  const out: MixPacket[] = [];
  const round: HostileClass[] = [];
  for (const cls of HOSTILE_CLASSES) for (let i = 0; i < inp.mix[cls]; i++) round.push(cls);
  // Big garbage is costly to hold many copies of: a few distinct ones, reused (the receiver cannot tell).
  const bigCache: Buffer[] = [];
  for (let c = 0; c < inp.cycles; c++) {
    const order = round.slice();
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const cls of order) {
      let bytes: Buffer | undefined;
      if (cls === 'garbage_big' && bigCache.length >= 2 * bigSizes.length) bytes = bigCache[bigAt++ % bigCache.length];
      else bytes = make(cls);
      if (cls === 'garbage_big' && bytes !== undefined && bigCache.length < 2 * bigSizes.length) bigCache.push(bytes);
      if (bytes !== undefined && bytes.length <= MAX_UDP_PAYLOAD) out.push({ cls, bytes });
    }
  }
  return out;
}

/** The flood sender's file: per packet one byte of class index, a 4-byte big-endian length, the bytes. */
export function encodePacketFile(packets: readonly MixPacket[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of packets) {
    const h = Buffer.alloc(5);
    h[0] = HOSTILE_CLASSES.indexOf(p.cls);
    h.writeUInt32BE(p.bytes.length, 1);
    parts.push(h, p.bytes);
  }
  return Buffer.concat(parts);
}

/** Counts per class and bytes, for the report. */
export function mixSummary(packets: readonly MixPacket[]): Record<string, { packets: number; bytes: number }> {
  const out: Record<string, { packets: number; bytes: number }> = {};
  for (const p of packets) {
    const e = (out[p.cls] ??= { packets: 0, bytes: 0 });
    e.packets++;
    e.bytes += p.bytes.length;
  }
  return out;
}
