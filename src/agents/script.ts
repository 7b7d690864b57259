import { findResourceScript, resourceScriptDirs } from '../os/config-files.js';
import { runProgram, type RunResult } from '../os/spawn.js';
import { VigilError } from '../util/errors.js';
import { statusTextSaysRunning, type OpResult, type ResourceAgent, type StatusResult } from './agent.js';

/** Where Heartbeat looks for a resource script, in order. */
export const DEFAULT_SCRIPT_DIRS: readonly string[] = resourceScriptDirs('/etc/ha.d');

/** Called for every script run, so the daemon can log Heartbeat's lines (`Running X args start`, stderr to the debug log). */
export interface ScriptObserver {
  running(path: string, args: readonly string[], op: string): void;
  finished(path: string, args: readonly string[], op: string, result: RunResult): void;
}

export interface ScriptAgentOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly observer?: ScriptObserver;
}

/** First executable regular file named `name` in `dirs`, else VIGIL_ERR_RSC_SCRIPT with Heartbeat's wording. */
export async function locateScript(name: string, dirs: readonly string[] = DEFAULT_SCRIPT_DIRS): Promise<string> {
  const path = await findResourceScript(name, dirs);
  if (path === undefined) throw new VigilError('VIGIL_ERR_RSC_SCRIPT', `Cannot locate resource script ${name}`);
  return path;
}

/** A haresources resource carried out by a Heartbeat-style script: `<path> <args...> start|stop|status`. */
export class ScriptAgent implements ResourceAgent {
  constructor(
    readonly spec: string,
    readonly path: string,
    readonly args: readonly string[],
    private readonly opts: ScriptAgentOptions,
  ) {}

  private async run(op: 'start' | 'stop' | 'status'): Promise<RunResult> {
    const argv = [...this.args, op];
    this.opts.observer?.running(this.path, this.args, op);
    const r = await runProgram(this.path, argv, { timeoutMs: this.opts.timeoutMs, env: this.opts.env });
    this.opts.observer?.finished(this.path, this.args, op, r);
    return r;
  }

  async start(): Promise<OpResult> {
    return toOp(await this.run('start'), this.path, this.opts.timeoutMs);
  }

  async stop(): Promise<OpResult> {
    return toOp(await this.run('stop'), this.path, this.opts.timeoutMs);
  }

  async status(): Promise<StatusResult> {
    const r = await this.run('status');
    // A hung status is "not running" for the caller, but the text says why.
    if (r.timedOut) return { running: false, text: `status timed out after ${this.opts.timeoutMs} ms` };
    return { running: statusTextSaysRunning(r.stdout), text: r.stdout };
  }
}

function toOp(r: RunResult, path: string, timeoutMs: number): OpResult {
  if (r.spawnError !== undefined) return { ok: false, rc: null, detail: `cannot run ${path}: ${r.spawnError}` };
  if (r.timedOut) return { ok: false, rc: null, detail: `${path} timed out after ${timeoutMs} ms and was killed` };
  if (r.code === 0) return { ok: true, rc: 0, detail: '' };
  if (r.code === null) return { ok: false, rc: null, detail: `${path} killed by ${r.signal ?? 'a signal'}` };
  return { ok: false, rc: r.code, detail: `Return code ${r.code} from ${path}` };
}
