/**
 * The IPv6 section of bench/RESULTS.md: the IPv6-only group against the tutorial's IPv4 group (same profile, same
 * run), the dual-stack group's two VIPs, and how the client's neighbour cache followed each move. Pure.
 */
import type { VipResult } from '../../lab/scenario.js';
import {
  IMPLS,
  PROFILES,
  SCENARIOS,
  familyOf,
  type BenchRecord,
  type Family,
  type Impl,
  type ProfileName,
  type ScenarioName,
} from './matrix.js';
import { median, p95, present, ratio } from './stats.js';

const usable = (r: BenchRecord): boolean => r.bench.status !== 'no-output' && r.supported;

/** The VIP of a record the section is about: the IPv4 one of a v4 group, the IPv6 one otherwise (or `which`). */
function vipOf(r: BenchRecord, which: 4 | 6): VipResult | undefined {
  // Records from before IPv6 have no `vips` at all.
  return ((r.vips as readonly VipResult[] | undefined) ?? []).find((v) => v.family === which);
}

/**
 * The client's cost of the move the scenario is about: the longest gap, but for failback the move back (the
 * power cut before it is not what failback measures), as in the IPv4 tables.
 */
function outageOf(r: BenchRecord, which: 4 | 6): number | null {
  const v = vipOf(r, which);
  if (v === undefined) {
    // Records from before per-VIP results: the IPv4 group's own fields.
    if (which === 6) return null;
    return r.scenario === 'failback' ? r.failback_outage_ms : r.outage_ms;
  }
  return r.scenario === 'failback' ? v.failback_outage_ms : v.outage_ms;
}

function ms(xs: readonly number[]): string {
  const m = median(xs);
  return m === undefined ? '–' : `${Math.round(m)} / ${Math.round(p95(xs) ?? m)}`;
}

function med(xs: readonly number[]): number | undefined {
  return median(xs);
}

function runIds(rs: readonly BenchRecord[]): Set<string | undefined> {
  return new Set(rs.map((r) => r.bench.run_id));
}

