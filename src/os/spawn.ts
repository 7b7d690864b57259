import { errorMessage } from '../util/errors.js';
import { spawn } from 'node:child_process';

/** What running an external program produced. Output is capped: a chatty script must not eat the daemon's memory. */
export interface RunResult {
  /** Exit code, or null when killed by a signal (or when it never exited: see `timedOut`). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The deadline passed: the process group got SIGTERM, then SIGKILL after the grace period. */
  readonly timedOut: boolean;
  /** `opts.signal` aborted the run: the process group was killed as on a timeout. */
  readonly aborted: boolean;
  /** Some output went beyond `maxOutputBytes` and was dropped (the text then ends with a marker). */
  readonly truncated: boolean;
  readonly durationMs: number;
  /** Set when the program could not be started at all (ENOENT, EACCES...). */
  readonly spawnError: string | undefined;
}

export interface RunOptions {
  /** The deadline, from the call. Clamped to [1, 2^31-1] (setTimeout fires at once beyond that). */
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Bytes kept per stream; the rest is dropped and counted in the tail marker. */
  readonly maxOutputBytes?: number;
  /**
   * Between the deadline's SIGTERM to the process group and its SIGKILL: time for a script to clean up.
   * Default {@link DEFAULT_KILL_GRACE_MS}, clamped to [0, {@link MAX_KILL_GRACE_MS}].
   */
  readonly killGraceMs?: number;
  /**
   * After the program exited, how long its output pipes are still read. A daemon it started (`apache2 start`)
   * may hold them open for ever: the call ends after this, not when they close. Default {@link DEFAULT_DRAIN_MS},
   * clamped to [0, {@link MAX_DRAIN_MS}].
   */
  readonly drainMs?: number;
  /** Aborting ends the run like the deadline does (SIGTERM, grace, SIGKILL), reported as `aborted`. */
  readonly signal?: AbortSignal;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2000;
export const MAX_KILL_GRACE_MS = 30_000;
export const DEFAULT_DRAIN_MS = 150;
export const MAX_DRAIN_MS = 2000;
/**
 * After SIGKILL, how long to wait for the exit before giving up on it: a process in uninterruptible sleep
 * (D state: NFS, a blocked RTNL) dies only when its syscall returns. The call must end anyway.
 */
export const KILL_WAIT_MS = 1000;
const MAX_TIMER_MS = 2 ** 31 - 1;

function clamp(v: number | undefined, dflt: number, lo: number, hi: number): number {
  if (v === undefined || Number.isNaN(v)) return dflt;
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Runs a program in its own process group (and session) so that a timeout kills the whole tree: a resource
 * script that forks and hangs must not survive its own deadline.
 *
 * The call ends, whatever the program's descendants do:
 * - on the program's exit, after reading its pipes for at most `drainMs` more (descendants that keep them open,
 *   such as a daemon a start script left running, are not waited for and not killed: on success they are the
 *   point of the script; the pipes are destroyed, so a daemon that later writes to an inherited stdout gets
 *   EPIPE, as under any init system that closes the pipe);
 * - at the deadline (or abort): SIGTERM to the group; SIGKILL to the group after `killGraceMs`; the call ends
 *   when the program has exited (plus the drain), and at the latest `KILL_WAIT_MS` after the SIGKILL.
 * So it lasts at most timeoutMs + killGraceMs + KILL_WAIT_MS + drainMs. Descendants that left the group
 * (`setsid`) are out of reach of the group kill; they no longer hold the call.
 *
 * Never rejects: failures are in the result.
 */
export function runProgram(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
  const timeoutMs = clamp(opts.timeoutMs, 1, 1, MAX_TIMER_MS);
  const graceMs = clamp(opts.killGraceMs, DEFAULT_KILL_GRACE_MS, 0, MAX_KILL_GRACE_MS);
  const drainMs = clamp(opts.drainMs, DEFAULT_DRAIN_MS, 0, MAX_DRAIN_MS);
  if (opts.signal?.aborted === true) {
    return Promise.resolve({ ...failed('aborted before start', started), aborted: true });
  }
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(file, args, {
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: opts.env ?? process.env,
        cwd: opts.cwd ?? '/',
      });
    } catch (e) {
      resolve(failed(e, started));
      return;
    }
    const pid = child.pid;
    const out = new CappedBuffer(cap);
    const err = new CappedBuffer(cap);
    const onOut = (b: Buffer): void => {
      out.push(b);
    };
    const onErr = (b: Buffer): void => {
      err.push(b);
    };
    child.stdout.on('data', onOut);
    child.stderr.on('data', onErr);

