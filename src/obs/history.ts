/**
 * The persistent transition history (`vigil history`): one JSON object per line in `vigil-history.jsonl` under the
 * state directory, appended as transitions happen. Bounded: when the file passes its size it is renamed to
 * `vigil-history.jsonl.1` (replacing the previous one), so the history never takes more than twice the size.
 *
 * Appends go through one queue (never two writes at once, so lines never interleave), bounded too: a disk that
 * stalls costs dropped lines (counted), never memory or the heartbeat. A torn last line (power loss mid-write) is
 * skipped when read.
 */
import { appendFile, open, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HistoryEntry } from '../control/protocol.js';
import type { DaemonStats } from './stats.js';

export const HISTORY_FILE = 'vigil-history.jsonl';
/** Appends waiting for the disk; past this, new ones are dropped and counted. */
const MAX_PENDING = 1000;
/** A line longer than this is not ours (or is corrupt): skipped when read. */
const MAX_LINE = 16 * 1024;

export class HistoryJournal {
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private size: number | undefined;
  dropped = 0;
  errors = 0;

  constructor(
    private dir: string,
    private maxBytes: number,
    private readonly onError: (text: string) => void = () => undefined,
    private readonly stats?: DaemonStats,
  ) {}

  get path(): string {
    return join(this.dir, HISTORY_FILE);
  }

  /** A reload changed the size or the state directory. */
  configure(dir: string, maxBytes: number): void {
    if (dir !== this.dir) this.size = undefined;
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  append(e: HistoryEntry): void {
    if (this.pending >= MAX_PENDING) {
      this.dropped++;
      if (this.stats !== undefined) this.stats.historyLost++;
      return;
    }
    this.pending++;
    const line = JSON.stringify(e) + '\n';
    this.queue = this.queue.then(async () => {
      try {
        await this.write(line);
      } catch (err) {
        this.errors++;
        if (this.stats !== undefined) this.stats.historyLost++;
        // Said once per burst: a full disk must not also flood the log.
        if (this.errors === 1 || this.errors % 100 === 0)
          this.onError(`cannot append to ${this.path}: ${(err as Error).message}`);
      } finally {
        this.pending--;
      }
    });
  }

  private async write(line: string): Promise<void> {
    const path = this.path;
    this.size ??= await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    if (this.size > 0 && this.size + line.length > this.maxBytes) {
      await rename(path, `${path}.1`);
      this.size = 0;
    }
    await appendFile(path, line, { mode: 0o640 });
    this.size += Buffer.byteLength(line);
  }

  /** Resolves once every append queued so far reached the file (or failed). */
  flush(): Promise<void> {
    return this.queue;
  }
}

export interface HistoryQuery {
  readonly since?: number;
  readonly group?: string;
  readonly limit?: number;
}

function parseLine(line: string): HistoryEntry | undefined {
  if (line === '' || line.length > MAX_LINE) return undefined;
  try {
    const o = JSON.parse(line) as Partial<HistoryEntry> | null;
    if (o === null || typeof o !== 'object') return undefined;
    if (typeof o.at !== 'number' || typeof o.group !== 'string' || typeof o.to !== 'string') return undefined;
    return o as HistoryEntry;
  } catch {
    return undefined;
  }
}

/**
 * Entries of the journal (rotated file first), oldest first, filtered; the newest `limit` when there are more. Read
 * line by line, keeping only the newest `limit`: the daemon answers this for any HTTP client, and a journal may be
 * large (vigil_history_size), so a request costs the journal's reading time, never its size in memory.
 */
export async function readHistory(dir: string, q: HistoryQuery = {}): Promise<HistoryEntry[]> {
  const path = join(dir, HISTORY_FILE);
  const limit = q.limit ?? Infinity;
  let out: HistoryEntry[] = [];
  for (const p of [`${path}.1`, path]) {
    let fh;
    try {
      fh = await open(p, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    try {
      for await (const line of fh.readLines({ encoding: 'utf8', autoClose: false })) {
        const e = parseLine(line);
        if (e === undefined) continue;
        if (q.since !== undefined && e.at < q.since) continue;
        if (q.group !== undefined && e.group !== q.group) continue;
        out.push(e);
        if (out.length >= 2 * limit) out = out.slice(out.length - limit);
      }
    } finally {
      await fh.close();
    }
  }
  out.sort((a, b) => a.at - b.at);
  return out.length > limit ? out.slice(out.length - limit) : out;
}

/** The last `n` entries, read from the end of the current file only (start-up: `vigil status` keeps its list). */
export async function tailHistory(dir: string, n: number, maxBytes = 64 * 1024): Promise<HistoryEntry[]> {
  const path = join(dir, HISTORY_FILE);
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return [];
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    // The first line may be cut by the window: only whole lines count.
    if (len < size) lines.shift();
    const out: HistoryEntry[] = [];
    for (const l of lines) {
      const e = parseLine(l);
      if (e !== undefined) out.push(e);
    }
    return out.slice(-n);
  } finally {
    await fh.close();
  }
}
