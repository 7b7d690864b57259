/**
 * Who holds which resource group: Heartbeat's haresources logic as a pure state machine.
 * `handle(event)` mutates the engine's state and returns the actions the daemon must carry out;
 * `step(config, state, event)` is the same thing as a function over a copied state.
 *
 * Heartbeat compatibility (two nodes): the same messages, in the same order, with the same log
 * texts: nice_failback's starting/resource exchange and the 10 s both-starting fallback, legacy
 * ip-request/ip-request-resp, mach_down takeover gated on STONITH, shutdown handover, the 3-phase
 * standby protocol (operator standby, hb_takeover, auto_failback).
 *
 * Where Vigil differs on purpose:
 * - Partition heal keeps the service up: instead of giving everything up and restarting, both sides
 *   announce what they hold (`resource`) and, for each group held twice, every holder except the
 *   winner releases it. Winner = the group's preferred node if it holds the group, else the first
 *   holder in `node` order. The winner already holds it, so there is no outage.
 * - More than two nodes (Vigil only): a group nobody alive holds goes to its preferred node if
 *   that node takes part, else to the first node in `node` order that takes part (alive, not
 *   shutting down). Every node evaluates the same rule, so exactly one acts. `resource` and
 *   `ask_resources` then carry the exact group list (`vigil_groups`) and standby messages a `dest`.
 * - With more than two nodes, `auto_failback legacy` runs as `on` (legacy's ip-request cannot
 *   name holders among several nodes).
 * - A group nobody holds (acquire failed, peer restarted within deadtime, standby of a node that
 *   then died) is adopted by the rule above instead of staying down (`No one owns ... resources!`
 *   is still logged in the two-node case Heartbeat logs it).
 * - Holdings are announced (`resource`) whenever they settle to something peers do not already
 *   believe; a `resource` with `info=heal` asks the receiver to announce back.
 * - Legacy heal: on a partition return each side asks again (`ip-request`) for its own groups and
 *   gives the returning node back its groups (release, then `ip-request-resp`).
 *
 * Safety rules every path obeys: never start a group some live peer claims, is giving up (until
 * the receiver claims it, the giver dies, or FLUX_EXPIRY_MS), or may hold (holdings unknown, or
 * the peer is shutting down); never take over from a dead node that needs STONITH before the
 * reset succeeded. The giver of a planned move stops first and then tells the taker, which
 * starts at once (one hop: outage = stop + one network delay + start).
 *
 * Timers the engine asks for (`setTimer`/`timer` by name): `bothStarting` (10 s fallback),
 * `standbyReply` (10 s), `standbyDone` (responder guard), `failedStart` (30 s, then standby of the
 * failed groups), `stonith:<node>` (5 s retry), `flux:<node>` (reservation expiry).
 */
import type { CompiledConfig } from '../config/types.js';
import type { EngineMessage, RscHold } from './protocol.js';
import type {
  ClusterAction,
  ClusterEvent,
  ClusterSnapshot,
  GroupState,
  OperatorCommand,
  ResourceState,
  StandbyWhich,
} from './types.js';
import type { LogLevel } from '../membership/membership.js';

/**
 * `info` of the `resource` announcement sent when a peer comes back from a partition (Vigil only;
 * Heartbeat ignores info values it does not know). The receiver answers with its own holdings.
 */
export const HEAL_INFO = 'heal';

/** Heartbeat's fixed delays. */
export const BOTH_STARTING_FALLBACK_MS = 10_000;
export const STANDBY_REPLY_TIMEOUT_MS = 10_000;
export const STONITH_RETRY_MS = 5_000;
/** After a failed start Heartbeat runs hb_standby 30 s later. */
export const FAILED_START_STANDBY_MS = 30_000;
/** How long groups a peer gave up stay reserved for whoever it gave them to. */
export const FLUX_EXPIRY_MS = 20_000;
/** A responder whose requester never says `done` gives up waiting (Vigil guard; Heartbeat waits forever). */
export const STANDBY_DONE_GUARD_MS = 30_000;
/** A group this node may not run (health check) and could not hand over yet: try again this often. */
export const INELIGIBLE_RETRY_MS = 5_000;

export interface EngineOptions {
  /** The `[...]` of `Resetting node X with [...]` (Heartbeat prints the device id); default the ha.cf type. */
  readonly stonithDevice?: string;
}

interface Peer {
  readonly name: string;
  alive: boolean;
  everHeard: boolean;
  /** Groups the peer said it holds (or, in legacy mode, that we inferred). */
  holds: Set<string>;
  holdsKnown: boolean;
  /** Groups it announced it is giving up (unstable `resource`): still running until it says otherwise. */
  releasing: Set<string>;
  /** The part of `releasing` it gave up in a standby (going to its partner, not back to the pool). */
  handedOver: Set<string>;
  stable: boolean;
  /** Sent `starting` and has not yet reported stable: its first stable report triggers auto_failback. */
  starting: boolean;
  shuttingDown: boolean;
  /** Dead, needs a STONITH reset before anything it may hold is taken over. */
  needsFence: boolean;
  fenced: boolean;
  stonithPending: boolean;
  /** Partition heal in progress: conflicting claims are expected, not an error. */
  healing: boolean;
  /** It announced its holdings after we declared it dead (it was alive behind a partition). */
  announcedSinceDeath: boolean;
  /** Generation of the incarnation whose announcement `holds` reflects. */
  holdsGen: number | undefined;
  /** Highest generation any message from it carried. */
  lastMsgGen: number | undefined;
}

interface Standby {
  readonly role: 'requester' | 'responder';
  readonly peer: string;
  /** rsc_hold as on the wire, relative to the requester. */
  readonly hold: RscHold;
  phase: 'asked' | 'releasing' | 'waitOther' | 'waitDone' | 'acquiring';
  groups: Set<string>;
}

export interface ClusterState {
  rstate: ResourceState;
  groups: Map<string, GroupState>;
  peers: Map<string, Peer>;
  standby: Standby | undefined;
  /** Initial acquisition running: announce stable and log when no group is acquiring. */
  initialPending: boolean;
  initialReason: string;
  bothStartingArmed: boolean;
  /** Last node known to hold each group (for the STONITH gate and mach_down logs). */
  lastHolder: Map<string, string>;
  /** mach_down takeovers in progress: dead node → groups still being acquired / all taken. */
  takeovers: Map<string, { pending: Set<string>; taken: Set<string> }>;
  /** Groups whose start failed here: released, then handed over by standby 30 s later. */
  failedStarts: Set<string>;
  /** Peers whose first stable report is pending an auto_failback standby. */
  failbackPending: Set<string>;
  /** Legacy: groups we asked for with ip-request and wait to be granted. */
  legacyRequested: Set<string>;
  /** Legacy: ip-request we must answer once the group is released: group → requester. */
  legacyGrant: Map<string, string>;
  /** The holdings our last `resource` said (sorted keys): a settled change is announced. */
  lastAnnounced: string | undefined;
  /** Groups a health check ruled out here (group → reason): never acquired, handed to a peer. */
  ineligible: Map<string, string>;
  /** Ineligible groups whose refusal was logged (once per ruling, not at every event). */
  ineligibleNoted: Set<string>;
}

type Out = ClusterAction[];

