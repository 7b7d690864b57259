/**
 * (One file, longer than most: per-peer sequence tracking, retransmission, ACKs, replay floors and the receive
 * path all read and write the same per-peer state; split, each part would reach into the others.)
 *
 * One node's end of the Heartbeat protocol, pure: bytes in → an accepted message or a counted drop;
 * messages out → signed bytes handed to an injected `transmit`. Sequence tracking, retransmission
 * (requests, history, NAKs), ACKs and the generation rules live here (heartbeat.c `should_drop_message`,
 * `process_rexmit`, hb_rexmit.c). Time, randomness, load average and transmission are injected.
 */
import type { AuthKeys } from '../config/types.js';
import type { Scheduler, TimerHandle } from '../util/clock.js';
import { VigilError, errorMessage } from '../util/errors.js';
import { addInnerAuth, signNetstring, verifyPacket } from './auth.js';
import { type CodecOptions, decodeSigned, splitSigned } from './codec.js';
import { type ControlInfo, addControlFields, isNoSeqType, parseHex, readControl } from './control.js';
import { DEFAULT_HISTORY_SIZE, SendHistory, ownBytes } from './history.js';
import { MAX_MESSAGE_BYTES, type WireMessage, getString } from './message.js';
import { type NakReason, ackBody, nakBody, rexmitBody } from './messages.js';

/** Why a packet was not delivered. The first group is hostile or broken input; the rest is normal traffic. */
export type DropReason =
  | 'too_big'
  | 'parse'
  | 'decompress'
  | 'unsigned'
  | 'unknown_key'
  | 'weak_key'
  | 'auth'
  | 'missing_field'
  | 'unknown_node'
  | 'replay'
  | 'internal'
  | 'duplicate'
  | 'not_for_us'
  | 'own';

export const DROP_REASONS: readonly DropReason[] = [
  'too_big',
  'parse',
  'decompress',
  'unsigned',
  'unknown_key',
  'weak_key',
  'auth',
  'missing_field',
  'unknown_node',
  'replay',
  'internal',
  'duplicate',
  'not_for_us',
  'own',
];

/** Drops that say nothing bad about the packet: it was authentic, just not new or not ours (or our own echo). */
export function isBenignDrop(r: DropReason): boolean {
  return r === 'duplicate' || r === 'not_for_us' || r === 'own';
}

export interface Accepted {
  readonly kind: 'accepted';
  readonly message: WireMessage;
  readonly type: string;
  /** Configured node name (after uuid lookup and rename). */
  readonly from: string;
  readonly control: ControlInfo;
  /** The packet came from this node (Heartbeat hears its own broadcasts). */
  readonly self: boolean;
  /** First packet of a new generation of the sender (`Heartbeat restart on node n`). */
  readonly restart: boolean;
  /**
   * The message fills a gap in the sender's sequence (a retransmission, or a packet overtaken by a later one): it
   * was sent before the last one we have, so it says nothing about when the sender was last alive.
   */
  readonly late: boolean;
  /** NS_rexmit, NS_nak_rexmit and NS_ackmsg are consumed here; the caller may still use them for link status. */
  readonly handled: boolean;
}

export interface Dropped {
  readonly kind: 'dropped';
  readonly reason: DropReason;
  readonly detail: string;
  /**
   * Set when the packet is authentic and its sender known, so the medium it came on may count as up:
   * a verified packet, or a byte-identical copy of one. Old seqnos that are not such a copy are dropped
   * unverified (no HMAC spent on them) and name nobody.
   */
  readonly from: string | undefined;
}

export type ReceiveResult = Accepted | Dropped;

export type WireEventCode =
  | 'lost_packets'
  | 'lost_a_lot'
  | 'no_pkts_missing'
  | 'rexmit_request'
  | 'rexmit_served'
  | 'rexmit_nak'
  | 'rexmit_invalid'
  | 'rexmit_too_many'
  | 'irretrievably_lost'
  | 'replay'
  | 'restart'
  | 'bad_node'
  | 'node_renamed'
  | 'missing_limit'
  | 'rexmit_beyond'
  | 'flow_control_off';

