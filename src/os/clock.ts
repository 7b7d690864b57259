import type { Scheduler, TimerHandle } from '../util/clock.js';

let nextId = 1;
const live = new Map<number, NodeJS.Timeout>();

/** Real time for the daemon: monotonic `now` (performance.now), wall time for `ts` fields and logs, Node timers. */
export const realScheduler: Scheduler = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = nextId++;
    live.set(
      id,
      setTimeout(() => {
        live.delete(id);
        fn();
      }, ms),
    );
    return { id };
  },
  clearTimeout(h: TimerHandle): void {
    const t = live.get(h.id);
    if (t !== undefined) clearTimeout(t);
    live.delete(h.id);
  },
};