export function ipv6Section(all: readonly BenchRecord[]): string[] {
  const six = all.filter((r) => familyOf(r) !== 'v4');
  if (six.length === 0) return [];
  const ids = runIds(six);
  // The IPv4 baseline: the tutorial's group measured by the same runner processes as the IPv6 trials.
  const v4same = all.filter((r) => familyOf(r) === 'v4' && ids.has(r.bench.run_id));
  const pick = (rs: readonly BenchRecord[], impl: Impl, profile: ProfileName, scenario: ScenarioName, f: Family) =>
    rs.filter((r) => r.impl === impl && r.bench.profile === profile && r.scenario === scenario && familyOf(r) === f);
  const L: string[] = [];
  L.push(
    '## IPv6',
    '',
    'Issue 20: the same scenarios with an IPv6 VIP. `v6`: an IPv6-only cluster (the group `IPaddr2::2001:db8:1::50/64/eth1`, ' +
      "heartbeats on `mcast6`, a `ping6` node; keepalived: VRRPv3 over IPv6); `dual`: the tutorial's files with both VIPs in one " +
      'group (`IPaddr::192.168.1.50/24/eth1 IPaddr2::2001:db8:1::50/64/eth1`; keepalived: the IPv6 VIP as a ' +
      "`virtual_ipaddress_excluded` of its IPv4 instance). The IPv6 VIP is probed with ICMPv6 echo at the IPv4 prober's 5 ms " +
      "(`--probe6-ms 5`; the lab default is 10 ms) so the columns compare at one resolution. `v4` is the tutorial's group " +
      `measured by the same runs (${v4same.length} trials). Cells: median / p95 ms of the client's longest gap (failback: the move back).`,
    '',
    '| profile | keepalive/deadtime ms | scenario | Vigil IPv4 | Vigil IPv6 | IPv6 / IPv4 | keepalived IPv4 | keepalived IPv6 | IPv6 / IPv4 | Vigil / keepalived, IPv6 |',
    '|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const profile of PROFILES)
    for (const scenario of SCENARIOS) {
      const cells = IMPLS.filter((i) => i !== 'heartbeat').map((impl) => ({
        impl,
        v4: pick(v4same, impl, profile, scenario, 'v4').filter(usable),
        v6: pick(six, impl, profile, scenario, 'v6').filter(usable),
        unsupported: pick(six, impl, profile, scenario, 'v6').some((r) => !r.supported),
      }));
      if (cells.every((c) => c.v6.length === 0 && !c.unsupported)) continue;
      const timing = [
        ...new Set(
          cells.flatMap((c) => [...c.v4, ...c.v6]).map((r) => `${r.impl[0] ?? ''}:${r.keepalive_ms}/${r.deadtime_ms}`),
        ),
      ].join(', ');
      const row: string[] = [profile, timing, scenario];
      const medians: (number | undefined)[] = [];
      for (const c of cells) {
        if (c.unsupported) {
          row.push('unsupported', 'unsupported', '–');
          medians.push(undefined);
          continue;
        }
        const a = present(c.v4.map((r) => outageOf(r, 4)));
        const b = present(c.v6.map((r) => outageOf(r, 6)));
        row.push(`${ms(a)} (${a.length})`, `${ms(b)} (${b.length})`, ratio(med(b), med(a)));
        medians.push(med(b));
      }
      row.push(ratio(medians[0], medians[1]));
      L.push(`| ${row.join(' | ')} |`);
    }
  L.push('');

  const dual = six.filter((r) => familyOf(r) === 'dual');
  if (dual.length > 0) {
    L.push(
      '### Dual-stack group',
      '',
      'Both VIPs in one group, measured in the same trials. The IPv6 VIP is the second member: it is started after the IPv4 ' +
        'one and stopped before it (a group starts left to right and stops right to left), so its gap includes one more ' +
        'member operation each side. "apart": the largest difference between the two VIPs\' arrival on the new holder.',
      '',
      '| profile | scenario | impl | trials | IPv4 VIP | IPv6 VIP | apart max ms | dual-active max ms (IPv4 / IPv6) |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const profile of PROFILES)
      for (const scenario of SCENARIOS)
        for (const impl of IMPLS) {
          const rs = pick(dual, impl, profile, scenario, 'dual');
          if (rs.length === 0) continue;
          if (rs.every((r) => !r.supported)) {
            L.push(`| ${profile} | ${scenario} | ${impl} | ${rs.length} | unsupported | | | |`);
            continue;
          }
          const ok = rs.filter(usable);
          const apart = present(
            ok.map((r) => {
              const [a, b] = [vipOf(r, 4)?.takeover_ms, vipOf(r, 6)?.takeover_ms];
              return a === undefined || a === null || b === undefined || b === null ? null : Math.abs(a - b);
            }),
          );
          const da = (w: 4 | 6) => present(ok.map((r) => vipOf(r, w)?.dual_active_ms ?? null));
          const max = (xs: number[]) => (xs.length === 0 ? '–' : String(Math.round(Math.max(...xs))));
          L.push(
            `| ${profile} | ${scenario} | ${impl} | ${ok.length} | ${ms(present(ok.map((r) => outageOf(r, 4))))} | ${ms(present(ok.map((r) => outageOf(r, 6))))} | ${max(apart)} | ${max(da(4))} / ${max(da(6))} |`,
          );
        }
    L.push('');
  }

  L.push(
    "### The client's neighbour cache, and two holders",
    '',
    "Seen from the client: `first reply` is the time from the VIP's add on the new holder to the first echo reply from it " +
      'in the client\'s capture (kernel timestamps); "within one probe" counts the trials where at most one probe sent after ' +
      'the add went to the old MAC, on every move (first reply within two probe intervals + 1 ms; failback: both moves). ' +
      "`follow`: the add → the client's neighbour entry naming the new MAC, as `ip monitor neigh` in the client prints it " +
      '(stamped when the `ip` process runs: late on a loaded machine). A stale entry would show as seconds here: Linux keeps ' +
      'sending to the old MAC until it probes the entry, 5 s after it went stale.',
    '',
    '| impl | group | VIP | trials | within one probe | follow median / max ms | first reply median / p95 ms | dual-active max ms | failures |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const impl of IMPLS)
    for (const f of ['v6', 'dual'] as const)
      for (const w of [4, 6] as const) {
        if (f === 'v6' && w === 4) continue;
        const rs = six.filter((r) => r.impl === impl && familyOf(r) === f && usable(r));
        const vs = rs.map((r) => vipOf(r, w)).filter((v): v is VipResult => v !== undefined);
        if (vs.length === 0) continue;
        const follow = present(vs.flatMap((v) => [v.neigh_follow_ms, v.failback_neigh_follow_ms]));
        const first = present(vs.flatMap((v) => [v.first_reply_ms, v.failback_first_reply_ms]));
        const dualMax = present(vs.map((v) => v.dual_active_ms));
        const failures = rs.filter((r) => !r.converged || r.error !== null).length;
        L.push(
          `| ${impl} | ${f} | IPv${w} | ${vs.length} | ${vs.filter((v) => v.neigh_ok).length} | ${follow.length === 0 ? '–' : `${(med(follow) ?? 0).toFixed(1)} / ${Math.max(...follow).toFixed(1)}`} | ${ms(first)} | ${dualMax.length === 0 ? '–' : Math.round(Math.max(...dualMax))} | ${failures} |`,
        );
      }
  L.push('');
  return L;
}
