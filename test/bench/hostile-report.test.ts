import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CostRecord } from '../../bench/hostile-cost.js';
import {
  hostileSection,
  parseCostResults,
  parseHostileResults,
  type HostileRecord,
} from '../../bench/lib/hostile-report.js';
import { buildReport } from '../../bench/lib/report.js';
import { countLog } from '../../lab/hostile.js';
import { reportInput } from './fixture.js';

function run(impl: 'vigil' | 'heartbeat', pass: boolean): HostileRecord {
  const node = (host: string) => ({
    host,
    pids_before: [10],
    pids_after: pass ? [10] : [],
    up: pass,
    restarted: !pass,
    gone_after_ms: pass ? null : 1200,
    rss_kb_before: 40_960,
    rss_kb_after: pass ? 61_440 : 0,
    rss_kb_max: 61_440,
    cpu_ms: 5000,
    cpu_pct: 12,
    listnodes: pass ? ['linux2', 'linux1', '192.168.1.1'] : null,
    foreign_nodes: [],
    log: { ...countLog([]), lines: 42 },
    wire: null,
    kernel: { udp_in: 1000, udp_rcvbuf_errors: 7, udp_in_errors: 7, ip_reasm_fails: 0 },
    notes: [],
  });
  return {
    impl,
    scenario: 'hostile',
    keepalive_ms: 1000,
    deadtime_ms: 10_000,
    detector: null,
    classes: impl === 'heartbeat' ? ['replay', 'garbage'] : null,
    started_at: '2026-12-07T18:00:00.000Z',
    flood: {
      target: '192.168.1.255',
      port: 694,
      pps_target: 5000,
      seconds_target: 20,
      sent: 100_000,
      errors: 0,
      seconds: 20,
      pps_achieved: 5000,
      mbit_per_s: 109,
      last_errno: 0,
      per_class: {},
      file: { records: 5000, per_class: {} },
      max_bomb_bytes: 64 << 20,
    },
    captured: null,
    observe_ms: 20_000,
    loadavg: [1, 2],
    nodes: [node('linux1'), node('linux2')],
    holders_before: ['linux1'],
    holders_after: ['linux1'],
    vip_events: [],
    dual_active_ms: 0,
    outage_ms: 12,
    gaps_over_200ms: 0,
    criteria: {
      daemons_up: pass,
      vip_stayed: true,
      outage_ok: true,
      no_dead_peer: true,
      no_foreign_node: pass ? true : null,
    },
    pass,
    notes: [],
    error: null,
    bench: {
      key: `hostile/${impl}/tutorial/1000/10000/5000x20s/all#1`,
      profile: 'tutorial',
      trial: 1,
      command: [`node dist/src/cli/vigil.js lab run hostile --impl ${impl} --json`],
      started_at: '2026-12-07T18:00:00.000Z',
      trial_ms: 90_000,
      exit_code: pass ? 0 : 1,
      status: 'ok',
      loadavg_start: [1],
      loadavg_end: [2],
      nproc: 2,
      invocation: 'npm run bench -- hostile',
    },
  };
}

function cost(label: string, us: number, outcome: Record<string, number>): CostRecord {
  return {
    cls: 'bomb_notrailer',
    packet: 'flat, 1 KB packet (0.9 KB)',
    bytes: 947,
    packets: 10,
    us_per_packet: us,
    ns_per_byte: us * 1.05,
    outcome,
    peak_rss_growth_kb: 32 * 1024,
    asks_inflate_bytes: 786_000,
    label,
    date: '2026-12-07T18:00:00.000Z',
    node: 'v20.20.2',
    commit: 'abc1234',
    seconds: 1,
  };
}

test('hostile section: a row per run, a row per node, the costs side by side per label', () => {
  const md = hostileSection(
    [run('vigil', true), run('heartbeat', false)],
    [cost('before', 1563, { parse: 10 }), cost('after', 2.1, { auth: 10 })],
    { runs: 'r.jsonl', costs: 'c.jsonl' },
  ).join('\n');
  assert.match(md, /^## Hostile network/m);
  assert.match(md, /\| 2026-12-07 18:00 \| vigil \| 1000\/10000 \| all \| 5000 \(5000\) \| 109 \|.*\| PASS \|$/m);
  assert.match(
    md,
    /\| heartbeat \| 1000\/10000 \| replay, garbage \|.*\| \*\*FAIL\*\* \| pass \| 12 \| pass \| \? \| \*\*FAIL\*\* \|$/m,
  );
  assert.match(md, /\| heartbeat \| replay, garbage \| linux1 \| \*\*changed\*\* \(gone at 1 s\) \| 40 → 0 \(60\) \|/);
  assert.match(
    md,
    /\| bomb_notrailer \| flat, 1 KB packet \(0\.9 KB\) \| 947 \| 768 KiB \| 1563 \| parse \| 32\.0 MiB \| 2\.10 \| auth \| 32\.0 MiB \|/,
  );
  assert.match(md, /`before`: 2026-12-07, Node v20\.20\.2, commit abc1234/);
});

test('hostile results and costs parse from JSON lines, skipping what is not theirs', () => {
  const text = [JSON.stringify(run('vigil', true)), '{"scenario":"kill"}', 'torn {', ''].join('\n');
  const p = parseHostileResults(text);
  assert.equal(p.records.length, 1);
  assert.equal(p.skipped, 2);
  const c = parseCostResults(`${JSON.stringify(cost('before', 1, {}))}\n{"cls":"x"}\n`);
  assert.equal(c.records.length, 1);
  assert.equal(c.skipped, 1);
});

test('the report carries the section only when there is something to show', () => {
  const base = reportInput();
  assert.doesNotMatch(buildReport(base), /## Hostile network/);
  const md = buildReport({ ...base, hostile: [run('vigil', true)] });
  assert.match(md, /## Hostile network[\s\S]*## Exact commands/);
  assert.match(md, /lab run hostile --impl vigil --json/);
});
