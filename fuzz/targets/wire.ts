/**
 * The wire: the codec's decoders (splitSigned, decodeSigned, decodePacket: "never throw", a reason instead) and the
 * receiving endpoint (WireProtocol.receive: "never throws", and never drops a packet as `internal`, which would mean
 * a bug on the path every hostile byte takes).
 *
 * Inputs are built, not guessed: netstring trees with correct lengths (nested structs, lists, `(4)` fields holding
 * real zlib data, whole-message `_compressed_payload`, inflate bombs, nesting past MAX_DEPTH), classic text, and the
 * captured Heartbeat packets of test/fixtures/vectors; then byte-level edits (bit flips, truncation, insertion of the
 * format's own delimiters, splicing, length-field corruption); then, often, a fresh signature over the edited bytes,
 * so that the receiver's decoder sees authentic but broken packets and not only digest mismatches.
 */
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import type { AuthKeys, AuthMethod } from '../../src/config/types.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { addInnerAuth, computeDigest } from '../../src/wire/auth.js';
import { type Decompressor, zlibInflate } from '../../src/wire/compress.js';
import {
  type DecodeResult,
  type SplitResult,
  decodePacket,
  decodeSigned,
  encodeClassic,
  encodeNetstringBody,
  encodeTrailer,
  splitSigned,
} from '../../src/wire/codec.js';
import {
  MAX_DEPTH,
  MAX_FIELDS,
  MAX_MESSAGE_BYTES,
  type Field,
  type WireMessage,
  bin,
  str,
} from '../../src/wire/message.js';
import { statusBody } from '../../src/wire/messages.js';
import { DROP_REASONS, type ReceiveResult, WireProtocol } from '../../src/wire/protocol.js';
import { readPcap } from '../../test/helpers/pcap.js';
import { ContractViolation, type SyncTarget, unexpectedThrow } from '../engine.js';
import { type Mutation, PROTOTYPE_KEYS, applyMutation, mutationArb, showBytes } from '../mutate.js';

// ---------------------------------------------------------------------------------------------
// Byte strings (one char per byte) and signing

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const ns = (s: string): string => `${s.length}:${s},`;

interface Key {
  readonly index: number;
  readonly method: AuthMethod;
  readonly key: string;
}

function digest(k: Key, signed: string): string {
  return computeDigest(k.method, k.key, bytes(signed));
}

/**
 * A fresh signature over whatever the bytes are now, found the way the receiver finds it: netstring signs up to the
 * last `%%%\n`; classic gets an `auth=` line before `<<<\n` covering the rest of the body. Returns the bytes
 * unchanged when there is nothing to sign (no `%%%\n`, no classic frame).
 */
function sign(s: string, k: Key): string {
  return signed(s, k).bytes;
}

/** `sign`, and the exact bytes the new signature covers (undefined when nothing was signed). */
function signed(s: string, k: Key): { bytes: string; covers: string | undefined } {
  if (s.startsWith('###\n')) {
    const end = s.lastIndexOf('%%%\n');
    if (end < 4) return { bytes: s, covers: undefined };
    const covers = s.slice(0, end + 4);
    return { bytes: covers + latin1(encodeTrailer({ index: k.index, digest: digest(k, covers) })), covers };
  }
  if (s.startsWith('>>>\n') && s.endsWith('<<<\n') && s.length >= 8) {
    const candidate = `${s.slice(0, -4)}auth=${k.index} 0\n<<<\n`;
    const sp = splitSigned(bytes(candidate));
    if (!sp.ok || sp.parts.auth === undefined) return { bytes: candidate, covers: undefined };
    const at = candidate.indexOf('\nauth=', 3);
    const lineEnd = candidate.indexOf('\n', at + 1);
    const covers = latin1(sp.parts.signed);
    return {
      bytes: `${candidate.slice(0, at + 1)}auth=${k.index} ${digest(k, covers)}${candidate.slice(lineEnd)}`,
      covers,
    };
  }
  return { bytes: s, covers: undefined };
}

// ---------------------------------------------------------------------------------------------
// Seeds: captured packets, inflate bombs

const VECTORS = fileURLToPath(new URL('../../../test/fixtures/vectors/', import.meta.url));
/** The captured Heartbeat 3.0.6 packets (key `1 sha1 MaClefSecrete`). */
const CAPTURED: readonly string[] = await (async () => {
  const out: string[] = [];
  for (const f of (await readdir(VECTORS)).filter((n) => n.startsWith('hb-') && n.endsWith('.pcap')).sort()) {
    for (const p of await readPcap(VECTORS + f)) if (p.payload.length > 0) out.push(latin1(p.payload));
  }
  return out;
})();
const LAB_KEY: Key = { index: 1, method: 'sha1', key: 'MaClefSecrete' };

// Computed once: deflating a megabyte per input would be the fuzzer's cost, not the decoder's.
const zeros = (n: number): string => latin1(deflateSync(Buffer.alloc(n, 0x30)));
const BOMBS: readonly { readonly size: number; readonly z: string }[] = [
  1000,
  MAX_MESSAGE_BYTES - 8,
  MAX_MESSAGE_BYTES,
  MAX_MESSAGE_BYTES + 1,
  4 * MAX_MESSAGE_BYTES,
].map((size) => ({ size, z: zeros(size) }));
/** A netstring body of `size` bytes (one padded field), deflated: inflates to a valid message that is too big. */
const BIG_BODIES: readonly string[] = [MAX_MESSAGE_BYTES / 2, MAX_MESSAGE_BYTES - 64, MAX_MESSAGE_BYTES + 64].map(
  (size) => latin1(deflateSync(bytes(`###\n${ns(`(0)pad=${'z'.repeat(size)}`)}%%%\n`))),
);

