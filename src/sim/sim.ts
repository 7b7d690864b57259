/**
 * Deterministic simulation of a Vigil cluster: N nodes, each running Membership + ClusterEngine
 * wired the way the daemon wires them, on one simulated time line, over a simulated network with
 * seeded loss, delay, partitions, crashes, restarts (new generation), freezes (SIGSTOP-like
 * stalls), graceful stops, operator standby/takeover and STONITH, and a resource model whose
 * start/stop take time and may fail. Same seed, same run.
 *
 * Lives in src/ (not test/) so benchmarks can reuse it; it does no I/O.
 *
 * Network model: per ordered pair, FIFO delivery with a random delay in [1, maxDelayMs]; status
 * packets are lost with probability `statusLoss`; nothing crosses a partition. Control messages
 * cut off by a partition are delivered after it heals unless either side restarted or more than
 * 250 packets were missed (Heartbeat's NS_rexmit recovers them the same way). A crash takes the
 * node's resources with it (host crash, or the kernel-held VIP lease expiring); a freeze keeps
 * them and queues everything addressed to the node until it thaws.
 *
 * Properties checked (see `SimResult.violations`):
 * - Safety: a group is never active (starting, up or stopping) on two nodes that have been able to
 *   hear each other for longer than `healWindowMs` = keepalive + 3 × max delay + max start + max
 *   stop + check interval + 1 s. "Hear each other" = both up, neither frozen, same side of every
 *   partition. The window covers the end of a partition or freeze: the first status after the
 *   heal must arrive, both sides exchange holdings, the loser stops the group. Inside a partition
 *   both sides may hold a group (that is what deadtime expiry does without STONITH).
 * - Liveness: after faults stop (partitions healed, nodes thawed and restarted, no more failures),
 *   within `convergeBoundMs` every group is up on exactly one node and nothing is in transition,
 *   and it stays so until the end of the run.
 */
import type { AutoFailback, CompiledConfig } from '../config/types.js';
import { ClusterEngine } from '../cluster/engine.js';
import type { ClusterAction, ClusterEvent, OperatorCommand } from '../cluster/types.js';
import { clusterEventOf } from '../cluster/types.js';
import type { EngineMessage } from '../cluster/protocol.js';
import { Membership, type MembershipEvent } from '../membership/membership.js';
import { Prng } from './prng.js';
import { simConfig } from './config.js';

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
  /** A fixed scenario instead of random faults: nodes boot only when the script says so. */
  readonly script?: readonly SimStep[];
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
  readonly stats: { events: number; messages: number; faults: number; takeovers: number; heals: number };
}

type Rsc = 'none' | 'starting' | 'up' | 'stopping';

interface SimNode {
  readonly name: string;
  readonly idx: number;
  readonly cfg: CompiledConfig;
  up: boolean;
  frozenUntil: number;
  generation: number;
  /** Bumped on every crash/stop: callbacks of an older epoch are void. */
  epoch: number;
  membership: Membership;
  engine: ClusterEngine;
  timers: Map<string, number>;
  rsc: Map<string, Rsc>;
  seenGen: Map<string, number>;
  shuttingDown: boolean;
}

interface Pending {
  readonly gen: number;
  readonly toEpoch: number;
  readonly msg: EngineMessage;
}

interface Ev {
  at: number;
  seq: number;
  fn: () => void;
}