export class ClusterEngine {
  readonly me: string;
  readonly nodes: readonly string[];
  private readonly prefOf = new Map<string, string>();
  private readonly groupKeys: readonly string[];
  private readonly nice: boolean;
  private readonly autoFailback: boolean;
  private readonly stonithType: string | undefined;
  private readonly stonithLabel: string;
  private readonly multi: boolean;
  state: ClusterState;

  constructor(config: CompiledConfig, state?: ClusterState, opts: EngineOptions = {}) {
    this.me = config.hacf.localNode;
    this.nodes = config.hacf.nodes;
    this.multi = this.nodes.length > 2;
    // Legacy's ip-request protocol cannot say who holds what among more than two nodes; there,
    // legacy runs as nice_failback with failback (what legacy amounts to: groups go home).
    this.nice = config.hacf.niceFailback || this.multi;
    this.autoFailback = config.hacf.autoFailback === 'on' || (this.multi && config.hacf.autoFailback === 'legacy');
    this.stonithType = config.hacf.stonith?.type;
    this.stonithLabel = opts.stonithDevice ?? this.stonithType ?? 'none';
    for (const g of config.groups) this.prefOf.set(g.key, g.node);
    this.groupKeys = config.groups.map((g) => g.key);
    this.state = state ?? this.initialState();
  }

  private initialState(): ClusterState {
    const peers = new Map<string, Peer>();
    for (const n of this.nodes) {
      if (n === this.me) continue;
      peers.set(n, {
        name: n,
        alive: false,
        everHeard: false,
        holds: new Set(),
        holdsKnown: false,
        releasing: new Set(),
        handedOver: new Set(),
        stable: false,
        starting: false,
        shuttingDown: false,
        needsFence: false,
        fenced: false,
        stonithPending: false,
        healing: false,
        announcedSinceDeath: false,
        holdsGen: undefined,
        lastMsgGen: undefined,
      });
    }
    return {
      rstate: 'init',
      groups: new Map(this.groupKeys.map((k) => [k, 'none'])),
      peers,
      standby: undefined,
      initialPending: false,
      initialReason: '',
      bothStartingArmed: false,
      lastHolder: new Map(),
      takeovers: new Map(),
      failedStarts: new Set(),
      failbackPending: new Set(),
      legacyRequested: new Set(),
      legacyGrant: new Map(),
      lastAnnounced: undefined,
      ineligible: new Map(),
      ineligibleNoted: new Set(),
    };
  }

  // ---------------------------------------------------------------- helpers

  private log(out: Out, level: LogLevel, text: string): void {
    out.push({ kind: 'log', level, text });
  }

  private send(out: Out, msg: EngineMessage): void {
    out.push({ kind: 'send', msg });
  }

  private pref(g: string): string {
    return this.prefOf.get(g) ?? this.me;
  }

  /** Groups running here in any state (what it announces: a group being stopped is not free yet). */
  private myHolds(): Set<string> {
    const s = new Set<string>();
    for (const [g, st] of this.state.groups) if (st !== 'none') s.add(g);
    return s;
  }

  /** Heartbeat's coarse encoding of a set of groups relative to `node`. */
  private encode(node: string, set: ReadonlySet<string>): RscHold {
    let local = false;
    let foreign = false;
    for (const g of set) {
      if (this.pref(g) === node) local = true;
      else foreign = true;
    }
    return local && foreign ? 'all' : local ? 'local' : foreign ? 'foreign' : 'none';
  }

  /** The groups a class names, relative to `node`. */
  private classGroups(node: string, hold: RscHold): Set<string> {
    const s = new Set<string>();
    for (const g of this.groupKeys) {
      const local = this.pref(g) === node;
      if (hold === 'all' || (hold === 'local' && local) || (hold === 'foreign' && !local)) s.add(g);
    }
    return s;
  }

  private resourceMsg(isstable: boolean, info: string | undefined, set?: ReadonlySet<string>): EngineMessage {
    const holds = set ?? this.myHolds();
    // What peers will believe we hold after this message (mach_down adds to what they knew).
    const believed = new Set(holds);
    if (info === 'mach_down')
      for (const g of (this.state.lastAnnounced ?? '').split(' ')) if (g !== '') believed.add(g);
    this.state.lastAnnounced = `${[...believed].sort().join(' ')}${isstable ? '' : ' (unstable)'}`;
    return {
      t: 'resource',
      rscHold: this.encode(this.me, holds),
      isstable,
      info,
      groups: this.exactList(this.me, holds),
    };
  }

  /**
   * The `vigil_groups` list: always with more than two nodes; with two only when Heartbeat's
   * coarse class would claim more than the set (a group failed to start), so that ordinary
   * two-node traffic stays exactly Heartbeat's.
   */
  private exactList(node: string, set: ReadonlySet<string>): string[] | undefined {
    if (this.multi) return [...set];
    const cls = this.classGroups(node, this.encode(node, set));
    return cls.size === set.size ? undefined : [...set];
  }

  private decode(from: string, hold: RscHold, groups: readonly string[] | undefined): Set<string> {
    if (groups !== undefined) return new Set(groups.filter((g) => this.prefOf.has(g)));
    return this.classGroups(from, hold);
  }

  private participates(node: string): boolean {
    if (node === this.me) return this.state.rstate === 'starting' || this.state.rstate === 'stable';
    const p = this.state.peers.get(node);
    return p !== undefined && p.alive && !p.shuttingDown;
  }

  /** Who should pick up a group nobody holds: its preferred node if it takes part, else the first that does. */
  winner(g: string): string | undefined {
    const pref = this.pref(g);
    if (this.participates(pref)) return pref;
    return this.nodes.find((n) => this.participates(n));
  }

  /** Of several holders, who keeps the group. */
  conflictWinner(g: string, holders: readonly string[]): string {
    const pref = this.pref(g);
    if (holders.includes(pref)) return pref;
    return this.nodes.find((n) => holders.includes(n)) ?? pref;
  }

  /** Alive peers that hold the group, or might (holdings not yet known). */
  private peerClaims(g: string, includeUnknown: boolean): string[] {
    const out: string[] = [];
    for (const p of this.state.peers.values()) {
      if (!p.alive) {
        // Granted to a peer whose first status has not reached us yet (legacy ip-request).
        if (includeUnknown && p.releasing.has(g)) out.push(p.name);
        continue;
      }
      // A peer on its way down may still run anything until its `shutdone`.
      const maybe = includeUnknown && (p.shuttingDown || p.releasing.has(g) || !p.holdsKnown);
      if (maybe || (p.holdsKnown && p.holds.has(g))) out.push(p.name);
    }
    return out;
  }

  private acquire(out: Out, g: string): void {
    for (const q of this.state.peers.values()) {
      q.releasing.delete(g);
      q.handedOver.delete(g);
    }
    this.state.groups.set(g, 'acquiring');
    this.state.lastHolder.set(g, this.me);
    out.push({ kind: 'acquire', group: g });
  }

  private release(out: Out, g: string): void {
    const st = this.state.groups.get(g);
    if (st === 'held') {
      this.state.groups.set(g, 'releasing');
      out.push({ kind: 'release', group: g });
    }
  }

  private anyInTransition(): boolean {
    for (const st of this.state.groups.values()) if (st === 'acquiring' || st === 'releasing') return true;
    return false;
  }