// ---------------------------------------------------------------------------------------------
// Netstring trees with correct lengths

type Value =
  | { readonly k: 'raw'; readonly s: string }
  | { readonly k: 'list'; readonly items: readonly string[] }
  | { readonly k: 'body'; readonly fields: readonly Node[] }
  | { readonly k: 'zbody'; readonly fields: readonly Node[]; readonly tail: string }
  | { readonly k: 'zraw'; readonly s: string }
  | { readonly k: 'bomb'; readonly n: number }
  | { readonly k: 'bigbody'; readonly n: number };

interface Node {
  readonly code: string;
  readonly name: string;
  readonly v: Value;
}

const NAMES = [
  't',
  'src',
  'seq',
  'hg',
  'ts',
  'ld',
  'ttl',
  'srcuuid',
  'dest',
  'destuuid',
  'st',
  'dt',
  'protocol',
  'firstseq',
  'lastseq',
  'ackseq',
  'info',
  'auth',
  '_compressed_payload',
  '_compression_algorithm',
  'nodelist',
  'delnodelist',
  'rsc_hold',
  'x',
  '(',
  '(0)x',
  'a=b',
  'a\nb',
  'a\0b',
  ...PROTOTYPE_KEYS,
];
const VALUES = [
  'status',
  'NS_rexmit',
  'NS_ackmsg',
  'active',
  'up',
  'dead',
  '1',
  '0',
  'ff',
  '6553f1a0',
  'zlib',
  'bz2',
  'linux1',
  'linux2',
  '1 abc',
  '0.12 0.05 0.01 1/94 3333',
  ' ',
  '\n',
  '\x13',
  '\x14',
  '###\n',
  '%%%\n',
  '>>>\n',
  '<<<\n',
];

const byte = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const byteString = (max: number): fc.Arbitrary<string> => fc.string({ unit: byte, maxLength: max });
const fieldName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z_]{1,8}$/) },
  { weight: 1, arbitrary: byteString(8) },
);
const fieldValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...VALUES) },
  { weight: 4, arbitrary: byteString(24) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 5000 }).map((n) => 'v'.repeat(n)) },
);
/** The type digit: mostly the one the value's shape calls for, sometimes any other (type confusion). */
const codeFor = (natural: string): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(natural) },
    { weight: 1, arbitrary: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '9', 'x', '', '00') },
  );

const tree = fc.letrec<{ node: Node; fields: Node[]; body: Value; zbody: Value }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true, maxDepth: 10 },
    {
      weight: 6,
      arbitrary: fc.record({ code: codeFor('0'), name: fieldName, v: fieldValue.map((s): Value => ({ k: 'raw', s })) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        code: codeFor('1'),
        name: fieldName,
        v: byteString(40).map((s): Value => ({ k: 'raw', s })),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        code: codeFor('3'),
        name: fieldName,
        v: fc.array(byteString(10), { maxLength: 4 }).map((items): Value => ({ k: 'list', items })),
      }),
    },
    { weight: 2, arbitrary: fc.record({ code: codeFor('2'), name: fieldName, v: tie('body') }) },
    { weight: 1, arbitrary: fc.record({ code: codeFor('5'), name: fieldName, v: tie('body') }) },
    { weight: 1, arbitrary: fc.record({ code: codeFor('4'), name: fieldName, v: tie('zbody') }) },
    {
      weight: 1,
      arbitrary: fc.record({
        code: codeFor('4'),
        name: fieldName,
        v: fc.oneof(
          byteString(60).map((s): Value => ({ k: 'zraw', s })),
          fc.nat({ max: BOMBS.length - 1 }).map((n): Value => ({ k: 'bomb', n })),
          fc.nat({ max: BIG_BODIES.length - 1 }).map((n): Value => ({ k: 'bigbody', n })),
        ),
      }),
    },
  ),
  fields: fc.array(tie('node'), { maxLength: 6 }),
  body: tie('fields').map((fields): Value => ({ k: 'body', fields })),
  zbody: fc
    .record({ fields: tie('fields'), tail: fc.constantFrom('', '', '12:1 0123456789,', 'x') })
    .map(({ fields, tail }): Value => ({ k: 'zbody', fields, tail })),
}));

function value(v: Value): string {
  switch (v.k) {
    case 'raw':
      return v.s;
    case 'list':
      return v.items.map(ns).join('');
    case 'body':
      return body(v.fields);
    case 'zbody':
      return latin1(deflateSync(bytes(body(v.fields) + v.tail)));
    case 'zraw':
      return latin1(deflateSync(bytes(v.s)));
    case 'bomb':
      return BOMBS[v.n]?.z ?? '';
    case 'bigbody':
      return BIG_BODIES[v.n] ?? '';
  }
}

function body(fields: readonly Node[]): string {
  let out = '###\n';
  for (const f of fields) out += ns(`(${f.code})${f.name}=${value(f.v)}`);
  return `${out}%%%\n`;
}

/** Structs nested `depth` deep around a leaf: MAX_DEPTH is 8, so 7 to 11 straddles it. */
function nested(depth: number, code: string): string {
  let inner = body([{ code: '0', name: 'leaf', v: { k: 'raw', s: 'x' } }]);
  for (let i = 0; i < depth; i++) {
    inner = `###\n${ns(`(${code})s${i}=${code === '4' ? latin1(deflateSync(bytes(inner))) : inner}`)}%%%\n`;
  }
  return inner;
}

// ---------------------------------------------------------------------------------------------
// Classic text

type ClassicLine =
  | { readonly k: 'str'; readonly name: string; readonly value: string }
  | { readonly k: 'bin'; readonly name: string; readonly b64: string }
  | { readonly k: 'struct'; readonly name: string; readonly lines: readonly ClassicLine[] }
  | { readonly k: 'list'; readonly name: string; readonly items: readonly string[] }
  | { readonly k: 'raw'; readonly line: string };