/** Binary min-heap on (at, seq). */
class Queue {
  private h: Ev[] = [];
  push(e: Ev): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const hp = h[p];
      if (hp === undefined || less(hp, e)) break;
      h[i] = hp;
      i = p;
    }
    h[i] = e;
  }
  pop(): Ev | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const hl = h[l];
      const hr = h[r];
      let c = l;
      let hc = hl;
      if (hr !== undefined && hl !== undefined && less(hr, hl)) {
        c = r;
        hc = hr;
      }
      if (hc === undefined || !less(hc, last)) break;
      h[i] = hc;
      i = c;
    }
    h[i] = last;
    return top;
  }
  get size(): number {
    return this.h.length;
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
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

export function runSim(options: SimOptions): SimResult {
  return new Sim(options).run();
}

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
  private readonly pending = new Map<number, { msgs: Pending[]; gap: number }>();
  private readonly hearingSince: Array<Array<number | undefined>>;
  private readonly violations: string[] = [];
  private readonly outages: Outage[] = [];
  private readonly downSince = new Map<string, number>();
  private readonly everUp = new Set<string>();
  private readonly trace: string[] = [];
  private faultsOver = false;
  private lastBad = 0;
  private genCounter = 1000;
  private readonly stats = { events: 0, messages: 0, faults: 0, takeovers: 0, heals: 0 };
  readonly healWindowMs: number;
  readonly convergeBoundMs: number;

  constructor(o: SimOptions) {
    this.o = o;
    this.rnd = new Prng(o.seed);
    const names = Array.from({ length: o.nodeCount }, (_, i) => `node${i + 1}`);
    const groups: Array<[string, string]> = names.map((n, i) => [`IPaddr::10.0.0.${i + 10}`, n]);
    // One extra group so a node prefers two (group order matters for standby classes).
    groups.push(['IPaddr::10.0.0.99', names[0] ?? 'node1']);
    for (const [k] of groups) this.groupKeys.push(k);
    this.side = names.map(() => 0);
    this.hearingSince = names.map(() => names.map(() => undefined));
    for (const [i, name] of names.entries()) {
      const cfg = simConfig({
        nodes: names,
        localNode: name,
        groups,
        keepaliveMs: o.keepaliveMs,
        deadtimeMs: o.deadtimeMs,
        autoFailback: o.autoFailback,
        stonith: o.stonith ? 'external/sim' : undefined,
      });
      this.nodes.push({
        name,
        idx: i,
        cfg,
        up: false,
        frozenUntil: 0,
        generation: 0,
        epoch: 0,
        membership: new Membership(cfg, 0),
        engine: new ClusterEngine(cfg),
        timers: new Map(),
        rsc: new Map(this.groupKeys.map((g) => [g, 'none'])),
        seenGen: new Map(),
        shuttingDown: false,
      });
    }
    this.healWindowMs = o.keepaliveMs + 3 * o.maxDelayMs + o.maxStartMs + o.maxStopMs + CHECK_INTERVAL_MS + 1000;
    const initdead = this.nodes[0]?.cfg.hacf.initdeadMs ?? o.deadtimeMs;
    // Restarts at the end of faults + initdead or deadtime, the 10 s both-starting fallback, the
    // 30 s failed-start standby, STONITH and a chain of handovers (stop + start, several times).
    this.convergeBoundMs =
      Math.max(initdead, o.deadtimeMs + 2000) + 10_000 + 30_000 + 5000 + 6 * (o.maxStartMs + o.maxStopMs) + 5000;
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

  private boot(n: SimNode): void {
    n.up = true;
    n.shuttingDown = false;
    n.frozenUntil = 0;
    n.epoch++;
    n.generation = ++this.genCounter;
    n.membership = new Membership(n.cfg, this.now, { checkIntervalMs: CHECK_INTERVAL_MS });
    n.engine = new ClusterEngine(n.cfg);
    n.timers = new Map();
    n.seenGen = new Map();
    for (const g of this.groupKeys) n.rsc.set(g, 'none');
    this.tr(n, `boot generation ${n.generation}`);
    this.recomputeHearing();
    const beat = (): void => {
      this.broadcast(n, { t: 'status', st: n.membership.localStatus, dt: this.o.deadtimeMs, protocol: 1 });
      this.nodeAt(n, this.o.keepaliveMs, beat);
    };
    this.nodeAt(n, 0, beat);
    const check = (): void => {
      this.feed(n, n.membership.check(this.now));
      this.nodeAt(n, CHECK_INTERVAL_MS, check);
    };
    this.nodeAt(n, CHECK_INTERVAL_MS, check);
  }

  /** Power loss / kill -9 / STONITH: the daemon is gone and (host crash, or the VIP lease) so are its resources. */
  private crash(n: SimNode, why: string): void {
    if (!n.up) return;
    this.tr(n, `CRASH (${why})`);
    n.up = false;
    n.epoch++;
    for (const g of this.groupKeys) if (n.rsc.get(g) !== 'none') this.setRsc(n, g, 'none');
    this.recomputeHearing();
  }

  private restartLater(n: SimNode, ms: number): void {
    this.at(ms, () => {
      if (!n.up) this.boot(n);
    });
  }

  // ------------------------------------------------------------------ network

  private hears(a: number, b: number): boolean {
    const na = this.nodes[a];
    const nb = this.nodes[b];
    if (na === undefined || nb === undefined) return false;
    return na.up && nb.up && this.now >= na.frozenUntil && this.now >= nb.frozenUntil && this.side[a] === this.side[b];
  }

  private recomputeHearing(): void {
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

  /**
   * Heartbeat's wire layer retransmits what a peer missed (NS_rexmit) as long as neither side
   * restarted and the gap stays under 250 packets: control messages cut off by a partition
   * arrive after it heals, in order. Status packets are only ever lost.
   */
  private broadcast(from: SimNode, msg: EngineMessage): void {
    if (this.o.trace) this.tr(from, `send ${JSON.stringify(msg)}`);
    for (const to of this.nodes) {
      if (to === from || !to.up) continue;
      const p: Pending = { gen: from.generation, toEpoch: to.epoch, msg };
      if (this.side[from.idx] !== this.side[to.idx]) {
        this.miss(from, to, p);
        continue;
      }
      if (msg.t === 'status' && this.rnd.chance(this.o.statusLoss)) continue;
      this.transmit(from, to, p);
    }
  }

  private transmit(from: SimNode, to: SimNode, p: Pending): void {
    const key = from.idx * 16 + to.idx;
    const deliverAt = Math.max(this.chanLast.get(key) ?? 0, this.now + this.rnd.int(1, this.o.maxDelayMs));
    this.chanLast.set(key, deliverAt);
    this.stats.messages++;
    this.at(deliverAt - this.now, () => {
      if (to.epoch !== p.toEpoch) return;
      if (this.side[from.idx] !== this.side[to.idx]) {
        this.miss(from, to, p);
        return;
      }
      this.nodeAt(to, 0, () => {
        this.receive(to, from.name, p.gen, p.msg);
      });
    });
  }

  private miss(from: SimNode, to: SimNode, p: Pending): void {
    const key = from.idx * 16 + to.idx;
    let q = this.pending.get(key);
    if (q === undefined) {
      q = { msgs: [], gap: 0 };
      this.pending.set(key, q);
    }
    q.gap++;
    if (p.msg.t !== 'status') q.msgs.push(p);
    // Beyond 250 missing packets Heartbeat resets its tracking: the rest is lost for good.
    if (q.gap > 250) q.msgs.length = 0;
  }

  /** After a heal: what the receiver missed is retransmitted, unless either side restarted. */
  private flushPending(): void {
    for (const [key, q] of this.pending) {
      const from = this.nodes[Math.floor(key / 16)];
      const to = this.nodes[key % 16];
      if (from === undefined || to === undefined || this.side[from.idx] !== this.side[to.idx]) continue;
      this.pending.delete(key);
      for (const p of q.msgs) {
        if (p.gen === from.generation && from.up && to.up && p.toEpoch === to.epoch) this.transmit(from, to, p);
      }
    }
  }

  private receive(n: SimNode, from: string, gen: number, msg: EngineMessage): void {
    // The wire layer: replays of an older generation are dropped; messages for others too.
    const seen = n.seenGen.get(from) ?? 0;
    if (gen < seen) return;
    n.seenGen.set(from, gen);
    if ('dest' in msg && msg.dest !== undefined && msg.dest !== n.name) return;
    const m = n.membership;
    const ev: MembershipEvent[] = m.onPacket(from, 'eth0', this.now);
    if (msg.t === 'status') {
      ev.push(...m.onStatus(from, gen, msg.st, msg.dt, this.now));
      this.feed(n, ev);
      return;
    }
    if (msg.t === 'shutdone') ev.push(...m.onShutdone(from, this.now));
    this.feed(n, ev);
    this.handle(n, { kind: 'message', from, generation: gen, msg });
  }

  // ------------------------------------------------------------------ daemon glue

  private feed(n: SimNode, events: MembershipEvent[]): void {
    for (const e of events) {
      if (e.kind === 'log') {
        if (this.o.trace) this.tr(n, `${e.level}: ${e.text}`);
        continue;
      }
      if (e.kind === 'nodeReturned') this.stats.heals++;
      const ce = clusterEventOf(e);
      if (ce !== undefined) this.handle(n, ce);
    }
  }

  private handle(n: SimNode, ev: ClusterEvent): void {
    if (!n.up) return;
    this.stats.events++;
    if (this.o.trace && ev.kind !== 'message') this.tr(n, `event ${JSON.stringify(ev)}`);
    const actions = n.engine.handle(ev);
    for (const a of actions) this.exec(n, a);
  }

  private exec(n: SimNode, a: ClusterAction): void {
    if (!n.up) return;
    switch (a.kind) {
      case 'log':
        if (this.o.trace) this.tr(n, `${a.level}: ${a.text}`);
        if (a.text.startsWith('Taking over resource group')) this.stats.takeovers++;
        return;
      case 'send':
        this.broadcast(n, a.msg);
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
            this.handle(n, { kind: 'acquireDone', group: a.group, ok: !fail });
          });
        });
        return;
      }
      case 'release': {
        const st = n.rsc.get(a.group);
        if (st !== 'up') this.violation(`${n.name} asked to stop ${a.group} while it is ${String(st)}`);
        this.setRsc(n, a.group, 'stopping');
        const epoch = n.epoch;
        this.at(this.rnd.int(this.o.minStopMs ?? 20, this.o.maxStopMs), () => {
          if (n.epoch !== epoch) return;
          this.setRsc(n, a.group, 'none');
          this.nodeAt(n, 0, () => {
            this.handle(n, { kind: 'releaseDone', group: a.group, ok: true });
          });
        });
        return;
      }
      case 'reannounce': {
        // Announcing an address this node does not run would steer clients away from the one that does.
        const st = n.rsc.get(a.group);
        if (st !== 'up') this.violation(`${n.name} announced ${a.group} while it is ${String(st)}`);
        return;
      }
      case 'setTimer': {
        const token = this.seq;
        n.timers.set(a.name, token);
        this.nodeAt(n, a.ms, () => {
          if (n.timers.get(a.name) !== token) return;
          n.timers.delete(a.name);
          this.handle(n, { kind: 'timer', name: a.name });
        });
        return;
      }
      case 'cancelTimer':
        n.timers.delete(a.name);
        return;
      case 'stonith': {
        const target = this.nodes.find((x) => x.name === a.node);
        const ok = this.faultsOver || this.rnd.chance(0.8);
        this.nodeAt(n, this.rnd.int(200, 2000), () => {
          if (ok && target !== undefined) {
            this.crash(target, `STONITH by ${n.name}`);
            this.restartLater(target, this.faultsOver ? 1000 : this.rnd.int(2000, 15_000));
          }
          this.handle(n, { kind: 'stonithDone', node: a.node, ok });
        });
        return;
      }
      case 'shutdownComplete':
        this.tr(n, 'stopped');
        n.up = false;
        n.epoch++;
        this.recomputeHearing();
        if (this.o.script === undefined) this.restartLater(n, this.faultsOver ? 1000 : this.rnd.int(1000, 20_000));
        return;
      case 'reboot':
        this.crash(n, a.reason);
        this.restartLater(n, this.faultsOver ? 1000 : this.rnd.int(2000, 15_000));
        return;
    }
  }

  private setRsc(n: SimNode, g: string, st: Rsc): void {
    n.rsc.set(g, st);
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
    if (kind < 22) {
      this.crash(n, 'fault');
      this.restartLater(n, this.rnd.int(500, 25_000));
    } else if (kind < 44) {
      // Partition: every node on a random side; healed later.
      for (let i = 0; i < this.side.length; i++) this.side[i] = this.rnd.int(0, 1);
      this.tr(undefined, `PARTITION ${this.side.join('')}`);
      this.recomputeHearing();
      this.flushPending();
      this.at(this.rnd.int(1000, 30_000), () => {
        this.side.fill(0);
        this.tr(undefined, 'HEAL');
        this.recomputeHearing();
        this.flushPending();
      });
    } else if (kind < 54 && this.o.freezes) {
      if (!n.up || this.now < n.frozenUntil) return;
      // Freezes end with the fault phase, so the convergence bound starts from a thawed cluster.
      n.frozenUntil = Math.min(this.now + this.rnd.int(500, 2 * this.o.deadtimeMs), this.o.faultMs);
      this.tr(n, `FREEZE until ${n.frozenUntil}`);
      this.recomputeHearing();
      this.at(n.frozenUntil - this.now, () => {
        this.recomputeHearing();
      });
    } else if (kind < 66) {
      if (!n.up) return;
      this.tr(n, 'SHUTDOWN requested');
      this.handle(n, { kind: 'command', command: { op: 'shutdown' } });
    } else if (kind < 90 && this.o.operatorCommands) {
      if (!n.up || this.now < n.frozenUntil) return;
      const which = this.rnd.pick(['all', 'local', 'foreign'] as const);
      const op = this.rnd.chance(0.5) ? 'standby' : 'takeover';
      this.tr(n, `OPERATOR ${op} ${which}`);
      this.handle(n, { kind: 'command', command: { op, which } });
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
      this.handle(n, { kind: 'command', command: st.command });
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
    this.recomputeHearing();
    this.flushPending();
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
      if (up !== 1 || holders !== 1) good = false;
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
    const end = this.o.faultMs + this.convergeBoundMs + 15_000;
    const tick = (): void => {
      this.monitor();
      if (this.now < end) this.at(MONITOR_INTERVAL_MS, tick);
    };
    this.at(MONITOR_INTERVAL_MS, tick);
    while (this.q.size > 0) {
      const e = this.q.pop();
      if (e === undefined || e.at > end) break;
      this.now = e.at;
      e.fn();
    }
    const convergedAfter =
      this.lastBad < end - MONITOR_INTERVAL_MS ? Math.max(0, this.lastBad - this.o.faultMs) : undefined;
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
      for (const n of this.nodes) this.tr(n, `final ${n.up ? 'up' : 'down'} ${JSON.stringify(n.engine.snapshot())}`);
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

/** A varied scenario per seed: 2 or 3 nodes, failback mode, STONITH or not, timing. */
export function optionsForSeed(seed: number, overrides: Partial<SimOptions> = {}): SimOptions {
  const r = new Prng(seed ^ 0x9e3779b9);
  const keepaliveMs = r.pick([200, 500, 1000]);
  return {
    ...DEFAULT_SIM,
    seed,
    nodeCount: r.chance(0.6) ? 2 : 3,
    autoFailback: r.pick(['on', 'on', 'off', 'legacy'] as const),
    stonith: r.chance(0.3),
    keepaliveMs,
    deadtimeMs: keepaliveMs * r.int(6, 12),
    maxDelayMs: r.pick([5, 50, Math.floor(keepaliveMs / 4)]),
    ...overrides,
  };
}
