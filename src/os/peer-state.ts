/**
 * The last generation, sequence number and uuid seen from each peer, kept across restarts so that a packet captured
 * before this node restarted cannot be replayed to it afterwards (Heartbeat keeps them in memory only: after its
 * restart any old generation is accepted again). A peer that did not restart meanwhile goes on with the same
 * generation and higher sequence numbers; only what is at or below the stored pair is old.
 *
 * File: `<vigil_state_dir>/vigil_peer_generations` (beside hb_uuid and hb_generation), mode 0600, written whole
 * and atomically (temp file, fsync, rename, fsync of the directory). Text, one peer a line, sorted by name:
 *
 *     # vigil_peer_generations 1
 *     node2 1795704586 4711 6b90aa94e4fa4c748745cc5635f06c6b
 *
 * that is `<node name> <generation, decimal> <highest seq of that generation, decimal> <uuid, 32 lowercase hex
 * digits>`; lines starting with '#' and blank
 * lines are ignored. Bounds: {@link MAX_PEER_ENTRIES} peers, {@link MAX_PEER_FILE_BYTES} bytes, names of at most
 * {@link MAX_PEER_NAME} characters without white space. Loading never throws: a missing file is an empty map; a
 * file that is unreadable, too large or of another version is ignored as a whole, a bad line alone, each with a
 * reason given to `onProblem` (the daemon logs it). Saving is serialized per file (calls run one after the other,
 * in call order, so the last call's content is what stays) and checks its input before it writes anything.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { VigilError, errorMessage } from '../util/errors.js';
import { writeFileAtomic } from './atomic-file.js';

export const PEER_GENERATIONS_FILE = 'vigil_peer_generations';
/** Heartbeat's MAXNODE (ha.cf accepts no more nodes: src/config/hacf.ts HACF_LIMITS.nodes). */
export const MAX_PEER_ENTRIES = 100;
export const MAX_PEER_NAME = 256;
/** Room for MAX_PEER_ENTRIES lines of the longest names, and then some. */
export const MAX_PEER_FILE_BYTES = 64 * 1024;
const HEADER = '# vigil_peer_generations 1';
const NAME_RE = /^[^\s\p{Cc}]+$/u;
const UUID_RE = /^[0-9a-f]{32}$/;
/** Reasons reported per load, so a file of garbage yields a few lines of log, not thousands. */
const MAX_REPORTED = 5;

export interface PeerGeneration {
  /** The highest generation (`hg`) seen from the peer. */
  readonly generation: number;
  /** The highest sequence number seen in that generation. */
  readonly seq: number;
  /** Its uuid (`srcuuid`), 32 lowercase hex digits. */
  readonly uuidHex: string;
}

export function peerGenerationsFile(stateDir: string): string {
  return path.join(stateDir, PEER_GENERATIONS_FILE);
}

function isNotFound(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ENOENT';
}