  // ---------------------------------------------------------------- entry point

  handle(ev: ClusterEvent): ClusterAction[] {
    const out: Out = [];
    switch (ev.kind) {
      case 'commUp':
        this.onCommUp(out);
        break;
      case 'nodeAlive':
        this.onNodeAlive(out, ev.node, false, ev.generation);
        break;
      case 'nodeRestarted':
        this.onNodeAlive(out, ev.node, true, ev.generation);
        break;
      case 'nodeReturned':
        this.onNodeReturned(out, ev.node);
        break;
      case 'nodeDead': {
        // The old incarnation went silent, but its successor already spoke to us (before its
        // first status reached membership): it is alive; its nodeAlive follows.
        const p = this.state.peers.get(ev.node);
        if (ev.generation !== undefined && p?.lastMsgGen !== undefined && p.lastMsgGen > ev.generation) break;
        this.onNodeDead(out, ev.node, false);
        break;
      }
      case 'nodeShutdown':
        this.onNodeDead(out, ev.node, true);
        break;
      case 'message':
        this.onMessage(out, ev.from, ev.generation, ev.msg);
        break;
      case 'timer':
        this.onTimer(out, ev.name);
        break;
      case 'command':
        this.onCommand(out, ev.command);
        break;
      case 'acquireDone':
        this.onAcquireDone(out, ev.group, ev.ok);
        break;
      case 'releaseDone':
        this.onReleaseDone(out, ev.group, ev.ok);
        break;
      case 'stonithDone':
        this.onStonithDone(out, ev.node, ev.ok);
        break;
      case 'groupLost':
        if (this.state.groups.get(ev.group) === 'held') {
          this.log(out, 'CRIT', `Resource group ${ev.group} lost (${ev.reason}): releasing it here.`);
          this.release(out, ev.group);
        }
        break;
      case 'eligibility':
        this.onEligibility(out, ev.group, ev.eligible, ev.reason ?? 'health check failed');
        break;
    }
    this.progress(out);
    return out;
  }

  // ---------------------------------------------------------------- membership

  private onCommUp(out: Out): void {
    if (this.state.rstate !== 'init') return;
    for (const p of this.state.peers.values()) {
      if (!p.everHeard) {
        // Never heard during initdead: it may hold anything, so STONITH first if we have a device.
        p.alive = false;
        p.needsFence = this.stonithType !== undefined;
      }
    }
    if (!this.nice) {
      this.state.rstate = 'stable';
      for (const g of this.groupKeys) {
        if (this.pref(g) !== this.me) continue;
        if (this.anyPeerAlive()) {
          this.state.legacyRequested.add(g);
          this.send(out, { t: 'ip-request', ipaddr: g });
        }
      }
      this.state.initialPending = true;
      this.state.initialReason = 'req_our_resources()';
      return;
    }
    this.state.rstate = 'starting';
    // Only answers to this `starting` count: what peers said before may be stale.
    for (const p of this.state.peers.values()) if (p.alive) p.holdsKnown = false;
    this.send(out, { t: 'starting' });
    this.checkStartingDone(out);
  }

  private anyPeerAlive(): boolean {
    for (const p of this.state.peers.values()) if (p.alive) return true;
    return false;
  }

  /**
   * First status from a node, or from a new incarnation (`fresh`: it restarted, so it holds nothing).
   * A node heard for the first time may have been running all along (we started while it was
   * unreachable): its holdings are unknown until it announces them, so we announce ours to
   * prompt the exchange.
   */
  private onNodeAlive(out: Out, node: string, restarted: boolean, generation: number | undefined): void {
    const p = this.state.peers.get(node);
    if (p === undefined) return;
    const firstEver = !p.everHeard;
    p.alive = true;
    p.everHeard = true;
    p.shuttingDown = false;
    p.fenced = false;
    p.needsFence = false;
    p.healing = false;
    if (p.stonithPending) {
      p.stonithPending = false;
      out.push({ kind: 'cancelTimer', name: `stonith:${node}` });
    }
    if (this.state.standby?.peer === node) this.cancelStandby(out, 'peer restarted');
    if (!this.nice) {
      // Legacy peers never announce holdings: a new incarnation holds nothing and asks for its
      // groups with ip-request; one we never heard is assumed to run its own groups.
      p.holdsKnown = true;
      p.holds = firstEver && !restarted ? this.classGroups(node, 'local') : new Set();
      // Groups we granted it (ip-request) before its first status reached us.
      for (const g of p.releasing) p.holds.add(g);
      // Ask again for our own groups: the new incarnation answers at once if it does not hold
      // them, and one that ran behind a partition gives back what it took.
      if (this.state.rstate === 'stable') this.legacyRequestOwn(out);
      return;
    }
    if (firstEver && !restarted) {
      if (!p.holdsKnown) p.holds = new Set();
      if (this.state.rstate === 'stable') {
        p.healing = true;
        this.send(out, this.resourceMsg(!this.anyInTransition(), HEAL_INFO));
      }
      return;
    }
    // Its new incarnation may have spoken before its first status reached us: keep what it said.
    if (generation !== undefined && p.holdsGen === generation && p.holdsKnown) return;
    p.holds = new Set();
    p.releasing = new Set();
    p.handedOver = new Set();
    p.holdsKnown = true;
    p.stable = false;
    p.starting = false;
  }

  private onNodeReturned(out: Out, node: string): void {
    const p = this.state.peers.get(node);
    if (p === undefined) return;
    p.alive = true;
    p.everHeard = true;
    p.shuttingDown = false;
    p.needsFence = false;
    p.fenced = false;
    p.healing = true;
    if (p.stonithPending) {
      p.stonithPending = false;
      out.push({ kind: 'cancelTimer', name: `stonith:${node}` });
    }
    if (this.nice) {
      // Unless it told us since, its holdings are stale: wait for its announcement before adopting
      // anything it may hold.
      if (!p.announcedSinceDeath) {
        p.holdsKnown = false;
        p.holds = new Set();
      }
      if (this.state.rstate === 'stable') this.send(out, this.resourceMsg(!this.anyInTransition(), HEAL_INFO));
    } else {
      // Legacy has no holdings exchange: each side asks again for its own groups; the other releases.
      p.holdsKnown = true;
      p.holds = this.classGroups(node, 'local');
      this.legacyRequestOwn(out);
      // And give back its own groups we took while it seemed dead (it still runs them): release
      // ours, then tell it, as if it had asked.
      for (const g of p.holds) {
        if (this.state.groups.get(g) === 'held' || this.state.groups.get(g) === 'acquiring') {
          this.state.legacyGrant.set(g, node);
          this.release(out, g);
        }
      }
    }
  }

