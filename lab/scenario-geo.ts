/**
 * The cross-site scenarios: `geo-dns` (the name follows the group through dnsupdate, clients resolve it through
 * unbound) and `geo-bgp` (the routed VIP follows the group through BGP, the client reaches it across the router),
 * each with a power cut of the holder's site, a planned move (hb_standby) or a WAN partition between the sites
 * (then healed). Heartbeats cross the router as ucast. The client probes the service 50-100 times a second and the
 * result says when it reached which site. `family: 6` moves geo-bgp's IPv6 VIP (a /128) instead of the IPv4 one;
 * `witness` adds a third site with an etcd member and runs Vigil with `vigil_quorum etcd` against it.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { VigilError } from '../src/util/errors.js';
import { VigilDriver } from './drivers/vigil.js';
import { HA_LOGFILE, timingLines } from './drivers/common.js';
import { nowMs, sleep } from './exec.js';
import {
  ECHO_PORT,
  GEO_NAME,
  routerSessionsUp,
  routerVipRoutes,
  startClientUnbound,
  startEcho,
  startNodeBird,
  startRouterBind,
  startRouterBird,
  writeNodeBird,
  writeNodeKey,
  type BgpTiming,
} from './geo-services.js';
import { GEO_ZONE } from './dns-servers.js';
import { LineProcess, LogFollower, parseIpTs, type LabEvent } from './monitor.js';
import { GEO, geoPowerOff, geoUp, setWan, type WanState } from './topology-geo.js';
import { etcdEndpoints, startEtcdCluster } from './etcd.js';
import { dualActiveMs } from './scenario.js';
import type { Lab } from './topology.js';

export const GEO_SCENARIOS = ['geo-dns', 'geo-bgp'] as const;
export type GeoScenario = (typeof GEO_SCENARIOS)[number];
export const GEO_FAULTS = ['poweroff', 'standby', 'partition'] as const;
export type GeoFault = (typeof GEO_FAULTS)[number];

const PROBER_JS = fileURLToPath(new URL('./geo-prober.js', import.meta.url));
/** Vigil's default vigil_quorum_ttl (the witness runs use it). */
const QUORUM_TTL_MS = 5000;

export interface GeoOptions {
  readonly scenario: GeoScenario;
  readonly fault: GeoFault;
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly prefix: string;
  /** geo-dns: the record's TTL, s (default 5). */
  readonly ttlSec?: number;
  /** Random loss in the router, per mille (default 0). */
  readonly lossPermille?: number;
  /** geo-bgp: how the router drops a dead site's route (default: hold 6 s, plus BFD 200 ms × 5 when deadtime < 5 s). */
  readonly bgp?: BgpTiming;
  /** How long the partition lasts before it heals (default 2 × deadtime + 3 s). */
  readonly partitionMs?: number;
  /** geo-bgp: which VIP the group announces and the client probes (default 4). */
  readonly family?: 4 | 6;
  /** A third site with one etcd member, and `vigil_quorum etcd` on the nodes (default false). */
  readonly witness?: boolean;
  readonly keep?: boolean;
  readonly onPhase?: (p: string) => void;
}

