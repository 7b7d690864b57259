/**
 * Scenarios: build a fresh lab, start the implementation on every node, wait until linux1 holds the VIP and the
 * client reaches it, inject one fault, observe until the cluster converges (or a bound expires), and report one
 * JSON result.
 */
import { readFile } from 'node:fs/promises';
import { VigilError } from '../src/util/errors.js';
import { driverFor } from './drivers/index.js';
import type { ClusterSpec, Impl } from './drivers/types.js';
import { groupMembers } from './drivers/common.js';
import { nowMs, runCmd, sleep } from './exec.js';
import * as faults from './faults.js';
import { auditLab, parseHaresources, vipLabels, type AuditResult } from './audit.js';
import { LogFollower, watchAddresses, watchNeighbour, type LabEvent, type LineProcess } from './monitor.js';
import { Prober } from './prober.js';
import { CLIENT_IP, IFACE, Lab, ROUTER_IP, ROUTER_IP6, VIP, VIP6, VIP6_CIDR, VIP_CIDR } from './topology.js';
import { etcdEndpoints, etcdLeader, killEtcdMember, startEtcdCluster, startEtcdMember } from './etcd.js';

/** The benchmark's classic matrix (`npm run bench`). */
export const SCENARIOS = ['kill', 'freeze', 'poweroff', 'partition', 'stop', 'failback', 'standby'] as const;
/** Added with the etcd quorum (bench/quorum.ts runs them; `vigil lab run` takes them all). */
export const QUORUM_SCENARIOS = [
  // The holder cut off from its peers and from etcd (the client still reaches it).
  'isolate',
  // etcd scenarios (--quorum): the leader member killed; two of three members killed, then back.
  'etcd-member',
  'etcd-quorum',
  // Every node stopped and started again, one after the other (--nodes 5: three groups with node lists).
  'rolling',
] as const;
export const ALL_SCENARIOS = [...SCENARIOS, ...QUORUM_SCENARIOS] as const;
export type ScenarioName = (typeof ALL_SCENARIOS)[number];

/**
 * Which addresses the group has: the tutorial's IPv4 VIP (`v4`), an IPv6 VIP alone on an IPv6-only cluster (`v6`:
 * mcast6 heartbeats, a ping6 node), or both in one group on the IPv4 heartbeats (`dual`).
 */
export const FAMILIES = ['v4', 'v6', 'dual'] as const;
export type Family = (typeof FAMILIES)[number];

export interface ScenarioOptions {
  impl: Impl;
  scenario: ScenarioName;
  keepaliveMs: number;
  deadtimeMs: number;
  nodes: number;
  prefix: string;
  autoFailback?: boolean;
  /** Live narration (the demo's status line). */
  onEvent?: (e: LabEvent, rel: number | undefined) => void;
  onPhase?: (phase: string) => void;
  /** Leave the lab up afterwards (for poking around). */
  keep?: boolean;
  /** Vigil only: `vigil_detector` in ha.cf. */
  vigilDetector?: 'deadtime' | 'adaptive';
  /** Vigil only: more ha.cf lines (`vigil_http 0.0.0.0:9100`). */
  vigilExtra?: readonly string[];
  /**
   * Runs alongside the measured part, e.g. a scraper: started on the settled cluster (the fault waits for the promise),
   * stopped at the end.
   */
  during?: (lab: Lab) => Promise<{ stop: () => Promise<void> }>;
  /** The group's addresses (default v4). */
  family?: Family;
  /** The IPv6 prober's interval (default PROBE6_INTERVAL_MS). */
  probe6Ms?: number;
  /** Vigil only: `vigil_quorum etcd` against a 3-member etcd cluster on three more lab hosts. */
  quorum?: boolean;
}

/** The etcd lease TTL the lab's quorum runs use (Vigil's default). */
export const LAB_QUORUM_TTL_MS = 5000;
/** The groups the rolling scenario adds after the VIP's (5 nodes): a VIP each, and where it may run. */
export const ROLLING_GROUPS = [
  { vip: '192.168.1.51', nodes: ['linux2', 'linux3', 'linux4'] },
  { vip: '192.168.1.52', nodes: ['linux3', 'linux5', 'linux1'] },
] as const;

/** One VIP's measurements (ScenarioResult.vips), ms. */
export interface VipResult {
  vip: string;
  family: 4 | 6;
  /** The client's probe interval for this VIP. */
  probe_ms: number;
  outage_ms: number | null;
  switch_gap_ms: number | null;
  failback_outage_ms: number | null;
  failback_switch_gap_ms: number | null;
  takeover_ms: number | null;
  dual_active_ms: number | null;
  dual_active_after_recover_ms: number | null;
  client_mac_ok: boolean;
  /**
   * The VIP added on the new holder → the client's neighbour entry names the new holder's MAC (`ip monitor neigh` in
   * the client), for the first move after the fault; for failback also the move back. null: never followed.
   */
  neigh_follow_ms: number | null;
  failback_neigh_follow_ms: number | null;
  /** The VIP added on the new holder → the first reply from it, as the client captured it (kernel timestamps). */
  first_reply_ms: number | null;
  failback_first_reply_ms: number | null;
  /**
   * The client's neighbour cache followed within one probe on every move measured: at most one of the client's probes
   * sent after the add went to the old MAC, i.e. the first reply from the new holder came within two probe intervals
   * (+1 ms) of the add. Judged on the capture, whose timestamps are the kernel's: `ip monitor`'s are taken when the
   * (normal-priority) `ip` process prints, tens of ms late on a loaded machine.
   */
  neigh_ok: boolean;
  probes_answered: number;
}

