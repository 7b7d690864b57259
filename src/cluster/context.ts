/**
 * The engine's state and the helpers every part of it shares (holdings, standby, legacy, reconciler,
 * eligibility). Only the engine modules use it: from outside, the engine is `handle(event) → actions` plus
 * read-only queries, and its state is never touched.
 */
import { groupOrder } from '../config/group-nodes.js';
import type { CompiledConfig } from '../config/types.js';
import type { LogLevel } from '../util/vocabulary.js';
import { invariant } from '../util/errors.js';
import type { EngineMessage, RscHold } from './protocol.js';
import type { ClusterAction, GroupState, KeyOwner, MoveReason, ResourceState } from './types.js';

export interface Peer {
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
  /**
   * It came back from a partition, during which it may have taken (and announced to clients) any group. When it
   * lets go of what we hold, or goes down, our announcement must come after its last one.
   */
  mayHoldOurs: boolean;
  /** Generation of the incarnation whose announcement `holds` reflects. */
  holdsGen: number | undefined;
  /** Highest generation any message from it carried. */
  lastMsgGen: number | undefined;
}

export interface Standby {
  readonly role: 'requester' | 'responder';
  readonly peer: string;
  /** rsc_hold as on the wire, relative to the requester. */
  readonly hold: RscHold;
  /** Why the requester gives its groups up (operator standby, auto_failback, a health check...). */
  readonly reason: MoveReason;
  phase: 'asked' | 'releasing' | 'waitOther' | 'waitDone' | 'acquiring';
  groups: Set<string>;
}

export interface ClusterState {
  rstate: ResourceState;
  groups: Map<string, GroupState>;
  /** Why each group is moving (set when it starts moving, reported again when the move completes). */
  moveReason: Map<string, { reason: MoveReason; peer: string | undefined }>;
  peers: Map<string, Peer>;
  standby: Standby | undefined;
  /** Initial acquisition running: announce stable and log when no group is acquiring. */
  initialPending: boolean;
  initialReason: string;
  bothStartingArmed: boolean;
  /** The `askHoldings` timer is set (more than two nodes: a live peer whose holdings we do not know). */
  askHoldingsArmed: boolean;
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
  /** vigil_quorum etcd (cluster/ownership.ts); unused without it. */
  q: QuorumState;
}

export interface QuorumState {
  /** etcd answers (the watch is up and every key was read). Nothing is claimed while it does not. */
  reachable: boolean;
  /** Each group's key as etcd last said (null: absent), with the revision that said it; missing = not known. */
  owners: Map<string, { owner: KeyOwner | null; revision: number }>;
  /** Keys this node owns: the group's lease and the key's creation revision (the fencing token). */
  mine: Map<string, { lease: string; revision: number }>;
  /** Claims sent and not answered yet (the group is `acquiring`). */
  claiming: Set<string>;
  /** How many times etcd became reachable; each claim notes the count it went out under (claimEpoch). */
  epoch: number;
  claimEpoch: Map<string, number>;
  /** Released here, lease being revoked: the release completes (and a hand-over's `done` goes out) after it. */
  disowning: Set<string>;
  /** Lost the key while starting the group: released as soon as the start completes. */
  lostWhileAcquiring: Set<string>;
  /** Claims refused while etcd could not be reached: tried again once it can. */
  refusedUnreachable: Set<string>;
  /** Groups whose refusal was logged (once per owner, not at every event). */
  noted: Set<string>;
  /** vigil_quorum_loss keep: held groups whose lease was lost, claimed again once etcd answers. */
  reclaim: Set<string>;
  /**
   * A wanted group that adoption may not claim while etcd answers (a refusal or a key owner we may have heard
   * wrong, or a watch event we missed) is claimed again after this long (ownership.ts, `claimRetry`).
   */
  retryMs: number;
  /** The `claimRetry` timer is set. */
  retryArmed: boolean;
  /** The timer fired: this adoption pass claims blocked groups anyway (a few at a time). */
  retrying: boolean;
}

export type Out = ClusterAction[];

/** vigil_quorum etcd: the first wait before a blocked claim is tried again; it doubles up to the second. */
export const CLAIM_RETRY_FIRST_MS = 2_000;
export const CLAIM_RETRY_MAX_MS = 30_000;

