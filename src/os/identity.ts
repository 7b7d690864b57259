/**
 * The node's persistent identity, kept where Heartbeat keeps it so a node that migrates from
 * Heartbeat to Vigil keeps its uuid and its generation keeps rising (peers drop a lower one as a replay):
 * - `hb_uuid`: 16 raw bytes, created once (random) unless `uuidfrom nodename`;
 * - `hb_generation`: `%15lu\n`, incremented and rewritten on every start.
 *
 * The generation's ceiling. Heartbeat 3.0.6 reads the first 16 bytes of hb_generation and writes 16 (checked with
 * the real binary: from 999999999999999 it goes on to 1000000000000000, written as 16 digits without a newline;
 * from 9999999999999999 it writes a truncated 1000000000000000 and goes backwards). Vigil reads up to 16 digits
 * and never goes above {@link MAX_GENERATION}: 2^52 - 1, the largest `hg` a Vigil peer accepts (13 hex digits,
 * src/wire/control.ts) and well inside the integers a JS number holds exactly. A stored value that cannot be
 * incremented within that is refused (VIGIL_ERR_STATE) instead of wrapping or restarting from time(): a lower
 * generation makes every peer drop this node as a replay.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { VigilError } from '../util/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { PEER_GENERATIONS_FILE } from './peer-state.js';

export const UUID_FILE = 'hb_uuid';
export const GENERATION_FILE = 'hb_generation';
export const UUID_BYTES = 16;
/** Width of Heartbeat's `%15lu`. */
const GEN_WIDTH = 15;
/** Heartbeat reads this many bytes of hb_generation (GENLEN). */
const GEN_READ_DIGITS = 16;
/** The largest generation Vigil produces (see the top of this file). */
export const MAX_GENERATION = 2 ** 52 - 1;

export interface IdentityOptions {
  /** Directory of hb_uuid and hb_generation (ha.cf `vigil_state_dir`, default /var/lib/heartbeat). */
  readonly stateDir: string;
  readonly nodeName: string;
  /** ha.cf `uuidfrom`: `nodename` derives the uuid from the name instead of the file. */
  readonly uuidFrom: 'file' | 'nodename';
  /** ha.cf `hbgenmethod`: `time` uses time() as the generation and leaves the file alone. */
  readonly hbgenmethod: 'file' | 'time';
  /** Wall clock in ms (injected for tests). */
  readonly wallNow?: () => number;
  readonly randomBytes?: (n: number) => Uint8Array;
}

export interface IdentityLogLine {
  readonly level: 'info' | 'warn';
  readonly text: string;
}

export interface NodeIdentity {
  readonly uuid: Uint8Array;
  readonly generation: number;
  /** Lines to log (Heartbeat's wording where it has one). */
  readonly log: readonly IdentityLogLine[];
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'ENOENT';
}

/** `uuidfrom nodename`: the name's bytes, zero-padded (or cut) to 16, as Heartbeat copies it. */
export function uuidFromNodeName(name: string): Uint8Array {
  const out = new Uint8Array(UUID_BYTES);
  out.set(Buffer.from(name, 'latin1').subarray(0, UUID_BYTES));
  return out;
}

