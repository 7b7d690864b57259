import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport, cellStats, parseSoakResults, sameRun } from '../../bench/lib/report.js';
import { fixture, record, soakFixture } from './fixture.js';
import type { VipResult } from '../../lab/scenario.js';

function report(): string {
  return buildReport({
    records: fixture(),
    soak: soakFixture(),
    resultFiles: ['bench/results/bench.jsonl'],
    soakFile: 'bench/results/soak.jsonl',
    svgPath: 'bench/outage.svg',
    mdPath: 'bench/RESULTS.md',
    generatedAt: '2026-11-26T22:00:00.000Z',
  });
}

function row(md: string, startsWith: string): string[] {
  const line = md.split('\n').find((l) => l.startsWith(startsWith));
  assert.ok(line !== undefined, `no row starting with ${startsWith}`);
  return line.split('|').map((c) => c.trim());
}

test('cell statistics: trials, median/p95, failures, results without output kept apart', () => {
  const cells = cellStats(fixture());
  const vs = cells.find((c) => c.impl === 'vigil' && c.profile === 'fast' && c.scenario === 'standby')!;
  assert.equal(vs.trials, 2);
  assert.equal(vs.noOutput, 1);
  assert.equal(vs.failures, 1);
  assert.equal(vs.outage.median, 10);
  const kp = cells.find((c) => c.impl === 'keepalived' && c.profile === 'fast' && c.scenario === 'poweroff')!;
  assert.equal(kp.outage.median, 350);
  assert.ok(Math.abs(kp.outage.p95! - 359) < 1e-9);
  assert.equal(cells.find((c) => c.impl === 'keepalived' && c.scenario === 'standby')!.unsupported, true);
});

test('the report has the tables, the ratios, the same-interval power-cut comparison, soak, resources and commands', () => {
  const md = report();
  assert.match(md, /!\[Median outage[^\]]*\]\(outage\.svg\)/);
  assert.deepEqual(row(md, '| vigil | fast | 100/500 | poweroff |').slice(5, 10), [
    '3',
    '310 / 319',
    '279 / 287',
    '0 / 0',
    '0',
  ]);
  assert.deepEqual(row(md, '| vigil | fast | 100/500 | standby |').slice(5, 10), [
    '2',
    '10 / 12',
    '9 / 11',
    '0 / 0',
    '1 (+1 without result)',
  ]);
  assert.match(md, /\| keepalived \| fast \| 100\/500 \| standby \| 1 \| unsupported \|/);
  // Ratios: vigil 310 vs keepalived 350 at fast; no heartbeat data.
  assert.deepEqual(row(md, '| fast | poweroff |').slice(1, 8), ['fast', 'poweroff', '310', '–', '–', '350', '0.89']);
  assert.deepEqual(row(md, '| fast | standby |').slice(6, 8), ['unsupported', '–']);
  // Same interval: 100 ms (fast) and 20 ms (fastest), interleaved.
  assert.deepEqual(row(md, '| 100 | 500 |').slice(1, 9), [
    '100',
    '500',
    '3',
    '310 / 319',
    '3',
    '350 / 359',
    '0.89',
    'yes',
  ]);
  assert.deepEqual(row(md, '| 20 | 100 |').slice(7, 9), ['0.93', 'yes']);
  // Soak and resources.
  assert.deepEqual(row(md, '| keepalived | 100/500 | 600 |').slice(6, 10), [
    '4',
    '0',
    '0 (0)',
    '4 (linux1 1, linux2 3)',
  ]);
  assert.deepEqual(row(md, '| soak | vigil | 100/500 | 0 | 600 | linux1 |').slice(8, 12), [
    '50.0',
    '49.9',
    '25.0',
    '0.20',
  ]);
  assert.match(md, /\| soak \| vigil \| 100\/500 \| 0 \| 600 \| linux2 \| 1 \| 50\.0 \| 49\.9 \| – \| 0\.18 \|/);
  // Conditions and commands.
  assert.match(md, /CPUs \(nproc\): 2/);
  assert.match(md, /load average[^:]*: 1\.50 \/ 2\.00 \/ 2\.50/);
  assert.match(md, /npm run bench -- --scenario poweroff,standby --trials 3/);
  assert.match(md, /lab run poweroff --impl keepalived --keepalive 20 --deadtime 100 --prefix vbench --json/);
  assert.match(md, /lab soak --impl vigil/);
});

test('the report says so when there is nothing yet', () => {
  const md = buildReport({
    records: [],
    soak: [],
    resultFiles: ['x.jsonl'],
    soakFile: 'y.jsonl',
    svgPath: 'bench/outage.svg',
    mdPath: 'bench/RESULTS.md',
    generatedAt: 'now',
  });
  assert.match(md, /No scenario trials yet/);
  assert.match(md, /No soak run yet/);
});

test('soak results parser keeps records and counts the rest', () => {
  const good = JSON.stringify(soakFixture()[0]);
  const p = parseSoakResults(`${good}\nnot json\n{"mode":"soak"}\n`);
  assert.equal(p.records.length, 1);
  assert.equal(p.skipped, 2);
});

