/**
 * Both Heartbeat wire formats (cluster-glue `cl_netstring.c` and `cl_msg.c`).
 *
 * Netstring: `###\n` then `<len>:(<type>)<name>=<value>,` per field, `%%%\n`, and the trailer
 * `<len>:<n> <hex>,` whose digest covers `###\n`..`%%%\n`. Classic: `>>>\n`, `name=value\n` lines
 * (`(N)name=` for non-strings, binary in base64, `\n` in strings as byte 0x13), `<<<\n`.
 *
 * Decoders never throw: they return a result with a reason so a hostile packet is a counted drop.
 * Encoders throw VigilError (VIGIL_ERR_MSG_FIELD / VIGIL_ERR_MSG_TOO_BIG): building a bad message is a bug.
 */
import { VigilError, errorMessage } from '../util/errors.js';
import { type Compressor, type Decompressor, zlibDeflate, zlibInflate } from './compress.js';
import {
  FIELD_TYPE_CODES,
  FIELD_TYPES_BY_CODE,
  type Field,
  MAX_DEPTH,
  MAX_FIELDS,
  MAX_MESSAGE_BYTES,
  type WireMessage,
  bytesToStr,
  checkField,
} from './message.js';

const NS_START = Buffer.from('###\n', 'latin1');
const NS_END = Buffer.from('%%%\n', 'latin1');
const CL_START = '>>>\n';
const CL_END = '<<<\n';
const CL_START_B = Buffer.from(CL_START, 'latin1');
const CL_END_B = Buffer.from(CL_END, 'latin1');
/** cluster-glue writes `\n` inside a string value as this byte in classic text. */
export const CLASSIC_NL_SYM = 0x13;
/** Newline symbol of a nested struct at a given depth (cluster-glue's SPECIAL_SYMS: 20, 21, ...). */
function structNlSym(depth: number): number {
  return 20 + depth;
}

export type WireFormat = 'netstring' | 'classic';

export interface AuthTrailer {
  /** Key index the sender used. */
  readonly index: number;
  /** The digest as sent (lowercase hex, crc without zero padding). */
  readonly digest: string;
}

export interface DecodedPacket {
  readonly format: WireFormat;
  readonly message: WireMessage;
  /** netstring: the trailer; classic: the `auth` field (removed from `message`). Absent when unsigned. */
  readonly auth: AuthTrailer | undefined;
  /** The bytes the netstring trailer signs (`###\n`..`%%%\n`); for classic, the canonical text the auth field signs. */
  readonly signed: Uint8Array;
}

export type DecodeFailure = 'too_big' | 'parse' | 'decompress';

/**
 * What a datagram's signature covers and the signature itself, found without decoding a single field: the
 * receiver checks the digest on these before it parses anything (a forged packet must cost no inflate and no
 * object graph).
 */
export interface SignedParts {
  readonly format: WireFormat;
  /** netstring: `###\n`..`%%%\n`; classic: the text between `>>>\n` and `<<<\n` without the `auth` line. */
  readonly signed: Uint8Array;
  /** Absent when the packet carries no signature at all. */
  readonly auth: AuthTrailer | undefined;
}

export type SplitResult =
  | { readonly ok: true; readonly parts: SignedParts }
  | { readonly ok: false; readonly reason: DecodeFailure; readonly detail: string };
export type DecodeResult =
  | { readonly ok: true; readonly packet: DecodedPacket }
  | { readonly ok: false; readonly reason: DecodeFailure; readonly detail: string };

export interface CodecOptions {
  readonly decompress?: Decompressor;
  readonly compress?: Compressor;
  /** Default MAX_MESSAGE_BYTES. */
  readonly maxBytes?: number;
}

/**
 * Heartbeat compresses one level only: a `(4)` field of a message, or the whole message as `_compressed_payload`.
 * Anything compressed inside compressed data, or inflating beyond this many bytes in total for one packet, is a bomb.
 */
export const MAX_INFLATED_BYTES = MAX_MESSAGE_BYTES;

/** Per-packet decoding state: what inflating may still cost, and whether we are inside compressed data. */
interface DecodeCtx {
  readonly opts: CodecOptions;
  budget: number;
  inCompressed: boolean;
}

function newCtx(opts: CodecOptions): DecodeCtx {
  return { opts, budget: MAX_INFLATED_BYTES, inCompressed: false };
}

