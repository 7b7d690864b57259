/** What the two-site lab tests share: the fast WAN-safe timing, one scenario on a fresh prefix, a readable failure. */
import { runGeoScenario, type GeoOptions, type GeoResult } from '../../lab/scenario-geo.js';
import { inLab, uniquePrefix } from './helpers.js';

// Fast but WAN-safe timings (keepalive 200 ms, deadtime 1 s); the scenario waits for every condition with generous
// deadlines, and the tests' bounds are loose on purpose (two shared cores). What must hold exactly is where the
// client ends up.
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
