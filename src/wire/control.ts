/**
 * Control fields (heartbeat.c `add_control_msg_fields`) and the receive rules for them.
 */
import { type WireMessage, bin, getBinary, getString, setField, str } from './message.js';

/** Types starting with this prefix carry no `seq` and no `ld` and bypass sequence tracking. */
export const NOSEQ_PREFIX = 'NS_';

export function isNoSeqType(t: string): boolean {
  return t.startsWith(NOSEQ_PREFIX);
}

/** Heartbeat's TTL: hopfudge plus the number of nodes it knows, ping nodes included. */
export function computeTtl(hopfudge: number, nodeCountIncludingPing: number): number {
  return hopfudge + nodeCountIncludingPing;
}

/** Lowercase hex without padding, like `%lx`. */
export function hex(n: number): string {
  return n.toString(16);
}

export interface ControlValues {
  readonly src: string;
  readonly srcuuid: Uint8Array;
  /** Omitted for NS_ types. */
  readonly seq: number | undefined;
  readonly generation: number;
  /** time() in seconds. */
  readonly tsSeconds: number;
  /** The whole /proc/loadavg line without its newline; omitted for NS_ types. */
  readonly loadavg: string;
  readonly ttl: number;
  /** Added after the body when the message has a `dest` whose uuid is known. */
  readonly destuuid: Uint8Array | undefined;
}

/**
 * Adds the control fields in Heartbeat's order with `ha_msg_mod` semantics (an existing field keeps its
 * position): destuuid, src, srcuuid, seq, hg, ts, ld, ttl. The inner `auth` is added after this.
 */
export function addControlFields(body: WireMessage, c: ControlValues): WireMessage {
  const t = getString(body, 't') ?? '';
  const noseq = isNoSeqType(t);
  let m = body;
  if (c.destuuid !== undefined && getString(body, 'dest') !== undefined) m = setField(m, bin('destuuid', c.destuuid));
  m = setField(m, str('src', c.src));
  m = setField(m, bin('srcuuid', c.srcuuid));
  if (!noseq && c.seq !== undefined) m = setField(m, str('seq', hex(c.seq)));
  m = setField(m, str('hg', hex(c.generation)));
  m = setField(m, str('ts', hex(c.tsSeconds)));
  if (!noseq) m = setField(m, str('ld', c.loadavg.replace(/\n$/, '')));
  m = setField(m, str('ttl', String(c.ttl)));
  return m;
}

export interface ControlInfo {
  readonly type: string;
  readonly src: string;
  readonly srcuuid: Uint8Array | undefined;
  readonly seq: number | undefined;
  readonly generation: number | undefined;
  readonly tsSeconds: number;
  readonly dest: string | undefined;
  readonly destuuid: Uint8Array | undefined;
}

/** At most 13 hex digits: stays an exact JS number (Heartbeat's seqno_t is an unsigned long). */
const HEX_RE = /^[0-9a-fA-F]{1,13}$/;

export function parseHex(s: string | undefined): number | undefined {
  if (s === undefined || !HEX_RE.test(s)) return undefined;
  return parseInt(s, 16);
}

/**
 * The receive rules: `t`, `src` and a non-zero hex `ts` are required; `seq` (hex, > 0) unless the type
 * is NS_; `hg` if present must be hex. Returns a reason string when a rule is broken.
 */
export function readControl(m: WireMessage): { ok: true; info: ControlInfo } | { ok: false; detail: string } {
  const type = getString(m, 't');
  if (type === undefined) return { ok: false, detail: 'no t field' };
  const src = getString(m, 'src');
  if (src === undefined) return { ok: false, detail: 'no src field' };
  const ts = parseHex(getString(m, 'ts'));
  if (ts === undefined || ts === 0) return { ok: false, detail: 'missing or zero ts' };
  let seq: number | undefined;
  if (!isNoSeqType(type)) {
    seq = parseHex(getString(m, 'seq'));
    if (seq === undefined || seq <= 0) return { ok: false, detail: 'bad sequence number' };
  }
  const hgRaw = getString(m, 'hg');
  const generation = parseHex(hgRaw);
  if (hgRaw !== undefined && generation === undefined) return { ok: false, detail: 'bad generation number' };
  const srcuuid = getBinary(m, 'srcuuid');
  const destuuid = getBinary(m, 'destuuid');
  if (srcuuid !== undefined && srcuuid.length !== 16) return { ok: false, detail: 'srcuuid is not 16 bytes' };
  if (destuuid !== undefined && destuuid.length !== 16) return { ok: false, detail: 'destuuid is not 16 bytes' };
  return {
    ok: true,
    info: { type, src, srcuuid, seq, generation, tsSeconds: ts, dest: getString(m, 'dest'), destuuid },
  };
}
