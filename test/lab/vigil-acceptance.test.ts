/**
 * Issue 5's acceptance in the lab, for Vigil: the Heartbeat tutorial (linux1 preferred, `linux1 192.168.1.50`
 * written as `IPaddr::192.168.1.50/24/eth1`, auto_failback on) at the tutorial timing, keepalive 1 s / deadtime 10 s.
 * Every scenario ends with the resource audit of Heartbeat's own test suite (lab/audit.ts).
 *
 * All five scenarios run at the tutorial timing (about 5 minutes for the file on this 2-core machine; each run
 * waits 2 x deadtime = 20 s of unchanged state before it calls the cluster converged).
 *
 * Why the bounds are what they are (T = keepalive 1 s, D = deadtime 10 s):
 * - The VIP lease is D - 3 s = 7 s, renewed every second: a node that stops renewing (killed, frozen) loses its
 *   VIP 6-8 s after its last renewal (the kernel expires addresses with ~1 s granularity), while the survivor waits
 *   D = 10 s after the last heartbeat. So two holders after a kill or a freeze would be a bug; we allow one keepalive
 *   for the address observers of two namespaces reporting in a different order than things happened.
 * - poweroff: the survivor declares linux1 dead D after its last heartbeat (at most T before the cut) and the
 *   built-in IPaddr adds the VIP in tens of ms: outage <= D + 1 s, as the issue states.
 * - stop: linux1 releases, says `shutdone`, linux2 takes over at once (no deadtime wait); failback: the standby
 *   handover releases on linux2 then acquires on linux1, both with gratuitous ARP: a few hundred ms; the issue's
 *   bound is < 1 s, checked on the gap around the VIP's move (see handoverGapMs for why not on `outage_ms`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeGroup, parseHaresources } from '../../lab/audit.js';
import { runScenario, type ScenarioName, type ScenarioResult } from '../../lab/scenario.js';
import { cleanup } from '../../lab/topology.js';
import { leftovers, needRoot, uniquePrefix } from './helpers.js';

const T = 1000;
const D = 10_000;
const TUTORIAL = { keepaliveMs: T, deadtimeMs: D, nodes: 2 } as const;

function explain(r: ScenarioResult): string {
  // The timeline without the renewals, ARP refreshes and the client's FAILED retries that would hide the story.
  const story = r.events.filter(
    (e) => e.kind !== 'vip_renew' && e.kind !== 'garp' && !(e.kind === 'neigh' && e.detail.includes('FAILED')),
  );
  return JSON.stringify({ ...r, events: story.slice(-60) }, null, 1);
}

async function run(scenario: ScenarioName, tag: string): Promise<ScenarioResult> {
  const prefix = uniquePrefix(tag);
  try {
    return await runScenario({ ...TUTORIAL, impl: 'vigil', scenario, prefix });
  } finally {
    await cleanup(prefix);
    assert.deepEqual(await leftovers(prefix), [], 'the lab is torn down');
  }
}

/** What every scenario must end with: one holder (`holder`, or any of `holders`), reached by the client, audited. */
function assertEnd(r: ScenarioResult, holders: readonly string[]): void {
  const why = explain(r);
  assert.equal(r.error, null, why);
  assert.deepEqual(r.vip_labels_before, ['eth1:0'], `the VIP on linux1 is labelled eth1:0 as in the tutorial\n${why}`);
  assert.equal(r.converged, true, why);
  assert.equal(r.holders_after.length, 1, why);
  assert.ok(holders.includes(r.holders_after[0]!), `holder ${r.holders_after[0]} not in ${holders.join('|')}\n${why}`);
  assert.equal(r.client_mac_ok, true, `the client's ARP entry points at the holder\n${why}`);
  assert.ok(r.audit !== null && r.audit.groups.length === 1, why);
  assert.equal(r.audit.ok, true, `CTS audit: ${JSON.stringify(r.audit)}`);
  assert.equal(r.audit.groups[0]!.holder, r.holders_after[0], JSON.stringify(r.audit));
}

