/**
 * `realtime on` (Heartbeat's default): the event loop thread runs SCHED_RR, priority 1 unless `rtprio` says
 * otherwise — what the real heartbeat sets (read off cluster-glue's cl_make_realtime). A busy host (a CPU hog,
 * a compile, a backup) then cannot delay heartbeats or the liveness check; kernel RT throttling still leaves
 * other tasks 5 % of each CPU should Vigil ever spin.
 *
 * Not copied from Heartbeat: mlockall (V8 reserves large address ranges; locking them aborts Node at exit), and
 * children are started with the normal policy (SCHED_RESET_ON_FORK): resource scripts, ping and STONITH
 * commands must never compete at realtime priority.
 */
import { errorMessage } from '../util/errors.js';
import { readdir } from 'node:fs/promises';
import { SCHED_OTHER, SCHED_RESET_ON_FORK, SCHED_RR, getScheduler, setScheduler } from './libc.js';

export const HEARTBEAT_RT_PRIORITY = 1;

export type RealtimeOutcome =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly text: string };

export function makeRealtime(priority: number = HEARTBEAT_RT_PRIORITY): RealtimeOutcome {
  try {
    setScheduler(SCHED_RR | SCHED_RESET_ON_FORK, priority);
    return { ok: true, text: `Running at realtime priority ${priority} (SCHED_RR).` };
  } catch (e) {
    return {
      ok: false,
      text: `Cannot run at realtime priority ${priority}: ${errorMessage(e)}; heartbeats may be late on a busy host.`,
    };
  }
}

/**
 * The same policy for the process's other threads (the libuv threadpool, which runs the lease renewals and device
 * checks off the event loop, and V8's helpers): at normal priority a CPU hog starves them, a renewal comes too late
 * and the kernel drops the VIP of a healthy holder. Returns how many threads were changed.
 */
export async function makeThreadsRealtime(priority: number = HEARTBEAT_RT_PRIORITY): Promise<number> {
  let n = 0;
  for (const t of await readdir('/proc/self/task').catch(() => [] as string[])) {
    const tid = Number(t);
    if (!Number.isInteger(tid) || tid === process.pid) continue;
    try {
      setScheduler(SCHED_RR | SCHED_RESET_ON_FORK, priority, tid);
      n++;
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return n;
}

/** Back to the normal policy (tests, and `realtime off` after a reload). */
export function makeNormal(): void {
  setScheduler(SCHED_OTHER, 0);
}

export function isRealtime(): boolean {
  return getScheduler() === SCHED_RR;
}