  private onNodeDead(out: Out, node: string, clean: boolean): void {
    const p = this.state.peers.get(node);
    if (p === undefined || !p.alive) return;
    if (clean) this.log(out, 'info', `Received shutdown notice from '${node}'.`);
    const held = p.holdsKnown
      ? new Set([...p.holds, ...[...p.releasing].filter((g) => !p.handedOver.has(g))])
      : undefined;
    p.alive = false;
    p.stable = false;
    p.starting = false;
    p.healing = false;
    p.shuttingDown = false;
    this.state.failbackPending.delete(node);
    if (this.state.standby?.peer === node) this.cancelStandby(out, 'peer died');
    // A clean stop released everything first; a crash may have left anything it held running.
    // Nobody left to answer our ip-requests: the groups are ours to take like any orphan.
    if (!this.nice && !this.anyPeerAlive()) this.state.legacyRequested.clear();
    p.needsFence = !clean && this.stonithType !== undefined && (!p.everHeard || held === undefined || held.size > 0);
    p.fenced = false;
    if (held !== undefined) for (const g of held) this.state.lastHolder.set(g, node);
    if (!clean) for (const g of p.releasing) this.state.lastHolder.set(g, node);
    // Death right after (or during) a standby: what it handed over stays reserved for the partner
    // (whose claim may reach us after the death) until that claim or FLUX_EXPIRY_MS.
    p.releasing = p.handedOver;
    p.handedOver = new Set(p.releasing);
    p.holds = new Set();
    p.holdsKnown = true;
    p.announcedSinceDeath = false;
    if (this.state.rstate === 'init' || this.state.rstate === 'shutdown' || this.state.rstate === 'down') return;
    const mine = [...(held ?? this.groupKeys)].filter(
      (g) => this.state.groups.get(g) === 'none' && this.winner(g) === this.me,
    );
    if (mine.length > 0 || (held === undefined && this.state.rstate === 'stable')) {
      this.log(out, 'info', `Resources being acquired from ${node}.`);
      if (!clean && (held === undefined || held.size > 0 || !p.everHeard)) {
        if (this.stonithType === undefined) {
          this.log(out, 'WARN', 'No STONITH device configured.');
          this.log(out, 'WARN', 'Shared disks are not protected.');
        }
      }
      this.state.takeovers.set(node, { pending: new Set(), taken: new Set() });
    }
    if (this.state.rstate === 'starting') this.checkStartingDone(out);
  }

  // ---------------------------------------------------------------- messages

  private onMessage(out: Out, from: string, generation: number, msg: EngineMessage): void {
    const p = this.state.peers.get(from);
    if (p === undefined) return;
    if (p.lastMsgGen === undefined || generation > p.lastMsgGen) p.lastMsgGen = generation;
    switch (msg.t) {
      case 'starting':
        p.holdsGen = generation;
        p.releasing = new Set();
        p.handedOver = new Set();
        p.holds = new Set();
        p.holdsKnown = true;
        p.stable = false;
        p.starting = true;
        // Answer even before our own comm is up (holding nothing, unstable): a starting peer waits for it.
        if (this.state.rstate !== 'shutdown' && this.state.rstate !== 'down') {
          const stable = this.state.rstate === 'stable' && !this.state.initialPending && !this.anyInTransition();
          this.send(out, this.resourceMsg(stable, undefined));
        }
        if (this.state.standby?.peer === from) this.cancelStandby(out, 'peer restarted');
        this.checkStartingDone(out);
        return;
      case 'resource':
        p.holdsGen = generation;
        this.onResource(out, p, msg);
        return;
      case 'ask_resources':
        if (msg.dest !== undefined && msg.dest !== this.me) return;
        this.onAskResources(out, p, msg.rscHold, msg.info, msg.groups);
        return;
      case 'hb_takeover':
        if (!this.nice) {
          this.log(out, 'ERROR', 'Standby mode only implemented when nice_failback on');
          return;
        }
        this.startStandby(out, complement(msg.rscHold), from);
        return;
      case 'ip-request':
        this.onIpRequest(out, p, msg.ipaddr);
        return;
      case 'ip-request-resp':
        if (msg.dest !== this.me || !this.prefOf.has(msg.ipaddr)) return;
        // Heartbeat takes the group on any ip-request-resp addressed to it (asked for or not).
        p.holds.delete(msg.ipaddr);
        this.state.legacyRequested.delete(msg.ipaddr);
        if (
          this.state.rstate === 'stable' &&
          this.state.groups.get(msg.ipaddr) === 'none' &&
          !this.state.ineligible.has(msg.ipaddr)
        ) {
          this.acquire(out, msg.ipaddr);
        }
        return;
      case 'shutdone':
        // Membership reports the same fact as nodeShutdown; whichever comes first does the work.
        if (p.alive) this.onNodeDead(out, from, true);
        return;
      case 'reqnodes':
        if (msg.dest !== this.me) return;
        this.send(out, { t: 'repnodes', dest: from, nodelist: this.nodes, delnodelist: [] });
        return;
      case 'status':
      case 'NS_st':
      case 'repnodes':
      case 'stonith':
      case 'num_ping_nodes':
      case 'you_are_dead':
      case 'abort_giveup':
        return;
    }
  }

  private onResource(
    out: Out,
    p: Peer,
    msg: { rscHold: RscHold; isstable: boolean; info: string | undefined; groups: readonly string[] | undefined },
  ): void {
    const claim = this.decode(p.name, msg.rscHold, msg.groups);
    if (!p.alive) p.announcedSinceDeath = true;
    const before = p.holdsKnown ? [...p.holds].sort().join(' ') : undefined;
    // What it stops holding is in flux (handed to someone, or going down) until the receiver
    // claims it, the sender dies or restarts, or FLUX_EXPIRY_MS passes: a bystander must not
    // pick it up in between (messages from the receiver may reach us after the sender's).
    // A settled (stable) report without a hand-over simply frees what it no longer lists.
    const handover = msg.info === 'standby' || msg.info === 'shutdown' || !msg.isstable;
    if (p.holdsKnown && msg.info !== 'mach_down' && handover) {
      let added = false;
      for (const g of p.holds) {
        if (!claim.has(g) && !p.releasing.has(g)) {
          p.releasing.add(g);
          if (msg.info === 'standby') p.handedOver.add(g);
          added = true;
        }
      }
      if (added) out.push({ kind: 'setTimer', name: `flux:${p.name}`, ms: FLUX_EXPIRY_MS });
    }
    const prev = p.holdsKnown ? new Set(p.holds) : new Set<string>();
    for (const g of claim) {
      p.releasing.delete(g);
      p.handedOver.delete(g);
      // Only a new claim we can act on settles a hand-over (not one from behind a partition, nor
      // a holder that is still letting go of it).
      if (prev.has(g)) continue;
      if (p.alive) {
        for (const q of this.state.peers.values()) {
          if (q === p) continue;
          q.releasing.delete(g);
          q.handedOver.delete(g);
        }
      }
    }
    if (msg.info === 'mach_down') {
      // mach_down reports what was taken over, on top of what the sender already held.
      for (const g of claim) p.holds.add(g);
    } else {
      p.holds = claim;
    }
    for (const g of p.holds) this.state.lastHolder.set(g, p.name);
    // A mach_down report adds to what we knew; on top of nothing known it is still not the whole picture.
    if (msg.info !== 'mach_down') p.holdsKnown = true;
    if (msg.info === 'shutdown') p.shuttingDown = true;
    const wasStable = p.stable;
    p.stable = msg.isstable;
    if (msg.isstable && !wasStable && p.starting) {
      p.starting = false;
      if (this.autoFailback) this.state.failbackPending.add(p.name);
    }
    if (
      !this.multi &&
      !p.healing &&
      msg.isstable &&
      this.state.rstate === 'stable' &&
      this.state.standby === undefined
    ) {
      const mine = this.myHolds();
      for (const g of p.holds) {
        if (mine.has(g) && this.pref(g) === this.me && this.state.groups.get(g) === 'held') {
          this.log(out, 'ERROR', 'Both machines own our resources!');
          break;
        }
      }
    }
    if (p.healing && msg.isstable) p.healing = false;

    if (this.state.rstate === 'starting') this.checkStartingDone(out);
    if (this.state.rstate === 'stable') {
      // Answer a heal announcement with ours, and tell a peer that claims a group we keep that we
      // keep it (it may not know we are alive: only one side of a partition may have seen it).
      const mine = this.myHolds();
      const kept = [...p.holds].filter((g) => mine.has(g) && this.conflictWinner(g, [this.me, p.name]) === this.me);
      const changed = before !== [...p.holds].sort().join(' ');
      if (msg.info === HEAL_INFO || (kept.length > 0 && changed)) {
        this.send(out, this.resourceMsg(!this.anyInTransition(), undefined));
        // The peer gives these up as soon as it learns we keep them. Announcing now, not when its next
        // heartbeat brings `returning after partition`, spares clients that last heard its ARP up to a keepalive.
        for (const g of kept) if (this.state.groups.get(g) === 'held') out.push({ kind: 'reannounce', group: g });
      }
    }
  }

