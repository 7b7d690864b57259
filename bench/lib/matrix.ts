/**
 * The benchmark matrix (implementation x timing profile x scenario x trial), the record written per trial, and the
 * resume bookkeeping: a trial is identified by a key that includes its timings, so changing a profile's setting
 * never lets old trials stand in for new ones.
 */
import { VigilError } from '../../src/util/errors.js';
import { IMPLS, type Impl } from '../../lab/drivers/types.js';
import {
  FAMILIES,
  SCENARIOS,
  blankResult,
  type Family,
  type ScenarioName,
  type ScenarioResult,
} from '../../lab/scenario.js';

export const PROFILES = ['tutorial', 'fast', 'fastest'] as const;
export type ProfileName = (typeof PROFILES)[number];

export interface Timing {
  keepaliveMs: number;
  deadtimeMs: number;
}

/**
 * "Fastest stable" setting of each implementation. Vigil: what issue 7 claims. keepalived: advert_int 20 ms (VRRPv3
 * counts in centiseconds; the deadtime is not a VRRP setting, it only sizes the lab's freeze). Heartbeat: it accepts
 * any deadtime > 2 x keepalive, but 50/250 ms is where its daemon still keeps up on this machine.
 */
export const DEFAULT_FASTEST: Record<Impl, Timing> = {
  vigil: { keepaliveMs: 20, deadtimeMs: 100 },
  heartbeat: { keepaliveMs: 50, deadtimeMs: 250 },
  keepalived: { keepaliveMs: 20, deadtimeMs: 100 },
};

const FIXED: Record<Exclude<ProfileName, 'fastest'>, Timing> = {
  tutorial: { keepaliveMs: 1000, deadtimeMs: 10_000 },
  fast: { keepaliveMs: 100, deadtimeMs: 500 },
};

export function timingFor(profile: ProfileName, impl: Impl, fastest: Record<Impl, Timing>): Timing {
  return profile === 'fastest' ? fastest[impl] : FIXED[profile];
}

/** Heartbeat's own rule (reference: "Dead time is too small compared to keepalive"); VRRP has no deadtime. */
export function checkTiming(impl: Impl, t: Timing): void {
  if (!Number.isInteger(t.keepaliveMs) || !Number.isInteger(t.deadtimeMs) || t.keepaliveMs <= 0 || t.deadtimeMs <= 0)
    throw new VigilError('VIGIL_ERR_USAGE', `${impl}: keepalive and deadtime must be positive whole ms`);
  if (impl !== 'keepalived' && t.deadtimeMs <= 2 * t.keepaliveMs)
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `${impl}: deadtime ${t.deadtimeMs} ms must be more than twice keepalive ${t.keepaliveMs} ms`,
    );
  if (impl === 'keepalived' && t.keepaliveMs % 10 !== 0)
    throw new VigilError('VIGIL_ERR_USAGE', `keepalived: advert_int ${t.keepaliveMs} ms is not whole centiseconds`);
}

/** `vigil=20/100,heartbeat=50/250,keepalived=20` (keepalived's deadtime defaults to 5 x advert). */
export function parseFastest(
  spec: string | undefined,
  base: Record<Impl, Timing> = DEFAULT_FASTEST,
): Record<Impl, Timing> {
  const out: Record<Impl, Timing> = { ...base };
  if (spec === undefined || spec.trim() === '') return out;
  for (const part of spec.split(',')) {
    const m = /^\s*(\w+)\s*=\s*(\d+)(?:\/(\d+))?\s*$/.exec(part);
    if (m === null)
      throw new VigilError('VIGIL_ERR_USAGE', `bad --fastest entry '${part}' (want impl=KEEPALIVE/DEADTIME)`);
    const impl = m[1]!;
    if (!(IMPLS as readonly string[]).includes(impl))
      throw new VigilError('VIGIL_ERR_USAGE', `--fastest: unknown implementation '${impl}'`);
    const keepaliveMs = Number(m[2]);
    const deadtimeMs = m[3] !== undefined ? Number(m[3]) : impl === 'keepalived' ? 5 * keepaliveMs : NaN;
    if (Number.isNaN(deadtimeMs)) throw new VigilError('VIGIL_ERR_USAGE', `--fastest ${impl}: give KEEPALIVE/DEADTIME`);
    const t = { keepaliveMs, deadtimeMs };
    checkTiming(impl as Impl, t);
    out[impl as Impl] = t;
  }
  return out;
}