const classicTree = fc.letrec<{ line: ClassicLine; lines: ClassicLine[] }>((tie) => ({
  line: fc.oneof(
    { depthSize: 'small', maxDepth: 10 },
    { weight: 6, arbitrary: fc.record({ k: fc.constant('str' as const), name: fieldName, value: fieldValue }) },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant('bin' as const),
        name: fieldName,
        b64: fc.oneof(
          fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('base64')),
          fc.stringMatching(/^[A-Za-z0-9+/=]{0,12}$/),
        ),
      }),
    },
    { weight: 2, arbitrary: fc.record({ k: fc.constant('struct' as const), name: fieldName, lines: tie('lines') }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('list' as const),
        name: fieldName,
        items: fc.array(byteString(8), { maxLength: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant('raw' as const),
        line: fc.oneof(
          byteString(20),
          fc.constantFrom('(4)x=y', '(9)x=y', '=x', 'x=', '(1)x=@@@', 'auth=1 ab', 'auth=99 ab'),
        ),
      }),
    },
  ),
  lines: fc.array(tie('line'), { maxLength: 5 }),
}));

function classicText(lines: readonly ClassicLine[], depth: number): string {
  const nl = depth === 0 ? '\n' : String.fromCharCode(19 + depth);
  const line = (l: ClassicLine): string => {
    switch (l.k) {
      case 'str':
        return `${l.name}=${l.value.replaceAll('\n', '\x13')}`;
      case 'bin':
        return `(1)${l.name}=${l.b64}`;
      case 'struct':
        return `(2)${l.name}=${classicText(l.lines, depth + 1)}`;
      case 'list':
        return `(3)${l.name}=${l.items.map(ns).join('')}`;
      case 'raw':
        return l.line;
    }
  };
  return `>>>${nl}${lines.map((l) => line(l) + nl).join('')}<<<${nl}`;
}

// ---------------------------------------------------------------------------------------------
// wire-decode

const DECODE_KEYS: readonly Key[] = [
  LAB_KEY,
  { index: 2, method: 'md5', key: 'k2' },
  { index: 3, method: 'crc', key: '' },
  { index: 15, method: 'sha512', key: 'k15' },
];

type Seed =
  | { readonly k: 'tree'; readonly fields: readonly Node[] }
  | {
      readonly k: 'payload';
      readonly inner: readonly Node[];
      readonly tail: string;
      readonly algo: string;
      readonly extra: readonly Node[];
      readonly zfield: boolean;
    }
  | { readonly k: 'payload-bomb'; readonly n: number; readonly big: boolean }
  | { readonly k: 'nested'; readonly depth: number; readonly code: string }
  | { readonly k: 'many'; readonly n: number }
  | { readonly k: 'classic'; readonly lines: readonly ClassicLine[] }
  | { readonly k: 'captured'; readonly n: number }
  | { readonly k: 'bytes'; readonly s: string };

interface Packet {
  readonly seed: Seed;
  /** Which key signs the seed (index into DECODE_KEYS), or none. */
  readonly signWith: number | null;
  readonly mutation: Mutation | null;
  /** Sign again after the edits: an authentic packet with broken content. */
  readonly resign: boolean;
}

const seedArb: fc.Arbitrary<Seed> = fc.oneof(
  { weight: 10, arbitrary: tree.fields.map((fields): Seed => ({ k: 'tree', fields })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        inner: tree.fields,
        tail: fc.constantFrom('', '', '12:1 0123456789,', '1:x,', 'junk'),
        algo: fc.constantFrom('zlib', 'zlib', 'bz2', ''),
        extra: fc.array(tree.node, { maxLength: 2 }),
        zfield: fc.boolean(),
      })
      .map((r): Seed => ({ k: 'payload', ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ n: fc.nat({ max: BOMBS.length - 1 }), big: fc.boolean() })
      .map((r): Seed => ({ k: 'payload-bomb', ...r })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ depth: fc.integer({ min: 6, max: 11 }), code: fc.constantFrom('2', '5', '4') })
      .map((r): Seed => ({ k: 'nested', ...r })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(MAX_FIELDS - 1, MAX_FIELDS, MAX_FIELDS + 1).map((n): Seed => ({ k: 'many', n })),
  },
  { weight: 3, arbitrary: classicTree.lines.map((lines): Seed => ({ k: 'classic', lines })) },
  { weight: 3, arbitrary: fc.nat({ max: CAPTURED.length - 1 }).map((n): Seed => ({ k: 'captured', n })) },
  { weight: 1, arbitrary: byteString(80).map((s): Seed => ({ k: 'bytes', s })) },
);

function seedText(s: Seed): string {
  switch (s.k) {
    case 'tree':
      return body(s.fields);
    case 'payload': {
      const payload = latin1(deflateSync(bytes(body(s.inner) + s.tail)));
      const fields: Node[] = [
        { code: '1', name: '_compressed_payload', v: { k: 'raw', s: payload } },
        ...(s.algo === '' ? [] : [{ code: '0', name: '_compression_algorithm', v: { k: 'raw' as const, s: s.algo } }]),
        ...s.extra,
      ];
      if (s.zfield) fields.push({ code: '4', name: 'z', v: { k: 'zbody', fields: [], tail: '' } });
      return body(fields);
    }
    case 'payload-bomb':
      return body([
        {
          code: '1',
          name: '_compressed_payload',
          v: { k: 'raw', s: s.big ? (BIG_BODIES[s.n % BIG_BODIES.length] ?? '') : (BOMBS[s.n]?.z ?? '') },
        },
        { code: '0', name: '_compression_algorithm', v: { k: 'raw', s: 'zlib' } },
      ]);
    case 'nested':
      return nested(s.depth, s.code);
    case 'many':
      return `###\n${'5:(0)a=x,'.repeat(s.n)}%%%\n`.replaceAll('5:(0)a=x,', '7:(0)a=x,');
    case 'classic':
      return classicText(s.lines, 0);
    case 'captured':
      return CAPTURED[s.n] ?? '';
    case 'bytes':
      return s.s;
  }
}

