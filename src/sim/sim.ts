/**
 * (Longer than the others on purpose: the simulated world's network, nodes, faults and properties share one event
 * queue, one clock and one random stream, which is what makes a seed replay exactly.)
 *
 * Deterministic simulation of a Vigil cluster: N nodes, each running the daemon's own decision core (NodeCore) and
 * wire protocol (WireProtocol, real packets, real sequence numbers and retransmissions), on one simulated time
 * line, over a simulated network with seeded loss (also one-way), delay, reordering and partitions; crashes,
 * restarts (new generation), freezes (SIGSTOP-like stalls) and short stalls (a GC pause), graceful stops, operator
 * standby/takeover and STONITH; and a resource model whose start/stop take time and may fail. Same seed, same run.
 *
 * Lives in src/ (not test/) so benchmarks can reuse it; it does no I/O.
 *
 * Network model: per ordered pair, delivery after a random delay in [1, maxDelayMs], in order unless the packet is
 * reordered (probability `reorder`: it gets its own delay, so it may overtake or be overtaken); status packets are
 * lost with probability `statusLoss`, and any packet on a lossy one-way link (asymmetric loss) with that link's
 * rate; nothing crosses a partition. What a partition or a lossy link drops, the wire layer asks again for once it
 * hears the sender (NS_rexmit), as on a real LAN. A crash takes the node's resources with it (host crash, or the
 * kernel-held VIP lease expiring); a freeze keeps them and queues everything addressed to the node until it thaws.
 *
 * Properties checked (see `SimResult.violations`):
 * - Invariants inside the core (acquire only from `none` with no live peer claiming the group, release only from
 *   `held`, completions in the matching state): a broken one throws, and is a violation here.
 * - Safety: a group is never active (starting, up or stopping) on two nodes that have been able to
 *   hear each other for longer than `healWindowMs` = keepalive + 3 × max delay + max start + max
 *   stop + check interval + rexmit delay + 1 s. "Hear each other" = both up, neither frozen, same side of every
 *   partition. The window covers the end of a partition or freeze: the first status after the
 *   heal must arrive, both sides exchange holdings, the loser stops the group. Inside a partition
 *   both sides may hold a group (that is what deadtime expiry does without STONITH).
 * - With vigil_quorum etcd (`quorum: 'release'`): never, at any instant, is a group's resource active on two nodes,
 *   whatever the partition, freeze or etcd outage. etcd is modelled as one linearizable store with leases
 *   (sim/etcd.ts) that nodes may fail to reach (etcd down, a node cut off, the far side of a partition); a frozen
 *   holder's VIP goes when the kernel lifetime the daemon set last runs out (modelled at its latest allowed
 *   instant, the core's vipDeadline). With `quorum: 'keep'` the heartbeat property above applies.
 * - With vigil_group_nodes lists: a group never runs on a node its list leaves out.
 * - Liveness: after faults stop (partitions healed, nodes thawed and restarted, no more failures),
 *   within `convergeBoundMs` every group is up on exactly one node and nothing is in transition,
 *   and it stays so until the end of the run.
 */
import { errorMessage } from '../util/errors.js';
import type { AutoFailback, CompiledConfig } from '../config/types.js';
import type { AuthKeys } from '../config/types.js';
import type { OperatorCommand } from '../cluster/types.js';
import { toFields } from '../cluster/protocol.js';
import { NodeCore, type CoreAction } from '../node/core.js';
import { diffConfig } from '../config/diff.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';
import { WireProtocol, computeTtl, msg, str, type PeerProgress } from '../wire/index.js';
import { Prng } from './prng.js';
import { Queue } from './queue.js';
import { simConfig } from './config.js';
import { EXPIRY_SWEEP_MS, SimEtcd, type KeyEvent } from './etcd.js';
import type { ClaimResult } from '../cluster/types.js';
import type { RenewResult } from '../node/leases.js';

/** How long a request to an unreachable etcd takes to fail (the daemon's per-request timeout). */
const ETCD_TIMEOUT_MS = 1000;
/** One way between a node and etcd. */
const ETCD_DELAY_MS: readonly [number, number] = [1, 8];
/** A node notices that etcd stopped (or started) answering within this (the watch's progress check). */
const ETCD_NOTICE_MS: readonly [number, number] = [100, 1500];
/** The kernel-lease sweep: well under the 250 ms safety margin. */
const KERNEL_SWEEP_MS = 20;

export interface SimOptions {
  readonly seed: number;
  readonly nodeCount: number;
  readonly autoFailback: AutoFailback;
  readonly stonith: boolean;
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  /** Faults happen during [0, faultMs). */
  readonly faultMs: number;
  /** Probability that a status packet is lost. */
  readonly statusLoss: number;
  readonly maxDelayMs: number;
  readonly maxStartMs: number;
  readonly maxStopMs: number;
  /** Probability that a group start fails (during the fault phase only). */
  readonly startFailure: number;
  /** Mean time between faults. */
  readonly meanFaultGapMs: number;
  readonly freezes: boolean;
  readonly operatorCommands: boolean;
  /** Collect every log line and action (for replaying a failing seed). */
  readonly trace: boolean;
  /** Shortest start/stop (default 20 ms); equal to the max for fixed durations. */
  readonly minStartMs?: number;
  readonly minStopMs?: number;
  /** Probability that a packet ignores FIFO order on its link (default 0). */
  readonly reorder?: number;
  /** Faults may make one direction of a link lossy (default false). */
  readonly asymmetricLoss?: boolean;
  /**
   * Faults may reload the configuration on every node, one after the other (default false): a group added or
   * removed, a keepalive halved or restored, in the middle of whatever is going on.
   */
  readonly reloads?: boolean;
  /** A fixed scenario instead of random faults: nodes boot only when the script says so. */
  readonly script?: readonly SimStep[];
  /** vigil_quorum etcd with this vigil_quorum_loss (default: no quorum). Faults then also take etcd away. */
  readonly quorum?: 'release' | 'keep';
  /** vigil_quorum_ttl (default 5 s). */
  readonly quorumTtlMs?: number;
  /** Give some groups a vigil_group_nodes list (3 nodes or more; default false). */
  readonly groupLists?: boolean;
}

