import type { ResourceAgent } from '../agents/agent.js';

/** Log sink with Heartbeat's levels; the text is Heartbeat's ResourceManager wording. */
export type GroupLog = (level: 'info' | 'WARN' | 'ERROR' | 'CRIT', text: string) => void;

export interface GroupRunnerOptions {
  readonly log: GroupLog;
  /** Failed stops are retried this many times (Heartbeat's HA_STOPRETRYMAX, 10). */
  readonly stopRetries: number;
  /** Pause between stop retries (Heartbeat: 1 s). */
  readonly stopRetryDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

export type AcquireOutcome =
  | { readonly ok: true }
  /** A start failed: the group was released again (as Heartbeat does) and `failed` names the culprit. */
  | { readonly ok: false; readonly failed: string; readonly detail: string; readonly releasedCleanly: boolean };

export type ReleaseOutcome =
  | { readonly ok: true }
  /** A resource would not stop and still reports running: Heartbeat reboots here ("Reboot required!"). */
  | { readonly ok: false; readonly stuck: readonly string[] };

/**
 * Carries out a resource group the way Heartbeat's ResourceManager does: start left to right
 * (skipping resources whose status already says running), stop right to left with retries.
 */
export class GroupRunner {
  constructor(
    readonly node: string,
    readonly key: string,
    readonly agents: readonly ResourceAgent[],
    private readonly opts: GroupRunnerOptions,
  ) {}

  private describe(): string {
    return [this.node, ...this.agents.map((a) => a.spec)].join(' ');
  }

  async acquire(): Promise<AcquireOutcome> {
    this.opts.log('info', `Acquiring resource group: ${this.describe()}`);
    for (const agent of this.agents) {
      const st = await agent.status();
      if (st.running) continue;
      const r = await agent.start();
      if (r.ok) continue;
      if (r.detail !== '') this.opts.log('ERROR', r.detail);
      this.opts.log('CRIT', `Giving up resources due to failure of ${agent.spec}`);
      const rel = await this.release();
      return { ok: false, failed: agent.spec, detail: r.detail, releasedCleanly: rel.ok };
    }
    return { ok: true };
  }

  async release(): Promise<ReleaseOutcome> {
    this.opts.log('info', `Releasing resource group: ${this.describe()}`);
    const stuck: string[] = [];
    for (const agent of [...this.agents].reverse()) {
      let r = await agent.stop();
      for (let retries = 0; !r.ok && retries < this.opts.stopRetries; retries++) {
        await this.opts.sleep(this.opts.stopRetryDelayMs);
        this.opts.log('info', `Retrying failed stop operation [${agent.spec}]`);
        r = await agent.stop();
      }
      if (r.ok) continue;
      if (r.detail !== '') this.opts.log('ERROR', r.detail);
      if ((await agent.status()).running) {
        stuck.push(agent.spec);
        this.opts.log('CRIT', 'Resource STOP failure. Reboot required!');
      } else {
        this.opts.log('ERROR', `Resource script for ${agent.spec} probably not LSB-compliant.`);
        this.opts.log('WARN', `it (${agent.spec}) MUST succeed on a stop when already stopped`);
        this.opts.log('WARN', 'Machine reboot narrowly avoided!');
      }
    }
    return stuck.length === 0 ? { ok: true } : { ok: false, stuck };
  }

  /** Heartbeat's StatGroup: which members report running. */
  async status(): Promise<{ running: readonly string[]; stopped: readonly string[] }> {
    const running: string[] = [];
    const stopped: string[] = [];
    for (const agent of this.agents) ((await agent.status()).running ? running : stopped).push(agent.spec);
    return { running, stopped };
  }
}