const WIRE_TOKENS = [
  '###\n',
  '%%%\n',
  '>>>\n',
  '<<<\n',
  '\nauth=',
  'auth=1 ',
  ',',
  ':',
  '=',
  '(0)',
  '(1)',
  '(2)',
  '(3)',
  '(4)',
  '(5)',
  '(9)',
  '0:',
  '1:',
  '9:',
  '99999999:',
  '\x13',
  '\x14',
  '\x15',
  '\n',
  '\0',
  '\xff',
  '1 ',
  '15 ',
  '16 ',
];

const CAPTURED_DONOR: fc.Arbitrary<string> = fc.nat({ max: CAPTURED.length - 1 }).map((n) => CAPTURED[n] ?? '');

const packetArb: fc.Arbitrary<Packet> = fc.record({
  seed: seedArb,
  signWith: fc.option(fc.nat({ max: DECODE_KEYS.length - 1 }), { freq: 6, nil: null }),
  mutation: fc.option(mutationArb(WIRE_TOKENS, 0xff, CAPTURED_DONOR), { freq: 2, nil: null }),
  resign: fc.boolean(),
});

function packetBytes(p: Packet): string {
  const key = p.signWith === null ? undefined : DECODE_KEYS[p.signWith];
  let s = seedText(p.seed);
  // A captured packet is signed already (with the lab key); signing again with another key changes only the trailer.
  if (key !== undefined && (p.seed.k !== 'captured' || key !== LAB_KEY)) {
    s = p.seed.k === 'captured' ? sign(s.slice(0, s.lastIndexOf('%%%\n') + 4), key) : sign(s, key);
  }
  if (p.mutation !== null) {
    s = applyMutation(s, p.mutation, 0xff);
    if (p.resign && key !== undefined) s = sign(s, key);
  }
  return s;
}

interface DecodeInput {
  readonly packet: Packet;
  /** A smaller limit than 256 KiB, as a medium with a small MTU would set. */
  readonly maxBytes: number | undefined;
}

const FAILURES = new Set(['too_big', 'parse', 'decompress']);

function checkSplit(r: SplitResult): void {
  if (r.ok) {
    const parts = r.parts as unknown as Record<string, unknown>;
    if (parts.format !== 'netstring' && parts.format !== 'classic') {
      throw new ContractViolation('bad format', JSON.stringify(parts.format));
    }
    if (!(parts.signed instanceof Uint8Array)) throw new ContractViolation('signed part is not bytes', '');
    return;
  }
  checkFailure('splitSigned', r);
}

function checkFailure(what: string, r: { reason: string; detail: string }): void {
  if (!FAILURES.has(r.reason)) throw new ContractViolation(`${what}: unknown failure reason`, r.reason);
  if (r.detail.startsWith('unexpected'))
    throw new ContractViolation(`${what}: unexpected exception caught inside`, r.detail);
}

/** The message shape every consumer relies on: typed fields, bounded count and depth (read as unknown). */
function checkMessage(m: unknown, depth: number): void {
  if (depth > MAX_DEPTH + 1) throw new ContractViolation('decoded message nested deeper than MAX_DEPTH', String(depth));
  const fields = (m as { fields?: unknown }).fields;
  if (!Array.isArray(fields) || fields.length > MAX_FIELDS) {
    throw new ContractViolation('decoded message without fields or with more than MAX_FIELDS', '');
  }
  for (const f of fields as unknown[]) {
    const { name, type, value } = f as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0) throw new ContractViolation('decoded field without a name', '');
    const ok =
      (type === 'string' && typeof value === 'string' && value.length > 0) ||
      (type === 'binary' && value instanceof Uint8Array && value.length > 0) ||
      (type === 'list' && Array.isArray(value) && value.length > 0 && value.every((x) => typeof x === 'string')) ||
      ((type === 'struct' || type === 'compress' || type === 'uncompress') && typeof value === 'object');
    if (!ok) throw new ContractViolation('decoded field with a bad or empty value', `${name}: ${JSON.stringify(type)}`);
    if (typeof value === 'object' && !(value instanceof Uint8Array) && !Array.isArray(value)) {
      checkMessage(value, depth + 1);
    }
  }
}

function hasCompression(m: WireMessage): boolean {
  return m.fields.some(
    (f) =>
      f.type === 'compress' ||
      f.name === '_compressed_payload' ||
      ((f.type === 'struct' || f.type === 'uncompress') && hasCompression(f.value)),
  );
}

/** Whether the last decode inflated anything (then the bytes hold zlib output, which has many encodings). */
let inflated = false;
const recordingInflate: Decompressor = (data, max) => {
  inflated = true;
  return zlibInflate(data, max);
};

function checkDecode(what: string, r: DecodeResult, input: Uint8Array): string {
  if (!r.ok) {
    checkFailure(what, r);
    return `${r.reason}:${r.detail
      .replace(/\d+/g, 'N')
      .replace(/\[.*\]|".*"/g, '…')
      .split(' ')
      .slice(0, 4)
      .join(' ')}`;
  }
  checkMessage(r.packet.message, 0);
  const p = r.packet;
  // Netstring has one encoding per message: what decodes must encode back to the very bytes that were signed.
  if (p.format === 'netstring' && !inflated && !hasCompression(p.message)) {
    let again: Buffer | undefined;
    try {
      again = encodeNetstringBody(p.message);
    } catch {
      // A field name the encoder refuses (a newline, a NUL, a leading paren): decoding such a peer's packet is fine.
      return `ok:${p.format}:not-re-encodable`;
    }
    if (!again.equals(Buffer.from(p.signed))) {
      throw new ContractViolation(
        `${what}: decoded netstring does not re-encode to its bytes`,
        showBytes(latin1(input)),
      );
    }
  }
  return `ok:${p.format}:${p.auth === undefined ? 'unsigned' : 'signed'}`;
}

