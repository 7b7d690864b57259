/**
 * Node and link liveness as Heartbeat judges it, with no I/O and no timers of its own: the daemon
 * feeds accepted packets in (`onPacket`, `onStatus`, `onPing`, `onShutdone`) and calls `check(now)`
 * regularly (from setImmediate, after queued packets were read). Every call returns the events it
 * caused, log lines included, in order.
 *
 * Rules (heartbeat.c):
 * - Until comm is up every peer's timeout is `initdead`; afterwards the `dt` the peer announces in
 *   its status (our own deadtime if it never said), +2000 ms during the first 5 s after we first
 *   heard that incarnation.
 * - Comm is up when every configured node was heard from or declared dead, or `initdead` ran out.
 * - Only `t=status` refreshes a node; any accepted packet refreshes the link it came on.
 * - A status from a node we declared dead: new generation → it restarted; same generation → it was
 *   alive all along on the other side of a partition (`returning after partition`).
 * - Ping nodes (and ping groups, which the transport names by group) die after `deadping`.
 *
 * Local stall: if `check` runs more than `stallMarginMs` later than promised, the gap is our own
 * fault (frozen process, blocked loop, GC pause, suspended VM); every live peer's deadline is pushed
 * back by the gap instead of declaring peers dead on evidence we never had the chance to read.
 *
 * Vigil's adaptive detector (`vigil_detector adaptive`, see detector.ts) replaces the peer's fixed
 * silence limit by a φ-accrual limit learnt from its inter-arrival times, capped by that deadtime.
 */
import type { CompiledConfig } from '../config/types.js';
import { ArrivalWindow, type AdaptiveSettings } from './detector.js';

import type { LogLevel, NodeStatus } from '../util/vocabulary.js';

export type { LogLevel, NodeStatus } from '../util/vocabulary.js';
export type NodeType = 'normal' | 'ping';

export type MembershipEvent =
  | { readonly kind: 'log'; readonly level: LogLevel; readonly text: string }
  | { readonly kind: 'commUp' }
  /** First status from a node (or from a new incarnation of a dead one). */
  | { readonly kind: 'nodeAlive'; readonly node: string; readonly generation: number; readonly status: NodeStatus }
  /** A higher generation from a node we still considered alive: it restarted within deadtime. */
  | { readonly kind: 'nodeRestarted'; readonly node: string; readonly generation: number }
  /** Same generation from a node we declared dead: partition healed. */
  | { readonly kind: 'nodeReturned'; readonly node: string; readonly generation: number }
  /** `generation` = the incarnation that went silent. */
  | { readonly kind: 'nodeDead'; readonly node: string; readonly generation: number | undefined }
  /** The peer announced a clean stop (`shutdone`): dead without the deadtime wait. */
  | { readonly kind: 'nodeShutdown'; readonly node: string }
  | { readonly kind: 'statusChanged'; readonly node: string; readonly status: NodeStatus }
  | { readonly kind: 'linkUp'; readonly node: string; readonly link: string }
  | { readonly kind: 'linkDead'; readonly node: string; readonly link: string }
  | { readonly kind: 'pingNodeAlive'; readonly node: string }
  | { readonly kind: 'pingNodeDead'; readonly node: string }
  | { readonly kind: 'localStall'; readonly lateByMs: number };

export interface MembershipOptions {
  /** How often the daemon promises to call `check` (ms). Default: keepalive, at most 1 s. */
  readonly checkIntervalMs?: number;
  /** Lateness of `check` that counts as a local stall. Default: keepalive / 2, within 10–1000 ms. */
  readonly stallMarginMs?: number;
}

export interface LinkView {
  readonly name: string;
  readonly up: boolean;
  readonly lastHeardAt: number | undefined;
}

export interface NodeView {
  readonly name: string;
  readonly type: NodeType;
  readonly status: NodeStatus;
  readonly generation: number | undefined;
  readonly lastStatusAt: number | undefined;
  /** The silence limit in force for this node right now (ms): deadtime, or the adaptive limit below it. */
  readonly timeoutMs: number;
  readonly links: readonly LinkView[];
  /** Status inter-arrival times of the current incarnation: what the adaptive detector learnt (peers only). */
  readonly arrivals?: { readonly samples: number; readonly meanMs: number; readonly stddevMs: number };
}

interface LinkState {
  up: boolean;
  lastHeardAt: number | undefined;
}

