import type { ResourceAgent } from '../agents/agent.js';
import { HEALTH_LIMITS, describeTarget, validateHealthCheck, type HealthCheckSpec } from '../config/health-check.js';
import { runProgram } from '../os/spawn.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';
import { VigilError, errorMessage } from '../util/errors.js';

/**
 * Service health checks (a Vigil extension; Heartbeat only noticed a dead node, never a dead service).
 * The spec and its `vigil_health_check` syntax live in config/health-check.ts (pure, checked by `vigil check`).
 */
export {
  HEALTH_DEFAULTS,
  HEALTH_LIMITS,
  describeTarget,
  parseHealthCheck,
  type HealthCheckSpec,
  type HealthTarget,
} from '../config/health-check.js';

export type CheckOutcome = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/** Runs one check. Injected: unit tests script the outcomes; the daemon uses `realCheckRunner`. */
export type CheckRunner = (spec: HealthCheckSpec) => Promise<CheckOutcome>;

export type HealthLog = (level: 'info' | 'WARN' | 'ERROR' | 'CRIT', text: string) => void;

export interface HealthActions {
  /** Restart the group in place (release then acquire on this node). Resolves false when that failed. */
  restartGroup(group: string): Promise<boolean>;
  /** Give the group to a healthy peer (this node is no longer eligible for it). */
  handOver(group: string, reason: string): void;
  readonly log: HealthLog;
  /** Every check run's outcome, once judged (for the event stream and the metrics). */
  readonly result?: (r: HealthResult) => void;
}

export interface HealthResult {
  readonly id: string;
  readonly group: string;
  readonly ok: boolean;
  /** The check's state after this run was counted (a run that triggers a restart reports `down`). */
  readonly state: HealthState;
  readonly detail?: string;
  readonly durationMs: number;
}

/**
 * `idle`: the group is not held here, nothing runs. `up`/`down`: judged by rise/fall. `restarting`: a restart in
 * place is running (checks paused). `failed`: restarts exhausted, group handed over; this node is ineligible.
 */
export type HealthState = 'idle' | 'up' | 'down' | 'restarting' | 'failed';

export interface HealthCheckStatus {
  readonly id: string;
  readonly group: string;
  readonly target: string;
  readonly state: HealthState;
  readonly consecutiveOk: number;
  readonly consecutiveFail: number;
  /** Times the check went down since the last clear. */
  readonly failCount: number;
  readonly restarts: number;
  readonly maxRestarts: number;
  readonly lastFailure: { readonly atWallMs: number; readonly detail: string } | undefined;
  readonly lastCheck: { readonly atWallMs: number; readonly ok: boolean; readonly durationMs: number } | undefined;
}

interface CheckState {
  readonly spec: HealthCheckSpec;
  state: HealthState;
  consecutiveOk: number;
  consecutiveFail: number;
  failCount: number;
  restarts: number;
  lastFailure: { atWallMs: number; atMs: number; detail: string } | undefined;
  lastCheck: { atWallMs: number; ok: boolean; durationMs: number } | undefined;
  timer: TimerHandle | undefined;
  /** Bumped whenever the check is stopped or restarted, so a late result of an older run is ignored. */
  epoch: number;
}

function sameSpec(a: HealthCheckSpec, b: HealthCheckSpec): boolean {
  const strip = (x: HealthCheckSpec): string => JSON.stringify({ ...x, origin: undefined });
  return strip(a) === strip(b);
}

export class HealthMonitor {
  private readonly checks = new Map<string, CheckState>();

  constructor(
    specs: readonly HealthCheckSpec[],
    private readonly opts: {
      readonly scheduler: Scheduler;
      readonly runCheck: CheckRunner;
      readonly actions: HealthActions;
    },
  ) {
    this.reconfigure(specs);
  }