/**
 * The client's outage across one move of the VIP: the longest gap in replies (> 50 ms, as the lab records them)
 * that spans the moment the VIP was added on its new holder (0 when no such gap). `outage_ms` is the longest gap
 * over the whole run: on this loaded 2-core machine the 200/s prober itself sometimes stalls for up to a second
 * while nothing moves (seen: a 1029 ms gap 4.6 s after a stop, linux2 holding the VIP untouched), so the
 * sub-second bounds are checked on the handover, and `outage_ms` only against a looser bound.
 */
function handoverGapMs(r: ScenarioResult, to: string, after: number): number {
  const add = r.events.find((e) => e.kind === 'vip_add' && e.source === to && e.rel_ms >= after);
  assert.ok(add !== undefined, `no VIP added on ${to} after ${after} ms\n${explain(r)}`);
  let worst = 0;
  for (const e of r.events) {
    if (e.kind !== 'gap') continue;
    const ms = Number.parseFloat(e.detail);
    if (e.rel_ms <= add.rel_ms && e.rel_ms + ms >= add.rel_ms) worst = Math.max(worst, ms);
  }
  return worst;
}

/** linux2 really held the VIP and answered the client after the fault. */
function assertTakeover(r: ScenarioResult): void {
  assert.ok(r.takeover_ms !== null, `linux2 took the VIP\n${explain(r)}`);
  assert.ok(
    r.reply_macs.some((m) => m.endsWith('(linux2)')),
    `the client was answered by linux2\n${explain(r)}`,
  );
}

test('CTS audit: one node per group, whole groups, found from haresources', () => {
  const groups = parseHaresources(
    '# tutorial\nlinux1 192.168.1.50\nlinux2 IPaddr::192.168.1.51/24/eth1 \\\n  Filesystem::/dev/sdb1::/data::ext3 httpd\n',
  );
  assert.deepEqual(groups, [
    { node: 'linux1', members: ['192.168.1.50'] },
    { node: 'linux2', members: ['IPaddr::192.168.1.51/24/eth1', 'Filesystem::/dev/sdb1::/data::ext3', 'httpd'] },
  ]);
  const [one, multi] = groups as [(typeof groups)[0], (typeof groups)[0]];
  assert.equal(judgeGroup(one, { linux1: ['192.168.1.50'], linux2: [] }).holder, 'linux1');
  assert.match(judgeGroup(one, { linux1: ['192.168.1.50'], linux2: ['192.168.1.50'] }).problems[0]!, /on 2 nodes/);
  assert.match(judgeGroup(one, { linux1: [], linux2: [] }).problems[0]!, /no node/);
  assert.equal(judgeGroup(multi, { linux1: [], linux2: multi.members }).holder, 'linux2');
  assert.match(judgeGroup(multi, { linux1: [], linux2: ['httpd'] }).problems[0]!, /incomplete/);
  assert.match(judgeGroup(multi, { linux1: ['httpd'], linux2: [multi.members[0]!] }).problems[0]!, /on 2 nodes/);
});

test('tutorial kill -9 of linux1: the kernel lease drops its VIP before linux2 takes over', async (t) => {
  if (!needRoot(t)) return;
  const r = await run('kill', 'akil');
  t.diagnostic(`kill: outage ${r.outage_ms} detect ${r.detect_ms} dual ${r.dual_active_ms} ms`);
  assertTakeover(r);
  // The restarted linux1 gets its VIP back (auto_failback on).
  assertEnd(r, ['linux1']);
  assert.ok(r.dual_active_ms !== null && r.dual_active_ms <= T, `dual_active ${r.dual_active_ms} ms\n${explain(r)}`);
  assert.ok(r.outage_ms !== null && r.outage_ms <= D + 1000, `outage ${r.outage_ms} ms\n${explain(r)}`);
});