export type SimStep =
  | { readonly atMs: number; readonly node: number; readonly op: 'boot' | 'crash' }
  | { readonly atMs: number; readonly node: number; readonly op: 'command'; readonly command: OperatorCommand };

/** A stretch of time during which no node had the group up (after it first came up). */
export interface Outage {
  readonly group: string;
  readonly fromMs: number;
  readonly ms: number;
}

export interface SimResult {
  readonly seed: number;
  readonly options: SimOptions;
  readonly violations: string[];
  /** Time from the end of faults until the cluster converged for good (ms), if it did. */
  readonly convergedAfterMs: number | undefined;
  readonly healWindowMs: number;
  readonly convergeBoundMs: number;
  readonly trace: string[];
  readonly outages: readonly Outage[];
  readonly stats: {
    events: number;
    packets: number;
    faults: number;
    takeovers: number;
    heals: number;
    retransmissions: number;
  };
}

type Rsc = 'none' | 'starting' | 'up' | 'stopping';

interface SimNode {
  readonly name: string;
  readonly idx: number;
  /** Its configuration now (a reload replaces it). */
  cfg: CompiledConfig;
  up: boolean;
  frozenUntil: number;
  generation: number;
  /** Bumped on every crash/stop: callbacks of an older epoch are void. */
  epoch: number;
  core: NodeCore;
  wire: WireProtocol;
  /** Timer name → token of the live arming (a re-arm or cancel voids the older one). */
  timers: Map<string, number>;
  rsc: Map<string, Rsc>;
  /** What this node had heard of each peer when it last went down (the daemon persists it). */
  floors: Map<string, PeerProgress>;
  /** The packet being sent is a status (only those are lost at random). */
  sendingStatus: boolean;
  /** vigil_quorum: whether this node was last told etcd answers. */
  etcdReachable: boolean;
  /** vigil_quorum: each active group's VIP deadline as the node last set it (the kernel drops the VIP then). */
  capAt: Map<string, number>;
  /** Groups whose VIP the kernel dropped: the release that follows stops what is left. */
  lost: Set<string>;
}

export const DEFAULT_SIM: Omit<SimOptions, 'seed'> = {
  nodeCount: 2,
  autoFailback: 'on',
  stonith: false,
  keepaliveMs: 1000,
  deadtimeMs: 10_000,
  faultMs: 60_000,
  statusLoss: 0.05,
  maxDelayMs: 100,
  maxStartMs: 1500,
  maxStopMs: 1000,
  startFailure: 0.03,
  meanFaultGapMs: 6000,
  freezes: true,
  operatorCommands: true,
  trace: false,
};

const CHECK_INTERVAL_MS = 250;
/** Property sampling period; safety windows are seconds long, so 200 ms loses nothing that matters. */
const MONITOR_INTERVAL_MS = 200;
/** A run ends once the cluster has been settled this long after the faults ended. */
const SETTLED_MS = 40_000;

export function runSim(options: SimOptions): SimResult {
  return new Sim(options).run();
}

function isUp(n: SimNode): boolean {
  return n.up;
}

/** The group reloads add and remove. */
const RELOAD_GROUP = 'IPaddr::10.0.0.200';

/** Wall clock of the simulation's t=0 (packets carry time() in `ts`, which must not be 0). */
const WALL0 = 1_700_000_000_000;
/** crc is the cheapest method the wire layer has; the simulation needs packets, not secrecy. */
const SIM_KEYS: AuthKeys = {
  active: 1,
  keys: new Map([[1, { index: 1, method: 'crc', key: '', origin: { file: '<sim>', line: 0 } }]]),
};

class Sim {
  private readonly o: SimOptions;
  private readonly rnd: Prng;
  private readonly q = new Queue();
  private now = 0;
  private seq = 0;
  private readonly nodes: SimNode[] = [];
  private readonly groupKeys: string[] = [];
  private readonly side: number[];
  private readonly chanLast = new Map<number, number>();
  /** One-way loss rate per ordered pair (asymmetric loss faults). */
  private readonly linkLoss = new Map<number, number>();
  private readonly hearingSince: Array<Array<number | undefined>>;
  private readonly violations: string[] = [];
  private readonly outages: Outage[] = [];
  private readonly downSince = new Map<string, number>();
  private readonly everUp = new Set<string>();
  private readonly trace: string[] = [];
  private faultsOver = false;
  private lastBad = 0;
  private genCounter = 1000;
  private readonly stats = { events: 0, packets: 0, faults: 0, takeovers: 0, heals: 0, retransmissions: 0 };
  private readonly baseGroups: Array<[string, string]>;
  private readonly names: string[];
  /** What reloads have made of the configuration: the extra group (and its preferred node), a halved keepalive. */
  private desired: { extra: string | undefined; fast: boolean } = { extra: undefined, fast: false };
  readonly healWindowMs: number;
  readonly convergeBoundMs: number;
  /** vigil_quorum: the store, whether it has quorum, which partition side it is on, nodes cut off from it. */
  private readonly etcd: SimEtcd | undefined;
  private etcdUp = true;
  private etcdSide = 0;
  private readonly etcdCut = new Set<number>();
  private readonly groupLists: Array<[string, string[]]> = [];

