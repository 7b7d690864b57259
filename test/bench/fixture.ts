// A small hand-made set of bench records (what `vigil lab run --json` + the runner's meta would write).
import { emptyResult, trialKey, type BenchRecord, type ProfileName, type Trial } from '../../bench/lib/matrix.js';
import type { SoakRecord } from '../../bench/lib/report.js';
import type { Impl, ScenarioName } from '../../bench/lib/matrix.js';

export function record(
  impl: Impl,
  profile: ProfileName,
  scenario: ScenarioName,
  trial: number,
  outage: number | null,
  extra: Partial<BenchRecord> & { status?: 'ok' | 'error' | 'no-output'; startedAt?: string; ms?: number } = {},
): BenchRecord {
  const timing =
    profile === 'tutorial'
      ? { keepaliveMs: 1000, deadtimeMs: 10000 }
      : profile === 'fast'
        ? { keepaliveMs: 100, deadtimeMs: 500 }
        : impl === 'heartbeat'
          ? { keepaliveMs: 50, deadtimeMs: 250 }
          : { keepaliveMs: 20, deadtimeMs: 100 };
  const t: Trial = { impl, profile, scenario, trial, family: extra.family ?? 'v4', ...timing };
  const { status, startedAt, ms, ...rest } = extra;
  return {
    ...emptyResult(t, ''),
    error: null,
    converged: true,
    outage_ms: outage,
    detect_ms: outage === null ? null : outage * 0.9,
    dual_active_ms: 0,
    ...rest,
    bench: {
      key: trialKey(t),
      profile,
      trial,
      command: [
        `node dist/src/cli/vigil.js lab run ${scenario} --impl ${impl} --keepalive ${timing.keepaliveMs} --deadtime ${timing.deadtimeMs} --prefix vbench --json`,
      ],
      started_at: startedAt ?? `2026-11-26T20:${String(10 + trial).padStart(2, '0')}:00.000Z`,
      trial_ms: ms ?? 20_000,
      exit_code: 0,
      status: status ?? 'ok',
      loadavg_start: [1.5, 1, 1],
      loadavg_end: [2.5, 1, 1],
      nproc: 2,
      invocation: 'npm run bench -- --scenario poweroff,standby --trials 3',
      run_id: '2026-11-26T20:10:00.000Z/4242',
    },
  };
}

/** vigil and keepalived at fast and fastest, poweroff x 3 trials; keepalived standby unsupported; one failure. */
export function fixture(): BenchRecord[] {
  const rs: BenchRecord[] = [];
  const v = { fast: [300, 320, 310], fastest: [60, 80, 70] };
  const k = { fast: [350, 340, 360], fastest: [70, 75, 90] };
  for (const p of ['fast', 'fastest'] as const)
    for (let i = 0; i < 3; i++) {
      rs.push(record('vigil', p, 'poweroff', i + 1, v[p][i]!));
      rs.push(record('keepalived', p, 'poweroff', i + 1, k[p][i]!));
    }
  rs.push(record('vigil', 'fast', 'standby', 1, 8));
  rs.push(record('vigil', 'fast', 'standby', 2, 12, { converged: false }));
  rs.push(record('keepalived', 'fast', 'standby', 1, null, { supported: false }));
  rs.push(record('vigil', 'fast', 'standby', 3, null, { status: 'no-output', error: 'no result from the CLI' }));
  return rs;
}

export function soakFixture(): SoakRecord[] {
  const base = {
    mode: 'soak' as const,
    keepalive_ms: 100,
    deadtime_ms: 500,
    duration_ms: 600_000,
    measured_ms: 600_400,
    burners_per_node: 2,
    freeze_every_ms: 10_000,
    freeze_ms: 300,
    freezes: 60,
    gap_threshold_ms: 200,
    standby_held_ms: 0,
    dual_active_ms: 0,
    dual_active_episodes: 0,
    takeover_lines: 0,
    gaps_over_threshold: 0,
    gaps_over_100ms: 3,
    longest_gap_ms: 150,
    probes_answered: 100_000,
    holders_after: ['linux1'],
    intact_at_end: true,
    loadavg_1m: { min: 4, mean: 5, max: 6 },
    started_at: '2026-11-26T21:00:00.000Z',
    notes: [],
    error: null,
    events: [],
  };
  const meta = (impl: string) => ({
    key: `soak/${impl}/fast/100/500/600s/b2/f10000x300#1`,
    profile: 'fast' as const,
    trial: 1,
    command: [`node dist/src/cli/vigil.js lab soak --impl ${impl} --keepalive 100 --deadtime 500 --json`],
    started_at: '2026-11-26T21:00:00.000Z',
    trial_ms: 640_000,
    exit_code: 0,
    status: 'ok' as const,
    loadavg_start: [4],
    loadavg_end: [5],
    nproc: 2,
    invocation: 'npm run bench -- soak',
  });
  const res = (rss: number) => [
    {
      host: 'linux1',
      processes: 1,
      rss_kb_max: rss,
      rss_kb_mean: rss - 100,
      pss_kb_max: rss / 2,
      cpu_ms: 1200,
      cpu_pct: 0.2,
    },
    {
      host: 'linux2',
      processes: 1,
      rss_kb_max: rss,
      rss_kb_mean: rss - 100,
      pss_kb_max: null,
      cpu_ms: 1100,
      cpu_pct: 0.18,
    },
  ];
  return [
    {
      ...base,
      impl: 'vigil',
      spurious_takeovers: 0,
      dead_declarations: 0,
      dead_by_node: { linux1: 0, linux2: 0 },
      resources: res(51_200),
      bench: meta('vigil'),
    },
    {
      ...base,
      impl: 'keepalived',
      spurious_takeovers: 4,
      dead_declarations: 4,
      dead_by_node: { linux1: 1, linux2: 3 },
      resources: res(8_192),
      bench: meta('keepalived'),
    },
  ];
}
