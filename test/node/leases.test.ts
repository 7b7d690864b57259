/** The holder's side of "never two holders": when a lease may expire, and when the group must go (node/leases.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLOCK_RATE_BOUND,
  LeaseKeeper,
  RELEASE_LEAD_MS,
  RENEW_RETRY_MS,
  SAFETY_MARGIN_MS,
} from '../../src/node/leases.js';

const TTL = 5000;

test('deadlines run from the send time of the claim, never from its answer', () => {
  const k = new LeaseKeeper({ ttlMs: TTL });
  k.claimSent('g', 1000);
  k.claimed('g', '42', 1300); // answered 300 ms later
  const bound = 1000 + TTL * (1 - CLOCK_RATE_BOUND);
  assert.equal(k.expiryBound('g'), bound);
  assert.equal(k.vipDeadline('g'), bound - SAFETY_MARGIN_MS);
  assert.equal(k.releaseAt('g'), bound - SAFETY_MARGIN_MS - RELEASE_LEAD_MS);
  // At the default 5 s TTL: the VIP is gone 4.7 s after the claim was sent, the release starts at 3.7 s.
  assert.equal(k.vipDeadline('g'), 5700);
  assert.equal(k.releaseAt('g'), 4700);
});

test('renewals every TTL/5, again after RENEW_RETRY_MS without an answer; a late answer counts from its send time', () => {
  const k = new LeaseKeeper({ ttlMs: TTL });
  k.claimSent('g', 0);
  k.claimed('g', '42', 5);
  assert.deepEqual(k.due(500), []);
  assert.deepEqual(k.due(1000), [{ group: 'g', lease: '42' }]);
  assert.deepEqual(k.due(1200), [], 'one in flight');
  assert.deepEqual(k.due(1000 + RENEW_RETRY_MS), [{ group: 'g', lease: '42' }], 'unanswered: sent again');
  // The first one answers now, late: the lease runs from when it was sent.
  assert.equal(k.renewed('g', '42', 1000, 'renewed'), 'ok');
  assert.equal(k.expiryBound('g'), 1000 + TTL * (1 - CLOCK_RATE_BOUND));
  // An older answer never moves the deadline back.
  assert.equal(k.renewed('g', '42', 0, 'renewed'), 'ok');
  assert.equal(k.expiryBound('g'), 1000 + TTL * (1 - CLOCK_RATE_BOUND));
  assert.equal(k.renewed('g', 'other', 1500, 'renewed'), 'ignored');
  assert.equal(k.renewed('g', '42', 1500, 'gone'), 'gone');
});

test('without renewals the group is overdue at releaseAt, not a millisecond earlier', () => {
  const k = new LeaseKeeper({ ttlMs: TTL });
  k.claimSent('g', 0);
  k.claimed('g', '1', 3);
  const at = k.releaseAt('g') ?? 0;
  assert.deepEqual(k.overdue(at - 1), []);
  assert.deepEqual(k.overdue(at), ['g']);
  // The next wake-up is the next renewal while one is due before the deadline, else the deadline.
  assert.equal(k.nextWake(0), k.renewEveryMs);
  for (let t = 0; t < at; t += 100) k.due(t); // renewals sent, never answered
  assert.ok((k.nextWake(at - 10) ?? Infinity) <= at);
});

test("the kernel's 2 s minimum VIP lease fits under the smallest TTL allowed (4 s)", () => {
  const k = new LeaseKeeper({ ttlMs: 4000 });
  k.claimSent('g', 0);
  k.claimed('g', '1', 10);
  // Renewed right after its answer (10 ms later), the VIP lifetime is whole seconds, and the kernel drops an
  // expired address up to 1 s late: floor((deadline - now - 1000) / 1000) must be at least 2.
  const life = Math.floor(((k.vipDeadline('g') ?? 0) - 10 - 1000) / 1000);
  assert.ok(life >= 2, `VIP lifetime ${life} s`);
});