  // ---------------------------------------------------------------- start-up (nice_failback)

  private checkStartingDone(out: Out): void {
    if (this.state.rstate !== 'starting') return;
    const alive = [...this.state.peers.values()].filter((p) => p.alive);
    if (alive.length === 0) {
      this.finishStarting(out, 'T_RESOURCES(us)');
      return;
    }
    if (alive.some((p) => p.holdsKnown && p.stable)) {
      this.log(out, 'info', 'remote resource transition completed.');
      this.finishStarting(out, 'T_RESOURCES(them)');
      return;
    }
    if (alive.every((p) => p.holdsKnown) && !this.state.bothStartingArmed) {
      // Everyone alive is starting too: Heartbeat waits 10 s, then takes its own groups.
      this.state.bothStartingArmed = true;
      out.push({ kind: 'setTimer', name: 'bothStarting', ms: BOTH_STARTING_FALLBACK_MS });
    }
  }

  private finishStarting(out: Out, reason: string): void {
    if (this.state.bothStartingArmed) {
      this.state.bothStartingArmed = false;
      out.push({ kind: 'cancelTimer', name: 'bothStarting' });
    }
    this.state.rstate = 'stable';
    this.state.initialPending = true;
    this.state.initialReason = reason;
  }

  // ---------------------------------------------------------------- standby

  /** Start the 3-phase standby, giving up `which` (relative to us) to `partner` (default: the other node). */
  private startStandby(out: Out, which: RscHold, partner?: string, only?: Set<string>): boolean {
    if (!this.nice) {
      this.log(out, 'ERROR', 'Standby mode only implemented when nice_failback on');
      return false;
    }
    const peer = partner ?? [...this.state.peers.values()].find((p) => p.alive && p.stable)?.name;
    const pp = peer === undefined ? undefined : this.state.peers.get(peer);
    if (
      this.state.rstate !== 'stable' ||
      this.state.initialPending ||
      this.state.standby !== undefined ||
      pp === undefined ||
      !pp.alive ||
      this.anyInTransition()
    ) {
      this.log(out, 'info', `standby message [${which}] ignored.  Local node is in flux.`);
      return false;
    }
    const groups = new Set(only ?? this.classGroups(this.me, which));
    const mine = this.myHolds();
    // Only what we hold, plus (Heartbeat's 30 s standby after a failed start) the failed groups:
    // a free group must not travel in a hand-over, where a bystander cannot see it reserved.
    for (const g of groups)
      if (!mine.has(g) && !(only !== undefined && (this.state.failedStarts.has(g) || this.state.ineligible.has(g))))
        groups.delete(g);
    this.log(out, 'info', `${this.me} wants to go standby [${which}]`);
    this.state.standby = { role: 'requester', peer: pp.name, hold: which, phase: 'asked', groups };
    this.send(out, {
      t: 'ask_resources',
      rscHold: which,
      info: 'me',
      dest: this.multi ? pp.name : undefined,
      groups: this.multi || this.exactList(this.me, groups) !== undefined ? [...groups] : undefined,
    });
    out.push({ kind: 'setTimer', name: 'standbyReply', ms: STANDBY_REPLY_TIMEOUT_MS });
    return true;
  }

  private cancelStandby(out: Out, _why: string): void {
    const sb = this.state.standby;
    if (sb === undefined) return;
    if (sb.role === 'requester') for (const g of sb.groups) this.state.failedStarts.delete(g);
    out.push({ kind: 'cancelTimer', name: 'standbyReply' });
    out.push({ kind: 'cancelTimer', name: 'standbyDone' });
    this.state.standby = undefined;
    if (this.state.rstate === 'stable') {
      // Also tells a responder still waiting for our `done` that the request is off.
      this.send(out, this.resourceMsg(!this.anyInTransition(), undefined));
    }
  }

  private onAskResources(
    out: Out,
    p: Peer,
    hold: RscHold,
    info: 'me' | 'other' | 'done',
    groups: readonly string[] | undefined,
  ): void {
    const sb = this.state.standby;
    if (info === 'me') {
      if (
        this.state.rstate !== 'stable' ||
        this.state.initialPending ||
        (sb !== undefined && !(sb.role === 'responder' && sb.peer === p.name)) ||
        p.shuttingDown
      ) {
        this.log(out, 'info', `standby message [${hold}] from ${p.name} ignored.  Other side is in flux.`);
        return;
      }
      const set = groups !== undefined ? new Set(groups) : this.classGroups(p.name, hold);
      if (this.refusesHandover(out, p, hold, set, groups !== undefined)) return;
      this.state.standby = { role: 'responder', peer: p.name, hold, phase: 'waitDone', groups: set };
      this.send(out, {
        t: 'ask_resources',
        rscHold: hold,
        info: 'other',
        dest: this.multi ? p.name : undefined,
        groups: this.multi ? [...set] : undefined,
      });
      out.push({ kind: 'setTimer', name: 'standbyDone', ms: STANDBY_DONE_GUARD_MS });
      return;
    }
    if (sb === undefined || sb.peer !== p.name) return;
    if (info === 'other' && sb.role === 'requester' && sb.phase === 'asked') {
      out.push({ kind: 'cancelTimer', name: 'standbyReply' });
      this.log(out, 'info', `Going standby [${sb.hold}].`);
      const keep = this.myHolds();
      for (const g of sb.groups) keep.delete(g);
      this.send(out, this.resourceMsg(false, 'standby', keep));
      this.log(out, 'info', 'give up all HA resources (standby).');
      sb.phase = 'releasing';
      for (const g of sb.groups) this.release(out, g);
      return;
    }
    if (info === 'done' && sb.role === 'responder' && sb.phase === 'waitDone') {
      out.push({ kind: 'cancelTimer', name: 'standbyDone' });
      p.releasing = new Set();
      p.handedOver = new Set();
      sb.phase = 'acquiring';
      const want = groups !== undefined ? new Set(groups) : sb.groups;
      sb.groups = new Set();
      for (const g of want) {
        if (this.state.groups.get(g) !== 'none') continue;
        if (this.peerClaims(g, true).length > 0) continue;
        if (this.state.ineligible.has(g)) continue;
        sb.groups.add(g);
        this.acquire(out, g);
      }
      return;
    }
    if (info === 'done' && sb.role === 'requester' && sb.phase === 'waitOther') {
      out.push({ kind: 'cancelTimer', name: 'standbyReply' });
      this.log(out, 'info', `Other node completed standby takeover of ${sb.hold} resources.`);
      // `done` means it holds them now (its `resource` follows): never adopt them back meanwhile.
      for (const g of groups ?? sb.groups) if (this.prefOf.has(g)) p.holds.add(g);
      for (const g of sb.groups) this.state.failedStarts.delete(g);
      this.state.standby = undefined;
      this.send(out, this.resourceMsg(true, undefined));
    }
  }