export interface WireEvent {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly code: WireEventCode;
  /**
   * The log line exactly as Heartbeat writes it (without the level prefix). Vigil-only lines (no
   * Heartbeat equivalent): rexmit_request, rexmit_too_many, node_renamed.
   */
  readonly text: string;
  readonly node?: string;
  /** For rate-limited events (replay, bad_node): how many like it were not emitted since the last one. */
  readonly suppressed?: number;
}

/** Events an attacker can trigger per packet are emitted at most once per this many ms per (code, node). */
export const HOSTILE_EVENT_INTERVAL_MS = 1000;

export interface WireProtocolOptions {
  readonly localNode: string;
  readonly localUuid: Uint8Array;
  readonly generation: number;
  /** Configured cluster nodes (the local one included), lowercased as in the config. */
  readonly nodes: readonly string[];
  /** Ping node / ping group names: they send NS_st only. */
  readonly pingNodes?: readonly string[];
  readonly keys: AuthKeys;
  /** `msgfmt`: both send netstring (as Debian's 3.0.6 does); classic adds the inner `auth` field. */
  readonly msgfmt: 'classic' | 'netstring';
  readonly ttl: number;
  readonly maxRexmitDelayMs: number;
  readonly scheduler: Scheduler;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** The /proc/loadavg line for `ld`. */
  readonly loadavg: () => string;
  /** Hands a signed packet to every medium. */
  readonly transmit: (packet: Uint8Array) => void;
  /** Retransmission requests repeat only while the peer is up or active (as hb_rexmit.c). Default: always. */
  readonly isNodeUp?: (node: string) => boolean;
  readonly onEvent?: (e: WireEvent) => void;
  readonly codec?: CodecOptions;
  readonly historySize?: number;
  /**
   * What each peer had sent when this process last knew it (persisted across our restarts): older packets are
   * replays. Without it a freshly started node believes any authentic capture until the peer is heard.
   */
  readonly floors?: ReadonlyMap<string, PeerProgress>;
  /** A peer's generation went up (it restarted, or we heard it for the first time): time to persist `progress()`. */
  readonly onGeneration?: (node: string, generation: number) => void;
}

/** The newest packet of a peer: its generation and the highest sequence number seen in it. */
export interface PeerProgress {
  readonly generation: number;
  readonly seq: number;
}

/** Gap beyond which tracking restarts instead of requesting every packet. */
export const MAX_SEQ_GAP = 250;
/** Missing seqnos remembered per peer; the lowest are forgotten beyond this. */
export const MAX_MISSING = 500;
/** Packets served per NS_rexmit request. */
export const MAX_REXMIT_BATCH = 50;
/** Lower bound of the random delay before the first NS_rexmit for a gap. */
export const MIN_REXMIT_DELAY_MS = 50;
export const ACK_DIVISOR = 10;

interface Track {
  generation: number;
  /** From an earlier run of this node (options.floors): nothing at or below it is new. */
  floor: PeerProgress | undefined;
  lastSeq: number | undefined;
  /** Missing seqno → its pending NS_rexmit timer (undefined once requests stopped because the node is down). */
  readonly missing: Map<number, TimerHandle | undefined>;
  /** How many of `missing` wait with no timer (their node looked down): asked for again once it is heard. */
  parked: number;
  readonly ackTrigger: number;
  ackedSeq: number;
}

interface NodeEntry {
  name: string;
  uuid: Uint8Array | undefined;
  readonly ping: boolean;
  readonly track: Track;
}

/** A verified sequenced packet, kept so that a byte-identical copy from another medium needs no HMAC. */
interface RecentCopy {
  readonly node: NodeEntry;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

/** Verified packets remembered (all nodes together) for duplicate detection without an HMAC. */
const RECENT_COPIES = 64;
const RECENT_MAX_BYTES = 4096;

/**
 * Datagrams we sent last. bcast (and mcast with loop on) hand every one of them back to us; a byte-identical
 * echo is dropped before the parse and the HMAC. On an idle cluster that is one of the three packets a second
 * a node receives. An echo that fell out of the ring (a long rexmit burst) takes the full path and is ignored
 * as `self` there, as before.
 */
const OWN_ECHOES = 16;

/** A map key for a uuid: its bytes as a 16-char string (cheaper than hex on the hot path). */
function uuidKey(u: Uint8Array): string {
  let s = '';
  for (const b of u) s += String.fromCharCode(b);
  return s;
}

export class WireProtocol {
  private o: WireProtocolOptions;
  private readonly byName = new Map<string, NodeEntry>();
  private readonly byUuid = new Map<string, NodeEntry>();
  private readonly history: SendHistory;
  private seq = 0;
  /** Heartbeat turns ACKs off for good once any node's status lacks `protocol` (an older peer). */
  private flowControl = true;
  private readonly counts = new Map<DropReason | 'accepted', number>();
  /** Recently verified packets by digest (insertion order = age). */
  private readonly recent = new Map<string, RecentCopy>();
  private readonly sentRing: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(OWN_ECHOES);
  private sentNext = 0;

