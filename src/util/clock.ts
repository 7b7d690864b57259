/**
 * Time as the pure core sees it. The daemon passes a real clock; simulations pass a fake one,
 * so every decision can be replayed from a seed.
 */
export interface Clock {
  /** Monotonic milliseconds (never goes backwards; unrelated to wall time). */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for `ts` fields and log lines only). */
  wallNow(): number;
}

export type TimerHandle = { readonly id: number };

/** A clock that can also schedule; the simulated one advances only when told to. */
export interface Scheduler extends Clock {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Deterministic clock and timer queue for simulation tests. */
export class SimulatedClock implements Scheduler {
  private t: number;
  private wallOffset: number;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; seq: number; fn: () => void }>();
  private seq = 0;

  constructor(startMs = 0, wallStartMs = 1_700_000_000_000) {
    this.t = startMs;
    this.wallOffset = wallStartMs - startMs;
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.t + this.wallOffset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  /** Run every timer due up to `now + ms`, in time order (ties in scheduling order). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let best: [number, { at: number; seq: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at > end) continue;
        if (
          best === undefined ||
          entry[1].at < best[1].at ||
          (entry[1].at === best[1].at && entry[1].seq < best[1].seq)
        ) {
          best = entry;
        }
      }
      if (best === undefined) break;
      this.timers.delete(best[0]);
      this.t = Math.max(this.t, best[1].at);
      best[1].fn();
    }
    this.t = end;
  }
}
