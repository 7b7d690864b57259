import { spawn } from 'node:child_process';

/** What running an external program produced. Output is capped: a chatty script must not eat the daemon's memory. */
export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** Set when the program could not be started at all (ENOENT, EACCES...). */
  readonly spawnError: string | undefined;
}

export interface RunOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Bytes kept per stream; the rest is dropped and counted in the tail marker. */
  readonly maxOutputBytes?: number;
}

const DEFAULT_MAX_OUTPUT = 64 * 1024;

/**
 * Runs a program in its own process group so that a timeout kills the whole tree
 * (a resource script that forks a daemon and hangs must not survive its own timeout).
 */
export function runProgram(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
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
    const out = new CappedBuffer(cap);
    const err = new CappedBuffer(cap);
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
    });
    let timedOut = false;
    let spawnError: string | undefined;
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Children the script left in its group (daemons it started) are not ours to kill on success;
      // on timeout the whole group already got SIGKILL.
      resolve({
        code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        timedOut,
        durationMs: performance.now() - started,
        spawnError,
      });
    });
  });
}

function failed(e: unknown, started: number): RunResult {
  return {
    code: null,
    signal: null,
    stdout: '',
    stderr: '',
    timedOut: false,
    durationMs: performance.now() - started,
    spawnError: e instanceof Error ? e.message : String(e),
  };
}

class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;
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
