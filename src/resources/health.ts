import type { ResourceAgent } from '../agents/agent.js';
import type { Origin } from '../config/types.js';
import { parseInteger, parseTimeMs } from '../config/values.js';
import { runProgram } from '../os/spawn.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';
import { VigilError } from '../util/errors.js';

/**
 * Service health checks (a Vigil extension; Heartbeat only noticed a dead node, never a dead service).
 * A check watches one group: a resource's status action, or any command (exit 0 = healthy). After `fall`
 * consecutive failures the check is down: the group is restarted in place, up to `maxRestarts` times; after that
 * the group is handed to a healthy peer and this node stops being eligible for it until the operator clears the
 * fail count. `rise` consecutive successes bring a down check up again.
 */
export interface HealthCheckSpec {
  /** Unique, shown in logs and `vigil status` (default `<group>:<target>`). */
  readonly id: string;
  /** Key of the resource group this check guards. */
  readonly group: string;
  readonly target: HealthTarget;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** Restarts in place before the group is handed over; 0 = hand over at the first failure. */
  readonly maxRestarts: number;
  /** First check this long after the group started (services need time to come up). Default: intervalMs. */
  readonly graceMs: number;
  /** A failure older than this no longer counts (0 = counts until the operator clears them). */
  readonly failureTimeoutMs: number;
  readonly origin?: Origin;
}

export type HealthTarget =
  /** The status action of a resource of the group, by its haresources name (e.g. `apache` or `IPaddr2::…`). */
  | { readonly kind: 'resource'; readonly resource: string }
  | { readonly kind: 'command'; readonly argv: readonly string[] };

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

export const HEALTH_LIMITS = { checks: 256, detailChars: 500, minIntervalMs: 100 } as const;

export function describeTarget(t: HealthTarget): string {
  return t.kind === 'resource' ? `resource ${t.resource}` : `command ${t.argv.join(' ')}`;
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
    if (specs.length > HEALTH_LIMITS.checks) {
      throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `more than ${HEALTH_LIMITS.checks} health checks`);
    }
    for (const spec of specs) {
      if (this.checks.has(spec.id))
        throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `duplicate health check id [${spec.id}]`);
      validateSpec(spec);
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
        epoch: 0,
      });
    }
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
   * The operator's clear (`vigil health clear [GROUP]`): fail counts, restarts and last failure forgotten; a failed
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
    c.lastCheck = { atWallMs: scheduler.wallNow(), ok: outcome.ok, durationMs: scheduler.now() - started };
    if (outcome.ok) {
      c.consecutiveOk++;
      c.consecutiveFail = 0;
      if (c.state === 'down' && c.consecutiveOk >= c.spec.rise) {
        c.state = 'up';
        this.opts.actions.log('info', `Health check [${c.spec.id}] of group ${c.spec.group} is up again.`);
      }
      this.schedule(c, c.spec.intervalMs);
      return;
    }
    c.consecutiveOk = 0;
    c.consecutiveFail++;
    const detail = outcome.detail.slice(0, HEALTH_LIMITS.detailChars);
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
          resolve({ ok: false, detail: `check error: ${e instanceof Error ? e.message : String(e)}` });
        },
      );
    });
  }
}

function validateSpec(s: HealthCheckSpec): void {
  const bad = (m: string): never => {
    throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `health check [${s.id}]: ${m}`, s.origin);
  };
  if (s.intervalMs < HEALTH_LIMITS.minIntervalMs) bad(`interval below ${HEALTH_LIMITS.minIntervalMs} ms`);
  if (s.timeoutMs <= 0) bad('timeout must be positive');
  if (s.rise < 1 || s.fall < 1) bad('rise and fall must be at least 1');
  if (s.maxRestarts < 0) bad('restarts must not be negative');
  if (s.target.kind === 'command' && s.target.argv[0]?.startsWith('/') !== true) bad('command needs an absolute path');
}

/** Defaults of `vigil_health_check` keys. */
export const HEALTH_DEFAULTS = {
  intervalMs: 10_000,
  timeoutMs: 5_000,
  rise: 2,
  fall: 3,
  maxRestarts: 1,
  failureTimeoutMs: 0,
} as const;

/**
 * One `vigil_health_check` line (the text after the directive):
 * `<group> [interval=T] [timeout=T] [rise=N] [fall=N] [restarts=N] [grace=T] [failure_timeout=T] [id=NAME]
 *  resource <name> | command </abs/path> [args...]`
 * Times use ha.cf syntax (seconds, or `500ms`). Example:
 * `vigil_health_check 192.168.1.50 interval=5 fall=2 restarts=1 command /usr/lib/nagios/plugins/check_ssh localhost`
 */
export function parseHealthCheck(text: string, origin?: Origin): HealthCheckSpec {
  const fail = (m: string): never => {
    throw new VigilError('VIGIL_ERR_HEALTH_CONFIG', `vigil_health_check: ${m}`, origin);
  };
  const toks = text
    .trim()
    .split(/\s+/)
    .filter((t) => t !== '');
  const group = toks.shift();
  if (group === undefined) return fail('missing group (the first resource of its haresources line)');
  const v: Record<string, number> = { ...HEALTH_DEFAULTS };
  let grace: number | undefined;
  let id: string | undefined;
  let tok: string | undefined;
  while ((tok = toks.shift()) !== undefined && tok.includes('=')) {
    const [k = '', val = ''] = tok.split('=', 2);
    const time = (): number =>
      parseTimeMs(val) ?? fail(`${k}=${val}: expected a time (seconds, or a number followed by ms)`);
    const count = (): number => parseInteger(val, 0, 1000) ?? fail(`${k}=${val}: expected a whole number`);
    switch (k) {
      case 'interval':
        v.intervalMs = time();
        break;
      case 'timeout':
        v.timeoutMs = time();
        break;
      case 'rise':
        v.rise = count();
        break;
      case 'fall':
        v.fall = count();
        break;
      case 'restarts':
        v.maxRestarts = count();
        break;
      case 'failure_timeout':
        v.failureTimeoutMs = time();
        break;
      case 'grace':
        grace = time();
        break;
      case 'id':
        if (!/^[A-Za-z0-9_.:-]+$/.test(val)) fail(`id=${val}: expected a single word`);
        id = val;
        break;
      default:
        fail(`unknown key [${k}] (interval, timeout, rise, fall, restarts, grace, failure_timeout, id)`);
    }
  }
  let target: HealthTarget;
  if (tok === 'resource') {
    const r = toks.shift();
    if (r === undefined || toks.length > 0) return fail('resource takes one name, as written in haresources');
    target = { kind: 'resource', resource: r };
  } else if (tok === 'command') {
    if (toks.length === 0) return fail('command needs a program');
    target = { kind: 'command', argv: toks };
  } else {
    return fail(`expected "resource <name>" or "command <path> [args]", got [${tok ?? ''}]`);
  }
  const spec: HealthCheckSpec = {
    id: id ?? `${group}:${target.kind === 'resource' ? target.resource : (target.argv[0]?.split('/').pop() ?? '')}`,
    group,
    target,
    intervalMs: v.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
    timeoutMs: v.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs,
    rise: v.rise ?? HEALTH_DEFAULTS.rise,
    fall: v.fall ?? HEALTH_DEFAULTS.fall,
    maxRestarts: v.maxRestarts ?? HEALTH_DEFAULTS.maxRestarts,
    graceMs: grace ?? v.intervalMs ?? HEALTH_DEFAULTS.intervalMs,
    failureTimeoutMs: v.failureTimeoutMs ?? 0,
    origin,
  };
  validateSpec(spec);
  return spec;
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
