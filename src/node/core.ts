/**
 * One node's decisions, pure: what the wire layer accepted, timer firings, resource and STONITH results and
 * operator commands in; actions out (send, acquire, release, reannounce, fence, timers, log lines, transitions).
 * The daemon (src/daemon/node.ts) drives it with real sockets, processes and clocks; the simulator (src/sim) with
 * simulated ones. Both run this same code, so the simulation checks what the daemon does.
 *
 * Inside: Membership (who is alive), ClusterEngine (who holds what) and ipfail, fed in the order the daemon has
 * always used: a packet's membership events first, then the message itself; every membership event that implies an
 * engine event is handed to the engine, then to ipfail.
 */
import { ClusterEngine } from '../cluster/engine.js';
import {
  Ipfail,
  engineContext,
  ipfailSetup,
  type IpfailAction,
  type IpfailEvent,
  type IpfailSnapshot,
} from '../cluster/ipfail.js';
import { fromFields, type EngineMessage } from '../cluster/protocol.js';
import {
  clusterEventOf,
  type ClaimResult,
  type KeyOwner,
  type ClusterAction,
  type ClusterEvent,
  type GroupState,
  type GroupTransition,
  type OperatorCommand,
} from '../cluster/types.js';
import type { CompiledConfig } from '../config/types.js';
import { Membership, type MembershipEvent, type MembershipOptions } from '../membership/membership.js';
import { VigilError, invariant } from '../util/errors.js';
import type { LogLevel } from '../util/vocabulary.js';
import { getString, type Accepted, type ReceiveResult } from '../wire/index.js';
import { LeaseKeeper, type RenewResult } from './leases.js';

/** A graceful stop that cannot finish (a peer never answers, a resource hangs) still ends. */
export const SHUTDOWN_LIMIT_MS = 5 * 60_000;

/** Timers the core owns besides the engine's (`engine:<name>`) and ipfail's (`ipfail:<name>`). */
export const BEAT_TIMER = 'beat';
export const CHECK_TIMER = 'check';
const SHUTDOWN_TIMER = 'shutdownLimit';
/** vigil_quorum etcd: lease renewals and release deadlines (node/leases.ts). */
export const QUORUM_TIMER = 'quorum';
const ENGINE_PREFIX = 'engine:';

export type CoreAction =
  /** Sign and send on every medium. */
  | { readonly kind: 'send'; readonly msg: EngineMessage }
  /** Start a group (answer with `acquireDone`). */
  | { readonly kind: 'acquire'; readonly group: string }
  /** Stop a group (answer with `releaseDone`). */
  | { readonly kind: 'release'; readonly group: string }
  /** Announce a held group's addresses again (a peer that held it too is letting go). */
  | { readonly kind: 'reannounce'; readonly group: string }
  /** Reset a node with the STONITH device (answer with `stonithDone`). */
  | { readonly kind: 'fence'; readonly node: string }
  /** A node was heard again: a pending reset (a meatware wait) is abandoned. */
  | { readonly kind: 'fenceCancel'; readonly node: string }
  /**
   * (Re)arm a one-shot timer (answer with `timer`). `afterIo`: run it only once the packets queued at that moment
   * were read (the liveness check must not judge a peer on evidence it did not read).
   */
  | { readonly kind: 'setTimer'; readonly name: string; readonly ms: number; readonly afterIo?: boolean }
  | { readonly kind: 'cancelTimer'; readonly name: string }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly text: string }
  | { readonly kind: 'transition'; readonly transition: GroupTransition }
  /** A peer or one of its links changed (for the status API's event stream and the metrics; nothing to do). */
  | { readonly kind: 'member'; readonly event: MemberChange }
  /** A heartbeat just went out: work that can share its wake-up (ping probes, VIP lease renewals). */
  | { readonly kind: 'beat' }
  /** The liveness check ran this late: a local stall (GC, frozen process), not the peers' silence. */
  | { readonly kind: 'stall'; readonly lateByMs: number }
  /** The graceful stop is over (`shutdone` sent, or the time limit): flush and exit. */
  | { readonly kind: 'stopped'; readonly reason: string }
  /** A group could not be stopped: Heartbeat reboots here; the daemon says so and keeps the group stuck. */
  | { readonly kind: 'reboot'; readonly reason: string }
  /** vigil_quorum etcd: create the group's key under a new lease, only if absent (answer with `claimDone`). */
  | { readonly kind: 'claim'; readonly group: string }
  /** vigil_quorum etcd: revoke the group's lease, deleting its key (answer with `disownDone`). */
  | { readonly kind: 'disown'; readonly group: string; readonly lease: string }
  /** vigil_quorum etcd: renew a lease (answer with `renewDone`, echoing `sentAt`). */
  | { readonly kind: 'renew'; readonly group: string; readonly lease: string; readonly sentAt: number };