export interface GeoResult {
  scenario: GeoScenario;
  fault: GeoFault;
  keepalive_ms: number;
  deadtime_ms: number;
  ttl_s: number | null;
  loss_permille: number;
  bgp_timing: string | null;
  family: 4 | 6;
  witness: boolean;
  /**
   * partition: how long both sites held the group at once, from their own logs (announced → withdrawn for BGP, the
   * update acknowledged → the release began for DNS), from the fault to the end. A split brain without a witness;
   * 0 with one.
   */
  both_held_ms: number | null;
  /** partition: site A's group release during the partition (ms from the fault), if it released. */
  a_released_ms: number | null;
  /** Longest gap between echo replies, from the fault to the end (a planned move may have none). */
  outage_ms: number | null;
  /** Fault → the first echo reply from the other site. */
  switch_ms: number | null;
  /** Fault → the survivor's log says the holder is dead (or it starts taking over). */
  detect_ms: number | null;
  /** Fault → the survivor's "Taking over"/"Acquiring" line. */
  takeover_ms: number | null;
  /** dnsupdate's own measure: its start → the primary's acknowledgement (ms), and → verified. */
  update_ack_ms: number | null;
  update_verified_ms: number | null;
  /** The takeover log line → the acknowledgement's log line (both as the lab read them, ±10 ms). */
  takeover_to_ack_ms: number | null;
  /** bgp: the agent's start → address on lo; fault → the router's kernel route via the new site. */
  announce_ms: number | null;
  router_switch_ms: number | null;
  /** The acknowledgement → the client's resolver answers with the new address. */
  resolver_switch_ms: number | null;
  /** The client's resolver answered the new address within the TTL of the acknowledgement. */
  within_ttl: boolean | null;
  /** Who answered the client's probes, in order, with when (ms from the fault). */
  answered_by: string[];
  /** The site answering at the end, and the DNS record / router route at the end. */
  final_site: string | null;
  final_record: string | null;
  final_route: string | null;
  converged: boolean;
  notes: string[];
  error: string | null;
  events: { rel_ms: number; source: string; kind: string; detail: string }[];
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** The default WAN-safe BGP timing for a deadtime: the router must forget a dead site before the survivor announces. */
export function defaultBgpTiming(deadtimeMs: number): BgpTiming {
  return deadtimeMs >= 5000 ? { holdSec: 6 } : { holdSec: 6, bfd: { intervalMs: 200, multiplier: 5 } };
}

function describeBgp(t: BgpTiming): string {
  return `hold ${t.holdSec} s${t.bfd === undefined ? '' : `, BFD ${t.bfd.intervalMs} ms × ${t.bfd.multiplier}`}`;
}

/** ha.cf, authkeys, haresources of the two sites (identical on both nodes: ucast to each site's address). */
async function configure(lab: Lab, o: GeoOptions, ttl: number): Promise<void> {
  const hacf = [
    '# written by vigil lab (geo)',
    ...timingLines(o.keepaliveMs, o.deadtimeMs, Math.max(o.keepaliveMs * 2, Math.floor(o.deadtimeMs / 2))),
    `ucast eth1 ${GEO.a.ip}`,
    `ucast eth1 ${GEO.b.ip}`,
    'auto_failback on',
    `node ${GEO.a.node}`,
    `node ${GEO.b.node}`,
    ...(o.witness === true
      ? [
          'vigil_quorum etcd',
          `vigil_quorum_endpoints ${etcdEndpoints(lab).join(' ')}`,
          `vigil_quorum_prefix /vigil/${lab.prefix}`,
        ]
      : []),
    '',
  ].join('\n');
  const vip = o.family === 6 ? GEO.vip6Config : GEO.vip;
  const group =
    o.scenario === 'geo-dns'
      ? `dnsupdate::${GEO_ZONE}::www::${GEO.a.node}=${GEO.a.ip},${GEO.b.node}=${GEO.b.ip}::${ttl}::server=${GEO.dns}`
      : `bgp::${vip}::med=${GEO.a.node}:10,${GEO.b.node}:20`;
  for (const n of lab.nodes) {
    await writeFile(lab.hostPath(n, '/etc/ha.d/ha.cf'), hacf);
    const ak = lab.hostPath(n, '/etc/ha.d/authkeys');
    await writeFile(ak, 'auth 1\n1 sha256 geo-lab-secret\n', { mode: 0o600 });
    await chmod(ak, 0o600);
    await writeFile(lab.hostPath(n, '/etc/ha.d/haresources'), `${GEO.a.node} ${group}\n`);
    if (o.scenario === 'geo-dns') await writeNodeKey(lab, n);
  }
}

interface Probe {
  t: number;
  from: string;
}

export async function runGeoScenario(o: GeoOptions): Promise<GeoResult> {
  const ttl = o.ttlSec ?? 5;
  const bgp = o.bgp ?? defaultBgpTiming(o.deadtimeMs);
  const loss = o.lossPermille ?? 0;
  const dnsMode = o.scenario === 'geo-dns';
  const family = o.family ?? 4;
  const witness = o.witness === true;
  if (dnsMode && family === 6)
    throw new VigilError('VIGIL_ERR_USAGE', 'geo-dns publishes the sites IPv4 addresses: family 6 is for geo-bgp');
  const vip = family === 6 ? GEO.vip6 : GEO.vip;
  const r: GeoResult = {
    scenario: o.scenario,
    fault: o.fault,
    keepalive_ms: o.keepaliveMs,
    deadtime_ms: o.deadtimeMs,
    ttl_s: dnsMode ? ttl : null,
    loss_permille: loss,
    bgp_timing: dnsMode ? null : describeBgp(bgp),
    family,
    witness,
    both_held_ms: null,
    a_released_ms: null,
    outage_ms: null,
    switch_ms: null,
    detect_ms: null,
    takeover_ms: null,
    update_ack_ms: null,
    update_verified_ms: null,
    takeover_to_ack_ms: null,
    announce_ms: null,
    router_switch_ms: null,
    resolver_switch_ms: null,
    within_ttl: null,
    answered_by: [],
    final_site: null,
    final_record: null,
    final_route: null,
    converged: false,
    notes: [],
    error: null,
    events: [],
  };
  if (o.deadtimeMs <= 2 * o.keepaliveMs) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `deadtime (${o.deadtimeMs} ms) must be more than twice keepalive (${o.keepaliveMs} ms)`,
    );
  }
  const phase = (p: string): void => o.onPhase?.(p);
  const driver = new VigilDriver();
  await driver.checkAvailable();
  phase('building the two-site lab');
  const lab = await geoUp(o.prefix, { witness });
  const events: LabEvent[] = [];
  const probes: Probe[] = [];
  const dnsAnswers: { t: number; addr: string }[] = [];
  const followers: LogFollower[] = [];
  const watchers: LineProcess[] = [];
  let prober: LineProcess | undefined;
  const wan: WanState = { partitioned: false, lossPermille: loss };
  const nodeOf = (ip: string): string =>
    ip === GEO.a.ip || ip === GEO.a.ip6 ? GEO.a.node : ip === GEO.b.ip || ip === GEO.b.ip6 ? GEO.b.node : ip;
  try {
    phase('starting the router (BIRD), the services and the client');
    if (dnsMode) {
      await startRouterBind(lab, ttl);
      await startClientUnbound(lab);
    } else {
      await startRouterBird(lab, bgp);
      for (const n of lab.nodes) await writeNodeBird(lab, n, bgp);
    }
    if (witness) {
      phase('starting the witness (etcd)');
      await startEtcdCluster(lab, GEO.a.node);
    }
    await configure(lab, o, ttl);
    const boot = async (n: string): Promise<void> => {
      startEcho(lab, n);
      if (!dnsMode) await startNodeBird(lab, n);
      await driver.start(lab, n);
    };
    for (const n of lab.nodes) {
      const f = new LogFollower(lab.hostPath(n, HA_LOGFILE), (line, t) => {
        const kind = driver.classify(line);
        if (kind !== undefined) events.push({ t, source: n, kind: `log_${kind}`, detail: line });
        if (/dnsupdate: .* acknowledged in/.test(line)) events.push({ t, source: n, kind: 'dns_ack', detail: line });
        if (/bgp: .* announced through BIRD/.test(line))
          events.push({ t, source: n, kind: 'bgp_announce', detail: line });
        if (/bgp: .* withdrawn/.test(line)) events.push({ t, source: n, kind: 'bgp_withdraw', detail: line });
        // The ResourceManager's own lines: the group's start (after any etcd claim) and stop on this node.
        if (/Acquiring resource group:/.test(line)) events.push({ t, source: n, kind: 'group_start', detail: line });
        if (/Releasing resource group:/.test(line)) events.push({ t, source: n, kind: 'group_stop', detail: line });
      });
      await f.start();
      followers.push(f);
    }
    if (!dnsMode) {
      watchers.push(
        new LineProcess('ip', ['-n', lab.netns('router'), '-ts', 'monitor', 'route'], (line, arrival) => {
          if (!line.includes(`${vip} `)) return;
          const t = parseIpTs(line) ?? arrival;
          const via = /via (\S+)/.exec(line)?.[1] ?? '';
          events.push({
            t,
            source: 'router',
            kind: line.includes('] Deleted ') ? 'route_del' : 'route_add',
            detail: `${vip} via ${via} (${nodeOf(via)})`,
          });
        }),
      );
    }
    prober = new LineProcess(
      'nsenter',
      [
        ...lab.enterArgs('client'),
        'chrt',
        '-f',
        '10',
        process.execPath,
        PROBER_JS,
        ...(dnsMode
          ? ['dns', GEO_NAME, '127.0.0.1', String(ECHO_PORT), '20']
          : ['fixed', vip, String(ECHO_PORT), '10']),
      ],
      (line) => {
        try {
          const j = JSON.parse(line) as { k: string; t: number; from?: string; addr?: string };
          if (j.k === 'echo' && j.from !== undefined) probes.push({ t: j.t, from: j.from });
          if (j.k === 'dns') {
            dnsAnswers.push({ t: j.t, addr: j.addr ?? '' });
            events.push({
              t: j.t,
              source: 'client',
              kind: 'resolved',
              detail: `${GEO_NAME} → ${j.addr ?? ''} (${nodeOf(j.addr ?? '')})`,
            });
          }
        } catch {
          /* not ours */
        }
      },
    );
    phase(`starting Vigil on ${lab.nodes.join(', ')}`);
    for (const n of lab.nodes) await boot(n);
    if (loss > 0) await setWan(lab, wan);

    phase(`waiting for ${GEO.a.node} to serve the client`);
    const servedBy = (node: string, sinceMs: number, forMs: number): boolean => {
      const now = nowMs();
      const recent = probes.filter((p) => p.t >= now - forMs);
      return now - sinceMs >= forMs && recent.length > 0 && recent.every((p) => p.from === node);
    };
    await waitUntil(120_000, `${GEO.a.node} serving the client`, () => servedBy(GEO.a.node, 0, 1500));
    // The standby too must be past its start (initdead), or a fault now measures initdead, not deadtime.
    await waitUntil(120_000, 'both nodes past their initial acquisition', () =>
      lab.nodes.every((n) => events.some((e) => e.source === n && e.kind === 'log_acquired')),
    );
    if (!dnsMode) {
      // Let BIRD settle every session (the standby's, both families) before the fault.
      await waitUntil(30_000, 'the four BGP sessions established', async () => (await routerSessionsUp(lab)) === 4);
    }

    const survivor = GEO.b.node;
    const primary = GEO.a.node;
    const afterHeal = witness ? survivor : primary;
    phase(`fault: ${o.fault} of ${primary}`);
    let t0: number;
    let recoverAt: number | undefined;
    switch (o.fault) {
      case 'poweroff':
        t0 = await geoPowerOff(lab, primary);
        break;
      case 'standby':
        t0 = nowMs();
        await driver.standby(lab, primary);
        break;
      case 'partition':
        wan.partitioned = true;
        t0 = await setWan(lab, wan);
        break;
    }
    events.push({ t: t0, source: 'lab', kind: 'fault', detail: `${o.fault} ${primary}` });
    const bound = 4 * o.deadtimeMs + 60_000 + (dnsMode ? 2 * ttl * 1000 : 0);
    phase(`waiting for ${survivor} to take over`);
    const takeover = (): LabEvent | undefined =>
      events.find(
        (e) => e.t >= t0 && e.source === survivor && (e.kind === 'log_takeover' || e.kind === 'log_acquired'),
      );
    await waitUntil(bound, `${survivor} to take over`, () => takeover() !== undefined);
    if (o.fault !== 'partition') {
      phase(`waiting for the client to reach ${survivor}`);
      await waitUntil(bound, `the client to reach ${survivor}`, () =>
        probes.some((p) => p.t > t0 && p.from === survivor),
      );
      await sleep(1500);
    } else {
      // With a witness, B takes over only once A's etcd lease has expired (TTL 5 s after A's last renewal): the
      // partition lasts past that, so that the result shows B serving, then the heal.
      await sleep(Math.max(o.partitionMs ?? 2 * o.deadtimeMs + 3000 + (witness ? QUORUM_TTL_MS + 3000 : 0), 1000));
      phase('healing the partition');
      wan.partitioned = false;
      recoverAt = await setWan(lab, wan);
      events.push({ t: recoverAt, source: 'lab', kind: 'recover', detail: 'heal the WAN' });
      // Without a witness both sites held the group: the heal resolves it for the preferred site (auto_failback).
      // With one, only site B held it at the heal, and it keeps it: the engine fails back when a node joins, not
      // when a partition heals, and site A released for the quorum, not for a peer.
      await waitUntil(bound, `the client on ${afterHeal} after the heal`, () =>
        servedBy(afterHeal, recoverAt!, 2000 + (dnsMode ? ttl * 1000 : 0)),
      );
    }
    const end = nowMs();

    // Measurements.
    const after = probes.filter((p) => p.t >= t0 - 1000 && p.t <= end);
    const lastBefore = [...probes].reverse().find((p) => p.t < t0);
    let prev = lastBefore?.t ?? t0;
    let longest = 0;
    for (const p of after.filter((x) => x.t >= t0)) {
      longest = Math.max(longest, p.t - prev);
      prev = p.t;
    }
    longest = Math.max(longest, end - prev);
    r.outage_ms = round(longest);
    const firstNew = probes.find((p) => p.t >= t0 && p.from === survivor);
    r.switch_ms = firstNew === undefined ? null : round(firstNew.t - t0);
    let cur = '';
    for (const p of after) {
      if (p.from !== cur) {
        r.answered_by.push(`${p.from} @ ${round(p.t - t0)} ms`);
        cur = p.from;
      }
    }
    const dead = events.find(
      (e) => e.t >= t0 && e.source === survivor && (e.kind === 'log_dead' || e.kind === 'log_takeover'),
    );
    r.detect_ms = dead === undefined ? null : round(dead.t - t0);
    const take = events.find((e) => e.t >= t0 && e.source === survivor && e.kind === 'log_takeover');
    r.takeover_ms = take === undefined ? null : round(take.t - t0);
    if (dnsMode) {
      const ack = events.find((e) => e.t >= t0 && e.source === survivor && e.kind === 'dns_ack');
      if (ack !== undefined) {
        const m = /acknowledged in ([\d.]+) ms, verified in ([\d.]+) ms/.exec(ack.detail);
        r.update_ack_ms = m === null ? null : Number(m[1]);
        r.update_verified_ms = m === null ? null : Number(m[2]);
        r.takeover_to_ack_ms = take === undefined ? null : round(ack.t - take.t);
        const seen = dnsAnswers.find((d) => d.t >= ack.t - 50 && d.addr === GEO.b.ip);
        r.resolver_switch_ms = seen === undefined ? null : round(Math.max(0, seen.t - ack.t));
        // A cache counts TTLs in whole seconds: a record fetched just after a second began lives up to TTL + 1 s.
        r.within_ttl = r.resolver_switch_ms === null ? false : r.resolver_switch_ms <= ttl * 1000 + 1000;
      }
      // What any client of the resolver now gets, asked the ordinary way.
      const dig = await lab.exec('client', 'dig', ['+short', '+time=2', '+tries=2', '@127.0.0.1', GEO_NAME, 'A']);
      const addr = dig.stdout.trim().split('\n').at(-1) ?? '';
      r.final_record = addr === '' ? null : `${addr} (${nodeOf(addr)})`;
    } else {
      const ann = events.find((e) => e.t >= t0 && e.source === survivor && e.kind === 'bgp_announce');
      const m = ann === undefined ? null : /address on \S+ in ([\d.]+) ms/.exec(ann.detail);
      r.announce_ms = m === null ? null : Number(m[1]);
      const route = events.find((e) => e.t >= t0 && e.kind === 'route_add' && e.detail.includes(`(${survivor})`));
      r.router_switch_ms = route === undefined ? null : round(route.t - t0);
      const routes = await routerVipRoutes(lab, vip).catch(() => []);
      r.final_route =
        routes.map((x) => `${nodeOf(x.via)} MED ${x.med ?? '-'}${x.best ? ' (best)' : ''}`).join(', ') || 'none';
    }
    if (o.fault === 'partition') {
      r.both_held_ms = round(bothHeld(events, t0, end, dnsMode));
      const rel = events.find(
        (e) => e.t >= t0 && e.t <= (recoverAt ?? end) && e.source === primary && e.kind === 'group_stop',
      );
      r.a_released_ms = rel === undefined ? null : round(rel.t - t0);
    }
    const tail = probes.filter((p) => p.t > end - 500);
    const sites = new Set(tail.map((p) => p.from));
    r.final_site = sites.size === 1 ? [...sites][0]! : sites.size === 0 ? null : [...sites].join('+');
    const want = o.fault === 'partition' ? afterHeal : survivor;
    r.converged = r.final_site === want;
    if (!r.converged) r.notes.push(`expected ${want} to serve the client at the end, saw ${r.final_site ?? 'nobody'}`);
    r.events = events
      .filter((e) => e.t >= t0 - 500)
      .sort((a, b) => a.t - b.t)
      .map((e) => ({ rel_ms: round(e.t - t0), source: e.source, kind: e.kind, detail: e.detail }));
    return r;
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
    r.events = events
      .sort((a, b) => a.t - b.t)
      .slice(-40)
      .map((x) => ({ rel_ms: 0, source: x.source, kind: x.kind, detail: x.detail }));
    return r;
  } finally {
    await prober?.stop().catch(() => undefined);
    for (const w of watchers) await w.stop().catch(() => undefined);
    for (const f of followers) await f.stop().catch(() => undefined);
    if (o.keep !== true) {
      phase('tearing the lab down');
      await lab.down();
    }
  }
}

/**
 * How long both nodes held the group at once between t0 and end, from their logs: a node holds from its
 * announcement to its withdrawal (bgp), or from the ResourceManager's start of the group to its stop (dns: a start
 * finding the record already right sends no update). Each node held the group at t0 if its last such event before
 * t0 was a start (the lab scenarios' dual-active count, on these events).
 */
export function bothHeld(events: readonly LabEvent[], t0: number, end: number, dnsMode: boolean): number {
  const [start, stop] = dnsMode ? ['group_start', 'group_stop'] : ['bgp_announce', 'bgp_withdraw'];
  const asVip = events
    .filter((e) => e.kind === start || e.kind === stop)
    .map((e) => ({ ...e, kind: e.kind === start ? 'vip_add' : 'vip_del' }));
  return dualActiveMs(asVip, new Set(), t0, end);
}

async function waitUntil(timeoutMs: number, what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  while (!(await cond())) {
    if (nowMs() > deadline)
      throw new VigilError('VIGIL_ERR_LAB', `timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
