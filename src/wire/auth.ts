/**
 * Message authentication (heartbeat `auth.c`, `lib/plugins/HBauth/*`).
 *
 * crc is an integrity check, not authentication. sha256 and sha512 are Vigil-only: a Heartbeat 3
 * peer has no such plugin and drops every packet signed with them, so use them only in all-Vigil clusters.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthKeys, AuthMethod } from '../config/types.js';
import { VigilError } from '../util/errors.js';
import { type AuthTrailer, type DecodedPacket, encodeClassic, encodeNetstringBody, encodeTrailer } from './codec.js';
import { type WireMessage, setField, str } from './message.js';

/** Methods a Heartbeat 3 node can verify. */
export const HEARTBEAT_AUTH_METHODS: ReadonlySet<AuthMethod> = new Set(['crc', 'md5', 'sha1']);

export function isVigilOnlyMethod(m: AuthMethod): boolean {
  return !HEARTBEAT_AUTH_METHODS.has(m);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * Heartbeat's crc: CRC-32 with poly 0x04C11DB7, init 0, MSB-first, final NOT and, unlike POSIX
 * cksum, no length appended ("123456789" → 0x765e7680). Not zlib's CRC-32.
 */
export function crc32Heartbeat(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] ?? 0)) >>> 0;
  return ~crc >>> 0;
}

/** The digest as Heartbeat prints it: lowercase hex; crc as `%lx` (no zero padding). */
export function computeDigest(method: AuthMethod, key: string, data: Uint8Array): string {
  switch (method) {
    case 'crc':
      return crc32Heartbeat(data).toString(16);
    case 'md5':
    case 'sha1':
    case 'sha256':
    case 'sha512':
      return createHmac(method, Buffer.from(key, 'latin1')).update(data).digest('hex');
  }
}

/** Constant-time comparison of two digests (length is not secret: it follows from the method). */
export function digestEquals(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'latin1');
  const bb = Buffer.from(b, 'latin1');
  if (ba.length !== bb.length) {
    // Still spend the comparison so a wrong-length guess costs the same as a wrong guess.
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}

function activeKey(keys: AuthKeys) {
  const k = keys.keys.get(keys.active);
  if (k === undefined)
    throw new VigilError('VIGIL_ERR_AUTH_CONFIG', `authkeys: active index ${keys.active} has no key`);
  return k;
}

/** `"<n> <hex>"` with the active key over `data`. */
export function authValue(keys: AuthKeys, data: Uint8Array): AuthTrailer {
  const k = activeKey(keys);
  return { index: k.index, digest: computeDigest(k.method, k.key, data) };
}

/** The classic text the inner `auth` field covers: every field but `auth`, no `>>>`/`<<<`. */
export function classicSignedText(m: WireMessage): Buffer {
  return Buffer.from(encodeClassic(m, { skipAuth: true }), 'latin1');
}

/** Adds (or replaces) the inner classic `auth` field Heartbeat carries with `msgfmt classic`. */
export function addInnerAuth(m: WireMessage, keys: AuthKeys): WireMessage {
  const a = authValue(keys, classicSignedText(m));
  return setField(m, str('auth', `${a.index} ${a.digest}`));
}

/** Netstring bytes plus trailer, signed with the active key. */
export function signNetstring(m: WireMessage, keys: AuthKeys): Buffer {
  const body = encodeNetstringBody(m);
  return Buffer.concat([body, encodeTrailer(authValue(keys, body))]);
}

/** Classic text with the `auth` line, signed with the active key (serial media). */
export function signClassic(m: WireMessage, keys: AuthKeys): Buffer {
  const withAuth = addInnerAuth(m, keys);
  return Buffer.from(encodeClassic(withAuth, { head: true }), 'latin1');
}

/** Hex length of each keyed digest (crc is printed without zero padding: 1-8). */
const DIGEST_HEX_LENGTH: Partial<Record<AuthMethod, number>> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

export type VerifyResult = 'ok' | 'unsigned' | 'unknown_key' | 'weak_key' | 'bad_digest';

/**
 * Check a packet's signature on its raw signed bytes (before anything is decoded). The key is the one listed
 * under the packet's own index, so a new key can be rolled out index by index (every node lists both, then
 * switches `auth`). crc has no secret: anyone can "sign" with it, so a crc key is believed only when it is the
 * active one. A listed crc line must not let a forger downgrade a sha1 cluster.
 *
 * Heartbeat differs on netstring packets: it takes the method from the packet's index but the secret of its own
 * ACTIVE key. Where both nodes list the same keys the two rules agree; Vigil's also accepts a peer that switched
 * its active index first, which is what makes rotation work without an outage.
 */
export function verifyPacket(p: Pick<DecodedPacket, 'auth' | 'signed'>, keys: AuthKeys): VerifyResult {
  if (p.auth === undefined) return 'unsigned';
  const k = keys.keys.get(p.auth.index);
  if (k === undefined) return 'unknown_key';
  if (k.method === 'crc' && k.index !== keys.active) return 'weak_key';
  // A digest of the wrong length is wrong whatever the bytes: no HMAC spent on it.
  const len = DIGEST_HEX_LENGTH[k.method];
  if (len !== undefined && p.auth.digest.length !== len) return 'bad_digest';
  const expected = computeDigest(k.method, k.key, p.signed);
  return digestEquals(expected, p.auth.digest) ? 'ok' : 'bad_digest';
}
