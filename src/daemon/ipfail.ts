/**
 * Wires the pure ipfail state machine (src/cluster/ipfail.ts) into a running node: membership events and
 * peer messages in; its messages, log lines, timers and give-ups (the engine's standby) out. Owns its own
 * timers so the node's engine timers stay untouched.
 */
import type { ClusterEngine } from '../cluster/engine.js';
import {
  engineContext,
  Ipfail,
  ipfailSetup,
  type IpfailAction,
  type IpfailEvent,
  type IpfailSnapshot,
} from '../cluster/ipfail.js';
import type { EngineMessage } from '../cluster/protocol.js';
import type { StandbyWhich } from '../cluster/types.js';
import type { CompiledConfig } from '../config/types.js';
import type { LogLevel, Membership, MembershipEvent } from '../membership/membership.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';

export interface IpfailHookDeps {
  readonly config: CompiledConfig;
  readonly scheduler: Scheduler;
  readonly membership: Membership;
  readonly engine: ClusterEngine;
  readonly log: (level: LogLevel, text: string) => void;
  readonly send: (msg: EngineMessage) => void;
  readonly standby: (which: StandbyWhich) => void;
}

export class IpfailHook {
  private readonly timers = new Map<string, TimerHandle>();
  /** Ping nodes with a verdict (answered, or declared dead): until all have one, our count means nothing. */
  private readonly decided = new Set<string>();
  private closed = false;
  private peerHeard = false;

  private constructor(
    private readonly d: IpfailHookDeps,
    private readonly core: Ipfail,
    private readonly peer: string,
  ) {}

  /** Logs whether ipfail is on (and why not); returns the hook when it is. */
  static create(d: IpfailHookDeps): IpfailHook | undefined {
    const { options, log } = ipfailSetup(d.config);
    for (const l of log) d.log(l.level, l.text);
    if (options === undefined) return undefined;
    return new IpfailHook(d, new Ipfail(options), options.peer);
  }

  snapshot(): IpfailSnapshot {
    return this.core.snapshot();
  }

  /** Call after the engine has seen the event (the context then reflects it). */
  onMembership(e: MembershipEvent): void {
    switch (e.kind) {
      case 'pingNodeAlive':
      case 'pingNodeDead':
        this.decided.add(e.node);
        this.run({
          kind: 'localCount',
          count: this.d.membership.livePingNodes(),
          known: this.decided.size >= this.d.config.hacf.pingNodes.length,
        });
        return;
      case 'nodeAlive':
      case 'nodeReturned':
        if (e.node === this.peer) this.run({ kind: 'peerUp' });
        return;
      case 'nodeRestarted':
        // A new incarnation knows nothing of the old one's counts.
        if (e.node !== this.peer) return;
        this.peerHeard = false;
        this.run({ kind: 'peerDown' });
        this.run({ kind: 'peerUp' });
        return;
      case 'nodeDead':
      case 'nodeShutdown':
        if (e.node !== this.peer) return;
        this.peerHeard = false;
        this.run({ kind: 'peerDown' });
        return;
      case 'linkUp':
      case 'linkDead':
        if (e.node === this.peer) this.run({ kind: 'link' });
        return;
      case 'log':
      case 'commUp':
      case 'statusChanged':
      case 'localStall':
        return;
    }
  }

  /** A decoded message from a peer; call after the engine has handled it. */
  onMessage(from: string, m: EngineMessage): void {
    if (from !== this.peer) return;
    if (m.t === 'num_ping_nodes' || m.t === 'you_are_dead' || m.t === 'abort_giveup') {
      this.peerHeard = true;
      this.run({ kind: 'message', msg: m });
    }
  }

  /**
   * `cl_status clientstatus <node> ipfail`: online here (built in), and on the peer while it is alive and its
   * ipfail (Vigil's or a real one) has spoken since it came up.
   */
  clients(node: string, alive: boolean): Record<string, 'online' | 'offline'> {
    if (node === this.d.config.hacf.localNode) return { ipfail: 'online' };
    if (node === this.peer) return { ipfail: alive && this.peerHeard ? 'online' : 'offline' };
    return {};
  }

  /**
   * A message the engine has no type for. A real Heartbeat peer announces its API clients
   * (`t=hbapi-clstat st=join from_id=ipfail`): its ipfail has just signed on and missed what we said before.
   */
  onOtherMessage(from: string, type: string, get: (field: string) => string | undefined): void {
    if (from !== this.peer || type !== 'hbapi-clstat') return;
    if (get('from_id') !== 'ipfail') return;
    if (get('st') === 'join') {
      this.peerHeard = true;
      this.run({ kind: 'peerJoined' });
    } else if (get('st') === 'leave') {
      this.peerHeard = false;
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) this.d.scheduler.clearTimeout(t);
    this.timers.clear();
  }

  private run(ev: IpfailEvent): void {
    if (this.closed) return;
    for (const a of this.core.handle(ev, engineContext(this.d.engine, this.peer))) this.exec(a);
  }

  private exec(a: IpfailAction): void {
    switch (a.kind) {
      case 'log':
        this.d.log(a.level, a.text);
        return;
      case 'send':
        this.d.send(a.msg);
        return;
      case 'standby':
        this.d.standby(a.which);
        return;
      case 'setTimer': {
        const old = this.timers.get(a.name);
        if (old !== undefined) this.d.scheduler.clearTimeout(old);
        this.timers.set(
          a.name,
          this.d.scheduler.setTimeout(() => {
            this.timers.delete(a.name);
            this.run({ kind: 'timer', name: a.name });
          }, a.ms),
        );
        return;
      }
      case 'cancelTimer': {
        const t = this.timers.get(a.name);
        if (t !== undefined) this.d.scheduler.clearTimeout(t);
        this.timers.delete(a.name);
        return;
      }
    }
  }
}
