/**
 * IPv4 and IPv6 addresses over rtnetlink, for the operations the daemon repeats (listing, pushing a VIP lease forward):
 * one socket and two syscalls instead of spawning `ip`, which on a loaded host costs tens of ms of event-loop
 * time per spawn (measured: up to 100 ms with 13 runnable tasks on 2 cores). Messages are built and parsed here;
 * the syscalls are in libc.ts. Works in the process's own network namespace only.
 */
import {
  interfaceName,
  netlinkRecvAsync as netlinkRecv,
  netlinkSendAsync as netlinkSend,
  netlinkRecv as netlinkRecvNow,
  openRtnetlinkSocket,
  closeFd,
  formatIPv4,
  parseIPv4,
} from './libc.js';
import { VigilError } from '../util/errors.js';
import { formatIPv6, parseIPv6, type AddressFamily } from '../util/inet.js';
import type { AddressInfo } from './ip.js';

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLM_F_DUMP = 0x300;
const AF_UNSPEC = 0;
const AF_INET = 2;
const AF_INET6 = 10;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_CACHEINFO = 6;
const IFA_FLAGS = 8;
const IFA_F_SECONDARY = 0x01;
/** IPv6: add without Duplicate Address Detection (see IpAddrAgent: a takeover cannot wait a second for DAD). */
export const IFA_F_NODAD = 0x02;
const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;
const IFA_F_PERMANENT = 0x80;
/** See encodeRenew: on a new address the kernel joins its multicast group, which fails for a unicast one. */
const IFA_F_MCAUTOJOIN = 0x400;
const INFINITY_LIFE = 0xffffffff;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_HOST = 254;
const ENOENT = 2;
const EEXIST = 17;
const EINVAL = 22;
const EADDRNOTAVAIL = 99;
/** A dump never needs more datagrams than this; a bound so a confused kernel cannot keep us looping. */
const MAX_DUMP_PARTS = 10_000;
/** An ACK, or an error echoing the request (our requests are under 100 bytes): room to spare. */
const ACK_BYTES = 8192;

const align4 = (n: number): number => (n + 3) & ~3;

function attr(type: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(align4(4 + payload.length));
  b.writeUInt16LE(4 + payload.length, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}

function message(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE(type, 4);
  h.writeUInt16LE(flags, 6);
  h.writeUInt32LE(seq, 8);
  return Buffer.concat([h, body]);
}

function ifaddrmsg(prefixLength: number, flags: number, scope: number, ifindex: number, family = AF_INET): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(family, 0);
  b.writeUInt8(prefixLength, 1);
  b.writeUInt8(flags, 2);
  b.writeUInt8(scope, 3);
  b.writeUInt32LE(ifindex, 4);
  return b;
}

/** RTM_GETADDR dump request: IPv4 (the default), IPv6, or both. Exported for tests. */
export function encodeGetAddr(seq: number, family: AddressFamily | 'both' = 4): Buffer {
  const af = family === 'both' ? AF_UNSPEC : family === 4 ? AF_INET : AF_INET6;
  return message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq, ifaddrmsg(0, 0, 0, 0, af));
}

