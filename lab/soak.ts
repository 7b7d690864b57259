/**
 * False-failover soak (issue 7): a healthy two-node cluster left running for a while, optionally with CPU burners
 * inside the node namespaces and periodic short freezes (SIGSTOP/SIGCONT) of the standby's daemon. Nothing should
 * move: every VIP acquisition, every moment with two holders or with the VIP off the preferred node, every "peer
 * is dead" line and every long gap the client sees is counted. The same run samples each daemon's memory and CPU
 * from /proc (the idle measurement is a soak with no burner and no freeze).
 *
 * With `quorum` (issue 19), Vigil runs with vigil_quorum etcd against a real 3-member etcd 3.4 on three more lab
 * hosts, and one member after the other is killed (-9) and restarted, once a period: nothing may move either, and
 * the result adds the restarts, the etcd elections, the lease keep-alives' round trips (the daemons' /metrics and
 * their slow-renewal log lines) and every release etcd forced.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { VigilError, errorMessage } from '../src/util/errors.js';
import { driverFor } from './drivers/index.js';
import type { Driver, Impl } from './drivers/types.js';
import { nowMs, runCmd, sleep } from './exec.js';
import * as faults from './faults.js';
import { LogFollower, watchAddresses, type LabEvent, type LineProcess } from './monitor.js';
import { Prober } from './prober.js';
import { dualActiveMs, timelineEvent, tutorialSpec, type TimelineEvent } from './scenario.js';
import { etcdEndpoints, etcdPids, etcdStatus, killEtcdMember, startEtcdCluster, startEtcdMember } from './etcd.js';
import { IFACE, Lab, VIP } from './topology.js';

export interface SoakOptions {
  impl: Impl;
  keepaliveMs: number;
  deadtimeMs: number;
  prefix: string;
  /** How long the healthy cluster is watched, once it has settled. */
  durationMs: number;
  /**
   * How long the settled cluster runs before the window opens (default 0). For an idle measurement: a JIT runtime
   * spends its first minute compiling and sizing its heap, which is start-up, not idle.
   */
  warmupMs?: number;
  /** Busy-loop processes started in each node's namespaces (normal priority); 0 = none. */
  burnersPerNode: number;
  /** Period of the standby freezes; 0 = no freeze. */
  freezeEveryMs: number;
  freezeMs: number;
  /** Client gaps longer than this count as outages. */
  gapThresholdMs: number;
  /** /proc sampling period of the daemons' memory and CPU. */
  sampleEveryMs?: number;
  onPhase?: (phase: string) => void;
  /** Vigil only: `vigil_detector` in ha.cf. */
  vigilDetector?: 'deadtime' | 'adaptive';
  /** Vigil only: vigil_quorum etcd, one etcd member killed every `restartEveryMs` in turn, restarted `downMs` later. */
  quorum?: { restartEveryMs: number; downMs: number };
}

/** What the quorum soak adds (SoakResult.quorum). */
export interface QuorumSoak {
  restart_every_ms: number;
  down_ms: number;
  /** etcd members killed (-9) and restarted, round robin; how many of them led the cluster when killed. */
  restarts: number;
  leader_kills: number;
  /** Raft terms etcd went through in the window (each is one election, won or not), and the leaders seen in turn. */
  elections: number | null;
  leaders: string[];
  /** Lease keep-alives of every node, by result (the daemons' vigil_quorum_renewals_total). */
  renewals: Record<string, number>;
  /** The slowest keep-alive that renewed, as the upper bound of its vigil_quorum_renewal_seconds bucket (ms). */
  renewal_max_bucket_ms: number | null;
  /** The median's and p99's bucket bounds (ms). */
  renewal_p50_bucket_ms: number | null;
  renewal_p99_bucket_ms: number | null;
  /** Each keep-alive slower than 500 ms, exactly (the daemons' "renewing the lease of ... took N ms" lines). */
  slow_renewals_ms: number[];
  /** Groups released because etcd could not renew their lease (or said it was gone), any node. */
  quorum_releases: number;
  /** VIPs the kernel dropped when their lifetime ran out (the etcd lease could not be renewed, or a stall). */
  vip_expiries: number;
  /** "etcd unreachable" lines of the engines (no takeover possible meanwhile; not a move). */
  unreachable: number;
}

