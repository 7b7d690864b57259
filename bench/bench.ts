/**
 * `npm run bench`: the failover benchmark of issue 7 (implementation x timing profile x lab scenario x trials),
 * the false-failover soak, the idle footprint, and the report (bench/RESULTS.md + bench/outage.svg).
 *
 * Every trial is one `vigil lab run <scenario> --impl I --keepalive K --deadtime D --json`, run as a child, its
 * result appended as one JSON line (plus a `bench` object: key, exact command, duration, load) to the results
 * file. A restarted run skips the trials already there; Ctrl-C finishes the current trial (twice: abandons it,
 * tearing its lab down), SIGTERM abandons it; what was gathered stays.
 */
import { appendFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { cleanup } from '../lab/topology.js';
import { isVigilError } from '../src/util/errors.js';
import {
  checkTiming,
  doneKeys,
  emptyResult,
  etaMs,
  FAMILIES,
  familyOf,
  formatDuration,
  IMPLS,
  parseFastest,
  parseList,
  parseResults,
  pendingTrials,
  planTrials,
  PROFILES,
  SCENARIOS,
  timingFor,
  trialKey,
  type BenchMeta,
  type BenchRecord,
  type Impl,
  type ProfileName,
  type Trial,
} from './lib/matrix.js';
import { buildReport, parseSoakResults, type SoakRecord } from './lib/report.js';
import { parseCostResults, parseHostileResults, type HostileRecord } from './lib/hostile-report.js';
import { parseHttpCost } from './lib/http-report.js';
import type { HostileResult } from '../lab/hostile.js';
import { displayCommand, loadavg, nproc, runChild, type RunningChild } from './lib/runner.js';
import { outageChart } from './lib/svg.js';
import type { ScenarioResult } from '../lab/scenario.js';
import type { SoakResult } from '../lab/soak.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_OUT = 'bench/results/bench.jsonl';
const DEFAULT_SOAK_OUT = 'bench/results/soak.jsonl';
const DEFAULT_HOSTILE_OUT = 'bench/results/hostile.jsonl';
const HTTP_COST_FILE = 'bench/results/http-cost.json';
const DEFAULT_HOSTILE_COST = 'bench/results/hostile-cost.jsonl';

function log(s: string): void {
  process.stdout.write(`${s}\n`);
}

// ---- interruption -----------------------------------------------------------------------------------------------

type StopMode = 'none' | 'finish' | 'abandon';
const ctl: { stop: StopMode; current: RunningChild | undefined; firstInt: number } = {
  stop: 'none',
  current: undefined,
  firstInt: 0,
};

/** Read through a call: the signal handlers change it while a trial is awaited, behind the type checker's back. */
function stopMode(): StopMode {
  return ctl.stop;
}

function installSignals(): void {
  // npm does not pass a SIGINT sent to its own PID on to the runner: name the PID to signal.
  log(
    `# runner pid ${process.pid}: kill -INT ${process.pid} stops after the current trial, kill -TERM ${process.pid} abandons it`,
  );
  process.on('SIGINT', () => {
    const now = Date.now();
    if (ctl.stop === 'none') {
      ctl.stop = 'finish';
      ctl.firstInt = now;
      log('# interrupted: finishing the current trial, then stopping (Ctrl-C again to abandon it)');
    } else if (now - ctl.firstInt > 1000) {
      // npm forwards the terminal's SIGINT a second time within milliseconds: that one is not a second Ctrl-C.
      ctl.stop = 'abandon';
      log('# abandoning the current trial; tearing its lab down');
      ctl.current?.abandon();
    }
  });
  process.on('SIGTERM', () => {
    ctl.stop = 'abandon';
    log('# SIGTERM: abandoning the current trial; tearing its lab down');
    ctl.current?.abandon();
  });
}

// ---- shared options ---------------------------------------------------------------------------------------------

interface CommonOpts {
  out: string;
  soakOut: string;
  hostileOut: string;
  hostileCost: string;
  prefix: string;
  fastest?: string;
  vigil?: string;
  snapshot?: boolean;
  report: boolean;
  md: string;
  svg: string;
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) <= 0) throw new Error(`${name} must be a positive whole number, got '${v}'`);
    return Number(v);
  };
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v)) throw new Error(`${name} must be a whole number, got '${v}'`);
    return Number(v);
  };
}