  constructor(o: SimOptions) {
    this.o = o;
    this.rnd = new Prng(o.seed);
    const names = Array.from({ length: o.nodeCount }, (_, i) => `node${i + 1}`);
    const groups: Array<[string, string]> = names.map((n, i) => [`IPaddr::10.0.0.${i + 10}`, n]);
    // One extra group so a node prefers two (group order matters for standby classes).
    groups.push(['IPaddr::10.0.0.99', names[0] ?? 'node1']);
    this.baseGroups = groups;
    this.names = names;
    if (o.groupLists === true && names.length >= 3) {
      const lr = new Prng(o.seed ^ 0x5bd1e995);
      for (const [g, pref] of groups) {
        if (!lr.chance(0.6)) continue;
        const others = names.filter((x) => x !== pref);
        // Shuffle, keep at least one other node.
        for (let i = others.length - 1; i > 0; i--) {
          const j = lr.int(0, i);
          [others[i], others[j]] = [others[j] ?? '', others[i] ?? ''];
        }
        this.groupLists.push([g, [pref, ...others.slice(0, lr.int(1, others.length))]]);
      }
    }
    this.etcd =
      o.quorum === undefined
        ? undefined
        : new SimEtcd((e) => {
            this.keyChanged(e);
          });
    for (const [k] of groups) this.groupKeys.push(k);
    // A group only reloads add (and remove again): watched throughout.
    if (o.reloads === true) this.groupKeys.push(RELOAD_GROUP);
    this.side = names.map(() => 0);
    this.hearingSince = names.map(() => names.map(() => undefined));
    for (const [i, name] of names.entries()) {
      const n: SimNode = {
        name,
        idx: i,
        cfg: this.configFor(name),
        up: false,
        frozenUntil: 0,
        generation: 0,
        epoch: 0,
        core: undefined as unknown as NodeCore,
        wire: undefined as unknown as WireProtocol,
        timers: new Map(),
        rsc: new Map(this.groupKeys.map((g) => [g, 'none'])),
        floors: new Map(),
        sendingStatus: false,
        etcdReachable: false,
        capAt: new Map(),
        lost: new Set(),
      };
      this.nodes.push(n);
    }
    const rexmit = this.nodes[0]?.cfg.hacf.maxRexmitDelayMs ?? 250;
    this.healWindowMs =
      o.keepaliveMs + 3 * o.maxDelayMs + o.maxStartMs + o.maxStopMs + CHECK_INTERVAL_MS + rexmit + 1000;
    const initdead = this.nodes[0]?.cfg.hacf.initdeadMs ?? o.deadtimeMs;
    // Restarts at the end of faults + initdead or deadtime, the 10 s both-starting fallback, the
    // 30 s failed-start standby, STONITH and a chain of handovers (stop + start, several times).
    // With the quorum, a crashed holder's lease must expire first, and a node must notice etcd is back.
    const quorumMs = o.quorum === undefined ? 0 : (o.quorumTtlMs ?? 5000) + EXPIRY_SWEEP_MS + ETCD_NOTICE_MS[1] + 2000;
    this.convergeBoundMs =
      Math.max(initdead, o.deadtimeMs + 2000) +
      10_000 +
      30_000 +
      5000 +
      6 * (o.maxStartMs + o.maxStopMs) +
      5000 +
      quorumMs;
  }

  /** One node's configuration as the admin's files say it now. */
  private configFor(name: string): CompiledConfig {
    const o = this.o;
    const d = this.desired;
    const groups: Array<[string, string]> = [...this.baseGroups];
    if (d.extra !== undefined) groups.push([RELOAD_GROUP, d.extra]);
    const cfg = simConfig({
      nodes: this.names,
      localNode: name,
      groups,
      keepaliveMs: d.fast ? Math.floor(o.keepaliveMs / 2) : o.keepaliveMs,
      deadtimeMs: o.deadtimeMs,
      autoFailback: o.autoFailback,
      stonith: o.stonith ? 'external/sim' : undefined,
      quorum: o.quorum,
      quorumTtlMs: o.quorumTtlMs,
      groupNodes: this.groupLists,
    });
    return { ...cfg, authkeys: SIM_KEYS };
  }

  /** Is `g` in the admin's current configuration (the one every node ends up with)? */
  private configured(g: string): boolean {
    return g !== RELOAD_GROUP || this.desired.extra !== undefined;
  }

  private at(ms: number, fn: () => void): void {
    this.q.push({ at: this.now + Math.max(0, ms), seq: this.seq++, fn });
  }

  /** Run `fn` in node context: void if the node crashed since, deferred while it is frozen. */
  private nodeAt(n: SimNode, ms: number, fn: () => void): void {
    const epoch = n.epoch;
    const run = (): void => {
      if (n.epoch !== epoch || !n.up) return;
      if (this.now < n.frozenUntil) {
        this.q.push({ at: n.frozenUntil, seq: this.seq++, fn: run });
        return;
      }
      fn();
    };
    this.at(ms, run);
  }

  private tr(n: SimNode | undefined, text: string): void {
    if (this.o.trace) this.trace.push(`${(this.now / 1000).toFixed(3).padStart(9)} ${n?.name ?? 'sim  '} ${text}`);
  }

  // ------------------------------------------------------------------ lifecycle

  /** The wire layer's timers (retransmission requests) on the node's own time line. */
  private schedulerFor(n: SimNode): Scheduler {
    const live = new Set<number>();
    let next = 1;
    return {
      now: () => this.now,
      wallNow: () => WALL0 + this.now,
      setTimeout: (fn, ms): TimerHandle => {
        const id = next++;
        live.add(id);
        this.nodeAt(n, ms, () => {
          if (live.delete(id)) this.guarded(n, fn);
        });
        return { id };
      },
      clearTimeout: (h) => {
        live.delete(h.id);
      },
    };
  }

