// The lab's pure parts (no root needed): timeline arithmetic and log classification.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyHeartbeatLine, hbTime } from '../../lab/drivers/common.js';
import { KeepalivedDriver } from '../../lab/drivers/keepalived.js';
import { parseIpTs, type LabEvent } from '../../lab/monitor.js';
import { Prober } from '../../lab/prober.js';
import { dualActiveMs, longestUnheld, switchGap } from '../../lab/scenario.js';
import { bothHeld } from '../../lab/scenario-geo.js';

test('switch gap: last reply of the old holder to the first reply of the new one, after the fault only', () => {
  const r = (t: number, mac: string) => ({ t, mac });
  const replies = [r(0, 'a'), r(5, 'a'), r(10, 'a'), r(62, 'a'), r(67, 'a'), r(81, 'b'), r(86, 'b'), r(200, 'a')];
  // The 52 ms stall (10 → 62) is not the switch; the switch is 67 → 81.
  assert.equal(switchGap(replies, 1), 14);
  assert.equal(switchGap(replies, 100), 114, 'the move back after 100');
  assert.equal(switchGap([r(0, 'a'), r(5, 'a')], 0), null, 'no switch');
});

test('dual-active time counts only the spans with two or more holders', () => {
  const ev = (t: number, source: string, kind: 'vip_add' | 'vip_del'): LabEvent => ({ t, source, kind, detail: '' });
  // linux1 holds from the start; linux2 adds at 100, linux1 drops at 350, linux1 adds again at 900 until the end.
  const events = [ev(100, 'linux2', 'vip_add'), ev(350, 'linux1', 'vip_del'), ev(900, 'linux1', 'vip_add')];
  assert.equal(dualActiveMs(events, new Set(['linux1']), 0, 1000), 250 + 100);
  assert.equal(dualActiveMs([], new Set(['linux1']), 0, 1000), 0);
  assert.equal(dualActiveMs([], new Set(['linux1', 'linux2']), 0, 1000), 1000);
  // Events outside the window are clamped to it.
  assert.equal(dualActiveMs([ev(-50, 'linux2', 'vip_add')], new Set(['linux1']), 0, 200), 200);
});

test('geo: both sites held the group from the later start to the earlier stop, clamped to the window', () => {
  const ev = (t: number, source: string, kind: string): LabEvent => ({ t, source, kind, detail: '' });
  // linux1 announced before the fault (t0 = 0); linux2 announces at 900; linux1 withdraws at 4000.
  const bgp = [
    ev(-500, 'linux1', 'bgp_announce'),
    ev(900, 'linux2', 'bgp_announce'),
    ev(4000, 'linux1', 'bgp_withdraw'),
  ];
  assert.equal(bothHeld(bgp, 0, 6000, false), 3100);
  assert.equal(bothHeld(bgp, 0, 2000, false), 1100, 'still both at the end');
  // The witness case: linux1 withdraws before linux2 announces.
  assert.equal(
    bothHeld([bgp[0]!, ev(3000, 'linux1', 'bgp_withdraw'), ev(5000, 'linux2', 'bgp_announce')], 0, 6000, false),
    0,
  );
  // DNS counts the group's start and stop (a start that finds the record right sends no update).
  const dns = [ev(-500, 'linux1', 'group_start'), ev(900, 'linux2', 'group_start'), ev(6000, 'linux2', 'group_stop')];
  assert.equal(bothHeld(dns, 0, 8000, true), 5100);
  assert.equal(bothHeld(dns, 0, 8000, false), 0, 'BGP ignores the group lines');
});

test('the longest time on no node: a hand-over with a gap, two releases back to back, held to the end or not', () => {
  const ev = (t: number, source: string, kind: 'vip_add' | 'vip_del'): LabEvent => ({ t, source, kind, detail: '' });
  // linux1 drops at 100, linux2 adds at 130; linux2 drops at 500, linux1 drops nothing, linux3 adds at 700.
  const events = [ev(100, 'linux1', 'vip_del'), ev(130, 'linux2', 'vip_add'), ev(500, 'linux2', 'vip_del')];
  assert.equal(longestUnheld([...events, ev(700, 'linux3', 'vip_add')], new Set(['linux1']), 0, 1000), 200);
  assert.equal(longestUnheld(events, new Set(['linux1']), 0, 1000), 500, 'unheld until the end of the window');
  assert.equal(longestUnheld([], new Set(), 0, 1000), 1000);
  assert.equal(longestUnheld([], new Set(['linux1']), 0, 1000), 0);
});