/** One node's daemon (all its processes) over the measurement window. */
export interface ProcUsage {
  host: string;
  /** Most processes of the daemon (with its children: pingers, scripts) seen at once. */
  processes: number;
  /** Sum of VmRSS over the daemon's processes: max and mean over the samples (kB). */
  rss_kb_max: number;
  rss_kb_mean: number;
  /** Sum of Pss (smaps_rollup: shared pages split between processes), max over the samples (kB). */
  pss_kb_max: number | null;
  /** utime + stime consumed within the window (ms). */
  cpu_ms: number;
  /** cpu_ms over the window, in percent of one core. */
  cpu_pct: number;
}

export interface SoakResult {
  mode: 'soak' | 'idle';
  impl: Impl;
  keepalive_ms: number;
  deadtime_ms: number;
  duration_ms: number;
  /** The window actually observed (shorter when interrupted by an error). */
  measured_ms: number;
  /** Time the settled cluster ran before the window opened (absent in results older than the option). */
  warmup_ms?: number;
  burners_per_node: number;
  freeze_every_ms: number;
  freeze_ms: number;
  freezes: number;
  gap_threshold_ms: number;
  /** Headline: VIP acquisitions (an address added on any node) in a cluster where nothing should move. */
  spurious_takeovers: number;
  /** Time the VIP was configured on a node other than the preferred one. */
  standby_held_ms: number;
  dual_active_ms: number;
  dual_active_episodes: number;
  /** Log lines declaring a peer dead (Heartbeat/Vigil "is dead", keepalived advert timeout), any node. */
  dead_declarations: number;
  /** The same per node that wrote them. When a freeze outlasts the deadtime, the VIP holder declaring the frozen
   *  standby dead is right; the standby declaring the holder dead is the false alarm. */
  dead_by_node: Record<string, number>;
  /** Log lines starting a takeover, any node. */
  takeover_lines: number;
  gaps_over_threshold: number;
  gaps_over_100ms: number;
  longest_gap_ms: number | null;
  probes_answered: number;
  holders_after: string[];
  /** Exactly the preferred node holds the VIP at the end. */
  intact_at_end: boolean;
  resources: ProcUsage[];
  loadavg_1m: { min: number; mean: number; max: number } | null;
  started_at: string;
  notes: string[];
  error: string | null;
  /** VIP changes, classified log lines, freezes and gaps over the threshold (ms relative to the window start). */
  events: TimelineEvent[];
  /** Only with `quorum`. */
  quorum?: QuorumSoak;
}

const SETTLE_MS = 1500;
const MAX_EVENTS = 400;
/** vigil_http of the quorum soak's daemons, on each node's loopback. */
const METRICS_PORT = 9100;
const CLIENT_NICE = -10;

/** Nodes that have the VIP on eth1 right now (the lab's own view, from `ip addr` in each namespace). */
export async function vipHolders(lab: Lab): Promise<string[]> {
  const out: string[] = [];
  for (const n of lab.nodes) {
    const r = await runCmd('ip', ['-n', lab.netns(n), '-4', '-o', 'addr', 'show', 'dev', IFACE]);
    if (r.stdout.includes(` ${VIP}/`)) out.push(n);
  }
  return out;
}

async function macOf(lab: Lab, host: string): Promise<string> {
  const r = await runCmd('ip', ['-n', lab.netns(host), '-j', 'link', 'show', 'dev', IFACE]);
  const j = JSON.parse(r.stdout || '[]') as { address?: string }[];
  return j[0]?.address ?? '';
}

/** utime + stime in clock ticks, from /proc/<pid>/stat (fields 14 and 15; the comm field may hold spaces). */
export function parseStatTicks(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = stat.slice(close + 2).split(' ');
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** The parent PID from /proc/<pid>/stat (field 4). */
export function parseStatPpid(stat: string): number | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const ppid = Number(stat.slice(close + 2).split(' ')[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/**
 * The daemon's processes and everything they spawned (Vigil's `ping` when it cannot probe in-process, scripts running at
 * that moment): the footprint of "the daemon" whatever its process model. `parentOf` maps the host's PIDs.
 */
export function withDescendants(roots: readonly number[], parentOf: ReadonlyMap<number, number>): number[] {
  const inTree = new Set(roots);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parentOf)
      if (!inTree.has(pid) && inTree.has(ppid)) {
        inTree.add(pid);
        grew = true;
      }
  }
  return [...inTree].sort((a, b) => a - b);
}

/** A `Key:   123 kB` line of /proc/<pid>/status or smaps_rollup. */
export function parseKb(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
}

export interface ProcSample {
  ticks: number;
  rssKb: number;
  pssKb: number | undefined;
}

export async function sampleProc(pid: number): Promise<ProcSample | undefined> {
  const [stat, status, rollup] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
    readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''),
    readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => ''),
  ]);
  const ticks = parseStatTicks(stat);
  const rssKb = parseKb(status, 'VmRSS');
  if (ticks === undefined || rssKb === undefined) return undefined;
  return { ticks, rssKb, pssKb: parseKb(rollup, 'Pss') };
}

