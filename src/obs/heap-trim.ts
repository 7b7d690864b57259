/**
 * Keeps an idle daemon's V8 heap near its live size. Objects that live a minute or more (the 500-entry
 * retransmission history, per-peer state, timers) are promoted to old space and die there, and V8 collects old
 * space when an allocation limit set at the previous major GC is reached. At an idle daemon's few allocations a
 * second that is hours away and several MB up: a node at keepalive 1 s went from 6.6 to 8.7 MB of heap in 8 minutes
 * without one major GC, and its RSS rose by about 0.1 MB a minute.
 *
 * So once a minute the heap is looked at, and when it has grown by HEAP_TRIM_GROWTH_BYTES since its last low point,
 * a major GC is requested with `execution: 'async'`: V8 runs it from a task of the event loop, not inside the
 * current callback. It is a full mark-compact of a ~8 MB heap: 3-12 ms with --trace-gc on this 2-core lab host,
 * the cost of one scavenge to a few, and once in several minutes at idle. Dead Buffers go with it, and with them
 * their malloc'd backing stores. A daemon that really needs more memory gets a collection per 1 MB of growth,
 * never more often than once a minute.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const HEAP_TRIM_CHECK_MS = 60_000;
export const HEAP_TRIM_GROWTH_BYTES = 1024 * 1024;

export type GcFunction = (options: { type: 'major'; execution: 'async' }) => Promise<void> | undefined;

/** Bytes in use in V8's old space. */
export function oldSpaceUsed(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
}

/**
 * Bytes in use outside the young generation, live and not yet collected (what the trimmer watches): new space
 * fills and empties with every scavenge, and would only add noise.
 */
export function heapUsed(): number {
  let n = 0;
  for (const s of getHeapSpaceStatistics()) if (!s.space_name.startsWith('new_')) n += s.space_used_size;
  return n;
}

/**
 * V8's `gc()` (with options), without node having been started with --expose-gc: the flag exposes it to contexts
 * created afterwards. undefined when this V8 does not allow it.
 */
export function exposeGc(): GcFunction | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as GcFunction) : undefined;
  } catch {
    return undefined;
  }
}

export class HeapTrimmer {
  private floor: number;
  private timer: NodeJS.Timeout | undefined;
  /** Major GCs requested so far. */
  collections = 0;

  constructor(
    private readonly gc: GcFunction,
    private readonly used: () => number = heapUsed,
    private readonly growthBytes = HEAP_TRIM_GROWTH_BYTES,
  ) {
    this.floor = used();
  }

  /** One look at the heap; true when a collection was requested. */
  check(): boolean {
    const u = this.used();
    if (u < this.floor) {
      // A major GC ran (ours or V8's own): this is the new low point.
      this.floor = u;
      return false;
    }
    if (u - this.floor < this.growthBytes) return false;
    // Measured again from here: if the collection frees little, the next one waits for another growthBytes.
    this.floor = u;
    this.collections++;
    void Promise.resolve(this.gc({ type: 'major', execution: 'async' })).catch(() => undefined);
    return true;
  }

  start(everyMs = HEAP_TRIM_CHECK_MS): void {
    this.stop();
    this.timer = setInterval(() => this.check(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