export interface EngineOptions {
  /** The `[...]` of `Resetting node X with [...]` (Heartbeat prints the device id); default the ha.cf type. */
  readonly stonithDevice?: string;
}

function newPeer(name: string): Peer {
  return {
    name,
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
    mayHoldOurs: false,
    holdsGen: undefined,
    lastMsgGen: undefined,
  };
}

export class EngineContext {
  readonly me: string;
  /** Settings from the configuration; a reload (`reconfigure`) replaces them. */
  nodes: readonly string[] = [];
  groupKeys: readonly string[] = [];
  /** Legacy's ip-request protocol cannot say who holds what among more than two nodes: there it runs as `on`. */
  nice = true;
  autoFailback = true;
  stonithType: string | undefined;
  stonithLabel = 'none';
  multi = false;
  /** vigil_quorum etcd: a group is held only under this node's key in etcd (cluster/ownership.ts). */
  quorum = false;
  /** vigil_quorum_loss keep: a lost lease does not release what is held (it is claimed again later). */
  keepOnLoss = false;
  readonly s: ClusterState;
  /** What the engine is handling right now, for transition records. */
  cause = '';
  private readonly prefOf = new Map<string, string>();
  /** Each group's nodes in order of preference (vigil_group_nodes, else preferred node then `node` order). */
  private readonly orderOf = new Map<string, readonly string[]>();
  /** Groups a reload removed that still run here: released, then forgotten. */
  readonly retiring = new Set<string>();
  /** Groups a reload changed while they were starting: stopped once started, then started anew. */
  readonly restartPending = new Set<string>();

  constructor(config: CompiledConfig, opts: EngineOptions) {
    this.me = config.hacf.localNode;
    this.apply(config, opts);
    const peers = new Map<string, Peer>();
    for (const n of this.nodes) if (n !== this.me) peers.set(n, newPeer(n));
    this.s = {
      rstate: 'init',
      groups: new Map(this.groupKeys.map((k) => [k, 'none'])),
      moveReason: new Map(),
      peers,
      standby: undefined,
      initialPending: false,
      initialReason: '',
      bothStartingArmed: false,
      askHoldingsArmed: false,
      lastHolder: new Map(),
      takeovers: new Map(),
      failedStarts: new Set(),
      failbackPending: new Set(),
      legacyRequested: new Set(),
      legacyGrant: new Map(),
      lastAnnounced: undefined,
      ineligible: new Map(),
      ineligibleNoted: new Set(),
      q: {
        reachable: false,
        owners: new Map(),
        mine: new Map(),
        claiming: new Set(),
        epoch: 0,
        claimEpoch: new Map(),
        disowning: new Set(),
        lostWhileAcquiring: new Set(),
        refusedUnreachable: new Set(),
        noted: new Set(),
        reclaim: new Set(),
        retryMs: CLAIM_RETRY_FIRST_MS,
        retryArmed: false,
        retrying: false,
      },
    };
  }

  /** The settings part of a configuration (nodes, groups, failback mode, STONITH device). */
  apply(config: CompiledConfig, opts: EngineOptions): void {
    this.nodes = config.hacf.nodes;
    this.multi = this.nodes.length > 2;
    this.nice = config.hacf.niceFailback || this.multi;
    this.autoFailback = config.hacf.autoFailback === 'on' || (this.multi && config.hacf.autoFailback === 'legacy');
    this.stonithType = config.hacf.stonith?.type;
    this.stonithLabel = opts.stonithDevice ?? this.stonithType ?? 'none';
    this.quorum = config.hacf.vigil.quorum === 'etcd';
    this.keepOnLoss = config.hacf.vigil.quorumLoss === 'keep';
    this.prefOf.clear();
    this.orderOf.clear();
    for (const g of config.groups) {
      this.prefOf.set(g.key, g.node);
      this.orderOf.set(g.key, groupOrder(g.key, g.node, this.nodes, config.hacf.vigil.groupNodes));
    }
    this.groupKeys = config.groups.map((g) => g.key);
  }