/**
 * Accumulates one host's daemon usage from periodic samples. CPU: per PID, the ticks gained since its first sample
 * (a PID first seen after the start, e.g. a respawned child, counts from zero: all its ticks are in the window).
 */
export class UsageMeter {
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private started = false;
  private samples = 0;
  private rssSum = 0;
  private rssMax = 0;
  private pssMax: number | undefined;
  private procsMax = 0;

  constructor(
    readonly host: string,
    private readonly msPerTick: number,
  ) {}

  add(samples: ReadonlyMap<number, ProcSample>): void {
    let rss = 0;
    let pss = 0;
    let havePss = true;
    for (const [pid, s] of samples) {
      if (!this.first.has(pid)) this.first.set(pid, this.started ? 0 : s.ticks);
      this.last.set(pid, s.ticks);
      rss += s.rssKb;
      if (s.pssKb === undefined) havePss = false;
      else pss += s.pssKb;
    }
    this.started = true;
    this.samples++;
    this.rssSum += rss;
    this.rssMax = Math.max(this.rssMax, rss);
    if (havePss && samples.size > 0) this.pssMax = Math.max(this.pssMax ?? 0, pss);
    this.procsMax = Math.max(this.procsMax, samples.size);
  }

  result(windowMs: number): ProcUsage {
    let ticks = 0;
    for (const [pid, l] of this.last) ticks += l - (this.first.get(pid) ?? l);
    const cpuMs = ticks * this.msPerTick;
    return {
      host: this.host,
      processes: this.procsMax,
      rss_kb_max: this.rssMax,
      rss_kb_mean: this.samples === 0 ? 0 : Math.round(this.rssSum / this.samples),
      pss_kb_max: this.pssMax ?? null,
      cpu_ms: cpuMs,
      cpu_pct: windowMs > 0 ? Math.round((cpuMs / windowMs) * 100 * 1000) / 1000 : 0,
    };
  }
}

/** Number of separate spans with two or more holders. */
export function dualEpisodes(events: readonly LabEvent[], initial: ReadonlySet<string>): number {
  const held = new Set(initial);
  let episodes = 0;
  for (const e of [...events].sort((a, b) => a.t - b.t)) {
    const before = held.size;
    if (e.kind === 'vip_add') held.add(e.source);
    else if (e.kind === 'vip_del') held.delete(e.source);
    else continue;
    if (before < 2 && held.size >= 2) episodes++;
  }
  return episodes;
}

/** Time within [from, to] the VIP was on some node other than `preferred`. */
export function heldElsewhereMs(
  events: readonly LabEvent[],
  initial: ReadonlySet<string>,
  preferred: string,
  from: number,
  to: number,
): number {
  const held = new Set(initial);
  const others = (): boolean => [...held].some((h) => h !== preferred);
  let total = 0;
  let last = from;
  for (const e of [...events].filter((x) => x.kind === 'vip_add' || x.kind === 'vip_del').sort((a, b) => a.t - b.t)) {
    const t = Math.min(Math.max(e.t, from), to);
    if (others()) total += t - last;
    last = t;
    if (e.kind === 'vip_add') held.add(e.source);
    else held.delete(e.source);
  }
  if (others()) total += to - last;
  return total;
}

/** A Vigil log line about etcd that the quorum soak counts, by kind (undefined: none of them). */
export function classifyQuorumLine(
  line: string,
): { kind: 'quorum_release' | 'vip_expiry' | 'unreachable' | 'slow_renewal'; ms?: number } | undefined {
  if (/no longer owned in etcd/.test(line)) return { kind: 'quorum_release' };
  if (/CRIT: lease of \S+ expired/.test(line)) return { kind: 'vip_expiry' };
  if (/etcd unreachable: no resource group/.test(line)) return { kind: 'unreachable' };
  const m = /etcd: renewing the lease of .* took (\d+) ms/.exec(line);
  return m === null ? undefined : { kind: 'slow_renewal', ms: Number(m[1]) };
}