export interface TimelineEvent {
  /** ms relative to the fault (negative = before). */
  rel_ms: number;
  t: string;
  source: string;
  kind: string;
  detail: string;
}

/** An event as a result's timeline shows it, `relMs` after the reference point. */
export function timelineEvent(e: LabEvent, relMs: number): TimelineEvent {
  return { rel_ms: relMs, t: new Date(e.t).toISOString(), source: e.source, kind: e.kind, detail: e.detail };
}

export interface ScenarioResult {
  impl: Impl;
  scenario: ScenarioName;
  keepalive_ms: number;
  deadtime_ms: number;
  /** Longest gap in VIP replies seen by the client, from just before the fault to the end. */
  outage_ms: number | null;
  /** Fault → a survivor's log says it starts taking over. */
  detect_ms: number | null;
  /** Total time two or more hosts held the VIP. */
  dual_active_ms: number | null;
  holders_after: string[];
  /** The client's neighbour entry for the VIP ends on the MAC of the (single) holder. */
  client_mac_ok: boolean;
  /** Exactly one holder at the end, and the client's probes are answered by it. */
  converged: boolean;
  supported: boolean;
  nodes: number;
  /** Fault → the VIP is configured on a survivor. */
  takeover_ms: number | null;
  /** failback: the primary powered back on → the VIP is back on it; longest gap during that phase. */
  failback_ms: number | null;
  failback_outage_ms: number | null;
  /**
   * The switch itself: from the last reply of the old holder to the first reply of the new one (kernel capture
   * timestamps), for the first move after the fault and, for failback, the move back. Unlike `outage_ms` (the
   * longest gap anywhere in the window) it is not inflated by a stall of the machine elsewhere in the window.
   */
  switch_gap_ms: number | null;
  failback_switch_gap_ms: number | null;
  /** Distinct MACs that answered the client's probes after the fault, in order. */
  reply_macs: string[];
  probes_answered: number;
  fault_at: string | null;
  /** Labels of the VIP on the primary once it held it, before the fault (`ip -json addr`; IPaddr: `eth1:0`). */
  vip_labels_before: string[];
  /** Time two or more hosts held the VIP after the recovery step (restart, SIGCONT, heal, power-on). */
  dual_active_after_recover_ms: number | null;
  /** Heartbeat's CTS resource audit at the end: every haresources group on exactly one node, whole. */
  audit: AuditResult | null;
  /** Vigil with vigil_quorum etcd (a 3-member etcd in the lab). */
  quorum: boolean;
  /**
   * The "at most one holder" audit over every group's VIP (the one of the prober and the rolling scenario's others),
   * from the kernel's own address events on every node (`ip monitor`, exact, not sampled): total ms with two holders.
   */
  all_groups_dual_active_ms: number | null;
  /** The longest time any group's VIP was on no node at all, after the fault. */
  all_groups_max_unheld_ms: number | null;
  /** The group's addresses; the fields above are the first VIP's (IPv4 unless family v6), `vips` has each. */
  family: Family;
  vips: VipResult[];
  notes: string[];
  error: string | null;
  events: TimelineEvent[];
}

const SETTLE_MS = 1500;

/** How long the end state must hold, unchanged, to count as converged: 2 x deadtime, within [4 s, 20 s]. */
function stableMs(o: { deadtimeMs: number }): number {
  return Math.min(20_000, Math.max(4000, 2 * o.deadtimeMs));
}

function bounds(o: ScenarioOptions) {
  return {
    /** Startup: Heartbeat's nice_failback exchange alone can take 10 s when both nodes start together; scripts are slow. */
    initial: 120_000,
    takeover: 4 * o.deadtimeMs + 60_000,
    converge: 4 * o.deadtimeMs + 90_000,
  };
}

interface Holders {
  holders: string[];
}

async function vipHolders(lab: Lab, vip = VIP): Promise<Holders> {
  const holders: string[] = [];
  const family = vip.includes(':') ? '-6' : '-4';
  for (const n of lab.nodes) {
    const r = await runCmd('ip', ['-n', lab.netns(n), family, '-o', 'addr', 'show', 'dev', IFACE]);
    if (r.stdout.includes(` ${vip}/`)) holders.push(n);
  }
  return { holders };
}

