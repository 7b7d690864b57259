/**
 * Gratuitous ARP, sent by Vigil itself through an AF_PACKET socket (koffi), like Debian's send_arp: each round is a
 * pair of broadcast frames, an ARP request (target MAC 00:00:00:00:00:00) and an ARP reply (target MAC = our MAC),
 * both with sender IP = target IP = the VIP. Clients and switches take either. iputils `arping -U` is the fallback
 * when the packet socket cannot be used (no CAP_NET_RAW, no koffi). An IPv6 address is announced the IPv6 way, with
 * unsolicited Neighbour Advertisements (ndisc.ts), one per round: `announceAddress` picks by family.
 */
import { ETH_P_ARP, parseIPv4, SyscallError, validateIfName } from './libc.js';
import { sendUnsolicitedNa } from './ndisc.js';
import { runFailure, runProgram } from './spawn.js';
import { ethernetInterface, sendRounds } from './link-frames.js';
import { VigilError, errorMessage } from '../util/errors.js';
import { addressFamily } from '../util/inet.js';

export const BROADCAST_MAC = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const ETH_P_IP = 0x0800;
const ARPOP_REQUEST = 1;
const ARPOP_REPLY = 2;
/** Ethernet header (14) + ARP for IPv4 over Ethernet (28); the NIC pads to the 60-byte minimum. */
export const GARP_FRAME_BYTES = 42;
const MAX_COUNT = 1000;

export interface GarpOptions {
  readonly device: string;
  /** The address to announce (the VIP). */
  readonly address: string;
  /** Request/reply pairs to send; default 5 (IPaddr2's arp_count). Heartbeat's IPaddr sends 10 at 500 ms. */
  readonly count?: number;
  /** Between pairs, ms; default 200 (IPaddr2's arp_interval). */
  readonly intervalMs?: number;
  /** `auto` (default): AF_PACKET, arping if that fails. `packet` or `arping` forces one. */
  readonly method?: 'auto' | 'packet' | 'arping';
  readonly arpingPath?: string;
  /** Stops the burst early (e.g. the VIP is being released). */
  readonly signal?: AbortSignal;
}

export interface GarpResult {
  /** `ndisc`: unsolicited Neighbour Advertisements (IPv6), over the packet socket. */
  readonly method: 'packet' | 'arping' | 'ndisc';
  /** Pairs sent in full (for arping: the count it was asked for, when it exited 0). */
  readonly pairsSent: number;
  /** Why the packet path was abandoned, when the fallback ran. */
  readonly fallbackReason?: string;
}

/** Something that announces addresses; the daemon gets the real one, tests of the layers above a fake. */
export interface ArpAnnouncer {
  announce(opts: GarpOptions): Promise<GarpResult>;
}

export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  if (m === null) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not a MAC address: ${text}`);
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}

export function formatMac(mac: Uint8Array): string {
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The two frames of one gratuitous ARP round for `ip` from `mac`. */
export function buildGarpFrames(mac: Uint8Array, ip: string): { request: Uint8Array; reply: Uint8Array } {
  if (mac.length !== 6) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `MAC must be 6 bytes, got ${mac.length}`);
  const ipb = parseIPv4(ip);
  if (ipb === undefined) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv4 address: ${ip}`);
  const frame = (op: number, targetMac: Uint8Array): Uint8Array => {
    const f = Buffer.alloc(GARP_FRAME_BYTES);
    Buffer.from(BROADCAST_MAC).copy(f, 0);
    Buffer.from(mac).copy(f, 6);
    f.writeUInt16BE(ETH_P_ARP, 12);
    f.writeUInt16BE(1, 14); // hardware type: Ethernet
    f.writeUInt16BE(ETH_P_IP, 16);
    f.writeUInt8(6, 18);
    f.writeUInt8(4, 19);
    f.writeUInt16BE(op, 20);
    Buffer.from(mac).copy(f, 22);
    ipb.copy(f, 28);
    Buffer.from(targetMac).copy(f, 32);
    ipb.copy(f, 38);
    return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  };
  return { request: frame(ARPOP_REQUEST, new Uint8Array(6)), reply: frame(ARPOP_REPLY, mac) };
}

