import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needRoot } from './helpers.js';
import { assertBgpOnSiteB, assertWithdrawnFirst, explain, runGeo as run } from './geo-run.js';

// Two sites in different subnets joined by a router; heartbeats are ucast across it (test/lab/geo-run.ts).

test('geo-bgp power cut: the router loses site A route, learns site B, and the client reaches the VIP there', async (t) => {
  if (!needRoot(t)) return;
  const r = await run(t, 'gbp', { scenario: 'geo-bgp', fault: 'poweroff' });
  // Every route the router's BIRD still has: linux1's is gone (BFD), not merely outvoted by MED. Its kernel route
  // may never be deleted as such: when linux2 announces before BFD gives up on linux1, the kernel route is replaced.
  assertBgpOnSiteB(r);
  assert.ok(r.router_switch_ms !== null && r.switch_ms !== null, explain(r));
  // A dead site cannot be noticed before deadtime; the client follows the router within seconds after.
  assert.ok(r.switch_ms >= 500 && r.switch_ms < 20_000, `client on linux2 after ${r.switch_ms} ms`);
});

test('geo-bgp planned move: linux1 withdraws at once on release, linux2 announces, the client follows', async (t) => {
  if (!needRoot(t)) return;
  const r = await run(t, 'gbs', { scenario: 'geo-bgp', fault: 'standby' });
  // Only linux2 announces now: linux1 withdrew, it was not merely outvoted by MED.
  assertBgpOnSiteB(r);
  assertWithdrawnFirst(r);
});

test('geo-bgp partition: both sites announce, the lower MED keeps every client on site A', async (t) => {
  if (!needRoot(t)) return;
  const r = await run(t, 'gbw', { scenario: 'geo-bgp', fault: 'partition' });
  assert.equal(r.error, null, explain(r));
  assert.equal(r.converged, true, explain(r));
  // linux2 declared linux1 dead and announced too (a split brain), yet the router kept preferring MED 10.
  assert.ok(
    r.events.some((e) => e.source === 'linux2' && e.kind === 'bgp_announce'),
    `linux2 announced during the partition: ${explain(r)}`,
  );
  assert.ok(
    r.answered_by.every((a) => a.startsWith('linux1 ')),
    `no client probe reached site B: ${explain(r)}`,
  );
});

test('geo-dns power cut: the survivor points the name at site B, dig through the client resolver answers it', async (t) => {
  if (!needRoot(t)) return;
  const ttlSec = 3;
  const r = await run(t, 'gdp', { scenario: 'geo-dns', fault: 'poweroff', ttlSec });
  assert.equal(r.error, null, explain(r));
  assert.equal(r.converged, true, explain(r));
  assert.equal(r.final_record, '10.20.2.10 (linux2)', explain(r));
  assert.ok(r.update_ack_ms !== null && r.update_ack_ms < 2000, `update acknowledged in ${r.update_ack_ms} ms`);
  assert.equal(r.within_ttl, true, `the resolver moved within the TTL: ${explain(r)}`);
  assert.ok(r.switch_ms !== null && r.switch_ms < 20_000 + ttlSec * 1000, explain(r));
});