  /**
   * The checks of a (new) configuration. A check that did not change keeps running with its counts; a new or
   * changed one starts idle (the caller starts the checks of groups held here with `groupStarted`); a removed one
   * stops. Returns the groups whose checks were added or changed.
   */
  reconfigure(specs: readonly HealthCheckSpec[]): string[] {
    if (specs.length > HEALTH_LIMITS.checks) {
      throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `more than ${HEALTH_LIMITS.checks} health checks`);
    }
    const ids = new Set<string>();
    for (const spec of specs) {
      if (ids.has(spec.id)) throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `duplicate health check id [${spec.id}]`);
      ids.add(spec.id);
      validateHealthCheck(spec);
    }
    const touched = new Set<string>();
    for (const [id, c] of this.checks) {
      if (ids.has(id)) continue;
      this.disarm(c, 'idle');
      this.checks.delete(id);
    }
    for (const spec of specs) {
      const old = this.checks.get(spec.id);
      if (old !== undefined && sameSpec(old.spec, spec)) continue;
      if (old !== undefined) this.disarm(old, 'idle');
      this.checks.set(spec.id, {
        spec,
        state: 'idle',
        consecutiveOk: 0,
        consecutiveFail: 0,
        failCount: 0,
        restarts: 0,
        lastFailure: undefined,
        lastCheck: undefined,
        timer: undefined,
        epoch: (old?.epoch ?? 0) + 1,
      });
      touched.add(spec.group);
    }
    return [...touched];
  }

  private ofGroup(group: string): CheckState[] {
    return [...this.checks.values()].filter((c) => c.spec.group === group);
  }

  /** The group was acquired here: start watching it (first check after the grace period). */
  groupStarted(group: string): void {
    for (const c of this.ofGroup(group)) {
      if (c.state === 'failed') continue;
      this.arm(c, 'up', c.spec.graceMs);
    }
  }

  /** The group was released here: stop watching it (a failed check stays failed: the node stays ineligible). */
  groupStopped(group: string): void {
    for (const c of this.ofGroup(group)) this.disarm(c, c.state === 'failed' ? 'failed' : 'idle');
  }

  stopAll(): void {
    for (const c of this.checks.values()) this.disarm(c, c.state === 'failed' ? 'failed' : 'idle');
  }

  /** False when a check of the group exhausted its restarts here: the group must not come back to this node. */
  isEligible(group: string): boolean {
    return this.ofGroup(group).every((c) => c.state !== 'failed');
  }

  ineligibleGroups(): string[] {
    return [...new Set([...this.checks.values()].filter((c) => c.state === 'failed').map((c) => c.spec.group))];
  }

  /**
   * The operator's clear (`vigil cleanup [GROUP]`): fail counts, restarts and last failure forgotten; a failed
   * check becomes idle, so the node is eligible again. Returns the ids cleared.
   */
  clear(group?: string): string[] {
    const out: string[] = [];
    for (const c of this.checks.values()) {
      if (group !== undefined && c.spec.group !== group) continue;
      c.failCount = 0;
      c.restarts = 0;
      c.lastFailure = undefined;
      if (c.state === 'failed') c.state = 'idle';
      out.push(c.spec.id);
    }
    return out;
  }

  snapshot(): HealthCheckStatus[] {
    return [...this.checks.values()].map((c) => ({
      id: c.spec.id,
      group: c.spec.group,
      target: describeTarget(c.spec.target),
      state: c.state,
      consecutiveOk: c.consecutiveOk,
      consecutiveFail: c.consecutiveFail,
      failCount: c.failCount,
      restarts: c.restarts,
      maxRestarts: c.spec.maxRestarts,
      lastFailure:
        c.lastFailure === undefined ? undefined : { atWallMs: c.lastFailure.atWallMs, detail: c.lastFailure.detail },
      lastCheck: c.lastCheck,
    }));
  }

  private arm(c: CheckState, state: HealthState, delayMs: number): void {
    this.disarm(c, state);
    c.consecutiveOk = 0;
    c.consecutiveFail = 0;
    this.schedule(c, delayMs);
  }

  private disarm(c: CheckState, state: HealthState): void {
    if (c.timer !== undefined) this.opts.scheduler.clearTimeout(c.timer);
    c.timer = undefined;
    c.epoch++;
    c.state = state;
  }

  private schedule(c: CheckState, delayMs: number): void {
    const epoch = c.epoch;
    c.timer = this.opts.scheduler.setTimeout(() => {
      c.timer = undefined;
      void this.runOnce(c, epoch);
    }, delayMs);
  }

  private async runOnce(c: CheckState, epoch: number): Promise<void> {
    const { scheduler } = this.opts;
    const started = scheduler.now();
    const outcome = await this.withTimeout(c.spec);
    if (c.epoch !== epoch) return;
    const durationMs = scheduler.now() - started;
    c.lastCheck = { atWallMs: scheduler.wallNow(), ok: outcome.ok, durationMs };
    const report = (state: HealthState, detail?: string): void => {
      const r = { id: c.spec.id, group: c.spec.group, ok: outcome.ok, state, durationMs };
      this.opts.actions.result?.(detail === undefined ? r : { ...r, detail });
    };
    if (outcome.ok) {
      c.consecutiveOk++;
      c.consecutiveFail = 0;
      if (c.state === 'down' && c.consecutiveOk >= c.spec.rise) {
        c.state = 'up';
        this.opts.actions.log('info', `Health check [${c.spec.id}] of group ${c.spec.group} is up again.`);
      }
      report(c.state);
      this.schedule(c, c.spec.intervalMs);
      return;
    }
    c.consecutiveOk = 0;
    c.consecutiveFail++;
    const detail = outcome.detail.slice(0, HEALTH_LIMITS.detailChars);
    report(c.consecutiveFail < c.spec.fall ? c.state : 'down', detail);
    this.opts.actions.log(
      'WARN',
      `Health check [${c.spec.id}] of group ${c.spec.group} failed (${c.consecutiveFail}/${c.spec.fall}): ${detail}`,
    );
    if (c.consecutiveFail < c.spec.fall) {
      this.schedule(c, c.spec.intervalMs);
      return;
    }
    await this.onDown(c, detail);
  }

  private async onDown(c: CheckState, detail: string): Promise<void> {
    const { scheduler, actions } = this.opts;
    const now = scheduler.now();
    if (
      c.spec.failureTimeoutMs > 0 &&
      c.lastFailure !== undefined &&
      now - c.lastFailure.atMs > c.spec.failureTimeoutMs
    ) {
      c.failCount = 0;
      c.restarts = 0;
    }
    c.failCount++;
    c.lastFailure = { atWallMs: scheduler.wallNow(), atMs: now, detail };
    const { group } = c.spec;
    if (c.restarts < c.spec.maxRestarts) {
      c.restarts++;
      actions.log(
        'ERROR',
        `Health check [${c.spec.id}] of group ${group} is down: restarting the group in place (${c.restarts}/${c.spec.maxRestarts}).`,
      );
      // Every check of the group pauses: a restart is not a string of new failures.
      for (const other of this.ofGroup(group)) this.disarm(other, other.state === 'failed' ? 'failed' : 'restarting');
      const epochs = this.ofGroup(group).map((o) => [o, o.epoch] as const);
      const ok = await actions.restartGroup(group);
      if (!ok) {
        this.giveUp(c, `restart in place of group ${group} failed`);
        return;
      }
      // The restart went through groupStopped/groupStarted (already re-armed), or the group left meanwhile.
      if (epochs.some(([o, e]) => o.epoch !== e)) return;
      // Down until `rise` successes say the restart healed it; failures meanwhile count towards `fall` again.
      for (const other of this.ofGroup(group))
        if (other.state !== 'failed') this.arm(other, 'down', other.spec.graceMs);
      return;
    }
    this.giveUp(
      c,
      c.spec.maxRestarts === 0
        ? `health check ${c.spec.id} failed: ${detail}`
        : `health check ${c.spec.id} still failing after ${c.restarts} restart(s): ${detail}`,
    );
  }

  private giveUp(c: CheckState, reason: string): void {
    this.disarm(c, 'failed');
    for (const other of this.ofGroup(c.spec.group))
      if (other !== c) this.disarm(other, other.state === 'failed' ? 'failed' : 'idle');
    this.opts.actions.log(
      'CRIT',
      `Health check [${c.spec.id}]: ${reason}. Handing group ${c.spec.group} to a healthy peer.`,
    );
    this.opts.actions.handOver(c.spec.group, reason);
  }

  /** The runner has its own timeout; this one makes a runner that ignores it harmless too. */
  private withTimeout(spec: HealthCheckSpec): Promise<CheckOutcome> {
    const { scheduler } = this.opts;
    return new Promise((resolve) => {
      let done = false;
      const timer = scheduler.setTimeout(() => {
        if (done) return;
        done = true;
        resolve({ ok: false, detail: `timed out after ${spec.timeoutMs} ms` });
      }, spec.timeoutMs);
      this.opts.runCheck(spec).then(
        (r) => {
          if (done) return;
          done = true;
          scheduler.clearTimeout(timer);
          resolve(r);
        },
        (e: unknown) => {
          if (done) return;
          done = true;
          scheduler.clearTimeout(timer);
          resolve({ ok: false, detail: `check error: ${errorMessage(e)}` });
        },
      );
    });
  }
}