function validate(opts: GarpOptions): { count: number; intervalMs: number } {
  validateIfName(opts.device);
  if (parseIPv4(opts.address) === undefined) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv4 address: ${opts.address}`);
  }
  const count = opts.count ?? 5;
  const intervalMs = opts.intervalMs ?? 200;
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `gratuitous ARP count must be 1..${MAX_COUNT}, got ${count}`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 0 || intervalMs > 60_000) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `gratuitous ARP interval must be 0..60000 ms, got ${intervalMs}`);
  }
  return { count, intervalMs };
}

function sendViaPacket(opts: GarpOptions, count: number, intervalMs: number): Promise<number> {
  const { ifindex, mac } = ethernetInterface(opts.device, 'gratuitous ARP');
  const { request, reply } = buildGarpFrames(mac, opts.address);
  return sendRounds(
    ifindex,
    [request, reply].map((frame) => ({ frame, protocol: ETH_P_ARP, destination: BROADCAST_MAC })),
    count,
    intervalMs,
    opts.signal,
  );
}

async function sendViaArping(opts: GarpOptions, count: number, intervalMs: number): Promise<number> {
  const path = opts.arpingPath ?? 'arping';
  // iputils arping takes whole seconds between probes: the fallback is slower than the packet path (at least 1 s).
  const seconds = Math.max(1, Math.round(intervalMs / 1000));
  const args = ['-U', '-c', String(count), '-i', String(seconds), '-I', opts.device, opts.address];
  const r = await runProgram(path, args, {
    timeoutMs: count * seconds * 1000 + 10_000,
    killGraceMs: 500,
    maxOutputBytes: 16 * 1024,
    env: { ...process.env, LC_ALL: 'C' },
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  if (r.aborted) return 0; // stopped on purpose; how many went out is unknown
  const failure = runFailure(r);
  if (failure === '') return count;
  throw new VigilError('VIGIL_ERR_ARP_SEND', `${path} ${args.join(' ')}: ${r.stderr.trim() || failure}`);
}

/**
 * True when the failure is about the packet socket itself (no koffi, no CAP_NET_RAW, no AF_PACKET), where arping
 * may still work; false for a missing or down interface, where arping would fail the same way and only hide the
 * real reason.
 */
function packetPathUnusable(e: unknown): boolean {
  if (!(e instanceof VigilError)) return true;
  if (e.code === 'VIGIL_ERR_FFI' || e.code === 'VIGIL_ERR_SOCKET') return true;
  return e instanceof SyscallError && (e.errnoName === 'EPERM' || e.errnoName === 'EACCES');
}

/**
 * Sends a burst of gratuitous ARP for `opts.address` out of `opts.device`.
 * Rejects with VIGIL_ERR_ARP_SEND (or VIGIL_ERR_NO_DEVICE) when neither method works.
 */
export async function sendGratuitousArp(opts: GarpOptions): Promise<GarpResult> {
  const { count, intervalMs } = validate(opts);
  const method = opts.method ?? 'auto';
  let reason: string | undefined;
  if (method !== 'arping') {
    try {
      return { method: 'packet', pairsSent: await sendViaPacket(opts, count, intervalMs) };
    } catch (e) {
      if (method === 'packet' || !packetPathUnusable(e)) throw e;
      reason = errorMessage(e);
    }
  }
  const pairsSent = await sendViaArping(opts, count, intervalMs);
  return reason === undefined
    ? { method: 'arping', pairsSent }
    : { method: 'arping', pairsSent, fallbackReason: reason };
}

/**
 * Announces an address on its link, whichever family: gratuitous ARP for IPv4, unsolicited Neighbour Advertisements
 * (Override set) for IPv6, with the same count and spacing. The `arping` method is IPv4-only.
 */
export async function announceAddress(opts: GarpOptions): Promise<GarpResult> {
  if (addressFamily(opts.address) !== 6) return sendGratuitousArp(opts);
  const sent = await sendUnsolicitedNa({
    device: opts.device,
    address: opts.address,
    ...(opts.count === undefined ? {} : { count: opts.count }),
    ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  return { method: 'ndisc', pairsSent: sent };
}

export const realArpAnnouncer: ArpAnnouncer = { announce: announceAddress };