/** The address's bytes and its AF_*; throws VIGIL_ERR_ADDR_INVALID for anything else. */
function addressBytes(address: string): { bytes: Buffer; af: number } {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return { bytes: v4, af: AF_INET };
  const v6 = parseIPv6(address);
  if (v6 !== undefined) return { bytes: Buffer.from(v6), af: AF_INET6 };
  throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv4 or IPv6 address: ${address}`);
}

/**
 * RTM_NEWADDR with NLM_F_REPLACE that sets the lifetimes of `address/prefixLength` on `ifindex` if, and only if, it
 * is there. IPv4 ignores a missing NLM_F_CREATE (an `ip addr change` of an address that has just expired adds it
 * back), so the message also carries IFA_F_MCAUTOJOIN: the kernel looks at that flag only when it creates the
 * address, where it joins the address's multicast group, and a unicast address makes that fail with EINVAL before
 * anything is added. An existing address keeps its flags (the update path sets lifetimes, metric and protocol only).
 * The check and the change are one step under RTNL: a lease cannot run out between them. Exported for tests.
 */
export function encodeRenew(
  seq: number,
  address: string,
  prefixLength: number,
  ifindex: number,
  lifetimeSec: number,
): Buffer {
  const { bytes: a, af } = addressBytes(address);
  const ci = Buffer.alloc(16);
  ci.writeUInt32LE(lifetimeSec, 0); // ifa_prefered
  ci.writeUInt32LE(lifetimeSec, 4); // ifa_valid
  const flags = Buffer.alloc(4);
  // IPv6 behaves alike (inet6_rtm_newaddr creates a missing address whatever NLM_F_CREATE says, and
  // IFA_F_MCAUTOJOIN refuses a unicast one first), but its update path replaces the address's flags with these:
  // IFA_F_NODAD is kept so that the address stays as it was added.
  flags.writeUInt32LE(IFA_F_MCAUTOJOIN | (af === AF_INET6 ? IFA_F_NODAD : 0), 0);
  const body = Buffer.concat([
    ifaddrmsg(prefixLength, 0, 0, ifindex, af),
    attr(IFA_LOCAL, a),
    attr(IFA_ADDRESS, a),
    attr(IFA_CACHEINFO, ci),
    attr(IFA_FLAGS, flags),
  ]);
  return message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_REPLACE, seq, body);
}

export interface NewAddress {
  readonly address: string;
  readonly prefixLength: number;
  readonly ifindex: number;
  /** IPv4 only. */
  readonly label?: string;
  /** IPv4 only. */
  readonly broadcast?: string;
  readonly lifetimeSec?: number;
  /** IPv6 only: no Duplicate Address Detection (IFA_F_NODAD). */
  readonly nodad?: boolean;
}

/** RTM_NEWADDR creating an address, as `ip addr add` sends it (fails with EEXIST if present). Exported for tests. */
export function encodeNewAddr(seq: number, a: NewAddress): Buffer {
  const { bytes: local, af } = addressBytes(a.address);
  if (af === AF_INET6 && (a.label !== undefined || a.broadcast !== undefined)) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `${a.address}: IPv6 addresses have no label and no broadcast`);
  }
  const parts = [
    ifaddrmsg(a.prefixLength, af === AF_INET6 && a.nodad === true ? IFA_F_NODAD : 0, RT_SCOPE_UNIVERSE, a.ifindex, af),
    attr(IFA_LOCAL, local),
    attr(IFA_ADDRESS, local),
  ];
  if (a.broadcast !== undefined) {
    const b = parseIPv4(a.broadcast);
    if (b === undefined) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv4 address: ${a.broadcast}`);
    parts.push(attr(IFA_BROADCAST, b));
  }
  if (a.label !== undefined) parts.push(attr(IFA_LABEL, Buffer.from(`${a.label}\0`, 'latin1')));
  if (a.lifetimeSec !== undefined) {
    const ci = Buffer.alloc(16);
    ci.writeUInt32LE(a.lifetimeSec, 0);
    ci.writeUInt32LE(a.lifetimeSec, 4);
    parts.push(attr(IFA_CACHEINFO, ci));
  }
  return message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, Buffer.concat(parts));
}

/**
 * RTM_DELADDR for `address` on `ifindex`. IPv4: only IFA_LOCAL is given, so the kernel matches on the address alone
 * and ignores the prefix length (it compares that only with an IFA_ADDRESS), and no dump is needed to learn it first.
 * IPv6 matches address and prefix length, always: `prefixLength` must be the one the address has. Exported for tests.
 */