  private boot(n: SimNode): void {
    n.cfg = this.configFor(n.name);
    n.up = true;
    n.frozenUntil = 0;
    n.epoch++;
    n.generation = ++this.genCounter;
    n.timers = new Map();
    for (const g of this.groupKeys) n.rsc.set(g, 'none');
    const h = n.cfg.hacf;
    n.core = new NodeCore({
      config: n.cfg,
      now: this.now,
      pid: 1000 + n.idx,
      stonithDevice: this.o.stonith ? 'external/sim' : undefined,
      membership: { checkIntervalMs: CHECK_INTERVAL_MS },
      clock: () => this.now,
    });
    n.etcdReachable = false;
    n.capAt = new Map();
    n.lost = new Set();
    const uuid = new Uint8Array(16).fill(n.idx + 1);
    n.wire = new WireProtocol({
      localNode: n.name,
      localUuid: uuid,
      generation: n.generation,
      nodes: h.nodes,
      keys: n.cfg.authkeys,
      msgfmt: 'netstring',
      ttl: computeTtl(h.hopfudge, h.nodes.length),
      maxRexmitDelayMs: h.maxRexmitDelayMs,
      scheduler: this.schedulerFor(n),
      random: () => this.rnd.next(),
      loadavg: () => '0.00 0.00 0.00 1/100 1000',
      transmit: (p) => {
        this.broadcast(n, p);
      },
      isNodeUp: (node) => n.core.membership.isAlive(node),
      floors: n.floors,
      onEvent: (e) => {
        if (e.code === 'rexmit_served') this.stats.retransmissions++;
        if (this.o.trace && e.level !== 'debug') this.tr(n, `wire ${e.level}: ${e.text}`);
      },
      onGeneration: () => {
        n.floors = n.wire.progress();
      },
    });
    this.tr(n, `boot generation ${n.generation}`);
    this.recomputeHearing();
    this.ask(n, () => n.core.start(this.now));
    this.recomputeEtcd();
  }

  /** Power loss / kill -9 / STONITH: the daemon is gone and (host crash, or the VIP lease) so are its resources. */
  private crash(n: SimNode, why: string): void {
    if (!n.up) return;
    this.tr(n, `CRASH (${why})`);
    this.goDown(n);
    for (const g of this.groupKeys) if (n.rsc.get(g) !== 'none') this.setRsc(n, g, 'none');
    n.capAt.clear();
  }

  private goDown(n: SimNode): void {
    // The daemon persists what it heard of its peers (at each new generation, every few seconds, at stop).
    n.floors = n.wire.progress();
    n.wire.stop();
    n.up = false;
    n.epoch++;
    n.etcdReachable = false;
    this.recomputeHearing();
  }

  private restartLater(n: SimNode, ms: number): void {
    this.at(ms, () => {
      if (!n.up) this.boot(n);
    });
  }

  /** `vigil reload` on one node: what the daemon's reload does, minus the files. */
  private reload(n: SimNode): void {
    const next = this.configFor(n.name);
    const diff = diffConfig(n.cfg, next);
    if (diff.changes.length === 0) return;
    this.tr(n, `reload: ${diff.changes.map((c) => c.text).join('; ')}`);
    n.cfg = next;
    const h = next.hacf;
    n.wire.reconfigure({
      keys: next.authkeys,
      msgfmt: 'netstring',
      ttl: computeTtl(h.hopfudge, h.nodes.length),
      maxRexmitDelayMs: h.maxRexmitDelayMs,
      nodes: h.nodes,
      pingNodes: [],
    });
    this.ask(n, () =>
      n.core.reconfigure(next, diff.groups.changed, this.now, this.o.stonith ? 'external/sim' : undefined),
    );
  }

  // ------------------------------------------------------------------ etcd (vigil_quorum)

  private etcdReachable(n: SimNode): boolean {
    return n.up && this.etcdUp && this.side[n.idx] === this.etcdSide && !this.etcdCut.has(n.idx);
  }

  /**
   * One request from `n`: it reaches etcd after a delay and is applied there (`apply`, which returns how the node
   * learns the answer), and the answer comes back after another; if etcd cannot be reached on the way there or
   * back, the node learns only that it failed, after the daemon's request timeout (an applied request whose
   * answer is lost happened all the same).
   */
  private etcdRequest(n: SimNode, apply: (now: number) => () => CoreAction[], failed: () => CoreAction[]): void {
    const epoch = n.epoch;
    const sentAt = this.now;
    const fail = (): void => {
      this.at(Math.max(0, sentAt + ETCD_TIMEOUT_MS - this.now), () => {
        if (n.epoch !== epoch) return;
        this.nodeAt(n, 0, () => {
          this.ask(n, failed);
        });
      });
    };
    this.at(this.rnd.int(...ETCD_DELAY_MS), () => {
      if (n.epoch !== epoch) return;
      if (!this.etcdReachable(n)) {
        fail();
        return;
      }
      const answer = apply(this.now);
      this.at(this.rnd.int(...ETCD_DELAY_MS), () => {
        if (n.epoch !== epoch) return;
        if (!this.etcdReachable(n)) {
          fail();
          return;
        }
        this.nodeAt(n, 0, () => {
          this.ask(n, answer);
        });
      });
    });
  }

  /** A watch event: every node that reaches etcd hears it a little later (the others read it on reconnecting). */
  private keyChanged(e: KeyEvent): void {
    this.tr(
      undefined,
      `ETCD ${e.group} ${e.owner === undefined ? 'deleted' : `${e.owner.node}/${e.owner.lease}`} rev ${e.revision}`,
    );
    for (const n of this.nodes) {
      if (!n.etcdReachable || !this.etcdReachable(n)) continue;
      const epoch = n.epoch;
      this.at(this.rnd.int(...ETCD_DELAY_MS), () => {
        if (n.epoch !== epoch || !this.etcdReachable(n)) return;
        this.nodeAt(n, 0, () => {
          this.ask(n, () => n.core.keyState(e.group, e.owner, e.revision, this.now));
        });
      });
    }
  }

