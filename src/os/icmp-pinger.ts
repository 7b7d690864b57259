/**
 * Probes the ping nodes (ha.cf `ping`, `ping_group`) from the daemon itself, as Heartbeat's ping plugin does: one raw
 * ICMP socket, an echo request to every address each interval, replies read without blocking. No child process, and
 * no wake-up of its own: the daemon calls tick() right after each heartbeat (an idle daemon's CPU is mostly
 * wake-ups). tick() reads the replies queued since the last one, so a reply counts at most one keepalive late,
 * against a deadping of seconds.
 *
 * The kernel queues only our replies: ICMP_FILTER passes echo replies alone, and a socket filter keeps those carrying
 * our identifier, so other pings on the host (an admin's, a monitoring flood) can neither fill our queue between two
 * ticks nor pass for a reply of the ping node.
 *
 * IPv6 ping nodes (`ping6`) get a raw ICMPv6 socket of their own, filtered the same way (ICMP6_FILTER, identifier):
 * ICMPv6 sockets deliver no IP header, so the source comes from recvfrom, and the kernel fills the checksum.
 */
import { errorMessage } from '../util/errors.js';
import {
  attachSocketFilter,
  closeFd,
  ICMP_FILTER,
  ICMP6_FILTER,
  IPPROTO_ICMPV6,
  openRawIPv4Socket,
  openRawIPv6Socket,
  recvFromNow,
  recvNow,
  sendToIPv4,
  sendToIPv6,
  setIntOption,
  setsockoptBuffer,
  SOL_RAW,
  formatIPv4,
} from './libc.js';
import { addressFamily } from '../util/inet.js';

export const IPPROTO_ICMP = 1;
const ICMP_ECHOREPLY = 0;
const ICMP_ECHO = 8;
const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;
/** Replies read per tick at most: a bound on the work of one wake-up (the filter lets only ours through). */
const MAX_REPLIES_PER_TICK = 256;
/** An IPv4 header (at most 60 bytes) and our 16-byte echo; anything longer is not ours and is cut. */
const RECV_BYTES = 128;

/** An echo request of either family: type, code 0, checksum, identifier, sequence, then a timestamp (8 bytes). */
function echo(type: number, id: number, seq: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(type, 0);
  b.writeUInt16BE(id & 0xffff, 4);
  b.writeUInt16BE(seq & 0xffff, 6);
  b.writeDoubleBE(Date.now(), 8);
  return b;
}