export function formatUuid(u: Uint8Array): string {
  const h = Buffer.from(u).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export async function loadNodeUuid(o: IdentityOptions, log: IdentityLogLine[] = []): Promise<Uint8Array> {
  if (o.uuidFrom === 'nodename') return uuidFromNodeName(o.nodeName);
  const file = path.join(o.stateDir, UUID_FILE);
  let data: Buffer | undefined;
  try {
    data = await readFile(file);
  } catch (e) {
    if (!isNotFound(e)) {
      throw new VigilError('VIGIL_ERR_STATE', `cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
    }
  }
  if (data !== undefined) {
    if (data.length !== UUID_BYTES) {
      // Replacing it would silently give this node a new identity in the cluster: let the admin decide.
      throw new VigilError(
        'VIGIL_ERR_STATE',
        `${file} holds ${data.length} bytes, expected ${UUID_BYTES}; remove it to create a new node uuid`,
        { file },
      );
    }
    return new Uint8Array(data);
  }
  const uuid = Uint8Array.from((o.randomBytes ?? nodeRandomBytes)(UUID_BYTES));
  // RFC 4122 version 4, variant 1, as libuuid's uuid_generate() makes them.
  uuid[6] = ((uuid[6] ?? 0) & 0x0f) | 0x40;
  uuid[8] = ((uuid[8] ?? 0) & 0x3f) | 0x80;
  await writeFileAtomic(file, uuid, { mode: 0o644 });
  log.push({ level: 'info', text: `Created node uuid ${formatUuid(uuid)} in ${file}` });
  return uuid;
}

export function formatGeneration(gen: number): string {
  return `${String(gen).padStart(GEN_WIDTH, ' ')}\n`;
}

/**
 * Read, increment and write hb_generation. A missing file starts from time() (Heartbeat's
 * `No Previous generation - starting at N`), a corrupt one too (`BROKEN previous generation - starting at N`).
 * time() + 1 matches the captures (first hg = first ts + 1) and stays above earlier time-derived generations.
 */
export async function nextGeneration(o: IdentityOptions, log: IdentityLogLine[] = []): Promise<number> {
  const nowS = Math.floor((o.wallNow ?? Date.now)() / 1000);
  if (o.hbgenmethod === 'time') return nowS;
  const file = path.join(o.stateDir, GENERATION_FILE);
  let text: string | undefined;
  try {
    text = await readFile(file, 'latin1');
  } catch (e) {
    if (!isNotFound(e)) {
      throw new VigilError('VIGIL_ERR_STATE', `cannot read ${file}: ${(e as Error).message}`, { file }, { cause: e });
    }
  }
  let gen: number;
  if (text === undefined || text.trim() === '') {
    gen = nowS + 1;
    log.push({ level: 'warn', text: `No Previous generation - starting at ${gen}` });
  } else {
    const m = /^\s*(\d+)\s*$/.exec(text);
    if (m?.[1] !== undefined) {
      gen = incrementStored(m[1], file);
    } else {
      // Heartbeat's answer too: time() is above any generation an earlier start derived from time(). A file that
      // still starts with a number (sscanf would read it) must not make the generation go backwards, though.
      const lead = /^\s*(\d{1,16})/.exec(text)?.[1];
      const fromLead = lead === undefined ? 0 : Number(lead) + 1;
      gen = fromLead > nowS + 1 && fromLead <= MAX_GENERATION ? fromLead : nowS + 1;
      log.push({ level: 'warn', text: `BROKEN previous generation - starting at ${gen}` });
    }
  }
  await writeFileAtomic(file, formatGeneration(gen), { mode: 0o644 });
  return gen;
}

/** The stored generation plus one, or VIGIL_ERR_STATE when that would pass {@link MAX_GENERATION}. */
function incrementStored(digits: string, file: string): number {
  const stored = digits.replace(/^0+(?=\d)/, '');
  // Past 16 digits a number is not even exact in JS: compare as text first.
  if (stored.length <= GEN_READ_DIGITS && Number(stored) < MAX_GENERATION) return Number(stored) + 1;
  const peers = PEER_GENERATIONS_FILE;
  throw new VigilError(
    'VIGIL_ERR_STATE',
    `${file} holds generation ${stored}: its successor would be above ${MAX_GENERATION}, the largest generation ` +
      `Vigil peers accept, and a lower one makes them drop this node as a replay. To fix: stop Vigil on every ` +
      `node, write a smaller number into ${file} (e.g. \`date +%s > ${file}\`), remove ${peers} from the state ` +
      `directory of every other node (it remembers this node's generation), then start them again.`,
    { file },
  );
}

/** uuid then generation; the caller logs `log` and passes both to the wire layer. */
export async function loadIdentity(o: IdentityOptions): Promise<NodeIdentity> {
  const log: IdentityLogLine[] = [];
  const uuid = await loadNodeUuid(o, log);
  const generation = await nextGeneration(o, log);
  return { uuid, generation, log };
}
