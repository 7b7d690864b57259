/**
 * (Over 600 lines: it is the one place where the core's actions meet the real world, and the view `vigil status`
 * gives of all of it; the decisions themselves are in src/node and src/cluster.)
 *
 * One cluster node as a running process: media, the wire protocol and the decision core (src/node/core.ts) wired
 * to real resources, STONITH, health checks, timers and logs. Every decision is the core's; this class carries its
 * actions out and feeds the results back, and keeps what the operator sees (`vigil status`).
 */
import { toFields, type EngineMessage } from '../cluster/protocol.js';
import type { GroupTransition, OperatorCommand } from '../cluster/types.js';
import type { ConfigDiff } from '../config/diff.js';
import type { EventBus, TransitionEvent } from '../obs/events.js';
import { sep, type DaemonStats } from '../obs/stats.js';
import { explain } from './explain.js';
import type { CompiledConfig } from '../config/types.js';
import type {
  ExplainResult,
  GroupState as ViewGroupState,
  HealthCheckView,
  HistoryEntry,
  StatusSnapshot,
  TransitionView,
} from '../control/protocol.js';
import { CHECK_TIMER, NodeCore, type CoreAction, type MemberChange } from '../node/core.js';
import { LogLimiter } from '../obs/log-limiter.js';
import type { Logger } from '../obs/log.js';
import type { RuntimeMonitor } from '../obs/runtime.js';
import { HealthMonitor, type CheckRunner } from '../resources/health.js';
import type { Medium } from '../transport/index.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';
import { VigilError } from '../util/errors.js';
import { VERSION } from '../util/version.js';
import type { LogLevel } from '../util/vocabulary.js';
import { WireProtocol, computeTtl, isBenignDrop, msg, str, type PeerProgress, type WireEvent } from '../wire/index.js';
import type { QuorumClient } from '../quorum/client.js';
import type { Fencer } from './fencing.js';
import type { ResourceManager } from './resources.js';

/** Transitions kept for `vigil status`. */
const MAX_TRANSITIONS = 50;
/** Time for the last packets (shutdone) to leave before the media close. */
const SHUTDONE_FLUSH_MS = 200;
/** vigil_quorum etcd: a lease keep-alive slower than this is logged (half the renewal period at the default TTL). */
const SLOW_RENEWAL_MS = 500;

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
  /** What each peer had sent when this node last ran (replays of older packets are dropped). */
  readonly peerFloors?: ReadonlyMap<string, PeerProgress>;
  /** A peer's generation went up: persist `peerProgress()`. */
  readonly onPeerGeneration?: () => void;
  /** vigil_quorum etcd: the etcd client (src/quorum); the core decides, this carries out. */
  readonly quorum?: QuorumClient;
  /** Called once the node has stopped (graceful shutdown done): the daemon exits. */
  readonly onStopped: (reason: string) => void;
  /** Called right after each heartbeat is sent: work that can share its wake-up (probing the ping nodes). */
  readonly onBeat?: () => void;
  /**
   * The core broke an invariant, or code around it threw: the node's state can no longer be trusted. The daemon
   * dies (and drops its VIPs); the same policy on every path, packet or timer. Default: rethrow.
   */
  readonly onFatal?: (e: unknown) => void;
  /** Transitions, peer and link changes, health results go out here (HTTP events, notify, history). */
  readonly events?: EventBus;
  /** Counters and histograms for /metrics. */
  readonly stats?: DaemonStats;
  /** The last transitions of earlier runs (the history journal), so that `vigil status` keeps them. */
  readonly pastTransitions?: readonly HistoryEntry[];
}

/** One line for `vigil status`: `IPaddr::192.168.1.50 none → acquiring: takeover from linux1 (nodeDead linux1)`. */
function transitionText(t: GroupTransition): string {
  const who = t.peer === undefined ? '' : ` ${t.to === 'acquiring' || t.to === 'held' ? 'from' : 'to'} ${t.peer}`;
  return `${t.group} ${t.from} → ${t.to}: ${t.reason}${who} (${t.cause})`;
}