  constructor(o: WireProtocolOptions) {
    this.o = o;
    this.history = new SendHistory(o.historySize ?? DEFAULT_HISTORY_SIZE);
    for (const n of o.nodes) this.addNode(n, false);
    for (const n of o.pingNodes ?? []) this.addNode(n, true);
    const self = this.byName.get(o.localNode) ?? this.addNode(o.localNode, false);
    this.learnUuid(self, o.localUuid);
  }

  /** New authkeys (SIGHUP after authkeys changed): later packets are signed and checked with them. */
  setKeys(keys: AuthKeys): void {
    this.o = { ...this.o, keys };
  }

  /**
   * A reload: keys, message format, TTL, retransmission delay, and the nodes and ping nodes heard from. A new node
   * is tracked from its first packet; a departed one is forgotten with its pending requests.
   */
  reconfigure(
    o: Pick<WireProtocolOptions, 'keys' | 'msgfmt' | 'ttl' | 'maxRexmitDelayMs' | 'nodes' | 'pingNodes'>,
  ): void {
    this.o = { ...this.o, ...o };
    const wanted = new Map<string, boolean>();
    for (const n of o.nodes) wanted.set(n, false);
    for (const n of o.pingNodes ?? []) wanted.set(n, true);
    wanted.set(this.o.localNode, false);
    for (const [name, e] of [...this.byName]) {
      if (wanted.get(name) === e.ping) continue;
      this.resetTracking(e);
      this.byName.delete(name);
      if (e.uuid !== undefined && this.byUuid.get(uuidKey(e.uuid)) === e) this.byUuid.delete(uuidKey(e.uuid));
    }
    for (const [name, ping] of wanted) if (!this.byName.has(name)) this.addNode(name, ping);
  }

  private addNode(name: string, ping: boolean): NodeEntry {
    const e: NodeEntry = {
      name,
      uuid: undefined,
      ping,
      track: {
        generation: 0,
        floor: ping ? undefined : this.o.floors?.get(name),
        lastSeq: undefined,
        missing: new Map(),
        parked: 0,
        ackTrigger: Math.floor(this.o.random() * ACK_DIVISOR) % ACK_DIVISOR,
        ackedSeq: 0,
      },
    };
    this.byName.set(name, e);
    return e;
  }

  private learnUuid(e: NodeEntry, uuid: Uint8Array): void {
    if (e.uuid !== undefined) this.byUuid.delete(uuidKey(e.uuid));
    e.uuid = Uint8Array.from(uuid);
    this.byUuid.set(uuidKey(uuid), e);
  }

  private emit(level: WireEvent['level'], code: WireEventCode, text: string, node?: string): void {
    this.o.onEvent?.(node === undefined ? { level, code, text } : { level, code, text, node });
  }

  private readonly limited = new Map<string, { last: number; suppressed: number }>();

  /** `emit` for events a flood can trigger once per packet; the limiter map is bounded. */
  private emitLimited(level: WireEvent['level'], code: WireEventCode, text: string, node: string): void {
    const key = `${code} ${node}`;
    const now = this.o.scheduler.now();
    const st = this.limited.get(key);
    if (st !== undefined && now - st.last < HOSTILE_EVENT_INTERVAL_MS) {
      st.suppressed++;
      return;
    }
    if (st === undefined && this.limited.size >= 1024) this.limited.clear();
    const suppressed = st?.suppressed ?? 0;
    this.limited.set(key, { last: now, suppressed: 0 });
    this.o.onEvent?.(suppressed > 0 ? { level, code, text, node, suppressed } : { level, code, text, node });
  }

