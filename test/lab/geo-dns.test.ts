import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needRoot } from './helpers.js';
import { explain, runGeo } from './geo-run.js';

// geo-dns's planned move and WAN partition (its power cut is in test/lab/geo.test.ts), checked from the client
// through its caching resolver (unbound), with a 3 s TTL.
const TTL = 3;

test('geo-dns planned move: site B updates the record, the resolver answers it within the TTL', async (t) => {
  if (!needRoot(t)) return;
  const r = await runGeo(t, 'gds', { scenario: 'geo-dns', fault: 'standby', ttlSec: TTL });
  assert.equal(r.error, null, explain(r));
  assert.equal(r.converged, true, explain(r));
  assert.equal(r.final_record, '10.20.2.10 (linux2)', explain(r));
  assert.ok(r.update_ack_ms !== null && r.update_ack_ms < 2000, `update acknowledged in ${r.update_ack_ms} ms`);
  assert.equal(r.within_ttl, true, `the resolver moved within the TTL: ${explain(r)}`);
  // A planned move leaves the old site serving until clients move: no gap beyond a few probes.
  assert.ok(r.outage_ms !== null && r.outage_ms < 1000, `longest gap ${r.outage_ms} ms`);
});

test('geo-dns WAN partition without a witness: both sites update (split brain), the heal gives the name back to A', async (t) => {
  if (!needRoot(t)) return;
  const r = await runGeo(t, 'gdw', { scenario: 'geo-dns', fault: 'partition', ttlSec: TTL });
  assert.equal(r.error, null, explain(r));
  assert.equal(r.converged, true, explain(r));
  // linux2 declared linux1 dead and pointed the name at itself while linux1 still held the group.
  assert.ok(
    r.events.some((e) => e.source === 'linux2' && e.kind === 'dns_ack'),
    `linux2 updated the record during the partition: ${explain(r)}`,
  );
  assert.ok(r.both_held_ms !== null && r.both_held_ms > 0, `a split brain: ${explain(r)}`);
  assert.equal(r.final_record, '10.20.1.10 (linux1)', explain(r));
});