function commonOptions(c: Command): Command {
  return c
    .option('--out <file>', 'results file (JSON lines; appended, resumed from)', env('BENCH_OUT') ?? DEFAULT_OUT)
    .option('--soak-out <file>', 'soak/idle results file', env('BENCH_SOAK_OUT') ?? DEFAULT_SOAK_OUT)
    .option('--hostile-out <file>', 'hostile-network results file', env('BENCH_HOSTILE_OUT') ?? DEFAULT_HOSTILE_OUT)
    .option(
      '--hostile-cost <file>',
      'per-packet costs (bench/hostile-cost.js --out) for the report',
      env('BENCH_HOSTILE_COST') ?? DEFAULT_HOSTILE_COST,
    )
    .option('--prefix <p>', 'lab prefix (1-8 chars; distinct per concurrent run)', env('BENCH_PREFIX') ?? 'vbench')
    .option(
      '--fastest <spec>',
      'fastest stable setting per implementation, e.g. vigil=20/100,heartbeat=50/250,keepalived=20/100',
      env('BENCH_FASTEST'),
    )
    .option('--vigil <vigil.js>', 'the vigil CLI to run (default: dist/src/cli/vigil.js of this tree)', env('VIGIL'))
    .option(
      '--snapshot',
      'copy the build (dist/src, dist/lab) first and run that copy, so rebuilding does not change a running batch',
    )
    .option('--no-report', 'do not regenerate bench/RESULTS.md at the end')
    .option('--md <file>', 'report file', 'bench/RESULTS.md')
    .option('--svg <file>', 'chart file', 'bench/outage.svg');
}

async function vigilCli(o: CommonOpts): Promise<string> {
  if (o.vigil !== undefined) return resolve(o.vigil);
  const built = resolve(REPO, 'dist/src/cli/vigil.js');
  if (o.snapshot !== true) return built;
  // Inside the repository so node_modules and package.json ("type": "module") still resolve.
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  const snap = resolve(REPO, `bench/results/snapshots/${stamp}`);
  for (const d of ['src', 'lab']) await cp(resolve(REPO, `dist/${d}`), `${snap}/dist/${d}`, { recursive: true });
  log(`# running a snapshot of the build: ${snap}`);
  return `${snap}/dist/src/cli/vigil.js`;
}

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8').catch((e: unknown) => {
    if ((e as { code?: string }).code === 'ENOENT') return '';
    throw e;
  });
}

async function appendLine(file: string, obj: unknown): Promise<void> {
  await mkdir(dirname(resolve(file)), { recursive: true });
  // One write per line: a crash leaves at worst one torn last line, which the parser skips and resume re-runs.
  await appendFile(file, JSON.stringify(obj) + '\n');
}

const RUN_ID = `${new Date().toISOString()}/${process.pid}`;

function invocation(): string {
  return ['npm run bench --', ...process.argv.slice(2)].join(' ');
}

// ---- the matrix -------------------------------------------------------------------------------------------------

interface RunOpts extends CommonOpts {
  impl?: string;
  profile?: string;
  scenario?: string;
  family?: string;
  probe6Ms: number;
  trials: number;
  reportOnly?: boolean;
  trialTimeout: number;
}

function fmtMs(v: number | null): string {
  return v === null ? 'n/a' : `${Math.round(v)} ms`;
}

function describe(r: ScenarioResult, meta: BenchMeta): string {
  if (!r.supported) return 'unsupported';
  if (meta.status === 'no-output') return `NO RESULT (${meta.exit_code ?? 'killed'}): ${r.error ?? ''}`.slice(0, 200);
  const six = ((r.vips as ScenarioResult['vips'] | undefined) ?? []).find((v) => v.family === 6);
  const base =
    `outage ${fmtMs(r.outage_ms)}, detect ${fmtMs(r.detect_ms)}, dual ${fmtMs(r.dual_active_ms)}` +
    (six !== undefined && r.vips.length > 1 ? `; IPv6 VIP outage ${fmtMs(six.outage_ms)}` : '') +
    (six !== undefined && !six.neigh_ok ? ', neighbour cache LATE' : '');
  const conv = r.converged ? '' : ', NOT converged';
  return `${base}${conv}${r.error !== null ? `, error: ${r.error.slice(0, 120)}` : ''}`;
}