/** Comma list selection against the allowed names; undefined or 'all' = everything, in canonical order. */
export function parseList<T extends string>(what: string, spec: string | undefined, all: readonly T[]): T[] {
  if (spec === undefined || spec.trim() === '' || spec === 'all') return [...all];
  const want = spec.split(',').map((s) => s.trim());
  for (const w of want)
    if (!(all as readonly string[]).includes(w))
      throw new VigilError('VIGIL_ERR_USAGE', `unknown ${what} '${w}' (${all.join(', ')})`);
  return all.filter((a) => want.includes(a));
}

export interface Trial {
  impl: Impl;
  profile: ProfileName;
  scenario: ScenarioName;
  /** The group's addresses (lab/scenario.ts): v4 unless an IPv6 run asks for v6 or dual. */
  family: Family;
  /** 1-based index within its cell. */
  trial: number;
  keepaliveMs: number;
  deadtimeMs: number;
}

/** The cell of a trial; an IPv4 (tutorial) cell keeps the key it had before IPv6 existed, so old results still count. */
export function cellKey(t: Omit<Trial, 'trial'>): string {
  const base = `${t.impl}/${t.profile}/${t.keepaliveMs}/${t.deadtimeMs}/${t.scenario}`;
  return t.family === 'v4' ? base : `${base}/${t.family}`;
}

export function trialKey(t: Trial): string {
  return `${cellKey(t)}#${t.trial}`;
}

/**
 * Every trial of the selection, in run order: trial number outermost and implementation innermost, so the three
 * implementations of one cell run back to back (same machine conditions: the issue wants "measured in the same run")
 * and a run cut short still has every cell at roughly the same number of trials.
 */
export function planTrials(sel: {
  impls: readonly Impl[];
  profiles: readonly ProfileName[];
  scenarios: readonly ScenarioName[];
  trials: number;
  fastest: Record<Impl, Timing>;
  /** Default: v4 only. The families of one cell run back to back too (the IPv4/IPv6 comparison is same-run). */
  families?: readonly Family[];
}): Trial[] {
  const out: Trial[] = [];
  for (let trial = 1; trial <= sel.trials; trial++)
    for (const profile of sel.profiles)
      for (const scenario of sel.scenarios)
        for (const family of sel.families ?? ['v4'])
          for (const impl of sel.impls) {
            const t = timingFor(profile, impl, sel.fastest);
            out.push({ impl, profile, scenario, family, trial, ...t });
          }
  return out;
}

export { FAMILIES, type Family };

/** The family of a recorded trial (records from before IPv6 have none: they are v4). */
export function familyOf(r: { family?: Family }): Family {
  return r.family ?? 'v4';
}

export type TrialStatus = 'ok' | 'error' | 'no-output';

/** What the runner adds to each `vigil lab run --json` result. */
export interface BenchMeta {
  key: string;
  profile: ProfileName;
  trial: number;
  /** The exact command of this trial (argv). */
  command: string[];
  started_at: string;
  /** Wall time of the whole trial (lab build to teardown). */
  trial_ms: number;
  exit_code: number | null;
  /** ok: a result with no error; error: a result carrying an error; no-output: the CLI printed no result (crash,
   *  runner timeout): such trials are run again on resume. */
  status: TrialStatus;
  loadavg_start: number[];
  loadavg_end: number[];
  nproc: number;
  /** The `npm run bench` command line that ran this trial. */
  invocation: string;
  /** Identifies one runner process (start time and PID): trials sharing it were measured in the same run. */
  run_id?: string;
  stderr_tail?: string;
}

export type BenchRecord = ScenarioResult & { bench: BenchMeta };

export function isBenchRecord(x: unknown): x is BenchRecord {
  if (typeof x !== 'object' || x === null) return false;
  const b = (x as { bench?: unknown }).bench;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof (b as { key?: unknown }).key === 'string' &&
    typeof (x as { scenario?: unknown }).scenario === 'string'
  );
}

