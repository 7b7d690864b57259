/**
 * TSIG (RFC 8945): HMAC signatures on DNS messages, with node:crypto. A request is signed over the message plus the
 * TSIG variables; a response over the request's MAC, the response without its TSIG record (ARCOUNT one less, the
 * original ID) and its own variables. Only whole MACs are made and accepted (no truncation).
 *
 * The key file is what the DNS servers' own tools print: BIND's `tsig-keygen -a hmac-sha256 NAME` (a `key` clause,
 * which named.conf can `include` as is), Knot's `keymgr -t NAME hmac-sha256` (YAML), or nsupdate's one-line
 * `hmac-sha256:NAME:SECRET`. One key per file.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { VigilError } from '../util/errors.js';
import { TYPE_TSIG, decodeName, encodeName, encodeRecord, recordOffsets } from './dns-wire.js';

export const TSIG_ALGORITHMS = {
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
  'hmac-sha224': 'sha224',
  'hmac-sha1': 'sha1',
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

export interface TsigKey {
  /** Lowercase, without the trailing dot. */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  readonly secret: Buffer;
}

/** RFC 8945 §5.2.2: the window of clock difference each side accepts. BIND and Knot use the same. */
export const DEFAULT_FUDGE_SEC = 300;
const CLASS_ANY = 255;
/** Beyond this, the file is not a key file. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

export const TSIG_ERRORS: Readonly<Record<number, string>> = {
  16: 'BADSIG (the server computed another MAC: the secrets differ)',
  17: 'BADKEY (the server does not know this key name and algorithm, or its ACL does not let the key update this name)',
  18: 'BADTIME (the clocks of this node and the server differ by more than the fudge)',
  22: 'BADTRUNC',
};

function isAlgorithm(s: string): s is TsigAlgorithm {
  return Object.hasOwn(TSIG_ALGORITHMS, s);
}

function keyError(file: string, why: string): VigilError {
  return new VigilError('VIGIL_ERR_DNS_KEY', `TSIG key file ${file}: ${why}`, { file });
}

function makeKey(file: string, name: string, algorithm: string, secret: string): TsigKey {
  const alg = algorithm.toLowerCase().replace(/\.$/, '');
  if (!isAlgorithm(alg)) {
    throw keyError(file, `algorithm ${algorithm} is not one of ${Object.keys(TSIG_ALGORITHMS).join(', ')}`);
  }
  const n = name.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(n) || n.length > 253) throw keyError(file, `invalid key name [${name}]`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) throw keyError(file, 'the secret is not base64');
  const bytes = Buffer.from(secret, 'base64');
  if (bytes.length < 16)
    throw keyError(file, `the secret is ${bytes.length} bytes: at least 16 (tsig-keygen makes 32)`);
  return { name: n, algorithm: alg, secret: bytes };
}

/** Parses a key file's text (see the module comment). Throws VIGIL_ERR_DNS_KEY, never printing the secret. */
export function parseTsigKeyFile(text: string, file: string): TsigKey {
  if (text.length > MAX_KEY_FILE_BYTES) throw keyError(file, `larger than ${MAX_KEY_FILE_BYTES} bytes`);
  const bare = text
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/(^|\s)(#|\/\/)[^\n]*/g, '$1')
    .trim();
  const found: TsigKey[] = [];
  // BIND: key "name" { algorithm hmac-sha256; secret "..."; };
  const bind = /\bkey\s+"?([^"\s{]+)"?\s*\{([^}]*)\}\s*;?/g;
  for (let m = bind.exec(bare); m !== null; m = bind.exec(bare)) {
    const body = m[2] ?? '';
    const alg = /\balgorithm\s+"?([A-Za-z0-9.-]+)"?\s*;/.exec(body)?.[1];
    const secret = /\bsecret\s+"([^"]*)"\s*;/.exec(body)?.[1];
    if (alg === undefined || secret === undefined) throw keyError(file, `key ${m[1] ?? ''} needs algorithm and secret`);
    found.push(makeKey(file, m[1] ?? '', alg, secret));
  }
  if (found.length === 0 && /^\s*key:/m.test(bare)) {
    // Knot: key:\n  - id: name\n    algorithm: hmac-sha256\n    secret: ...
    for (const block of bare.split(/^\s*-\s+(?=id:)/m).slice(1)) {
      const id = /^id:\s*"?([^"\s]+)"?/m.exec(block)?.[1];
      const alg = /^\s*algorithm:\s*"?([A-Za-z0-9.-]+)"?/m.exec(block)?.[1];
      const secret = /^\s*secret:\s*"?([A-Za-z0-9+/=]+)"?/m.exec(block)?.[1];
      if (id === undefined || alg === undefined || secret === undefined) {
        throw keyError(file, 'a key: entry needs id, algorithm and secret');
      }
      found.push(makeKey(file, id, alg, secret));
    }
  }
  if (found.length === 0) {
    const line = /^([A-Za-z0-9-]+):([^:\s]+):([A-Za-z0-9+/=]+)$/.exec(bare);
    if (line !== null) found.push(makeKey(file, line[2] ?? '', line[1] ?? '', line[3] ?? ''));
  }
  if (found.length === 0) {
    throw keyError(
      file,
      'no key found: expected the output of `tsig-keygen -a hmac-sha256 NAME`, `keymgr -t NAME hmac-sha256`, or hmac-sha256:NAME:SECRET',
    );
  }
  const [only, ...more] = found;
  if (only === undefined) throw keyError(file, 'no key found');
  if (more.length > 0) throw keyError(file, `${found.length} keys: one key per file`);
  return only;
}