async function runMatrix(o: RunOpts): Promise<number> {
  if (o.reportOnly === true) return report(o);
  const fastest = parseFastest(o.fastest);
  const impls = parseList('implementation', o.impl ?? env('BENCH_IMPL'), IMPLS);
  const profiles = parseList('profile', o.profile ?? env('BENCH_PROFILE'), PROFILES);
  const scenarios = parseList('scenario', o.scenario ?? env('BENCH_SCENARIO'), SCENARIOS);
  const families = parseList('family', o.family ?? env('BENCH_FAMILY') ?? 'v4', FAMILIES);
  for (const impl of impls) for (const p of profiles) checkTiming(impl, timingFor(p, impl, fastest));
  const plan = planTrials({ impls, profiles, scenarios, trials: o.trials, fastest, families });
  const existing = parseResults(await readText(o.out));
  for (const s of existing.skipped) log(`# ${o.out}:${s.line}: skipped (${s.reason})`);
  const finished: BenchRecord[] = [...existing.records];
  const done = doneKeys(existing.records);
  const pending = pendingTrials(plan, done);
  const already = plan.length - pending.length;
  log(
    `# bench: ${impls.join(',')} x ${profiles.join(',')} x ${scenarios.length} scenarios${families.length > 1 || families[0] !== 'v4' ? ` x ${families.join(',')}` : ''} x ${o.trials} trials = ${plan.length} trials` +
      (already > 0 ? `; ${already} already in ${o.out}, ${pending.length} to run` : '') +
      ` (estimated ${formatDuration(etaMs(pending, finished))})`,
  );
  for (const impl of impls)
    for (const p of profiles) {
      const t = timingFor(p, impl, fastest);
      log(`#   ${impl} ${p}: keepalive ${t.keepaliveMs} ms, deadtime ${t.deadtimeMs} ms`);
    }
  const vigil = pending.length > 0 ? await vigilCli(o) : '';
  installSignals();
  let index = already;
  let ran = 0;
  for (const t of pending) {
    if (stopMode() !== 'none') break;
    const rec = await runTrial(t, vigil, o);
    if (rec === undefined) break;
    index++;
    ran++;
    await appendLine(o.out, rec);
    finished.push(rec);
    const left = pending.slice(pending.indexOf(t) + 1);
    log(
      `[${index}/${plan.length}] ${t.impl} ${t.profile} ${t.scenario}${t.family === 'v4' ? '' : ` ${t.family}`} #${t.trial}: ${describe(rec, rec.bench)} ` +
        `(${formatDuration(rec.bench.trial_ms)}; eta ${formatDuration(etaMs(left, finished))})`,
    );
  }
  const stopped = stopMode();
  if (stopped !== 'none') log(`# stopped after ${ran} trials this run; rerun the same command to resume`);
  if (o.report) await report(o);
  return stopped === 'abandon' ? 130 : 0;
}

/** `vigil_detector adaptive` for Vigil at the fast and fastest profiles (README: sub-second failover). */
function vigilDetectorArgs(impl: string, profile: string): string[] {
  return impl === 'vigil' && profile !== 'tutorial' ? ['--detector', 'adaptive'] : [];
}

async function runTrial(t: Trial, vigil: string, o: RunOpts): Promise<BenchRecord | undefined> {
  const argv = [
    process.execPath,
    vigil,
    'lab',
    'run',
    t.scenario,
    '--impl',
    t.impl,
    '--keepalive',
    String(t.keepaliveMs),
    '--deadtime',
    String(t.deadtimeMs),
    // Vigil runs the tutorial's files as they are; at sub-second timings it runs what it recommends for them.
    ...vigilDetectorArgs(t.impl, t.profile),
    // IPv6: the group's family, and the IPv6 prober at the IPv4 one's resolution, so that the two compare.
    ...(t.family === 'v4' ? [] : ['--family', t.family, '--probe6-ms', String(o.probe6Ms)]),
    '--prefix',
    o.prefix,
    '--json',
  ];
  const started = new Date().toISOString();
  const la0 = await loadavg();
  const child = runChild(argv, o.trialTimeout * 1000);
  ctl.current = child;
  // A second Ctrl-C or a SIGTERM that arrived between two trials abandons at once.
  if (stopMode() === 'abandon') child.abandon();
  const out = await child.done;
  ctl.current = undefined;
  if (out.abandoned) {
    await cleanup(o.prefix).catch((e: unknown) => {
      log(`# cleanup of lab ${o.prefix} failed: ${String(e)} (run: vigil lab down --prefix ${o.prefix})`);
    });
    return undefined;
  }
  if (out.timedOut) await cleanup(o.prefix).catch(() => undefined);
  const json = out.json as ScenarioResult | undefined;
  const valid = json !== undefined && typeof json.scenario === 'string' && json.impl === t.impl;
  const result: ScenarioResult = valid
    ? json
    : emptyResult(
        t,
        out.timedOut
          ? `runner timeout after ${o.trialTimeout} s`
          : `no result from the CLI (exit ${out.exitCode ?? out.signal ?? '?'}): ${out.stderrTail.slice(-300)}`,
      );
  const meta: BenchMeta = {
    key: trialKey(t),
    profile: t.profile,
    trial: t.trial,
    command: [displayCommand(argv, REPO)],
    started_at: started,
    trial_ms: out.ms,
    exit_code: out.exitCode,
    status: !valid ? 'no-output' : result.error !== null ? 'error' : 'ok',
    loadavg_start: la0,
    loadavg_end: await loadavg(),
    nproc: nproc(),
    invocation: invocation(),
    run_id: RUN_ID,
    ...(out.stderrTail !== '' ? { stderr_tail: out.stderrTail.slice(-1000) } : {}),
  };
  return { ...result, bench: meta };
}