interface PeerState {
  readonly name: string;
  readonly type: NodeType;
  status: NodeStatus;
  /** false once declared dead (until heard again); ping nodes and normal nodes alike. */
  alive: boolean;
  everHeard: boolean;
  generation: number | undefined;
  lastStatusAt: number | undefined;
  firstHeardAt: number | undefined;
  dtMs: number | undefined;
  /** Added to the deadline after a local stall; cleared by the next status. */
  graceMs: number;
  /** Status inter-arrival times of the current incarnation (adaptive detector). */
  readonly arrivals: ArrivalWindow;
  readonly links: Map<string, LinkState>;
}

/** Heartbeat adds this to an announced dt for the first 5 s of a node's life. */
const EARLY_DT_BONUS_MS = 2000;
const EARLY_WINDOW_MS = 5000;

export class Membership {
  readonly localNode: string;
  private cfg: CompiledConfig['hacf'];
  private readonly peers = new Map<string, PeerState>();
  private readonly startedAt: number;
  private commUp = false;
  private localStatusValue: NodeStatus = 'up';
  private lastCheckAt: number;
  private checkIntervalMs = 1000;
  private stallMarginMs = 500;
  private linkNames: readonly string[] = [];
  private adaptive: AdaptiveSettings | undefined;

  constructor(
    config: CompiledConfig,
    now: number,
    private readonly options: MembershipOptions = {},
  ) {
    this.cfg = config.hacf;
    this.localNode = config.hacf.localNode;
    this.startedAt = now;
    this.lastCheckAt = now;
    this.reconfigure(config);
  }

  /**
   * Timings, detector, media, nodes and ping nodes from a (new) configuration. A new node or ping node is unknown
   * until heard, a departed one is forgotten; what is known of the others stays (a reload moves nothing).
   */
  reconfigure(config: CompiledConfig): void {
    this.cfg = config.hacf;
    // Deadlines get their own wake-ups (nextCheckAt); the interval only paces comm-up and link checks, so one
    // keepalive (at most 1 s) is enough, and an idle daemon wakes up half as often.
    this.checkIntervalMs = this.options.checkIntervalMs ?? Math.min(Math.max(1, this.cfg.keepaliveMs), 1000);
    this.stallMarginMs =
      this.options.stallMarginMs ?? Math.min(1000, Math.max(10, Math.floor(this.cfg.keepaliveMs / 2)));
    const v = this.cfg.vigil;
    this.adaptive = v.detector === 'adaptive' ? { phi: v.detectorPhi, minBeats: v.detectorMinBeats } : undefined;
    const names: string[] = [];
    for (const m of this.cfg.media) {
      const n = m.kind === 'serial' ? m.tty : m.dev;
      if (!names.includes(n)) names.push(n);
    }
    this.linkNames = names;
    const wanted = new Map<string, NodeType>();
    for (const n of this.cfg.nodes) if (n !== this.localNode) wanted.set(n, 'normal');
    for (const p of this.cfg.pingNodes) wanted.set(p.name, 'ping');
    for (const [n, p] of this.peers) if (wanted.get(n) !== p.type) this.peers.delete(n);
    for (const [n, type] of wanted) {
      const p = this.peers.get(n);
      if (p === undefined) {
        this.peers.set(n, this.newPeer(n, type));
        continue;
      }
      if (type === 'ping') continue;
      for (const l of [...p.links.keys()]) if (!names.includes(l)) p.links.delete(l);
      for (const l of names) if (!p.links.has(l)) p.links.set(l, { up: false, lastHeardAt: undefined });
    }
  }

  private newPeer(name: string, type: NodeType): PeerState {
    const links = new Map<string, LinkState>();
    for (const l of type === 'ping' ? [] : this.linkNames) links.set(l, { up: false, lastHeardAt: undefined });
    return {
      name,
      type,
      status: type === 'ping' ? 'dead' : 'init',
      alive: true,
      everHeard: false,
      generation: undefined,
      lastStatusAt: undefined,
      firstHeardAt: undefined,
      dtMs: undefined,
      graceMs: 0,
      arrivals: new ArrivalWindow(),
      links,
    };
  }

  get isCommUp(): boolean {
    return this.commUp;
  }

  /** What our own status packets say (`up` until comm is up, then `active`). */
  get localStatus(): NodeStatus {
    return this.localStatusValue;
  }

