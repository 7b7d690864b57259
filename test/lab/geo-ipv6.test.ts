import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needRoot } from './helpers.js';
import { assertBgpOnSiteB, assertWithdrawnFirst, explain, runGeo } from './geo-run.js';

// geo-bgp with the IPv6 VIP: fd99::1/128 on lo under the kernel lease, announced over the IPv6 sessions, probed
// from the client over IPv6 across the router.

test('geo-bgp IPv6 power cut: the router drops site A /128, learns site B, and the client reaches fd99::1 there', async (t) => {
  if (!needRoot(t)) return;
  const r = await runGeo(t, 'g6p', { scenario: 'geo-bgp', fault: 'poweroff', family: 6 });
  assertBgpOnSiteB(r);
  const announce = r.events.find((e) => e.source === 'linux2' && e.kind === 'bgp_announce');
  assert.match(announce?.detail ?? '', /fd99:0:0:0:0:0:0:1\/128 announced through BIRD \(MED 20\)/, explain(r));
  assert.ok(
    r.events.some((e) => e.kind === 'route_add' && e.detail === 'fd99::1 via fd20:2::10 (linux2)'),
    `the router's kernel routes fd99::1 to site B: ${explain(r)}`,
  );
  assert.ok(r.switch_ms !== null && r.switch_ms >= 500 && r.switch_ms < 20_000, explain(r));
});

test('geo-bgp IPv6 planned move: site A withdraws its /128 before site B announces, the client follows', async (t) => {
  if (!needRoot(t)) return;
  const r = await runGeo(t, 'g6s', { scenario: 'geo-bgp', fault: 'standby', family: 6 });
  assertBgpOnSiteB(r);
  const { withdraw } = assertWithdrawnFirst(r);
  assert.match(withdraw.detail, /fd99:0:0:0:0:0:0:1\/128 withdrawn/);
});
