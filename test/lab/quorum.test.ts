/**
 * Vigil with vigil_quorum etcd against a real 3-member etcd 3.4 in the lab (the CI slice of bench/quorum.ts): the
 * holder cut off from its peers keeps the VIP and nobody else takes it; the holder cut off from its peers and etcd
 * drops it (the kernel lease) before the peer may take it; a lost etcd quorum releases the group, which comes back
 * with the quorum. Every run: at most one holder at every instant, from the kernel's own address events. And the
 * soak's machinery (bench/quorum.ts soak runs it for 22 minutes): two etcd members restarted in turn move nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario, type ScenarioResult } from '../../lab/scenario.js';
import { runSoak } from '../../lab/soak.js';
import { etcdAvailable } from '../quorum/etcd-fixture.js';
import { inLab, needRoot } from './helpers.js';

const FAST = { keepaliveMs: 100, deadtimeMs: 500, nodes: 2, impl: 'vigil', quorum: true } as const;

function explain(r: ScenarioResult): string {
  return JSON.stringify({ ...r, events: r.events.filter((e) => e.kind !== 'vip_renew').slice(-40) }, null, 1);
}

async function scenario(
  t: { skip: (m: string) => void },
  name: 'partition' | 'isolate' | 'etcd-quorum',
): Promise<ScenarioResult | undefined> {
  if (!(await etcdAvailable())) {
    t.skip('etcd is not installed (apt-get install etcd-server)');
    return undefined;
  }
  // One lab at a time, under this file's own prefix.
  return inLab('qrm', async (prefix) => {
    const r = await runScenario({ ...FAST, scenario: name, prefix });
    assert.equal(r.error, null, explain(r));
    assert.equal(r.converged, true, explain(r));
    assert.equal(r.all_groups_dual_active_ms, 0, `two holders: ${explain(r)}`);
    assert.equal(r.dual_active_ms, 0, explain(r));
    return r;
  });
}

test('partition, holder still reaching etcd: the VIP stays where it is, no one else takes it', async (t) => {
  if (!needRoot(t)) return;
  const r = await scenario(t, 'partition');
  if (r === undefined) return;
  assert.equal(r.takeover_ms, null, explain(r));
  assert.ok(r.outage_ms !== null && r.outage_ms < 300, `outage ${String(r.outage_ms)}: ${explain(r)}`);
  assert.deepEqual(r.holders_after, ['linux1']);
});

test('holder cut off from peers and etcd: its VIP goes before the peer may take it', async (t) => {
  if (!needRoot(t)) return;
  const r = await scenario(t, 'isolate');
  if (r === undefined) return;
  assert.ok(r.takeover_ms !== null, `linux2 took over: ${explain(r)}`);
  // Not before the 5 s etcd lease of linux1 could have run out (its last renewal may precede the cut by 1 s).
  assert.ok(r.takeover_ms > 3500, `took over after ${r.takeover_ms} ms`);
});

test('etcd quorum lost: the holder gives the group up, and takes it again when the quorum is back', async (t) => {
  if (!needRoot(t)) return;
  const r = await scenario(t, 'etcd-quorum');
  if (r === undefined) return;
  assert.deepEqual(r.holders_after, ['linux1']);
  assert.ok(
    r.events.some((e) => e.source === 'linux1' && e.kind === 'vip_del'),
    explain(r),
  );
});

test('soak machinery: etcd members killed and restarted in turn under a healthy pair move nothing', async (t) => {
  if (!needRoot(t)) return;
  if (!(await etcdAvailable())) {
    t.skip('etcd is not installed (apt-get install etcd-server)');
    return;
  }
  const r = await inLab('qrs', (prefix) =>
    runSoak({
      impl: 'vigil',
      keepaliveMs: 100,
      deadtimeMs: 500,
      prefix,
      durationMs: 20_000,
      burnersPerNode: 0,
      freezeEveryMs: 0,
      freezeMs: 0,
      gapThresholdMs: 200,
      quorum: { restartEveryMs: 8000, downMs: 3000 },
    }),
  );
  const why = JSON.stringify({ ...r, events: r.events.slice(-40) }, null, 1);
  assert.equal(r.error, null, why);
  assert.ok(r.quorum !== undefined && r.quorum.restarts >= 2, why);
  assert.equal(r.spurious_takeovers, 0, why);
  assert.equal(r.dual_active_ms, 0, why);
  assert.equal(r.quorum.quorum_releases, 0, why);
  assert.ok((r.quorum.renewals.renewed ?? 0) >= 10, `the holder renewed its etcd lease: ${why}`);
  assert.deepEqual(r.holders_after, ['linux1']);
});