  /** The daemon sets `dead` while shutting down. */
  setLocalStatus(st: NodeStatus): void {
    this.localStatusValue = st;
  }

  isAlive(node: string): boolean {
    if (node === this.localNode) return true;
    const p = this.peers.get(node);
    return p !== undefined && p.alive && p.everHeard;
  }

  /** Deadtime in force for a peer now. */
  timeoutFor(node: string, now: number): number {
    const p = this.peers.get(node);
    if (p === undefined) return this.cfg.deadtimeMs;
    if (p.type === 'ping') return this.cfg.deadpingMs;
    if (!this.commUp) return this.cfg.initdeadMs;
    const dt = p.dtMs ?? this.cfg.deadtimeMs;
    const early = p.firstHeardAt !== undefined && now - p.firstHeardAt < EARLY_WINDOW_MS;
    return early ? dt + EARLY_DT_BONUS_MS : dt;
  }

  /**
   * The silence after which a live peer is declared dead: its deadtime, or with the adaptive detector the
   * φ-accrual limit when that is shorter (never longer: deadtime stays the hard bound).
   */
  silenceLimitFor(node: string, now: number): number {
    const t = this.timeoutFor(node, now);
    const p = this.peers.get(node);
    if (this.adaptive === undefined || p === undefined || p.type === 'ping' || !this.commUp) return t;
    const a = p.arrivals.limit(this.adaptive);
    // Whatever the arrivals say, never fewer than minBeats of our own keepalive (the cluster's beat).
    return a === undefined ? t : Math.min(t, Math.max(a, this.adaptive.minBeats * this.cfg.keepaliveMs));
  }

  /** Any accepted packet from a normal node marks the link it arrived on as up. */
  onPacket(from: string, link: string, now: number): MembershipEvent[] {
    const p = this.peers.get(from);
    if (p === undefined || p.type === 'ping') return [];
    const ev: MembershipEvent[] = [];
    let l = p.links.get(link);
    if (l === undefined) {
      // A medium the config did not name (e.g. the transport names links by address): track it anyway.
      l = { up: false, lastHeardAt: undefined };
      p.links.set(link, l);
    }
    l.lastHeardAt = now;
    if (!l.up) {
      l.up = true;
      ev.push({ kind: 'log', level: 'info', text: `Link ${from}:${link} up.` });
      ev.push({ kind: 'linkUp', node: from, link });
    }
    return ev;
  }

  /**
   * A `t=status` from a normal node (also call onPacket for the link). `late`: it filled a gap in the sender's
   * sequence (see the wire layer's Accepted.late), so its arrival time is not a heartbeat interval: after a
   * partition heals, the retransmitted backlog arrives in one burst, and counted as heartbeats it taught the
   * adaptive detector "every 5 ms" and got the peer declared dead 40 ms later.
   */
  onStatus(
    from: string,
    generation: number,
    st: NodeStatus,
    dtMs: number | undefined,
    now: number,
    late = false,
  ): MembershipEvent[] {
    const p = this.peers.get(from);
    if (p === undefined || p.type === 'ping') return [];
    const ev: MembershipEvent[] = [];
    if (p.generation !== undefined && generation < p.generation) return ev; // stale incarnation: the wire layer logs the replay
    const wasDead = !p.alive;
    const newGen = p.generation !== undefined && generation > p.generation;
    if (p.everHeard && p.alive && p.lastStatusAt !== undefined) {
      const interval = now - p.lastStatusAt;
      if (interval > this.cfg.warntimeMs) {
        const level: LogLevel = interval > this.timeoutFor(from, now) ? 'CRIT' : 'WARN';
        // Whole milliseconds, as Heartbeat prints them (`now` comes from a sub-millisecond clock).
        ev.push({ kind: 'log', level, text: `Late heartbeat: Node ${from}: interval ${Math.round(interval)} ms` });
      }
    }
    if (wasDead) {
      if (newGen || !p.everHeard || p.generation === undefined) {
        p.firstHeardAt = now;
        ev.push({ kind: 'nodeAlive', node: from, generation, status: st });
      } else {
        ev.push({ kind: 'log', level: 'CRIT', text: `Cluster node ${from} returning after partition.` });
        ev.push({ kind: 'log', level: 'WARN', text: 'Deadtime value may be too small.' });
        ev.push({ kind: 'nodeReturned', node: from, generation });
      }
    } else if (!p.everHeard) {
      p.firstHeardAt = now;
      ev.push({ kind: 'nodeAlive', node: from, generation, status: st });
    } else if (newGen) {
      p.firstHeardAt = now;
      ev.push({ kind: 'log', level: 'info', text: `Heartbeat restart on node ${from}` });
      ev.push({ kind: 'nodeRestarted', node: from, generation });
    }
    if (wasDead || newGen) p.arrivals.reset();
    if (!late) p.arrivals.arrived(now);
    p.alive = true;
    p.everHeard = true;
    p.generation = generation;
    p.lastStatusAt = now;
    p.graceMs = 0;
    // A late status is older than what we know: it proves the node alive but does not roll its status back.
    if (!late && dtMs !== undefined && dtMs > 0) p.dtMs = dtMs;
    if (p.status !== st && (!late || wasDead)) {
      p.status = st;
      ev.push({ kind: 'log', level: 'info', text: `Status update for node ${from}: status ${st}` });
      ev.push({ kind: 'statusChanged', node: from, status: st });
    }
    if (!this.commUp) ev.push(...this.maybeCommUp(now, false));
    return ev;
  }