function guard<R>(what: string, fn: () => R): R {
  try {
    return fn();
  } catch (e) {
    throw unexpectedThrow(what, e);
  }
}

export const wireDecodeTarget: SyncTarget<DecodeInput> = {
  kind: 'sync',
  name: 'wire-decode',
  about: 'splitSigned/decodeSigned/decodePacket (src/wire/codec.ts): never throw, bounded result, netstring round trip',
  arbitrary: () =>
    fc.record({
      packet: packetArb,
      maxBytes: fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, fc.integer({ min: 0, max: 2000 })),
    }),
  show: (i) => `{"maxBytes":${i.maxBytes ?? 'null'},"bytes":${showBytes(packetBytes(i.packet))}}`,
  run: (i) => {
    const b = bytes(packetBytes(i.packet));
    const opts =
      i.maxBytes === undefined
        ? { decompress: recordingInflate }
        : { maxBytes: i.maxBytes, decompress: recordingInflate };
    inflated = false;
    const split = guard('splitSigned', () => splitSigned(b, opts));
    checkSplit(split);
    if (split.ok) {
      // decodeSigned on its own: the receiver calls it for packets decodePacket refuses (unsigned netstring).
      const d = guard('decodeSigned', () => decodeSigned(b, split.parts, opts));
      checkDecode('decodeSigned', d, b);
    }
    inflated = false;
    const r = guard('decodePacket', () => decodePacket(b, opts));
    if (r.ok && !split.ok) throw new ContractViolation('decodePacket accepts what splitSigned refuses', '');
    if (r.ok && i.maxBytes !== undefined && b.length > i.maxBytes)
      throw new ContractViolation('packet over maxBytes decoded', '');
    return checkDecode('decodePacket', r, b);
  },
};

// ---------------------------------------------------------------------------------------------
// wire-receive

const UUIDS: readonly Uint8Array[] = [
  new Uint8Array(16).fill(0xa1),
  new Uint8Array(16).fill(0xb2),
  new Uint8Array(16).fill(0xc3),
  new Uint8Array(16),
  new Uint8Array(15).fill(0xa1),
];
const LOCAL = 'linux2';
const LOCAL_UUID = UUIDS[1] ?? new Uint8Array(16);

function authKeys(list: readonly Key[], active: number): AuthKeys {
  return {
    active,
    keys: new Map(list.map((k) => [k.index, { ...k, origin: { file: 'authkeys', line: k.index + 1 } }])),
  };
}

const K1: Key = { index: 1, method: 'sha1', key: 'k1' };
const K2: Key = { index: 2, method: 'md5', key: 'k2' };
const K3: Key = { index: 3, method: 'crc', key: '' };
const K4: Key = { index: 4, method: 'sha512', key: 'k4' };
const K9: Key = { index: 9, method: 'sha256', key: 'k9' };
/** Key configurations of the receiver: a keyed cluster with a crc line, a crc cluster, a sha512 one. */
const KEYSETS: readonly { readonly keys: AuthKeys; readonly list: readonly Key[] }[] = [
  { keys: authKeys([K1, K2, K3], 1), list: [K1, K2, K3] },
  { keys: authKeys([K3, K1], 3), list: [K3, K1] },
  { keys: authKeys([K4, K1], 4), list: [K4, K1] },
];
const SIGNERS: readonly Key[] = [K1, K2, K3, K4, K9];

const hex = (n: number): string => n.toString(16);
const seqArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 30 }).map(hex) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map(hex) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('0', 'g', '-1', '0001', 'FF', '1fffffffffffff', '20000000000000', 'fffffffffffff', ' 1'),
  },
);
const decArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map(String),
  fc.constantFrom('-1', '999999999999999', '1000000000000000', '4294967296', '1e3', '', '01'),
);

interface ProtoSpec {
  readonly t: string;
  readonly src: string;
  readonly uuid: number;
  readonly seq: string | undefined;
  readonly hg: string | undefined;
  readonly ts: string | undefined;
  readonly dest: string | undefined;
  readonly destuuid: number;
  readonly extra: readonly (readonly [string, string])[];
  /** Rotation of the field order: Heartbeat's order is not the only one a peer may send. */
  readonly rotate: number;
}

const specArb: fc.Arbitrary<ProtoSpec> = fc.record({
  t: fc.constantFrom(
    'status',
    'status',
    'NS_rexmit',
    'NS_nak_rexmit',
    'NS_ackmsg',
    'reqnodes',
    'repnodes',
    'ip-request',
    'NS_st',
    'NS_',
    'starting',
    'x',
  ),
  src: fc.constantFrom(
    'linux1',
    'linux1',
    'linux1',
    'linux3',
    LOCAL,
    '192.168.1.1',
    'ghost',
    'LINUX1',
    'x\x13y',
    'a\nb',
    '__proto__',
  ),
  uuid: fc.integer({ min: -1, max: UUIDS.length - 1 }),
  seq: fc.option(seqArb, { freq: 10, nil: undefined }),
  hg: fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('5', '5', '5', '6') },
    fc.constantFrom(undefined, '4', '7', '0', 'ffffffff', '1fffffffffffff', 'x'),
  ),
  ts: fc.oneof({ weight: 12, arbitrary: fc.constant('6553f1a0') }, fc.constantFrom(undefined, '0', 'x', '1')),
  dest: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, fc.constantFrom(LOCAL, 'linux1', 'ghost')),
  destuuid: fc.integer({ min: -1, max: UUIDS.length - 1 }),
  extra: fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom('firstseq', 'lastseq'), decArb),
      fc.tuple(fc.constantFrom('firstseq', 'ackseq'), seqArb),
      fc.tuple(
        fc.constantFrom('st', 'dt', 'protocol', 'info', 'ld', 'ttl', 'nodelist'),
        fc.constantFrom('active', 'up', '1', '7530', 'seqno too low', '4'),
      ),
      fc.tuple(fieldName, fieldValue),
    ),
    { maxLength: 4 },
  ),
  rotate: fc.nat({ max: 3 }),
});

