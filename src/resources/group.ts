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
 * (skipping resources whose status already says running), stop right to left with retries. Adjacent addresses are
 * the one exception: they start (and stop) together.
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
    for (const batch of this.batches()) {
      const failures = (await Promise.all(batch.map((agent) => this.startOne(agent)))).filter(
        (f): f is { agent: ResourceAgent; detail: string } => f !== undefined,
      );
      const first = failures[0];
      if (first === undefined) continue;
      for (const f of failures) if (f.detail !== '') this.opts.log('ERROR', f.detail);
      this.opts.log('CRIT', `Giving up resources due to failure of ${first.agent.spec}`);
      const rel = await this.release();
      return { ok: false, failed: first.agent.spec, detail: first.detail, releasedCleanly: rel.ok };
    }
    return { ok: true };
  }

  private async startOne(agent: ResourceAgent): Promise<{ agent: ResourceAgent; detail: string } | undefined> {
    if (agent.startIsIdempotent !== true && (await agent.status()).running) return undefined;
    const r = await agent.start();
    return r.ok ? undefined : { agent, detail: r.detail };
  }

  async release(): Promise<ReleaseOutcome> {
    this.opts.log('info', `Releasing resource group: ${this.describe()}`);
    const stuck: string[] = [];
    for (const batch of this.batches().reverse()) {
      const stopped = await Promise.all([...batch].reverse().map((agent) => this.stopOne(agent)));
      stuck.push(...stopped.filter((spec): spec is string => spec !== undefined));
    }
    return stuck.length === 0 ? { ok: true } : { ok: false, stuck };
  }

  /** Stops one member with Heartbeat's retries; its spec when it would not stop and still runs. */
  private async stopOne(agent: ResourceAgent): Promise<string | undefined> {
    let r = await agent.stop();
    for (let retries = 0; !r.ok && retries < this.opts.stopRetries; retries++) {
      await this.opts.sleep(this.opts.stopRetryDelayMs);
      this.opts.log('info', `Retrying failed stop operation [${agent.spec}]`);
      r = await agent.stop();
    }
    if (r.ok) return undefined;
    if (r.detail !== '') this.opts.log('ERROR', r.detail);
    if ((await agent.status()).running) {
      this.opts.log('CRIT', 'Resource STOP failure. Reboot required!');
      return agent.spec;
    }
    this.opts.log('ERROR', `Resource script for ${agent.spec} probably not LSB-compliant.`);
    this.opts.log('WARN', `it (${agent.spec}) MUST succeed on a stop when already stopped`);
    this.opts.log('WARN', 'Machine reboot narrowly avoided!');
    return undefined;
  }

  /**
   * The members in start order, adjacent `parallelSafe` ones (the addresses of a dual-stack group) in one batch:
   * they start together and stop together, so that neither family's address is gone or back a netlink round trip
   * before the other's. Every other member is a batch of its own, in Heartbeat's strict order.
   */
  private batches(): ResourceAgent[][] {
    const out: ResourceAgent[][] = [];
    for (const agent of this.agents) {
      const last = out.at(-1);
      if (agent.parallelSafe === true && last?.[0]?.parallelSafe === true) last.push(agent);
      else out.push([agent]);
    }
    return out;
  }

  /** Heartbeat's StatGroup: which members report running. */
  async status(): Promise<{ running: readonly string[]; stopped: readonly string[] }> {
    const running: string[] = [];
    const stopped: string[] = [];
    for (const agent of this.agents) ((await agent.status()).running ? running : stopped).push(agent.spec);
    return { running, stopped };
  }
}