  /** An answer from a ping node or ping group (named as in the config). */
  onPing(node: string, now: number): MembershipEvent[] {
    const p = this.peers.get(node);
    if (p?.type !== 'ping') return [];
    p.lastStatusAt = now;
    p.graceMs = 0;
    const ev: MembershipEvent[] = [];
    if (!p.everHeard || !p.alive || p.status !== 'ping') {
      p.everHeard = true;
      p.alive = true;
      p.status = 'ping';
      ev.push({ kind: 'log', level: 'info', text: `Status update for node ${node}: status ping` });
      ev.push({ kind: 'pingNodeAlive', node });
    }
    return ev;
  }

  /**
   * `t=shutdone` from a peer: it stopped cleanly; no deadtime wait. Heartbeat logs `node X: is dead` for a peer that
   * shut down too (a deadtime later, when its heartbeats have stopped); tools wait for that line (Heartbeat's CTS
   * after every stop), so it is logged here, when Vigil decides.
   */
  onShutdone(from: string, now: number): MembershipEvent[] {
    const p = this.peers.get(from);
    if (p === undefined || p.type === 'ping' || !p.alive) return [];
    p.alive = false;
    p.status = 'dead';
    p.lastStatusAt = now;
    const ev: MembershipEvent[] = [
      { kind: 'log', level: 'WARN', text: `node ${from}: is dead` },
      { kind: 'statusChanged', node: from, status: 'dead' },
      { kind: 'nodeShutdown', node: from },
    ];
    for (const [name, l] of p.links) {
      if (l.up) {
        l.up = false;
        ev.push({ kind: 'log', level: 'info', text: `Link ${from}:${name} dead.` });
        ev.push({ kind: 'linkDead', node: from, link: name });
      }
    }
    return ev;
  }

  /** When `check` must run next at the latest (the earliest deadline, or the promised interval). */
  nextCheckAt(now: number): number {
    let next = now + this.checkIntervalMs;
    for (const p of this.peers.values()) {
      if (!p.alive) continue;
      const d = this.deadline(p, now);
      if (d !== undefined && d < next) next = d;
    }
    return Math.max(now + 1, next);
  }

  private deadline(p: PeerState, now: number): number | undefined {
    const base = p.lastStatusAt ?? (p.type === 'ping' ? this.startedAt : this.startedAt);
    if (p.type === 'ping' && !p.everHeard) return base + this.cfg.deadpingMs + p.graceMs;
    return base + this.silenceLimitFor(p.name, now) + p.graceMs;
  }

