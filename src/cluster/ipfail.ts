/**
 * ipfail, built in: Heartbeat's ping-count arbitration between the two nodes of a haresources cluster,
 * as a pure state machine (events in, actions out; timers by name, no clock of its own).
 *
 * Heartbeat runs ipfail as an API client (`respawn hacluster /usr/lib/heartbeat/ipfail`). Each node counts
 * the ping nodes it sees; on a ping-node or link change it sends the other node its count
 * (`t=num_ping_nodes num_ping=N dest=<peer>`). The receiver compares: more → `you_are_dead`, equal →
 * `abort_giveup` (and auto_failback may move groups home), fewer → it prepares to give up itself. The side
 * with fewer ping nodes gives up all its groups (a standby `all`, the same 3-phase hand-over as hb_standby)
 * 2 × keepalive later unless an `abort_giveup` (or its own recount) cancels it: the delay lets a network-wide
 * outage, which both sides see a moment apart, end balanced instead of moving anything.
 *
 * Messages, fields and log lines checked live against the real /usr/libexec/heartbeat/ipfail (3.0.6) in a mixed
 * lab cluster (test/lab/ipfail.test.ts): each side's give-up is triggered by the other's messages, both ways.
 * Vigil keeps the messages, the fields and the log lines, and adds what an admin expects from a daemon that
 * must not flap:
 * - It acts only once its own count means something: every ping node answered or was declared dead
 *   (deadping after start). A node that just booted and has not heard its router yet neither asks nor answers.
 * - The give-up happens only if, when the delay ends, the peer is alive, last said it sees more ping nodes
 *   than we do now, and a give-up for these same two counts has not already been done (an operator who moves
 *   the groups back while nothing changed is not overruled).
 * - A node that receives a count while it sees fewer answers with its own count (Heartbeat stays silent), so
 *   the node with more always learns the imbalance; without that it could not tell later that counts became
 *   equal *again*.
 * - auto_failback on: groups that moved because of ping counts go home (standby `foreign` by their holder)
 *   only after the counts stayed equal for deadping, so one stray echo reply does not bounce the service.
 * - It asks (sends its count) only when something changed: its count, the peer's liveness, a link, or the real
 *   Heartbeat ipfail on the peer signing on. Never on the peer's resource announcements: a real ipfail that finds
 *   the counts balanced runs a standby `foreign` (even an empty one), and the peer's next stable announcement
 *   would ask again, for ever.
 * - Seen from the real one: it logs `Giving up because we have less visible ping nodes.` only when it compares a
 *   count itself, and on every balanced comparison with auto_failback on it runs `Giving up foreign resources
 *   (auto_failback).` (a standby `foreign`, even an empty one) 2 x keepalive later. Vigil logs the line at every
 *   give-up for fewer ping nodes, and gives foreign groups back only after an imbalance, once equality has
 *   lasted deadping (above).
 * - A give-up the engine cannot start now (a hand-over or start in progress, peer not stable) is retried every
 *   2 × keepalive for at most GIVEUP_RETRY_LIMIT_MS.
 */
import type { CompiledConfig, HaCf, RespawnConfig } from '../config/types.js';
import type { ClusterEngine } from './engine.js';
import type { LogLevel } from '../membership/membership.js';
import type { EngineMessage, RscHold } from './protocol.js';

export const GIVEUP_TIMER = 'ipfail:giveup';
export const FAILBACK_TIMER = 'ipfail:failback';
/** A give-up or give-back the engine keeps refusing (always in flux) is abandoned after this long. */
export const GIVEUP_RETRY_LIMIT_MS = 5 * 60_000;

/** The ipfail messages, as the engine's protocol module decodes them. */
export type IpfailMessage = Extract<EngineMessage, { t: 'num_ping_nodes' | 'you_are_dead' | 'abort_giveup' }>;

export type IpfailEvent =
  /** Our count of live ping nodes (ping groups count once). `known` = every ping node has a verdict. */
  | { readonly kind: 'localCount'; readonly count: number; readonly known: boolean }
  /** The peer's heartbeat: alive (first status, restart, return after a partition) or dead/stopped. */
  | { readonly kind: 'peerUp' }
  | { readonly kind: 'peerDown' }
  /** A link to the peer went up or down. */
  | { readonly kind: 'link' }
  /** The peer's ipfail client signed on (`t=hbapi-clstat st=join from_id=ipfail`, sent by a real Heartbeat). */
  | { readonly kind: 'peerJoined' }
  | { readonly kind: 'message'; readonly msg: IpfailMessage }
  | { readonly kind: 'timer'; readonly name: string };

