/**
 * The cross-site failover benchmark (issue 21): `geo-dns` and `geo-bgp` in the two-site lab, per timing profile and
 * fault, measured from the client behind the router. Appends one JSON line per trial to bench/results/geo.jsonl
 * (with the date, the machine's load and the commit; kept in git as geo.jsonl.gz), then rewrites bench/RESULTS-geo.md
 * from every line there.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/geo.js [--runs N] [--profiles tutorial,wan-fast]
 *     [--faults poweroff,standby,partition] [--scenarios geo-dns,geo-bgp] [--prefix geo] [--report-only]
 *
 * Needs root (the lab). Trials run one at a time: the machine has two cores.
 */
import { execFile } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GEO_FAULTS, GEO_SCENARIOS, runGeoScenario, type GeoResult } from '../lab/scenario-geo.js';
import { median, p95, present } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JSONL = `${ROOT}bench/results/geo.jsonl`;
const REPORT = `${ROOT}bench/RESULTS-geo.md`;

/**
 * tutorial: the 1 s / 10 s of the README. wan-fast: 250 ms / 2 s, the shortest deadtime `vigil check` accepts with a
 * cross-site resource (GEO_MIN_DEADTIME_MS): 8 beats, so a WAN reroute or a loss burst under 1.75 s moves nothing.
 */
const PROFILES = {
  tutorial: { keepaliveMs: 1000, deadtimeMs: 10_000 },
  'wan-fast': { keepaliveMs: 250, deadtimeMs: 2000 },
} as const;
type Profile = keyof typeof PROFILES;
const TTL_SEC = 5;

interface GeoRecord extends Omit<GeoResult, 'events'> {
  events?: GeoResult['events'];
  profile: Profile;
  date: string;
  load1: [number, number];
  commit: string;
}

function list<T extends string>(arg: string | undefined, all: readonly T[], what: string): T[] {
  if (arg === undefined) return [...all];
  const out = arg.split(',').map((s) => s.trim());
  for (const x of out)
    if (!(all as readonly string[]).includes(x)) throw new Error(`unknown ${what} ${x} (${all.join(', ')})`);
  return out as T[];
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

async function commit(): Promise<string> {
  const r = await promisify(execFile)('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).catch(() => ({
    stdout: '',
  }));
  return r.stdout.trim();
}

function cell(xs: readonly (number | null)[]): string {
  const v = present(xs);
  const m = median(v);
  const p = p95(v);
  return m === undefined || p === undefined ? '–' : `${Math.round(m)} / ${Math.round(p)}`;
}

