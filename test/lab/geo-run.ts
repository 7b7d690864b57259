/** What the two-site lab tests share: the fast WAN-safe timing, one scenario on a fresh prefix, a readable failure. */
import assert from 'node:assert/strict';
import { runGeoScenario, type GeoOptions, type GeoResult } from '../../lab/scenario-geo.js';
import { inLab, uniquePrefix } from './helpers.js';

// Fast but WAN-safe timings (keepalive 200 ms, deadtime 1 s); the scenario waits for every condition with generous
// deadlines, and the tests' bounds are loose on purpose (two shared cores). What must hold exactly is where the
// client ends up.
type GeoEvent = GeoResult['events'][number];

export const FAST = { keepaliveMs: 200, deadtimeMs: 1000 } as const;

export function explain(r: GeoResult): string {
  return JSON.stringify({ ...r, events: r.events.slice(-30) }, null, 1);
}

/** Runs one scenario on a lab of its own (prefix from `tag`), reports its numbers as a diagnostic. */
export function runGeo(
  t: { diagnostic: (s: string) => void },
  tag: string,
  o: Omit<GeoOptions, 'prefix' | 'keepaliveMs' | 'deadtimeMs'>,
): Promise<GeoResult> {
  return inLab(uniquePrefix(tag), async (prefix) => {
    const r = await runGeoScenario({ ...FAST, ...o, prefix });
    const { events: _e, ...numbers } = r;
    t.diagnostic(JSON.stringify(numbers));
    return r;
  });
}

/** geo-bgp ended cleanly with site B the only announcer (site A's route gone, not merely outvoted by MED). */
export function assertBgpOnSiteB(r: GeoResult): void {
  assert.equal(r.error, null, explain(r));
  assert.equal(r.converged, true, explain(r));
  assert.equal(r.final_site, 'linux2', explain(r));
  assert.equal(r.final_route, 'linux2 MED 20 (best)', explain(r));
}

/** Site A's withdrawal came no later than site B's announcement (a release, then a takeover): both events. */
export function assertWithdrawnFirst(r: GeoResult): { withdraw: GeoEvent; announce: GeoEvent } {
  const withdraw = r.events.find((e) => e.source === 'linux1' && e.kind === 'bgp_withdraw');
  const announce = r.events.find((e) => e.source === 'linux2' && e.kind === 'bgp_announce');
  assert.ok(withdraw !== undefined && announce !== undefined, explain(r));
  assert.ok(withdraw.rel_ms <= announce.rel_ms, `withdrawn before the peer announces: ${explain(r)}`);
  return { withdraw, announce };
}
