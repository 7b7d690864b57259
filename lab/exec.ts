import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { VigilError } from '../src/util/errors.js';

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Bounded so a wedged `ip`/`nsenter` cannot hang a scenario forever. */
const DEFAULT_TIMEOUT_MS = 30_000;

/** Runs a command to completion; never throws on a non-zero exit (callers decide), only on spawn failure. */
export function runCmd(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
        killSignal: 'SIGKILL',
        env: opts.env ?? process.env,
      },
      (err, stdout, stderr) => {
        if (err !== null && typeof err.code !== 'number') {
          if (err.killed) {
            resolve({
              stdout,
              stderr: `${stderr}\n(timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms)`,
              code: 124,
            });
            return;
          }
          reject(new VigilError('VIGIL_ERR_OS_COMMAND', `${cmd}: ${err.message}`, undefined, { cause: err }));
          return;
        }
        resolve({ stdout, stderr, code: err === null ? 0 : (err.code as number) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Like runCmd but a non-zero exit is an error naming the command and its stderr. */
export async function mustRun(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<string> {
  const r = await runCmd(cmd, args, opts);
  if (r.code !== 0) {
    throw new VigilError(
      'VIGIL_ERR_OS_COMMAND',
      `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`,
    );
  }
  return r.stdout;
}

export function spawnCmd(cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Wall-clock milliseconds with sub-millisecond precision, on the same clock as tcpdump's -tt and `ip -ts`. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 50,
): Promise<T> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (nowMs() > deadline)
      throw new VigilError('VIGIL_ERR_LAB', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