  /** Everything the engine knew of a group, gone (a reload removed it and it no longer runs here). */
  forget(g: string): void {
    const s = this.s;
    s.groups.delete(g);
    s.moveReason.delete(g);
    s.lastHolder.delete(g);
    s.failedStarts.delete(g);
    s.legacyRequested.delete(g);
    s.legacyGrant.delete(g);
    s.ineligible.delete(g);
    s.q.owners.delete(g);
    s.q.lostWhileAcquiring.delete(g);
    s.q.refusedUnreachable.delete(g);
    s.q.reclaim.delete(g);
    this.retiring.delete(g);
    this.restartPending.delete(g);
    // A standby handing it over would otherwise wait for ever for it to be released (sim seed 122023).
    s.standby?.groups.delete(g);
    for (const p of s.peers.values()) {
      p.holds.delete(g);
      p.releasing.delete(g);
      p.handedOver.delete(g);
    }
    for (const tk of s.takeovers.values()) {
      tk.pending.delete(g);
      tk.taken.delete(g);
    }
  }

  newPeer(name: string): Peer {
    return newPeer(name);
  }

  log(out: Out, level: LogLevel, text: string): void {
    out.push({ kind: 'log', level, text });
  }

  send(out: Out, msg: EngineMessage): void {
    out.push({ kind: 'send', msg });
  }

  isGroup(g: string): boolean {
    return this.prefOf.has(g);
  }

  pref(g: string): string {
    return this.prefOf.get(g) ?? this.me;
  }

  /** Groups running here in any state (what it announces: a group being stopped is not free yet). */
  myHolds(): Set<string> {
    const s = new Set<string>();
    for (const [g, st] of this.s.groups) if (st !== 'none') s.add(g);
    return s;
  }

  /** Heartbeat's coarse encoding of a set of groups relative to `node`. */
  encode(node: string, set: ReadonlySet<string>): RscHold {
    let local = false;
    let foreign = false;
    for (const g of set) {
      if (this.pref(g) === node) local = true;
      else foreign = true;
    }
    return local && foreign ? 'all' : local ? 'local' : foreign ? 'foreign' : 'none';
  }

  /** The groups a class names, relative to `node`. */
  classGroups(node: string, hold: RscHold): Set<string> {
    const s = new Set<string>();
    for (const g of this.groupKeys) {
      const local = this.pref(g) === node;
      if (hold === 'all' || (hold === 'local' && local) || (hold === 'foreign' && !local)) s.add(g);
    }
    return s;
  }