/** Reads at most `limit + 1` bytes: a file of gigabytes must not be read to find out it is too large. */
async function readBounded(file: string, limit: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(limit + 1);
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/**
 * The stored generations, by node name. Never throws: whatever is wrong with the file is reported to `onProblem`
 * and what cannot be trusted is left out.
 */
export async function loadPeerGenerations(
  stateDir: string,
  onProblem: (reason: string) => void = () => undefined,
): Promise<Map<string, PeerGeneration>> {
  const file = peerGenerationsFile(stateDir);
  const out = new Map<string, PeerGeneration>();
  let data: Buffer;
  try {
    data = await readBounded(file, MAX_PEER_FILE_BYTES);
  } catch (e) {
    if (!isNotFound(e)) onProblem(`${file}: ignored, cannot be read: ${errorMessage(e)}`);
    return out;
  }
  if (data.length > MAX_PEER_FILE_BYTES) {
    onProblem(`${file}: ignored, larger than ${MAX_PEER_FILE_BYTES} bytes`);
    return out;
  }
  const lines = data.toString('utf8').split('\n');
  if (lines[0]?.trimEnd() !== HEADER) {
    onProblem(`${file}: ignored, does not start with "${HEADER}"`);
    return out;
  }
  let problems = 0;
  const report = (lineNo: number, why: string): void => {
    if (problems++ < MAX_REPORTED) onProblem(`${file}:${lineNo}: ${why}; line ignored`);
  };
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/[ \t]+/);
    const [name, gen, seqText, uuid] = parts;
    if (parts.length !== 4 || name === undefined || gen === undefined || seqText === undefined || uuid === undefined) {
      report(i + 1, 'expected <node> <generation> <seq> <uuid>');
      continue;
    }
    if (name.length > MAX_PEER_NAME || !NAME_RE.test(name)) {
      report(i + 1, 'invalid node name');
      continue;
    }
    const generation = /^\d{1,16}$/.test(gen) ? Number(gen) : NaN;
    if (!Number.isSafeInteger(generation)) {
      report(i + 1, `invalid generation [${gen.slice(0, 20)}]`);
      continue;
    }
    const seq = /^\d{1,16}$/.test(seqText) ? Number(seqText) : NaN;
    if (!Number.isSafeInteger(seq)) {
      report(i + 1, `invalid seq [${seqText.slice(0, 20)}]`);
      continue;
    }
    if (!UUID_RE.test(uuid)) {
      report(i + 1, 'invalid uuid (32 lowercase hex digits expected)');
      continue;
    }
    const seen = out.get(name);
    if (seen !== undefined) {
      // Two lines for one node (an edit by hand): the higher generation is the safer one to keep.
      report(i + 1, `node ${name} listed again`);
      if (seen.generation > generation || (seen.generation === generation && seen.seq >= seq)) continue;
    } else if (out.size >= MAX_PEER_ENTRIES) {
      report(i + 1, `more than ${MAX_PEER_ENTRIES} nodes`);
      continue;
    }
    out.set(name, { generation, seq, uuidHex: uuid });
  }
  if (problems > MAX_REPORTED) onProblem(`${file}: ${problems - MAX_REPORTED} more bad lines ignored`);
  return out;
}

/** The file's text for `peers`; VIGIL_ERR_INTERNAL for an entry the file could not hold (a bug upstream). */
export function formatPeerGenerations(peers: ReadonlyMap<string, PeerGeneration>): string {
  if (peers.size > MAX_PEER_ENTRIES) {
    throw new VigilError('VIGIL_ERR_INTERNAL', `peer generations: ${peers.size} nodes, at most ${MAX_PEER_ENTRIES}`);
  }
  const lines = [HEADER];
  for (const name of [...peers.keys()].sort()) {
    const p = peers.get(name);
    if (p === undefined) continue;
    if (name.length > MAX_PEER_NAME || !NAME_RE.test(name)) {
      throw new VigilError('VIGIL_ERR_INTERNAL', `peer generations: invalid node name [${name.slice(0, 80)}]`);
    }
    if (!Number.isSafeInteger(p.generation) || p.generation < 0) {
      throw new VigilError('VIGIL_ERR_INTERNAL', `peer generations: invalid generation for ${name}`);
    }
    if (!Number.isSafeInteger(p.seq) || p.seq < 0) {
      throw new VigilError('VIGIL_ERR_INTERNAL', `peer generations: invalid seq for ${name}`);
    }
    const uuid = p.uuidHex.toLowerCase();
    if (!UUID_RE.test(uuid)) {
      throw new VigilError('VIGIL_ERR_INTERNAL', `peer generations: invalid uuid for ${name}`);
    }
    lines.push(`${name} ${p.generation} ${p.seq} ${uuid}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Per file, the save in progress (or the last one): each new save waits for it. */
const queues = new Map<string, Promise<void>>();

/**
 * Writes `peers` (all of them: the file is replaced whole) to the state directory. Saves of one file run one
 * at a time in call order, so concurrent calls never interleave and the last call's content is what stays.
 * Rejects with VIGIL_ERR_STATE_WRITE (disk full, read-only...) naming the file; the old file is then intact.
 */
export function savePeerGenerations(stateDir: string, peers: ReadonlyMap<string, PeerGeneration>): Promise<void> {
  const file = peerGenerationsFile(stateDir);
  let text: string;
  try {
    // Taken now: a caller that changes its map after the call does not change what this call writes.
    text = formatPeerGenerations(peers);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  const before = queues.get(file) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => writeFileAtomic(file, text, { mode: 0o600 }));
  queues.set(file, mine);
  const forget = (): void => {
    if (queues.get(file) === mine) queues.delete(file);
  };
  void mine.then(forget, forget);
  return mine;
}