function render(records: readonly GeoRecord[]): string {
  const keys = [...new Set(records.map((r) => `${r.profile}|${r.scenario}|${r.fault}`))].sort();
  const rows = keys.map((k) => {
    const [profile, scenario, fault] = k.split('|');
    const rs = records.filter((r) => r.profile === profile && r.scenario === scenario && r.fault === fault);
    const first = rs[0]!;
    const failures = rs.filter((r) => r.error !== null || !r.converged).length;
    const ok = rs.filter((r) => r.error === null);
    const dns = scenario === 'geo-dns';
    return [
      profile,
      `${first.keepalive_ms}/${first.deadtime_ms}`,
      scenario,
      fault,
      String(rs.length),
      cell(ok.map((r) => r.detect_ms)),
      cell(ok.map((r) => r.switch_ms)),
      cell(ok.map((r) => r.outage_ms)),
      dns ? cell(ok.map((r) => r.takeover_to_ack_ms)) : cell(ok.map((r) => r.announce_ms)),
      dns ? cell(ok.map((r) => r.resolver_switch_ms)) : cell(ok.map((r) => r.router_switch_ms)),
      String(failures),
    ];
  });
  const loads = records.flatMap((r) => r.load1);
  return [
    '# Cross-site failover: DNS update and BGP announcement',
    '',
    `Generated ${new Date().toISOString()} by \`node dist/bench/geo.js\` from \`bench/results/geo.jsonl\` (${records.length} trials, commits ${[...new Set(records.map((r) => r.commit))].join(', ')}). 1-minute load average at the start and end of the trials: ${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)} on 2 cores.`,
    '',
    'The lab (`lab/topology-geo.ts`): site A (linux1, 10.20.1.0/24) and site B (linux2, 10.20.2.0/24) joined by a router; heartbeats are `ucast` across it; the client (10.20.3.0/24) sits behind the router. The service is a UDP echo on each node that answers with its host name; the client probes it every 10 ms (BGP: the routed VIP 10.99.0.1) or every 20 ms (DNS: it asks its unbound for `www.geo.test` before each probe and sends to the answer). No WAN delay: the kernel has no netem.',
    '',
    `- \`detect_ms\`: fault → the survivor's "is dead" (or takeover) log line. \`switch_ms\`: fault → the first echo answered by site B. \`outage_ms\`: the longest gap in echo answers from the fault to the end (a planned move without a gap shows the probe interval).`,
    `- DNS (TTL ${TTL_SEC} s): \`ack\` = the takeover log line → dnsupdate's "acknowledged" line (the update sent, answered NOERROR by BIND and read back). \`client\` = that line → unbound answering the new address.`,
    "- BGP: `ack` = the agent's start → the /32 on lo (BIRD's direct protocol exports it on the netlink event). `client` = fault → the router's kernel route via site B (`ip monitor route`).",
    "- BGP timers: hold 6 s at the tutorial profile; hold 6 s with BFD 200 ms × 5 at wan-fast, so that the router forgets a dead site (1 s) before the survivor announces (deadtime): the survivor's MED 20 loses to a stale MED 10 route.",
    '- partition: the sites lose each other, the router still reaches both; both hold the group (split brain) until it heals; the result is where the client ends up after the heal (site A, auto_failback).',
    '',
    'Cells: median / p95 ms. failures: trials that ended with an error or on the wrong site.',
    '',
    '| profile | keepalive/deadtime ms | scenario | fault | trials | detect_ms | switch_ms | outage_ms | ack / announce ms | resolver / router ms | failures |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  if (!process.argv.includes('--report-only')) {
    const runs = Number(flag('--runs') ?? '3');
    const profiles = list(flag('--profiles'), Object.keys(PROFILES) as Profile[], 'profile');
    const faults = list(flag('--faults'), GEO_FAULTS, 'fault');
    const scenarios = list(flag('--scenarios'), GEO_SCENARIOS, 'scenario');
    const prefix = flag('--prefix') ?? 'geo';
    const rev = await commit();
    for (let i = 0; i < runs; i++) {
      for (const profile of profiles) {
        for (const scenario of scenarios) {
          for (const fault of faults) {
            const l0 = loadavg()[0] ?? 0;
            const { events, ...r } = await runGeoScenario({
              ...PROFILES[profile],
              scenario,
              fault,
              prefix,
              ttlSec: TTL_SEC,
            });
            const rec: GeoRecord = {
              ...r,
              profile,
              date: new Date().toISOString(),
              load1: [l0, loadavg()[0] ?? 0],
              commit: rev,
              // A failed trial keeps its last events: what it was waiting for, and what happened instead.
              ...(r.error === null ? {} : { events }),
            };
            await appendFile(JSONL, JSON.stringify(rec) + '\n');
            process.stderr.write(
              `${profile} ${scenario} ${fault}: switch ${r.switch_ms ?? '–'} ms, outage ${r.outage_ms ?? '–'} ms${r.error === null ? '' : `, error ${r.error}`}\n`,
            );
          }
        }
      }
    }
  }
  const text = await readFile(JSONL, 'utf8');
  const records = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as GeoRecord);
  await writeFile(REPORT, render(records));
  process.stdout.write(`${REPORT}: ${records.length} trials\n`);
}

await main();