function protoMessage(s: ProtoSpec): WireMessage {
  const fields: Field[] = [];
  const add = (name: string, v: string | undefined): void => {
    if (v !== undefined && v.length > 0) fields.push(str(name, v));
  };
  add('t', s.t);
  add('src', s.src);
  const u = UUIDS[s.uuid];
  if (u !== undefined) fields.push(bin('srcuuid', u));
  add('seq', s.seq);
  add('hg', s.hg);
  add('ts', s.ts);
  add('dest', s.dest);
  const du = UUIDS[s.destuuid];
  if (du !== undefined) fields.push(bin('destuuid', du));
  for (const [n, v] of s.extra) {
    // The encoder refuses some names (a newline, a leading paren): such a field is left out of this message.
    if (n.length > 0 && !/[=\n\r\0]/.test(n) && !n.startsWith('(')) add(n, v);
  }
  const r = fields.length === 0 ? 0 : s.rotate % fields.length;
  return { fields: [...fields.slice(r), ...fields.slice(0, r)] };
}

type Encoding = 'netstring' | 'classic' | 'inner-auth' | 'payload' | 'compress-field';

interface PacketOp {
  readonly k: 'packet';
  readonly spec: ProtoSpec;
  readonly enc: Encoding;
  /**
   * Who signs: the receiver's active key, another key it lists, any key of SIGNERS (by index; some unknown to the
   * receiver), or nobody. `bad` spoils the digest.
   */
  readonly signer: 'active' | 'listed' | number | null;
  readonly bad: boolean;
  readonly mutation: Mutation | null;
  readonly resign: boolean;
}

type Op =
  | PacketOp
  /** Deliver an earlier packet again (another medium, a replay). */
  | { readonly k: 'again'; readonly nth: number }
  /** Deliver one of the receiver's own packets back to it (bcast echo). */
  | { readonly k: 'own'; readonly nth: number }
  | { readonly k: 'advance'; readonly ms: number }
  | { readonly k: 'send' };

interface ReceiveInput {
  readonly keyset: number;
  readonly msgfmt: 'classic' | 'netstring';
  readonly floors: boolean;
  readonly historySize: number;
  readonly nodeUp: boolean;
  readonly maxRexmitDelayMs: number;
  readonly sentBefore: number;
  readonly random: number;
  readonly ops: readonly Op[];
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('packet' as const),
      spec: specArb,
      enc: fc.constantFrom<Encoding>(
        'netstring',
        'netstring',
        'netstring',
        'netstring',
        'classic',
        'inner-auth',
        'payload',
        'compress-field',
      ),
      signer: fc.oneof(
        { weight: 6, arbitrary: fc.constant('active' as const) },
        { weight: 1, arbitrary: fc.constant('listed' as const) },
        { weight: 2, arbitrary: fc.nat({ max: SIGNERS.length - 1 }) },
        { weight: 1, arbitrary: fc.constant(null) },
      ),
      bad: fc.nat({ max: 9 }).map((n) => n === 0),
      mutation: fc.oneof(
        { weight: 2, arbitrary: fc.constant(null) },
        mutationArb(WIRE_TOKENS, 0xff, CAPTURED_DONOR, 3),
      ),
      resign: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('again' as const), nth: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('own' as const), nth: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.constantFrom(10, 60, 260, 1000, 5000) }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'send' as const }) },
);

/** The packet's bytes, and every byte range a key signed on the way (before edits spoiled it, or after). */
function encode(
  op: PacketOp,
  keyset: (typeof KEYSETS)[number],
  msgfmt: 'classic' | 'netstring',
): { bytes: string; covers: string[] } {
  const covers: string[] = [];
  let m = protoMessage(op.spec);
  const signer = signerOf(op, keyset);
  if (op.enc === 'inner-auth' || (msgfmt === 'classic' && op.enc === 'netstring')) {
    try {
      m = addInnerAuth(m, keyset.keys);
    } catch {
      // A value holding the classic escape byte has no classic form: sent without the inner auth.
    }
  }
  let s: string;
  switch (op.enc) {
    case 'classic':
      try {
        s = encodeClassic(m, { head: true });
      } catch {
        s = latin1(encodeNetstringBody(m));
      }
      break;
    case 'payload':
      s = body([
        { code: '1', name: '_compressed_payload', v: { k: 'raw', s: latin1(deflateSync(encodeNetstringBody(m))) } },
        { code: '0', name: '_compression_algorithm', v: { k: 'raw', s: 'zlib' } },
      ]);
      break;
    case 'compress-field':
      s = latin1(
        encodeNetstringBody({
          fields: [...m.fields, { name: 'z', type: 'compress', value: { fields: [str('a', 'b')] } }],
        }),
      );
      break;
    case 'netstring':
    case 'inner-auth':
      s = latin1(encodeNetstringBody(m));
      break;
  }
  const signNow = (k: Key): void => {
    const r = signed(s, k);
    s = r.bytes;
    if (r.covers !== undefined) covers.push(r.covers);
  };
  if (signer !== undefined) {
    signNow(signer);
    if (op.bad) {
      s = spoil(s);
      covers.pop();
    }
  }
  if (op.mutation !== null) {
    s = applyMutation(s, op.mutation, 0xff);
    if (op.resign && signer !== undefined) signNow(signer);
  }
  return { bytes: s, covers };
}

