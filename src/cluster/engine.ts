/**
 * Who holds which resource group: Heartbeat's haresources logic as a pure state machine.
 * `handle(event)` returns the actions the daemon must carry out; the state is the engine's own, read through
 * `snapshot()` and the queries below. The work is split along the protocol's seams: holdings.ts (what peers hold,
 * start-up), standby.ts (the 3-phase hand-over), legacy.ts (ip-request), reconciler.ts (what runs after every
 * event), eligibility.ts (health checks); context.ts has the state and the helpers they share.
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
 * Safety rules every path obeys, checked as invariants (a failure throws: the daemon dies and its VIP lease drops
 * the address): acquire only from `none` and never while a live peer claims the group; release only from `held`;
 * completions only in the matching state. Never start a group some live peer is giving up (until the receiver
 * claims it, the giver dies, or FLUX_EXPIRY_MS), or may hold (holdings unknown, or the peer is shutting down);
 * never take over from a dead node that needs STONITH before the reset succeeded. The giver of a planned move stops
 * first and then tells the taker, which starts at once (one hop: outage = stop + one network delay + start).
 *
 * Timers the engine asks for (`setTimer`/`timer` by name): `bothStarting` (10 s fallback),
 * `standbyReply` (10 s), `standbyDone` (responder guard), `failedStart` (30 s, then standby of the
 * failed groups), `stonith:<node>` (5 s retry), `flux:<node>` (reservation expiry), `ineligible`,
 * `legacyRequest` (10 s: ask again for an unanswered ip-request), `askHoldings` (more than two nodes: ask again
 * a live peer whose holdings we do not know, every 2 s), `claimRetry` (vigil_quorum: claim again a wanted group
 * etcd's last word kept us from, 2 s doubling to 30 s).
 */
import type { CompiledConfig } from '../config/types.js';
import { EngineContext, type EngineOptions, type Out } from './context.js';
import { INELIGIBLE_TIMER, handOverIneligible, onEligibility } from './eligibility.js';
import {
  ASK_HOLDINGS_TIMER,
  HEAL_INFO,
  answerStarting,
  onAskHoldingsTimer,
  checkStartingDone,
  finishStarting,
  onResource,
  reannounceHeld,
  onStarting,
} from './holdings.js';
import {
  LEGACY_REQUEST_TIMER,
  legacyCommUp,
  legacyNodeAlive,
  legacyNodeReturned,
  legacyRetry,
  onIpRequest,
  onIpRequestResp,
} from './legacy.js';
import type { EngineMessage } from './protocol.js';
import {
  CLAIM_RETRY_TIMER,
  disownAfterRelease,
  onClaimDone,
  onDisownDone,
  onClaimRetryTimer,
  onKeyState,
  onOwnershipLost,
  onQuorumReachable,
  quorumView,
  releaseIfLost,
} from './ownership.js';
import { progress } from './reconciler.js';
import { reconfigure } from './reconfigure.js';
import { STANDBY_REPLY_TIMEOUT_MS, cancelStandby, complement, onAskResources, startStandby } from './standby.js';
import type { ClusterAction, ClusterEvent, ClusterSnapshot, GroupState, OperatorCommand } from './types.js';

export type { EngineOptions } from './context.js';
export { BOTH_STARTING_FALLBACK_MS, FLUX_EXPIRY_MS, HEAL_INFO } from './holdings.js';
export { INELIGIBLE_RETRY_MS } from './eligibility.js';
export { STANDBY_DONE_GUARD_MS, STANDBY_REPLY_TIMEOUT_MS } from './standby.js';

export const STONITH_RETRY_MS = 5_000;
/** After a failed start Heartbeat runs hb_standby 30 s later. */
export const FAILED_START_STANDBY_MS = 30_000;

/** `message resource from linux2`, `nodeDead linux1`, `command standby all`: what a transition happened on. */
function describe(ev: ClusterEvent): string {
  switch (ev.kind) {
    case 'message':
      return `message ${ev.msg.t} from ${ev.from}`;
    case 'command':
      return `command ${ev.command.op}${ev.command.op === 'shutdown' ? '' : ` ${ev.command.which}`}`;
    case 'nodeAlive':
    case 'nodeRestarted':
    case 'nodeReturned':
    case 'nodeDead':
    case 'nodeShutdown':
    case 'stonithDone':
      return `${ev.kind} ${ev.node}`;
    case 'timer':
      return `timer ${ev.name}`;
    case 'acquireDone':
    case 'releaseDone':
    case 'groupLost':
    case 'eligibility':
    case 'claimDone':
    case 'disownDone':
    case 'keyState':
    case 'ownershipLost':
      return `${ev.kind} ${ev.group}`;
    case 'commUp':
      return 'commUp';
    case 'quorumReachable':
      return `quorumReachable ${String(ev.reachable)}`;
  }
}