export interface ParsedResults {
  records: BenchRecord[];
  /** Lines that are not bench records (a torn last line after a power cut, foreign JSON): reported, never fatal. */
  skipped: { line: number; reason: string }[];
}

export function parseResults(text: string): ParsedResults {
  const records: BenchRecord[] = [];
  const skipped: { line: number; reason: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      skipped.push({ line: i + 1, reason: 'not JSON (torn write?)' });
      return;
    }
    if (isBenchRecord(v)) records.push(v);
    else skipped.push({ line: i + 1, reason: 'not a bench record' });
  });
  return { records, skipped };
}

/** Keys of the trials that need not run again: every recorded trial except those that produced no result. */
export function doneKeys(records: readonly BenchRecord[]): Set<string> {
  const done = new Set<string>();
  for (const r of records) if (r.bench.status !== 'no-output') done.add(r.bench.key);
  return done;
}

export function pendingTrials(plan: readonly Trial[], done: ReadonlySet<string>): Trial[] {
  return plan.filter((t) => !done.has(trialKey(t)));
}

/** Measured wall time of one `poweroff` trial (lab build to teardown) on the 2-CPU lab machine under load, ms. */
const POWEROFF_MS: Record<Impl, Record<ProfileName, number>> = {
  vigil: { tutorial: 55_000, fast: 34_000, fastest: 33_000 },
  heartbeat: { tutorial: 68_000, fast: 41_000, fastest: 44_000 },
  keepalived: { tutorial: 45_000, fast: 17_000, fastest: 18_000 },
};

/**
 * A priori duration of a trial before any was measured: the measured power cut plus what the scenario waits for
 * beyond it (lab/scenario.ts: the restart and the re-convergence after kill, the freeze, the partition held for
 * 2 x deadtime, the power-on and second convergence of failback).
 */
export function priorMs(t: Trial): number {
  const stable = Math.min(20_000, Math.max(4000, 2 * t.deadtimeMs));
  const extra: Record<ScenarioName, number> = {
    kill: 1500 + stable + 5000,
    freeze: Math.max(3000, 4 * t.keepaliveMs) + (t.impl === 'keepalived' ? 3 * t.keepaliveMs : 0),
    poweroff: 0,
    partition: 1500 + 2 * t.deadtimeMs + stable,
    stop: 0,
    failback: stable + 8000,
    standby: 0,
    isolate: 1500 + 2 * t.deadtimeMs + stable + 7000,
    'etcd-member': 15_000 + stable,
    'etcd-quorum': 10_000 + stable,
    rolling: 60_000,
  };
  return POWEROFF_MS[t.impl][t.profile] + extra[t.scenario];
}

/**
 * Expected duration of the pending trials: each from the mean of finished trials of its cell, else of its
 * implementation and profile (scaled by the a-priori ratio of the two), else `prior`.
 */
export function etaMs(
  pending: readonly Trial[],
  finished: readonly BenchRecord[],
  prior: (t: Trial) => number = priorMs,
): number {
  const by = new Map<string, number[]>();
  const add = (k: string, v: number): void => {
    const a = by.get(k);
    if (a === undefined) by.set(k, [v]);
    else a.push(v);
  };
  for (const r of finished) {
    if (r.bench.status === 'no-output') continue;
    const cell = r.bench.key.replace(/#\d+$/, '');
    add(`c:${cell}`, r.bench.trial_ms);
    add(`p:${r.impl}/${r.bench.profile}`, r.bench.trial_ms);
  }
  const mean = (k: string): number | undefined => {
    const a = by.get(k);
    return a === undefined ? undefined : a.reduce((s, x) => s + x, 0) / a.length;
  };
  let total = 0;
  for (const t of pending) total += mean(`c:${cellKey(t)}`) ?? mean(`p:${t.impl}/${t.profile}`) ?? prior(t);
  return total;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A result for a trial whose CLI printed none, so the failure is on record (and retried on resume). */
export function emptyResult(t: Trial, error: string): ScenarioResult {
  return { ...blankResult(t.impl, t.scenario, t.keepaliveMs, t.deadtimeMs, 2), family: t.family, error };
}

export { IMPLS, SCENARIOS };
export type { Impl, ScenarioName };