  resourceMsg(isstable: boolean, info: string | undefined, set?: ReadonlySet<string>): EngineMessage {
    const holds = set ?? this.myHolds();
    // What peers will believe we hold after this message (mach_down adds to what they knew).
    const believed = new Set(holds);
    if (info === 'mach_down') for (const g of (this.s.lastAnnounced ?? '').split(' ')) if (g !== '') believed.add(g);
    this.s.lastAnnounced = `${[...believed].sort().join(' ')}${isstable ? '' : ' (unstable)'}`;
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
  exactList(node: string, set: ReadonlySet<string>): string[] | undefined {
    if (this.multi) return [...set];
    const cls = this.classGroups(node, this.encode(node, set));
    return cls.size === set.size ? undefined : [...set];
  }

  decode(from: string, hold: RscHold, groups: readonly string[] | undefined): Set<string> {
    if (groups !== undefined) return new Set(groups.filter((g) => this.prefOf.has(g)));
    return this.classGroups(from, hold);
  }

  participates(node: string): boolean {
    if (node === this.me) return this.s.rstate === 'starting' || this.s.rstate === 'stable';
    const p = this.s.peers.get(node);
    return p !== undefined && p.alive && !p.shuttingDown;
  }

  /** The nodes a group may run on, best first: its preferred node, then its `vigil_group_nodes` or `node` order. */
  order(g: string): readonly string[] {
    return this.orderOf.get(g) ?? [this.pref(g)];
  }

  /** Whether `node` may run the group at all (a `vigil_group_nodes` line leaves the others out). */
  allowed(g: string, node: string): boolean {
    return this.order(g).includes(node);
  }

  /** Who should pick up a group nobody holds: the first node in its order that takes part. */
  winner(g: string): string | undefined {
    return this.order(g).find((n) => this.participates(n));
  }

  /** Of several holders, who keeps the group: the first in its order (a holder outside it, after them all). */
  conflictWinner(g: string, holders: readonly string[]): string {
    const pref = this.pref(g);
    return (
      this.order(g).find((n) => holders.includes(n)) ??
      (holders.includes(pref) ? pref : (this.nodes.find((n) => holders.includes(n)) ?? pref))
    );
  }

  /** Alive peers that hold the group, or might (holdings not yet known). */
  peerClaims(g: string, includeUnknown: boolean): string[] {
    const out: string[] = [];
    for (const p of this.s.peers.values()) {
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

  anyPeerAlive(): boolean {
    for (const p of this.s.peers.values()) if (p.alive) return true;
    return false;
  }

  anyInTransition(): boolean {
    for (const st of this.s.groups.values()) if (st === 'acquiring' || st === 'releasing') return true;
    return false;
  }

  anyAcquiring(): boolean {
    for (const st of this.s.groups.values()) if (st === 'acquiring') return true;
    return false;
  }

  /** Every change of a group's state goes through here: it is checked, and it is reported as a transition. */
  private setGroup(out: Out, g: string, to: GroupState, reason: MoveReason, peer: string | undefined): void {
    const from = this.s.groups.get(g) ?? 'none';
    this.s.groups.set(g, to);
    out.push({
      kind: 'transition',
      transition: { group: g, from, to, reason, cause: this.cause, ...(peer === undefined ? {} : { peer }) },
    });
  }

  /** Start a group here. Only from `none`, and never while a live peer claims it (the one-holder rule). */
  acquire(out: Out, g: string, reason: MoveReason, peer?: string): void {
    const st = this.s.groups.get(g);
    invariant(st === 'none', `acquire ${g} while it is ${String(st)} here`);
    invariant(
      this.peerClaims(g, false).length === 0,
      `acquire ${g} while ${this.peerClaims(g, false).join(', ')} claims it`,
    );
    for (const q of this.s.peers.values()) {
      q.releasing.delete(g);
      q.handedOver.delete(g);
    }
    this.s.moveReason.set(g, { reason, peer });
    this.setGroup(out, g, 'acquiring', reason, peer);
    this.s.lastHolder.set(g, this.me);
    // With the quorum, the key first: the group starts once etcd made it ours (ownership.ts, claimDone).
    if (this.quorum && !this.s.q.mine.has(g)) {
      this.s.q.claiming.add(g);
      this.s.q.claimEpoch.set(g, this.s.q.epoch);
      out.push({ kind: 'claim', group: g });
      return;
    }
    out.push({ kind: 'acquire', group: g });
  }

  /** A claim was refused: the group never started here. */
  claimRefused(out: Out, g: string, peer: string | undefined): void {
    invariant(
      this.s.groups.get(g) === 'acquiring',
      `claim refused for ${g} while it is ${String(this.s.groups.get(g))}`,
    );
    this.s.moveReason.delete(g);
    this.setGroup(out, g, 'none', 'quorum', peer);
  }

  /** Stop a group held here (a no-op in any other state: the caller asks for what it wants released). */
  release(out: Out, g: string, reason: MoveReason, peer?: string): void {
    if (this.s.groups.get(g) !== 'held') return;
    this.s.moveReason.set(g, { reason, peer });
    this.setGroup(out, g, 'releasing', reason, peer);
    out.push({ kind: 'release', group: g });
  }

  /** An acquire finished: held (also after a failure, so that the runner stops what did start). */
  acquired(out: Out, g: string, ok: boolean): void {
    invariant(this.s.groups.get(g) === 'acquiring', `acquireDone for ${g} while it is ${String(this.s.groups.get(g))}`);
    const m = this.s.moveReason.get(g);
    this.setGroup(out, g, 'held', ok ? (m?.reason ?? 'adopt') : 'start-failed', m?.peer);
  }

  /** A release finished: none, or stuck when the stop failed. */
  released(out: Out, g: string, ok: boolean): void {
    invariant(this.s.groups.get(g) === 'releasing', `releaseDone for ${g} while it is ${String(this.s.groups.get(g))}`);
    const m = this.s.moveReason.get(g);
    this.s.moveReason.delete(g);
    this.setGroup(out, g, ok ? 'none' : 'stuck', ok ? (m?.reason ?? 'adopt') : 'stop-failed', m?.peer);
  }
}