// ---- soak and idle ----------------------------------------------------------------------------------------------

interface SoakOpts extends CommonOpts {
  impl?: string;
  profile?: string;
  minutes?: string;
  seconds?: number;
  warmup?: number;
  burners: number;
  freezeEvery: number;
  freezeMs: number;
  gapMs: number;
  trials: number;
}

async function runSoaks(o: SoakOpts, mode: 'soak' | 'idle'): Promise<number> {
  const fastest = parseFastest(o.fastest);
  const impls = parseList('implementation', o.impl ?? env('BENCH_IMPL'), IMPLS);
  const profile = parseList('profile', o.profile ?? (mode === 'idle' ? 'tutorial' : 'fast'), PROFILES);
  if (profile.length !== 1) throw new Error('soak/idle: give exactly one --profile');
  const p: ProfileName = profile[0]!;
  const seconds =
    o.seconds ?? (o.minutes !== undefined ? Math.round(Number(o.minutes) * 60) : mode === 'idle' ? 60 : 600);
  if (!(seconds > 0)) throw new Error('--minutes/--seconds must be positive');
  const warmup = o.warmup ?? (mode === 'idle' ? 60 : 0);
  const burners = mode === 'idle' ? 0 : o.burners;
  const freezeEvery = mode === 'idle' ? 0 : o.freezeEvery;
  const existing = parseSoakResults(await readText(o.soakOut));
  const done = new Set(existing.records.filter((r) => r.bench.status !== 'no-output').map((r) => r.bench.key));
  const vigil = await vigilCli(o);
  installSignals();
  const todo: { impl: Impl; trial: number }[] = [];
  for (let trial = 1; trial <= o.trials; trial++) for (const impl of impls) todo.push({ impl, trial });
  let n = 0;
  for (const { impl, trial } of todo) {
    if (stopMode() !== 'none') break;
    n++;
    const t = timingFor(p, impl, fastest);
    checkTiming(impl, t);
    const warm = warmup > 0 ? `/w${warmup}s` : '';
    const key = `${mode}/${impl}/${p}/${t.keepaliveMs}/${t.deadtimeMs}/${seconds}s${warm}/b${burners}/f${freezeEvery}x${o.freezeMs}#${trial}`;
    if (done.has(key)) {
      log(`[${n}/${todo.length}] ${mode} ${impl} ${p} #${trial}: already in ${o.soakOut}`);
      continue;
    }
    const argv = [
      process.execPath,
      vigil,
      'lab',
      'soak',
      '--impl',
      impl,
      '--keepalive',
      String(t.keepaliveMs),
      '--deadtime',
      String(t.deadtimeMs),
      ...vigilDetectorArgs(impl, p),
      '--seconds',
      String(seconds),
      '--warmup',
      String(warmup),
      '--burners',
      String(burners),
      '--freeze-every',
      String(freezeEvery),
      '--freeze-ms',
      String(o.freezeMs),
      '--gap-ms',
      String(o.gapMs),
      '--prefix',
      o.prefix,
      '--json',
    ];
    log(`# ${mode} ${impl} ${p} (${t.keepaliveMs}/${t.deadtimeMs} ms) for ${seconds} s: ${displayCommand(argv, REPO)}`);
    const started = new Date().toISOString();
    const la0 = await loadavg();
    // The warm-up runs inside the same CLI call: a 600 s warm-up with a 300 s window once hit a flat 900 s limit.
    const child = runChild(argv, (warmup + seconds + 600) * 1000);
    ctl.current = child;
    if (stopMode() === 'abandon') child.abandon();
    const out = await child.done;
    ctl.current = undefined;
    if (out.abandoned || out.timedOut) await cleanup(o.prefix).catch(() => undefined);
    if (out.abandoned) break;
    const json = out.json as SoakResult | undefined;
    const valid = json !== undefined && typeof json.mode === 'string';
    const meta: BenchMeta = {
      key,
      profile: p,
      trial,
      command: [displayCommand(argv, REPO)],
      started_at: started,
      trial_ms: out.ms,
      exit_code: out.exitCode,
      status: !valid ? 'no-output' : json.error !== null ? 'error' : 'ok',
      loadavg_start: la0,
      loadavg_end: await loadavg(),
      nproc: nproc(),
      invocation: invocation(),
      run_id: RUN_ID,
      ...(out.stderrTail !== '' ? { stderr_tail: out.stderrTail.slice(-1000) } : {}),
    };
    const rec: SoakRecord = valid
      ? { ...json, bench: meta }
      : ({
          mode,
          impl,
          keepalive_ms: t.keepaliveMs,
          deadtime_ms: t.deadtimeMs,
          error: out.timedOut ? 'runner timeout' : `no result from the CLI: ${out.stderrTail.slice(-300)}`,
          bench: meta,
        } as SoakRecord);
    await appendLine(o.soakOut, rec);
    const r = rec;
    log(
      `[${n}/${todo.length}] ${mode} ${impl} ${p}: ` +
        (r.error !== null
          ? `ERROR ${r.error.slice(0, 200)}`
          : `${r.spurious_takeovers} spurious takeovers, ${r.dead_declarations} dead declarations, dual-active ${r.dual_active_ms} ms, ` +
            `${r.gaps_over_threshold} gaps > ${r.gap_threshold_ms} ms (longest ${fmtMs(r.longest_gap_ms)}), ` +
            r.resources
              .map((u) => `${u.host} RSS ${Math.round(u.rss_kb_max / 1024)} MB CPU ${u.cpu_pct}%`)
              .join(', ')) +
        ` (${formatDuration(out.ms)})`,
    );
  }
  if (o.report) await report(o);
  return stopMode() === 'abandon' ? 130 : 0;
}

