import { ClusterEngine } from '../cluster/engine.js';
import { fromFields, toFields, type EngineMessage } from '../cluster/protocol.js';
import { clusterEventOf, type ClusterAction, type ClusterEvent, type OperatorCommand } from '../cluster/types.js';
import type { CompiledConfig } from '../config/types.js';
import type {
  GroupState as ViewGroupState,
  HealthCheckView,
  StatusSnapshot,
  TransitionView,
} from '../control/protocol.js';
import { HealthMonitor, type CheckRunner } from '../resources/health.js';
import type { Fencer } from './fencing.js';
import { Membership, type MembershipEvent, type NodeStatus } from '../membership/membership.js';
import type { Logger } from '../obs/log.js';
import type { RuntimeMonitor } from '../obs/runtime.js';
import type { Medium } from '../transport/index.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';
import { VigilError } from '../util/errors.js';
import {
  WireProtocol,
  computeTtl,
  getString,
  isBenignDrop,
  msg,
  statusBody,
  str,
  type Accepted,
  type WireEvent,
} from '../wire/index.js';
import { IpfailHook } from './ipfail.js';
import type { ResourceManager } from './resources.js';

export const VERSION = '0.1.0';
/** Transitions kept for `vigil status`. */
const MAX_TRANSITIONS = 50;
/** A graceful stop that cannot finish (a peer never answers, a resource hangs) still ends. */
const SHUTDOWN_LIMIT_MS = 5 * 60_000;
/** Time for the last packets (shutdone) to leave before the media close. */
const SHUTDONE_FLUSH_MS = 200;

export interface NodeDeps {
  readonly config: CompiledConfig;
  readonly logger: Logger;
  readonly uuid: Uint8Array;
  readonly generation: number;
  readonly media: readonly Medium[];
  readonly resources: ResourceManager;
  readonly scheduler: Scheduler;
  readonly loadavg: () => string;
  readonly random?: () => number;
  /** The STONITH device of ha.cf's `stonith`/`stonith_host` (required when one is configured). */
  readonly fencer?: Fencer;
  /** Runs `vigil_health_check`s (realCheckRunner in the daemon); without one, configured checks never fail. */
  readonly runCheck?: CheckRunner;
  /** Timer lateness, GC pauses and stalls for `vigil status` (absent in tests). */
  readonly runtime?: RuntimeMonitor;
  /** Node names in Heartbeat's API order (`cl_status listnodes`), from heartbeatNodeOrder over ha.cf. */
  readonly nodeListOrder?: readonly string[];
  /** Called once the node has stopped (graceful shutdown done): the daemon exits. */
  readonly onStopped: (reason: string) => void;
  /** Called right after each heartbeat is sent: work that can share its wake-up (probing the ping nodes). */
  readonly onBeat?: () => void;
}

/**
 * One cluster node: the wire protocol, liveness and the decision engine wired to media, resources and logs.
 * Data flows one way (bytes → message → liveness → decision → action → effect); every decision is the pure
 * engine's, this class only carries them out and feeds the results back.
 */