export class ClusterEngine {
  readonly me: string;
  private readonly c: EngineContext;

  constructor(
    config: CompiledConfig,
    private opts: EngineOptions = {},
  ) {
    this.c = new EngineContext(config, opts);
    this.me = this.c.me;
  }

  get nodes(): readonly string[] {
    return this.c.nodes;
  }

  /** A reload: the new configuration, and the groups whose resources changed. Returns what to do about it. */
  reconfigure(
    config: CompiledConfig,
    changedGroups: readonly string[],
    opts: EngineOptions = this.opts,
  ): ClusterAction[] {
    this.opts = opts;
    const out: Out = [];
    this.c.cause = 'reload';
    reconfigure(this.c, out, config, opts, changedGroups);
    progress(this.c, out);
    return out;
  }

  // ---------------------------------------------------------------- queries

  /** This node's state for a group (`none` for an unknown key). */
  groupState(g: string): GroupState {
    return this.c.s.groups.get(g) ?? 'none';
  }

  /** Whether a standby with `peer` could start now (ipfail asks before it gives up). */
  canStandbyWith(peer: string): boolean {
    const s = this.c.s;
    const p = s.peers.get(peer);
    return (
      s.rstate === 'stable' && !s.initialPending && s.standby === undefined && p !== undefined && p.alive && p.stable
    );
  }

  // ---------------------------------------------------------------- entry point