// ---- hostile network --------------------------------------------------------------------------------------------

interface HostileOpts extends CommonOpts {
  impl?: string;
  profile?: string;
  pps: number;
  floodSeconds: number;
  classes?: string;
  trials: number;
}

const HOSTILE_IMPLS = ['vigil', 'heartbeat'] as const;

async function runHostiles(o: HostileOpts): Promise<number> {
  const fastest = parseFastest(o.fastest);
  const impls = parseList('implementation', o.impl ?? env('BENCH_IMPL'), HOSTILE_IMPLS);
  const profiles = parseList('profile', o.profile ?? 'tutorial,fast', PROFILES);
  const existing = parseHostileResults(await readText(o.hostileOut));
  const done = new Set(existing.records.filter((r) => r.bench.status !== 'no-output').map((r) => r.bench.key));
  const vigil = await vigilCli(o);
  installSignals();
  const todo: { impl: Impl; p: ProfileName; trial: number }[] = [];
  for (let trial = 1; trial <= o.trials; trial++)
    for (const p of profiles) for (const impl of impls) todo.push({ impl, p, trial });
  const mixTag = o.classes === undefined ? 'all' : o.classes.split(',').sort().join('+');
  let n = 0;
  for (const { impl, p, trial } of todo) {
    if (stopMode() !== 'none') break;
    n++;
    const t = timingFor(p, impl, fastest);
    checkTiming(impl, t);
    const key = `hostile/${impl}/${p}/${t.keepaliveMs}/${t.deadtimeMs}/${o.pps}x${o.floodSeconds}s/${mixTag}#${trial}`;
    if (done.has(key)) {
      log(`[${n}/${todo.length}] hostile ${impl} ${p} #${trial}: already in ${o.hostileOut}`);
      continue;
    }
    const argv = [
      process.execPath,
      vigil,
      'lab',
      'run',
      'hostile',
      '--impl',
      impl,
      '--keepalive',
      String(t.keepaliveMs),
      '--deadtime',
      String(t.deadtimeMs),
      ...vigilDetectorArgs(impl, p),
      '--pps',
      String(o.pps),
      '--flood-seconds',
      String(o.floodSeconds),
      ...(o.classes !== undefined ? ['--classes', o.classes] : []),
      '--prefix',
      o.prefix,
      '--json',
    ];
    log(`# hostile ${impl} ${p} (${t.keepaliveMs}/${t.deadtimeMs} ms): ${displayCommand(argv, REPO)}`);
    const started = new Date().toISOString();
    const la0 = await loadavg();
    const child = runChild(argv, (o.floodSeconds + t.deadtimeMs / 1000 + 600) * 1000);
    ctl.current = child;
    if (stopMode() === 'abandon') child.abandon();
    const out = await child.done;
    ctl.current = undefined;
    if (out.abandoned || out.timedOut) await cleanup(o.prefix).catch(() => undefined);
    if (out.abandoned) break;
    // The CLI's output is untyped JSON: check the one field that says it is a hostile result.
    const json = out.json as Partial<HostileResult> | undefined;
    const valid = json?.scenario === 'hostile';
    const meta: BenchMeta = {
      key,
      profile: p,
      trial,
      command: [displayCommand(argv, REPO)],
      started_at: started,
      trial_ms: out.ms,
      exit_code: out.exitCode,
      status: !valid ? 'no-output' : json.error !== null ? 'error' : 'ok',
      loadavg_start: la0,
      loadavg_end: await loadavg(),
      nproc: nproc(),
      invocation: invocation(),
      run_id: RUN_ID,
      ...(out.stderrTail !== '' ? { stderr_tail: out.stderrTail.slice(-1000) } : {}),
    };
    if (!valid) {
      log(
        `[${n}/${todo.length}] hostile ${impl} ${p}: NO RESULT (${out.exitCode ?? 'killed'}) ${out.stderrTail.slice(-300)}`,
      );
      continue;
    }
    const rec: HostileRecord = { ...(json as HostileResult), bench: meta };
    await appendLine(o.hostileOut, rec);
    const failed = Object.entries(rec.criteria)
      .filter(([, v]) => v !== true)
      .map(([k]) => k);
    log(
      `[${n}/${todo.length}] hostile ${impl} ${p}: ${rec.error !== null ? `ERROR ${rec.error.slice(0, 200)}` : rec.pass ? 'PASS' : `FAIL (${failed.join(', ')})`}` +
        `, ${rec.flood?.pps_achieved ?? 0} packets/s, outage ${fmtMs(rec.outage_ms)} (${formatDuration(out.ms)})`,
    );
  }
  if (o.report) await report(o);
  return stopMode() === 'abandon' ? 130 : 0;
}

