/**
 * DNS messages through dns-packet (encode, decode, names), and the two things RFC 2136 needs that it lacks:
 * class NONE (254), which its class table cannot name, and record offsets, which TSIG needs to cut its own record
 * out of a response. Both are done with the library's own per-record codecs, never by parsing by hand.
 */
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question, StringAnswer } from 'dns-packet';
import { VigilError } from '../util/errors.js';

/** dns-packet's per-part codecs: exported by the library, absent from its type definitions. */
interface Codec<T> {
  encode(v: T, buf?: Buffer, offset?: number): Buffer;
  decode(buf: Buffer, offset?: number): T;
  encodingLength(v: T): number;
}
type Sized<C> = C & { readonly decode: { bytes: number } };
const lib = dnsPacket as unknown as typeof dnsPacket & {
  readonly name: Sized<Codec<string>>;
  readonly question: Sized<Codec<Question>>;
  readonly answer: Sized<Codec<Answer>>;
};

export const OPCODE_QUERY = 0;
export const OPCODE_UPDATE = 5;
export const CLASS_NONE = 254;
export const TYPE_TSIG = 250;

/** RFC 1035/2136/8945 response codes by number. */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
};

export function rcodeName(n: number): string {
  return RCODE_NAMES[n] ?? `RCODE${n}`;
}

/** A name at `offset` (compression pointers followed) and how many bytes it takes there. */
export function decodeName(buf: Buffer, offset: number): { name: string; bytes: number } {
  const name = lib.name.decode(buf, offset);
  return { name, bytes: lib.name.decode.bytes };
}

/** One resource record in wire form (a type without a codec in dns-packet takes its RDATA as a Buffer). */
export function encodeRecord(a: { name: string; type: string; class: string; ttl: number; data: Buffer }): Buffer {
  return lib.answer.encode(a as unknown as Answer);
}

/** The DNS wire form of a name (uncompressed, as TSIG wants it: RFC 8945 §4.3.3 canonical, lowercase). */
export function encodeName(name: string): Buffer {
  return lib.name.encode(name.toLowerCase());
}

export interface EncodeOptions {
  /** Indexes into `answers` (the prerequisite section of an UPDATE) whose class is written as NONE. */
  readonly noneClassAnswers?: readonly number[];
  /** Indexes into `authorities` (the update section) whose class is written as NONE. */
  readonly noneClassAuthorities?: readonly number[];
}

/**
 * Offsets of every resource record of a message, in section order. Walked by the wire layout every record shares
 * (name, type, class, TTL, RDLENGTH, RDATA), not by the type's codec: RFC 2136 records with empty RDATA would
 * throw a codec off.
 */
export function recordOffsets(buf: Buffer): {
  answers: number[];
  authorities: number[];
  additionals: number[];
  end: number;
} {
  if (buf.length < 12) {
    throw new VigilError('VIGIL_ERR_DNS', `DNS message of ${buf.length} bytes: shorter than a header`);
  }
  const qd = buf.readUInt16BE(4);
  const counts = [buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)];
  let off = 12;
  try {
    for (let i = 0; i < qd; i++) off += decodeName(buf, off).bytes + 4;
    const out: number[][] = [[], [], []];
    counts.forEach((n, s) => {
      for (let i = 0; i < n; i++) {
        out[s]?.push(off);
        off += decodeName(buf, off).bytes;
        off += 10 + buf.readUInt16BE(off + 8);
      }
    });
    if (off > buf.length) throw new RangeError('records run past the end');
    return { answers: out[0] ?? [], authorities: out[1] ?? [], additionals: out[2] ?? [], end: off };
  } catch (e) {
    throw new VigilError('VIGIL_ERR_DNS', `malformed DNS message: ${(e as Error).message}`, undefined, { cause: e });
  }
}

/** The offset of a record's class field, given the record's offset. */
function classOffset(buf: Buffer, recordOffset: number): number {
  return recordOffset + decodeName(buf, recordOffset).bytes + 2;
}

/** Encodes a message; records listed in `opts` get class NONE (written over the ANY they were encoded with). */
export function encodeMessage(p: Packet, opts: EncodeOptions = {}): Buffer {
  const buf = lib.encode(p);
  const none = [...(opts.noneClassAnswers ?? []), ...(opts.noneClassAuthorities ?? [])];
  if (none.length === 0) return buf;
  const offs = recordOffsets(buf);
  const patch = (at: number | undefined): void => {
    if (at === undefined) throw new VigilError('VIGIL_ERR_INTERNAL', 'class NONE asked for a record the message lacks');
    buf.writeUInt16BE(CLASS_NONE, classOffset(buf, at));
  };
  for (const i of opts.noneClassAnswers ?? []) patch(offs.answers[i]);
  for (const i of opts.noneClassAuthorities ?? []) patch(offs.authorities[i]);
  return buf;
}

export function decodeMessage(buf: Buffer): DecodedPacket {
  try {
    return lib.decode(buf);
  } catch (e) {
    throw new VigilError('VIGIL_ERR_DNS', `malformed DNS message: ${(e as Error).message}`, undefined, { cause: e });
  }
}

/**
 * A record of type `type` with empty RDATA (class ANY or, through EncodeOptions, NONE): RFC 2136's "RRset exists
 * (value independent)", "RRset does not exist" and "delete an RRset". dns-packet writes a type it has no codec for
 * from a Buffer: `UNKNOWN_<n>` names the type by number.
 */
export function emptyRecord(name: string, type: 'A' | 'AAAA'): Answer {
  const n = type === 'A' ? 1 : 28;
  return { name, type: `UNKNOWN_${n}`, class: 'ANY', ttl: 0, data: Buffer.alloc(0) } as unknown as Answer;
}

export { type Answer, type DecodedPacket, type Packet, type Question, type StringAnswer };
