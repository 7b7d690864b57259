/**
 * Unsolicited Neighbour Advertisements (RFC 4861 §7.2.6), IPv6's gratuitous ARP: after a takeover, every host on the
 * link that has the VIP in its neighbour cache learns the new holder's MAC from one multicast frame, instead of
 * sending to the old MAC until its entry goes stale and is probed again (5 s and more on Linux).
 *
 * Each frame: to all-nodes (ff02::1, 33:33:00:00:00:01), from the VIP itself (as the kernel's own unsolicited NA
 * does), hop limit 255 (receivers drop neighbour discovery that crossed a router), Override set (replace the cached
 * MAC, RFC 4861 §7.2.5: without it a receiver only marks a differing entry STALE and keeps using the old MAC),
 * Solicited clear, Router set only when this host forwards IPv6 on the device (a VIP used as a default gateway must
 * stay in its clients' router lists, as keepalived does it), and a Target Link-Layer Address option with our MAC.
 *
 * Built whole and written on an AF_PACKET socket, like the gratuitous ARP: it does not depend on the state of the
 * address (a raw ICMPv6 socket could not use it as source while tentative), and on a VLAN device the kernel adds the
 * tag. The checksum is ours to compute then.
 */
import { readFile } from 'node:fs/promises';
import { internetChecksum } from './icmp-pinger.js';
import { ETH_P_IPV6, validateIfName } from './libc.js';
import { ethernetInterface, sendRounds } from './link-frames.js';
import { VigilError } from '../util/errors.js';
import { isMulticastIPv6, parseIPv6 } from '../util/inet.js';

export const ALL_NODES_MAC = Uint8Array.from([0x33, 0x33, 0x00, 0x00, 0x00, 0x01]);
const ALL_NODES = Uint8Array.from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01]);
const IPPROTO_ICMPV6 = 58;
const ND_NEIGHBOR_ADVERT = 136;
const ND_OPT_TARGET_LINKADDR = 2;
const NA_FLAG_ROUTER = 0x80;
const NA_FLAG_OVERRIDE = 0x20;
/** ICMPv6 NA (24) + a Target Link-Layer Address option for Ethernet (8). */
const NA_BYTES = 32;
/** Ethernet (14) + IPv6 (40) + the NA. */
export const NA_FRAME_BYTES = 14 + 40 + NA_BYTES;
const MAX_COUNT = 1000;

export interface NaOptions {
  readonly device: string;
  /** The IPv6 address to announce (the VIP), any textual form. */
  readonly address: string;
  /** Advertisements to send; default 5. */
  readonly count?: number;
  /** Between advertisements, ms; default 200. */
  readonly intervalMs?: number;
  /** Set the Router flag; default: whether the host forwards IPv6 on the device. */
  readonly router?: boolean;
  readonly signal?: AbortSignal;
}

/** One unsolicited Neighbour Advertisement for `address` from `mac`, as an Ethernet frame. */
export function buildUnsolicitedNa(mac: Uint8Array, address: string, router = false): Uint8Array {
  if (mac.length !== 6) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `MAC must be 6 bytes, got ${mac.length}`);
  const target = parseIPv6(address);
  if (target === undefined || isMulticastIPv6(address)) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not a unicast IPv6 address: ${address}`);
  }
  const f = Buffer.alloc(NA_FRAME_BYTES);
  Buffer.from(ALL_NODES_MAC).copy(f, 0);
  Buffer.from(mac).copy(f, 6);
  f.writeUInt16BE(ETH_P_IPV6, 12);
  // IPv6 header: version 6, traffic class 0, flow label 0.
  f.writeUInt32BE(0x60000000, 14);
  f.writeUInt16BE(NA_BYTES, 18);
  f.writeUInt8(IPPROTO_ICMPV6, 20);
  f.writeUInt8(255, 21);
  Buffer.from(target).copy(f, 22);
  Buffer.from(ALL_NODES).copy(f, 38);
  const icmp = 54;
  f.writeUInt8(ND_NEIGHBOR_ADVERT, icmp);
  f.writeUInt8(0, icmp + 1);
  f.writeUInt8(NA_FLAG_OVERRIDE | (router ? NA_FLAG_ROUTER : 0), icmp + 4);
  Buffer.from(target).copy(f, icmp + 8);
  f.writeUInt8(ND_OPT_TARGET_LINKADDR, icmp + 24);
  f.writeUInt8(1, icmp + 25); // length in units of 8 bytes
  Buffer.from(mac).copy(f, icmp + 26);
  // Checksum over the pseudo-header (source, destination, upper-layer length, next header) and the message.
  const pseudo = Buffer.alloc(40 + NA_BYTES);
  Buffer.from(target).copy(pseudo, 0);
  Buffer.from(ALL_NODES).copy(pseudo, 16);
  pseudo.writeUInt32BE(NA_BYTES, 32);
  pseudo.writeUInt8(IPPROTO_ICMPV6, 39);
  f.copy(pseudo, 40, icmp, icmp + NA_BYTES);
  f.writeUInt16BE(internetChecksum(pseudo), icmp + 2);
  return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
}

/** Whether the host forwards IPv6 on `device` (then it is a router to its neighbours); false when unknown. */
export async function forwardsIPv6(device: string): Promise<boolean> {
  validateIfName(device);
  try {
    return (await readFile(`/proc/sys/net/ipv6/conf/${device}/forwarding`, 'utf8')).trim() === '1';
  } catch {
    return false;
  }
}

/**
 * Sends a burst of unsolicited Neighbour Advertisements for `opts.address` out of `opts.device`; resolves with how
 * many went out (fewer when aborted). Rejects with VIGIL_ERR_NO_DEVICE, VIGIL_ERR_ARP_SEND, or VIGIL_ERR_SOCKET /
 * VIGIL_ERR_FFI when no packet socket can be had (no CAP_NET_RAW, no koffi): there is no command-line fallback for
 * IPv6 here (iputils has no unsolicited NA), and the neighbours then learn the move by their own probing.
 */
export async function sendUnsolicitedNa(opts: NaOptions): Promise<number> {
  validateIfName(opts.device);
  const count = opts.count ?? 5;
  const intervalMs = opts.intervalMs ?? 200;
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new VigilError(
      'VIGIL_ERR_ADDR_INVALID',
      `neighbour advertisement count must be 1..${MAX_COUNT}, got ${count}`,
    );
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 0 || intervalMs > 60_000) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `neighbour advertisement interval must be 0..60000 ms`);
  }
  const { ifindex, mac } = ethernetInterface(opts.device, 'neighbour advertisement');
  const frame = buildUnsolicitedNa(mac, opts.address, opts.router ?? (await forwardsIPv6(opts.device)));
  return sendRounds(
    ifindex,
    [{ frame, protocol: ETH_P_IPV6, destination: ALL_NODES_MAC }],
    count,
    intervalMs,
    opts.signal,
  );
}