export class VigilNode {
  readonly wire: WireProtocol;
  readonly membership: Membership;
  readonly engine: ClusterEngine;
  readonly health: HealthMonitor;
  private readonly cfg: CompiledConfig;
  private readonly engineTimers = new Map<string, TimerHandle>();
  private beatTimer: TimerHandle | undefined;
  private checkTimer: TimerHandle | undefined;
  private checkScheduledFor = 0;
  /** When the next heartbeat is due (scheduler time); the liveness check rides on it when nothing is due sooner. */
  private nextBeatAt: number | undefined;
  private checkOnBeat = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly since = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; last: string | undefined; at?: number }>();
  private readonly transitions: TransitionView[] = [];
  private readonly startedAt: number;
  private stopping = false;
  private stopped = false;
  private shutdownWaiters: (() => void)[] = [];
  /** Peers that announced a clean stop (`shutdone`), with the generation that stopped. */
  private readonly shutDownPeers = new Map<string, number>();
  /** Built-in ipfail (ha.cf `respawn … ipfail`); undefined when off. */
  private readonly ipfail: IpfailHook | undefined;

  constructor(private readonly d: NodeDeps) {
    this.cfg = d.config;
    const h = d.config.hacf;
    const now = d.scheduler.now();
    this.startedAt = d.scheduler.wallNow();
    this.membership = new Membership(d.config, now);
    if (d.config.hacf.stonith !== undefined && d.fencer === undefined) {
      throw new VigilError('VIGIL_ERR_STONITH_CONFIG', 'a STONITH device is configured but none was built');
    }
    this.engine = new ClusterEngine(d.config, undefined, { stonithDevice: d.fencer?.device.deviceId });
    this.health = new HealthMonitor(d.config.hacf.vigil.healthChecks, {
      scheduler: d.scheduler,
      runCheck: d.runCheck ?? (() => Promise.resolve({ ok: true })),
      actions: {
        restartGroup: (g) => this.restartInPlace(g),
        handOver: (g, reason) => {
          this.healthHandOver(g, reason);
        },
        log: (level, text) => {
          this.log(level, text);
        },
      },
    });
    this.wire = new WireProtocol({
      localNode: h.localNode,
      localUuid: d.uuid,
      generation: d.generation,
      nodes: h.nodes,
      pingNodes: h.pingNodes.map((p) => p.name),
      keys: d.config.authkeys,
      msgfmt: h.msgfmt,
      ttl: computeTtl(h.hopfudge, h.nodes.length + h.pingNodes.length),
      maxRexmitDelayMs: h.maxRexmitDelayMs,
      scheduler: d.scheduler,
      random: d.random ?? Math.random,
      loadavg: d.loadavg,
      transmit: (packet) => {
        for (const m of d.media) if (m.state === 'open') m.send(packet);
      },
      isNodeUp: (node) => this.membership.isAlive(node),
      onEvent: (e) => {
        this.onWireEvent(e);
      },
    });
    for (const g of d.config.groups) this.since.set(g.key, this.startedAt);
    this.ipfail = IpfailHook.create({
      config: d.config,
      scheduler: d.scheduler,
      membership: this.membership,
      engine: this.engine,
      log: (level, text) => {
        this.log(level, text);
      },
      send: (m) => {
        this.sendEngineMessage(m);
      },
      standby: (which) => {
        this.command({ op: 'standby', which });
      },
    });
  }

  private log(level: 'debug' | 'info' | 'WARN' | 'ERROR' | 'CRIT', text: string): void {
    this.d.logger.log(level, text);
  }

  private onWireEvent(e: WireEvent): void {
    const level = e.level === 'warn' ? 'WARN' : e.level === 'error' ? 'ERROR' : e.level;
    this.log(level, e.text);
  }

  /** Starts the media, the heartbeat and the liveness check. */
  async start(): Promise<void> {
    const h = this.cfg.hacf;
    for (const m of this.d.media) {
      this.unsubscribe.push(
        m.onPacket((bytes, _rinfo, link) => {
          this.onPacket(bytes, link);
        }),
      );
      this.unsubscribe.push(
        m.onEvent((ev) => {
          if (ev.type === 'down') this.log('WARN', `medium ${m.description} down: ${ev.reason}`);
          else if (ev.type === 'reopened') this.log('info', `medium ${m.description} reopened`);
          else if (ev.type === 'error') this.log('ERROR', `medium ${m.description}: ${ev.error.message}`);
        }),
      );
    }
    await Promise.all(this.d.media.map((m) => m.start()));
    this.log('info', `Local status now set to: '${this.membership.localStatus}'`);
    // Heartbeat sends its first status at once, then every keepalive on a fixed grid (no drift under load).
    const first = this.d.scheduler.now();
    let n = 0;
    const beat = (): void => {
      if (this.stopped) return;
      this.sendStatus();
      this.d.onBeat?.();
      n++;
      let next = first + n * h.keepaliveMs;
      const now = this.d.scheduler.now();
      // After a stall, do not fire a burst of catch-up beats: resume the grid from now.
      if (next <= now) {
        n = Math.ceil((now - first) / h.keepaliveMs);
        next = first + n * h.keepaliveMs;
      }
      this.nextBeatAt = next;
      this.beatTimer = this.d.scheduler.setTimeout(beat, next - now);
      if (this.checkOnBeat) {
        this.checkOnBeat = false;
        this.queueCheck();
      }
    };
    beat();
    this.scheduleCheck();
  }

  private sendStatus(): void {
    this.wire.send(statusBody(this.membership.localStatus, this.cfg.hacf.deadtimeMs));
  }

  private scheduleCheck(): void {
    if (this.stopped) return;
    const now = this.d.scheduler.now();
    const at = this.membership.nextCheckAt(now);
    // No deadline before the next beat: the check runs right after that beat, in the same wake-up (an idle daemon's
    // CPU is mostly wake-ups). It is never later than its own timer would have been: at most one keepalive.
    if (this.nextBeatAt !== undefined && at >= this.nextBeatAt) {
      this.checkScheduledFor = this.nextBeatAt;
      this.checkOnBeat = true;
      return;
    }
    this.checkScheduledFor = at;
    this.checkTimer = this.d.scheduler.setTimeout(
      () => {
        this.queueCheck();
      },
      Math.max(1, at - now),
    );
  }

  /** Read every queued packet before judging anyone dead: the check runs after the poll phase. */
  private queueCheck(): void {
    setImmediate(() => {
      this.runCheck();
    });
  }

  private runCheck(): void {
    if (this.stopped) return;
    // Lateness is judged against the timer's due time: a late timer is our stall, not the peers' silence.
    const now = this.d.scheduler.now();
    this.d.runtime?.lateness(now - this.checkScheduledFor);
    this.feed(this.membership.check(now, this.checkScheduledFor));
    this.scheduleCheck();
  }

  /** Bytes from a medium: decode, authenticate, order, then liveness and decisions. */
  private onPacket(bytes: Uint8Array, link: string): void {
    if (this.stopped) return;
    // After SIGCONT the queued packets are read before any timer runs: find out first whether our VIP leases
    // ran out while we were stopped, so that nothing we answer claims a group whose VIP is gone.
    this.d.resources.checkLeases();
    const r = this.wire.receive(bytes);
    const now = this.d.scheduler.now();
    if (r.kind === 'dropped') {
      // An authentic duplicate (the same packet over a second medium) still proves that link works.
      if (r.from !== undefined && r.from !== this.cfg.hacf.localNode && !this.shutDownPeers.has(r.from))
        this.feed(this.membership.onPacket(r.from, link, now));
      if (!isBenignDrop(r.reason) && this.cfg.hacf.logBadpack)
        this.log('debug', `dropped packet (${r.reason}): ${r.detail}`);
      return;
    }
    if (r.self) return;
    if (this.fromStoppedIncarnation(r.from, r.control.generation ?? 0)) return;
    const events: MembershipEvent[] = this.membership.onPacket(r.from, link, now);
    if (r.type === 'status') {
      const st = getString(r.message, 'st') as NodeStatus | undefined;
      const dt = Number.parseInt(getString(r.message, 'dt') ?? '', 16);
      if (st !== undefined) {
        events.push(
          ...this.membership.onStatus(
            r.from,
            r.control.generation ?? 0,
            st,
            Number.isFinite(dt) ? dt : undefined,
            now,
            r.late,
          ),
        );
      }
      this.feed(events);
      return;
    }
    if (r.type === 'shutdone') {
      this.shutDownPeers.set(r.from, r.control.generation ?? 0);
      events.push(...this.membership.onShutdone(r.from, now));
    }
    this.feed(events);
    if (r.handled) return;
    if (r.type === 'reqnodes') {
      const rep = this.wire.repnodesFor(r);
      if (rep !== undefined) this.wire.send(rep);
      return;
    }
    this.deliver(r);
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

  private deliver(r: Accepted): void {
    this.log('debug', `received t=${r.type} from ${r.from}`);
    const m = fromFields((name) => getString(r.message, name));
    if (m instanceof VigilError) {
      // Messages of API clients (ipfail, crm...) and types we do not act on are not errors.
      this.log('debug', `message t=${r.type} from ${r.from} not handled: ${m.message}`);
      this.ipfail?.onOtherMessage(r.from, r.type, (name) => getString(r.message, name));
      return;
    }
    this.handle({ kind: 'message', from: r.from, generation: r.control.generation ?? 0, msg: m });
    this.ipfail?.onMessage(r.from, m);
  }

  private feed(events: readonly MembershipEvent[]): void {
    for (const e of events) {
      if (e.kind === 'log') {
        this.log(e.level, e.text);
        continue;
      }
      // Peers learn our new status (active) at once, not a keepalive later.
      if (e.kind === 'commUp') this.sendStatus();
      // After a partition heals the client may still have the other side's MAC for a VIP we keep: the other side
      // releases without telling the client, so we announce ours again (no outage while its ARP entry ages).
      if (e.kind === 'nodeReturned') this.d.resources.reannounce();
      // A node heard again needs no reset: a pending attempt (a meatware wait) is abandoned.
      if (e.kind === 'nodeAlive' || e.kind === 'nodeRestarted' || e.kind === 'nodeReturned')
        this.d.fencer?.cancel(e.node);
      if (e.kind === 'localStall') this.d.runtime?.stall(this.d.scheduler.wallNow(), e.lateByMs);
      const ce = clusterEventOf(e);
      if (ce !== undefined) this.handle(ce);
      this.ipfail?.onMembership(e);
    }
  }

  /** A ping node (or any member of a ping group) answered. */
  pingReply(name: string): void {
    if (this.stopped) return;
    this.feed(this.membership.onPing(name, this.d.scheduler.now()));
  }

  /** Operator commands (control socket, signals). */
  command(c: OperatorCommand): void {
    this.handle({ kind: 'command', command: c });
  }

  private handle(ev: ClusterEvent): void {
    if (this.stopped) return;
    const actions = this.engine.handle(ev);
    for (const a of actions) this.exec(a);
  }

  private exec(a: ClusterAction): void {
    switch (a.kind) {
      case 'log':
        this.log(a.level, a.text);
        if (
          /^(Taking over|Resources being acquired|Giving up|Going standby|mach_down|Received shutdown)/.test(a.text)
        ) {
          this.transition(a.text);
        }
        return;
      case 'send':
        this.sendEngineMessage(a.msg);
        return;
      case 'acquire':
        this.since.set(a.group, this.d.scheduler.wallNow());
        void this.d.resources.acquire(a.group).then((ok) => {
          this.since.set(a.group, this.d.scheduler.wallNow());
          if (!ok) this.noteFailure(a.group, 'start failed');
          this.transition(ok ? `holding ${a.group}` : `failed to start ${a.group}`);
          this.handle({ kind: 'acquireDone', group: a.group, ok });
          // Checks start only once the engine counts the group as held here (it may have been asked to go meanwhile).
          if (ok && this.engine.state.groups.get(a.group) === 'held') this.health.groupStarted(a.group);
        });
        return;
      case 'release':
        this.health.groupStopped(a.group);
        this.since.set(a.group, this.d.scheduler.wallNow());
        void this.d.resources.release(a.group).then((r) => {
          this.since.set(a.group, this.d.scheduler.wallNow());
          this.transition(r.ok ? `released ${a.group}` : `could not stop ${r.stuck.join(' ')}`);
          this.handle({ kind: 'releaseDone', group: a.group, ok: r.ok });
        });
        return;
      case 'reannounce':
        this.d.resources.reannounce(a.group);
        return;
      case 'stonith': {
        const fencer = this.d.fencer;
        if (fencer === undefined) return; // (the constructor refused a configured device without a fencer)
        this.transition(`STONITH reset of ${a.node} requested`);
        void fencer.attempt(a.node).then((r) => {
          if (!r.ok && r.detail !== '' && r.detail !== 'cancelled') this.log('ERROR', r.detail);
          if (r.ok) this.transition(`${a.node} reset by STONITH`);
          this.handle({ kind: 'stonithDone', node: a.node, ok: r.ok });
        });
        return;
      }
      case 'setTimer': {
        const old = this.engineTimers.get(a.name);
        if (old !== undefined) this.d.scheduler.clearTimeout(old);
        this.engineTimers.set(
          a.name,
          this.d.scheduler.setTimeout(() => {
            this.engineTimers.delete(a.name);
            this.handle({ kind: 'timer', name: a.name });
          }, a.ms),
        );
        return;
      }
      case 'cancelTimer': {
        const t = this.engineTimers.get(a.name);
        if (t !== undefined) this.d.scheduler.clearTimeout(t);
        this.engineTimers.delete(a.name);
        return;
      }
      case 'shutdownComplete':
        this.finishStop('shutdown complete');
        return;
      case 'reboot':
        // Heartbeat reboots the machine here. Vigil will not reboot a host on its own: the group stays
        // marked stuck (never acquired elsewhere by this node's word) and the operator is told loudly.
        this.log('CRIT', `${a.reason}: manual intervention required (Vigil does not reboot the host).`);
        this.transition(`stop failure: ${a.reason}`);
        return;
    }
  }

  private sendEngineMessage(m: EngineMessage): void {
    const fields = toFields(m);
    this.log(
      'debug',
      `send t=${m.t} ${fields
        .filter(([n]) => n !== 't')
        .map(([n, v]) => `${n}=${v}`)
        .join(' ')}`,
    );
    this.wire.send(msg(...fields.map(([n, v]) => str(n, v))));
    if (m.t === 'shutdone') this.membership.setLocalStatus('dead');
  }

  private noteFailure(group: string, why: string): void {
    const f = this.failures.get(group) ?? { count: 0, last: undefined };
    f.count++;
    f.last = why;
    f.at = this.d.scheduler.wallNow();
    this.failures.set(group, f);
  }

  private transition(text: string): void {
    this.transitions.push({ at: this.d.scheduler.wallNow(), text });
    if (this.transitions.length > MAX_TRANSITIONS) this.transitions.shift();
  }

  /** Health check: restart in place, only while the engine counts the group as held here. */
  private async restartInPlace(group: string): Promise<boolean> {
    if (this.stopped || this.engine.state.groups.get(group) !== 'held') return true;
    this.transition(`restarting ${group} in place (health check)`);
    const ok = await this.d.resources.restart(group);
    this.since.set(group, this.d.scheduler.wallNow());
    if (!ok) this.noteFailure(group, 'restart in place failed');
    this.transition(ok ? `restarted ${group}` : `restart of ${group} failed`);
    return ok;
  }

  /** Health check gave up: this node is ruled out for the group; the engine hands it to a peer. */
  private healthHandOver(group: string, reason: string): void {
    this.transition(`not eligible for ${group}: ${reason}`);
    this.handle({ kind: 'eligibility', group, eligible: false, reason });
  }

  /**
   * `vigil cleanup [GROUP]`: fail counts, last failures and health rulings forgotten; the node is eligible again.
   * Returns the groups cleared.
   */
  cleanup(group?: string): string[] {
    if (group !== undefined && !this.cfg.groups.some((g) => g.key === group)) {
      throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', `no resource group [${group}] in haresources`);
    }
    const keys = this.cfg.groups.map((g) => g.key).filter((k) => group === undefined || k === group);
    this.health.clear(group);
    const ruledOut = this.engine.snapshot().ineligible;
    for (const k of keys) {
      this.failures.delete(k);
      if (ruledOut[k] !== undefined) this.handle({ kind: 'eligibility', group: k, eligible: true });
      // A group held here with checks idle again (cleared after a failure): watch it again.
      if (this.engine.state.groups.get(k) === 'held') this.health.groupStarted(k);
    }
    this.log('info', `Fail counts cleared by the operator: ${keys.join(' ')}`);
    this.transition(`cleanup ${group ?? 'all groups'}`);
    return keys;
  }

  /** `vigil fence-ack NODE`: the operator power-cycled NODE (meatware). */
  fenceAck(node: string): void {
    const f = this.d.fencer;
    if (f === undefined) throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', 'no STONITH device is configured');
    if (!f.isMeatware)
      throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', `the STONITH device is ${f.device.type}, not meatware`);
    if (!f.acknowledge(node.toLowerCase()))
      throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', `no reset of ${node} is waiting for a confirmation`);
    this.transition(`fence-ack ${node} by the operator`);
  }

  /** A held group lost its VIP by itself (lease expiry after a stall): release the rest and tell the engine. */
  groupLost(group: string, why: string): void {
    this.noteFailure(group, why);
    this.transition(`lost ${group}: ${why}`);
    // The engine releases the rest of the group through its normal path (release → releaseDone).
    this.handle({ kind: 'groupLost', group, reason: why });
  }

  /** Graceful stop with handover; resolves when `shutdone` went out (or the limit passed). */
  shutdown(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.shutdownWaiters.push(resolve));
    if (!this.stopping) {
      this.stopping = true;
      this.log('info', `Heartbeat shutdown in progress. (${process.pid})`);
      this.transition(`shutdown requested (${reason})`);
      this.d.scheduler.setTimeout(() => {
        this.finishStop('shutdown time limit reached');
      }, SHUTDOWN_LIMIT_MS);
      this.command({ op: 'shutdown' });
    }
    return done;
  }

  private finishStop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.log('info', `${this.cfg.hacf.localNode} Heartbeat shutdown complete.`);
    // Let `shutdone` leave the sockets before they close: the peer takes over on it without waiting deadtime.
    this.d.scheduler.setTimeout(() => {
      this.close();
      for (const w of this.shutdownWaiters) w();
      this.shutdownWaiters = [];
      this.d.onStopped(reason);
    }, SHUTDONE_FLUSH_MS);
  }

  /** Stops timers and media without any handover (used after shutdown, and by crash-like exits in tests). */
  close(): void {
    this.stopped = true;
    if (this.beatTimer !== undefined) this.d.scheduler.clearTimeout(this.beatTimer);
    if (this.checkTimer !== undefined) this.d.scheduler.clearTimeout(this.checkTimer);
    for (const t of this.engineTimers.values()) this.d.scheduler.clearTimeout(t);
    this.engineTimers.clear();
    this.health.stopAll();
    this.d.fencer?.cancelAll();
    this.ipfail?.close();
    for (const u of this.unsubscribe) u();
    this.wire.stop();
    this.d.resources.dispose();
    for (const m of this.d.media) void m.close();
  }

  get checkDueAt(): number {
    return this.checkScheduledFor;
  }

  /** The read-only view behind `vigil status`, `cl_status` and the HTTP API. */
  snapshot(): StatusSnapshot {
    const now = this.d.scheduler.now();
    const wallOffset = this.d.scheduler.wallNow() - now;
    const cs = this.engine.snapshot();
    const health = this.health.snapshot();
    const h = this.cfg.hacf;
    const holderOf = (key: string): string | undefined => {
      const mine = cs.groups.find((g) => g.key === key)?.state;
      if (mine !== undefined && mine !== 'none') return h.localNode;
      return cs.peers.find((p) => p.alive && p.holds.includes(key))?.name;
    };
    const stateOf = (key: string): ViewGroupState => {
      const mine = cs.groups.find((g) => g.key === key)?.state ?? 'none';
      switch (mine) {
        case 'none':
          return holderOf(key) === undefined ? 'released' : 'held';
        case 'acquiring':
          return 'acquiring';
        case 'held':
          return 'held';
        case 'releasing':
          return 'releasing';
        case 'stuck':
          return 'failed';
      }
    };
    return {
      protocol: 1,
      version: VERSION,
      node: h.localNode,
      pid: process.pid,
      startedAt: this.startedAt,
      generation: this.d.generation,
      autoFailback: h.autoFailback,
      rscstatus: cs.rscstatus,
      nodes: this.membership.nodes(now).map((n) => ({
        name: n.name,
        type: n.type,
        status: n.status,
        links: n.links.map((l) => ({ name: l.name, status: l.up ? 'up' : 'dead' })),
        lastHeard: n.lastStatusAt === undefined ? undefined : n.lastStatusAt + wallOffset,
        clients: this.ipfail?.clients(n.name, n.status !== 'dead') ?? {},
      })),
      groups: this.cfg.groups.map((g) => {
        const checks: HealthCheckView[] = health
          .filter((c) => c.group === g.key)
          .map((c) => ({
            id: c.id,
            target: c.target,
            state: c.state,
            failCount: c.failCount,
            restarts: c.restarts,
            maxRestarts: c.maxRestarts,
            lastFailure:
              c.lastFailure === undefined ? undefined : { at: c.lastFailure.atWallMs, detail: c.lastFailure.detail },
          }));
        const own = this.failures.get(g.key);
        // The most recent failure of any kind is the one an operator wants first.
        const lastCheck = checks
          .flatMap((c) => (c.lastFailure === undefined ? [] : [{ ...c.lastFailure, id: c.id }]))
          .sort((x, y) => y.at - x.at)[0];
        const lastFailure =
          lastCheck !== undefined && (own?.at === undefined || lastCheck.at >= own.at)
            ? `health check ${lastCheck.id}: ${lastCheck.detail}`
            : own?.last;
        return {
          key: g.key,
          preferred: g.node,
          resources: g.resources.map((r) => r.spec),
          holder: holderOf(g.key),
          state: stateOf(g.key),
          since: this.since.get(g.key) ?? this.startedAt,
          failCount: (own?.count ?? 0) + checks.reduce((n, c) => n + c.failCount, 0),
          lastFailure,
          eligible: cs.ineligible[g.key] === undefined,
          ineligibleReason: cs.ineligible[g.key],
          checks,
        };
      }),
      transitions: [...this.transitions],
      fencing: (this.d.fencer?.inProgress() ?? []).map((node) => ({
        node,
        device: this.d.fencer?.device.deviceId ?? '',
        awaitingOperator: this.d.fencer?.isMeatware === true,
      })),
      parameters: hbParameters(this.cfg),
      ...(this.d.runtime !== undefined ? { runtime: this.d.runtime.view() } : {}),
      ...(this.d.nodeListOrder === undefined ? {} : { listOrder: this.d.nodeListOrder }),
      wire: this.wire.counters(),
    };
  }
}

/** `cl_status hbparameter`: the value as written in ha.cf, else Heartbeat's default in Heartbeat's units. */
export function hbParameters(config: CompiledConfig): Record<string, string> {
  const h = config.hacf;
  const secs = (ms: number): string => (ms % 1000 === 0 ? String(ms / 1000) : `${ms}ms`);
  return {
    keepalive: secs(h.keepaliveMs),
    deadtime: secs(h.deadtimeMs),
    warntime: secs(h.warntimeMs),
    initdead: secs(h.initdeadMs),
    deadping: secs(h.deadpingMs),
    udpport: String(h.udpport),
    baud: String(h.baud),
    hopfudge: String(h.hopfudge),
    auto_failback: h.autoFailback,
    realtime: h.realtime ? 'true' : 'false',
    debug: String(h.debug),
    hbgenmethod: h.hbgenmethod,
    msgfmt: h.msgfmt,
    max_rexmit_delay: String(h.maxRexmitDelayMs),
    cluster: h.cluster,
    ...h.raw,
  };
}