// ---- report -----------------------------------------------------------------------------------------------------

async function report(o: CommonOpts & { fastest?: string }): Promise<number> {
  const files = o.out.split(',');
  const records: BenchRecord[] = [];
  for (const f of files) {
    const p = parseResults(await readText(f));
    for (const s of p.skipped) log(`# ${f}:${s.line}: skipped (${s.reason})`);
    records.push(...p.records);
  }
  const soak = parseSoakResults(await readText(o.soakOut));
  const hostile = parseHostileResults(await readText(o.hostileOut));
  const hostileCost = parseCostResults(await readText(o.hostileCost));
  const httpCost = parseHttpCost(await readText(HTTP_COST_FILE));
  // The chart is the IPv4 (tutorial) comparison; the IPv6 runs have a section of their own.
  const svg = outageChart(records.filter((r) => familyOf(r) === 'v4'));
  await writeFile(o.svg, svg);
  const md = buildReport({
    records,
    soak: soak.records,
    resultFiles: files,
    soakFile: o.soakOut,
    svgPath: o.svg,
    mdPath: o.md,
    generatedAt: new Date().toISOString(),
    machine: `Linux ${release()}, ${cpus()[0]?.model ?? 'unknown CPU'} (where the report was generated)`,
    hostile: hostile.records,
    hostileCost: hostileCost.records,
    hostileFiles: { runs: o.hostileOut, costs: o.hostileCost },
    ...(httpCost === undefined ? {} : { httpCost: { data: httpCost, file: HTTP_COST_FILE } }),
  });
  await writeFile(o.md, md);
  log(
    `# wrote ${o.md} and ${o.svg} (${records.length} trials, ${soak.records.length} soak/idle runs, ${hostile.records.length} hostile runs)`,
  );
  return 0;
}