class ParseError extends Error {
  constructor(
    readonly reason: DecodeFailure,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Netstring encoding

// Encoding builds one latin1 string (one char per byte) and converts once: far fewer allocations
// than a Buffer per piece, and byte length equals string length.

const NON_BYTE = /[\u0100-\uffff]/;

function byteStr(v: string): string {
  if (NON_BYTE.test(v)) {
    throw new VigilError('VIGIL_ERR_MSG_FIELD', `character outside 0-255 in wire string ${JSON.stringify(v)}`);
  }
  return v;
}

function fieldValueNetstring(f: Field, depth: number, opts: CodecOptions): string {
  switch (f.type) {
    case 'string':
      return byteStr(f.value);
    case 'binary':
      return bytesToStr(f.value);
    case 'list':
      return f.value.map((item) => `${item.length}:${byteStr(item)},`).join('');
    case 'struct':
    case 'uncompress':
      return netstringBodyStr(f.value, depth + 1, opts);
    case 'compress': {
      const c = opts.compress ?? zlibDeflate;
      return bytesToStr(c(Buffer.from(netstringBodyStr(f.value, depth + 1, opts), 'latin1')));
    }
  }
}

function netstringBodyStr(m: WireMessage, depth: number, opts: CodecOptions): string {
  if (depth > MAX_DEPTH) throw new VigilError('VIGIL_ERR_MSG_FIELD', 'message nested too deeply');
  let out = '###\n';
  for (const f of m.fields) {
    checkField(f);
    const item = `(${FIELD_TYPE_CODES[f.type]})${byteStr(f.name)}=${fieldValueNetstring(f, depth, opts)}`;
    out += `${item.length}:${item},`;
  }
  out += '%%%\n';
  const max = opts.maxBytes ?? MAX_MESSAGE_BYTES;
  if (out.length > max) {
    throw new VigilError('VIGIL_ERR_MSG_TOO_BIG', `message of ${out.length} bytes exceeds ${max}`);
  }
  return out;
}

/** `###\n` fields `%%%\n`, without the trailer. */
export function encodeNetstringBody(m: WireMessage, depth = 0, opts: CodecOptions = {}): Buffer {
  return Buffer.from(netstringBodyStr(m, depth, opts), 'latin1');
}

/** The trailer `<len>:<n> <digest>,`. */
export function encodeTrailer(auth: AuthTrailer): Buffer {
  const s = `${auth.index} ${auth.digest}`;
  return Buffer.from(`${s.length}:${s},`, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// Netstring decoding

function startsWith(b: Buffer, at: number, what: Buffer): boolean {
  if (at + what.length > b.length) return false;
  for (let i = 0; i < what.length; i++) if (b[at + i] !== what[i]) return false;
  return true;
}

/** Parses `<len>:` at `pos`; returns [len, position after the colon]. Canonical decimal only. */
function readLen(b: Buffer, pos: number, end: number): [number, number] {
  let p = pos;
  let n = 0;
  while (p < end && p - pos < 8) {
    const c = b[p] ?? 0;
    if (c === 0x3a) break;
    if (c < 0x30 || c > 0x39) throw new ParseError('parse', `bad netstring length at byte ${pos}`);
    n = n * 10 + (c - 0x30);
    p++;
  }
  if (p === pos || p >= end || b[p] !== 0x3a) throw new ParseError('parse', `bad netstring length at byte ${pos}`);
  if (b[pos] === 0x30 && p - pos > 1) throw new ParseError('parse', `non-canonical netstring length at byte ${pos}`);
  return [n, p + 1];
}

interface NsCursor {
  pos: number;
}

function parseNetstringBody(b: Buffer, cur: NsCursor, end: number, depth: number, ctx: DecodeCtx): WireMessage {
  if (depth > MAX_DEPTH) throw new ParseError('parse', 'message nested too deeply');
  if (!startsWith(b, cur.pos, NS_START)) throw new ParseError('parse', 'missing ###');
  cur.pos += NS_START.length;
  const fields: Field[] = [];
  for (;;) {
    if (startsWith(b, cur.pos, NS_END)) {
      cur.pos += NS_END.length;
      return { fields };
    }
    if (cur.pos >= end) throw new ParseError('parse', 'missing %%%');
    if (fields.length >= MAX_FIELDS) throw new ParseError('parse', 'too many fields');
    const [len, dataStart] = readLen(b, cur.pos, end);
    const dataEnd = dataStart + len;
    if (dataEnd >= end || b[dataEnd] !== 0x2c) throw new ParseError('parse', `netstring overruns at byte ${cur.pos}`);
    fields.push(parseNsField(b, dataStart, dataEnd, depth, ctx));
    cur.pos = dataEnd + 1;
  }
}

/** Short fields are the common case; building them in JS avoids a C++ call per field. */
function latin1(b: Buffer, start: number, end: number): string {
  if (end - start > 32) return b.toString('latin1', start, end);
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i] ?? 0);
  return s;
}

function parseNsField(b: Buffer, start: number, end: number, depth: number, ctx: DecodeCtx): Field {
  // `(t)name=value`, t a single digit
  const tcode = (b[start + 1] ?? 0) - 0x30;
  if (end - start < 4 || b[start] !== 0x28 || b[start + 2] !== 0x29 || tcode < 0 || tcode > 9) {
    throw new ParseError('parse', 'bad field type');
  }
  const type = FIELD_TYPES_BY_CODE[tcode];
  if (type === undefined) throw new ParseError('parse', `unknown field type ${tcode}`);
  let eq = start + 3;
  while (eq < end && b[eq] !== 0x3d) eq++;
  if (eq >= end) throw new ParseError('parse', 'field without =');
  const name = latin1(b, start + 3, eq);
  if (name.length === 0) throw new ParseError('parse', 'empty field name');
  const vStart = eq + 1;
  if (vStart === end) throw new ParseError('parse', `empty value for field ${name}`);
  switch (type) {
    case 'string':
      return { name, type, value: latin1(b, vStart, end) };
    case 'binary':
      return { name, type, value: new Uint8Array(b.subarray(vStart, end)) };
    case 'list':
      return { name, type, value: parseListItems(b, vStart, end) };
    case 'struct':
    case 'uncompress': {
      const cur = { pos: vStart };
      const value = parseNetstringBody(b, cur, end, depth + 1, ctx);
      if (cur.pos !== end) throw new ParseError('parse', `trailing bytes in struct ${name}`);
      return { name, type, value };
    }
    case 'compress': {
      const inner = inflate(b.subarray(vStart, end), ctx);
      const cur = { pos: 0 };
      ctx.inCompressed = true;
      const value = parseNetstringBody(inner, cur, inner.length, depth + 1, ctx);
      ctx.inCompressed = false;
      if (cur.pos !== inner.length) throw new ParseError('parse', `trailing bytes in compressed ${name}`);
      return { name, type, value };
    }
  }
}

/** `<len>:<item>,` repeated, exactly filling [start, end). */
function parseListItems(b: Buffer, start: number, end: number): string[] {
  const items: string[] = [];
  let p = start;
  while (p < end) {
    if (items.length >= MAX_FIELDS) throw new ParseError('parse', 'list too long');
    const [len, ds] = readLen(b, p, end);
    const de = ds + len;
    if (de >= end || b[de] !== 0x2c) throw new ParseError('parse', 'list item overruns');
    items.push(b.toString('latin1', ds, de));
    p = de + 1;
  }
  if (items.length === 0) throw new ParseError('parse', 'empty list');
  return items;
}

function inflate(data: Uint8Array, ctx: DecodeCtx): Buffer {
  if (ctx.inCompressed) throw new ParseError('decompress', 'compressed data inside compressed data');
  if (ctx.budget <= 0) throw new ParseError('decompress', `more than ${MAX_INFLATED_BYTES} bytes inflated`);
  const d = ctx.opts.decompress ?? zlibInflate;
  let out: Uint8Array;
  try {
    out = d(data, ctx.budget);
  } catch (e) {
    throw new ParseError('decompress', `cannot inflate: ${errorMessage(e)}`);
  }
  ctx.budget -= out.byteLength;
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

function parseTrailer(b: Buffer, pos: number): AuthTrailer {
  const [len, ds] = readLen(b, pos, b.length);
  const de = ds + len;
  if (de !== b.length - 1 || b[de] !== 0x2c) throw new ParseError('parse', 'bad auth trailer');
  return parseAuthValue(b.toString('latin1', ds, de));
}

const AUTH_RE = /^(\d{1,2}) ([0-9a-f]{1,128})$/;

/** `"<n> <hex>"` as in the trailer and the classic `auth` field. */
export function parseAuthValue(s: string): AuthTrailer {
  const m = AUTH_RE.exec(s);
  if (m === null) throw new ParseError('parse', 'bad auth value');
  const index = Number(m[1]);
  if (index > 15) throw new ParseError('parse', 'auth index out of range');
  return { index, digest: m[2] ?? '' };
}

// ---------------------------------------------------------------------------------------------
// Classic encoding

function escapeClassicString(v: string, sym: number): string {
  const s = String.fromCharCode(sym);
  if (v.includes(s)) {
    throw new VigilError('VIGIL_ERR_MSG_FIELD', `string contains the reserved byte 0x${sym.toString(16)}`);
  }
  return v.replaceAll('\n', s);
}

function classicLine(f: Field, depth: number): string {
  checkField(f);
  switch (f.type) {
    case 'string':
      return `${byteStr(f.name)}=${escapeClassicString(byteStr(f.value), CLASSIC_NL_SYM)}\n`;
    case 'binary':
      return `(1)${byteStr(f.name)}=${Buffer.from(f.value.buffer, f.value.byteOffset, f.value.byteLength).toString('base64')}\n`;
    case 'struct': {
      const inner = encodeClassic(f.value, { head: true, depth: depth + 1 });
      return `(2)${f.name}=${escapeClassicString(inner, structNlSym(depth))}\n`;
    }
    case 'list':
      // cluster-glue writes the netstring items as they are; a newline inside one would end the line.
      if (f.value.some((item) => item.includes('\n'))) {
        throw new VigilError('VIGIL_ERR_MSG_FIELD', `field ${f.name}: list item with a newline has no classic form`);
      }
      return `(3)${byteStr(f.name)}=${fieldValueNetstring(f, depth, {})}\n`;
    case 'compress':
    case 'uncompress':
      throw new VigilError('VIGIL_ERR_MSG_FIELD', `field ${f.name}: type ${f.type} has no classic form`);
  }
}

/**
 * Classic text. `head` adds `>>>\n`/`<<<\n`; `skipAuth` leaves out the `auth` field, which is how
 * the text the auth digest covers is made.
 */
export function encodeClassic(m: WireMessage, o: { head?: boolean; skipAuth?: boolean; depth?: number } = {}): string {
  const depth = o.depth ?? 0;
  if (depth > MAX_DEPTH) throw new VigilError('VIGIL_ERR_MSG_FIELD', 'message nested too deeply');
  let out = o.head === true ? CL_START : '';
  let auth = '';
  for (const f of m.fields) {
    if (f.name === 'auth' && f.type === 'string' && depth === 0) {
      if (o.skipAuth !== true) auth = classicLine(f, depth);
      continue;
    }
    out += classicLine(f, depth);
  }
  // cluster-glue writes the auth line last, after every other field.
  out += auth;
  if (o.head === true) out += CL_END;
  if (out.length > MAX_MESSAGE_BYTES) {
    throw new VigilError('VIGIL_ERR_MSG_TOO_BIG', `message of ${out.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Classic decoding

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function parseClassicText(text: string, depth: number): WireMessage {
  if (depth > MAX_DEPTH) throw new ParseError('parse', 'message nested too deeply');
  if (!text.startsWith(CL_START)) throw new ParseError('parse', 'missing >>>');
  const endAt = text.indexOf(`\n${CL_END}`, CL_START.length - 1);
  if (endAt < 0 || endAt + 1 + CL_END.length !== text.length) throw new ParseError('parse', 'missing <<<');
  const fields: Field[] = [];
  const body = text.slice(CL_START.length, endAt + 1);
  let p = 0;
  while (p < body.length) {
    const nl = body.indexOf('\n', p);
    const line = body.slice(p, nl);
    p = nl + 1;
    if (fields.length >= MAX_FIELDS) throw new ParseError('parse', 'too many fields');
    fields.push(parseClassicLine(line, depth));
  }
  return { fields };
}

function parseClassicLine(line: string, depth: number): Field {
  let type: (typeof FIELD_TYPES_BY_CODE)[number] = 'string';
  let rest = line;
  if (line.startsWith('(')) {
    const m = /^\((\d)\)/.exec(line);
    const t = m === null ? undefined : FIELD_TYPES_BY_CODE[Number(m[1])];
    if (m === null || t === undefined) throw new ParseError('parse', 'bad classic field type');
    type = t;
    rest = line.slice(m[0].length);
  }
  const eq = rest.indexOf('=');
  if (eq <= 0) throw new ParseError('parse', 'classic line without name=value');
  const name = rest.slice(0, eq);
  const raw = rest.slice(eq + 1);
  if (raw.length === 0) throw new ParseError('parse', `empty value for field ${name}`);
  switch (type) {
    case 'string':
      return { name, type, value: raw.replaceAll(String.fromCharCode(CLASSIC_NL_SYM), '\n') };
    case 'binary': {
      if (!B64_RE.test(raw)) throw new ParseError('parse', `bad base64 in field ${name}`);
      return { name, type, value: new Uint8Array(Buffer.from(raw, 'base64')) };
    }
    case 'struct': {
      const inner = raw.replaceAll(String.fromCharCode(structNlSym(depth)), '\n');
      return { name, type, value: parseClassicText(inner, depth + 1) };
    }
    case 'list': {
      const b = Buffer.from(raw, 'latin1');
      return { name, type, value: parseListItems(b, 0, b.length) };
    }
    case 'compress':
    case 'uncompress':
      throw new ParseError('parse', `field ${name}: type ${type} not supported in classic text`);
  }
}

// ---------------------------------------------------------------------------------------------
// Packets

const AUTH_LINE = Buffer.from('\nauth=', 'latin1');

/**
 * The signed part and the signature of a datagram, found by scanning bytes only (no field is decoded): netstring's
 * trailer never contains `%%%\n`, so the last one ends the signed part; classic's `auth=` line is found among the
 * top-level lines (nested structs use other newline bytes). Never throws.
 */
export function splitSigned(bytes: Uint8Array, opts: CodecOptions = {}): SplitResult {
  const max = opts.maxBytes ?? MAX_MESSAGE_BYTES;
  if (bytes.length > max) return { ok: false, reason: 'too_big', detail: `${bytes.length} bytes > ${max}` };
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    if (startsWith(b, 0, NS_START)) {
      const end = b.lastIndexOf(NS_END);
      if (end < NS_START.length) throw new ParseError('parse', 'missing %%%');
      const signedEnd = end + NS_END.length;
      const auth = signedEnd === b.length ? undefined : parseTrailer(b, signedEnd);
      return { ok: true, parts: { format: 'netstring', signed: b.subarray(0, signedEnd), auth } };
    }
    if (startsWith(b, 0, CL_START_B)) {
      if (b.length < CL_START.length + CL_END.length || !startsWith(b, b.length - CL_END.length, CL_END_B)) {
        throw new ParseError('parse', 'missing <<<');
      }
      const bodyEnd = b.length - CL_END.length;
      // `\nauth=` with the newline of the line before, or the body's first line: `>>>\n` ends in a newline too.
      const at = b.indexOf(AUTH_LINE, CL_START.length - 1);
      if (at < 0 || at >= bodyEnd) {
        return {
          ok: true,
          parts: { format: 'classic', signed: b.subarray(CL_START.length, bodyEnd), auth: undefined },
        };
      }
      const lineStart = at + 1;
      const lineEnd = b.indexOf(0x0a, lineStart);
      if (lineEnd < 0 || lineEnd >= bodyEnd) throw new ParseError('parse', 'unterminated auth line');
      if (b.indexOf(AUTH_LINE, lineEnd) >= 0 && b.indexOf(AUTH_LINE, lineEnd) < bodyEnd) {
        throw new ParseError('parse', 'two auth lines');
      }
      const auth = parseAuthValue(b.toString('latin1', lineStart + 'auth='.length, lineEnd));
      const signed = Buffer.concat([b.subarray(CL_START.length, lineStart), b.subarray(lineEnd + 1, bodyEnd)]);
      return { ok: true, parts: { format: 'classic', signed, auth } };
    }
    return { ok: false, reason: 'parse', detail: 'neither ###\\n nor >>>\\n at start' };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, reason: e.reason, detail: e.message };
    /* c8 ignore next */
    return { ok: false, reason: 'parse', detail: `unexpected: ${errorMessage(e)}` };
  }
}

/**
 * Decodes a datagram that `splitSigned` split (and, on a receiver, whose digest was verified): the fields, with
 * Heartbeat's whole-message compression (`_compressed_payload`) expanded. Inflating is bounded per packet by
 * MAX_INFLATED_BYTES and to one level, as Heartbeat compresses. A classic message must re-serialise to exactly the
 * text that was signed (cluster-glue's receiver re-serialises what it parsed, so non-canonical text never verifies
 * there either). Never throws.
 */
export function decodeSigned(bytes: Uint8Array, parts: SignedParts, opts: CodecOptions = {}): DecodeResult {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ctx = newCtx(opts);
  try {
    let message: WireMessage;
    if (parts.format === 'netstring') {
      const cur = { pos: 0 };
      message = parseNetstringBody(b, cur, parts.signed.length, 0, ctx);
      if (cur.pos !== parts.signed.length) throw new ParseError('parse', 'bytes after %%%');
      message = expandPayload(message, ctx);
    } else {
      const parsed = parseClassicText(b.toString('latin1'), 0);
      message = { fields: parsed.fields.filter((f) => f.name !== 'auth') };
      let canonical: string;
      try {
        canonical = encodeClassic(message);
      } catch (e) {
        throw new ParseError('parse', `cannot re-serialise: ${errorMessage(e)}`);
      }
      if (canonical !== Buffer.from(parts.signed).toString('latin1')) {
        throw new ParseError('parse', 'classic text is not in canonical form');
      }
    }
    return { ok: true, packet: { ...parts, message } };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, reason: e.reason, detail: e.message };
    if (e instanceof VigilError) return { ok: false, reason: 'parse', detail: e.message };
    /* c8 ignore next */
    return { ok: false, reason: 'parse', detail: `unexpected: ${errorMessage(e)}` };
  }
}

/**
 * Parse one datagram without checking its signature (tools, tests, captures). Netstring packets must carry the
 * trailer; classic packets keep their `auth` field split out. Never throws.
 */
export function decodePacket(bytes: Uint8Array, opts: CodecOptions = {}): DecodeResult {
  const s = splitSigned(bytes, opts);
  if (!s.ok) return s;
  if (s.parts.format === 'netstring' && s.parts.auth === undefined) {
    return { ok: false, reason: 'parse', detail: 'netstring packet without auth trailer' };
  }
  return decodeSigned(bytes, s.parts, opts);
}

/**
 * Heartbeat's whole-message compression: a message carrying `(1)_compressed_payload` and
 * `_compression_algorithm=zlib` stands for the inflated netstring message inside. Returns the message
 * unchanged when it is not compressed.
 */
function expandPayload(m: WireMessage, ctx: DecodeCtx): WireMessage {
  const payload = m.fields.find((f) => f.name === '_compressed_payload');
  if (payload === undefined) return m;
  const algo = m.fields.find((f) => f.name === '_compression_algorithm');
  if (payload.type !== 'binary' || algo?.type !== 'string' || algo.value !== 'zlib') {
    throw new ParseError('decompress', 'unsupported compression algorithm');
  }
  if (m.fields.some((f) => f.type === 'compress')) {
    throw new ParseError('decompress', 'compressed fields next to a compressed payload');
  }
  const inner = inflate(payload.value, ctx);
  const cur = { pos: 0 };
  ctx.inCompressed = true;
  const message = parseNetstringBody(inner, cur, inner.length, 1, ctx);
  // The inner form may or may not carry its own trailer; the outer packet was the one authenticated.
  if (cur.pos !== inner.length) parseTrailer(inner, cur.pos);
  if (message.fields.some((f) => f.name === '_compressed_payload')) {
    throw new ParseError('decompress', 'compressed payload inside a compressed payload');
  }
  return message;
}

/** `expandPayload` for callers holding a decoded message (tests, tools); a failure reason instead of a throw. */
export function expandCompressed(
  m: WireMessage,
  opts: CodecOptions = {},
): { ok: true; message: WireMessage } | { ok: false; reason: DecodeFailure; detail: string } {
  try {
    return { ok: true, message: expandPayload(m, newCtx(opts)) };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, reason: e.reason, detail: e.message };
    return { ok: false, reason: 'parse', detail: errorMessage(e) };
  }
}