/** An ICMP echo request (type 8), with its checksum. */
export function echoRequest(id: number, seq: number): Buffer {
  const b = echo(ICMP_ECHO, id, seq);
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

/** An ICMPv6 echo request (type 128), checksum left 0 for the kernel to fill (it covers a pseudo-header). */
export function echo6Request(id: number, seq: number): Buffer {
  return echo(ICMP6_ECHO_REQUEST, id, seq);
}

/** Whether an ICMPv6 message (as a raw ICMPv6 socket delivers it, no IP header) is an echo reply with `id`. */
export function isEcho6Reply(message: Buffer, id: number): boolean {
  return message.length >= 8 && message.readUInt8(0) === ICMP6_ECHO_REPLY && message.readUInt16BE(4) === (id & 0xffff);
}

/** ICMP6_FILTER (struct icmp6_filter, 256 bits, a set bit blocks that type): everything but echo replies. */
export function echo6ReplyOnlyFilter(): Buffer {
  const f = Buffer.alloc(32, 0xff);
  const word = ICMP6_ECHO_REPLY >> 5;
  f.writeUInt32LE((f.readUInt32LE(word * 4) & ~(1 << (ICMP6_ECHO_REPLY & 31))) >>> 0, word * 4);
  return f;
}

/** RFC 1071 checksum (the checksum field zero). */
export function internetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  if (b.length % 2 === 1) sum += (b[b.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The source address of an IPv4 packet holding an ICMP echo reply with identifier `id`; undefined otherwise. */
export function parseEchoReply(packet: Buffer, id: number): string | undefined {
  if (packet.length < 20 || packet.readUInt8(0) >> 4 !== 4) return undefined;
  const ihl = (packet.readUInt8(0) & 0x0f) * 4;
  if (ihl < 20 || packet.length < ihl + 8 || packet.readUInt8(9) !== IPPROTO_ICMP) return undefined;
  if (packet.readUInt8(ihl) !== ICMP_ECHOREPLY) return undefined;
  if (packet.readUInt16BE(ihl + 4) !== (id & 0xffff)) return undefined;
  return formatIPv4(packet, 12);
}

/**
 * Classic BPF for a raw ICMP socket (which sees the IP header at offset 0): accept an ICMP message whose identifier
 * is `id`, drop the rest. As iputils ping filters; together with ICMP_FILTER only our echo replies remain.
 */
export function identifierFilter(id: number, family: 4 | 6 = 4): Buffer {
  const ins: [number, number, number, number][] =
    family === 4
      ? [
          [0xb1, 0, 0, 0], // ldxb 4*([0]&0xf): X = IP header length
          [0x48, 0, 0, 4], // ldh [x+4]: the ICMP identifier
          [0x15, 0, 1, id & 0xffff], // jeq #id
          [0x06, 0, 0, 0xffff], // ret: accept
          [0x06, 0, 0, 0], // ret: drop
        ]
      : [
          // A raw ICMPv6 socket's filter sees the ICMPv6 message at offset 0 (as iputils ping's does).
          [0x28, 0, 0, 4], // ldh [4]: the identifier
          [0x15, 0, 1, id & 0xffff], // jeq #id
          [0x06, 0, 0, 0xffff], // ret: accept
          [0x06, 0, 0, 0], // ret: drop
        ];
  const b = Buffer.alloc(ins.length * 8);
  ins.forEach(([code, jt, jf, k], i) => {
    b.writeUInt16LE(code, i * 8);
    b.writeUInt8(jt, i * 8 + 2);
    b.writeUInt8(jf, i * 8 + 3);
    b.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return b;
}

export interface IcmpPingerOptions {
  readonly addresses: readonly string[];
  /** How often each address is probed; ticks closer together than half of it send nothing. */
  readonly intervalMs: number;
  readonly onReply: (address: string) => void;
  /** A failure worth a log line; the same text is reported once until something succeeds. */
  readonly onError: (text: string) => void;
  /** ICMP identifier (default: the low 16 bits of the PID, as ping uses). */
  readonly id?: number;
  readonly now?: () => number;
}

export interface IcmpPingerStats {
  /** Echo requests sent (one per address per round). */
  sent: number;
  /** Datagrams the kernel queued for us: with the filters working, only replies to our own probes. */
  read: number;
  /** Replies from a ping node's address, with our identifier. */
  replies: number;
}

export class IcmpPinger {
  readonly stats: IcmpPingerStats = { sent: 0, read: 0, replies: 0 };
  private fd: number | undefined;
  private fd6: number | undefined;
  private seq = 0;
  private lastSentAt = -Infinity;
  private readonly id: number;
  private readonly targets: ReadonlySet<string>;
  private readonly targets6: ReadonlySet<string>;
  private readonly buf = Buffer.alloc(RECV_BYTES);
  private lastError = '';

  /** `addresses`: IPv4 dotted quads and canonical IPv6 text (what replies are matched against). */
  constructor(private readonly o: IcmpPingerOptions) {
    this.id = (o.id ?? process.pid) & 0xffff;
    this.targets = new Set(o.addresses.filter((a) => addressFamily(a) !== 6));
    this.targets6 = new Set(o.addresses.filter((a) => addressFamily(a) === 6));
  }

  /** Opens and filters the socket(s) the addresses need. Throws a VigilError when it cannot (no CAP_NET_RAW, no koffi). */
  open(): void {
    if (this.fd === undefined && this.targets.size > 0) {
      const fd = openRawIPv4Socket(IPPROTO_ICMP);
      try {
        setIntOption(fd, SOL_RAW, ICMP_FILTER, ~(1 << ICMP_ECHOREPLY), 'ICMP_FILTER');
        attachSocketFilter(fd, identifierFilter(this.id), 'ICMP identifier');
      } catch (e) {
        closeFd(fd);
        throw e;
      }
      this.fd = fd;
    }
    if (this.fd6 === undefined && this.targets6.size > 0) {
      let fd6: number;
      try {
        fd6 = openRawIPv6Socket(IPPROTO_ICMPV6);
      } catch (e) {
        this.close();
        throw e;
      }
      try {
        setsockoptBuffer(fd6, IPPROTO_ICMPV6, ICMP6_FILTER, echo6ReplyOnlyFilter(), 'ICMP6_FILTER');
        attachSocketFilter(fd6, identifierFilter(this.id, 6), 'ICMPv6 identifier');
      } catch (e) {
        closeFd(fd6);
        this.close();
        throw e;
      }
      this.fd6 = fd6;
    }
  }

  /** Reads the replies queued since the last tick, then sends the next round when one is due. */
  tick(): void {
    if (this.fd === undefined && this.fd6 === undefined) return;
    if (this.fd !== undefined) this.drain(this.fd, 4);
    if (this.fd6 !== undefined) this.drain(this.fd6, 6);
    const now = this.o.now?.() ?? performance.now();
    // Half an interval of slack: ticks come once per keepalive, with jitter, and must not skip every other round.
    if (now - this.lastSentAt < this.o.intervalMs / 2) return;
    this.lastSentAt = now;
    const seq = this.seq++;
    if (this.fd !== undefined) {
      const packet = echoRequest(this.id, seq);
      for (const address of this.targets) this.send(() => sendToIPv4(this.fd ?? -1, packet, address), address);
    }
    if (this.fd6 !== undefined) {
      const packet = echo6Request(this.id, seq);
      for (const address of this.targets6) this.send(() => sendToIPv6(this.fd6 ?? -1, packet, address), address);
    }
  }

  private send(fn: () => void, address: string): void {
    try {
      fn();
      this.stats.sent++;
    } catch (e) {
      // No route, or the neighbour unresolved: the missing replies make the ping node dead in time.
      this.report(`ping ${address}: ${errorMessage(e)}`);
    }
  }

  private drain(fd: number, family: 4 | 6): void {
    for (let i = 0; i < MAX_REPLIES_PER_TICK; i++) {
      let from: string | undefined;
      try {
        if (family === 4) {
          const n = recvNow(fd, this.buf);
          if (n === undefined) return;
          from = parseEchoReply(this.buf.subarray(0, n), this.id);
        } else {
          const r = recvFromNow(fd, this.buf);
          if (r === undefined) return;
          from = isEcho6Reply(this.buf.subarray(0, r.length), this.id) ? r.address : undefined;
        }
      } catch (e) {
        this.report(`reading ping replies: ${errorMessage(e)}`);
        return;
      }
      this.stats.read++;
      if (from !== undefined && (family === 4 ? this.targets : this.targets6).has(from)) {
        this.stats.replies++;
        this.lastError = '';
        this.o.onReply(from);
      }
    }
  }

  private report(text: string): void {
    if (text === this.lastError) return;
    this.lastError = text;
    this.o.onError(text);
  }

  close(): void {
    if (this.fd !== undefined) closeFd(this.fd);
    if (this.fd6 !== undefined) closeFd(this.fd6);
    this.fd = undefined;
    this.fd6 = undefined;
  }
}