test('ip -ts timestamps keep microseconds', () => {
  const t = parseIpTs('[2026-11-26T17:26:49.645979] 192.168.1.50 dev eth1 lladdr aa:bb:cc:dd:ee:ff REACHABLE');
  assert.ok(t !== undefined);
  assert.equal(Math.round((t - new Date('2026-11-26T17:26:49').getTime()) * 1000), 645979);
  assert.equal(parseIpTs('no timestamp'), undefined);
});

test('Heartbeat log lines are classified as the reference gives them', () => {
  const c = classifyHeartbeatLine;
  assert.equal(c('Nov 26 17:30:12 linux2 heartbeat: [20364]: WARN: node linux1: is dead'), 'dead');
  // A ping node dying is not a peer failure.
  assert.equal(c('Nov 26 17:30:17 linux1 heartbeat: [21549]: WARN: node 192.168.1.1: is dead'), undefined);
  assert.equal(c("Nov 26 17:54:27 linux1 heartbeat: [1]: info: Received shutdown notice from 'linux2'."), 'dead');
  assert.equal(c('Nov 26 17:30:12 linux2 heartbeat: [20364]: info: Resources being acquired from linux1.'), 'takeover');
  assert.equal(
    c(
      '2026/11/26_17:30:13  mach_down(default)[21287]:    info: Taking over resource group IPaddr::192.168.1.50/24/eth1',
    ),
    'takeover',
  );
  assert.equal(c('Nov 26 17:30:14 linux2 heartbeat: [20364]: info: mach_down takeover complete.'), 'acquired');
  assert.equal(
    c('2026/11/26_17:30:18  ResourceManager(default)[1]:    info: Releasing resource group: linux1 IPaddr::x'),
    'release',
  );
  assert.equal(
    c('Nov 26 17:36:36 linux1 heartbeat: [2071]: CRIT: Cluster node linux2 returning after partition.'),
    'partition',
  );
  assert.equal(
    c('Nov 26 17:24:42 linux1 heartbeat: [1]: ERROR: Cannot lock ourselves into memory:  System limits'),
    undefined,
  );
  assert.equal(c('Nov 26 17:24:42 linux1 heartbeat: [1]: info: Link linux1:eth1 up.'), undefined);
});

test('keepalived state lines are classified', () => {
  const k = new KeepalivedDriver();
  assert.equal(k.classify('Thu Nov 26 17:31:45 2026: (VI_1) Receive advertisement timeout'), 'dead');
  assert.equal(k.classify('Thu Nov 26 17:31:45 2026: (VI_1) Entering MASTER STATE'), 'takeover');
  assert.equal(k.classify('Thu Nov 26 17:31:45 2026: (VI_1) Entering BACKUP STATE'), 'release');
});

test('Heartbeat times are written the way ha.cf accepts them', () => {
  assert.equal(hbTime(1000), '1');
  assert.equal(hbTime(10000), '10');
  assert.equal(hbTime(500), '500ms');
  assert.equal(hbTime(1500), '1500ms');
});

test('the prober computes gaps, the longest gap and MAC changes from its replies', () => {
  const p = new Prober('none', 'eth1', '192.168.1.50');
  for (let t = 0; t <= 1000; t += 5) p.replies.push({ t, mac: 'aa', seq: t / 5 });
  for (let t = 1500; t <= 2000; t += 5) p.replies.push({ t, mac: 'bb', seq: t / 5 });
  const gaps = p.gaps(0, 2000);
  assert.deepEqual(gaps, [{ from: 1000, to: 1500, ms: 500 }]);
  assert.equal(p.longestGap(0, 2000)?.ms, 500);
  // A window ending in silence counts the silence.
  assert.equal(p.longestGap(1900, 2600)?.ms, 600);
  assert.deepEqual(
    p.macChanges(0, 2000).map((e) => [e.t, e.detail]),
    [
      [0, 'aa'],
      [1500, 'bb'],
    ],
  );
  assert.deepEqual([...p.recentMacs(2000, 100)], ['bb']);
});