/** The membership events an observer sees: peers and ping nodes coming and going, links up and down. */
export type MemberChange = Extract<
  MembershipEvent,
  {
    kind:
      | 'nodeAlive'
      | 'nodeRestarted'
      | 'nodeReturned'
      | 'nodeDead'
      | 'nodeShutdown'
      | 'statusChanged'
      | 'linkUp'
      | 'linkDead'
      | 'pingNodeAlive'
      | 'pingNodeDead';
  }
>;

export interface NodeCoreOptions {
  readonly config: CompiledConfig;
  /** Monotonic ms at start. */
  readonly now: number;
  /** The STONITH device's id for `Resetting node X with [...]`. */
  readonly stonithDevice?: string;
  /** For `Heartbeat shutdown in progress. (pid)`. */
  readonly pid: number;
  readonly membership?: MembershipOptions;
  /**
   * The same monotonic clock as `now` (the daemon's scheduler, the simulator's time line). Needed by
   * vigil_quorum etcd only: a claim's send time bounds its lease's expiry, whatever event the claim was sent on.
   */
  readonly clock?: () => number;
}

export class NodeCore {
  readonly membership: Membership;
  readonly engine: ClusterEngine;
  private cfg: CompiledConfig;
  private ipfail: { core: Ipfail; peer: string } | undefined;
  /** Ping nodes with a verdict (answered, or declared dead): until all have one, our count means nothing. */
  private readonly pingDecided = new Set<string>();
  private ipfailPeerHeard = false;
  /** The last holdings announcement applied from each peer (its generation and seq). */
  private readonly lastAnnouncement = new Map<string, { generation: number; seq: number }>();
  /** Peers that announced a clean stop (`shutdone`), with the generation that stopped. */
  private readonly shutDownPeers = new Map<string, number>();
  private firstBeatAt = 0;
  private beats = 0;
  private nextBeatAt: number | undefined;
  private checkOnBeat = false;
  private checkDueAt = 0;
  private stopping = false;
  private stopped = false;
  private readonly setupLog: CoreAction[];
  /** vigil_quorum etcd: this node's leases (undefined without the quorum). */
  private readonly leases: LeaseKeeper | undefined;
  private quorumWakeAt: number | undefined;
  /** The latest time any input carried (a claim sent on an input without one is dated no later than this). */
  private lastNow: number;
  /** Times ipfail handed this node's groups away (fewer ping nodes seen here than on the peer). */
  ipfailStandbys = 0;

  constructor(private readonly o: NodeCoreOptions) {
    this.cfg = o.config;
    this.lastNow = o.now;
    this.leases =
      o.config.hacf.vigil.quorum === 'etcd' ? new LeaseKeeper({ ttlMs: o.config.hacf.vigil.quorumTtlMs }) : undefined;
    invariant(this.leases === undefined || o.clock !== undefined, 'vigil_quorum etcd needs the core to have a clock');
    this.membership = new Membership(o.config, o.now, o.membership);
    this.engine = new ClusterEngine(o.config, { stonithDevice: o.stonithDevice });
    const setup = ipfailSetup(o.config);
    this.setupLog = setup.log.map((l) => ({ kind: 'log', level: l.level, text: l.text }) as const);
    this.ipfail =
      setup.options === undefined ? undefined : { core: new Ipfail(setup.options), peer: setup.options.peer };
  }

  // ---------------------------------------------------------------- queries

  get localStatus(): string {
    return this.membership.localStatus;
  }

  /** When the running liveness check was due (the shell measures timer lateness against it). */
  get checkScheduledFor(): number {
    return this.checkDueAt;
  }

  /** Built-in ipfail's view (undefined when ipfail is off): ping node counts here and on the peer, pending moves. */
  ipfailView(): (IpfailSnapshot & { readonly peerNode: string }) | undefined {
    const ip = this.ipfail;
    return ip === undefined ? undefined : { ...ip.core.snapshot(), peerNode: ip.peer };
  }