// ---- CLI --------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const program = new Command()
    .name('bench')
    .description('failover benchmark of Vigil, Heartbeat 3 and keepalived in the lab (issue 7)');
  commonOptions(
    program
      .command('run', { isDefault: true })
      .description('run the matrix (implementation x profile x scenario x trials), resuming; then write the report')
      .option('--impl <list>', `implementations (${IMPLS.join(',')})`)
      .option('--profile <list>', `timing profiles (${PROFILES.join(',')})`)
      .option('--scenario <list>', `scenarios (${SCENARIOS.join(',')})`)
      .option('--family <list>', `the group's addresses (${FAMILIES.join(',')}; default v4)`)
      .option(
        '--probe6-ms <ms>',
        'IPv6 prober interval in IPv6 runs (the lab default is 10 ms; 5 matches the IPv4 prober)',
        positiveInt('--probe6-ms'),
        5,
      )
      .option('--trials <n>', 'trials per cell', positiveInt('--trials'), Number(env('BENCH_TRIALS') ?? 10))
      .option(
        '--trial-timeout <s>',
        'kill a trial that runs longer (its lab is torn down)',
        positiveInt('--trial-timeout'),
        900,
      )
      .option('--report-only', 'only regenerate the report from the results file(s)'),
  ).action(async (o: RunOpts) => {
    process.exitCode = await runMatrix(o);
  });
  commonOptions(
    program.command('report').description('write bench/RESULTS.md and bench/outage.svg from the results'),
  ).action(async (o: CommonOpts) => {
    process.exitCode = await report(o);
  });
  commonOptions(
    program
      .command('hostile')
      .description(
        'hostile network: a flood of replays, forgeries, garbage and zlib bombs against Vigil and Heartbeat (lab run hostile)',
      )
      .option('--impl <list>', `implementations (${HOSTILE_IMPLS.join(',')})`)
      .option('--profile <list>', 'timing profiles (default tutorial,fast)')
      .option('--pps <n>', 'packets per second of the flood', positiveInt('--pps'), 5000)
      .option('--flood-seconds <s>', 'how long the flood lasts', positiveInt('--flood-seconds'), 20)
      .option('--classes <list>', 'packet classes of the mix (default: all)')
      .option('--trials <n>', 'runs per implementation and profile', positiveInt('--trials'), 1),
  ).action(async (o: HostileOpts) => {
    process.exitCode = await runHostiles(o);
  });
  for (const mode of ['soak', 'idle'] as const) {
    commonOptions(
      program
        .command(mode)
        .description(
          mode === 'soak'
            ? 'false-failover soak per implementation: fast profile, CPU burners in the nodes, standby freezes; RSS/CPU'
            : 'idle footprint per implementation: a quiet cluster at the tutorial timing for 60 s; RSS/CPU',
        )
        .option('--impl <list>', `implementations (${IMPLS.join(',')})`)
        .option('--profile <name>', `timing profile (default ${mode === 'soak' ? 'fast' : 'tutorial'})`)
        .option('--minutes <m>', `duration (default ${mode === 'soak' ? 10 : 1})`)
        .option('--seconds <s>', 'duration in seconds (overrides --minutes)', positiveInt('--seconds'))
        .option(
          '--warmup <s>',
          `run the settled cluster this long before measuring (default ${mode === 'idle' ? 60 : 0})`,
          nonNegativeInt('--warmup'),
        )
        .option('--burners <n>', 'busy loops per node', positiveInt('--burners'), 2)
        .option('--freeze-every <ms>', 'standby freeze period', positiveInt('--freeze-every'), 10_000)
        .option('--freeze-ms <ms>', 'standby freeze length', positiveInt('--freeze-ms'), 300)
        .option('--gap-ms <ms>', 'client gaps longer than this count as outages', positiveInt('--gap-ms'), 200)
        .option('--trials <n>', 'runs per implementation', positiveInt('--trials'), 1),
    ).action(async (o: SoakOpts) => {
      process.exitCode = await runSoaks(o, mode);
    });
  }
  await program.parseAsync(process.argv);
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench: ${isVigilError(e) ? e.message : e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
}
