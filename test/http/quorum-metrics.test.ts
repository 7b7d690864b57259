/**
 * /metrics with vigil_quorum etcd: whether etcd answers, each group key's owner, this node's fencing tokens; nothing
 * of it without the quorum. Only these collectors run, on a snapshot that has just the quorum part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { buildRegistry } from '../../src/http/metrics.js';
import { DaemonStats } from '../../src/obs/stats.js';
import type { QuorumView } from '../../src/util/vocabulary.js';

function registry(quorum: QuorumView | undefined, stats = new DaemonStats()): ReturnType<typeof buildRegistry> {
  return buildRegistry({
    snapshot: () => (quorum === undefined ? {} : { quorum }) as StatusSnapshot,
    stats,
    ipfail: () => undefined,
    streams: () => 0,
    nodeVersion: process.version,
    wallNow: () => 0,
  });
}

const NAMES = [
  'vigil_quorum_reachable',
  'vigil_quorum_key_owner',
  'vigil_quorum_fencing_token',
  'vigil_quorum_renewal_seconds',
  'vigil_quorum_renewals_total',
];

async function text(reg: ReturnType<typeof buildRegistry>): Promise<string> {
  return (await Promise.all(NAMES.map((n) => reg.getSingleMetricAsString(n)))).join('\n');
}

test("quorum metrics: reachability, key owners (free keys too), this node's fencing tokens", async () => {
  const m = await text(
    registry({
      reachable: true,
      keys: [
        { group: 'IPaddr::192.168.1.50/24/eth1', owner: 'linux1', token: 42 },
        { group: 'IPaddr::192.168.1.51/24/eth1', owner: 'linux2' },
        { group: 'IPaddr::192.168.1.52/24/eth1', owner: null },
        { group: 'IPaddr::192.168.1.53/24/eth1', owner: undefined },
      ],
    }),
  );
  assert.match(m, /^vigil_quorum_reachable 1$/m);
  assert.match(m, /^vigil_quorum_key_owner\{group="IPaddr::192\.168\.1\.50\/24\/eth1",owner="linux1"\} 1$/m);
  assert.match(m, /^vigil_quorum_key_owner\{group="IPaddr::192\.168\.1\.51\/24\/eth1",owner="linux2"\} 1$/m);
  assert.match(m, /^vigil_quorum_key_owner\{group="IPaddr::192\.168\.1\.52\/24\/eth1",owner=""\} 1$/m);
  assert.doesNotMatch(m, /192\.168\.1\.53/, 'a key not read yet has no owner series');
  assert.match(m, /^vigil_quorum_fencing_token\{group="IPaddr::192\.168\.1\.50\/24\/eth1"\} 42$/m);
  assert.equal([...m.matchAll(/^vigil_quorum_fencing_token\{/gm)].length, 1, 'tokens of owned keys only');
  assert.match(await text(registry({ reachable: false, keys: [] })), /^vigil_quorum_reachable 0$/m);
});

test('etcd lease keep-alives: round trips of those that renewed, and every one by result', async () => {
  const st = new DaemonStats();
  st.quorumRenewSeconds.observe(0.004);
  st.quorumRenewSeconds.observe(1.5);
  st.quorumRenewals.inc('renewed', 2);
  st.quorumRenewals.inc('failed');
  const m = await text(registry({ reachable: true, keys: [] }, st));
  assert.match(m, /^vigil_quorum_renewal_seconds_bucket\{le="0\.005"\} 1$/m);
  assert.match(m, /^vigil_quorum_renewal_seconds_bucket\{le="2"\} 2$/m);
  assert.match(m, /^vigil_quorum_renewal_seconds_count 2$/m);
  assert.match(m, /^vigil_quorum_renewals_total\{result="renewed"\} 2$/m);
  assert.match(m, /^vigil_quorum_renewals_total\{result="failed"\} 1$/m);
});

test('without the quorum: no quorum series', async () => {
  assert.doesNotMatch(await text(registry(undefined)), /^vigil_quorum_\w+(\{|\s)/m);
});