  groupState(g: string): GroupState {
    return this.engine.groupState(g);
  }

  isStopped(): boolean {
    return this.stopped;
  }

  isStopping(): boolean {
    return this.stopping;
  }

  /**
   * vigil_quorum etcd: the local monotonic instant by which the group's VIP must be gone (its etcd lease may expire
   * soon after). The VIP's kernel lifetime is capped by it. Undefined: no cap (no quorum, vigil_quorum_loss keep).
   */
  vipDeadline(group: string): number | undefined {
    if (this.leases === undefined || this.cfg.hacf.vigil.quorumLoss === 'keep') return undefined;
    if (!this.leases.has(group)) {
      // Held without a lease: never (a claimed key comes first), but if it were, nothing may be renewed.
      return this.engine.groupState(group) === 'none' ? undefined : 0;
    }
    return this.leases.vipDeadline(group);
  }

  /** vigil_quorum etcd: the fencing token of a group owned here (the key's creation revision in etcd). */
  fencingToken(group: string): number | undefined {
    return this.engine.ownedKey(group)?.revision;
  }

  /** `cl_status clientstatus <node> ipfail`: online here (built in), and on the peer while its ipfail has spoken. */
  clients(node: string, alive: boolean): Record<string, 'online' | 'offline'> {
    if (this.ipfail === undefined) return {};
    if (node === this.cfg.hacf.localNode) return { ipfail: 'online' };
    if (node === this.ipfail.peer) return { ipfail: alive && this.ipfailPeerHeard ? 'online' : 'offline' };
    return {};
  }

  // ---------------------------------------------------------------- inputs

  /** Log why ipfail is on or off, send the first status and arm the heartbeat and the liveness check. */
  start(now: number): CoreAction[] {
    const out: CoreAction[] = [...this.setupLog];
    out.push({ kind: 'log', level: 'info', text: `Local status now set to: '${this.membership.localStatus}'` });
    // Heartbeat sends its first status at once, then every keepalive on a fixed grid (no drift under load).
    this.firstBeatAt = now;
    this.beats = 0;
    this.beat(out, now);
    this.scheduleCheck(out, now);
    return out;
  }