  /** After any change of reachability: each node notices it a while later (and reads every key when it is back). */
  private recomputeEtcd(): void {
    if (this.etcd === undefined) return;
    for (const n of this.nodes) {
      const want = this.etcdReachable(n);
      if (!n.up || want === n.etcdReachable) continue;
      const epoch = n.epoch;
      this.at(this.rnd.int(...ETCD_NOTICE_MS), () => {
        if (n.epoch !== epoch || this.etcdReachable(n) !== want || n.etcdReachable === want) return;
        this.nodeAt(n, 0, () => {
          const etcd = this.etcd;
          if (etcd === undefined || this.etcdReachable(n) !== want || n.etcdReachable === want) return;
          n.etcdReachable = want;
          this.tr(n, `etcd ${want ? 'reachable' : 'unreachable'}`);
          if (want) {
            for (const k of etcd.snapshot(this.groupKeys, this.now))
              this.ask(n, () => n.core.keyState(k.group, k.owner, k.revision, this.now));
          }
          this.ask(n, () => n.core.quorumReachable(want, this.now));
        });
      });
    }
  }

  /** etcd's lessor, and the kernel dropping VIPs whose lifetime ran out (a frozen daemon renews nothing). */
  private sweeps(): void {
    const etcd = this.etcd;
    if (etcd === undefined) return;
    const lessor = (): void => {
      if (this.etcdUp) etcd.expire(this.now);
      this.at(EXPIRY_SWEEP_MS, lessor);
    };
    this.at(EXPIRY_SWEEP_MS, lessor);
    if (this.o.quorum !== 'release') return;
    const kernel = (): void => {
      for (const n of this.nodes) {
        if (!n.up) continue;
        for (const [g, at] of n.capAt) {
          if (this.now < at || n.rsc.get(g) === 'none') continue;
          n.capAt.delete(g);
          this.tr(n, `KERNEL dropped ${g} (lease capped at ${at})`);
          this.setRsc(n, g, 'none');
          n.lost.add(g);
          this.nodeAt(n, 0, () => {
            if (n.core.groupState(g) === 'held') this.ask(n, () => n.core.groupLost(g, 'VIP lease ran out'));
          });
        }
      }
      this.at(KERNEL_SWEEP_MS, kernel);
    };
    this.at(KERNEL_SWEEP_MS, kernel);
  }

  // ------------------------------------------------------------------ network

  private hears(a: number, b: number): boolean {
    const na = this.nodes[a];
    const nb = this.nodes[b];
    if (na === undefined || nb === undefined) return false;
    // A lossy link (either way) is as good as cut for what a node can know: both sides may act alone, as in a
    // partition, and must agree again once it is over.
    const lossy = this.linkLoss.has(a * 16 + b) || this.linkLoss.has(b * 16 + a);
    return (
      na.up &&
      nb.up &&
      this.now >= na.frozenUntil &&
      this.now >= nb.frozenUntil &&
      this.side[a] === this.side[b] &&
      !lossy
    );
  }

  private recomputeHearing(): void {
    this.recomputeEtcd();
    for (let a = 0; a < this.nodes.length; a++) {
      const row = this.hearingSince[a];
      if (row === undefined) continue;
      for (let b = 0; b < this.nodes.length; b++) {
        if (a === b) continue;
        const h = this.hears(a, b);
        if (h && row[b] === undefined) row[b] = this.now;
        if (!h) row[b] = undefined;
      }
    }
  }

  /** One datagram from `from` to every other node (bcast): delayed, maybe reordered or lost, never across a partition. */
  private broadcast(from: SimNode, bytes: Uint8Array): void {
    const status = from.sendingStatus;
    let shared: Uint8Array | undefined;
    for (const to of this.nodes) {
      if (to === from || !to.up) continue;
      if (this.side[from.idx] !== this.side[to.idx]) continue;
      if (status && this.rnd.chance(this.o.statusLoss)) continue;
      const loss = this.linkLoss.get(from.idx * 16 + to.idx) ?? 0;
      if (loss > 0 && this.rnd.chance(loss)) continue;
      // Receivers only read a datagram: one copy (the sender's may be a view into its history) serves them all.
      this.transmit(from, to, (shared ??= Uint8Array.from(bytes)));
    }
  }

  private transmit(from: SimNode, to: SimNode, bytes: Uint8Array): void {
    const key = from.idx * 16 + to.idx;
    const delay = this.now + this.rnd.int(1, this.o.maxDelayMs);
    const reordered = (this.o.reorder ?? 0) > 0 && this.rnd.chance(this.o.reorder ?? 0);
    const deliverAt = reordered ? delay : Math.max(this.chanLast.get(key) ?? 0, delay);
    if (!reordered) this.chanLast.set(key, deliverAt);
    this.stats.packets++;
    const toEpoch = to.epoch;
    this.at(deliverAt - this.now, () => {
      if (to.epoch !== toEpoch || this.side[from.idx] !== this.side[to.idx]) return;
      this.nodeAt(to, 0, () => {
        this.ask(to, () => to.core.received(to.wire.receive(bytes), 'eth0', this.now));
      });
    });
  }

  // ------------------------------------------------------------------ the node's shell

  /**
   * Everything the core is asked goes through here: a thrown invariant is a violation (and the node dies, as the
   * daemon would), and the actions are carried out in order.
   */
  private ask(n: SimNode, fn: () => CoreAction[]): void {
    if (!n.up) return;
    this.stats.events++;
    let actions: CoreAction[];
    try {
      actions = fn();
    } catch (e) {
      this.violation(`${n.name}: ${errorMessage(e)}`);
      this.crash(n, 'invariant');
      return;
    }
    for (const a of actions) {
      // An action may have taken the node down (a reboot, an invariant): the rest died with it.
      if (!isUp(n)) return;
      this.exec(n, a);
    }
    this.noteCaps(n);
  }