export function encodeDelAddr(seq: number, address: string, ifindex: number, prefixLength?: number): Buffer {
  const { bytes: local, af } = addressBytes(address);
  if (af === AF_INET6) {
    if (prefixLength === undefined) {
      throw new VigilError('VIGIL_ERR_ADDR_INVALID', `removing ${address}: an IPv6 address is removed by its prefix`);
    }
    const body = Buffer.concat([ifaddrmsg(prefixLength, 0, 0, ifindex, af), attr(IFA_ADDRESS, local)]);
    return message(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, body);
  }
  const body = Buffer.concat([ifaddrmsg(32, 0, 0, ifindex), attr(IFA_LOCAL, local)]);
  return message(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, body);
}

export interface RawAddress {
  readonly ifindex: number;
  readonly info: Omit<AddressInfo, 'device'> & { readonly labelAttr: string | undefined };
}

interface Parsed {
  readonly addresses: RawAddress[];
  readonly done: boolean;
  /** errno of an NLMSG_ERROR (0 = ACK), when one was seen. */
  readonly error: number | undefined;
}

/** Parses one datagram of rtnetlink replies for `seq`. Exported for tests. */
export function parseAddrReplies(buf: Buffer, seq: number): Parsed {
  const addresses: RawAddress[] = [];
  let done = false;
  let error: number | undefined;
  for (let off = 0; off + 16 <= buf.length;) {
    const len = buf.readUInt32LE(off);
    const type = buf.readUInt16LE(off + 4);
    const mseq = buf.readUInt32LE(off + 8);
    if (len < 16 || off + len > buf.length) {
      throw new VigilError('VIGIL_ERR_OS_COMMAND', `rtnetlink: truncated message (${len} bytes at ${off})`);
    }
    if (mseq === seq) {
      if (type === NLMSG_DONE) done = true;
      else if (type === NLMSG_ERROR) error = -buf.readInt32LE(off + 16);
      else if (type === RTM_NEWADDR) {
        const af = buf.readUInt8(off + 16);
        if (af === AF_INET || af === AF_INET6) addresses.push(parseIfaddr(buf.subarray(off + 16, off + len)));
      }
    }
    off += align4(len);
  }
  return { addresses, done, error };
}

function parseIfaddr(b: Buffer): RawAddress {
  const af = b.readUInt8(0);
  const v6 = af === AF_INET6;
  const format = (p: Buffer): string => (v6 ? formatIPv6(p) : formatIPv4(p));
  const prefixLength = b.readUInt8(1);
  let flags = b.readUInt8(2);
  const scopeByte = b.readUInt8(3);
  const ifindex = b.readUInt32LE(4);
  let local: string | undefined;
  let address: string | undefined;
  let label: string | undefined;
  let broadcast: string | undefined;
  let valid = INFINITY_LIFE;
  let preferred = INFINITY_LIFE;
  for (let off = 8; off + 4 <= b.length;) {
    const len = b.readUInt16LE(off);
    const type = b.readUInt16LE(off + 2);
    if (len < 4 || off + len > b.length) break;
    const p = b.subarray(off + 4, off + len);
    switch (type) {
      case IFA_LOCAL:
        local = format(p);
        break;
      case IFA_ADDRESS:
        address = format(p);
        break;
      case IFA_LABEL: {
        const nul = p.indexOf(0);
        label = p.subarray(0, nul < 0 ? p.length : nul).toString('latin1');
        break;
      }
      case IFA_BROADCAST:
        broadcast = formatIPv4(p);
        break;
      case IFA_CACHEINFO:
        preferred = p.readUInt32LE(0);
        valid = p.readUInt32LE(4);
        break;
      case IFA_FLAGS:
        flags = p.readUInt32LE(0);
        break;
      default:
        break;
    }
    off += align4(len);
  }
  const life = (v: number): number | undefined => (v === INFINITY_LIFE ? undefined : v);
  return {
    ifindex,
    info: {
      address: local ?? address ?? (v6 ? '::' : '0.0.0.0'),
      family: v6 ? 6 : 4,
      prefixLength,
      label: label ?? '',
      labelAttr: label,
      broadcast,
      // For IPv6 the same bit is IFA_F_TEMPORARY (a privacy address), not "secondary".
      secondary: !v6 && (flags & IFA_F_SECONDARY) !== 0,
      dynamic: (flags & IFA_F_PERMANENT) === 0,
      scope: scopeByte === RT_SCOPE_LINK ? 'link' : scopeByte === RT_SCOPE_HOST ? 'host' : 'global',
      tentative: (flags & IFA_F_TENTATIVE) !== 0,
      dadFailed: (flags & IFA_F_DADFAILED) !== 0,
      validLifetimeSec: life(valid),
      preferredLifetimeSec: life(preferred),
    },
  };
}