  // ---------------------------------------------------------------- legacy

  private legacyRequestOwn(out: Out): void {
    for (const g of this.groupKeys) {
      if (this.pref(g) !== this.me) continue;
      this.state.legacyRequested.add(g);
      this.send(out, { t: 'ip-request', ipaddr: g });
    }
  }

  private onIpRequest(out: Out, p: Peer, g: string): void {
    if (!this.prefOf.has(g)) return;
    p.holds.add(g);
    // Until its status shows it alive (or FLUX_EXPIRY_MS), the group is reserved for the requester.
    p.releasing.add(g);
    out.push({ kind: 'setTimer', name: `flux:${p.name}`, ms: FLUX_EXPIRY_MS });
    const st = this.state.groups.get(g);
    if (st === 'held') {
      this.state.legacyGrant.set(g, p.name);
      this.release(out, g);
    } else if (st === 'acquiring' || st === 'releasing') {
      this.state.legacyGrant.set(g, p.name);
    } else {
      this.send(out, { t: 'ip-request-resp', dest: p.name, ipaddr: g, weown: false });
    }
  }

  // ---------------------------------------------------------------- commands, timers, results

  private onCommand(out: Out, c: OperatorCommand): void {
    switch (c.op) {
      case 'standby':
        this.startStandby(out, c.which);
        return;
      case 'takeover': {
        if (!this.nice) {
          this.log(out, 'ERROR', 'Standby mode only implemented when nice_failback on');
          return;
        }
        this.send(out, { t: 'hb_takeover', rscHold: c.which });
        return;
      }
      case 'shutdown': {
        if (this.state.rstate === 'shutdown' || this.state.rstate === 'down') return;
        this.cancelStandby(out, 'shutdown');
        if (this.state.bothStartingArmed) {
          this.state.bothStartingArmed = false;
          out.push({ kind: 'cancelTimer', name: 'bothStarting' });
        }
        this.state.rstate = 'shutdown';
        this.state.initialPending = false;
        this.log(out, 'info', 'Giving up all HA resources.');
        const keep = new Set<string>();
        if (this.nice) this.send(out, this.resourceMsg(false, 'shutdown', keep));
        for (const g of this.groupKeys) this.release(out, g);
        return;
      }
    }
  }

  private onTimer(out: Out, name: string): void {
    if (name === 'bothStarting') {
      if (!this.state.bothStartingArmed) return;
      this.state.bothStartingArmed = false;
      if (this.state.rstate === 'starting') this.finishStarting(out, 'T_RESOURCES(us)');
      return;
    }
    if (name === 'standbyReply') {
      const sb = this.state.standby;
      if (sb?.role !== 'requester') return;
      if (sb.phase === 'asked') {
        this.log(out, 'WARN', 'No reply to standby request.  Standby request cancelled.');
      }
      this.cancelStandby(out, 'timeout');
      return;
    }
    if (name === 'standbyDone') {
      if (this.state.standby?.role === 'responder') this.cancelStandby(out, 'timeout');
      return;
    }
    if (name === 'failedStart') {
      // Heartbeat runs hb_standby for the class of the failed groups 30 s later; we hand over exactly
      // those groups. If no peer can take them, we try again ourselves (the failure may be transient).
      // With more than two nodes the rule-chosen node adopts them once our release is announced
      // and its reservation expires; we only stop refusing them ourselves.
      const groups = new Set(
        [...this.state.failedStarts].filter(
          (g) => this.state.groups.get(g) === 'none' && this.peerClaims(g, true).length === 0,
        ),
      );
      if (!this.multi && groups.size > 0 && (this.state.standby !== undefined || this.anyInTransition())) {
        // Busy with another hand-over: keep refusing them and try again later.
        out.push({ kind: 'setTimer', name: 'failedStart', ms: STANDBY_REPLY_TIMEOUT_MS });
        return;
      }
      if (this.multi || groups.size === 0 || !this.startStandby(out, this.encode(this.me, groups), undefined, groups)) {
        this.state.failedStarts.clear();
      }
      return;
    }
    if (name.startsWith('flux:')) {
      const p = this.state.peers.get(name.slice('flux:'.length));
      if (p !== undefined) {
        p.releasing = new Set();
        p.handedOver = new Set();
      }
      return;
    }
    if (name === INELIGIBLE_TIMER) {
      this.handOverIneligible(out);
      return;
    }
    if (name.startsWith('stonith:')) {
      const node = name.slice('stonith:'.length);
      const p = this.state.peers.get(node);
      if (p !== undefined && !p.alive && p.needsFence && !p.fenced) {
        this.log(out, 'info', `Resetting node ${node} with [${this.stonithLabel}]`);
        out.push({ kind: 'stonith', node });
      }
    }
  }

  private onAcquireDone(out: Out, g: string, ok: boolean): void {
    if (this.state.groups.get(g) !== 'acquiring') return;
    if (ok) {
      this.state.groups.set(g, 'held');
      // Shutting down, or (legacy) its owner asked for it while we were starting it.
      if (this.state.rstate === 'shutdown' || this.state.legacyGrant.has(g)) this.release(out, g);
      return;
    }
    this.log(out, 'CRIT', `Giving up resources due to failure of ${g}`);
    // The runner stops whatever part of the group did start.
    this.state.groups.set(g, 'held');
    this.release(out, g);
    this.state.failedStarts.add(g);
    out.push({ kind: 'setTimer', name: 'failedStart', ms: FAILED_START_STANDBY_MS });
  }

  private onReleaseDone(out: Out, g: string, ok: boolean): void {
    if (this.state.groups.get(g) !== 'releasing') return;
    if (!ok) {
      this.state.groups.set(g, 'stuck');
      this.log(out, 'CRIT', 'Resource STOP failure. Reboot required!');
      out.push({ kind: 'reboot', reason: `could not stop resource group ${g}` });
      return;
    }
    this.state.groups.set(g, 'none');
    const to = this.state.legacyGrant.get(g);
    if (to !== undefined) {
      this.state.legacyGrant.delete(g);
      this.send(out, { t: 'ip-request-resp', dest: to, ipaddr: g, weown: true });
    }
  }

  private onStonithDone(out: Out, node: string, ok: boolean): void {
    const p = this.state.peers.get(node);
    if (p === undefined || !p.stonithPending) return;
    if (ok) {
      p.stonithPending = false;
      p.fenced = true;
      this.log(out, 'info', `node ${node} now reset.`);
      return;
    }
    this.log(out, 'ERROR', `STONITH of ${node} failed.  Retrying...`);
    out.push({ kind: 'setTimer', name: `stonith:${node}`, ms: STONITH_RETRY_MS });
  }