    let timedOut = false;
    let aborted = false;
    let spawnError: string | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    let drain: NodeJS.Timeout | undefined;
    let backstop: NodeJS.Timeout | undefined;
    // Not cleared by finish(): once started, the group's SIGKILL happens even if the leader already exited, so a
    // member that ignores SIGTERM does not outlive the deadline by more than the grace.
    let killTimer: NodeJS.Timeout | undefined;
    const deadline =
      pid === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, timeoutMs);

    const signalGroup = (sig: NodeJS.Signals | 0): boolean => {
      if (pid === undefined) return false;
      try {
        process.kill(-pid, sig);
        return true;
      } catch {
        return false; // ESRCH: the group is empty
      }
    };

    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(drain);
      clearTimeout(backstop);
      opts.signal?.removeEventListener('abort', onAbort);
      child.stdout.off('data', onOut);
      child.stderr.off('data', onErr);
      // Whoever still holds the write ends (a daemon, a process stuck in D state) no longer matters to us.
      child.stdout.destroy();
      child.stderr.destroy();
      child.removeListener('exit', onExit);
      child.removeListener('close', onClose);
      resolve({
        code: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: out.text(),
        stderr: err.text(),
        timedOut,
        aborted,
        truncated: out.dropped > 0 || err.dropped > 0,
        durationMs: performance.now() - started,
        spawnError,
      });
    };

    const stop = (): void => {
      if (killTimer !== undefined || exit !== undefined) return;
      clearTimeout(deadline);
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => {
        signalGroup('SIGKILL');
        if (exit === undefined && !done) backstop = setTimeout(finish, KILL_WAIT_MS);
      }, graceMs);
    };
    const onAbort = (): void => {
      if (done || exit !== undefined) return;
      aborted = true;
      stop();
    };
    function onExit(code: number | null, signal: NodeJS.Signals | null): void {
      exit = { code, signal };
      clearTimeout(deadline);
      clearTimeout(backstop);
      // The leader is gone: if nothing else is left in its group, the pending SIGKILL has nobody to hit, and the
      // group id becomes free for reuse, so drop it.
      if (killTimer !== undefined && !signalGroup(0)) clearTimeout(killTimer);
      drain = setTimeout(finish, drainMs);
    }
    function onClose(): void {
      // Exit seen and every pipe closed: nothing more to read.
      if (exit !== undefined) finish();
    }

    child.on('exit', onExit);
    child.on('close', onClose);
    child.on('error', (e) => {
      spawnError = e.message;
      // A program that could not start has no exit to wait for.
      if (pid === undefined) {
        exit = { code: null, signal: null };
        finish();
      }
    });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Why a run did not succeed, in a few words (`exit code 2`, `killed by SIGSEGV`, `timed out`...); '' on success. */
export function runFailure(r: RunResult): string {
  if (r.spawnError !== undefined) return `cannot run: ${r.spawnError}`;
  if (r.timedOut) return 'timed out and was killed';
  if (r.aborted) return 'aborted and was killed';
  if (r.code === 0) return '';
  if (r.code === null) return `killed by ${r.signal ?? 'a signal'}`;
  return `exit code ${r.code}`;
}

function failed(e: unknown, started: number): RunResult {
  return {
    code: null,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    aborted: false,
    truncated: false,
    durationMs: performance.now() - started,
    spawnError: errorMessage(e),
  };
}

class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;
  constructor(private readonly cap: number) {}
  push(b: Buffer): void {
    const room = this.cap - this.size;
    if (room <= 0) {
      this.dropped += b.length;
      return;
    }
    const kept = b.length <= room ? b : b.subarray(0, room);
    this.chunks.push(kept);
    this.size += kept.length;
    this.dropped += b.length - kept.length;
  }
  text(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.dropped > 0 ? `${s}\n[${this.dropped} bytes dropped]` : s;
  }
}