/** What the engine says at the moment of an event; the give-up decisions depend on it. */
export interface IpfailContext {
  /** `cl_status rscstatus`: what we hold (relative to us), or `transition`. */
  readonly holds: RscHold | 'transition';
  /** The engine can run a standby now (we are stable and not in a hand-over; the peer is alive and stable). */
  readonly canStandby: boolean;
}

export type IpfailAction =
  | { readonly kind: 'send'; readonly msg: IpfailMessage }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly text: string }
  | { readonly kind: 'setTimer'; readonly name: string; readonly ms: number }
  | { readonly kind: 'cancelTimer'; readonly name: string }
  /** Run the engine's standby (hb_standby) for these groups: the peer takes them. */
  | { readonly kind: 'standby'; readonly which: 'all' | 'foreign' };

export interface IpfailOptions {
  readonly me: string;
  readonly peer: string;
  readonly keepaliveMs: number;
  readonly deadpingMs: number;
  readonly autoFailback: boolean;
}

export interface IpfailSnapshot {
  readonly local: number | undefined;
  readonly peer: number | undefined;
  readonly peerUp: boolean;
  readonly giveupPending: boolean;
  readonly failbackPending: boolean;
}

type Out = IpfailAction[];

export class Ipfail {
  private local: number | undefined;
  /** The peer's count as last told (or inferred from its answer to the count we sent). */
  private peerCount: number | undefined;
  private lastSent: number | undefined;
  private peerUp = false;
  private giveupPending = false;
  private giveupId = 0;
  private giveupTries = 0;
  /** `local/peer` of the last give-up done: not repeated while both counts stay the same. */
  private gaveUpAt: string | undefined;
  /** Counts were seen unequal since they were last equal: equality now is a recovery. */
  private imbalance = false;
  private failbackPending = false;
  private failbackTries = 0;
  private readonly delayMs: number;
  private readonly maxTries: number;

  constructor(private readonly o: IpfailOptions) {
    this.delayMs = 2 * o.keepaliveMs;
    this.maxTries = Math.max(1, Math.ceil(GIVEUP_RETRY_LIMIT_MS / this.delayMs));
  }

  snapshot(): IpfailSnapshot {
    return {
      local: this.local,
      peer: this.peerCount,
      peerUp: this.peerUp,
      giveupPending: this.giveupPending,
      failbackPending: this.failbackPending,
    };
  }

  handle(ev: IpfailEvent, ctx: IpfailContext): IpfailAction[] {
    const out: Out = [];
    switch (ev.kind) {
      case 'localCount': {
        if (!ev.known) break;
        const changed = this.local !== ev.count;
        this.local = ev.count;
        if (changed) {
          this.log(out, 'info', `ipfail: we see ${ev.count} ping node(s).`);
          this.ask(out);
        }
        this.decide(out, ctx);
        break;
      }
      case 'peerUp':
        if (this.peerUp) break;
        this.peerUp = true;
        this.peerCount = undefined;
        this.lastSent = undefined;
        this.ask(out);
        break;
      case 'peerDown':
        if (!this.peerUp) break;
        this.peerUp = false;
        this.peerCount = undefined;
        this.lastSent = undefined;
        this.imbalance = false;
        this.gaveUpAt = undefined;
        this.cancelGiveup(out, `${this.o.peer} is dead`);
        this.cancelFailback(out);
        break;
      case 'link':
        this.log(out, 'debug', 'Checking remote count of ping nodes.');
        this.ask(out);
        break;
      case 'peerJoined':
        this.log(out, 'info', `Got join message from another ipfail client. (${this.o.peer})`);
        this.ask(out);
        break;
      case 'message':
        this.onMessage(out, ev.msg, ctx);
        break;
      case 'timer':
        if (ev.name === GIVEUP_TIMER) this.onGiveupTimer(out, ctx);
        else if (ev.name === FAILBACK_TIMER) this.onFailbackTimer(out, ctx);
        break;
    }
    return out;
  }

  private log(out: Out, level: LogLevel, text: string): void {
    out.push({ kind: 'log', level, text });
  }

  /** Tell the peer our count (Heartbeat's "ask": the peer compares and answers). */
  private ask(out: Out): void {
    if (!this.peerUp || this.local === undefined) return;
    this.log(out, 'info', 'Asking other side for ping node count.');
    this.lastSent = this.local;
    out.push({ kind: 'send', msg: { t: 'num_ping_nodes', numPing: this.local, dest: this.o.peer } });
  }