function signerOf(op: PacketOp, keyset: (typeof KEYSETS)[number]): Key | undefined {
  if (op.signer === null) return undefined;
  if (op.signer === 'active') return keyset.list.find((k) => k.index === keyset.keys.active);
  if (op.signer === 'listed') return keyset.list.find((k) => k.index !== keyset.keys.active);
  return SIGNERS[op.signer];
}

/** The same packet with its digest's last hex digit changed. */
function spoil(s: string): string {
  const i = s.startsWith('###\n') ? s.length - 2 : s.lastIndexOf('\n<<<\n') - 1;
  if (i < 0) return s;
  const c = s.charAt(i);
  return s.slice(0, i) + (c === '0' ? '1' : '0') + s.slice(i + 1);
}

function countersTotal(rx: WireProtocol): number {
  return Object.values(rx.counters()).reduce((a, b) => a + b, 0);
}

const REASONS: ReadonlySet<string> = new Set(DROP_REASONS);

interface Endpoint {
  readonly rx: WireProtocol;
  readonly clock: SimulatedClock;
  /** The first packets it transmitted (kept for `own` echoes). */
  readonly sent: Uint8Array[];
  transmitted: number;
  /** Set by `transmit` (a throw there would land inside receive): the first bad packet it was handed. */
  badSend: string | undefined;
}

/** Packets kept per endpoint, and fully decoded: beyond, one in 64 (a rexmit storm repeats itself). */
const KEEP_SENT = 200;

function endpoint(
  i: Pick<ReceiveInput, 'keyset' | 'msgfmt' | 'floors' | 'historySize' | 'nodeUp' | 'maxRexmitDelayMs' | 'random'>,
): Endpoint {
  const clock = new SimulatedClock();
  let r = i.random >>> 0;
  const e: Endpoint = { rx: undefined as unknown as WireProtocol, clock, sent: [], transmitted: 0, badSend: undefined };
  const transmit = (p: Uint8Array): void => {
    e.transmitted++;
    if (e.sent.length < KEEP_SENT) e.sent.push(Uint8Array.from(p));
    if (p.length > MAX_MESSAGE_BYTES) e.badSend ??= `a packet of ${p.length} bytes`;
    else if (e.transmitted <= KEEP_SENT || e.transmitted % 64 === 0) {
      const d = decodePacket(p);
      if (!d.ok) e.badSend ??= `an undecodable packet (${d.detail})`;
    }
  };
  const rx = new WireProtocol({
    localNode: LOCAL,
    localUuid: LOCAL_UUID,
    generation: 5,
    nodes: ['linux1', LOCAL, 'linux3'],
    pingNodes: ['192.168.1.1'],
    keys: (KEYSETS[i.keyset] ?? KEYSETS[0])!.keys,
    msgfmt: i.msgfmt,
    ttl: 4,
    maxRexmitDelayMs: i.maxRexmitDelayMs,
    scheduler: clock,
    random: () => {
      r = (Math.imul(r, 1664525) + 1013904223) >>> 0;
      return r / 2 ** 32;
    },
    loadavg: () => '0.12 0.05 0.01 1/94 3333',
    transmit,
    isNodeUp: () => i.nodeUp,
    historySize: i.historySize,
    ...(i.floors ? { floors: new Map([['linux1', { generation: 5, seq: 3 }]]) } : {}),
  });
  (e as { rx: WireProtocol }).rx = rx;
  return e;
}

/** Every packet the endpoint transmits must be one its peers can decode. */
function checkSent(e: Endpoint, who: string): void {
  if (e.badSend !== undefined) throw new ContractViolation(`${who}: transmitted a bad packet`, e.badSend);
}

function deliver(e: Endpoint, b: Uint8Array, authentic: ReadonlySet<string>, who: string): ReceiveResult {
  const before = countersTotal(e.rx);
  let r: ReceiveResult;
  try {
    r = e.rx.receive(b);
  } catch (err) {
    throw unexpectedThrow(`${who}: receive`, err);
  }
  const loose = r as unknown as Record<string, unknown>;
  if (loose.kind === 'dropped') {
    if (loose.reason === 'internal')
      throw new ContractViolation(`${who}: receive dropped a packet as internal`, String(loose.detail));
    if (!REASONS.has(String(loose.reason)))
      throw new ContractViolation(`${who}: unknown drop reason`, String(loose.reason));
  } else if (loose.kind === 'accepted') {
    const sp = splitSigned(b);
    if (!sp.ok || !authentic.has(latin1(sp.parts.signed))) {
      throw new ContractViolation(`${who}: accepted a packet nobody with a key signed`, showBytes(latin1(b)));
    }
  } else {
    throw new ContractViolation(`${who}: result of unknown kind`, JSON.stringify(r));
  }
  if (countersTotal(e.rx) !== before + 1) throw new ContractViolation(`${who}: counters did not grow by one`, '');
  checkSent(e, who);
  return r;
}

function advance(e: Endpoint, ms: number, who: string): void {
  try {
    e.clock.advance(ms);
  } catch (err) {
    throw unexpectedThrow(`${who}: a timer callback`, err);
  }
  checkSent(e, who);
}

/** One receiver for the whole campaign: state that only piles up over a million packets shows here. */
let longLived: Endpoint | undefined;
const longLivedAuthentic = new Set<string>();