  /** The VIP lifetimes the daemon would set now (at start and every renewal): capped by the etcd lease. */
  private noteCaps(n: SimNode): void {
    if (this.o.quorum !== 'release' || !n.up) return;
    for (const g of this.groupKeys) {
      if (n.rsc.get(g) === 'none') {
        n.capAt.delete(g);
        continue;
      }
      const d = n.core.vipDeadline(g);
      if (d !== undefined) n.capAt.set(g, d);
    }
  }

  private guarded(n: SimNode, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.violation(`${n.name}: ${errorMessage(e)}`);
      this.crash(n, 'exception');
    }
  }

  private exec(n: SimNode, a: CoreAction): void {
    switch (a.kind) {
      case 'log':
        if (this.o.trace) this.tr(n, `${a.level}: ${a.text}`);
        return;
      case 'send':
        if (this.o.trace && a.msg.t !== 'status') this.tr(n, `send ${JSON.stringify(a.msg)}`);
        n.sendingStatus = a.msg.t === 'status';
        n.wire.send(msg(...toFields(a.msg).map(([k, v]) => str(k, v))));
        n.sendingStatus = false;
        return;
      case 'transition':
        if (this.o.trace) this.tr(n, `transition ${JSON.stringify(a.transition)}`);
        if (a.transition.reason === 'takeover' && a.transition.to === 'acquiring') this.stats.takeovers++;
        if (a.transition.reason === 'heal' && a.transition.to === 'releasing') this.stats.heals++;
        return;
      case 'acquire': {
        const st = n.rsc.get(a.group);
        if (st !== 'none') this.violation(`${n.name} asked to start ${a.group} while it is ${String(st)}`);
        this.setRsc(n, a.group, 'starting');
        const fail = !this.faultsOver && this.rnd.chance(this.o.startFailure);
        const epoch = n.epoch;
        this.at(this.rnd.int(this.o.minStartMs ?? 20, this.o.maxStartMs), () => {
          if (n.epoch !== epoch) return;
          this.setRsc(n, a.group, 'up'); // a failed start may leave part of the group running
          this.nodeAt(n, 0, () => {
            this.ask(n, () => n.core.acquireDone(a.group, !fail));
          });
        });
        return;
      }
      case 'release': {
        const st = n.rsc.get(a.group);
        const gone = n.lost.delete(a.group) && st === 'none';
        if (st !== 'up' && !gone) this.violation(`${n.name} asked to stop ${a.group} while it is ${String(st)}`);
        if (!gone) this.setRsc(n, a.group, 'stopping');
        const epoch = n.epoch;
        this.at(this.rnd.int(this.o.minStopMs ?? 20, this.o.maxStopMs), () => {
          if (n.epoch !== epoch) return;
          if (n.rsc.get(a.group) !== 'none') this.setRsc(n, a.group, 'none');
          this.nodeAt(n, 0, () => {
            this.ask(n, () => n.core.releaseDone(a.group, true));
          });
        });
        return;
      }
      case 'reannounce': {
        // Announcing an address this node does not run would steer clients away from the one that does.
        const st = n.rsc.get(a.group);
        if (st !== 'up' && !n.lost.has(a.group))
          this.violation(`${n.name} announced ${a.group} while it is ${String(st)}`);
        return;
      }
      case 'claim':
        this.etcdRequest(
          n,
          (now) => {
            const r = this.etcd?.claim(n.name, a.group, n.cfg.hacf.vigil.quorumTtlMs, now);
            return (): CoreAction[] => n.core.claimDone(a.group, r ?? { ok: false, error: 'no etcd' }, this.now);
          },
          () => n.core.claimDone(a.group, { ok: false, error: 'etcd unreachable' } satisfies ClaimResult, this.now),
        );
        return;
      case 'disown':
        this.etcdRequest(
          n,
          (now) => {
            this.etcd?.revoke(a.lease, now);
            return () => n.core.disownDone(a.group, this.now);
          },
          () => n.core.disownDone(a.group, this.now),
        );
        return;
      case 'renew':
        this.etcdRequest(
          n,
          (now) => {
            const r: RenewResult = this.etcd?.keepAlive(a.lease, now) ?? 'gone';
            return () => n.core.renewDone(a.group, a.lease, a.sentAt, r, this.now);
          },
          () => n.core.renewDone(a.group, a.lease, a.sentAt, 'failed', this.now),
        );
        return;
      case 'setTimer': {
        const token = this.seq;
        n.timers.set(a.name, token);
        this.nodeAt(n, a.ms, () => {
          if (n.timers.get(a.name) !== token) return;
          n.timers.delete(a.name);
          this.ask(n, () => n.core.timer(a.name, this.now));
        });
        return;
      }
      case 'cancelTimer':
        n.timers.delete(a.name);
        return;
      case 'fence': {
        const target = this.nodes.find((x) => x.name === a.node);
        const ok = this.faultsOver || this.rnd.chance(0.8);
        this.nodeAt(n, this.rnd.int(200, 2000), () => {
          if (ok && target !== undefined) {
            this.crash(target, `STONITH by ${n.name}`);
            this.restartLater(target, this.faultsOver ? 1000 : this.rnd.int(2000, 15_000));
          }
          this.ask(n, () => n.core.stonithDone(a.node, ok));
        });
        return;
      }
      case 'fenceCancel':
      case 'beat':
      case 'stall':
      case 'member':
        return;
      case 'stopped':
        this.tr(n, 'stopped');
        this.goDown(n);
        if (this.o.script === undefined) this.restartLater(n, this.faultsOver ? 1000 : this.rnd.int(1000, 20_000));
        return;
      case 'reboot':
        this.crash(n, a.reason);
        this.restartLater(n, this.faultsOver ? 1000 : this.rnd.int(2000, 15_000));
        return;
    }
  }

  private setRsc(n: SimNode, g: string, st: Rsc): void {
    const was = n.rsc.get(g);
    n.rsc.set(g, st);
    if (st !== 'none' && was === 'none') {
      if (this.o.quorum === 'release') {
        const other = this.nodes.find((x) => x !== n && x.rsc.get(g) !== 'none');
        if (other !== undefined) {
          this.violation(
            `${g} active on ${n.name} while still ${String(other.rsc.get(g))} on ${other.name} (quorum: never two)`,
          );
        }
      }
      const list = this.groupLists.find(([k]) => k === g)?.[1];
      if (list !== undefined && !list.includes(n.name)) this.violation(`${g} started on ${n.name}, outside its list`);
    }
    let up = false;
    for (const x of this.nodes) if (x.rsc.get(g) === 'up') up = true;
    const since = this.downSince.get(g);
    if (up && since !== undefined) {
      this.outages.push({ group: g, fromMs: since, ms: this.now - since });
      this.downSince.delete(g);
    } else if (!up && since === undefined && this.everUp.has(g)) {
      this.downSince.set(g, this.now);
    }
    if (up) this.everUp.add(g);
    if (this.o.trace) this.tr(n, `rsc ${g} ${st}`);
  }

  private violation(text: string): void {
    this.violations.push(`t=${this.now} ${text}`);
    this.tr(undefined, `VIOLATION ${text}`);
  }

  // ------------------------------------------------------------------ faults

  private scheduleFaults(): void {
    let t = 0;
    for (;;) {
      t += this.rnd.int(200, 2 * this.o.meanFaultGapMs);
      if (t >= this.o.faultMs) break;
      const kind = this.rnd.int(0, 99);
      this.at(t, () => {
        this.fault(kind);
      });
    }
  }

  private fault(kind: number): void {
    if (this.faultsOver) return;
    this.stats.faults++;
    const n = this.rnd.pick(this.nodes);
    if (kind < 20) {
      this.crash(n, 'fault');
      this.restartLater(n, this.rnd.int(500, 25_000));
    } else if (kind < 38) {
      // Partition: every node on a random side; healed later.
      for (let i = 0; i < this.side.length; i++) this.side[i] = this.rnd.int(0, 1);
      if (this.etcd !== undefined) this.etcdSide = this.rnd.int(0, 1);
      this.tr(
        undefined,
        `PARTITION ${this.side.join('')}${this.etcd === undefined ? '' : ` etcd on ${this.etcdSide}`}`,
      );
      this.recomputeHearing();
      this.at(this.rnd.int(1000, 30_000), () => {
        this.side.fill(0);
        this.etcdSide = 0;
        this.tr(undefined, 'HEAL');
        this.recomputeHearing();
      });
    } else if (kind < 46 && this.o.freezes) {
      if (!n.up || this.now < n.frozenUntil) return;
      // Freezes end with the fault phase, so the convergence bound starts from a thawed cluster.
      n.frozenUntil = Math.min(this.now + this.rnd.int(500, 2 * this.o.deadtimeMs), this.o.faultMs);
      this.tr(n, `FREEZE until ${n.frozenUntil}`);
      this.recomputeHearing();
      this.at(n.frozenUntil - this.now, () => {
        this.recomputeHearing();
      });
    } else if (kind < 50) {
      // A stall (a GC pause, a starved process): timers and packets wait, nothing is lost.
      if (!n.up || this.now < n.frozenUntil) return;
      n.frozenUntil = this.now + this.rnd.int(20, Math.max(40, Math.floor(this.o.keepaliveMs * 0.8)));
      this.tr(n, `STALL until ${n.frozenUntil}`);
    } else if (kind < 56 && this.o.asymmetricLoss === true) {
      // One direction of one link drops a share of everything for a while.
      const to = this.rnd.pick(this.nodes.filter((x) => x !== n));
      const key = n.idx * 16 + to.idx;
      const rate = this.rnd.pick([0.3, 0.6, 0.9, 1]);
      this.linkLoss.set(key, rate);
      this.tr(undefined, `LOSS ${n.name}->${to.name} ${rate}`);
      this.recomputeHearing();
      this.at(this.rnd.int(1000, 20_000), () => {
        this.linkLoss.delete(key);
        this.tr(undefined, `LOSS ${n.name}->${to.name} over`);
        this.recomputeHearing();
      });
    } else if (kind < 64 && this.o.reloads === true) {
      // The admin edits the files on every node, then runs `vigil reload` on each, one after the other.
      const d = this.desired;
      this.desired = {
        extra: this.rnd.chance(0.5) ? (d.extra === undefined ? this.rnd.pick(this.names) : undefined) : d.extra,
        fast: this.rnd.chance(0.5) ? !d.fast : d.fast,
      };
      this.tr(undefined, `RELOAD ${JSON.stringify(this.desired)}`);
      for (const x of this.nodes) {
        this.nodeAt(x, this.rnd.int(0, 2000), () => {
          this.reload(x);
        });
      }
    } else if (kind < 67 && this.etcd !== undefined) {
      // etcd loses its quorum (or one node loses etcd) for a while.
      const whole = this.rnd.chance(0.5);
      if (whole) this.etcdUp = false;
      else this.etcdCut.add(n.idx);
      this.tr(whole ? undefined : n, whole ? 'ETCD DOWN' : 'ETCD CUT');
      this.recomputeEtcd();
      this.at(this.rnd.int(500, 25_000), () => {
        if (whole) this.etcdUp = true;
        else this.etcdCut.delete(n.idx);
        this.tr(whole ? undefined : n, whole ? 'ETCD UP' : 'ETCD UNCUT');
        this.recomputeEtcd();
      });
    } else if (kind < 70) {
      if (!n.up) return;
      this.tr(n, 'SHUTDOWN requested');
      this.ask(n, () => n.core.shutdown());
    } else if (kind < 90 && this.o.operatorCommands) {
      if (!n.up || this.now < n.frozenUntil) return;
      const which = this.rnd.pick(['all', 'local', 'foreign'] as const);
      const op = this.rnd.chance(0.5) ? 'standby' : 'takeover';
      this.tr(n, `OPERATOR ${op} ${which}`);
      this.ask(n, () => n.core.command({ op, which }));
    } else {
      if (!n.up) {
        this.boot(n);
      }
    }
  }

  private scripted(st: SimStep): void {
    const n = this.nodes[st.node];
    if (n === undefined) return;
    this.tr(n, `SCRIPT ${st.op}`);
    if (st.op === 'command') {
      const c = st.command;
      this.ask(n, () => (c.op === 'shutdown' ? n.core.shutdown() : n.core.command(c)));
    } else if (st.op === 'boot') {
      if (!n.up) this.boot(n);
    } else {
      this.crash(n, 'script');
    }
  }

  private endFaults(): void {
    this.faultsOver = true;
    this.tr(undefined, 'FAULTS OVER');
    this.side.fill(0);
    this.linkLoss.clear();
    this.etcdUp = true;
    this.etcdSide = 0;
    this.etcdCut.clear();
    this.recomputeHearing();
    if (this.o.script === undefined) for (const n of this.nodes) if (!n.up) this.restartLater(n, this.rnd.int(0, 1000));
  }

  // ------------------------------------------------------------------ properties

  private monitor(): void {
    let good = true;
    const nodes = this.nodes;
    for (const g of this.groupKeys) {
      let holders = 0;
      let up = 0;
      for (const n of nodes) {
        const st = n.rsc.get(g);
        if (st === 'none') continue;
        holders++;
        if (st === 'up') up++;
      }
      if (this.configured(g) ? up !== 1 || holders !== 1 : holders !== 0) good = false;
      if (holders < 2) continue;
      for (let a = 0; a < nodes.length; a++) {
        if (nodes[a]?.rsc.get(g) === 'none') continue;
        for (let b = a + 1; b < nodes.length; b++) {
          if (nodes[b]?.rsc.get(g) === 'none') continue;
          const row = this.hearingSince[a];
          const since = row?.[b];
          if (row !== undefined && since !== undefined && this.now - since > this.healWindowMs) {
            this.violation(
              `${g} held by ${nodes[a]?.name ?? a} and ${nodes[b]?.name ?? b}, hearing each other since t=${since}`,
            );
            row[b] = this.now; // one report per episode
          }
        }
      }
    }
    if (!good) this.lastBad = this.now;
  }

  run(): SimResult {
    if (this.o.script === undefined) {
      for (const n of this.nodes)
        this.at(this.rnd.int(0, 3000), () => {
          this.boot(n);
        });
      this.scheduleFaults();
    } else {
      for (const st of this.o.script)
        this.at(st.atMs, () => {
          this.scripted(st);
        });
    }
    this.at(this.o.faultMs, () => {
      this.endFaults();
    });
    this.sweeps();
    const end = this.o.faultMs + this.convergeBoundMs + 15_000;
    let stop = end;
    const tick = (): void => {
      this.monitor();
      // Good for longer than any timer the engine arms (30 s at most) since the faults ended: nothing left that
      // could move a group, so the rest of the run would only repeat heartbeats.
      if (this.faultsOver && this.now - Math.max(this.lastBad, this.o.faultMs) >= SETTLED_MS) stop = this.now;
      else if (this.now < end) this.at(MONITOR_INTERVAL_MS, tick);
    };
    this.at(MONITOR_INTERVAL_MS, tick);
    while (this.q.size > 0) {
      const e = this.q.pop();
      if (e === undefined || e.at > stop) break;
      this.now = e.at;
      e.fn();
    }
    const convergedAfter =
      this.lastBad < stop - MONITOR_INTERVAL_MS ? Math.max(0, this.lastBad - this.o.faultMs) : undefined;
    if (convergedAfter === undefined || convergedAfter > this.convergeBoundMs) {
      const state = this.nodes
        .map((n) => `${n.name}${n.up ? '' : '(down)'}:[${[...n.rsc].map(([g, s]) => `${g}=${s}`).join(',')}]`)
        .join(' ');
      this.violations.push(
        `not converged within ${this.convergeBoundMs} ms after faults ended (${
          convergedAfter === undefined ? 'never' : `${convergedAfter} ms`
        }): ${state}`,
      );
    }
    if (this.o.trace) {
      for (const n of this.nodes)
        this.tr(n, `final ${n.up ? 'up' : 'down'} ${JSON.stringify(n.core.engine.snapshot())}`);
    }
    return {
      seed: this.o.seed,
      options: this.o,
      violations: this.violations,
      convergedAfterMs: convergedAfter,
      healWindowMs: this.healWindowMs,
      convergeBoundMs: this.convergeBoundMs,
      trace: this.trace,
      outages: this.outages,
      stats: this.stats,
    };
  }
}

/** A varied scenario per seed: 2 to 5 nodes, failback mode, STONITH or not, timing, reordering, one-way loss. */
export function optionsForSeed(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = new Prng(seed ^ 0x9e3779b9);
  const keepaliveMs = r.pick([200, 500, 1000]);
  return {
    ...DEFAULT_SIM,
    seed,
    nodeCount: r.pick([2, 2, 2, 3, 3, 4, 5]),
    autoFailback: r.pick(['on', 'on', 'off', 'legacy'] as const),
    stonith: r.chance(0.3),
    keepaliveMs,
    deadtimeMs: keepaliveMs * r.int(6, 12),
    maxDelayMs: r.pick([5, 50, Math.floor(keepaliveMs / 4)]),
    reorder: r.pick([0, 0, 0.02, 0.1]),
    asymmetricLoss: r.chance(0.3),
    reloads: r.chance(0.3),
    quorum: r.chance(0.35) ? r.pick(['release', 'release', 'keep'] as const) : undefined,
    groupLists: r.chance(0.5),
    ...overrides,
  };
}