/** Every extra group's VIP on exactly one node, the first of its list (auto_failback brings them home). */
async function waitGroups(lab: Lab, spec: ClusterSpec, timeoutMs: number): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    let ok = true;
    for (const g of spec.moreGroups ?? []) {
      const h = (await vipHolders(lab, g.vip)).holders;
      if (h.length !== 1 || h[0] !== g.nodes[0]) ok = false;
    }
    if (ok) return;
    if (nowMs() > deadline) throw new VigilError('VIGIL_ERR_LAB', `groups did not settle within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The longest stretch within [from, to] with the VIP on no node (from the address events). */
export function longestUnheld(
  events: readonly LabEvent[],
  initial: ReadonlySet<string>,
  from: number,
  to: number,
): number {
  let longest = 0;
  let run = 0;
  for (const seg of holderSegments(events, initial, from, to)) {
    run = seg.holders === 0 ? run + seg.ms : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

/** [from, to] cut where the VIP's holders change (address events, clamped into the window): how many held it. */
function holderSegments(
  events: readonly LabEvent[],
  initial: ReadonlySet<string>,
  from: number,
  to: number,
): { holders: number; ms: number }[] {
  const held = new Set(initial);
  const sorted = events.filter((e) => e.kind === 'vip_add' || e.kind === 'vip_del').sort((a, b) => a.t - b.t);
  const out: { holders: number; ms: number }[] = [];
  let last = from;
  for (const e of sorted) {
    const t = Math.min(Math.max(e.t, from), to);
    out.push({ holders: held.size, ms: t - last });
    last = t;
    if (e.kind === 'vip_add') held.add(e.source);
    else held.delete(e.source);
  }
  out.push({ holders: held.size, ms: to - last });
  return out;
}

export async function macOf(lab: Lab, host: string): Promise<string> {
  const r = await runCmd('ip', ['-n', lab.netns(host), '-j', 'link', 'show', 'dev', IFACE]);
  const j = JSON.parse(r.stdout || '[]') as { address?: string }[];
  return j[0]?.address ?? '';
}

async function clientNeighMac(lab: Lab, vip = VIP): Promise<string | undefined> {
  const r = await runCmd('ip', ['-n', lab.netns('client'), '-j', 'neigh', 'show', vip, 'dev', IFACE]);
  const j = JSON.parse(r.stdout || '[]') as { lladdr?: string; state?: string[] }[];
  return j[0]?.lladdr;
}

/** Last reply of the answering MAC before the first reply of another MAC after `from` → that reply (ms). */
export function switchGap(replies: readonly { t: number; mac: string }[], from: number): number | null {
  for (let i = 1; i < replies.length; i++) {
    const prev = replies[i - 1]!;
    const cur = replies[i]!;
    if (cur.t >= from && cur.mac !== prev.mac) return round(cur.t - prev.t);
  }
  return null;
}

/** Total time (ms) within [from, to] during which two or more nodes held the VIP, from the address events. */
export function dualActiveMs(
  events: readonly LabEvent[],
  initial: ReadonlySet<string>,
  from: number,
  to: number,
): number {
  let total = 0;
  for (const seg of holderSegments(events, initial, from, to)) if (seg.holders >= 2) total += seg.ms;
  return total;
}

/** A result with nothing measured yet: what a scenario fills in, and what the bench records for a trial that printed none. */
export function blankResult(
  impl: Impl,
  scenario: ScenarioName,
  keepaliveMs: number,
  deadtimeMs: number,
  nodes: number,
): ScenarioResult {
  return {
    impl,
    scenario,
    keepalive_ms: keepaliveMs,
    deadtime_ms: deadtimeMs,
    outage_ms: null,
    detect_ms: null,
    dual_active_ms: null,
    holders_after: [],
    client_mac_ok: false,
    converged: false,
    supported: true,
    nodes,
    takeover_ms: null,
    failback_ms: null,
    failback_outage_ms: null,
    switch_gap_ms: null,
    failback_switch_gap_ms: null,
    reply_macs: [],
    probes_answered: 0,
    fault_at: null,
    vip_labels_before: [],
    dual_active_after_recover_ms: null,
    audit: null,
    quorum: false,
    all_groups_dual_active_ms: null,
    all_groups_max_unheld_ms: null,
    family: 'v4',
    vips: [],
    notes: [],
    error: null,
    events: [],
  };
}

/** The tutorial cluster (linux1 preferred, the lab's VIP on eth1, the router as ping node) at the given timing. */
export function tutorialSpec(
  nodes: number,
  keepaliveMs: number,
  deadtimeMs: number,
  autoFailback: boolean,
  vigilDetector: ClusterSpec['vigilDetector'],
  family: Family = 'v4',
): ClusterSpec {
  return {
    ...(family === 'v4' ? {} : { ipv6: { vip: VIP6, cidr: VIP6_CIDR, only: family === 'v6', pingIp: ROUTER_IP6 } }),
    nodes: Array.from({ length: nodes }, (_, i) => `linux${i + 1}`),
    primary: 'linux1',
    vip: VIP,
    cidr: VIP_CIDR,
    iface: IFACE,
    keepaliveMs,
    deadtimeMs,
    autoFailback,
    pingIp: ROUTER_IP,
    authKey: 'MaClefSecrete',
    ...(vigilDetector !== undefined ? { vigilDetector } : {}),
  };
}

/** One VIP the scenario follows: its address events on every node, the client's neighbour entry, its prober. */
interface Tracked {
  readonly vip: string;
  readonly family: 4 | 6;
  readonly prober: Prober;
  readonly addrEvents: LabEvent[];
  readonly neigh: LabEvent[];
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const driver = driverFor(o.impl);
  const family = o.family ?? 'v4';
  const quorum = o.quorum === true;
  const base = tutorialSpec(o.nodes, o.keepaliveMs, o.deadtimeMs, o.autoFailback ?? true, o.vigilDetector, family);
  const rolling = o.scenario === 'rolling';
  let spec: ClusterSpec = {
    ...base,
    ...(o.vigilExtra === undefined ? {} : { vigilExtra: o.vigilExtra }),
    ...(rolling ? { moreGroups: ROLLING_GROUPS.map((g) => ({ vip: g.vip, nodes: [...g.nodes] })) } : {}),
  };
  const result = blankResult(o.impl, o.scenario, o.keepaliveMs, o.deadtimeMs, o.nodes);
  result.family = family;
  result.quorum = quorum;
  result.notes.push(...driver.notes(spec));
  if (quorum && o.impl !== 'vigil') throw new VigilError('VIGIL_ERR_USAGE', '--quorum is Vigil only');
  if (rolling && o.nodes < 5) throw new VigilError('VIGIL_ERR_USAGE', 'rolling needs --nodes 5 or more');
  if ((o.scenario === 'etcd-member' || o.scenario === 'etcd-quorum') && !quorum) {
    result.supported = false;
    result.notes.push(`${o.scenario} needs --quorum (Vigil with etcd)`);
    return result;
  }
  if (o.scenario === 'standby' && !driver.supportsStandby) {
    result.supported = false;
    result.notes.push(`${o.impl} has no planned switchover (standby): scenario unsupported`);
    return result;
  }
  await driver.checkAvailable();
  if (o.deadtimeMs <= 2 * o.keepaliveMs && o.impl !== 'keepalived') {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `deadtime (${o.deadtimeMs} ms) must be more than twice keepalive (${o.keepaliveMs} ms)`,
    );
  }

  const phase = (p: string): void => o.onPhase?.(p);
  phase(`building the lab (${o.nodes} nodes${quorum ? ', 3 etcd members' : ''})`);
  const lab = await Lab.up({ prefix: o.prefix, nodes: o.nodes, etcd: quorum ? 3 : 0 });
  lab.state.impl = o.impl;
  await lab.saveState();
  const events: LabEvent[] = [];
  let t0: number | undefined;
  const push = (e: LabEvent): void => {
    events.push(e);
    o.onEvent?.(e, t0 === undefined ? undefined : e.t - t0);
  };
  const watchers: LineProcess[] = [];
  const followers: LogFollower[] = [];
  const vips: { vip: string; family: 4 | 6 }[] = [
    ...(family === 'v6' ? [] : [{ vip: VIP, family: 4 as const }]),
    ...(family === 'v4' ? [] : [{ vip: VIP6, family: 6 as const }]),
  ];
  const tracked: Tracked[] = vips.map((v) => ({
    ...v,
    prober: new Prober(lab.netns('client'), IFACE, v.vip, v.family === 6 ? o.probe6Ms : undefined),
    addrEvents: [],
    neigh: [],
  }));
  const main = tracked[0]!;
  const prober = main.prober;
  const addrEvents = main.addrEvents;
  const probers = tracked.map((x) => x.prober);
  const b = bounds(o);
  const bg: Promise<unknown>[] = [];
  let alongside: { stop: () => Promise<void> } | undefined;
  try {
    if (quorum) {
      phase('starting etcd on etcd1, etcd2, etcd3');
      await startEtcdCluster(lab, lab.nodes[0] ?? 'linux1');
      spec = { ...spec, vigilQuorum: { endpoints: etcdEndpoints(lab), prefix: `/vigil/${o.prefix}` } };
      result.notes.push(...driver.notes(spec).map((n) => `with etcd: ${n}`));
    }
    await driver.configure(lab, spec);
    // The "at most one holder" audit covers every group's VIP: the tracked ones' events and the other groups' own.
    const moreVips = (spec.moreGroups ?? []).map((g) => g.vip);
    const groupEvents = new Map<string, LabEvent[]>([
      ...tracked.map((x): [string, LabEvent[]] => [x.vip, x.addrEvents]),
      ...moreVips.map((v): [string, LabEvent[]] => [v, []]),
    ]);
    for (const n of lab.nodes) {
      for (const v of moreVips) {
        watchers.push(
          watchAddresses(lab.netns(n), n, IFACE, v, (e) => {
            groupEvents.get(v)?.push(e);
          }),
        );
      }
      for (const x of tracked) {
        watchers.push(
          watchAddresses(lab.netns(n), n, IFACE, x.vip, (e) => {
            x.addrEvents.push(e);
            // The second VIP's events join the timeline, named, but the "VIP moved" activity is the first's.
            push(x === main ? e : { ...e, kind: `${e.kind}6`, detail: e.detail });
          }),
        );
      }
      const f = new LogFollower(lab.hostPath(n, driver.logPath), (line, t) => {
        const kind = driver.classify(line);
        if (kind !== undefined) push({ t, source: n, kind: `log_${kind}`, detail: line });
      });
      await f.start();
      followers.push(f);
    }
    for (const x of tracked) {
      watchers.push(
        watchNeighbour(lab.netns('client'), x.vip, (e) => {
          x.neigh.push(e);
        }),
      );
      await x.prober.start();
    }
    const macs = new Map<string, string>();
    for (const n of lab.nodes) macs.set(await macOf(lab, n), n);

    phase(`starting ${o.impl} on ${lab.nodes.join(', ')}`);
    for (const n of lab.nodes) await driver.start(lab, n);
    phase(`waiting for ${spec.primary} to hold ${vips.map((v) => v.vip).join(' and ')} and the client to reach it`);
    await waitConverged(lab, probers, macs, b.initial, spec.primary, { stableMs: SETTLE_MS, events });
    if (rolling) await waitGroups(lab, spec, b.initial);

    const initialHolders = new Map<Tracked, Set<string>>();
    for (const x of tracked) initialHolders.set(x, new Set((await vipHolders(lab, x.vip)).holders));
    const initialGroupHolders = new Map<string, Set<string>>();
    for (const v of groupEvents.keys()) initialGroupHolders.set(v, new Set((await vipHolders(lab, v)).holders));
    alongside = await o.during?.(lab);
    result.vip_labels_before = await vipLabels(lab, spec.primary, main.vip);
    const measureFrom = nowMs();
    const survivors = lab.nodes.filter((n) => n !== spec.primary);
    const takeoverSeen = (): LabEvent | undefined =>
      addrEvents.find((e) => t0 !== undefined && e.t >= t0 && e.kind === 'vip_add' && survivors.includes(e.source));
    const waitTakeover = async (): Promise<void> => {
      const deadline = nowMs() + b.takeover;
      while (takeoverSeen() === undefined && nowMs() < deadline) await sleep(20);
    };
    const mark = (kind: string, detail: string, t = nowMs()): void => {
      push({ t, source: 'lab', kind, detail });
    };

    const faultText: Record<ScenarioName, string> = {
      kill: `kill -9 ${o.impl} on ${spec.primary}`,
      freeze: `freeze ${o.impl} on ${spec.primary}`,
      poweroff: `power off ${spec.primary}`,
      partition: `partition ${spec.primary} from the other nodes`,
      stop: `graceful stop of ${o.impl} on ${spec.primary}`,
      failback: `power off ${spec.primary} (it comes back later)`,
      standby: `standby on ${spec.primary}`,
      isolate: `cut ${spec.primary} off from the other nodes${quorum ? ' and from etcd' : ''}`,
      'etcd-member': 'kill -9 the etcd leader',
      'etcd-quorum': 'kill -9 two of the three etcd members',
      rolling: `stop and start ${o.impl} on every node, one after the other`,
    };
    phase(`fault: ${faultText[o.scenario]}`);
    let recoverAt: number | undefined;
    switch (o.scenario) {
      case 'kill':
        t0 = await faults.killDaemon(lab, driver, spec.primary);
        mark('fault', `kill -9 ${o.impl} on ${spec.primary}`, t0);
        await waitTakeover();
        await sleep(SETTLE_MS);
        // A killed daemon leaves its VIP configured; a supervisor (or the admin) restarts it, and the cluster
        // must sort the duplicate out. That is the recovery we measure convergence for.
        phase(`restarting ${o.impl} on ${spec.primary}`);
        recoverAt = await faults.startDaemon(lab, driver, spec.primary);
        mark('recover', `${o.impl} restarted on ${spec.primary}`, recoverAt);
        break;
      case 'freeze': {
        const freezeMs = Math.max(
          o.deadtimeMs + Math.max(3000, 4 * o.keepaliveMs) + (o.impl === 'keepalived' ? 3 * o.keepaliveMs : 0),
          // Past the etcd lease: the frozen holder's VIP must go by the kernel alone, before the key does.
          quorum ? LAB_QUORUM_TTL_MS + 3000 : 0,
        );
        const f = await faults.freezeDaemon(lab, driver, spec.primary, freezeMs);
        t0 = f.t;
        mark('fault', `SIGSTOP ${o.impl} on ${spec.primary} for ${freezeMs} ms`, t0);
        bg.push(
          f.resumed.then((t) => {
            recoverAt = t;
            mark('recover', `SIGCONT ${o.impl} on ${spec.primary}`, t);
          }),
        );
        await waitTakeover();
        await f.resumed;
        break;
      }
      case 'poweroff':
        t0 = await faults.powerOff(lab, spec.primary);
        mark('fault', `power off ${spec.primary}`, t0);
        await waitTakeover();
        break;
      case 'partition':
      case 'isolate':
        t0 = await (o.scenario === 'partition'
          ? faults.partition(lab, spec.primary)
          : faults.isolate(lab, spec.primary));
        mark('fault', faultText[o.scenario], t0);
        // With etcd a partition where the holder still reaches etcd moves nothing: watch the whole window.
        if (!quorum || o.scenario === 'isolate') await waitTakeover();
        await sleep(SETTLE_MS + 2 * o.deadtimeMs + (quorum ? LAB_QUORUM_TTL_MS + 2000 : 0));
        recoverAt = await faults.heal(lab);
        mark('recover', 'heal the partition', recoverAt);
        break;
      case 'etcd-member': {
        const leader = (await etcdLeader(lab, spec.primary)) ?? lab.etcdHosts[0] ?? 'etcd1';
        t0 = await killEtcdMember(lab, leader);
        mark('fault', `kill -9 etcd on ${leader} (the leader)`, t0);
        // Several renewals and an election: nothing may move.
        await sleep(3 * LAB_QUORUM_TTL_MS);
        recoverAt = await startEtcdMember(lab, leader);
        mark('recover', `etcd restarted on ${leader}`, recoverAt);
        break;
      }
      case 'etcd-quorum': {
        const [a, b2] = lab.etcdHosts;
        if (a === undefined || b2 === undefined) throw new VigilError('VIGIL_ERR_LAB', 'no etcd members');
        t0 = nowMs();
        await Promise.all([killEtcdMember(lab, a), killEtcdMember(lab, b2)]);
        mark('fault', `kill -9 etcd on ${a} and ${b2}: no quorum`, t0);
        // The holder gives its group up before its lease could expire; then nothing is acquired.
        await sleep(2 * LAB_QUORUM_TTL_MS);
        recoverAt = nowMs();
        await Promise.all([startEtcdMember(lab, a), startEtcdMember(lab, b2)]);
        mark('recover', `etcd restarted on ${a} and ${b2}`, recoverAt);
        break;
      }
      case 'rolling': {
        t0 = nowMs();
        mark('fault', faultText.rolling, t0);
        for (const n of lab.nodes) {
          phase(`rolling: ${n}`);
          await faults.stopDaemon(lab, driver, n);
          mark('step', `${o.impl} stopped on ${n}`);
          await sleep(1000);
          await faults.startDaemon(lab, driver, n);
          mark('step', `${o.impl} started on ${n}`);
          await waitGroups(lab, spec, b.converge);
        }
        recoverAt = nowMs();
        break;
      }
      case 'stop':
        t0 = nowMs();
        mark('fault', `graceful stop of ${o.impl} on ${spec.primary}`, t0);
        await faults.stopDaemon(lab, driver, spec.primary);
        await waitTakeover();
        break;
      case 'failback':
        t0 = await faults.powerOff(lab, spec.primary);
        mark('fault', `power off ${spec.primary}`, t0);
        await waitTakeover();
        await waitConverged(lab, probers, macs, b.converge, undefined, { stableMs: stableMs(o), events }).catch(
          () => undefined,
        );
        phase(`power on ${spec.primary}`);
        recoverAt = await faults.powerOn(lab, spec.primary, driver);
        mark('recover', `power on ${spec.primary} (${o.impl} starts at boot)`, recoverAt);
        break;
      case 'standby':
        t0 = nowMs();
        mark('fault', `standby (planned switchover) on ${spec.primary}`, t0);
        await driver.standby(lab, spec.primary);
        await waitTakeover();
        break;
    }

    phase('waiting for the cluster to converge');
    const want =
      o.scenario === 'failback' || o.scenario === 'etcd-quorum' || o.scenario === 'rolling' ? spec.primary : undefined;
    const conv = await waitConverged(lab, probers, macs, b.converge, want, {
      notBefore: recoverAt,
      stableMs: stableMs(o),
      events,
    }).catch(() => undefined);
    if (conv === undefined) result.notes.push(`did not converge within ${b.converge} ms`);
    await Promise.all(bg);

    const end = nowMs();
    // keepalived has no haresources: its one group is the VIP(s).
    const groups = await readFile(lab.hostPath(spec.primary, '/etc/ha.d/haresources'), 'utf8').then(
      (text) => parseHaresources(text),
      () => [{ node: spec.primary, members: groupMembers(spec) }],
    );
    result.audit = await auditLab(lab, groups);
    const fault = t0;
    for (const x of tracked) {
      const v = await vipResult(lab, x, {
        t0: fault,
        end,
        measureFrom,
        recoverAt,
        survivors,
        primary: spec.primary,
        initialHolders: initialHolders.get(x) ?? new Set(),
        poweredOff: o.scenario === 'poweroff' || o.scenario === 'failback',
        failback: o.scenario === 'failback',
      });
      result.vips.push(v);
    }
    const final = await vipHolders(lab, main.vip);
    result.holders_after = final.holders;
    const holderMac = final.holders.length === 1 ? await macOf(lab, final.holders[0]!) : undefined;
    const first = result.vips[0]!;
    result.client_mac_ok = result.vips.every((v) => v.client_mac_ok);
    const recent = probers.map((p) => p.recentMacs(end, 500));
    result.converged =
      holderMac !== undefined &&
      recent.every((r) => r.size === 1 && r.has(holderMac)) &&
      result.vips.every((v) => v.client_mac_ok);

    for (const p of probers) await p.stop();
    result.outage_ms = first.outage_ms;
    result.takeover_ms = first.takeover_ms;
    const detect = events.find((e) => e.t >= fault && survivors.includes(e.source) && e.kind === 'log_takeover');
    const dead = events.find((e) => e.t >= fault && survivors.includes(e.source) && e.kind === 'log_dead');
    const firstLog = detect ?? dead;
    result.detect_ms = firstLog === undefined ? null : round(firstLog.t - fault);
    result.dual_active_ms = first.dual_active_ms;
    result.dual_active_after_recover_ms = first.dual_active_after_recover_ms;
    result.failback_outage_ms = first.failback_outage_ms;
    result.switch_gap_ms = first.switch_gap_ms;
    result.failback_switch_gap_ms = first.failback_switch_gap_ms;
    let dualAll = 0;
    let unheld = 0;
    for (const [v, ev] of groupEvents) {
      const init = initialGroupHolders.get(v) ?? new Set<string>();
      // As in vipResult: a powered-off node holds nothing from the moment its port goes down.
      const off: LabEvent[] =
        (o.scenario === 'poweroff' || o.scenario === 'failback') && init.has(spec.primary)
          ? [{ t: fault, source: spec.primary, kind: 'vip_del', detail: 'powered off' }]
          : [];
      dualAll += dualActiveMs([...off, ...ev], init, measureFrom, end);
      unheld = Math.max(unheld, longestUnheld([...off, ...ev], init, measureFrom, end));
    }
    result.all_groups_dual_active_ms = round(dualAll);
    result.all_groups_max_unheld_ms = round(unheld);
    if (o.scenario === 'failback' && recoverAt !== undefined) {
      const back = addrEvents.find((e) => e.t >= recoverAt! && e.kind === 'vip_add' && e.source === spec.primary);
      result.failback_ms = back === undefined ? null : round(back.t - recoverAt);
    }
    const macChanges = prober.macChanges(fault, end);
    result.reply_macs = macChanges.map((e) => `${e.detail} (${macs.get(e.detail) ?? '?'})`);
    result.probes_answered = first.probes_answered;
    result.fault_at = new Date(fault).toISOString();

    const named = (mac: string): string => `${mac} (${macs.get(mac) ?? '?'})`;
    const all: LabEvent[] = [...events];
    for (const x of tracked) {
      const tag = x === main ? '' : '6';
      all.push(
        ...x.neigh.map((e) => ({
          ...e,
          kind: `${e.kind}${tag}`,
          detail: `${e.detail}${macs.has(e.detail.split(' ')[0]!) ? ` (${macs.get(e.detail.split(' ')[0]!)!})` : ''}`,
        })),
        ...x.prober.arp.map((e) => ({
          ...e,
          kind: `${e.kind}${tag}`,
          detail: `${named(e.detail.split(' ')[0]!)} ${x.family === 6 ? 'neighbour advertisement' : 'gratuitous ARP'}`,
        })),
        ...x.prober.macChanges(fault, end).map((e) => ({ ...e, kind: `${e.kind}${tag}`, detail: named(e.detail) })),
        ...x.prober.gaps(measureFrom, end, 50).map((g) => ({
          t: g.from,
          source: 'client',
          kind: `gap${tag}`,
          detail: `${round(g.ms)} ms without replies${x === main ? '' : ` from ${x.vip}`}`,
        })),
      );
    }
    all.sort((a2, b2) => a2.t - b2.t);
    result.events = all.filter((e) => e.t >= measureFrom - 1000).map((e) => timelineEvent(e, round(e.t - fault)));
    return result;
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    if (o.keep !== true) {
      const hb = await readFile(lab.hostPath('linux1', driver.logPath), 'utf8').catch(() => '');
      if (hb !== '') result.notes.push(`linux1 log tail: ${hb.split('\n').slice(-8).join(' | ')}`);
    }
    return result;
  } finally {
    await alongside?.stop().catch(() => undefined);
    for (const p of probers) await p.stop().catch(() => undefined);
    for (const w of watchers) await w.stop();
    for (const f of followers) await f.stop();
    await Promise.allSettled(bg);
    if (o.keep !== true) {
      phase('tearing the lab down');
      await lab.down();
    }
  }
}

/**
 * The measurements of one VIP: client gaps and switch gaps, dual-active time from its address events, and how fast
 * the client's neighbour cache followed each move (from the client's own `ip monitor neigh` and capture).
 */
async function vipResult(
  lab: Lab,
  x: Tracked,
  c: {
    t0: number;
    end: number;
    measureFrom: number;
    recoverAt: number | undefined;
    survivors: readonly string[];
    primary: string;
    initialHolders: ReadonlySet<string>;
    poweredOff: boolean;
    failback: boolean;
  },
): Promise<VipResult> {
  const { t0, end, measureFrom, recoverAt } = c;
  const p = x.prober;
  const gap = p.longestGap(measureFrom, end);
  const take = x.addrEvents.find((e) => e.t >= t0 && e.kind === 'vip_add' && c.survivors.includes(e.source));
  // A powered-off node holds nothing from the moment its port goes down; the lab's `ip addr flush` in its dead
  // namespace comes tens of ms later and must not count as two holders when the survivor is faster than that.
  const offAt: LabEvent[] = c.poweredOff ? [{ t: t0, source: c.primary, kind: 'vip_del', detail: 'powered off' }] : [];
  const back =
    recoverAt === undefined
      ? undefined
      : x.addrEvents.find((e) => e.t >= recoverAt && e.kind === 'vip_add' && e.source === c.primary);
  const macs = new Map<string, string>();
  for (const n of lab.nodes) macs.set(n, await macOf(lab, n));
  // The two monitors stamp a line when `ip` prints it, not when the kernel made the change: the client's entry can
  // be stamped a millisecond before the add that caused it. Nothing announces the new holder before its add, so the
  // first change to its MAC after `since` (the fault, the power-on) is the one, and a negative lag counts as 0.
  const follow = (add: LabEvent | undefined, since: number): { neigh: number | null; reply: number | null } => {
    if (add === undefined) return { neigh: null, reply: null };
    const mac = macs.get(add.source) ?? '';
    const n = x.neigh.find((e) => e.t >= since && e.detail.startsWith(`${mac} `));
    const r = p.between(add.t, end).find((rep) => rep.mac === mac);
    return {
      neigh: n === undefined ? null : round(Math.max(0, n.t - add.t)),
      reply: r === undefined ? null : round(r.t - add.t),
    };
  };
  const away = follow(take, t0);
  const home = c.failback && recoverAt !== undefined ? follow(back, recoverAt) : { neigh: null, reply: null };
  const within = (ms: number | null): boolean => ms !== null && ms <= 2 * p.intervalMs + 1;
  const holders = (await vipHolders(lab, x.vip)).holders;
  const holderMac = holders.length === 1 ? macs.get(holders[0]!) : undefined;
  const failbackGap = c.failback && recoverAt !== undefined ? p.longestGap(recoverAt, end) : undefined;
  return {
    vip: x.vip,
    family: x.family,
    probe_ms: p.intervalMs,
    outage_ms: gap === undefined ? null : round(gap.ms),
    switch_gap_ms: switchGap(p.between(measureFrom, end), t0),
    failback_outage_ms: failbackGap === undefined ? null : round(failbackGap.ms),
    failback_switch_gap_ms:
      c.failback && recoverAt !== undefined ? switchGap(p.between(recoverAt, end), recoverAt) : null,
    takeover_ms: take === undefined ? null : round(take.t - t0),
    dual_active_ms: round(dualActiveMs([...offAt, ...x.addrEvents], c.initialHolders, measureFrom, end)),
    dual_active_after_recover_ms:
      recoverAt === undefined ? null : round(dualActiveMs(x.addrEvents, c.initialHolders, recoverAt, end)),
    client_mac_ok: holderMac !== undefined && (await clientNeighMac(lab, x.vip)) === holderMac,
    neigh_follow_ms: away.neigh,
    failback_neigh_follow_ms: home.neigh,
    first_reply_ms: away.reply,
    failback_first_reply_ms: home.reply,
    neigh_ok: take !== undefined && within(away.reply) && (!c.failback || back === undefined || within(home.reply)),
    probes_answered: p.between(measureFrom, end).length,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Kinds of events that mean the cluster is still moving the VIP around. */
const ACTIVITY = new Set([
  'vip_add',
  'vip_del',
  'vip_add6',
  'vip_del6',
  'log_dead',
  'log_takeover',
  'log_acquired',
  'log_release',
  'log_released',
  'log_partition',
]);

/**
 * Converged = exactly one node holds the VIP (the wanted one if given), the client's probes of the last 300 ms are
 * all answered by that node's MAC, the client's neighbour entry points at it, and all of that has held, with no VIP
 * change and no takeover/release log line anywhere, for `stableMs` (Heartbeat, after a partition heals, releases
 * on one side first and on the other seconds later: one holder for a moment is not convergence).
 */
export async function waitConverged(
  lab: Lab,
  prober: Prober | readonly Prober[],
  macs: Map<string, string>,
  timeoutMs: number,
  want: string | undefined,
  opts: { notBefore?: number; stableMs: number; events: readonly LabEvent[] },
): Promise<string> {
  const probers = Array.isArray(prober) ? (prober as readonly Prober[]) : [prober as Prober];
  const deadline = nowMs() + timeoutMs;
  let okSince: number | undefined;
  for (;;) {
    const now = nowMs();
    let holder: string | undefined;
    if (opts.notBefore === undefined || now > opts.notBefore) {
      // Every VIP of the group on one node, each answering the client from it.
      const seen = new Set<string>();
      let ok = true;
      for (const p of probers) {
        const { holders } = await vipHolders(lab, p.vip);
        const h = holders[0];
        if (holders.length !== 1 || h === undefined || (want !== undefined && h !== want)) {
          ok = false;
          break;
        }
        const recent = p.recentMacs(nowMs(), 300);
        const neigh = await clientNeighMac(lab, p.vip);
        if (!(recent.size === 1 && neigh !== undefined && macs.get(neigh) === h && recent.has(neigh))) {
          ok = false;
          break;
        }
        seen.add(h);
      }
      if (ok && seen.size === 1) holder = [...seen][0];
    }
    if (holder === undefined) okSince = undefined;
    else {
      okSince ??= now;
      let last = okSince;
      for (const e of opts.events) if (ACTIVITY.has(e.kind) && e.t > last) last = e.t;
      if (nowMs() - last >= opts.stableMs) return holder;
    }
    if (nowMs() > deadline) throw new VigilError('VIGIL_ERR_LAB', `cluster did not converge within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export { CLIENT_IP };
