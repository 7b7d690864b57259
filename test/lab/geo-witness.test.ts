import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GeoResult } from '../../lab/scenario-geo.js';
import { needRoot } from './helpers.js';
import { assertBgpOnSiteB, assertWithdrawnFirst, explain, runGeo } from './geo-run.js';

// A witness in a third site (one etcd member behind the router) and `vigil_quorum etcd` on both nodes. The WAN
// partition cuts site A from site B and from the witness, while A still reaches the router and the client: without
// the witness A would keep announcing or keep its record (test/lab/geo.test.ts shows that split brain). With it, A
// releases when its etcd lease cannot be renewed, and B takes over only once the lease is gone.

function checkNoSplitBrain(r: GeoResult): void {
  assert.equal(r.error, null, explain(r));
  assert.equal(r.witness, true);
  assert.equal(r.both_held_ms, 0, `both sites held the group at once: ${explain(r)}`);
  assert.ok(r.a_released_ms !== null, `site A released during the partition: ${explain(r)}`);
  // A gives up before its lease (5 s) can expire: well before the partition heals.
  assert.ok(r.a_released_ms < 15_000, explain(r));
  // Site B serves from its takeover on, and still after the heal (the group stays where etcd put it).
  assert.equal(r.converged, true, explain(r));
  assert.equal(r.final_site, 'linux2', explain(r));
}

test('geo-bgp WAN partition with a witness: site A withdraws, site B announces after it, never both', async (t) => {
  if (!needRoot(t)) return;
  const r = await runGeo(t, 'gwb', { scenario: 'geo-bgp', fault: 'partition', witness: true });
  checkNoSplitBrain(r);
  assertBgpOnSiteB(r);
  const { withdraw, announce } = assertWithdrawnFirst(r);
  // Not the same instant either: B waited for A's lease to expire in etcd.
  assert.ok(withdraw.rel_ms < announce.rel_ms, explain(r));
});

test('geo-dns WAN partition with a witness: only site B updates the record; the client resolves site B', async (t) => {
  if (!needRoot(t)) return;
  const r = await runGeo(t, 'gwd', { scenario: 'geo-dns', fault: 'partition', ttlSec: 3, witness: true });
  checkNoSplitBrain(r);
  assert.ok(
    !r.events.some((e) => e.source === 'linux1' && e.kind === 'dns_ack'),
    `site A sent no update during the partition: ${explain(r)}`,
  );
  assert.equal(r.final_record, '10.20.2.10 (linux2)', explain(r));
});
