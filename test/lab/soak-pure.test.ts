// The soak's pure parts (no root needed): /proc parsing, usage accounting, VIP timeline arithmetic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LabEvent } from '../../lab/monitor.js';
import {
  addRenewalMetrics,
  bucketQuantileMs,
  classifyQuorumLine,
  dualEpisodes,
  heldElsewhereMs,
  parseKb,
  parseStatPpid,
  parseStatTicks,
  UsageMeter,
  withDescendants,
} from '../../lab/soak.js';

test('utime + stime from /proc/<pid>/stat, even with spaces and parentheses in the command name', () => {
  const stat =
    '4242 (node (vigil) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 731 269 0 0 20 0 11 0 123456 1000000 18000 18446744073709551615';
  assert.equal(parseStatTicks(stat), 731 + 269);
  assert.equal(parseStatTicks('garbage'), undefined);
});

test('kB fields of /proc/<pid>/status and smaps_rollup', () => {
  const status = 'Name:\tnode\nVmPeak:\t  900000 kB\nVmRSS:\t   51234 kB\nRssAnon:\t 30000 kB\n';
  assert.equal(parseKb(status, 'VmRSS'), 51234);
  assert.equal(parseKb('Rss:  100 kB\nPss:   42 kB\nPss_Anon:  40 kB\n', 'Pss'), 42);
  assert.equal(parseKb(status, 'Pss'), undefined);
});

test('usage meter: CPU counts only ticks gained in the window (new PIDs from zero), RSS summed per sample', () => {
  const m = new UsageMeter('linux1', 10);
  const s = (ticks: number, rssKb: number, pssKb?: number) => ({ ticks, rssKb, pssKb });
  m.add(
    new Map([
      [1, s(1000, 40_000, 20_000)],
      [2, s(50, 10_000, 5_000)],
    ]),
  );
  m.add(
    new Map([
      [1, s(1010, 41_000, 21_000)],
      [2, s(55, 10_000, 5_000)],
      [3, s(4, 2_000, 1_000)],
    ]),
  );
  m.add(new Map([[1, s(1020, 40_000, 20_000)]]));
  const r = m.result(10_000);
  // (1020 - 1000) + (55 - 50) + 4 ticks of 10 ms
  assert.equal(r.cpu_ms, 290);
  assert.equal(r.cpu_pct, 2.9);
  assert.equal(r.rss_kb_max, 53_000);
  assert.equal(r.rss_kb_mean, Math.round((50_000 + 53_000 + 40_000) / 3));
  assert.equal(r.pss_kb_max, 27_000);
  assert.equal(r.processes, 3);
  // A process without smaps_rollup makes PSS unknown rather than too small.
  const n = new UsageMeter('linux2', 10);
  n.add(new Map([[9, s(1, 1000)]]));
  assert.equal(n.result(1000).pss_kb_max, null);
});

test('dual-active episodes and time off the preferred node', () => {
  const ev = (t: number, source: string, kind: string): LabEvent => ({ t, source, kind, detail: '' });
  const events = [
    ev(100, 'linux2', 'vip_add'),
    ev(150, 'linux2', 'vip_renew'),
    ev(300, 'linux2', 'vip_del'),
    ev(500, 'linux1', 'vip_del'),
    ev(600, 'linux2', 'vip_add'),
    ev(900, 'linux1', 'vip_add'),
    ev(950, 'linux2', 'vip_del'),
  ];
  const initial = new Set(['linux1']);
  assert.equal(dualEpisodes(events, initial), 2);
  // linux2 holds 100-300 and 600-950.
  assert.equal(heldElsewhereMs(events, initial, 'linux1', 0, 1000), 200 + 350);
  assert.equal(heldElsewhereMs([], initial, 'linux1', 0, 1000), 0);
  assert.equal(dualEpisodes([], initial), 0);
});

test("the daemon's footprint includes what it spawned, not its siblings", () => {
  assert.equal(parseStatPpid('77 (ping) S 4242 77 77 0 -1'), 4242);
  assert.equal(parseStatPpid('nothing'), undefined);
  // 10 = daemon; 11 its pinger; 12 a script it runs, 13 the script's child; 20 a burner, 21 its child.
  const parentOf = new Map([
    [10, 1],
    [11, 10],
    [12, 10],
    [13, 12],
    [20, 1],
    [21, 20],
  ]);
  assert.deepEqual(withDescendants([10], parentOf), [10, 11, 12, 13]);
  assert.deepEqual(withDescendants([], parentOf), []);
});

test('quorum soak: the log lines it counts, and the keep-alive histogram summed over the nodes', () => {
  const head = 'Dec  8 00:38:08 linux1 heartbeat: [8781]: ';
  assert.deepEqual(
    classifyQuorumLine(`${head}info: etcd: renewing the lease of IPaddr::192.168.1.50/24/eth1 took 1520 ms`),
    {
      kind: 'slow_renewal',
      ms: 1520,
    },
  );
  assert.equal(
    classifyQuorumLine(
      `${head}CRIT: Resource group G: no longer owned in etcd (its etcd lease was not renewed in time): releasing it here.`,
    )?.kind,
    'quorum_release',
  );
  assert.equal(
    classifyQuorumLine(`${head}CRIT: lease of 192.168.1.50 expired 3 ms ago (this node was stalled)`)?.kind,
    'vip_expiry',
  );
  assert.equal(
    classifyQuorumLine(`${head}WARN: etcd unreachable: no resource group will be taken over until it answers again.`)
      ?.kind,
    'unreachable',
  );
  assert.equal(classifyQuorumLine(`${head}info: etcd reachable: group ownership can be claimed.`), undefined);

  const page = (fast: number, slow: number, failed: number): string =>
    [
      `vigil_quorum_renewal_seconds_bucket{le="0.005"} ${fast}`,
      `vigil_quorum_renewal_seconds_bucket{le="2"} ${fast + slow}`,
      `vigil_quorum_renewal_seconds_bucket{le="+Inf"} ${fast + slow}`,
      `vigil_quorum_renewals_total{result="renewed"} ${fast + slow}`,
      `vigil_quorum_renewals_total{result="failed"} ${failed}`,
    ].join('\n');
  const m = { buckets: new Map<number, number>(), byResult: {} as Record<string, number> };
  addRenewalMetrics(m, page(90, 0, 0));
  addRenewalMetrics(m, page(8, 2, 1));
  assert.deepEqual(m.byResult, { renewed: 100, failed: 1 });
  assert.equal(bucketQuantileMs(m.buckets, 0.5), 5);
  assert.equal(bucketQuantileMs(m.buckets, 0.99), 2000);
  assert.equal(bucketQuantileMs(m.buckets, 1), 2000);
  assert.equal(bucketQuantileMs(new Map(), 1), null);
});
