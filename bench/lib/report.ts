/** bench/RESULTS.md from the results files: pure (records in, Markdown out) so it can be tested on a fixture. */
import { relative, dirname } from 'node:path';
import type { SoakResult } from '../../lab/soak.js';
import {
  IMPLS,
  PROFILES,
  SCENARIOS,
  type BenchMeta,
  type BenchRecord,
  type Impl,
  type ProfileName,
  type ScenarioName,
} from './matrix.js';
import { median, p95, present, ratio } from './stats.js';
import { hostileSection, type HostileRecord } from './hostile-report.js';
import { httpSection, type HttpCost } from './http-report.js';
import { ipv6Section } from './ipv6-report.js';
import { familyOf } from './matrix.js';
import type { CostRecord } from '../hostile-cost.js';

export type SoakRecord = SoakResult & { bench: BenchMeta };

export function parseSoakResults(text: string): { records: SoakRecord[]; skipped: number } {
  const records: SoakRecord[] = [];
  let skipped = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const v = JSON.parse(raw) as Partial<SoakRecord>;
      if (typeof v.mode === 'string' && typeof v.impl === 'string' && typeof v.bench?.key === 'string')
        records.push(v as SoakRecord);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

/** "(linux1 1, linux2 0)": who declared a peer dead (older records lack the split). */
function deadBy(s: SoakRecord): string {
  const d = (s as Partial<SoakRecord>).dead_by_node;
  if (d === undefined || s.dead_declarations === 0) return '';
  return ` (${Object.entries(d)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')})`;
}

/** A soak record the runner synthesized for a run without result carries only the identifying fields. */
function complete(s: SoakRecord): boolean {
  return s.bench.status !== 'no-output';
}

export interface ReportInput {
  records: readonly BenchRecord[];
  soak: readonly SoakRecord[];
  resultFiles: readonly string[];
  soakFile: string;
  svgPath: string;
  mdPath: string;
  generatedAt: string;
  /** Kernel / CPU description; the caller reads it from the machine. */
  machine?: string;
  /** The hostile-network runs and per-packet costs, with the files they came from. */
  hostile?: readonly HostileRecord[];
  hostileCost?: readonly CostRecord[];
  hostileFiles?: { runs: string; costs: string };
  /** bench/results/http-cost.json (`node dist/bench/http-cost.js`), when present. */
  httpCost?: { readonly data: HttpCost; readonly file: string };
}

export interface CellStats {
  impl: Impl;
  profile: ProfileName;
  scenario: ScenarioName;
  timing: string;
  trials: number;
  unsupported: boolean;
  outage: { median: number | undefined; p95: number | undefined };
  detect: { median: number | undefined; p95: number | undefined };
  dual: { median: number | undefined; p95: number | undefined };
  /** Trials that ended with the cluster not converged or an error (unsupported ones excluded). */
  failures: number;
  /** Trials whose CLI printed no result (crash, runner timeout); retried on resume, not in the statistics. */
  noOutput: number;
}

const usable = (r: BenchRecord): boolean => r.bench.status !== 'no-output' && r.supported;

export function cellStats(records: readonly BenchRecord[]): CellStats[] {
  const out: CellStats[] = [];
  for (const impl of IMPLS)
    for (const profile of PROFILES)
      for (const scenario of SCENARIOS) {
        const all = records.filter((r) => r.impl === impl && r.bench.profile === profile && r.scenario === scenario);
        if (all.length === 0) continue;
        const rs = all.filter(usable);
        const m = (f: (r: BenchRecord) => number | null) => {
          const xs = present(rs.map(f));
          return { median: median(xs), p95: p95(xs) };
        };
        out.push({
          impl,
          profile,
          scenario,
          timing: [...new Set(all.map((r) => `${r.keepalive_ms}/${r.deadtime_ms}`))].join(', '),
          trials: all.filter((r) => r.bench.status !== 'no-output').length,
          unsupported: all.every((r) => !r.supported),
          outage: m((r) => r.outage_ms),
          detect: m((r) => r.detect_ms),
          dual: m((r) => r.dual_active_ms),
          failures: rs.filter((r) => !r.converged || r.error !== null).length,
          noOutput: all.filter((r) => r.bench.status === 'no-output').length,
        });
      }
  return out;
}

function n(v: number | undefined): string {
  return v === undefined ? '–' : String(Math.round(v));
}

function pair(s: { median: number | undefined; p95: number | undefined }): string {
  return s.median === undefined ? '–' : `${n(s.median)} / ${n(s.p95)}`;
}

function spread(xs: readonly number[]): string {
  if (xs.length === 0) return '–';
  return `${Math.min(...xs).toFixed(2)} / ${median(xs)!.toFixed(2)} / ${Math.max(...xs).toFixed(2)}`;
}

/**
 * Whether two sets of trials were measured in the same run(s): every runner process that contributed to one also
 * contributed to the other (records without a run id: their time spans overlap).
 */
export function sameRun(a: readonly BenchRecord[], b: readonly BenchRecord[]): boolean {
  if (a.length === 0 || b.length === 0) return false;
  const ids = (rs: readonly BenchRecord[]) => new Set(rs.map((r) => r.bench.run_id));
  const ia = ids(a);
  const ib = ids(b);
  if (!ia.has(undefined) && !ib.has(undefined))
    return [...ia].every((x) => ib.has(x)) && [...ib].every((x) => ia.has(x));
  const span = (rs: readonly BenchRecord[]) => {
    const lo = Math.min(...rs.map((r) => Date.parse(r.bench.started_at)));
    const hi = Math.max(...rs.map((r) => Date.parse(r.bench.started_at) + r.bench.trial_ms));
    return { lo, hi };
  };
  const sa = span(a);
  const sb = span(b);
  return sa.lo <= sb.hi && sb.lo <= sa.hi;
}

function mb(kb: number | null | undefined): string {
  return kb === null || kb === undefined ? '–' : (kb / 1024).toFixed(1);
}

export function buildReport(inp: ReportInput): string {
  const { soak } = inp;
  // Every section but the IPv6 one compares the tutorial's IPv4 group.
  const records = inp.records.filter((r) => familyOf(r) === 'v4');
  const L: string[] = [];
  const rel = (p: string): string => relative(dirname(inp.mdPath), p) || p;
  L.push(
    '# Benchmark results: Vigil vs Heartbeat 3 vs keepalived',
    '',
    `Generated ${inp.generatedAt} by \`npm run bench -- report\` from ${inp.resultFiles.map((f) => `\`${f}\``).join(', ')}` +
      ` (${inp.records.length} trials${inp.records.length > records.length ? `, ${inp.records.length - records.length} of them with an IPv6 VIP: see "IPv6"` : ''}) and \`${inp.soakFile}\` (${soak.length} soak/idle runs). ` +
      'The lab, the faults, the client prober and every measure are defined in `lab/README.md`: `outage_ms` is the ' +
      "longest gap in the client's ICMP replies (200 probes/s) from just before the fault to convergence, `detect_ms` " +
      'fault → the survivor\'s first takeover (or "is dead") log line, `dual_active_ms` the total time two nodes held the VIP.',
    '',
    `![Median outage per scenario and implementation, log scale](${rel(inp.svgPath)})`,
    '',
  );

  // ---- conditions
  const all = records;
  const loads = all
    .flatMap((r) => [r.bench.loadavg_start[0], r.bench.loadavg_end[0]])
    .filter((x): x is number => x !== undefined);
  const starts = all.map((r) => r.bench.started_at).sort();
  const nprocs = [...new Set(all.map((r) => r.bench.nproc))];
  L.push('## Machine conditions', '');
  if (inp.machine !== undefined) L.push(`- Machine: ${inp.machine}`);
  L.push(
    `- CPUs (nproc): ${nprocs.length > 0 ? nprocs.join(', ') : '–'}`,
    `- 1-minute load average at the start and end of each trial (min / median / max): ${spread(loads)}`,
    `- Trials ran from ${starts[0] ?? '–'} to ${starts[starts.length - 1] ?? '–'}`,
  );
  const soakLoads = soak.flatMap((s) => (complete(s) && s.loadavg_1m !== null ? [s.loadavg_1m.mean] : []));
  if (soakLoads.length > 0)
    L.push(
      `- Mean 1-minute load average during the soak/idle runs (min / median / max over runs): ${spread(soakLoads)}`,
    );
  L.push('');

  // ---- timings and trial durations
  const cells = cellStats(records);
  if (cells.length > 0) {
    L.push(
      '## Timing profiles and trial durations',
      '',
      '| impl | profile | keepalive/deadtime ms | trials | median trial duration s | total s |',
      '|---|---|---|---|---|---|',
    );
    for (const impl of IMPLS)
      for (const profile of PROFILES) {
        const rs = records.filter((r) => r.impl === impl && r.bench.profile === profile);
        if (rs.length === 0) continue;
        const d = rs.map((r) => r.bench.trial_ms / 1000);
        L.push(
          `| ${impl} | ${profile} | ${[...new Set(rs.map((r) => `${r.keepalive_ms}/${r.deadtime_ms}`))].join(', ')} | ${rs.length} | ${median(d)!.toFixed(1)} | ${Math.round(d.reduce((s, x) => s + x, 0))} |`,
        );
      }
    L.push('');

    // ---- main table
    L.push(
      '## Per implementation, profile and scenario',
      '',
      'Cells: median / p95 in ms (p95 by linear interpolation between closest ranks, numpy\'s default). "failures": trials that did not converge or ended with an error.',
      '',
      '| impl | profile | keepalive/deadtime ms | scenario | trials | outage_ms | detect_ms | dual_active_ms | failures |',
      '|---|---|---|---|---|---|---|---|---|',
    );
    for (const c of cells) {
      if (c.unsupported) {
        L.push(`| ${c.impl} | ${c.profile} | ${c.timing} | ${c.scenario} | ${c.trials} | unsupported | | | |`);
        continue;
      }
      const failures = `${c.failures}${c.noOutput > 0 ? ` (+${c.noOutput} without result)` : ''}`;
      L.push(
        `| ${c.impl} | ${c.profile} | ${c.timing} | ${c.scenario} | ${c.trials} | ${pair(c.outage)} | ${pair(c.detect)} | ${pair(c.dual)} | ${failures} |`,
      );
    }
    L.push('');

    // ---- ratios
    const get = (impl: Impl, profile: ProfileName, scenario: ScenarioName): CellStats | undefined =>
      cells.find((c) => c.impl === impl && c.profile === profile && c.scenario === scenario);
    L.push(
      "## Vigil's ratio to each peer (median outage)",
      '',
      "Below 1.00: Vigil's clients wait less. In the `fastest` profile each implementation runs at its own fastest stable setting (see the timing table).",
      '',
      '| profile | scenario | vigil ms | heartbeat ms | vigil / heartbeat | keepalived ms | vigil / keepalived |',
      '|---|---|---|---|---|---|---|',
    );
    for (const profile of PROFILES)
      for (const scenario of SCENARIOS) {
        const v = get('vigil', profile, scenario);
        const h = get('heartbeat', profile, scenario);
        const k = get('keepalived', profile, scenario);
        if (v === undefined || (h === undefined && k === undefined)) continue;
        const cellv = (c: CellStats | undefined): string =>
          c === undefined ? '–' : c.unsupported ? 'unsupported' : n(c.outage.median);
        const rat = (c: CellStats | undefined): string =>
          c === undefined || c.unsupported ? '–' : ratio(v.outage.median, c.outage.median);
        L.push(`| ${profile} | ${scenario} | ${cellv(v)} | ${cellv(h)} | ${rat(h)} | ${cellv(k)} | ${rat(k)} |`);
      }
    L.push('');

    // ---- planned moves: the gap around the move itself
    const planned = (['stop', 'standby', 'failback'] as const).flatMap((scenario) =>
      IMPLS.flatMap((impl) =>
        PROFILES.flatMap((profile) => {
          const rs = records.filter(
            (r) => r.impl === impl && r.bench.profile === profile && r.scenario === scenario && usable(r),
          );
          if (rs.length === 0 || rs.every((r) => !r.supported)) return [];
          // failback: the move back to the returning node (the power cut before it is not a planned move).
          const xs = present(rs.map((r) => (scenario === 'failback' ? r.failback_outage_ms : r.outage_ms)));
          // Older records have no switch gap (undefined): they count as absent.
          const sw = present(
            rs.map((r) => (scenario === 'failback' ? r.failback_switch_gap_ms : r.switch_gap_ms) ?? null),
          );
          return [
            {
              scenario,
              impl,
              profile,
              trials: rs.length,
              median: median(xs),
              p95: p95(xs),
              swMedian: median(sw),
              swP95: p95(sw),
              swN: sw.length,
            },
          ];
        }),
      ),
    );
    if (planned.length > 0) {
      L.push(
        '## Planned moves',
        '',
        "Issue 7's target for Vigil: a planned move (`stop`, `standby`, the `failback` to the returning node) costs the client at most 20 ms. " +
          'For `failback` the column is `failback_outage_ms` (the longest gap after the node came back), for the others `outage_ms`. ' +
          'Both are the longest gap in the window, so a stall of the machine or of the prober in that window counts too. ' +
          'The switch gap is the move alone: from the last reply of the old holder to the first reply of the new one.',
        '',
        '| scenario | impl | profile | trials | outage median ms | outage p95 ms | switch gap median ms | switch gap p95 ms |',
        '|---|---|---|---|---|---|---|---|',
      );
      for (const x of planned)
        L.push(
          `| ${x.scenario} | ${x.impl} | ${x.profile} | ${x.trials} | ${n(x.median)} | ${n(x.p95)} | ${x.swN > 0 ? n(x.swMedian) : '–'} | ${x.swN > 0 ? n(x.swP95) : '–'} |`,
        );
      L.push('');
    }

    // ---- poweroff at the same interval
    const po = (impl: Impl) => records.filter((r) => r.impl === impl && r.scenario === 'poweroff' && usable(r));
    const vp = po('vigil');
    const kp = po('keepalived');
    const intervals = [...new Set(vp.map((r) => r.keepalive_ms))]
      .filter((k) => kp.some((r) => r.keepalive_ms === k))
      .sort((a, b) => b - a);
    L.push(
      '## Power cut: Vigil vs keepalived at the same interval',
      '',
      "Issue 7's target: Vigil's `poweroff` outage at most keepalived's (ratio ≤ 1.00) at 100 ms and at 20 ms, measured in the same run.",
      '',
    );
    if (intervals.length === 0) L.push('No interval with poweroff trials of both yet.', '');
    else {
      L.push(
        '| keepalive / advert ms | vigil deadtime ms | vigil trials | vigil median / p95 | keepalived trials | keepalived median / p95 | ratio of medians | same run |',
        '|---|---|---|---|---|---|---|---|',
      );
      for (const k of intervals) {
        const v = vp.filter((r) => r.keepalive_ms === k);
        const kk = kp.filter((r) => r.keepalive_ms === k);
        const vo = present(v.map((r) => r.outage_ms));
        const ko = present(kk.map((r) => r.outage_ms));
        L.push(
          `| ${k} | ${[...new Set(v.map((r) => r.deadtime_ms))].join(', ')} | ${v.length} | ${n(median(vo))} / ${n(p95(vo))} | ${kk.length} | ${n(median(ko))} / ${n(p95(ko))} | ${ratio(median(vo), median(ko))} | ${sameRun(v, kk) ? 'yes' : 'no'} |`,
        );
      }
      L.push('');
    }
  } else L.push('No scenario trials yet.', '');

  // ---- IPv6
  L.push(...ipv6Section(inp.records));

  // ---- soak
  const soaks = soak.filter((s) => s.mode === 'soak');
  L.push(
    '## False-failover soak',
    '',
    "A healthy two-node cluster, busy loops running inside both nodes' namespaces, the standby's daemon frozen (SIGSTOP/SIGCONT) periodically. " +
      'Nothing should move: "takeovers" counts every VIP acquisition during the window (any node), "dead" every log line declaring a peer dead ' +
      '(per node: when a freeze outlasts the deadtime, the holder declaring the frozen standby dead is right, the standby declaring the holder dead is a false alarm); ' +
      "client gaps are counted above the threshold. The client's probe sender runs at SCHED_FIFO 10 and tcpdump at nice -10 (the client stands for " +
      'another machine), yet the lab network (veth, bridge) is processed in softirqs that share the saturated CPUs: "probes/s" below 200 ' +
      'and gaps while nothing moved show how much of that is the machine. A takeover by the holder itself (its VIP lost and re-added) ' +
      'counts as a takeover too; "VIP off preferred" is how long the standby held it.',
    '',
  );
  if (soaks.length === 0) L.push('No soak run yet (`npm run bench -- soak`).', '');
  else {
    L.push(
      '| impl | keepalive/deadtime ms | window s | burners/node | freezes | takeovers | VIP off preferred ms | dual-active ms (episodes) | dead | gaps > threshold | longest gap ms | probes/s | intact at end | load (mean) | error |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const s of soaks) {
      if (!complete(s)) {
        L.push(`| ${s.impl} | ${s.keepalive_ms}/${s.deadtime_ms} | | | | | | | | | | | | | ${s.error ?? ''} |`);
        continue;
      }
      L.push(
        `| ${s.impl} | ${s.keepalive_ms}/${s.deadtime_ms} | ${Math.round(s.measured_ms / 1000)} | ${s.burners_per_node} | ${s.freezes} × ${s.freeze_ms} ms | ${s.spurious_takeovers} | ${s.standby_held_ms} | ${s.dual_active_ms} (${s.dual_active_episodes}) | ${s.dead_declarations}${deadBy(s)} | ${s.gaps_over_threshold} (> ${s.gap_threshold_ms} ms) | ${s.longest_gap_ms ?? '–'} | ${s.measured_ms > 0 ? Math.round(s.probes_answered / (s.measured_ms / 1000)) : '–'} | ${s.intact_at_end ? 'yes' : 'no'} | ${s.loadavg_1m?.mean ?? '–'} | ${s.error ?? ''} |`,
      );
    }
    L.push('');
  }

  // ---- resources
  const withRes = soak.filter((s) => complete(s) && s.resources.length > 0);
  L.push(
    '## Memory and CPU of each daemon',
    '',
    'All processes of the daemon on the node, sampled every second from `/proc/<pid>/stat` (utime+stime) and `/proc/<pid>/status` (VmRSS; ' +
      'PSS from `smaps_rollup` splits shared pages between processes). CPU in percent of one core over the window. ' +
      'Idle: a quiet cluster at keepalive 1 s / deadtime 10 s, measured after a warm-up (the column: a JIT runtime compiles and sizes its heap in its first minute); soak: the run above.',
    '',
  );
  if (withRes.length === 0) L.push('No measurement yet (`npm run bench -- idle`, `npm run bench -- soak`).', '');
  else {
    L.push(
      '| mode | impl | keepalive/deadtime ms | warm-up s | window s | node | processes | RSS max MB | RSS mean MB | PSS max MB | CPU % |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const mode of ['idle', 'soak'] as const)
      for (const s of withRes.filter((x) => x.mode === mode))
        for (const u of s.resources)
          L.push(
            `| ${mode} | ${s.impl} | ${s.keepalive_ms}/${s.deadtime_ms} | ${Math.round((s.warmup_ms ?? 0) / 1000)} | ${Math.round(s.measured_ms / 1000)} | ${u.host} | ${u.processes} | ${mb(u.rss_kb_max)} | ${mb(u.rss_kb_mean)} | ${mb(u.pss_kb_max)} | ${u.cpu_pct.toFixed(2)} |`,
          );
    L.push('');
  }

  // ---- hostile network
  const hostile = inp.hostile ?? [];
  if (hostile.length > 0 || (inp.hostileCost ?? []).length > 0)
    L.push(
      ...hostileSection(
        hostile,
        inp.hostileCost ?? [],
        inp.hostileFiles ?? { runs: 'bench/results/hostile.jsonl', costs: 'bench/results/hostile-cost.jsonl' },
      ),
    );

  // ---- HTTP server
  if (inp.httpCost !== undefined) L.push(...httpSection(inp.httpCost.data, inp.httpCost.file));

  // ---- commands
  L.push('## Exact commands', '', 'Runner invocations (from the repository root):', '', '```');
  const inv = [...new Set([...inp.records, ...soak, ...hostile].map((r) => r.bench.invocation))];
  L.push(
    ...(inv.length > 0 ? inv : ['(none)']),
    '```',
    '',
    'One trial = one of these lab commands (per cell; the same command for every trial of the cell):',
    '',
    '```',
  );
  const cmds = new Map<string, string>();
  for (const r of inp.records) cmds.set(r.bench.key.replace(/#\d+$/, ''), r.bench.command.join(' '));
  for (const s of soak) cmds.set(s.bench.key.replace(/#\d+$/, ''), s.bench.command.join(' '));
  for (const h of hostile) cmds.set(h.bench.key.replace(/#\d+$/, ''), h.bench.command.join(' '));
  L.push(...[...cmds.values()], '```', '');
  return L.join('\n');
}