  private onMessage(out: Out, m: IpfailMessage, ctx: IpfailContext): void {
    // A message can arrive before the status that makes the peer alive for us; it still proves it runs.
    switch (m.t) {
      case 'num_ping_nodes': {
        this.log(out, 'debug', 'Got asked for num_ping.');
        this.peerCount = m.numPing;
        if (this.local === undefined) {
          this.log(out, 'debug', 'ipfail: our ping nodes have no verdict yet: not answering.');
          return;
        }
        if (this.local > m.numPing) {
          this.imbalance = true;
          this.log(out, 'info', 'Telling other node that we have more visible ping nodes.');
          this.cancelGiveup(out, 'we see more ping nodes');
          this.cancelFailback(out);
          out.push({ kind: 'send', msg: { t: 'you_are_dead', dest: this.o.peer } });
          this.log(out, 'debug', 'Message [you_are_dead] sent.');
        } else if (this.local < m.numPing) {
          this.imbalance = true;
          this.cancelFailback(out);
          // The peer compares only what it receives: tell it our count, so that it knows it sees more (and can
          // tell later that counts became equal again). It answers `you_are_dead`; nothing answers that.
          this.ask(out);
          this.decide(out, ctx);
        } else {
          this.log(out, 'info', 'Ping node count is balanced.');
          out.push({ kind: 'send', msg: { t: 'abort_giveup', dest: this.o.peer } });
          this.log(out, 'debug', 'Abort message sent.');
          this.decide(out, ctx);
        }
        return;
      }
      case 'you_are_dead':
        // An answer to the last count we sent: it sees more than that. (It names no count: one answering an
        // older count is corrected by the answer to the newer one, well within the give-up delay.)
        if (this.lastSent === undefined || this.local === undefined) return;
        this.imbalance = true;
        this.peerCount = Math.max(this.peerCount ?? 0, this.lastSent + 1);
        if (this.gaveUpAt === this.key()) {
          this.log(out, 'debug', 'ipfail: told again that we have less ping nodes: already gave up for these counts.');
          return;
        }
        this.log(out, 'info', 'Giving up because we were told that we have less ping nodes.');
        this.decide(out, ctx);
        return;
      case 'abort_giveup':
        // Balanced with the count we sent.
        if (this.lastSent !== undefined) this.peerCount = this.lastSent;
        if (!this.giveupPending) this.log(out, 'debug', 'No giveup timer to abort.');
        this.decide(out, ctx);
        return;
    }
  }

  /** Arm, keep or cancel the delayed give-up and the give-back from what we know now. */
  private decide(out: Out, ctx: IpfailContext): void {
    if (this.local === undefined || this.peerCount === undefined || !this.peerUp) return;
    if (this.local < this.peerCount) {
      this.cancelFailback(out);
      if (this.giveupPending) return; // keep the first deadline: later messages must not postpone it for ever
      if (this.gaveUpAt === this.key()) return;
      this.giveupPending = true;
      this.giveupTries = 0;
      this.giveupId++;
      this.log(out, 'info', `Delayed giveup in ${this.delayMs / 1000} seconds.`);
      out.push({ kind: 'setTimer', name: GIVEUP_TIMER, ms: this.delayMs });
      return;
    }
    this.cancelGiveup(out, 'the ping node counts changed');
    if (this.local > this.peerCount) {
      this.imbalance = true;
      this.cancelFailback(out);
      return;
    }
    // Equal again after an imbalance: with auto_failback on, groups go home once it lasts.
    this.gaveUpAt = undefined;
    if (!this.imbalance) return;
    this.imbalance = false;
    if (!this.o.autoFailback || this.failbackPending) return;
    if (ctx.holds !== 'foreign' && ctx.holds !== 'all' && ctx.holds !== 'transition') return;
    this.failbackPending = true;
    this.failbackTries = 0;
    this.log(
      out,
      'info',
      `ipfail: ping node counts equal again (${this.local}): giving foreign resources back in ${this.o.deadpingMs / 1000} seconds if it lasts.`,
    );
    out.push({ kind: 'setTimer', name: FAILBACK_TIMER, ms: this.o.deadpingMs });
  }

  private key(): string {
    return `${String(this.local)}/${String(this.peerCount)}`;
  }

  private cancelGiveup(out: Out, why: string): void {
    if (!this.giveupPending) return;
    this.giveupPending = false;
    out.push({ kind: 'cancelTimer', name: GIVEUP_TIMER });
    this.log(out, 'info', `Aborted delayed giveup (${this.giveupId})`);
    this.log(out, 'info', `ipfail: not giving up: ${why}.`);
  }

  private cancelFailback(out: Out): void {
    if (!this.failbackPending) return;
    this.failbackPending = false;
    out.push({ kind: 'cancelTimer', name: FAILBACK_TIMER });
    this.log(out, 'info', 'ipfail: ping node counts differ again: foreign resources stay here.');
  }