  handle(ev: ClusterEvent): ClusterAction[] {
    const c = this.c;
    const out: Out = [];
    c.cause = describe(ev);
    switch (ev.kind) {
      case 'commUp':
        this.onCommUp(out);
        break;
      case 'nodeAlive':
        this.onNodeAlive(out, ev.node, false, ev.generation, ev.active === true);
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
        const p = c.s.peers.get(ev.node);
        if (ev.generation !== undefined && p?.lastMsgGen !== undefined && p.lastMsgGen > ev.generation) break;
        this.onNodeDead(out, ev.node, false);
        break;
      }
      case 'nodeShutdown':
        this.onNodeDead(out, ev.node, true);
        break;
      case 'message':
        this.onMessage(out, ev.from, ev.generation, ev.msg, ev.stale === true);
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
        if (c.s.groups.get(ev.group) === 'held') {
          c.log(out, 'CRIT', `Resource group ${ev.group} lost (${ev.reason}): releasing it here.`);
          c.release(out, ev.group, 'lost');
        }
        break;
      case 'eligibility':
        onEligibility(c, out, ev.group, ev.eligible, ev.reason ?? 'health check failed');
        break;
      case 'claimDone':
        onClaimDone(c, out, ev.group, ev.result);
        break;
      case 'disownDone':
        if (onDisownDone(c, ev.group)) this.completeRelease(out, ev.group, true);
        break;
      case 'keyState':
        onKeyState(c, out, ev.group, ev.owner, ev.revision);
        break;
      case 'ownershipLost':
        onOwnershipLost(c, out, ev.group, ev.reason);
        break;
      case 'quorumReachable':
        onQuorumReachable(c, out, ev.reachable);
        break;
    }
    progress(c, out);
    return out;
  }

  // ---------------------------------------------------------------- membership

  private onCommUp(out: Out): void {
    const c = this.c;
    if (c.s.rstate !== 'init') return;
    for (const p of c.s.peers.values()) {
      if (!p.everHeard) {
        // Never heard during initdead: it may hold anything, so STONITH first if we have a device.
        p.alive = false;
        p.needsFence = c.stonithType !== undefined;
      }
    }
    if (!c.nice) {
      legacyCommUp(c, out);
      return;
    }
    c.s.rstate = 'starting';
    // Only answers to this `starting` count: what peers said before may be stale.
    for (const p of c.s.peers.values()) if (p.alive) p.holdsKnown = false;
    c.send(out, { t: 'starting' });
    checkStartingDone(c, out);
  }

  /**
   * First status from a node, or from a new incarnation (`restarted`: it restarted, so it holds nothing).
   * A node heard for the first time may have been running all along (we started while it was
   * unreachable): its holdings are unknown until it announces them, so we announce ours to
   * prompt the exchange.
   */
  private onNodeAlive(
    out: Out,
    node: string,
    restarted: boolean,
    generation: number | undefined,
    active = false,
  ): void {
    const c = this.c;
    const p = c.s.peers.get(node);
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
    if (c.s.standby?.peer === node) cancelStandby(c, out, 'peer restarted');
    if (!c.nice) {
      legacyNodeAlive(c, out, p, firstEver, restarted, active);
      return;
    }
    if (firstEver && !restarted) {
      if (!p.holdsKnown) p.holds = new Set();
      if (c.s.rstate === 'stable') {
        p.healing = true;
        c.send(out, c.resourceMsg(!c.anyInTransition(), HEAL_INFO));
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
    const c = this.c;
    const p = c.s.peers.get(node);
    if (p === undefined) return;
    p.alive = true;
    p.everHeard = true;
    p.shuttingDown = false;
    p.needsFence = false;
    p.fenced = false;
    p.healing = true;
    p.mayHoldOurs = true;
    if (p.stonithPending) {
      p.stonithPending = false;
      out.push({ kind: 'cancelTimer', name: `stonith:${node}` });
    }
    if (!c.nice) {
      legacyNodeReturned(c, out, p);
      return;
    }
    // Unless it told us since, its holdings are stale: wait for its announcement before adopting
    // anything it may hold.
    if (!p.announcedSinceDeath) {
      p.holdsKnown = false;
      p.holds = new Set();
    }
    if (c.s.rstate === 'stable') c.send(out, c.resourceMsg(!c.anyInTransition(), HEAL_INFO));
  }

  private onNodeDead(out: Out, node: string, clean: boolean): void {
    const c = this.c;
    const s = c.s;
    const p = s.peers.get(node);
    if (p === undefined || !p.alive) return;
    if (clean) c.log(out, 'info', `Received shutdown notice from '${node}'.`);
    const held = p.holdsKnown
      ? new Set([...p.holds, ...[...p.releasing].filter((g) => !p.handedOver.has(g))])
      : undefined;
    // What it may have announced to clients last, it no longer answers for: ours must be the last word. (A real
    // Heartbeat peer back from a partition gives everything up and re-execs, after its own ARP burst for what it
    // took during the partition: without this, a client kept its MAC for a VIP we hold until our next refresh.)
    const announced = held === undefined || p.mayHoldOurs ? new Set(c.groupKeys) : held;
    if (s.rstate === 'stable') reannounceHeld(c, out, announced);
    p.mayHoldOurs = false;
    p.alive = false;
    p.stable = false;
    p.starting = false;
    p.healing = false;
    p.shuttingDown = false;
    s.failbackPending.delete(node);
    if (s.standby?.peer === node) cancelStandby(c, out, 'peer died');
    // A clean stop released everything first; a crash may have left anything it held running.
    // Nobody left to answer our ip-requests: the groups are ours to take like any orphan.
    if (!c.nice && !c.anyPeerAlive()) s.legacyRequested.clear();
    p.needsFence = !clean && c.stonithType !== undefined && (!p.everHeard || held === undefined || held.size > 0);
    p.fenced = false;
    if (held !== undefined) for (const g of held) s.lastHolder.set(g, node);
    if (!clean) for (const g of p.releasing) s.lastHolder.set(g, node);
    // Death right after (or during) a standby: what it handed over stays reserved for the partner
    // (whose claim may reach us after the death) until that claim or FLUX_EXPIRY_MS.
    p.releasing = p.handedOver;
    p.handedOver = new Set(p.releasing);
    p.holds = new Set();
    p.holdsKnown = true;
    p.announcedSinceDeath = false;
    if (s.rstate === 'init' || s.rstate === 'shutdown' || s.rstate === 'down') return;
    const mine = [...(held ?? c.groupKeys)].filter((g) => s.groups.get(g) === 'none' && c.winner(g) === c.me);
    if (mine.length > 0 || (held === undefined && s.rstate === 'stable')) {
      c.log(out, 'info', `Resources being acquired from ${node}.`);
      if (!clean && (held === undefined || held.size > 0 || !p.everHeard)) {
        if (c.stonithType === undefined) {
          c.log(out, 'WARN', 'No STONITH device configured.');
          c.log(out, 'WARN', 'Shared disks are not protected.');
        }
      }
      s.takeovers.set(node, { pending: new Set(), taken: new Set() });
    }
    if (s.rstate === 'starting') checkStartingDone(c, out);
  }

  // ---------------------------------------------------------------- messages

  private onMessage(out: Out, from: string, generation: number, msg: EngineMessage, stale: boolean): void {
    const c = this.c;
    const p = c.s.peers.get(from);
    if (p === undefined) return;
    if (stale) {
      // Out of date about the peer's holdings: only the answer a `starting` asks for is still owed.
      if (msg.t === 'starting') answerStarting(c, out);
      return;
    }
    if (p.lastMsgGen === undefined || generation > p.lastMsgGen) p.lastMsgGen = generation;
    switch (msg.t) {
      case 'starting':
        onStarting(c, out, p, generation);
        return;
      case 'resource':
        p.holdsGen = generation;
        onResource(c, out, p, msg);
        return;
      case 'ask_resources':
        if (msg.dest !== undefined && msg.dest !== this.me) return;
        onAskResources(c, out, p, msg.rscHold, msg.info, msg.groups);
        return;
      case 'hb_takeover':
        if (!c.nice) {
          c.log(out, 'ERROR', 'Standby mode only implemented when nice_failback on');
          return;
        }
        startStandby(c, out, complement(msg.rscHold), 'standby', from);
        return;
      case 'ip-request':
        onIpRequest(c, out, p, msg.ipaddr);
        return;
      case 'ip-request-resp':
        onIpRequestResp(c, out, p, msg.dest, msg.ipaddr);
        return;
      case 'shutdone':
        // Membership reports the same fact as nodeShutdown; whichever comes first does the work.
        if (p.alive) this.onNodeDead(out, from, true);
        return;
      case 'reqnodes':
        // The one answer to a reqnodes: a real node stays out of `active` until it gets it.
        if (msg.dest !== this.me) return;
        c.send(out, { t: 'repnodes', dest: from, nodelist: this.nodes, delnodelist: [] });
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

  // ---------------------------------------------------------------- commands, timers, results

  private onCommand(out: Out, cmd: OperatorCommand): void {
    const c = this.c;
    const s = c.s;
    switch (cmd.op) {
      case 'standby':
        startStandby(c, out, cmd.which, 'standby');
        return;
      case 'takeover': {
        if (!c.nice) {
          c.log(out, 'ERROR', 'Standby mode only implemented when nice_failback on');
          return;
        }
        c.send(out, { t: 'hb_takeover', rscHold: cmd.which });
        return;
      }
      case 'shutdown': {
        if (s.rstate === 'shutdown' || s.rstate === 'down') return;
        cancelStandby(c, out, 'shutdown');
        if (s.bothStartingArmed) {
          s.bothStartingArmed = false;
          out.push({ kind: 'cancelTimer', name: 'bothStarting' });
        }
        s.rstate = 'shutdown';
        s.initialPending = false;
        c.log(out, 'info', 'Giving up all HA resources.');
        if (c.nice) c.send(out, c.resourceMsg(false, 'shutdown', new Set<string>()));
        for (const g of c.groupKeys) c.release(out, g, 'shutdown');
        return;
      }
    }
  }

  private onTimer(out: Out, name: string): void {
    const c = this.c;
    const s = c.s;
    if (name === 'bothStarting') {
      if (!s.bothStartingArmed) return;
      s.bothStartingArmed = false;
      if (s.rstate === 'starting') finishStarting(c, out, 'T_RESOURCES(us)');
      return;
    }
    if (name === 'standbyReply') {
      const sb = s.standby;
      if (sb?.role !== 'requester') return;
      if (sb.phase === 'asked') {
        c.log(out, 'WARN', 'No reply to standby request.  Standby request cancelled.');
      }
      cancelStandby(c, out, 'timeout');
      return;
    }
    if (name === 'standbyDone') {
      if (s.standby?.role === 'responder') cancelStandby(c, out, 'timeout');
      return;
    }
    if (name === 'failedStart') {
      // Heartbeat runs hb_standby for the class of the failed groups 30 s later; we hand over exactly
      // those groups. If no peer can take them, we try again ourselves (the failure may be transient).
      // With more than two nodes the rule-chosen node adopts them once our release is announced
      // and its reservation expires; we only stop refusing them ourselves.
      const groups = new Set(
        [...s.failedStarts].filter((g) => s.groups.get(g) === 'none' && c.peerClaims(g, true).length === 0),
      );
      if (!c.multi && groups.size > 0 && (s.standby !== undefined || c.anyInTransition())) {
        // Busy with another hand-over: keep refusing them and try again later.
        out.push({ kind: 'setTimer', name: 'failedStart', ms: STANDBY_REPLY_TIMEOUT_MS });
        return;
      }
      if (
        c.multi ||
        groups.size === 0 ||
        !startStandby(c, out, c.encode(this.me, groups), 'start-failed', undefined, groups)
      ) {
        s.failedStarts.clear();
      }
      return;
    }
    if (name.startsWith('flux:')) {
      const p = s.peers.get(name.slice('flux:'.length));
      if (p !== undefined) {
        p.releasing = new Set();
        p.handedOver = new Set();
      }
      return;
    }
    if (name === LEGACY_REQUEST_TIMER) {
      legacyRetry(c, out);
      return;
    }
    if (name === ASK_HOLDINGS_TIMER) {
      onAskHoldingsTimer(c, out);
      return;
    }
    if (name === CLAIM_RETRY_TIMER) {
      onClaimRetryTimer(c);
      return;
    }
    if (name === INELIGIBLE_TIMER) {
      handOverIneligible(c, out);
      return;
    }
    if (name.startsWith('stonith:')) {
      const node = name.slice('stonith:'.length);
      const p = s.peers.get(node);
      if (p !== undefined && !p.alive && p.needsFence && !p.fenced) {
        c.log(out, 'info', `Resetting node ${node} with [${c.stonithLabel}]`);
        out.push({ kind: 'stonith', node });
      }
    }
  }

  private onAcquireDone(out: Out, g: string, ok: boolean): void {
    const c = this.c;
    const s = c.s;
    if (s.groups.get(g) !== 'acquiring') return;
    c.acquired(out, g, ok);
    if (ok) {
      // Shutting down, or (legacy) its owner asked for it while we were starting it, or a reload removed or
      // changed it meanwhile, or its key in etcd was lost while it started.
      if (releaseIfLost(c, out, g)) return;
      if (s.rstate === 'shutdown') c.release(out, g, 'shutdown');
      else if (c.retiring.has(g) || c.restartPending.delete(g)) c.release(out, g, 'reload');
      else if (s.legacyGrant.has(g)) c.release(out, g, 'legacy', s.legacyGrant.get(g));
      return;
    }
    c.log(out, 'CRIT', `Giving up resources due to failure of ${g}`);
    // The runner stops whatever part of the group did start.
    c.release(out, g, 'start-failed');
    s.failedStarts.add(g);
    out.push({ kind: 'setTimer', name: 'failedStart', ms: FAILED_START_STANDBY_MS });
  }

  private onReleaseDone(out: Out, g: string, ok: boolean): void {
    const c = this.c;
    if (c.s.groups.get(g) !== 'releasing') return;
    // Stopped: the key goes before anyone hears the group is free. (A failed stop keeps it: still running here.)
    if (ok && disownAfterRelease(c, out, g)) return;
    this.completeRelease(out, g, ok);
  }

  private completeRelease(out: Out, g: string, ok: boolean): void {
    const c = this.c;
    const s = c.s;
    if (s.groups.get(g) !== 'releasing') return;
    s.q.lostWhileAcquiring.delete(g);
    if (ok) s.q.reclaim.delete(g);
    c.released(out, g, ok);
    if (ok && c.retiring.has(g)) c.forget(g);
    if (!ok) {
      c.log(out, 'CRIT', 'Resource STOP failure. Reboot required!');
      out.push({ kind: 'reboot', reason: `could not stop resource group ${g}` });
      return;
    }
    const to = s.legacyGrant.get(g);
    if (to !== undefined) {
      s.legacyGrant.delete(g);
      c.send(out, { t: 'ip-request-resp', dest: to, ipaddr: g, weown: true });
    }
  }

  private onStonithDone(out: Out, node: string, ok: boolean): void {
    const c = this.c;
    const p = c.s.peers.get(node);
    if (p === undefined || !p.stonithPending) return;
    if (ok) {
      p.stonithPending = false;
      p.fenced = true;
      c.log(out, 'info', `node ${node} now reset.`);
      return;
    }
    c.log(out, 'ERROR', `STONITH of ${node} failed.  Retrying...`);
    out.push({ kind: 'setTimer', name: `stonith:${node}`, ms: STONITH_RETRY_MS });
  }

  // ---------------------------------------------------------------- views

  snapshot(): ClusterSnapshot {
    const c = this.c;
    const s = c.s;
    const mine = c.myHolds();
    return {
      node: this.me,
      rstate: s.rstate,
      rscstatus: s.rstate !== 'stable' || c.anyInTransition() ? 'transition' : c.encode(this.me, mine),
      groups: c.groupKeys.map((key) => ({ key, preferred: c.pref(key), state: s.groups.get(key) ?? 'none' })),
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
      ...(c.quorum ? { quorum: quorumView(c) } : {}),
    };
  }

  /** vigil_quorum etcd: this node's lease and fencing token for a group while it owns the key. */
  ownedKey(g: string): { readonly lease: string; readonly revision: number } | undefined {
    return this.c.s.q.mine.get(g);
  }

  /** Groups whose key this node owns (the lease keeper renews exactly these). */
  ownedKeys(): ReadonlyMap<string, { readonly lease: string; readonly revision: number }> {
    return this.c.s.q.mine;
  }
}