  // ---------------------------------------------------------------- the reconciler

  /**
   * After every event: finish what completed (initial acquisition, standby phases, mach_down,
   * shutdown), adopt groups nobody holds, resolve groups held twice, start auto_failback.
   */
  private progress(out: Out): void {
    const s = this.state;
    if (s.rstate === 'shutdown') {
      for (const [g, st] of s.groups) if (st === 'held') this.release(out, g);
      if ([...s.groups.values()].every((st) => st === 'none')) {
        this.log(out, 'info', 'All HA resources relinquished.');
        this.send(out, { t: 'shutdone' });
        s.rstate = 'down';
        out.push({ kind: 'shutdownComplete' });
      }
      return;
    }
    if (s.rstate !== 'stable') return;

    const sb = s.standby;
    if (sb?.role === 'requester' && sb.phase === 'releasing') {
      if ([...sb.groups].every((g) => s.groups.get(g) === 'none' || s.groups.get(g) === 'stuck')) {
        sb.phase = 'waitOther';
        this.send(out, {
          t: 'ask_resources',
          rscHold: sb.hold,
          info: 'done',
          dest: this.multi ? sb.peer : undefined,
          groups: this.multi || this.exactList(this.me, sb.groups) !== undefined ? [...sb.groups] : undefined,
        });
        this.log(out, 'info', `Local standby process completed [${sb.hold}].`);
        // The partner acquires them at once on our `done`: count them as its own from now on, so
        // that nothing here (nor a lost `done` reply) makes us pick them up again. Its next
        // announcement corrects this if it could not.
        const partner = s.peers.get(sb.peer);
        if (partner !== undefined) for (const g of sb.groups) partner.holds.add(g);
        out.push({ kind: 'setTimer', name: 'standbyReply', ms: STANDBY_REPLY_TIMEOUT_MS });
      }
    }
    if (sb?.role === 'responder' && sb.phase === 'acquiring') {
      if ([...sb.groups].every((g) => s.groups.get(g) !== 'acquiring')) {
        this.log(out, 'info', `Standby resource acquisition done [${sb.hold}].`);
        this.send(out, {
          t: 'ask_resources',
          rscHold: sb.hold,
          info: 'done',
          dest: this.multi ? sb.peer : undefined,
          groups: this.multi ? [...sb.groups] : undefined,
        });
        s.standby = undefined;
        this.send(out, this.resourceMsg(!this.anyInTransition(), undefined));
      }
    }

    this.adoptAndResolve(out);

    for (const [node, tk] of s.takeovers) {
      if (tk.pending.size > 0) {
        for (const g of tk.pending) if (s.groups.get(g) !== 'acquiring') tk.pending.delete(g);
        if (tk.pending.size > 0) continue;
      }
      const p = s.peers.get(node);
      if (p?.needsFence === true && !p.fenced) continue;
      s.takeovers.delete(node);
      if (tk.taken.size > 0 && this.nice) {
        this.send(out, this.resourceMsg(true, 'mach_down', tk.taken));
      }
      this.log(out, 'info', `mach_down takeover complete for node ${node}.`);
    }

    if (s.initialPending && !this.anyAcquiring()) {
      s.initialPending = false;
      if (!this.nice) {
        this.log(out, 'info', `Initial resource acquisition complete (${s.initialReason})`);
      } else {
        const mine = this.myHolds();
        if (mine.size === 0) this.log(out, 'info', 'Local Resource acquisition completed. (none)');
        this.log(out, 'info', `Initial resource acquisition complete (${s.initialReason})`);
        this.send(out, this.resourceMsg(true, undefined));
        if (!this.multi) {
          const other = [...s.peers.values()].find((p) => p.alive && p.stable && p.holdsKnown);
          if (other !== undefined) {
            const foreign = this.classGroups(other.name, 'local');
            if (foreign.size > 0 && [...foreign].every((g) => !other.holds.has(g) && !mine.has(g))) {
              this.log(out, 'WARN', 'No one owns foreign resources!');
            }
          }
        }
      }
    }

    if (this.autoFailback && s.standby === undefined && !s.initialPending && !this.anyInTransition()) {
      for (const node of s.failbackPending) {
        const p = s.peers.get(node);
        s.failbackPending.delete(node);
        if (p === undefined || !p.alive || !p.stable) continue;
        const give = new Set([...this.myHolds()].filter((g) => this.pref(g) === node && s.groups.get(g) === 'held'));
        if (give.size === 0) continue;
        this.startStandby(out, this.multi ? this.encode(this.me, give) : 'foreign', node, give);
        break;
      }
    }
  }

  private anyAcquiring(): boolean {
    for (const st of this.state.groups.values()) if (st === 'acquiring') return true;
    return false;
  }

  private adoptAndResolve(out: Out): void {
    const s = this.state;
    const sb = s.standby;
    const stonithNeeded = new Set<string>();
    let adopted = false;
    for (const g of this.groupKeys) {
      const st = s.groups.get(g);
      if (st === 'none') {
        if (!this.nice && s.legacyRequested.has(g)) continue;
        // What we are handing over stays put; what is handed to us is reserved by the requester's
        // claim (then its `releasing` flux) until its `done`.
        if (sb?.role === 'requester' && sb.groups.has(g)) continue;
        if (this.peerClaims(g, true).length > 0) continue;
        if (this.winner(g) !== this.me) continue;
        if (s.failedStarts.has(g)) continue;
        if (this.refuseIneligible(out, g)) continue;
        // STONITH gate: whoever may still run it must be reset first.
        const blockers = this.fenceBlockers(g);
        if (blockers.length > 0) {
          for (const b of blockers) stonithNeeded.add(b);
          continue;
        }
        const last = s.lastHolder.get(g);
        const tk = last !== undefined ? s.takeovers.get(last) : undefined;
        if (tk !== undefined) {
          this.log(out, 'info', `Taking over resource group ${g}`);
          tk.pending.add(g);
          tk.taken.add(g);
        } else if (s.takeovers.size > 0 && !s.initialPending) {
          const [first] = s.takeovers.values();
          if (first !== undefined) {
            this.log(out, 'info', `Taking over resource group ${g}`);
            first.pending.add(g);
            first.taken.add(g);
          }
        }
        this.acquire(out, g);
        adopted = true;
      } else if (st === 'held' && this.nice) {
        // (Legacy resolves double holds through ip-request: the owner releases when asked.)
        const others = this.peerClaims(g, false);
        if (others.length === 0) continue;
        const w = this.conflictWinner(g, [this.me, ...others]);
        if (w === this.me) continue;
        this.log(out, 'WARN', `Resource group ${g} is also held by ${w}: releasing it here (partition heal).`);
        this.release(out, g);
      }
    }
    // With bystanders, claim adopted groups at once (unstable): a peer that is about to be handed
    // the same group must see that we are starting it.
    if (adopted && this.multi && !s.initialPending) this.send(out, this.resourceMsg(false, undefined));
    // Whatever changed what we hold (adoption, heal, failed start), peers learn it once settled.
    if (this.nice && sb === undefined && !s.initialPending && s.takeovers.size === 0 && !this.anyInTransition()) {
      const now = [...this.myHolds()].sort().join(' ');
      if (now !== s.lastAnnounced) this.send(out, this.resourceMsg(true, undefined));
    }
    for (const node of stonithNeeded) {
      const p = s.peers.get(node);
      if (p === undefined || p.stonithPending) continue;
      p.stonithPending = true;
      this.log(out, 'info', `Resetting node ${node} with [${this.stonithLabel}]`);
      out.push({ kind: 'stonith', node });
    }
  }