let seqCounter = Math.floor(Math.random() * 0x7fffffff);

function nextSeq(): number {
  seqCounter = (seqCounter + 1) >>> 0;
  return seqCounter;
}

/**
 * Each request runs its send and recv on the libuv threadpool (libc.ts offLoop): the kernel takes RTNL for them,
 * and the daemon's event loop, which carries the heartbeats, must never wait for that lock.
 */
async function withSocket<T>(fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = openRtnetlinkSocket();
  try {
    return await fn(fd);
  } finally {
    closeFd(fd);
  }
}

/** Every address of this namespace of one family (or both), as `ip -json [-4|-6] addr show` would list them. */
export function netlinkListAddresses(family: AddressFamily | 'both' = 4): Promise<AddressInfo[]> {
  return withSocket(async (fd) => {
    const seq = nextSeq();
    await netlinkSend(fd, encodeGetAddr(seq, family));
    const out: AddressInfo[] = [];
    const names = new Map<number, string | undefined>();
    for (let part = 0; part < MAX_DUMP_PARTS; part++) {
      const buf = await netlinkRecv(fd);
      if (buf === undefined) throw new VigilError('VIGIL_ERR_OS_COMMAND', 'rtnetlink: address dump ended early');
      const r = parseAddrReplies(buf, seq);
      if (r.error !== undefined && r.error !== 0) {
        throw new VigilError('VIGIL_ERR_OS_COMMAND', `rtnetlink: address dump failed, errno ${r.error}`);
      }
      for (const a of r.addresses) {
        if (!names.has(a.ifindex)) names.set(a.ifindex, interfaceName(a.ifindex));
        const device = names.get(a.ifindex);
        if (device === undefined) continue; // vanished meanwhile
        const { labelAttr, ...info } = a.info;
        out.push({ ...info, device, label: labelAttr ?? device });
      }
      if (r.done) return out;
    }
    throw new VigilError('VIGIL_ERR_OS_COMMAND', 'rtnetlink: address dump too long');
  });
}

/** A request waiting for the next datagram. */
interface Queued {
  readonly bytes: Buffer;
  readonly seq: number;
  readonly what: string;
  readonly resolve: (errno: number) => void;
  readonly reject: (e: Error) => void;
}

/** Requests of one datagram at most: their ACKs must fit the reads below. */
const MAX_BATCH = 32;

let open: Queued[] | undefined;

/** Datagrams sent and requests they carried (tests see the batching here). */
export const netlinkBatches = { datagrams: 0, requests: 0 };

/**
 * Sends one request and returns the kernel's errno (0 = done). rtnetlink runs a (non-dump) request and queues its
 * ACK within sendto, which may wait for RTNL and so runs off the loop; the ACK is then already queued, and is read
 * at once on the loop: one threadpool round trip per request instead of two.
 *
 * Requests made in the same turn of the event loop share ONE datagram: the kernel runs them in order, each with its
 * own ACK, inside one sendto. The addresses of a dual-stack group, released together, so vanish within
 * microseconds of each other instead of one threadpool round trip apart.
 */