export class VigilNode {
  readonly wire: WireProtocol;
  readonly core: NodeCore;
  readonly health: HealthMonitor;
  private cfg: CompiledConfig;
  /** The media in use (a reload may add or remove some), each with its unsubscribe functions. */
  private readonly media = new Map<Medium, (() => void)[]>();
  private fencer: Fencer | undefined;
  private readonly timers = new Map<string, TimerHandle>();
  private readonly since = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; last: string | undefined; at?: number }>();
  private readonly transitions: TransitionView[] = [];
  private readonly startedAt: number;
  private stopped = false;
  private shutdownWaiters: (() => void)[] = [];
  /** A flood of forged packets writes one line a second per drop reason, not one per packet. */
  private readonly dropLines: LogLimiter;

  constructor(private readonly d: NodeDeps) {
    this.cfg = d.config;
    this.fencer = d.fencer;
    const h = d.config.hacf;
    this.startedAt = d.scheduler.wallNow();
    this.dropLines = new LogLimiter(() => d.scheduler.now());
    if (h.stonith !== undefined && d.fencer === undefined) {
      throw new VigilError('VIGIL_ERR_STONITH_CONFIG', 'a STONITH device is configured but none was built');
    }
    this.core = new NodeCore({
      config: d.config,
      now: d.scheduler.now(),
      stonithDevice: d.fencer?.device.deviceId,
      pid: process.pid,
      clock: () => d.scheduler.now(),
    });
    // vigil_quorum etcd: VIP lifetimes capped by the etcd lease; scripts get the fencing token.
    d.resources.setQuorum({
      vipDeadline: (g) => this.core.vipDeadline(g),
      fencingToken: (g) => this.core.fencingToken(g),
    });
    this.health = new HealthMonitor(h.vigil.healthChecks, {
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
        result: (r) => {
          d.stats?.healthChecks.inc(r.ok ? 'ok' : 'failed');
          d.events?.publish({
            type: 'health',
            at: d.scheduler.wallNow(),
            group: r.group,
            check: r.id,
            ok: r.ok,
            state: r.state,
            durationMs: r.durationMs,
            ...(r.detail === undefined ? {} : { detail: r.detail }),
          });
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
        for (const m of this.media.keys()) {
          if (m.state !== 'open') continue;
          m.send(packet);
          if (d.stats !== undefined) d.stats.packetsSent++;
        }
      },
      isNodeUp: (node) => this.core.membership.isAlive(node),
      onEvent: (e) => {
        this.onWireEvent(e);
      },
      floors: d.peerFloors,
      onGeneration: () => d.onPeerGeneration?.(),
    });
    for (const g of d.config.groups) this.since.set(g.key, this.startedAt);
    for (const e of (d.pastTransitions ?? []).slice(-MAX_TRANSITIONS)) {
      const t = {
        group: e.group,
        from: e.from,
        to: e.to,
        reason: e.reason,
        cause: e.cause,
        ...(e.peer === undefined ? {} : { peer: e.peer }),
      };
      this.transitions.push({ ...t, at: e.at, text: `${transitionText(t as GroupTransition)} [before restart]` });
    }
    d.resources.onGroupLost((group, why) => {
      this.guard(() => {
        this.groupLost(group, why);
      });
    });
  }

  private log(level: LogLevel, text: string): void {
    this.d.logger.log(level, text);
  }

  private onWireEvent(e: WireEvent): void {
    this.d.stats?.wireEvents.inc(e.code);
    const level = e.level === 'warn' ? 'WARN' : e.level === 'error' ? 'ERROR' : e.level;
    this.log(level, e.suppressed === undefined ? e.text : `${e.text} (${e.suppressed} more like it suppressed)`);
  }

  /** Every entry into the core: an exception means a broken invariant, and one policy handles it on every path. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (this.d.onFatal === undefined) throw e;
      this.d.onFatal(e);
    }
  }

  /** Starts the media, the heartbeat and the liveness check. */
  async start(): Promise<void> {
    await this.addMedia(this.d.media);
    this.guard(() => {
      this.run(this.core.start(this.d.scheduler.now()));
    });
    this.startQuorum();
  }

  /** vigil_quorum etcd: what etcd says goes into the core like any other input. */
  private startQuorum(): void {
    const q = this.d.quorum;
    if (q === undefined) return;
    const into = (fn: (now: number) => CoreAction[]): void => {
      if (this.stopped) return;
      this.guard(() => {
        this.run(fn(this.d.scheduler.now()));
      });
    };
    q.start({
      keyState: (g, owner, rev) => {
        into((now) => this.core.keyState(g, owner, rev, now));
      },
      absent: (present, rev) => {
        for (const g of this.cfg.groups)
          if (!present.has(g.key)) into((now) => this.core.keyState(g.key, undefined, rev, now));
      },
      reachable: (r) => {
        this.note(`etcd ${r ? 'reachable' : 'unreachable'}`);
        into((now) => this.core.quorumReachable(r, now));
      },
      log: (level, text) => {
        this.log(level, text);
      },
    });
  }

  private async addMedia(media: readonly Medium[]): Promise<void> {
    for (const m of media) {
      const subs = [
        m.onPacket((bytes, _rinfo, link) => {
          this.guard(() => {
            this.onPacket(bytes, link);
          });
        }),
        m.onEvent((ev) => {
          if (ev.type === 'down') this.log('WARN', `medium ${m.description} down: ${ev.reason}`);
          else if (ev.type === 'reopened') this.log('info', `medium ${m.description} reopened`);
          else if (ev.type === 'error') this.log('ERROR', `medium ${m.description}: ${ev.error.message}`);
        }),
      ];
      this.media.set(m, subs);
    }
    await Promise.all(media.map((m) => m.start()));
  }

  private removeMedia(media: readonly Medium[]): void {
    for (const m of media) {
      for (const u of this.media.get(m) ?? []) u();
      this.media.delete(m);
      void m.close();
    }
  }

  /** The media in use, for a reload to compare with the new configuration's. */
  currentMedia(): Medium[] {
    return [...this.media.keys()];
  }

  /**
   * A reload (the caller checked it and built the new media and STONITH device). The resource manager learns the
   * new groups first, so that what the core decides (release a changed group with its old resources, start a new
   * one) finds its runner; then the wire layer, the core, the health checks. Groups that did not change stay put.
   */
  async reconfigure(
    next: CompiledConfig,
    diff: ConfigDiff,
    media: { readonly add: readonly Medium[]; readonly remove: readonly Medium[] },
    fencer: Fencer | undefined,
  ): Promise<void> {
    if (this.stopped) return;
    const h = next.hacf;
    this.cfg = next;
    if (fencer !== this.fencer) {
      this.fencer?.cancelAll();
      this.fencer = fencer;
    }
    this.removeMedia(media.remove);
    await this.addMedia(media.add);
    this.wire.reconfigure({
      keys: next.authkeys,
      msgfmt: h.msgfmt,
      ttl: computeTtl(h.hopfudge, h.nodes.length + h.pingNodes.length),
      maxRexmitDelayMs: h.maxRexmitDelayMs,
      nodes: h.nodes,
      pingNodes: h.pingNodes.map((p) => p.name),
    });
    this.d.resources.reconfigure(next, diff.groups);
    const wall = this.d.scheduler.wallNow();
    for (const g of diff.groups.added) this.since.set(g, wall);
    for (const g of diff.groups.removed) {
      this.since.delete(g);
      this.failures.delete(g);
    }
    const touched = this.health.reconfigure(h.vigil.healthChecks);
    this.guard(() => {
      this.run(this.core.reconfigure(next, diff.groups.changed, this.d.scheduler.now(), fencer?.device.deviceId));
    });
    for (const g of touched) if (this.core.groupState(g) === 'held') this.health.groupStarted(g);
  }

  /** Bytes from a medium: decode, authenticate, order, then liveness and decisions. */
  private onPacket(bytes: Uint8Array, link: string): void {
    if (this.stopped) return;
    // After SIGCONT the queued packets are read before any timer runs: find out first whether our VIP leases
    // ran out while we were stopped, so that nothing we answer claims a group whose VIP is gone.
    this.d.resources.checkLeases();
    const r = this.wire.receive(bytes);
    if (r.kind === 'dropped' && !isBenignDrop(r.reason) && this.cfg.hacf.logBadpack) {
      const line = this.dropLines.take(r.reason, `dropped packet (${r.reason}): ${r.detail}`);
      if (line !== undefined) this.log('debug', line);
    }
    this.run(this.core.received(r, link, this.d.scheduler.now()));
  }

  /** Carry out the core's actions, in order. */
  private run(actions: readonly CoreAction[]): void {
    for (const a of actions) this.exec(a);
  }

  private exec(a: CoreAction): void {
    switch (a.kind) {
      case 'log':
        this.log(a.level, a.text);
        return;
      case 'send':
        this.send(a.msg);
        return;
      case 'transition':
        this.onTransition(a.transition);
        return;
      case 'member':
        this.onMember(a.event);
        return;
      case 'acquire':
        void this.d.resources.acquire(a.group).then((ok) => {
          if (!ok) this.noteFailure(a.group, 'start failed');
          this.guard(() => {
            this.run(this.core.acquireDone(a.group, ok));
          });
        });
        return;
      case 'release':
        void this.d.resources.release(a.group).then((r) => {
          if (!r.ok) this.note(`could not stop ${r.stuck.join(' ')}`);
          this.guard(() => {
            this.run(this.core.releaseDone(a.group, r.ok));
          });
        });
        return;
      case 'reannounce':
        this.d.resources.reannounce(a.group);
        return;
      case 'claim':
      case 'disown':
      case 'renew':
        this.quorumAction(a);
        return;
      case 'fence': {
        const fencer = this.fencer;
        if (fencer === undefined) return; // (the constructor refused a configured device without a fencer)
        this.note(`STONITH reset of ${a.node} requested`);
        void fencer.attempt(a.node).then((r) => {
          this.d.stats?.stonith.inc(r.ok ? 'ok' : r.detail === 'cancelled' ? 'cancelled' : 'failed');
          if (!r.ok && r.detail !== '' && r.detail !== 'cancelled') this.log('ERROR', r.detail);
          if (r.ok) this.note(`${a.node} reset by STONITH`);
          this.guard(() => {
            this.run(this.core.stonithDone(a.node, r.ok));
          });
        });
        return;
      }
      case 'fenceCancel':
        this.fencer?.cancel(a.node);
        return;
      case 'setTimer':
        this.setTimer(a.name, a.ms, a.afterIo === true);
        return;
      case 'cancelTimer': {
        const t = this.timers.get(a.name);
        if (t !== undefined) this.d.scheduler.clearTimeout(t);
        this.timers.delete(a.name);
        return;
      }
      case 'beat':
        this.d.onBeat?.();
        for (const line of this.dropLines.flush()) this.log('debug', line);
        return;
      case 'stall':
        this.d.runtime?.stall(this.d.scheduler.wallNow(), a.lateByMs);
        return;
      case 'stopped':
        this.finishStop(a.reason);
        return;
      case 'reboot':
        // Heartbeat reboots the machine here. Vigil will not reboot a host on its own: the group stays
        // marked stuck (never acquired elsewhere by this node's word) and the operator is told loudly.
        this.log('CRIT', `${a.reason}: manual intervention required (Vigil does not reboot the host).`);
        this.note(`stop failure: ${a.reason}`);
        return;
    }
  }

  private quorumAction(a: Extract<CoreAction, { kind: 'claim' | 'disown' | 'renew' }>): void {
    const q = this.d.quorum;
    if (q === undefined) return;
    const back = (fn: (now: number) => CoreAction[]): void => {
      if (this.stopped) return;
      this.guard(() => {
        this.run(fn(this.d.scheduler.now()));
      });
    };
    switch (a.kind) {
      case 'claim': {
        const t0 = this.d.scheduler.now();
        void q.claim(a.group).then((r) => {
          const ms = Math.round(this.d.scheduler.now() - t0);
          if (r.ok) this.note(`claimed ${a.group} in etcd in ${ms} ms (fencing token ${r.revision})`);
          else this.log('debug', `etcd claim of ${a.group} refused after ${ms} ms`);
          back((now) => this.core.claimDone(a.group, r, now));
        });
        return;
      }
      case 'disown':
        void q.disown(a.lease).then(() => {
          back((now) => this.core.disownDone(a.group, now));
        });
        return;
      case 'renew': {
        const t0 = this.d.scheduler.now();
        void q.renew(a.lease).then((r) => {
          const ms = this.d.scheduler.now() - t0;
          this.d.stats?.quorumRenewals.inc(r);
          if (r === 'renewed') this.d.stats?.quorumRenewSeconds.observe(ms / 1000);
          // Half the renewal period: the lease still has its margin, but etcd is slow (an election, a lost member).
          if (r === 'renewed' && ms >= SLOW_RENEWAL_MS)
            this.log('info', `etcd: renewing the lease of ${a.group} took ${Math.round(ms)} ms`);
          back((now) => this.core.renewDone(a.group, a.lease, a.sentAt, r, now));
          // The VIP's kernel lifetime follows the lease at once, not at the next beat.
          if (r === 'renewed' && this.core.groupState(a.group) === 'held') this.d.resources.refreshLease(a.group);
        });
        return;
      }
    }
  }

  private setTimer(name: string, ms: number, afterIo: boolean): void {
    const old = this.timers.get(name);
    if (old !== undefined) this.d.scheduler.clearTimeout(old);
    const fire = (): void => {
      if (this.stopped) return;
      if (name === CHECK_TIMER) {
        const late = this.d.scheduler.now() - this.core.checkScheduledFor;
        this.d.runtime?.lateness(late);
        this.d.stats?.lateness.observe(Math.max(0, late) / 1000);
      }
      this.guard(() => {
        this.run(this.core.timer(name, this.d.scheduler.now()));
      });
    };
    // Read every queued packet before judging anyone dead: the check runs after the poll phase. Due now (it rides
    // on the beat), it needs no timer of its own: an idle daemon's CPU is mostly wake-ups.
    if (afterIo && ms <= 0) {
      setImmediate(fire);
      return;
    }
    this.timers.set(
      name,
      this.d.scheduler.setTimeout(
        () => {
          this.timers.delete(name);
          if (afterIo) setImmediate(fire);
          else fire();
        },
        Math.max(0, ms),
      ),
    );
  }

  private send(m: EngineMessage): void {
    if (m.t !== 'status') {
      const fields = toFields(m);
      this.log(
        'debug',
        `send t=${m.t} ${fields
          .filter(([n]) => n !== 't')
          .map(([n, v]) => `${n}=${v}`)
          .join(' ')}`,
      );
    }
    this.wire.send(msg(...toFields(m).map(([n, v]) => str(n, v))));
  }

  /** Health checks follow the group: watched once held here, idle from the moment it starts to go. */
  private onTransition(t: GroupTransition): void {
    const now = this.d.scheduler.wallNow();
    this.since.set(t.group, now);
    this.pushTransition({ ...t, at: now, text: transitionText(t) });
    const st = this.d.stats;
    let durationMs: number | undefined;
    if (st !== undefined) {
      st.transitions.inc(t.group + sep + t.reason);
      const mono = this.d.scheduler.now();
      if (t.to === 'acquiring' || t.to === 'releasing') st.moveStarted.set(t.group, mono);
      const started = st.moveStarted.get(t.group);
      if (
        started !== undefined &&
        ((t.from === 'acquiring' && t.to === 'held') || (t.from === 'releasing' && t.to === 'none'))
      ) {
        durationMs = mono - started;
        (t.to === 'held' ? st.takeoverSeconds : st.handoverSeconds).observe(durationMs / 1000);
        st.moveStarted.delete(t.group);
      }
    }
    const ev: TransitionEvent = {
      type: 'transition',
      at: now,
      node: this.cfg.hacf.localNode,
      ...t,
      ...(durationMs === undefined ? {} : { durationMs: Math.round(durationMs) }),
    };
    this.d.events?.publish(ev);
    if (t.to === 'held' && t.reason !== 'start-failed') this.health.groupStarted(t.group);
    if (t.to === 'releasing') this.health.groupStopped(t.group);
  }

  /** Peers and links coming and going: for observers only (the core already decided what they imply). */
  private onMember(e: MemberChange): void {
    const bus = this.d.events;
    const at = this.d.scheduler.wallNow();
    switch (e.kind) {
      case 'linkUp':
      case 'linkDead': {
        const status = e.kind === 'linkUp' ? 'up' : 'dead';
        this.d.stats?.linkChanges.inc(e.node + sep + e.link + sep + status);
        bus?.publish({ type: 'link', at, peer: e.node, link: e.link, status });
        return;
      }
      case 'statusChanged':
        bus?.publish({ type: 'peer', at, peer: e.node, change: 'status', kind: 'node', status: e.status });
        return;
      case 'pingNodeAlive':
      case 'pingNodeDead':
        bus?.publish({
          type: 'peer',
          at,
          peer: e.node,
          change: e.kind === 'pingNodeAlive' ? 'alive' : 'dead',
          kind: 'ping',
        });
        return;
      case 'nodeAlive':
      case 'nodeRestarted':
      case 'nodeReturned':
      case 'nodeDead':
      case 'nodeShutdown': {
        const change = (
          {
            nodeAlive: 'alive',
            nodeRestarted: 'restarted',
            nodeReturned: 'returned',
            nodeDead: 'dead',
            nodeShutdown: 'shutdown',
          } as const
        )[e.kind];
        bus?.publish({ type: 'peer', at, peer: e.node, change, kind: 'node' });
        return;
      }
    }
  }

  /** `vigil explain [GROUP]`. */
  explain(group?: string): ExplainResult {
    if (group !== undefined && !this.cfg.groups.some((g) => g.key === group)) {
      throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', `no resource group [${group}] in haresources`);
    }
    return explain(
      {
        status: this.snapshot(),
        engine: this.core.engine.snapshot(),
        ipfail: this.core.ipfailView(),
        stopping: this.core.isStopping(),
      },
      group,
    );
  }

  private note(text: string): void {
    this.pushTransition({ at: this.d.scheduler.wallNow(), text });
  }

  private pushTransition(t: TransitionView): void {
    this.transitions.push(t);
    if (this.transitions.length > MAX_TRANSITIONS) this.transitions.shift();
  }

  private noteFailure(group: string, why: string): void {
    const f = this.failures.get(group) ?? { count: 0, last: undefined };
    f.count++;
    f.last = why;
    f.at = this.d.scheduler.wallNow();
    this.failures.set(group, f);
  }

  /** A ping node (or any member of a ping group) answered. */
  pingReply(name: string): void {
    if (this.stopped) return;
    this.guard(() => {
      this.run(this.core.pingReply(name, this.d.scheduler.now()));
    });
  }

  /** Operator commands (control socket, signals). */
  command(c: OperatorCommand): void {
    if (this.stopped) return;
    this.guard(() => {
      this.run(this.core.command(c));
    });
  }

  /** Health check: restart in place, only while the core counts the group as held here. */
  private async restartInPlace(group: string): Promise<boolean> {
    if (this.stopped || this.core.groupState(group) !== 'held') return true;
    this.note(`restarting ${group} in place (health check)`);
    const ok = await this.d.resources.restart(group);
    this.since.set(group, this.d.scheduler.wallNow());
    if (!ok) this.noteFailure(group, 'restart in place failed');
    this.note(ok ? `restarted ${group}` : `restart of ${group} failed`);
    return ok;
  }

  /** Health check gave up: this node is ruled out for the group; the engine hands it to a peer. */
  private healthHandOver(group: string, reason: string): void {
    this.note(`not eligible for ${group}: ${reason}`);
    this.guard(() => {
      this.run(this.core.eligibility(group, false, reason));
    });
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
    const ruledOut = this.core.engine.snapshot().ineligible;
    for (const k of keys) {
      this.failures.delete(k);
      if (ruledOut[k] !== undefined) {
        this.guard(() => {
          this.run(this.core.eligibility(k, true));
        });
      }
      // A group held here with checks idle again (cleared after a failure): watch it again.
      if (this.core.groupState(k) === 'held') this.health.groupStarted(k);
    }
    this.log('info', `Fail counts cleared by the operator: ${keys.join(' ')}`);
    this.note(`cleanup ${group ?? 'all groups'}`);
    return keys;
  }

  /** `vigil fence-ack NODE`: the operator power-cycled NODE (meatware). */
  fenceAck(node: string): void {
    const f = this.fencer;
    if (f === undefined) throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', 'no STONITH device is configured');
    if (!f.isMeatware)
      throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', `the STONITH device is ${f.device.type}, not meatware`);
    if (!f.acknowledge(node.toLowerCase()))
      throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', `no reset of ${node} is waiting for a confirmation`);
    this.note(`fence-ack ${node} by the operator`);
  }

  /** A held group lost its VIP by itself (lease expiry after a stall): release the rest and tell the engine. */
  private groupLost(group: string, why: string): void {
    if (this.stopped) return;
    this.noteFailure(group, why);
    this.note(`lost ${group}: ${why}`);
    // The engine releases the rest of the group through its normal path (release → releaseDone).
    this.run(this.core.groupLost(group, why));
  }

  /** Each peer's newest generation and sequence number (persisted so that old captures stay replays). */
  peerProgress(): Map<string, PeerProgress> {
    return this.wire.progress();
  }

  /** Graceful stop with handover; resolves when `shutdone` went out (or the limit passed). */
  shutdown(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.shutdownWaiters.push(resolve));
    if (!this.core.isStopping()) {
      this.note(`shutdown requested (${reason})`);
      this.guard(() => {
        this.run(this.core.shutdown());
      });
    }
    return done;
  }

  private finishStop(reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
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
    for (const t of this.timers.values()) this.d.scheduler.clearTimeout(t);
    this.timers.clear();
    this.health.stopAll();
    this.fencer?.cancelAll();
    this.removeMedia([...this.media.keys()]);
    this.wire.stop();
    this.d.resources.dispose();
    void this.d.quorum?.stop();
  }

  /** The read-only view behind `vigil status`, `cl_status` and the HTTP API. */
  snapshot(): StatusSnapshot {
    const now = this.d.scheduler.now();
    const wallOffset = this.d.scheduler.wallNow() - now;
    const cs = this.core.engine.snapshot();
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
      nodes: this.core.membership.nodes(now).map((n) => ({
        name: n.name,
        type: n.type,
        status: n.status,
        links: n.links.map((l) => ({ name: l.name, status: l.up ? 'up' : 'dead' })),
        lastHeard: n.lastStatusAt === undefined ? undefined : n.lastStatusAt + wallOffset,
        clients: this.core.clients(n.name, n.status !== 'dead'),
        ...(n.arrivals === undefined || n.type !== 'normal'
          ? {}
          : {
              detector: {
                limitMs: n.timeoutMs,
                samples: n.arrivals.samples,
                meanMs: Math.round(n.arrivals.meanMs * 10) / 10,
                stddevMs: Math.round(n.arrivals.stddevMs * 10) / 10,
              },
            }),
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
      fencing: (this.fencer?.inProgress() ?? []).map((node) => ({
        node,
        device: this.fencer?.device.deviceId ?? '',
        awaitingOperator: this.fencer?.isMeatware === true,
      })),
      parameters: hbParameters(this.cfg),
      ...(this.d.runtime !== undefined ? { runtime: this.d.runtime.view() } : {}),
      ...(this.d.nodeListOrder === undefined ? {} : { listOrder: this.d.nodeListOrder }),
      wire: this.wire.counters(),
      ...(cs.quorum === undefined ? {} : { quorum: cs.quorum }),
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