test('"same run": the same runner processes on both sides; without run ids, overlapping time spans', () => {
  const a = record('vigil', 'fast', 'poweroff', 1, 300);
  const b = record('keepalived', 'fast', 'poweroff', 1, 300);
  assert.equal(sameRun([a], [b]), true);
  const other = { ...b, bench: { ...b.bench, run_id: 'another' } };
  assert.equal(sameRun([a], [other]), false);
  assert.equal(sameRun([a], [b, other]), false);
  const noId = (r: typeof a, start: string) => {
    const { run_id: _drop, ...bench } = r.bench;
    return { ...r, bench: { ...bench, started_at: start, trial_ms: 20_000 } };
  };
  assert.equal(sameRun([noId(a, '2026-11-26T20:00:00.000Z')], [noId(b, '2026-11-26T20:00:15.000Z')]), true);
  assert.equal(sameRun([noId(a, '2026-11-26T20:00:00.000Z')], [noId(b, '2026-11-26T21:00:00.000Z')]), false);
  assert.equal(sameRun([], [b]), false);
});

test('planned moves: failback counts the gap of the move back, stop and standby their outage', () => {
  const md = buildReport({
    records: [
      ...fixture(),
      record('vigil', 'fast', 'failback', 1, 300, { failback_outage_ms: 15, failback_switch_gap_ms: 6 }),
      record('vigil', 'fast', 'failback', 2, 280, { failback_outage_ms: 25, failback_switch_gap_ms: 8 }),
      record('keepalived', 'fast', 'failback', 1, 310, { failback_outage_ms: 0 }),
    ],
    soak: [],
    resultFiles: ['bench/results/bench.jsonl'],
    soakFile: 'bench/results/soak.jsonl',
    svgPath: 'bench/outage.svg',
    mdPath: 'bench/RESULTS.md',
    generatedAt: '2026-11-26T22:00:00.000Z',
  });
  assert.match(md, /## Planned moves/);
  assert.deepEqual(row(md, '| failback | vigil | fast |').slice(1, 9), [
    'failback',
    'vigil',
    'fast',
    '2',
    '20',
    '25',
    '7',
    '8',
  ]);
  assert.deepEqual(row(md, '| failback | keepalived | fast |').slice(4, 6), ['1', '0']);
  assert.deepEqual(row(md, '| standby | vigil | fast |').slice(4, 9), ['2', '10', '12', '–', '–']);
  assert.ok(!md.includes('| standby | keepalived |'), 'unsupported: no row');
});

test("IPv6: the IPv6-only group against the same runs' IPv4 group, the dual-stack VIPs, the neighbour cache", () => {
  const vip = (family: 4 | 6, outage: number, extra: Partial<VipResult> = {}): VipResult => ({
    vip: family === 4 ? '192.168.1.50' : '2001:db8:1::50',
    family,
    probe_ms: 5,
    outage_ms: outage,
    switch_gap_ms: outage,
    failback_outage_ms: null,
    failback_switch_gap_ms: null,
    takeover_ms: 30,
    dual_active_ms: 0,
    dual_active_after_recover_ms: null,
    client_mac_ok: true,
    neigh_follow_ms: 1.5,
    failback_neigh_follow_ms: null,
    first_reply_ms: 4,
    failback_first_reply_ms: null,
    neigh_ok: true,
    probes_answered: 100,
    ...extra,
  });
  const rs = [
    ...[20, 22, 21].map((o, i) => record('vigil', 'fast', 'stop', i + 1, o)),
    ...[22, 23, 24].map((o, i) => record('vigil', 'fast', 'stop', i + 1, o, { family: 'v6', vips: [vip(6, o)] })),
    ...[60, 62, 61].map((o, i) => record('keepalived', 'fast', 'stop', i + 1, o, { family: 'v6', vips: [vip(6, o)] })),
    ...[25, 26].map((o, i) =>
      record('vigil', 'fast', 'stop', i + 1, o, {
        family: 'dual',
        vips: [vip(4, o), vip(6, o + 9, { takeover_ms: 34, neigh_ok: i === 0, neigh_follow_ms: i === 0 ? 2 : 900 })],
      }),
    ),
  ];
  // An IPv4 trial of another run is no baseline.
  const other = record('vigil', 'fast', 'stop', 9, 500);
  rs.push({ ...other, bench: { ...other.bench, run_id: 'another run' } });
  const md = buildReport({
    records: rs,
    soak: [],
    resultFiles: ['bench/results/bench.jsonl', 'bench/results/ipv6.jsonl'],
    soakFile: 'bench/results/soak.jsonl',
    svgPath: 'bench/outage.svg',
    mdPath: 'bench/RESULTS.md',
    generatedAt: '2026-12-07T22:00:00.000Z',
  });
  // The IPv4 tables leave the IPv6 trials out.
  assert.equal(row(md, '| vigil | fast | 100/500 | stop |')[5], '4');
  assert.match(md, /\(12 trials, 8 of them with an IPv6 VIP: see "IPv6"\)/);
  const r = row(md, '| fast | v:100/500, k:100/500 | stop |');
  assert.deepEqual(r.slice(4, 11), ['21 / 22 (3)', '23 / 24 (3)', '1.10', '– (0)', '61 / 62 (3)', '–', '0.38']);
  const d = row(md, '| fast | stop | vigil | 2 |');
  assert.deepEqual(d.slice(5, 9), ['26 / 26', '35 / 35', '4', '0 / 0']);
  const n = row(md, '| vigil | dual | IPv6 | 2 |');
  assert.deepEqual(n.slice(5, 8), ['1', '451.0 / 900.0', '4 / 4']);
  assert.deepEqual(row(md, '| keepalived | v6 | IPv6 | 3 |').slice(5, 6), ['3']);
});
