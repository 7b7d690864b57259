/**
 * Runs one lab command (`vigil lab run ... --json` or `vigil lab soak ... --json`) as a child process and hands
 * back its JSON result. A child of its own process group: a Ctrl-C in the terminal reaches the runner only, which
 * decides whether the trial finishes or is abandoned (child killed by PID, the lab torn down by prefix).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { relative } from 'node:path';

export interface ChildOutcome {
  /** The last stdout line parsed as JSON, when it is an object. */
  json: Record<string, unknown> | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  ms: number;
  abandoned: boolean;
  timedOut: boolean;
}

export interface RunningChild {
  done: Promise<ChildOutcome>;
  /** Kills the child (SIGKILL, by PID); `done` then resolves with abandoned = true. */
  abandon(): void;
}

const STDERR_TAIL = 4096;

export function runChild(argv: readonly string[], timeoutMs: number): RunningChild {
  const start = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  let abandoned = false;
  let timedOut = false;
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => {
    err = (err + b.toString('utf8')).slice(-STDERR_TAIL);
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  const done = new Promise<ChildOutcome>((resolve) => {
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer);
      const lines = Buffer.concat(out).toString('utf8').trim().split('\n');
      let json: Record<string, unknown> | undefined;
      try {
        const v: unknown = JSON.parse(lines[lines.length - 1] ?? '');
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) json = v as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({
        json,
        exitCode,
        signal,
        stderrTail: err.trim(),
        ms: Math.round(performance.now() - start),
        abandoned,
        timedOut,
      });
    };
    child.on('close', finish);
    child.on('error', (e) => {
      err += `\n${e.message}`;
      finish(null, null);
    });
  });
  return {
    done,
    abandon: () => {
      abandoned = true;
      kill();
    },
  };
}

export async function loadavg(): Promise<number[]> {
  const t = await readFile('/proc/loadavg', 'utf8').catch(() => '');
  return t
    .split(' ')
    .slice(0, 3)
    .map(Number)
    .filter((x) => Number.isFinite(x));
}

export function nproc(): number {
  return cpus().length;
}

/** argv as a shell line, with the node binary shown as `node` and paths relative to the repository. */
export function displayCommand(argv: readonly string[], cwd: string): string {
  return argv
    .map((a, i) =>
      i === 0 && a === process.execPath ? 'node' : a.startsWith('/') && a.startsWith(cwd) ? relative(cwd, a) : a,
    )
    .map((a) => (/^[\w./=,:@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