function u48(sec: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(Math.floor(sec), 0, 6);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** The TSIG variables of RFC 8945 §4.3.3 (name, class, TTL, algorithm, time, fudge, error, other). */
function variables(key: TsigKey, ttl: number, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  const ttlBuf = Buffer.alloc(4);
  ttlBuf.writeUInt32BE(ttl);
  return Buffer.concat([
    encodeName(key.name),
    u16(CLASS_ANY),
    ttlBuf,
    encodeName(key.algorithm),
    u48(timeSigned),
    u16(fudge),
    u16(error),
    u16(other.length),
    other,
  ]);
}

function hmac(key: TsigKey, parts: readonly Buffer[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm], key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

export interface Signed {
  /** The message with its TSIG record appended (ARCOUNT one more). */
  readonly message: Buffer;
  /** The request MAC: a response's MAC covers it. */
  readonly mac: Buffer;
}

/** Signs an encoded message (which must not yet carry a TSIG record). `nowSec`: seconds since the epoch. */
export function signMessage(message: Buffer, key: TsigKey, nowSec: number, fudge = DEFAULT_FUDGE_SEC): Signed {
  const time = Math.floor(nowSec);
  const mac = hmac(key, [message, variables(key, 0, time, fudge, 0, Buffer.alloc(0))]);
  const rdata = Buffer.concat([
    encodeName(key.algorithm),
    u48(time),
    u16(fudge),
    u16(mac.length),
    mac,
    message.subarray(0, 2), // original ID
    u16(0),
    u16(0),
  ]);
  const rr = encodeRecord({ name: key.name, type: 'TSIG', class: 'ANY', ttl: 0, data: rdata });
  const head = Buffer.from(message);
  head.writeUInt16BE(head.readUInt16BE(10) + 1, 10);
  return { message: Buffer.concat([head, rr]), mac };
}

export type TsigVerdict =
  { readonly ok: true } | { readonly ok: false; readonly why: string; readonly tsigError: number | undefined };

/** Checks a response's TSIG against the request's MAC. `nowSec`: seconds since the epoch. */
export function verifyResponse(response: Buffer, key: TsigKey, requestMac: Buffer, nowSec: number): TsigVerdict {
  const offs = recordOffsets(response);
  const at = offs.additionals.at(-1);
  const rcode = response.length >= 4 ? response.readUInt16BE(2) & 0xf : 0;
  if (at === undefined) return { ok: false, why: `the answer is not signed (rcode ${rcode})`, tsigError: undefined };
  const owner = decodeName(response, at);
  const typeAt = at + owner.bytes;
  if (response.readUInt16BE(typeAt) !== TYPE_TSIG) {
    return { ok: false, why: `the answer is not signed (rcode ${rcode})`, tsigError: undefined };
  }
  if (owner.name.toLowerCase().replace(/\.$/, '') !== key.name) {
    return { ok: false, why: `the answer is signed with key ${owner.name}, not ${key.name}`, tsigError: undefined };
  }
  const ttl = response.readUInt32BE(typeAt + 4);
  const rdlen = response.readUInt16BE(typeAt + 8);
  const rd = response.subarray(typeAt + 10, typeAt + 10 + rdlen);
  let p: { alg: string; time: number; fudge: number; mac: Buffer; origId: number; error: number; other: Buffer };
  try {
    const algName = decodeName(rd, 0);
    const alg = algName.name;
    let o = algName.bytes;
    const time = rd.readUIntBE(o, 6);
    const fudge = rd.readUInt16BE(o + 6);
    const macLen = rd.readUInt16BE(o + 8);
    o += 10;
    const mac = rd.subarray(o, o + macLen);
    o += macLen;
    const origId = rd.readUInt16BE(o);
    const error = rd.readUInt16BE(o + 2);
    const otherLen = rd.readUInt16BE(o + 4);
    const other = rd.subarray(o + 6, o + 6 + otherLen);
    if (mac.length !== macLen || other.length !== otherLen) throw new RangeError('short TSIG RDATA');
    p = { alg: alg.toLowerCase().replace(/\.$/, ''), time, fudge, mac, origId, error, other };
  } catch (e) {
    return { ok: false, why: `malformed TSIG record: ${(e as Error).message}`, tsigError: undefined };
  }
  if (p.error !== 0) {
    return {
      ok: false,
      why: `the server refused the signature: ${TSIG_ERRORS[p.error] ?? `TSIG error ${p.error}`}`,
      tsigError: p.error,
    };
  }
  if (p.alg !== key.algorithm)
    return { ok: false, why: `the answer is signed with ${p.alg}, not ${key.algorithm}`, tsigError: undefined };
  const unsigned = Buffer.from(response.subarray(0, at));
  unsigned.writeUInt16BE(p.origId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const want = hmac(key, [
    u16(requestMac.length),
    requestMac,
    unsigned,
    variables(key, ttl, p.time, p.fudge, p.error, p.other),
  ]);
  if (p.mac.length !== want.length || !timingSafeEqual(p.mac, want)) {
    return {
      ok: false,
      why: 'the answer’s TSIG MAC is wrong (forged, or signed with another secret)',
      tsigError: undefined,
    };
  }
  if (Math.abs(nowSec - p.time) > p.fudge) {
    return {
      ok: false,
      why: `the answer was signed ${Math.round(nowSec - p.time)} s from now (fudge ${p.fudge} s)`,
      tsigError: 18,
    };
  }
  return { ok: true };
}