  private fenceBlockers(g: string): string[] {
    const out: string[] = [];
    for (const p of this.state.peers.values()) {
      if (p.alive || !p.needsFence || p.fenced) continue;
      if (!p.everHeard || this.state.lastHolder.get(g) === p.name) out.push(p.name);
    }
    return out;
  }

  // ---------------------------------------------------------------- views

  snapshot(): ClusterSnapshot {
    const s = this.state;
    const mine = this.myHolds();
    return {
      node: this.me,
      rstate: s.rstate,
      rscstatus: s.rstate !== 'stable' || this.anyInTransition() ? 'transition' : this.encode(this.me, mine),
      groups: this.groupKeys.map((key) => ({ key, preferred: this.pref(key), state: s.groups.get(key) ?? 'none' })),
      peers: [...s.peers.values()].map((p) => ({
        name: p.name,
        alive: p.alive,
        stable: p.stable,
        holdsKnown: p.holdsKnown,
        holds: [...p.holds],
        shuttingDown: p.shuttingDown,
      })),
      standby: s.standby === undefined ? undefined : `${s.standby.role}:${s.standby.hold}:${s.standby.phase}`,
      ineligible: Object.fromEntries(s.ineligible),
    };
  }

  // ---------------------------------------------------------------- eligibility (Vigil health checks)
  //
  // The only engine code for health checks. A node whose check for a group failed for good is ruled out for that
  // group: it hands the group over with the ordinary 3-phase standby (the peer needs nothing new on the wire, a real
  // Heartbeat peer takes it too), never acquires it by any path (adoption, standby `done`, legacy ip-request-resp),
  // and refuses a standby request that would hand it here (the requester's 10 s timeout keeps the group there).
  // A free group this node would be the one to adopt is handed over the same way (the peer cannot know why we
  // do not take it). Without a peer to take it, a held group keeps running here (better a suspect service than
  // none) and the hand-over is retried every INELIGIBLE_RETRY_MS.

  private onEligibility(out: Out, g: string, eligible: boolean, reason: string): void {
    if (!this.prefOf.has(g)) return;
    const s = this.state;
    if (eligible) {
      if (!s.ineligible.delete(g)) return;
      s.ineligibleNoted.clear();
      this.log(out, 'info', `Resource group ${g} is eligible on ${this.me} again.`);
      return;
    }
    s.ineligible.set(g, reason);
    s.ineligibleNoted.clear();
    this.log(out, 'WARN', `Resource group ${g} is not eligible on ${this.me}: ${reason}.`);
    this.handOverIneligible(out);
  }

  /** Ineligible groups held here, or free with this node as the one that would adopt them. */
  private toHandOver(): Set<string> {
    const s = this.state;
    const give = new Set<string>();
    for (const g of s.ineligible.keys()) {
      const st = s.groups.get(g);
      if (st === 'held') give.add(g);
      else if (st === 'none' && this.peerClaims(g, true).length === 0 && this.winner(g) === this.me) give.add(g);
    }
    return give;
  }

  private handOverIneligible(out: Out): void {
    const s = this.state;
    if (s.rstate !== 'stable') return;
    const give = this.toHandOver();
    if (give.size === 0) {
      // Ruled out while being started or stopped: look again once that settles.
      const settling = [...s.ineligible.keys()].some((g) => {
        const st = s.groups.get(g);
        return st === 'acquiring' || st === 'releasing';
      });
      if (settling) out.push({ kind: 'setTimer', name: INELIGIBLE_TIMER, ms: INELIGIBLE_RETRY_MS });
      return;
    }
    const peer = [...s.peers.values()].find((p) => p.alive && p.stable && !p.shuttingDown);
    if (this.nice && peer !== undefined && s.standby === undefined && !s.initialPending && !this.anyInTransition()) {
      this.log(out, 'info', `Handing resource group(s) ${[...give].join(' ')} to ${peer.name} (not eligible here).`);
      this.startStandby(out, this.encode(this.me, give), peer.name, give);
    } else if (peer === undefined) {
      for (const g of give) {
        if (!this.noteOnce(`nopeer:${g}`)) continue;
        this.log(
          out,
          'WARN',
          s.groups.get(g) === 'held'
            ? `No healthy peer to take resource group ${g}: it keeps running here.`
            : `Not taking over resource group ${g}: not eligible here, and no peer to take it.`,
        );
      }
    } else if (!this.nice) {
      for (const g of give) {
        if (!this.noteOnce(`legacy:${g}`)) continue;
        this.log(out, 'ERROR', `Cannot hand over resource group ${g}: needs auto_failback on or off (not legacy).`);
      }
      return;
    }
    // Until it is gone (a standby may be refused or time out, a peer may come back), try again.
    out.push({ kind: 'setTimer', name: INELIGIBLE_TIMER, ms: INELIGIBLE_RETRY_MS });
  }

  /** True the first time `key` is seen since the last ruling: one log line per situation, not per event. */
  private noteOnce(key: string): boolean {
    if (this.state.ineligibleNoted.has(key)) return false;
    this.state.ineligibleNoted.add(key);
    return true;
  }

  /** Adoption gate: true (and the hand-over arranged, once) when this node may not run `g`. */
  private refuseIneligible(out: Out, g: string): boolean {
    if (!this.state.ineligible.has(g)) return false;
    if (this.noteOnce(`adopt:${g}`)) {
      this.log(out, 'WARN', `Not taking over resource group ${g}: not eligible here.`);
      out.push({ kind: 'setTimer', name: INELIGIBLE_TIMER, ms: 0 });
    }
    return true;
  }

  /** A standby request that would hand us a group we may not run is refused (the requester keeps it). */
  private refusesHandover(out: Out, p: Peer, hold: RscHold, set: ReadonlySet<string>, exact: boolean): boolean {
    for (const g of set) {
      const why = this.state.ineligible.get(g);
      if (why === undefined) continue;
      if (!exact && !p.holds.has(g) && !p.releasing.has(g)) continue;
      this.log(
        out,
        'WARN',
        `standby message [${hold}] from ${p.name} refused: resource group ${g} is not eligible here (${why}).`,
      );
      return true;
    }
    return false;
  }
}

const INELIGIBLE_TIMER = 'ineligible';

function complement(h: RscHold): StandbyWhich {
  return h === 'local' ? 'foreign' : h === 'foreign' ? 'local' : 'all';
}

/** The engine as a function: copies the state, applies the event, returns the new state and the actions. */
export function step(
  config: CompiledConfig,
  state: ClusterState,
  event: ClusterEvent,
): { state: ClusterState; actions: ClusterAction[] } {
  const e = new ClusterEngine(config, structuredClone(state));
  const actions = e.handle(event);
  return { state: e.state, actions };
}