function packetsOf(i: ReceiveInput): { ops: (string | Op)[] } {
  const keyset = KEYSETS[i.keyset] ?? KEYSETS[0]!;
  return { ops: i.ops.map((op) => (op.k === 'packet' ? encode(op, keyset, i.msgfmt).bytes : op)) };
}

export const wireReceiveTarget: SyncTarget<ReceiveInput> = {
  kind: 'sync',
  name: 'wire-receive',
  about:
    'WireProtocol.receive (src/wire/protocol.ts): never throws, never drops as internal, accepts only signed packets',
  arbitrary: () =>
    fc.record({
      keyset: fc.nat({ max: KEYSETS.length - 1 }),
      msgfmt: fc.constantFrom('netstring' as const, 'classic' as const),
      floors: fc.boolean(),
      historySize: fc.constantFrom(500, 500, 4),
      nodeUp: fc.boolean(),
      maxRexmitDelayMs: fc.constantFrom(250, 50),
      sentBefore: fc.nat({ max: 6 }),
      random: fc.integer(),
      ops: fc.array(opArb, { minLength: 1, maxLength: 6 }),
    }),
  show: (i) => {
    const { ops } = packetsOf(i);
    const shown = ops.map((o) =>
      typeof o === 'string' ? `{"k":"packet","bytes":${showBytes(o)}}` : JSON.stringify(o),
    );
    const { ops: _ops, ...config } = i;
    return `{"config":${JSON.stringify(config)},"ops":[${shown.join(',')}]}`;
  },
  run: (i) => {
    const keyset = KEYSETS[i.keyset] ?? KEYSETS[0]!;
    const e = endpoint(i);
    const authentic = new Set<string>();
    const accepts = (k: Key): boolean =>
      keyset.keys.keys.has(k.index) &&
      keyset.keys.keys.get(k.index)?.key === k.key &&
      (k.method !== 'crc' || keyset.keys.active === k.index);
    // Its peers count as down: a gap then costs one NS_rexmit, not one per 250 ms of simulated time for the rest
    // of the campaign (the fresh receivers, half of them with peers up, cover the repeated requests).
    longLived ??= endpoint({
      keyset: 0,
      msgfmt: 'netstring',
      floors: false,
      historySize: 500,
      nodeUp: false,
      maxRexmitDelayMs: 250,
      random: 7,
    });
    const ll = longLived;
    const llKeys = KEYSETS[0]!;
    const llAccepts = (k: Key): boolean =>
      llKeys.keys.keys.get(k.index)?.key === k.key && (k.method !== 'crc' || llKeys.keys.active === k.index);
    for (let n = 0; n < i.sentBefore; n++) e.rx.send(statusBody('active', 30000));
    const delivered: Uint8Array[] = [];
    // The deepest outcome of the input: the first acceptance, else the last drop.
    let last = 'none';
    const note = (r: ReceiveResult): void => {
      if (last.startsWith('accepted:')) return;
      // A type from edited bytes can be anything: labels stay few.
      const type = /^[A-Za-z_-]{1,16}$/.test(r.kind === 'accepted' ? r.type : '')
        ? (r as { type: string }).type
        : 'other';
      last = r.kind === 'accepted' ? `accepted:${type}` : `drop:${r.reason}`;
    };
    for (const op of i.ops) {
      switch (op.k) {
        case 'packet': {
          const enc = encode(op, keyset, i.msgfmt);
          const signer = signerOf(op, keyset);
          const b = bytes(enc.bytes);
          if (signer !== undefined) {
            for (const c of enc.covers) {
              if (accepts(signer)) authentic.add(c);
              if (llAccepts(signer)) {
                // Bounded: the oracle's memory must not be what grows over a campaign.
                if (longLivedAuthentic.size > 1000) longLivedAuthentic.clear();
                longLivedAuthentic.add(c);
              }
            }
          }
          delivered.push(b);
          const r = deliver(e, b, authentic, 'receiver');
          note(r);
          deliver(ll, b, longLivedAuthentic, 'long-lived receiver');
          break;
        }
        case 'again':
        case 'own': {
          const from = op.k === 'again' ? delivered : e.sent;
          const b = from[op.nth % Math.max(1, from.length)];
          if (b === undefined) break;
          if (op.k === 'own') {
            const sp = splitSigned(b);
            if (sp.ok) authentic.add(latin1(sp.parts.signed));
          }
          const r = deliver(e, b, authentic, 'receiver');
          note(r);
          break;
        }
        case 'advance':
          advance(e, op.ms, 'receiver');
          advance(ll, op.ms, 'long-lived receiver');
          break;
        case 'send': {
          try {
            e.rx.send(statusBody('active', 30000));
          } catch (err) {
            throw unexpectedThrow('receiver: send of a status', err);
          }
          checkSent(e, 'receiver');
          break;
        }
      }
    }
    e.rx.stop();
    return last;
  },
};

/** Diagnostics of the campaign-long receiver (its state is what must stay bounded). */
export function longLivedState(): Record<string, number> {
  const e = longLived;
  if (e === undefined) return {};
  const inner = e.rx as unknown as Record<string, unknown>;
  const size = (k: string): number => {
    const v = inner[k];
    return v instanceof Map ? v.size : -1;
  };
  const clock = e.clock as unknown as { timers: Map<number, unknown> };
  return {
    byName: size('byName'),
    byUuid: size('byUuid'),
    recent: size('recent'),
    limited: size('limited'),
    timers: clock.timers.size,
    transmitted: e.transmitted,
    ...e.rx.counters(),
    missing: ['linux1', 'linux3', '192.168.1.1'].reduce((a, n) => a + e.rx.missingFrom(n).length, 0),
  };
}