  private count(k: DropReason | 'accepted'): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** Counters by outcome since start (every reason present, zero included). */
  counters(): Record<DropReason | 'accepted', number> {
    const out = { accepted: this.counts.get('accepted') ?? 0 } as Record<DropReason | 'accepted', number>;
    for (const r of DROP_REASONS) out[r] = this.counts.get(r) ?? 0;
    return out;
  }

  /** The uuid learnt for a node (from its packets, or our own). */
  uuidOf(node: string): Uint8Array | undefined {
    return this.byName.get(node)?.uuid;
  }

  /** Highest sequence number a peer acknowledged. */
  ackedBy(node: string): number {
    return this.byName.get(node)?.track.ackedSeq ?? 0;
  }

  /** Missing sequence numbers of a peer, ascending (for status views and tests). */
  missingFrom(node: string): number[] {
    return [...(this.byName.get(node)?.track.missing.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Each peer's newest generation and sequence number, floors from an earlier run included (for persisting). */
  progress(): Map<string, PeerProgress> {
    const out = new Map<string, PeerProgress>();
    for (const e of this.byName.values()) {
      if (e.ping || e.name === this.o.localNode) continue;
      const t = e.track;
      const f = t.floor;
      if (t.generation > 0 && t.lastSeq !== undefined) {
        const seq = f !== undefined && f.generation === t.generation ? Math.max(f.seq, t.lastSeq) : t.lastSeq;
        out.set(e.name, { generation: t.generation, seq });
      } else if (f !== undefined) {
        out.set(e.name, f);
      }
    }
    return out;
  }

  /** False once a peer without flow control (no `protocol` in its status) was heard: no more ACKs. */
  get flowControlEnabled(): boolean {
    return this.flowControl;
  }

  /** Last sequence number sent. */
  get lastSentSeq(): number {
    return this.seq;
  }

  // -------------------------------------------------------------------------------------------
  // Sending

  /**
   * Adds control fields (and the inner auth with msgfmt classic), signs, keeps sequenced messages in
   * the history and transmits. Returns the packet. Throws VigilError on a malformed body (a bug).
   */
  send(body: WireMessage): { packet: Uint8Array; message: WireMessage; seq: number | undefined } {
    const t = getString(body, 't');
    if (t === undefined) throw new VigilError('VIGIL_ERR_MSG_FIELD', 'message to send has no t field');
    const noseq = isNoSeqType(t);
    const dest = getString(body, 'dest');
    const seq = noseq ? undefined : this.seq + 1;
    let m = addControlFields(body, {
      src: this.o.localNode,
      srcuuid: this.o.localUuid,
      seq,
      generation: this.o.generation,
      tsSeconds: Math.floor(this.o.scheduler.wallNow() / 1000),
      loadavg: noseq ? '' : this.o.loadavg(),
      ttl: this.o.ttl,
      destuuid: dest === undefined ? undefined : this.byName.get(dest)?.uuid,
    });
    if (this.o.msgfmt === 'classic') m = addInnerAuth(m, this.o.keys);
    const packet = signNetstring(m, this.o.keys);
    let kept: Uint8Array = packet;
    if (seq !== undefined) {
      this.seq = seq;
      kept = this.history.add(seq, packet);
    }
    this.transmit(kept);
    return { packet, message: m, seq };
  }

  private transmit(packet: Uint8Array): void {
    this.sentRing[this.sentNext] = ownBytes(packet);
    this.sentNext = (this.sentNext + 1) % OWN_ECHOES;
    this.o.transmit(packet);
  }

  private isOwnEcho(bytes: Uint8Array): boolean {
    for (const p of this.sentRing) {
      if (p !== undefined && p.length === bytes.length && Buffer.compare(p, bytes) === 0) return true;
    }
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Receiving

  /** The single entry point for bytes from any medium. Never throws. */
  receive(bytes: Uint8Array): ReceiveResult {
    let r: ReceiveResult;
    try {
      r = this.receiveInner(bytes);
    } catch (e) {
      r = { kind: 'dropped', reason: 'internal', detail: errorMessage(e), from: undefined };
    }
    this.count(r.kind === 'accepted' ? 'accepted' : r.reason);
    return r;
  }

  private drop(reason: DropReason, detail: string, from?: string): Dropped {
    return { kind: 'dropped', reason, detail, from };
  }

  private receiveInner(bytes: Uint8Array): ReceiveResult {
    const max = this.o.codec?.maxBytes ?? MAX_MESSAGE_BYTES;
    if (bytes.length > max) return this.drop('too_big', `${bytes.length} bytes`);
    if (this.isOwnEcho(bytes)) return this.drop('own', 'our own packet', this.o.localNode);
    // Nothing is decoded before the signature checks out: a forged packet costs a scan for its trailer and at
    // most one HMAC, never an inflate or an object graph.
    const s = splitSigned(bytes, this.o.codec);
    if (!s.ok) return this.drop(s.reason, s.detail);
    const parts = s.parts;
    if (parts.auth !== undefined) {
      // The same verified packet over a second medium (or replayed while still fresh) needs no HMAC, and names
      // its sender so that medium's link counts as up. Anything else must verify.
      const copy = this.copyOfRecent(parts.auth.digest, bytes);
      if (copy !== undefined) return this.drop('duplicate', `seq ${copy.seq} again`, copy.node.name);
    }
    const v = verifyPacket(parts, this.o.keys);
    switch (v) {
      case 'ok':
        break;
      case 'unsigned':
        return this.drop('unsigned', 'no authentication');
      case 'unknown_key':
        return this.drop('unknown_key', `key index ${parts.auth?.index ?? '?'} not in authkeys`);
      case 'weak_key':
        return this.drop('weak_key', `signed with crc key ${parts.auth?.index ?? '?'}, which is not the active key`);
      case 'bad_digest':
        return this.drop('auth', 'digest mismatch');
    }
    const d = decodeSigned(bytes, parts, this.o.codec);
    if (!d.ok) return this.drop(d.reason, d.detail);
    const message = d.packet.message;
    const c = readControl(message);
    if (!c.ok) return this.drop('missing_field', c.detail);
    const info = c.info;

    const node = this.lookup(info);
    if (node === undefined) {
      this.emitLimited('error', 'bad_node', `process_status_message: bad node [${info.src}] in message`, info.src);
      return this.drop('unknown_node', info.src);
    }
    const self = node.name === this.o.localNode;
    // Our own packets carry our generation: one of an earlier run of ours is a capture played back at us.
    if (self && info.generation !== undefined && info.generation !== this.o.generation) {
      return this.drop('replay', `our own generation ${info.generation}, not ${this.o.generation}`);
    }

    const t = this.track(node, info);
    if (t.verdict === 'replay') return this.drop('replay', t.detail);
    if (t.verdict === 'duplicate') return this.drop('duplicate', t.detail, node.name);
    if (info.seq !== undefined && !isNoSeqType(info.type) && parts.auth !== undefined) {
      this.remember(node, info.seq, parts.auth.digest, bytes);
    }

    if (!this.forUs(info)) return this.drop('not_for_us', info.dest ?? '', node.name);

    if (this.flowControl && info.type === 'status' && getString(message, 'protocol') === undefined) {
      this.flowControl = false;
      this.emit('info', 'flow_control_off', 'flow control disabled due to different version heartbeat', node.name);
    }
    const handled = this.handleProtocol(node, info, message);
    return {
      kind: 'accepted',
      message,
      type: info.type,
      from: node.name,
      control: info,
      self,
      restart: t.restart,
      late: t.late === true,
      handled,
    };
  }

  private copyOfRecent(digest: string, bytes: Uint8Array): RecentCopy | undefined {
    const r = this.recent.get(digest);
    if (r === undefined || r.bytes.length !== bytes.length || Buffer.compare(r.bytes, bytes) !== 0) return undefined;
    return r;
  }

  private remember(node: NodeEntry, seq: number, digest: string, bytes: Uint8Array): void {
    if (bytes.length > RECENT_MAX_BYTES) return;
    this.recent.delete(digest);
    this.recent.set(digest, { node, seq, bytes: Uint8Array.from(bytes) });
    if (this.recent.size > RECENT_COPIES) {
      const oldest = this.recent.keys().next();
      if (oldest.done !== true) this.recent.delete(oldest.value);
    }
  }

  private forgetRecent(node: NodeEntry): void {
    for (const [k, r] of this.recent) if (r.node === node) this.recent.delete(k);
  }

  /** By uuid first, then by name; a known uuid under a new name renames the node (as Heartbeat does). */
  private lookup(info: ControlInfo): NodeEntry | undefined {
    if (info.srcuuid !== undefined) {
      const byU = this.byUuid.get(uuidKey(info.srcuuid));
      if (byU !== undefined) {
        // Our own uuid under another name is another host claiming to be us: it renames nobody, least of all us.
        if (byU.name === this.o.localNode && info.src !== this.o.localNode) return undefined;
        // A name with control bytes is no host's, and an ACK or NAK addressed to it may have no encoding (classic
        // text reserves 0x13): sending one from inside receive would drop the packet as `internal`.
        if (byU.name !== info.src && !this.byName.has(info.src) && isPlainName(info.src)) {
          this.emit('info', 'node_renamed', `node ${byU.name} renamed to ${info.src}`, info.src);
          this.byName.delete(byU.name);
          byU.name = info.src;
          this.byName.set(info.src, byU);
        }
        if (byU.name === info.src) return byU;
      }
    }
    const byN = this.byName.get(info.src);
    if (byN === undefined) return undefined;
    if (info.srcuuid !== undefined && byN.name !== this.o.localNode) {
      if (byN.uuid === undefined || uuidKey(byN.uuid) !== uuidKey(info.srcuuid)) this.learnUuid(byN, info.srcuuid);
    }
    // Our own name with a foreign uuid is another host claiming to be us: not us.
    if (byN.name === this.o.localNode && info.srcuuid !== undefined && byN.uuid !== undefined) {
      if (uuidKey(byN.uuid) !== uuidKey(info.srcuuid)) return undefined;
    }
    return byN;
  }

  private forUs(info: ControlInfo): boolean {
    if (info.destuuid !== undefined) return uuidKey(info.destuuid) === uuidKey(this.o.localUuid);
    return info.dest === undefined || info.dest === this.o.localNode;
  }

  // -------------------------------------------------------------------------------------------
  // Sequence and generation tracking (should_drop_message)

  private track(
    node: NodeEntry,
    info: ControlInfo,
  ): { verdict: 'keep' | 'duplicate' | 'replay'; detail: string; restart: boolean; late?: boolean } {
    const t = node.track;
    const gen = info.generation;
    // Heartbeat skips NS_ types entirely; Vigil also refuses an NS_ packet from an older generation,
    // which a live peer never sends (its NS_ packets carry its current hg) but a replay does.
    const curgen = Math.max(t.generation, t.floor?.generation ?? 0);
    if (gen !== undefined && gen < curgen) {
      this.emitLimited(
        'error',
        'replay',
        `should_drop_message: attempted replay attack [${node.name}]? [gen = ${gen}, curgen = ${curgen}]`,
        node.name,
      );
      return { verdict: 'replay', detail: `gen ${gen} < ${curgen}`, restart: false };
    }
    const floor = t.floor;
    if (floor !== undefined && gen === floor.generation && info.seq !== undefined && !isNoSeqType(info.type)) {
      if (info.seq <= floor.seq) {
        this.emitLimited(
          'error',
          'replay',
          `should_drop_message: attempted replay attack [${node.name}]? [gen = ${gen}, seq = ${info.seq}, seen up to seq ${floor.seq} before our restart]`,
          node.name,
        );
        return { verdict: 'replay', detail: `seq ${info.seq} <= ${floor.seq} of gen ${gen}`, restart: false };
      }
    }
    if (isNoSeqType(info.type) || info.seq === undefined) return { verdict: 'keep', detail: '', restart: false };
    const seq = info.seq;
    // Heard again (a one-way loss or a partition is over, and it never restarted): what it sent meanwhile may still
    // be in its history. Heartbeat stops asking a node it thinks dead and never asks again; then a lost `resource`
    // leaves a wrong picture of what that node holds for as long as it lives.
    if (t.parked > 0 && (gen === undefined || gen === t.generation)) this.unpark(node);

    let restart = false;
    if (gen !== undefined && gen > t.generation) {
      if (t.generation > 0) {
        this.emit('info', 'restart', `Heartbeat restart on node ${node.name}`, node.name);
        restart = true;
      }
      this.resetTracking(node);
      t.generation = gen;
      if (floor !== undefined && gen > floor.generation) t.floor = undefined;
      this.o.onGeneration?.(node.name, gen);
    }

    if (t.lastSeq === undefined || seq === t.lastSeq + 1) {
      t.lastSeq = seq;
      this.maybeAck(node, seq);
      return { verdict: 'keep', detail: '', restart };
    }
    if (seq === t.lastSeq) return { verdict: 'duplicate', detail: `seq ${seq} again`, restart };
    if (seq > t.lastSeq) {
      const last = t.lastSeq;
      const nlost = seq - (last + 1);
      this.emit('warn', 'lost_packets', `${nlost} lost packet(s) for [${node.name}] [${last}:${seq}]`, node.name);
      if (nlost > MAX_SEQ_GAP) {
        this.resetTracking(node);
        t.lastSeq = seq;
        this.emit('error', 'lost_a_lot', 'lost a lot of packets!', node.name);
        return { verdict: 'keep', detail: '', restart };
      }
      for (let k = last + 1; k < seq; k++) this.addMissing(node, k);
      t.lastSeq = seq;
      return { verdict: 'keep', detail: '', restart };
    }
    if (t.missing.has(seq)) {
      this.clearMissing(node, seq);
      if (t.missing.size === 0) this.emit('info', 'no_pkts_missing', `No pkts missing from ${node.name}!`, node.name);
      this.maybeAck(node, seq);
      return { verdict: 'keep', detail: '', restart, late: true };
    }
    return { verdict: 'duplicate', detail: `old seq ${seq} (last ${t.lastSeq})`, restart };
  }

  private unpark(node: NodeEntry): void {
    const t = node.track;
    t.parked = 0;
    for (const [seq, h] of t.missing) {
      if (h !== undefined) continue;
      t.missing.set(seq, this.scheduleRexmit(node, seq, firstRexmitDelay(this.o.maxRexmitDelayMs, this.o.random())));
    }
  }

  private resetTracking(node: NodeEntry): void {
    this.forgetRecent(node);
    const t = node.track;
    t.parked = 0;
    for (const h of t.missing.values()) if (h !== undefined) this.o.scheduler.clearTimeout(h);
    t.missing.clear();
    t.lastSeq = undefined;
  }

  /** Heartbeat ACKs when `seq % 10` hits the peer's random trigger and nothing is missing. */
  private maybeAck(node: NodeEntry, seq: number): void {
    if (!this.flowControl || node.ping || node.track.missing.size > 0) return;
    if (seq % ACK_DIVISOR !== node.track.ackTrigger) return;
    this.send(ackBody(node.name, seq));
  }

  private addMissing(node: NodeEntry, seq: number): void {
    const m = node.track.missing;
    if (m.has(seq)) return;
    if (m.size >= MAX_MISSING) {
      this.emit('debug', 'missing_limit', `At max ${MAX_MISSING} pkts missing from ${node.name}`, node.name);
      let lowest = Infinity;
      for (const k of m.keys()) lowest = Math.min(lowest, k);
      this.clearMissing(node, lowest);
    }
    m.set(seq, this.scheduleRexmit(node, seq, firstRexmitDelay(this.o.maxRexmitDelayMs, this.o.random())));
  }

  private clearMissing(node: NodeEntry, seq: number): void {
    const t = node.track;
    if (!t.missing.has(seq)) return;
    const h = t.missing.get(seq);
    if (h !== undefined) this.o.scheduler.clearTimeout(h);
    else t.parked = Math.max(0, t.parked - 1);
    t.missing.delete(seq);
  }

  /** hb_rexmit.c: request after `delay`, then every max_rexmit_delay while the peer is up. */
  private scheduleRexmit(node: NodeEntry, seq: number, delay: number): TimerHandle {
    return this.o.scheduler.setTimeout(() => {
      const m = node.track.missing;
      if (!m.has(seq)) return;
      if (!(this.o.isNodeUp?.(node.name) ?? true)) {
        // No point asking a dead node; the gap stays recorded: asked again once the node is heard (unpark), or
        // forgotten when it restarts.
        m.set(seq, undefined);
        node.track.parked++;
        return;
      }
      this.emit('debug', 'rexmit_request', `Requesting rexmit of pkt ${seq} from ${node.name}`, node.name);
      this.send(rexmitBody(node.name, seq, seq));
      if (m.has(seq)) m.set(seq, this.scheduleRexmit(node, seq, this.o.maxRexmitDelayMs));
    }, delay);
  }

  // -------------------------------------------------------------------------------------------
  // NS_rexmit, NS_nak_rexmit, NS_ackmsg

  private handleProtocol(node: NodeEntry, info: ControlInfo, m: WireMessage): boolean {
    switch (info.type) {
      case 'NS_rexmit':
        this.serveRexmit(node, m);
        return true;
      case 'NS_nak_rexmit': {
        const seq = parseHex(getString(m, 'firstseq'));
        if (seq === undefined) return true;
        this.emit('error', 'irretrievably_lost', `Irretrievably lost packet: node ${node.name} seq ${seq}`, node.name);
        if (node.track.missing.has(seq)) {
          this.clearMissing(node, seq);
          if (node.track.missing.size === 0) {
            this.emit('info', 'no_pkts_missing', `No pkts missing from ${node.name}!`, node.name);
          }
        }
        return true;
      }
      case 'NS_ackmsg': {
        const seq = parseHex(getString(m, 'ackseq'));
        if (seq !== undefined && seq <= this.seq && seq > node.track.ackedSeq) node.track.ackedSeq = seq;
        return true;
      }
      default:
        return false;
    }
  }

  private serveRexmit(node: NodeEntry, m: WireMessage): void {
    const first = decimal(getString(m, 'firstseq'));
    const last = decimal(getString(m, 'lastseq'));
    if (first === undefined || last === undefined || first <= 0 || last <= 0 || first > last) {
      this.emit('error', 'rexmit_invalid', 'Invalid rexmit seqnos', node.name);
      return;
    }
    const now = this.o.scheduler.now();
    const quiet = this.o.maxRexmitDelayMs - 10;
    let served = 0;
    let naks = 0;
    // A request may name any range; the work per request is bounded either way.
    const end = Math.min(last, first + DEFAULT_HISTORY_SIZE + MAX_REXMIT_BATCH);
    for (let s = first; s <= end; s++) {
      if (s > this.seq) {
        // Heartbeat warns and sends no NAK for a seqno it never sent.
        if (naks >= MAX_REXMIT_BATCH) continue;
        naks++;
        this.emit('warn', 'rexmit_beyond', `Rexmit of seq ${s} requested. ${this.seq} is max.`, node.name);
        continue;
      }
      const h = this.history.lookup(s);
      if (!h.found) {
        if (naks >= MAX_REXMIT_BATCH) continue;
        naks++;
        const reason: NakReason = h.tooLow ? 'seqno too low' : 'seqno not found';
        this.emit('error', 'rexmit_nak', `Cannot rexmit pkt ${s} for ${node.name}: ${reason}`, node.name);
        this.send(nakBody(node.name, s, reason));
        continue;
      }
      // Several nodes (or media) asking for the same packet at once get one retransmission.
      if (now - h.lastRexmit < quiet) continue;
      if (served >= MAX_REXMIT_BATCH) {
        this.emit('warn', 'rexmit_too_many', `Too many packets requested for rexmit by ${node.name}`, node.name);
        return;
      }
      served++;
      this.history.markRexmit(s, now);
      this.emit('debug', 'rexmit_served', `Retransmitting pkt ${s}`, node.name);
      this.transmit(h.bytes);
    }
  }

  /** Cancel every timer (shutdown). What each peer sent stays known (`progress()`, persisted after this). */
  stop(): void {
    for (const e of this.byName.values()) {
      for (const h of e.track.missing.values()) if (h !== undefined) this.o.scheduler.clearTimeout(h);
      e.track.missing.clear();
      e.track.parked = 0;
    }
  }
}

/**
 * hb_rexmit.c: uniform in [50, max) when max_rexmit_delay is 100 ms or more, else in [0, max),
 * so peers missing the same packet do not all ask at once.
 */
export function firstRexmitDelay(maxRexmitDelayMs: number, random01: number): number {
  const base = maxRexmitDelayMs > 99 ? MIN_REXMIT_DELAY_MS : 0;
  return base + Math.floor(random01 * (maxRexmitDelayMs - base));
}

/** No control bytes (C0, DEL): what a node name from uname or ha.cf can hold. */
function isPlainName(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return s.length > 0;
}

function decimal(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,15}$/.test(s)) return undefined;
  return Number(s);
}