  private onGiveupTimer(out: Out, ctx: IpfailContext): void {
    if (!this.giveupPending) return;
    this.log(out, 'info', 'giveup() called (timeout worked)');
    // Re-check everything: the delay exists so that the facts can change.
    if (!this.peerUp || this.local === undefined || this.peerCount === undefined || this.local >= this.peerCount) {
      this.giveupPending = false;
      this.log(out, 'info', `ipfail: not giving up: ${this.peerUp ? 'counts are no longer unequal' : 'peer is dead'}.`);
      return;
    }
    if (ctx.holds === 'none') {
      this.giveupPending = false;
      this.gaveUpAt = this.key();
      this.log(out, 'info', 'ipfail: fewer visible ping nodes, but we hold no resources: nothing to give up.');
      return;
    }
    if (ctx.holds === 'transition' || !ctx.canStandby) {
      if (++this.giveupTries >= this.maxTries) {
        this.giveupPending = false;
        this.log(out, 'WARN', 'ipfail: resources stayed in transition: giveup abandoned.');
        return;
      }
      this.log(out, 'debug', 'ipfail: resources in transition: giveup retried later.');
      out.push({ kind: 'setTimer', name: GIVEUP_TIMER, ms: this.delayMs });
      return;
    }
    this.giveupPending = false;
    this.gaveUpAt = this.key();
    this.log(out, 'info', `ipfail: we see ${this.local} ping node(s), ${this.o.peer} sees ${this.peerCount}.`);
    this.log(out, 'info', 'Giving up because we have less visible ping nodes.');
    out.push({ kind: 'standby', which: 'all' });
  }

  private onFailbackTimer(out: Out, ctx: IpfailContext): void {
    if (!this.failbackPending) return;
    if (!this.peerUp || this.local === undefined || this.local !== this.peerCount) {
      this.failbackPending = false;
      return;
    }
    if (ctx.holds === 'none' || ctx.holds === 'local') {
      this.failbackPending = false;
      return;
    }
    if (ctx.holds === 'transition' || !ctx.canStandby) {
      if (++this.failbackTries >= this.maxTries) {
        this.failbackPending = false;
        this.log(out, 'WARN', 'ipfail: resources stayed in transition: failback abandoned.');
        return;
      }
      out.push({ kind: 'setTimer', name: FAILBACK_TIMER, ms: this.delayMs });
      return;
    }
    this.failbackPending = false;
    this.log(out, 'info', 'Giving up foreign resources (auto_failback).');
    out.push({ kind: 'standby', which: 'foreign' });
  }
}

/** What the engine says now, for `Ipfail.handle`. */
export function engineContext(engine: ClusterEngine, peer: string): IpfailContext {
  return { holds: engine.snapshot().rscstatus, canStandby: engine.canStandbyWith(peer) };
}

/** The ha.cf line that asks for ipfail: `respawn <user> <…>/ipfail` (Heartbeat's lib or libexec path). */
export function ipfailDirective(h: HaCf): RespawnConfig | undefined {
  return h.respawn.find((r) => (r.argv[0] ?? '').split('/').pop() === 'ipfail');
}

/**
 * Whether ipfail runs, and the log lines that say why (or why not). It needs exactly two nodes (it compares
 * with "the other node"), ping nodes to count, and nice_failback (its give-up is a standby).
 */
export function ipfailSetup(config: CompiledConfig): {
  options: IpfailOptions | undefined;
  log: Array<{ level: LogLevel; text: string }>;
} {
  const h = config.hacf;
  const d = ipfailDirective(h);
  if (d === undefined) return { options: undefined, log: [] };
  const where = `${d.origin.file}:${d.origin.line}`;
  const line = `${d.failfast ? 'failfast' : 'respawn'} ${d.user} ${d.argv.join(' ')}`;
  const log: Array<{ level: LogLevel; text: string }> = [];
  const off = (level: LogLevel, why: string): { options: undefined; log: typeof log } => {
    log.push({ level, text: `ipfail (${where}: ${line}) not enabled: ${why}.` });
    return { options: undefined, log };
  };
  const others = h.nodes.filter((n) => n !== h.localNode);
  const [peer] = others;
  if (others.length !== 1 || peer === undefined)
    return off('WARN', `it needs exactly two nodes, ha.cf has ${h.nodes.length}`);
  if (h.autoFailback === 'legacy') {
    log.push({ level: 'ERROR', text: 'auto_failback set to incompatible legacy option.' });
    return off('ERROR', 'use auto_failback on or off');
  }
  if (h.pingNodes.length === 0) return off('WARN', 'no ping or ping_group node to count');
  log.push({
    level: 'info',
    text: `ipfail is built into Vigil: ${where}: ${line} turns it on; no ipfail process is started.`,
  });
  return {
    options: {
      me: h.localNode,
      peer,
      keepaliveMs: h.keepaliveMs,
      deadpingMs: h.deadpingMs,
      autoFailback: h.autoFailback === 'on',
    },
    log,
  };
}
