import { runProgram, type RunResult } from '../os/spawn.js';
import type { OpResult, ResourceAgent, StatusResult } from './agent.js';
import { ocfExitMeaning, type OcfCall } from './ocf-params.js';
import type { ScriptObserver } from './script.js';

/** Where resource-agents installs OCF agents (`resource.d/<provider>/<agent>`) and their shell library. */
export const OCF_ROOT = '/usr/lib/ocf';

const OCF_SUCCESS = 0;
const OCF_NOT_RUNNING = 7;

export interface OcfAgentOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly observer?: ScriptObserver;
  readonly ocfRoot?: string;
}

/**
 * An OCF resource agent run with OCF's calling convention: the action as the only argument, parameters as
 * OCF_RESKEY_* in the environment, the result in the exit code. Heartbeat's `status` is OCF's `monitor`
 * (0 running, 7 stopped), as Heartbeat's own wrappers mapped it.
 */
export class OcfAgent implements ResourceAgent {
  constructor(
    readonly spec: string,
    readonly path: string,
    readonly provider: string,
    readonly agent: string,
    readonly call: OcfCall,
    private readonly opts: OcfAgentOptions,
  ) {}

  /** The environment the agent runs with (exported for tests and `vigil check --json` style inspection). */
  environment(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...this.opts.env,
      OCF_ROOT: this.opts.ocfRoot ?? OCF_ROOT,
      OCF_RA_VERSION_MAJOR: '1',
      OCF_RA_VERSION_MINOR: '0',
      OCF_RESOURCE_INSTANCE: this.call.instance,
      OCF_RESOURCE_TYPE: this.agent,
      OCF_RESOURCE_PROVIDER: this.provider,
      // Agents that wait for their service (nginx, pgsql) bound the wait by the operation's timeout, in ms.
      OCF_RESKEY_CRM_meta_timeout: String(this.opts.timeoutMs),
    };
    for (const [k, v] of Object.entries(this.call.params)) env[`OCF_RESKEY_${k}`] = v;
    return env;
  }

  private async run(op: 'start' | 'stop' | 'monitor'): Promise<RunResult> {
    this.opts.observer?.running(this.path, [], op);
    const r = await runProgram(this.path, [op], { timeoutMs: this.opts.timeoutMs, env: this.environment() });
    this.opts.observer?.finished(this.path, [], op, r);
    return r;
  }

  async start(): Promise<OpResult> {
    return this.toOp(await this.run('start'));
  }

  async stop(): Promise<OpResult> {
    return this.toOp(await this.run('stop'));
  }

  async status(): Promise<StatusResult> {
    const r = await this.run('monitor');
    if (r.timedOut) return { running: false, text: `monitor timed out after ${this.opts.timeoutMs} ms` };
    if (r.code === OCF_SUCCESS) return { running: true, text: `${this.agent} Running OK` };
    if (r.code === OCF_NOT_RUNNING) return { running: false, text: `${this.agent} is not running` };
    const why = r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `rc ${r.code}, ${ocfExitMeaning(r.code)}`;
    return { running: false, text: `${this.agent} monitor failed (${why})` };
  }

  private toOp(r: RunResult): OpResult {
    const what = `${this.path} (${this.call.instance})`;
    if (r.spawnError !== undefined) return { ok: false, rc: null, detail: `cannot run ${what}: ${r.spawnError}` };
    if (r.timedOut)
      return { ok: false, rc: null, detail: `${what} timed out after ${this.opts.timeoutMs} ms and was killed` };
    if (r.code === OCF_SUCCESS) return { ok: true, rc: 0, detail: '' };
    if (r.code === null) return { ok: false, rc: null, detail: `${what} killed by ${r.signal ?? 'a signal'}` };
    return { ok: false, rc: r.code, detail: `Return code ${r.code} (${ocfExitMeaning(r.code)}) from ${what}` };
  }
}