function request(msg: (seq: number) => Buffer, what: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const seq = nextSeq();
    let bytes: Buffer;
    try {
      bytes = msg(seq);
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    let batch = open;
    if (batch === undefined) {
      const fresh: Queued[] = [];
      batch = open = fresh;
      setImmediate(() => {
        if (open === fresh) open = undefined;
        if (fresh.length > 0 && fresh.length < MAX_BATCH) void sendBatch(fresh);
      });
    }
    batch.push({ bytes, seq, what, resolve, reject });
    if (batch.length === MAX_BATCH) {
      open = undefined;
      void sendBatch(batch);
    }
  });
}

async function sendBatch(batch: readonly Queued[]): Promise<void> {
  try {
    await withSocket(async (fd) => {
      netlinkBatches.datagrams++;
      netlinkBatches.requests += batch.length;
      await netlinkSend(fd, Buffer.concat(batch.map((q) => q.bytes)));
      const waiting = new Map(batch.map((q) => [q.seq, q]));
      for (let part = 0; part < 16 * batch.length && waiting.size > 0; part++) {
        const buf = netlinkRecvNow(fd, ACK_BYTES);
        if (buf === undefined) break;
        for (const [seq, q] of waiting) {
          const r = parseAddrReplies(buf, seq);
          if (r.error === undefined) continue;
          q.resolve(r.error);
          waiting.delete(seq);
        }
      }
      for (const q of waiting.values())
        q.reject(new VigilError('VIGIL_ERR_OS_COMMAND', `rtnetlink: no answer to ${q.what}`));
    });
  } catch (e) {
    // (A request already answered stays answered: a settled promise ignores this.)
    for (const q of batch) q.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/**
 * Adds an address in one syscall pair: the takeover path cannot afford a spawn of `ip` (tens of ms on a loaded
 * host). Throws VIGIL_ERR_ADDR_EXISTS when it is already there, VIGIL_ERR_OS_COMMAND on any other refusal.
 */
export async function netlinkAddAddress(a: NewAddress): Promise<void> {
  const errno = await request((seq) => encodeNewAddr(seq, a), `adding ${a.address}`);
  if (errno === 0) return;
  if (errno === EEXIST) throw new VigilError('VIGIL_ERR_ADDR_EXISTS', `${a.address} is already configured`);
  throw new VigilError(
    'VIGIL_ERR_OS_COMMAND',
    `rtnetlink: adding ${a.address}/${a.prefixLength} refused, errno ${errno}`,
  );
}

/**
 * Removes an address; false when it was not there (an expiring lease may beat us to it). IPv6 needs the prefix length
 * the address has (see encodeDelAddr).
 */
export async function netlinkDelAddress(address: string, ifindex: number, prefixLength?: number): Promise<boolean> {
  const errno = await request((seq) => encodeDelAddr(seq, address, ifindex, prefixLength), `removing ${address}`);
  if (errno === 0) return true;
  // IPv4 says EADDRNOTAVAIL, IPv6 ENOENT ("address not found").
  if (errno === EADDRNOTAVAIL || errno === ENOENT) return false;
  throw new VigilError('VIGIL_ERR_OS_COMMAND', `rtnetlink: removing ${address} refused, errno ${errno}`);
}

/**
 * Pushes the lease of `address/prefixLength` on `ifindex` to `lifetimeSec` from now, never creating it (see
 * encodeRenew): 'renewed', or 'refused' when the kernel said EINVAL, which is what an absent address (or one with
 * another prefix length) gets; the caller finds out which. Throws with the kernel's errno on any other refusal.
 */
export async function netlinkRenewAddress(
  address: string,
  prefixLength: number,
  ifindex: number,
  lifetimeSec: number,
): Promise<'renewed' | 'refused'> {
  const errno = await request(
    (seq) => encodeRenew(seq, address, prefixLength, ifindex, lifetimeSec),
    `the lease renewal of ${address}`,
  );
  if (errno === 0) return 'renewed';
  if (errno === EINVAL) return 'refused';
  throw new VigilError('VIGIL_ERR_OS_COMMAND', `rtnetlink: lease renewal of ${address} refused, errno ${errno}`);
}