  /**
   * Judge every node against its deadline. Call regularly, after reading queued packets. `dueAt` is when
   * this check was scheduled to run (the daemon's timer); without it, lateness is judged against the
   * promised interval since the previous check.
   */
  check(now: number, dueAt?: number): MembershipEvent[] {
    const ev: MembershipEvent[] = [];
    const gap = now - this.lastCheckAt;
    this.lastCheckAt = now;
    const late = dueAt === undefined ? gap - this.checkIntervalMs : now - dueAt;
    if (late > this.stallMarginMs) {
      for (const p of this.peers.values()) if (p.alive) p.graceMs += late;
      ev.push({
        kind: 'log',
        level: 'WARN',
        text: `Liveness check ran ${late} ms late (local stall): extending peer deadlines.`,
      });
      ev.push({ kind: 'localStall', lateByMs: late });
    }
    for (const p of this.peers.values()) {
      if (!p.alive) continue;
      const d = this.deadline(p, now);
      if (d === undefined || now <= d) continue;
      p.alive = false;
      if (p.type === 'ping') {
        const was = p.status;
        p.status = 'dead';
        ev.push({ kind: 'log', level: 'WARN', text: `node ${p.name}: is dead` });
        if (was !== 'dead') ev.push({ kind: 'statusChanged', node: p.name, status: 'dead' });
        ev.push({ kind: 'pingNodeDead', node: p.name });
        continue;
      }
      p.status = 'dead';
      const limit = this.silenceLimitFor(p.name, now);
      const deadtime = this.timeoutFor(p.name, now);
      if (limit < deadtime && p.lastStatusAt !== undefined) {
        const a = p.arrivals;
        ev.push({
          kind: 'log',
          level: 'info',
          text: `node ${p.name}: silent for ${Math.round(now - p.lastStatusAt)} ms, past its adaptive limit of ${limit} ms (heartbeat every ${Math.round(a.mean)} ± ${Math.round(a.stddev)} ms; deadtime ${deadtime} ms)`,
        });
      }
      ev.push({ kind: 'log', level: 'WARN', text: `node ${p.name}: is dead` });
      ev.push({ kind: 'statusChanged', node: p.name, status: 'dead' });
      ev.push({ kind: 'nodeDead', node: p.name, generation: p.generation });
    }
    // Links die on their own clock: no packet on the link for that node's deadtime.
    for (const p of this.peers.values()) {
      if (p.type === 'ping') continue;
      const t = this.timeoutFor(p.name, now) + p.graceMs;
      for (const [name, l] of p.links) {
        if (l.up && (l.lastHeardAt === undefined || now - l.lastHeardAt > t)) {
          l.up = false;
          ev.push({ kind: 'log', level: 'info', text: `Link ${p.name}:${name} dead.` });
          ev.push({ kind: 'linkDead', node: p.name, link: name });
        }
      }
    }
    if (!this.commUp) ev.push(...this.maybeCommUp(now, now - this.startedAt >= this.cfg.initdeadMs));
    return ev;
  }

  private maybeCommUp(now: number, initdeadExpired: boolean): MembershipEvent[] {
    let all = true;
    for (const p of this.peers.values()) {
      if (p.type === 'ping') continue;
      if (!p.everHeard && p.alive) all = false;
    }
    if (!all && !initdeadExpired) return [];
    this.commUp = true;
    this.localStatusValue = 'active';
    // Peers heard during initdead now run on their own dt; give them a fresh period from now.
    for (const p of this.peers.values())
      if (p.alive && p.everHeard && p.lastStatusAt !== undefined) p.firstHeardAt ??= now;
    return [
      { kind: 'log', level: 'info', text: 'Comm_now_up(): updating status to active' },
      { kind: 'log', level: 'info', text: "Local status now set to: 'active'" },
      { kind: 'commUp' },
    ];
  }

  /** Read-only view for `cl_status` / the status API. */
  nodes(now: number): NodeView[] {
    const out: NodeView[] = [
      {
        name: this.localNode,
        type: 'normal',
        status: this.localStatusValue,
        generation: undefined,
        lastStatusAt: undefined,
        timeoutMs: this.cfg.deadtimeMs,
        links: this.linkNames.map((name) => ({ name, up: true, lastHeardAt: undefined })),
      },
    ];
    for (const p of this.peers.values()) {
      out.push({
        name: p.name,
        type: p.type,
        status: p.status,
        generation: p.generation,
        lastStatusAt: p.lastStatusAt,
        timeoutMs: this.silenceLimitFor(p.name, now),
        links: [...p.links].map(([name, l]) => ({ name, up: l.up, lastHeardAt: l.lastHeardAt })),
        arrivals: { samples: p.arrivals.count, meanMs: p.arrivals.mean, stddevMs: p.arrivals.stddev },
      });
    }
    return out;
  }

  /** Live ping nodes (ipfail compares this count between the two nodes). */
  livePingNodes(): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.type === 'ping' && p.alive && p.everHeard) n++;
    return n;
  }
}