  /** What the wire layer made of one datagram that came in on `link`. */
  received(r: ReceiveResult, link: string, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped) return out;
    if (r.kind === 'dropped') {
      // An authentic duplicate (the same packet over a second medium) still proves that link works.
      if (r.from !== undefined && r.from !== this.cfg.hacf.localNode && !this.shutDownPeers.has(r.from))
        this.feed(out, this.membership.onPacket(r.from, link, now));
      return out;
    }
    if (r.self) return out;
    // Woken from a freeze, queued packets are read before any timer runs: no answer may claim a group whose
    // etcd lease may have run out meanwhile.
    if (this.leases !== undefined) this.checkQuorum(now, out);
    if (this.fromStoppedIncarnation(r.from, r.control.generation ?? 0)) return out;
    const events: MembershipEvent[] = this.membership.onPacket(r.from, link, now);
    if (r.type === 'status') {
      const m = fromFields((name) => getString(r.message, name));
      if (m instanceof VigilError || m.t !== 'status') {
        out.push({ kind: 'log', level: 'debug', text: `status from ${r.from} ignored: ${describeError(m)}` });
      } else {
        events.push(...this.membership.onStatus(r.from, r.control.generation ?? 0, m.st, m.dt, now, r.late));
      }
      this.feed(out, events);
      return out;
    }
    if (r.type === 'shutdone') {
      this.shutDownPeers.set(r.from, r.control.generation ?? 0);
      events.push(...this.membership.onShutdone(r.from, now));
    }
    this.feed(out, events);
    if (!r.handled) this.deliver(out, r);
    return out;
  }

  /** A timer set by a `setTimer` action fired. */
  timer(name: string, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped) return out;
    if (name === BEAT_TIMER) {
      this.beat(out, now);
    } else if (name === CHECK_TIMER) {
      // Lateness is judged against the timer's due time: a late timer is our stall, not the peers' silence.
      this.feed(out, this.membership.check(now, this.checkDueAt));
      this.scheduleCheck(out, now);
    } else if (name === QUORUM_TIMER) {
      this.quorumWakeAt = undefined;
      this.checkQuorum(now, out);
    } else if (name === SHUTDOWN_TIMER) {
      this.finishStop(out, 'shutdown time limit reached');
    } else if (name.startsWith(ENGINE_PREFIX)) {
      this.handle(out, { kind: 'timer', name: name.slice(ENGINE_PREFIX.length) });
    } else if (name.startsWith('ipfail:')) {
      this.runIpfail(out, { kind: 'timer', name });
    }
    return out;
  }

  /** A ping node (or any member of a ping group) answered. */
  pingReply(name: string, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (!this.stopped) this.feed(out, this.membership.onPing(name, now));
    return out;
  }

  acquireDone(group: string, ok: boolean): CoreAction[] {
    return this.event({ kind: 'acquireDone', group, ok });
  }

  releaseDone(group: string, ok: boolean): CoreAction[] {
    return this.event({ kind: 'releaseDone', group, ok });
  }

  stonithDone(node: string, ok: boolean): CoreAction[] {
    return this.event({ kind: 'stonithDone', node, ok });
  }

  command(c: OperatorCommand): CoreAction[] {
    return this.event({ kind: 'command', command: c });
  }

  /** A held group lost its VIP by itself (lease expiry after a stall): the engine releases the rest. */
  groupLost(group: string, reason: string): CoreAction[] {
    return this.event({ kind: 'groupLost', group, reason });
  }

  /** A health check ruled this node out for a group, or the operator cleared it. */
  eligibility(group: string, eligible: boolean, reason?: string): CoreAction[] {
    return this.event(
      reason === undefined
        ? { kind: 'eligibility', group, eligible }
        : { kind: 'eligibility', group, eligible, reason },
    );
  }

  // ---------------------------------------------------------------- vigil_quorum etcd

  claimDone(group: string, result: ClaimResult, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped) return out;
    const l = this.leases;
    if (l !== undefined) {
      if (result.ok) l.claimed(group, result.lease, now);
      else l.claimFailed(group);
    }
    this.handle(out, { kind: 'claimDone', group, result });
    // Granted but no longer wanted (the group went meanwhile): the engine disowned it; nothing to keep.
    this.syncLeases(out, now);
    return out;
  }

  disownDone(group: string, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped) return out;
    this.leases?.forget(group);
    this.handle(out, { kind: 'disownDone', group });
    this.syncLeases(out, now);
    return out;
  }

  renewDone(group: string, lease: string, sentAt: number, result: RenewResult, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    const l = this.leases;
    if (this.stopped || l === undefined) return out;
    if (l.renewed(group, lease, sentAt, result) === 'gone') {
      l.forget(group);
      this.handle(out, { kind: 'ownershipLost', group, reason: `etcd no longer knows lease ${lease}` });
    }
    this.checkQuorum(now, out);
    return out;
  }

  keyState(group: string, owner: KeyOwner | undefined, revision: number, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped) return out;
    this.handle(out, { kind: 'keyState', group, owner, revision });
    this.syncLeases(out, now);
    return out;
  }

  quorumReachable(reachable: boolean, now: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped) return out;
    this.handle(out, { kind: 'quorumReachable', reachable });
    this.syncLeases(out, now);
    return out;
  }

  /**
   * Releases every group whose lease may no longer outlive its release (also from the packet path: woken from a
   * freeze, the daemon reads queued packets before any timer runs), then sends the renewals due.
   */
  checkQuorum(now: number, out: CoreAction[] = []): CoreAction[] {
    const l = this.leases;
    if (this.stopped || l === undefined) return out;
    for (const g of l.overdue(now)) {
      l.forget(g);
      this.handle(out, { kind: 'ownershipLost', group: g, reason: 'its etcd lease was not renewed in time' });
    }
    this.syncLeases(out, now);
    return out;
  }

  /** The keeper follows the engine's keys: new claims noted, forgotten ones dropped, renewals and the wake-up set. */
  private syncLeases(out: CoreAction[], now: number): void {
    const l = this.leases;
    if (l === undefined) return;
    const owned = this.engine.ownedKeys();
    for (const r of l.due(now)) {
      if (owned.get(r.group)?.lease !== r.lease) {
        l.forget(r.group);
        continue;
      }
      out.push({ kind: 'renew', group: r.group, lease: r.lease, sentAt: now });
    }
    const wake = l.nextWake(now);
    if (wake === undefined) {
      if (this.quorumWakeAt !== undefined) out.push({ kind: 'cancelTimer', name: QUORUM_TIMER });
      this.quorumWakeAt = undefined;
      return;
    }
    if (this.quorumWakeAt === wake) return;
    this.quorumWakeAt = wake;
    out.push({ kind: 'setTimer', name: QUORUM_TIMER, ms: Math.max(0, wake - now) });
  }

  /**
   * A reload: the new configuration (already checked), and the groups whose resources changed. Membership, the
   * engine and ipfail take what concerns them; a new keepalive restarts the heartbeat grid from now.
   */
  reconfigure(
    config: CompiledConfig,
    changedGroups: readonly string[],
    now: number,
    stonithDevice?: string,
  ): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped) return out;
    const old = this.cfg;
    this.cfg = config;
    this.membership.reconfigure(config);
    for (const a of this.engine.reconfigure(config, changedGroups, { stonithDevice })) this.fromEngine(out, a);
    const ip = ipfailSetup(config);
    const before = ipfailSetup(old).options;
    if (JSON.stringify(ip.options) !== JSON.stringify(before)) {
      for (const l of ip.log) out.push({ kind: 'log', level: l.level, text: l.text });
      this.ipfail = ip.options === undefined ? undefined : { core: new Ipfail(ip.options), peer: ip.options.peer };
      this.pingDecided.clear();
      if (this.ipfail !== undefined && this.membership.isAlive(this.ipfail.peer))
        this.runIpfail(out, { kind: 'peerUp' });
    }
    if (old.hacf.keepaliveMs !== config.hacf.keepaliveMs || old.hacf.deadtimeMs !== config.hacf.deadtimeMs) {
      // Peers learn the new dt at once, and the grid restarts at the new keepalive.
      this.firstBeatAt = now;
      this.beats = 0;
      this.beat(out, now);
    }
    this.scheduleCheck(out, now);
    return out;
  }

  /** Graceful stop with handover; `stopped` follows once `shutdone` went out (or the time limit passed). */
  shutdown(): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.stopped || this.stopping) return out;
    this.stopping = true;
    out.push({ kind: 'log', level: 'info', text: `Heartbeat shutdown in progress. (${this.o.pid})` });
    out.push({ kind: 'setTimer', name: SHUTDOWN_TIMER, ms: SHUTDOWN_LIMIT_MS });
    this.handle(out, { kind: 'command', command: { op: 'shutdown' } });
    return out;
  }

  // ---------------------------------------------------------------- inside

  private event(ev: ClusterEvent): CoreAction[] {
    const out: CoreAction[] = [];
    if (!this.stopped) this.handle(out, ev);
    return out;
  }

  private beat(out: CoreAction[], now: number): void {
    this.send(out, this.statusMsg());
    out.push({ kind: 'beat' });
    this.beats++;
    const k = this.cfg.hacf.keepaliveMs;
    let next = this.firstBeatAt + this.beats * k;
    // After a stall, do not fire a burst of catch-up beats: resume the grid from now.
    if (next <= now) {
      this.beats = Math.ceil((now - this.firstBeatAt) / k);
      next = this.firstBeatAt + this.beats * k;
    }
    this.nextBeatAt = next;
    out.push({ kind: 'setTimer', name: BEAT_TIMER, ms: next - now });
    if (this.checkOnBeat) {
      this.checkOnBeat = false;
      out.push({ kind: 'setTimer', name: CHECK_TIMER, ms: 0, afterIo: true });
    }
  }

  private statusMsg(): EngineMessage {
    return { t: 'status', st: this.membership.localStatus, dt: this.cfg.hacf.deadtimeMs, protocol: 1 };
  }

  private scheduleCheck(out: CoreAction[], now: number): void {
    const at = this.membership.nextCheckAt(now);
    // No deadline before the next beat: the check runs right after that beat, in the same wake-up (an idle
    // daemon's CPU is mostly wake-ups). It is never later than its own timer would have been: at most one keepalive.
    if (this.nextBeatAt !== undefined && at >= this.nextBeatAt) {
      this.checkDueAt = this.nextBeatAt;
      this.checkOnBeat = true;
      return;
    }
    this.checkDueAt = at;
    out.push({ kind: 'setTimer', name: CHECK_TIMER, ms: Math.max(1, at - now), afterIo: true });
  }

  /**
   * The real Heartbeat keeps sending `status … st=active` for a second or two after its `shutdone` while its
   * processes exit (seen live with 3.0.6). That incarnation has stopped: its packets must neither bring the link up
   * nor make it look like a node `returning after partition`. Only a new generation (a restart) is heard again.
   */
  private fromStoppedIncarnation(from: string, generation: number): boolean {
    const stopped = this.shutDownPeers.get(from);
    if (stopped === undefined) return false;
    if (generation <= stopped) return true;
    this.shutDownPeers.delete(from);
    return false;
  }

  private deliver(out: CoreAction[], r: Accepted): void {
    out.push({ kind: 'log', level: 'debug', text: `received t=${r.type} from ${r.from}` });
    const m = fromFields((name) => getString(r.message, name));
    if (m instanceof VigilError) {
      // Messages of API clients (ipfail, crm...) and types we do not act on are not errors.
      out.push({ kind: 'log', level: 'debug', text: `message t=${r.type} from ${r.from} not handled: ${m.message}` });
      this.ipfailOther(out, r);
      return;
    }
    const stale = this.staleAnnouncement(r, m);
    if (stale) {
      out.push({
        kind: 'log',
        level: 'debug',
        text: `t=${m.t} from ${r.from} (seq ${r.control.seq ?? 0}) is older than what it announced since: its holdings are ignored`,
      });
    }
    this.handle(out, { kind: 'message', from: r.from, generation: r.control.generation ?? 0, msg: m, stale });
    const ip = this.ipfail;
    if (
      ip !== undefined &&
      r.from === ip.peer &&
      (m.t === 'num_ping_nodes' || m.t === 'you_are_dead' || m.t === 'abort_giveup')
    ) {
      this.ipfailPeerHeard = true;
      this.runIpfail(out, { kind: 'message', msg: m });
    }
  }

  /**
   * A peer's holdings announcements (`starting`, `resource`) replace what it said before. One that arrives late (a
   * retransmission filling a gap, or a packet overtaken by a later one) may be older than one already applied: it
   * must not bring back holdings the peer has long given up.
   */
  private staleAnnouncement(r: Accepted, m: EngineMessage): boolean {
    if (m.t !== 'resource' && m.t !== 'starting') return false;
    const seq = r.control.seq;
    if (seq === undefined) return false;
    const gen = r.control.generation ?? 0;
    const last = this.lastAnnouncement.get(r.from);
    if (last !== undefined && last.generation === gen && seq <= last.seq) return true;
    if (last === undefined || gen >= last.generation) this.lastAnnouncement.set(r.from, { generation: gen, seq });
    return false;
  }

  /**
   * A real Heartbeat peer announces its API clients (`t=hbapi-clstat st=join from_id=ipfail`): its ipfail has just
   * signed on and missed what we said before.
   */
  private ipfailOther(out: CoreAction[], r: Accepted): void {
    const ip = this.ipfail;
    if (ip === undefined || r.from !== ip.peer || r.type !== 'hbapi-clstat') return;
    if (getString(r.message, 'from_id') !== 'ipfail') return;
    const st = getString(r.message, 'st');
    if (st === 'join') {
      this.ipfailPeerHeard = true;
      this.runIpfail(out, { kind: 'peerJoined' });
    } else if (st === 'leave') {
      this.ipfailPeerHeard = false;
    }
  }

  private feed(out: CoreAction[], events: readonly MembershipEvent[]): void {
    for (const e of events) {
      if (e.kind === 'log') {
        out.push({ kind: 'log', level: e.level, text: e.text });
        continue;
      }
      // Peers learn our new status (active) at once, not a keepalive later.
      if (e.kind === 'commUp') this.send(out, this.statusMsg());
      // A node heard again needs no reset: a pending attempt (a meatware wait) is abandoned.
      if (e.kind === 'nodeAlive' || e.kind === 'nodeRestarted' || e.kind === 'nodeReturned')
        out.push({ kind: 'fenceCancel', node: e.node });
      if (e.kind === 'localStall') out.push({ kind: 'stall', lateByMs: e.lateByMs });
      else if (e.kind !== 'commUp') out.push({ kind: 'member', event: e });
      const ce = clusterEventOf(e);
      if (ce !== undefined) this.handle(out, ce);
      this.ipfailMembership(out, e);
    }
  }

  private handle(out: CoreAction[], ev: ClusterEvent): void {
    if (this.stopped) return;
    for (const a of this.engine.handle(ev)) this.fromEngine(out, a);
  }

  private fromEngine(out: CoreAction[], a: ClusterAction): void {
    switch (a.kind) {
      case 'send':
        this.send(out, a.msg);
        return;
      case 'setTimer':
        out.push({ kind: 'setTimer', name: ENGINE_PREFIX + a.name, ms: a.ms });
        return;
      case 'cancelTimer':
        out.push({ kind: 'cancelTimer', name: ENGINE_PREFIX + a.name });
        return;
      case 'stonith':
        out.push({ kind: 'fence', node: a.node });
        return;
      case 'shutdownComplete':
        this.finishStop(out, 'shutdown complete');
        return;
      case 'claim':
        this.leases?.claimSent(a.group, this.o.clock?.() ?? this.lastNow);
        out.push(a);
        return;
      case 'disown':
        // No renewal from now on: if the revocation cannot reach etcd, the lease expires by itself.
        this.leases?.forget(a.group);
        out.push(a);
        return;
      case 'log':
      case 'transition':
      case 'acquire':
      case 'release':
      case 'reannounce':
      case 'reboot':
        out.push(a);
        return;
    }
  }

  private send(out: CoreAction[], msg: EngineMessage): void {
    out.push({ kind: 'send', msg });
    if (msg.t === 'shutdone') this.membership.setLocalStatus('dead');
  }

  private finishStop(out: CoreAction[], reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    out.push({ kind: 'log', level: 'info', text: `${this.cfg.hacf.localNode} Heartbeat shutdown complete.` });
    out.push({ kind: 'stopped', reason });
  }

  // ---------------------------------------------------------------- ipfail (built in; cluster/ipfail.ts decides)

  private ipfailMembership(out: CoreAction[], e: MembershipEvent): void {
    const ip = this.ipfail;
    if (ip === undefined) return;
    switch (e.kind) {
      case 'pingNodeAlive':
      case 'pingNodeDead':
        this.pingDecided.add(e.node);
        this.runIpfail(out, {
          kind: 'localCount',
          count: this.membership.livePingNodes(),
          known: this.pingDecided.size >= this.cfg.hacf.pingNodes.length,
        });
        return;
      case 'nodeAlive':
      case 'nodeReturned':
        if (e.node === ip.peer) this.runIpfail(out, { kind: 'peerUp' });
        return;
      case 'nodeRestarted':
        // A new incarnation knows nothing of the old one's counts.
        if (e.node !== ip.peer) return;
        this.ipfailPeerHeard = false;
        this.runIpfail(out, { kind: 'peerDown' });
        this.runIpfail(out, { kind: 'peerUp' });
        return;
      case 'nodeDead':
      case 'nodeShutdown':
        if (e.node !== ip.peer) return;
        this.ipfailPeerHeard = false;
        this.runIpfail(out, { kind: 'peerDown' });
        return;
      case 'linkUp':
      case 'linkDead':
        if (e.node === ip.peer) this.runIpfail(out, { kind: 'link' });
        return;
      case 'log':
      case 'commUp':
      case 'statusChanged':
      case 'localStall':
        return;
    }
  }

  private runIpfail(out: CoreAction[], ev: IpfailEvent): void {
    const ip = this.ipfail;
    if (ip === undefined || this.stopped) return;
    for (const a of ip.core.handle(ev, engineContext(this.engine, ip.peer))) this.fromIpfail(out, a);
  }

  private fromIpfail(out: CoreAction[], a: IpfailAction): void {
    switch (a.kind) {
      case 'log':
        out.push({ kind: 'log', level: a.level, text: a.text });
        return;
      case 'send':
        this.send(out, a.msg);
        return;
      case 'standby':
        this.ipfailStandbys++;
        this.handle(out, { kind: 'command', command: { op: 'standby', which: a.which } });
        return;
      case 'setTimer':
        out.push({ kind: 'setTimer', name: a.name, ms: a.ms });
        return;
      case 'cancelTimer':
        out.push({ kind: 'cancelTimer', name: a.name });
        return;
    }
  }
}

function describeError(m: EngineMessage | VigilError): string {
  return m instanceof VigilError ? m.message : `t=${m.t}`;
}