test('tutorial freeze of linux1: on SIGCONT it finds its VIP expired and the peer holding it', async (t) => {
  if (!needRoot(t)) return;
  const r = await run('freeze', 'afrz');
  t.diagnostic(
    `freeze: outage ${r.outage_ms} detect ${r.detect_ms} dual ${r.dual_active_ms} after SIGCONT ${r.dual_active_after_recover_ms} ms`,
  );
  assertTakeover(r);
  // linux2, or linux1 again after the auto_failback handover: both are right if converged.
  assertEnd(r, ['linux1', 'linux2']);
  assert.ok(r.dual_active_ms !== null && r.dual_active_ms <= T, `dual_active ${r.dual_active_ms} ms\n${explain(r)}`);
  assert.ok(
    r.dual_active_after_recover_ms !== null && r.dual_active_after_recover_ms <= T,
    `two holders after SIGCONT for ${r.dual_active_after_recover_ms} ms\n${explain(r)}`,
  );
  assert.ok(
    r.events.some((e) => e.source === 'linux1' && /expired|vanished|lost/.test(e.detail)) ||
      r.events.some((e) => e.source === 'linux1' && e.kind === 'vip_del' && e.rel_ms < D),
    `linux1's VIP expired during the freeze\n${explain(r)}`,
  );
});

test('tutorial poweroff of linux1: linux2 takes over within deadtime + 1 s', async (t) => {
  if (!needRoot(t)) return;
  const r = await run('poweroff', 'apof');
  t.diagnostic(`poweroff: outage ${r.outage_ms} detect ${r.detect_ms} dual ${r.dual_active_ms} ms`);
  assertTakeover(r);
  assertEnd(r, ['linux2']);
  assert.ok(r.outage_ms !== null && r.outage_ms <= D + 1000, `outage ${r.outage_ms} ms\n${explain(r)}`);
  assert.equal(r.dual_active_ms, 0, explain(r));
});

test('tutorial graceful stop of linux1: immediate handover, outage < 1 s', async (t) => {
  if (!needRoot(t)) return;
  const r = await run('stop', 'astp');
  const handover = handoverGapMs(r, 'linux2', 0);
  t.diagnostic(`stop: outage ${r.outage_ms} handover ${handover} detect ${r.detect_ms} dual ${r.dual_active_ms} ms`);
  assertTakeover(r);
  assertEnd(r, ['linux2']);
  assert.ok(handover < 1000, `handover outage ${handover} ms\n${explain(r)}`);
  assert.ok(r.outage_ms !== null && r.outage_ms < 2500, `outage ${r.outage_ms} ms\n${explain(r)}`);
  assert.equal(r.dual_active_ms, 0, explain(r));
});

test('tutorial failback: linux1 powers back on and gets its VIP back with < 1 s of outage', async (t) => {
  if (!needRoot(t)) return;
  const r = await run('failback', 'afbk');
  t.diagnostic(
    `failback: outage ${r.outage_ms} failback ${r.failback_ms} failback outage ${r.failback_outage_ms} dual ${r.dual_active_ms} ms`,
  );
  assertTakeover(r);
  assertEnd(r, ['linux1']);
  assert.ok(r.failback_ms !== null, explain(r));
  const recover = r.events.find((e) => e.kind === 'recover');
  assert.ok(recover !== undefined, explain(r));
  const handover = handoverGapMs(r, 'linux1', recover.rel_ms);
  t.diagnostic(`failback handover gap ${handover} ms`);
  assert.ok(handover < 1000, `failback handover outage ${handover} ms\n${explain(r)}`);
  assert.ok(
    r.failback_outage_ms !== null && r.failback_outage_ms < 2500,
    `failback outage ${r.failback_outage_ms} ms\n${explain(r)}`,
  );
  assert.ok(r.outage_ms !== null && r.outage_ms <= D + 1000, `outage ${r.outage_ms} ms\n${explain(r)}`);
  assert.ok(r.dual_active_ms !== null && r.dual_active_ms <= T, `dual_active ${r.dual_active_ms} ms\n${explain(r)}`);
});