/** One histogram and one counter of a /metrics page, summed with what `into` already has. */
export interface RenewalMetrics {
  /** `le` bound (s) → cumulative count, Infinity included. */
  buckets: Map<number, number>;
  byResult: Record<string, number>;
}

export function addRenewalMetrics(into: RenewalMetrics, page: string): void {
  for (const m of page.matchAll(/^vigil_quorum_renewal_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)) {
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    into.buckets.set(le, (into.buckets.get(le) ?? 0) + Number(m[2]));
  }
  for (const m of page.matchAll(/^vigil_quorum_renewals_total\{result="(\w+)"\} (\d+)$/gm))
    into.byResult[m[1]!] = (into.byResult[m[1]!] ?? 0) + Number(m[2]);
}

/** The upper bound (ms) of the bucket holding quantile `q` (1 = the slowest); null without observations. */
export function bucketQuantileMs(buckets: ReadonlyMap<number, number>, q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const want = Math.ceil(q * total);
  const hit = sorted.find(([, c]) => c >= want);
  return hit === undefined || !Number.isFinite(hit[0]) ? null : Math.round(hit[0] * 1000);
}

export async function clkTck(): Promise<number> {
  const r = await runCmd('getconf', ['CLK_TCK']).catch(() => undefined);
  const n = Number(r?.stdout.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  if (o.impl !== 'keepalived' && o.deadtimeMs <= 2 * o.keepaliveMs)
    throw new VigilError('VIGIL_ERR_USAGE', `deadtime (${o.deadtimeMs} ms) must be more than twice keepalive`);
  if (o.freezeEveryMs > 0 && o.freezeMs >= o.freezeEveryMs)
    throw new VigilError('VIGIL_ERR_USAGE', `--freeze-ms must be shorter than --freeze-every`);
  const q = o.quorum;
  if (q !== undefined && o.impl !== 'vigil') throw new VigilError('VIGIL_ERR_USAGE', '--quorum is Vigil only');
  if (q !== undefined && (q.downMs <= 0 || q.downMs >= q.restartEveryMs))
    throw new VigilError('VIGIL_ERR_USAGE', '--etcd-down-ms must be positive and shorter than --etcd-restart-every');
  const driver: Driver = driverFor(o.impl);
  let spec = tutorialSpec(2, o.keepaliveMs, o.deadtimeMs, true, o.vigilDetector);
  // The keep-alives' round trips come from each daemon's /metrics, on the node's own loopback.
  if (q !== undefined) spec = { ...spec, vigilExtra: [`vigil_http 127.0.0.1:${METRICS_PORT}`] };
  const result: SoakResult = {
    mode: o.burnersPerNode === 0 && o.freezeEveryMs === 0 && q === undefined ? 'idle' : 'soak',
    impl: o.impl,
    keepalive_ms: o.keepaliveMs,
    deadtime_ms: o.deadtimeMs,
    duration_ms: o.durationMs,
    measured_ms: 0,
    warmup_ms: o.warmupMs ?? 0,
    burners_per_node: o.burnersPerNode,
    freeze_every_ms: o.freezeEveryMs,
    freeze_ms: o.freezeMs,
    freezes: 0,
    gap_threshold_ms: o.gapThresholdMs,
    spurious_takeovers: 0,
    standby_held_ms: 0,
    dual_active_ms: 0,
    dual_active_episodes: 0,
    dead_declarations: 0,
    dead_by_node: {},
    takeover_lines: 0,
    gaps_over_threshold: 0,
    gaps_over_100ms: 0,
    longest_gap_ms: null,
    probes_answered: 0,
    holders_after: [],
    intact_at_end: false,
    resources: [],
    loadavg_1m: null,
    started_at: new Date().toISOString(),
    notes: driver.notes(spec),
    error: null,
    events: [],
  };
  await driver.checkAvailable();
  const phase = (p: string): void => o.onPhase?.(p);
  phase(`building the lab (2 nodes${q === undefined ? '' : ', 3 etcd members'})`);
  const lab = await Lab.up({ prefix: o.prefix, nodes: 2, etcd: q === undefined ? 0 : 3 });
  lab.state.impl = o.impl;
  await lab.saveState();
  const events: LabEvent[] = [];
  const watchers: LineProcess[] = [];
  const followers: LogFollower[] = [];
  const burners: ChildProcess[] = [];
  const prober = new Prober(lab.netns('client'), IFACE, VIP);
  const freezes = { stop: false };
  // Read through a call: set from the main flow while the freezer loop awaits.
  const stopping = (): boolean => freezes.stop;
  let freezer: Promise<void> = Promise.resolve();
  let restarter: Promise<void> = Promise.resolve();
  // Ends the restarter's waits at once when the window closes.
  const halt = new AbortController();
  try {
    if (q !== undefined) {
      phase('starting etcd on etcd1, etcd2, etcd3');
      await startEtcdCluster(lab, 'linux1');
      spec = { ...spec, vigilQuorum: { endpoints: etcdEndpoints(lab), prefix: `/vigil/${o.prefix}` } };
      result.notes.push(
        `vigil_quorum etcd (3 members, lease TTL 5 s); every ${q.restartEveryMs} ms one member in turn is killed (-9) and restarted ${q.downMs} ms later`,
      );
    }
    await driver.configure(lab, spec);
    for (const n of lab.nodes) {
      watchers.push(watchAddresses(lab.netns(n), n, IFACE, VIP, (e) => events.push(e)));
      const f = new LogFollower(lab.hostPath(n, driver.logPath), (line, t) => {
        const kind = driver.classify(line);
        if (kind !== undefined) events.push({ t, source: n, kind: `log_${kind}`, detail: line });
        const qk = q === undefined ? undefined : classifyQuorumLine(line);
        if (qk !== undefined) events.push({ t, source: n, kind: qk.kind, detail: line });
      });
      await f.start();
      followers.push(f);
    }
    await prober.start();
    // The client stands for another machine: on real hardware the burners inside the nodes would not slow it down.
    // Sharing the CPUs at equal priority, ping and tcpdump get starved and report gaps the cluster never caused.
    for (const pid of await lab.pids('client')) {
      try {
        setPriority(pid, CLIENT_NICE);
      } catch {
        /* gone */
      }
    }
    result.notes.push(
      `client ping at SCHED_FIFO 10 (lab/prober.ts), tcpdump at nice ${CLIENT_NICE}; burners at nice 0`,
    );
    const primaryMac = await macOf(lab, spec.primary);
    phase(`starting ${o.impl}`);
    for (const n of lab.nodes) await driver.start(lab, n);

    phase(`waiting for ${spec.primary} to hold ${VIP}`);
    const deadline = nowMs() + 120_000;
    let okSince: number | undefined;
    for (;;) {
      const h = await vipHolders(lab);
      const recent = prober.recentMacs(nowMs(), 300);
      const ok = h.length === 1 && h[0] === spec.primary && recent.size === 1 && recent.has(primaryMac);
      if (!ok) okSince = undefined;
      else {
        okSince ??= nowMs();
        if (nowMs() - okSince >= SETTLE_MS) break;
      }
      if (nowMs() > deadline) throw new VigilError('VIGIL_ERR_LAB', `${spec.primary} never held the VIP alone`);
      await sleep(100);
    }

    for (const n of lab.nodes)
      for (let i = 0; i < o.burnersPerNode; i++)
        burners.push(lab.spawn(n, 'sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    if (burners.length > 0) {
      phase(`${burners.length} CPU burners running; settling`);
      await sleep(SETTLE_MS);
    }

    const warmupMs = o.warmupMs ?? 0;
    if (warmupMs > 0) {
      phase(`warming up for ${Math.round(warmupMs / 1000)} s`);
      await sleep(warmupMs);
    }

    const initial = new Set(await vipHolders(lab));
    const from = nowMs();
    const msPerTick = 1000 / (await clkTck());
    const meters = new Map(lab.nodes.map((n) => [n, new UsageMeter(n, msPerTick)]));
    const loads: number[] = [];
    const sample = async (): Promise<void> => {
      for (const n of lab.nodes) {
        const m = new Map<number, ProcSample>();
        const parentOf = new Map<number, number>();
        for (const pid of await lab.hostPids(n)) {
          const ppid = parseStatPpid(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''));
          if (ppid !== undefined) parentOf.set(pid, ppid);
        }
        for (const pid of withDescendants(await driver.daemonPids(lab, n), parentOf)) {
          const s = await sampleProc(pid);
          if (s !== undefined) m.set(pid, s);
        }
        meters.get(n)!.add(m);
      }
      const la = Number((await readFile('/proc/loadavg', 'utf8').catch(() => '')).split(' ')[0]);
      if (Number.isFinite(la)) loads.push(la);
    };
    await sample();

    if (o.freezeEveryMs > 0) {
      freezer = (async () => {
        while (!stopping()) {
          await sleep(o.freezeEveryMs - o.freezeMs);
          if (stopping()) break;
          // The standby is whoever does not hold the VIP right now (after a spurious move, that is linux1).
          const holders = await vipHolders(lab);
          const standby = lab.nodes.filter((n) => !holders.includes(n));
          for (const n of standby.length > 0 ? standby : ['linux2']) {
            const f = await faults.freezeDaemon(lab, driver, n, o.freezeMs).catch(() => undefined);
            if (f === undefined) continue;
            events.push({ t: f.t, source: n, kind: 'freeze', detail: `SIGSTOP ${o.impl} for ${o.freezeMs} ms` });
            result.freezes++;
            await f.resumed;
          }
        }
      })();
    }

    const etcd = q === undefined ? undefined : { restarts: 0, leaderKills: 0, leaders: [] as string[] };
    const terms: number[] = [];
    let restartError: unknown;
    const noteLeader = (st: { leader: string | undefined; term: number } | undefined): void => {
      if (st === undefined || etcd === undefined) return;
      terms.push(st.term);
      if (st.leader !== undefined && etcd.leaders.at(-1) !== st.leader) etcd.leaders.push(st.leader);
    };
    if (q !== undefined && etcd !== undefined) {
      noteLeader(await etcdStatus(lab, 'linux1'));
      restarter = (async () => {
        for (let i = 0; ; i++) {
          await delay(q.restartEveryMs - q.downMs, undefined, { signal: halt.signal });
          const member = lab.etcdHosts[i % lab.etcdHosts.length]!;
          const st = await etcdStatus(lab, 'linux1');
          noteLeader(st);
          const wasLeader = st?.leader === member;
          const t = await killEtcdMember(lab, member);
          etcd.restarts++;
          if (wasLeader) etcd.leaderKills++;
          events.push({
            t,
            source: member,
            kind: 'etcd_kill',
            detail: `kill -9 etcd on ${member}${wasLeader ? ' (the leader)' : ''}`,
          });
          // Waits out the downtime even when the window closes meanwhile: the member is back before the end.
          await sleep(q.downMs);
          events.push({
            t: await startEtcdMember(lab, member),
            source: member,
            kind: 'etcd_start',
            detail: `etcd restarted on ${member}`,
          });
          if (halt.signal.aborted) return;
        }
      })().catch((e: unknown) => {
        // Kept for the end of the window (a rejection nobody awaits yet would end the process).
        if (!halt.signal.aborted) restartError = e;
      });
    }

    phase(`watching for ${Math.round(o.durationMs / 1000)} s`);
    const sampleEvery = o.sampleEveryMs ?? 1000;
    let samples = 0;
    while (nowMs() - from < o.durationMs) {
      await sleep(Math.min(sampleEvery, Math.max(0, o.durationMs - (nowMs() - from))));
      await sample();
      // etcd's leader and term every 5 samples, from the members up at that moment (one may be down).
      if (q !== undefined && ++samples % 5 === 0) {
        const up: string[] = [];
        for (const h of lab.etcdHosts) if ((await etcdPids(lab, h)).length > 0) up.push(h);
        noteLeader(await etcdStatus(lab, 'linux1', up));
      }
    }
    freezes.stop = true;
    halt.abort();
    await freezer;
    await restarter;
    if (restartError !== undefined)
      throw new VigilError('VIGIL_ERR_LAB', `etcd restarts: ${errorMessage(restartError)}`);
    if (q !== undefined) noteLeader(await etcdStatus(lab, 'linux1'));
    const to = nowMs();
    result.measured_ms = Math.round(to - from);
    for (const b of burners) b.kill('SIGKILL');

    const inWindow = events.filter((e) => e.t >= from && e.t <= to);
    const vipEvents = inWindow.filter((e) => e.kind === 'vip_add' || e.kind === 'vip_del');
    result.spurious_takeovers = vipEvents.filter((e) => e.kind === 'vip_add').length;
    result.standby_held_ms = Math.round(heldElsewhereMs(vipEvents, initial, spec.primary, from, to));
    result.dual_active_ms = Math.round(dualActiveMs(vipEvents, initial, from, to));
    result.dual_active_episodes = dualEpisodes(vipEvents, initial);
    result.dead_declarations = inWindow.filter((e) => e.kind === 'log_dead').length;
    for (const n of lab.nodes)
      result.dead_by_node[n] = inWindow.filter((e) => e.kind === 'log_dead' && e.source === n).length;
    result.takeover_lines = inWindow.filter((e) => e.kind === 'log_takeover').length;
    const gaps = prober.gaps(from, to, 100);
    result.gaps_over_100ms = gaps.length;
    const over = gaps.filter((g) => g.ms > o.gapThresholdMs);
    result.gaps_over_threshold = over.length;
    const longest = prober.longestGap(from, to);
    result.longest_gap_ms = longest === undefined ? null : Math.round(longest.ms * 10) / 10;
    result.probes_answered = prober.between(from, to).length;
    result.holders_after = await vipHolders(lab);
    result.intact_at_end = result.holders_after.length === 1 && result.holders_after[0] === spec.primary;
    result.resources = lab.nodes.map((n) => meters.get(n)!.result(to - from));
    if (loads.length > 0)
      result.loadavg_1m = {
        min: Math.min(...loads),
        mean: Math.round((loads.reduce((s, x) => s + x, 0) / loads.length) * 100) / 100,
        max: Math.max(...loads),
      };
    if (q !== undefined && etcd !== undefined) {
      const metrics: RenewalMetrics = { buckets: new Map(), byResult: {} };
      for (const n of lab.nodes) {
        const r = await lab.exec(n, 'curl', ['-s', '--max-time', '5', `http://127.0.0.1:${METRICS_PORT}/metrics`], {
          timeoutMs: 10_000,
        });
        if (r.code !== 0) result.notes.push(`no /metrics from ${n} (curl exit ${r.code})`);
        addRenewalMetrics(metrics, r.stdout);
      }
      const of = (kind: string): LabEvent[] => inWindow.filter((e) => e.kind === kind);
      result.quorum = {
        restart_every_ms: q.restartEveryMs,
        down_ms: q.downMs,
        restarts: etcd.restarts,
        leader_kills: etcd.leaderKills,
        elections: terms.length < 2 ? null : Math.max(...terms) - Math.min(...terms),
        leaders: etcd.leaders,
        renewals: metrics.byResult,
        renewal_max_bucket_ms: bucketQuantileMs(metrics.buckets, 1),
        renewal_p50_bucket_ms: bucketQuantileMs(metrics.buckets, 0.5),
        renewal_p99_bucket_ms: bucketQuantileMs(metrics.buckets, 0.99),
        slow_renewals_ms: of('slow_renewal').map((e) => classifyQuorumLine(e.detail)?.ms ?? 0),
        quorum_releases: of('quorum_release').length,
        vip_expiries: of('vip_expiry').length,
        unreachable: of('unreachable').length,
      };
    }
    const timeline: LabEvent[] = [
      ...inWindow.filter((e) => e.kind !== 'vip_renew'),
      ...over.map((g) => ({
        t: g.from,
        source: 'client',
        kind: 'gap',
        detail: `${Math.round(g.ms)} ms without replies`,
      })),
    ].sort((a, b) => a.t - b.t);
    // Freezes are periodic and numerous; keep what moved first, then as many freezes as fit.
    const notable = timeline.filter((e) => e.kind !== 'freeze');
    const kept = [...notable.slice(0, MAX_EVENTS), ...timeline.filter((e) => e.kind === 'freeze')]
      .slice(0, MAX_EVENTS)
      .sort((a, b) => a.t - b.t);
    if (timeline.length > kept.length)
      result.notes.push(`timeline truncated to ${MAX_EVENTS} of ${timeline.length} events`);
    result.events = kept.map((e) => timelineEvent(e, Math.round((e.t - from) * 10) / 10));
    return result;
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    return result;
  } finally {
    freezes.stop = true;
    halt.abort();
    for (const b of burners) b.kill('SIGKILL');
    await freezer.catch(() => undefined);
    await restarter.catch(() => undefined);
    await prober.stop().catch(() => undefined);
    for (const w of watchers) await w.stop();
    for (const f of followers) await f.stop();
    phase('tearing the lab down');
    await lab.down();
  }
}
