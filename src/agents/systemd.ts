import { runProgram, type RunResult } from '../os/spawn.js';
import type { OpResult, ResourceAgent, StatusResult } from './agent.js';
import type { ScriptObserver } from './script.js';

export interface SystemdAgentOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly observer?: ScriptObserver;
  /** `systemctl` unless a test points elsewhere. */
  readonly systemctl?: string;
}

const UNIT_SUFFIXES = ['.service', '.socket', '.target', '.mount', '.path', '.timer', '.swap'];

/**
 * `systemd:squid` → `squid.service`; a name with a unit suffix is kept. Unit names are systemd's own character set
 * (letters, digits, `:_.\@-`), so nothing in haresources can smuggle an option to systemctl.
 */
export function unitName(name: string): string | undefined {
  if (!/^[A-Za-z0-9:_.\\@-]{1,200}$/.test(name) || name.startsWith('-') || name.startsWith('.')) return undefined;
  return UNIT_SUFFIXES.some((s) => name.endsWith(s)) ? name : `${name}.service`;
}

/**
 * A systemd unit as a resource: `systemctl start|stop` (which wait for the unit's own start/stop to finish) and
 * `systemctl is-active` for status. Most services today ship a unit and no init script.
 */
export class SystemdAgent implements ResourceAgent {
  constructor(
    readonly spec: string,
    readonly unit: string,
    private readonly opts: SystemdAgentOptions,
  ) {}

  private get systemctl(): string {
    return this.opts.systemctl ?? 'systemctl';
  }

  private async run(verb: 'start' | 'stop' | 'is-active'): Promise<RunResult> {
    const args = [verb, '--', this.unit];
    this.opts.observer?.running(this.systemctl, [verb], this.unit);
    const r = await runProgram(this.systemctl, args, { timeoutMs: this.opts.timeoutMs, env: this.opts.env });
    this.opts.observer?.finished(this.systemctl, [verb], this.unit, r);
    return r;
  }

  async start(): Promise<OpResult> {
    return this.toOp('start', await this.run('start'));
  }

  async stop(): Promise<OpResult> {
    return this.toOp('stop', await this.run('stop'));
  }

  async status(): Promise<StatusResult> {
    const r = await this.run('is-active');
    if (r.timedOut) return { running: false, text: `systemctl is-active timed out after ${this.opts.timeoutMs} ms` };
    const state = r.stdout.trim() || r.stderr.trim();
    // is-active exits 0 only for "active" (and "reloading"); "activating" is not running yet.
    return { running: r.code === 0, text: `${this.unit} is ${state === '' ? 'unknown' : state}` };
  }

  private toOp(verb: string, r: RunResult): OpResult {
    const what = `systemctl ${verb} ${this.unit}`;
    if (r.spawnError !== undefined) return { ok: false, rc: null, detail: `cannot run ${what}: ${r.spawnError}` };
    if (r.timedOut) return { ok: false, rc: null, detail: `${what} timed out after ${this.opts.timeoutMs} ms` };
    if (r.code === 0) return { ok: true, rc: 0, detail: '' };
    if (r.code === null) return { ok: false, rc: null, detail: `${what} killed by ${r.signal ?? 'a signal'}` };
    return { ok: false, rc: r.code, detail: `Return code ${r.code} from ${what}` };
  }
}