/**
 * The daemon's check runner: a command through runProgram (own process group, killed on timeout; exit 0 = healthy),
 * a resource through its agent's status (judged by text, as Heartbeat does).
 */
export function realCheckRunner(
  findAgent: (group: string, resource: string) => ResourceAgent | undefined,
  env: NodeJS.ProcessEnv = process.env,
): CheckRunner {
  return async (spec) => {
    const t = spec.target;
    if (t.kind === 'resource') {
      const agent = findAgent(spec.group, t.resource);
      if (agent === undefined) return { ok: false, detail: `no resource ${t.resource} in group ${spec.group}` };
      const st = await agent.status();
      return st.running
        ? { ok: true }
        : { ok: false, detail: `status says not running: ${st.text.trim() || '(no output)'}` };
    }
    const [file, ...args] = t.argv as [string, ...string[]];
    const r = await runProgram(file, args, { timeoutMs: spec.timeoutMs, env, maxOutputBytes: 4096 });
    if (r.spawnError !== undefined) return { ok: false, detail: `cannot run ${file}: ${r.spawnError}` };
    if (r.timedOut) return { ok: false, detail: `timed out after ${spec.timeoutMs} ms and was killed` };
    if (r.code === 0) return { ok: true };
    const said = (r.stdout.trim() || r.stderr.trim()).split('\n')[0] ?? '';
    const why = r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `exit code ${r.code}`;
    return { ok: false, detail: said === '' ? why : `${why}: ${said}` };
  };
}
