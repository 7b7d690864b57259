/**
 * (Long on purpose: DESIGN.md keeps every FFI declaration in this one module, so that the native boundary is
 * reviewed in one place.)
 *
 * The one module that calls libc through koffi. Node's `dgram` cannot bind a socket to a device, set IP_TOS before
 * the first send, or open an AF_PACKET socket; these few syscalls fill that gap. Everything here is synchronous
 * (each call is one short syscall, far cheaper than a trip through the thread pool) and acts in the network
 * namespace of the calling thread, which for the daemon is the process's namespace.
 *
 * File descriptors returned here are plain numbers. A UDP socket is normally handed to `dgram` right away
 * (`wrapUdpFd` in src/transport), after which Node owns it and closes it; before that, callers close it with `closeFd`.
 */
import koffi from 'koffi';
import { constants as osConstants } from 'node:os';
import { VigilError, type ErrorCode } from '../util/errors.js';
import { formatIPv6, parseIPv6 } from '../util/inet.js';

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_PACKET = 17;
export const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_DONTROUTE = 5;
export const SO_BROADCAST = 6;
export const SO_RCVBUF = 8;
export const SO_REUSEPORT = 15;
export const SO_BINDTODEVICE = 25;
export const SO_PEERCRED = 17;
export const SO_PEERGROUPS = 59;

export const IPPROTO_IP = 0;
export const IP_TOS = 1;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
/** IPTOS_LOWDELAY, what Heartbeat's ucast sets. */
export const IPTOS_LOWDELAY = 0x10;

export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_V6ONLY = 26;
/** ICMPv6 sockets: a 256-bit mask of the message types the kernel must NOT queue (level IPPROTO_ICMPV6). */
export const ICMP6_FILTER = 1;

export const ETH_P_ARP = 0x0806;
export const ETH_P_IPV6 = 0x86dd;

const SIOCGIFFLAGS = 0x8913;
const SIOCGIFADDR = 0x8915;
const SIOCGIFBRDADDR = 0x8919;
const SIOCGIFNETMASK = 0x891b;
const SIOCGIFHWADDR = 0x8927;
const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_LOOPBACK = 0x8;
const IFF_MULTICAST = 0x1000;

/** IFNAMSIZ - 1: the longest interface name Linux accepts. */
export const MAX_IFNAME = 15;

type Fn<A extends unknown[], R> = (...args: A) => R;

interface Libc {
  socket: Fn<[number, number, number], number>;
  setsockopt: Fn<[number, number, number, Buffer, number], number>;
  /** setsockopt with a struct sock_fprog (SO_ATTACH_FILTER): koffi passes the Buffer as the struct's pointer. */
  setsockoptFprog: Fn<[number, number, number, { len: number; filter: Buffer }, number], number>;
  getsockopt: Fn<[number, number, number, Buffer, Buffer], number>;
  bind: Fn<[number, Buffer, number], number>;
  close: Fn<[number], number>;
  sendto: Fn<[number, Buffer, number, number, Buffer, number], number>;
  recv: Fn<[number, Buffer, number, number], number>;
  recvfrom: Fn<[number, Buffer, number, number, Buffer, Buffer], number>;
  ifNametoindex: Fn<[string], number>;
  ifIndextoname: Fn<[number, Buffer], unknown>;
  ioctl: Fn<[number, number, string, Buffer], number>;
  strerror: Fn<[number], string>;
  schedSetscheduler: Fn<[number, number, Buffer], number>;
  /** Non-variadic ioctl and plain send/recv for koffi's async calls (run on the libuv threadpool). */
  ioctl3: Fn<[number, number, Buffer], number>;
  schedGetscheduler: Fn<[number], number>;
}

/** Each function's C prototype, as koffi parses it. */
const PROTOTYPES: Readonly<Record<keyof Libc, string>> = {
  setsockoptFprog: 'int setsockopt(int fd, int level, int name, const vigil_sock_fprog *val, uint32_t len)',
  socket: 'int socket(int domain, int type, int protocol)',
  setsockopt: 'int setsockopt(int fd, int level, int name, const void *val, uint32_t len)',
  getsockopt: 'int getsockopt(int fd, int level, int name, void *val, void *len)',
  bind: 'int bind(int fd, const void *addr, uint32_t len)',
  close: 'int close(int fd)',
  sendto: 'intptr_t sendto(int fd, const void *buf, size_t len, int flags, const void *addr, uint32_t alen)',
  recv: 'intptr_t recv(int fd, void *buf, size_t len, int flags)',
  recvfrom: 'intptr_t recvfrom(int fd, void *buf, size_t len, int flags, void *addr, void *alen)',
  ifNametoindex: 'unsigned int if_nametoindex(const char *name)',
  ifIndextoname: 'void *if_indextoname(unsigned int index, void *name)',
  ioctl: 'int ioctl(int fd, unsigned long req, ...)',
  strerror: 'const char *strerror(int errnum)',
  schedSetscheduler: 'int sched_setscheduler(int pid, int policy, const void *param)',
  schedGetscheduler: 'int sched_getscheduler(int pid)',
  ioctl3: 'int ioctl(int fd, unsigned long req, void *arg)',
};

let cached: Libc | undefined;
let loadError: VigilError | undefined;

function libc(): Libc {
  if (cached !== undefined) return cached;
  if (loadError !== undefined) throw loadError;
  try {
    const lib = koffi.load('libc.so.6');
    koffi.struct('vigil_sock_fprog', { len: 'uint16_t', filter: 'void *' });
    // koffi returns untyped functions: the prototypes above are what makes these signatures true.
    cached = Object.fromEntries(
      Object.entries(PROTOTYPES).map(([name, prototype]) => [name, lib.func(prototype)]),
    ) as unknown as Libc;
    return cached;
  } catch (e) {
    loadError = new VigilError('VIGIL_ERR_FFI', `cannot load libc through koffi: ${String(e)}`, undefined, {
      cause: e,
    });
    throw loadError;
  }
}

/** True when libc can be called (Linux with a working koffi build). */
export function libcAvailable(): boolean {
  try {
    libc();
    return true;
  } catch {
    return false;
  }
}

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** A failed syscall: the VigilError carries the errno so callers can tell ENODEV from EADDRINUSE. */
export class SyscallError extends VigilError {
  readonly syscall: string;
  readonly errno: number;
  /** Symbolic errno (`ENODEV`), or `E<n>` when unknown. */
  readonly errnoName: string;

  constructor(code: ErrorCode, syscall: string, what: string, errno: number) {
    const name = errnoNames.get(errno) ?? `E${errno}`;
    let text = `errno ${errno}`;
    try {
      text = libc().strerror(errno);
    } catch {
      /* keep the number */
    }
    super(code, `${syscall}(${what}): ${name} (${text})`);
    this.syscall = syscall;
    this.errno = errno;
    this.errnoName = name;
  }
}

function check(rc: number, code: ErrorCode, syscall: string, what: string): number {
  if (rc < 0) throw new SyscallError(code, syscall, what, koffi.errno());
  return rc;
}

function intBuf(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return b;
}

/** Parses a dotted quad strictly (no octal, no shorthand); undefined when it is not one. */
export function parseIPv4(text: string): Buffer | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (m === null) return undefined;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1] ?? '';
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function ipv4Bytes(text: string, what: string): Buffer {
  const b = parseIPv4(text);
  if (b === undefined) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `${what}: not an IPv4 address: ${text}`);
  return b;
}

export function formatIPv4(b: Uint8Array, offset = 0): string {
  return `${b[offset] ?? 0}.${b[offset + 1] ?? 0}.${b[offset + 2] ?? 0}.${b[offset + 3] ?? 0}`;
}

export function validateIfName(name: string): void {
  // Interface names reach `ip` as arguments and the kernel as C strings: refuse anything that is not a plain name.
  if (name.length === 0 || name.length > MAX_IFNAME || !/^[A-Za-z0-9_.:@-]+$/.test(name) || name.startsWith('-')) {
    throw new VigilError('VIGIL_ERR_NO_DEVICE', `invalid interface name: ${JSON.stringify(name)}`);
  }
}

/** Every socket Vigil opens is non-blocking (the event loop polls it) and close-on-exec (resource scripts inherit none). */
function openSocket(domain: number, type: number, protocol: number, label: string): number {
  return check(
    libc().socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol),
    'VIGIL_ERR_SOCKET',
    'socket',
    label,
  );
}

/** A non-blocking, close-on-exec IPv4 UDP socket. */
export function openUdpSocket(): number {
  return openSocket(AF_INET, SOCK_DGRAM, 0, 'AF_INET, SOCK_DGRAM');
}

/** A non-blocking, close-on-exec IPv6 UDP socket. */
export function openUdp6Socket(): number {
  return openSocket(AF_INET6, SOCK_DGRAM, 0, 'AF_INET6, SOCK_DGRAM');
}

/** A non-blocking raw AF_PACKET socket for one ethertype (frames are written whole, Ethernet header included). */
export function openPacketSocket(ethertype: number): number {
  return openSocket(AF_PACKET, SOCK_RAW, htons(ethertype), `AF_PACKET, SOCK_RAW, 0x${ethertype.toString(16)}`);
}

function htons(n: number): number {
  return ((n & 0xff) << 8) | ((n >> 8) & 0xff);
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

export function setIntOption(fd: number, level: number, name: number, value: number, label = `${level}/${name}`): void {
  check(libc().setsockopt(fd, level, name, intBuf(value), 4), 'VIGIL_ERR_SOCKET_OPTION', 'setsockopt', label);
}

/** A socket option whose value is a struct (ICMP6_FILTER...), given as its bytes. */
export function setsockoptBuffer(fd: number, level: number, name: number, value: Buffer, label: string): void {
  check(libc().setsockopt(fd, level, name, value, value.length), 'VIGIL_ERR_SOCKET_OPTION', 'setsockopt', label);
}

/** Reads an int-valued option back (also the byte-valued IP_MULTICAST_TTL/LOOP, which Linux returns as int). */
export function getIntOption(fd: number, level: number, name: number): number {
  const val = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4, 0);
  check(libc().getsockopt(fd, level, name, val, len), 'VIGIL_ERR_SOCKET_OPTION', 'getsockopt', `${level}/${name}`);
  const got = len.readUInt32LE(0);
  return got === 1 ? val.readUInt8(0) : val.readInt32LE(0);
}

export function getBufferOption(fd: number, level: number, name: number, maxLen: number): Buffer {
  const val = Buffer.alloc(maxLen);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(maxLen, 0);
  check(libc().getsockopt(fd, level, name, val, len), 'VIGIL_ERR_SOCKET_OPTION', 'getsockopt', `${level}/${name}`);
  return val.subarray(0, len.readUInt32LE(0));
}

/** Who is at the other end of a connected Unix socket, as the kernel recorded it at connect(). */
export interface PeerCredentials {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups (SO_PEERGROUPS, Linux 4.13+); undefined when the kernel cannot tell. */
  readonly groups: readonly number[] | undefined;
}

/** NGROUPS_MAX: no process has more supplementary groups than this. */
const NGROUPS_MAX = 65536;

/**
 * SO_PEERCRED (pid, uid, gid) and SO_PEERGROUPS of a connected Unix socket. The kernel fills both in at connect()
 * from the caller's credentials, so they cannot be forged by the peer and do not change if it later drops privileges.
 */
export function peerCredentials(fd: number): PeerCredentials {
  const cred = getBufferOption(fd, SOL_SOCKET, SO_PEERCRED, 12);
  if (cred.length < 12)
    throw new VigilError('VIGIL_ERR_SOCKET_OPTION', `getsockopt(SO_PEERCRED): ${cred.length} bytes`);
  return {
    pid: cred.readInt32LE(0),
    uid: cred.readUInt32LE(4),
    gid: cred.readUInt32LE(8),
    groups: peerGroups(fd),
  };
}

function peerGroups(fd: number): number[] | undefined {
  // Most processes have a handful of groups; ERANGE says how many bytes it takes, and one retry fits them.
  let size = 64 * 4;
  for (let attempt = 0; attempt < 2; attempt++) {
    const val = Buffer.alloc(size);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(size, 0);
    if (libc().getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, val, len) === 0) {
      const got = len.readUInt32LE(0);
      const out: number[] = [];
      for (let i = 0; i + 4 <= got; i += 4) out.push(val.readUInt32LE(i));
      return out;
    }
    const errno = koffi.errno();
    if (errno !== osConstants.errno.ERANGE) return undefined;
    size = Math.min(len.readUInt32LE(0), NGROUPS_MAX * 4);
  }
  return undefined;
}

/** SO_BINDTODEVICE: the socket only sends through and receives from `dev` (bound by ifindex, at this moment). */
export function bindToDevice(fd: number, dev: string): void {
  validateIfName(dev);
  const name = Buffer.from(`${dev}\0`, 'latin1');
  check(
    libc().setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, name.length),
    'VIGIL_ERR_SOCKET_OPTION',
    'setsockopt',
    `SO_BINDTODEVICE, ${dev}`,
  );
}

/** The device a socket is bound to, '' when none (or when its ifindex no longer exists). */
export function boundDevice(fd: number): string {
  const b = getBufferOption(fd, SOL_SOCKET, SO_BINDTODEVICE, 16);
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
}

function sockaddrIn(address: string, port: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  ipv4Bytes(address, 'bind').copy(sa, 4);
  return sa;
}

/** struct sockaddr_in6 (28 bytes): family, port, flowinfo 0, address, scope id (an ifindex for link-local scope). */
export function sockaddrIn6(address: string, port: number, scopeId = 0): Buffer {
  const b = parseIPv6(address);
  if (b === undefined) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv6 address: ${address}`);
  const sa = Buffer.alloc(28);
  sa.writeUInt16LE(AF_INET6, 0);
  sa.writeUInt16BE(port, 2);
  Buffer.from(b).copy(sa, 8);
  sa.writeUInt32LE(scopeId >>> 0, 24);
  return sa;
}

export function bindIPv6(fd: number, address: string, port: number, scopeId = 0): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VigilError('VIGIL_ERR_SOCKET_BIND', `bind: bad port ${port}`);
  }
  check(
    libc().bind(fd, sockaddrIn6(address, port, scopeId), 28),
    'VIGIL_ERR_SOCKET_BIND',
    'bind',
    `[${address}]:${port}${scopeId === 0 ? '' : ` scope ${scopeId}`}`,
  );
}

/** IPV6_JOIN_GROUP with a struct ipv6_mreq: joins `group` on the interface `ifindex`. */
export function joinGroup6(fd: number, group: string, ifindex: number): void {
  const b = parseIPv6(group);
  if (b === undefined) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv6 group: ${group}`);
  const mreq = Buffer.alloc(20);
  Buffer.from(b).copy(mreq, 0);
  mreq.writeUInt32LE(ifindex >>> 0, 16);
  setsockoptBuffer(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, mreq, `IPV6_JOIN_GROUP, ${group} on ifindex ${ifindex}`);
}

/** A non-blocking raw IPv6 socket for one protocol (needs CAP_NET_RAW). For ICMPv6 the kernel fills the checksum. */
export function openRawIPv6Socket(protocol: number): number {
  return openSocket(AF_INET6, SOCK_RAW, protocol, `AF_INET6, SOCK_RAW, ${protocol}`);
}

/** One datagram to an IPv6 address (port 0 for raw sockets); the bytes sent, or a SyscallError. */
export function sendToIPv6(fd: number, bytes: Uint8Array, address: string, port = 0, scopeId = 0): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return check(
    libc().sendto(fd, buf, buf.length, 0, sockaddrIn6(address, port, scopeId), 28),
    'VIGIL_ERR_SOCKET_SEND',
    'sendto',
    address,
  );
}

/**
 * One queued datagram of a non-blocking socket into `buf` with its source: length and address (IPv4 or IPv6 text),
 * or undefined when none is queued. Raw ICMPv6 sockets deliver no IPv6 header: the source is only known this way.
 */
export function recvFromNow(fd: number, buf: Buffer): { length: number; address: string } | undefined {
  const sa = Buffer.alloc(28);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(28, 0);
  const n = libc().recvfrom(fd, buf, buf.length, 0, sa, len);
  if (n < 0) {
    const errno = koffi.errno();
    if (errno === osConstants.errno.EAGAIN) return undefined;
    throw new SyscallError('VIGIL_ERR_SOCKET', 'recvfrom', `fd ${fd}`, errno);
  }
  const family = sa.readUInt16LE(0);
  const address = family === AF_INET6 ? formatIPv6(sa, 8) : family === AF_INET ? formatIPv4(sa, 4) : '';
  return { length: n, address };
}

export function bindIPv4(fd: number, address: string, port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new VigilError('VIGIL_ERR_SOCKET_BIND', `bind: bad port ${port}`);
  }
  check(libc().bind(fd, sockaddrIn(address, port), 16), 'VIGIL_ERR_SOCKET_BIND', 'bind', `${address}:${port}`);
}

/** A non-blocking raw IPv4 socket for one protocol (needs CAP_NET_RAW); the kernel builds the IP header. */
export function openRawIPv4Socket(protocol: number): number {
  return openSocket(AF_INET, SOCK_RAW, protocol, `AF_INET, SOCK_RAW, ${protocol}`);
}

export const SOL_RAW = 255;
/** Raw ICMP sockets: a bitmask of the ICMP types the kernel must NOT queue (bit n = type n). */
export const ICMP_FILTER = 1;
const SO_ATTACH_FILTER = 26;
/** struct sock_fprog on LP64: a 16-bit length, padding, a pointer. */
const SOCK_FPROG_BYTES = 16;
/** The kernel's own limit on a classic BPF program (BPF_MAXINSNS). */
const BPF_MAXINSNS = 4096;

/**
 * Attaches a classic BPF program (8-byte `struct sock_filter` instructions) to a socket; the kernel then queues only
 * what it accepts.
 */
export function attachSocketFilter(fd: number, program: Buffer, label: string): void {
  const n = program.length / 8;
  if (!Number.isInteger(n) || n < 1 || n > BPF_MAXINSNS) {
    throw new VigilError('VIGIL_ERR_SOCKET_OPTION', `${label}: a socket filter is 1 to ${BPF_MAXINSNS} instructions`);
  }
  check(
    libc().setsockoptFprog(fd, SOL_SOCKET, SO_ATTACH_FILTER, { len: n, filter: program }, SOCK_FPROG_BYTES),
    'VIGIL_ERR_SOCKET_OPTION',
    'setsockopt',
    `${label}, SO_ATTACH_FILTER`,
  );
}

/** One queued datagram of a non-blocking socket into `buf`: its length, or undefined when none is queued. */
export function recvNow(fd: number, buf: Buffer): number | undefined {
  const n = libc().recv(fd, buf, buf.length, 0);
  if (n < 0) {
    const errno = koffi.errno();
    if (errno === osConstants.errno.EAGAIN) return undefined;
    throw new SyscallError('VIGIL_ERR_SOCKET', 'recv', `fd ${fd}`, errno);
  }
  return n;
}

/** One datagram to an IPv4 address (port 0 for raw sockets); the bytes sent, or a SyscallError. */
export function sendToIPv4(fd: number, bytes: Uint8Array, address: string, port = 0): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return check(
    libc().sendto(fd, buf, buf.length, 0, sockaddrIn(address, port), 16),
    'VIGIL_ERR_SOCKET_SEND',
    'sendto',
    address,
  );
}

/** IP_ADD_MEMBERSHIP with a struct ip_mreqn: joins `group` on the interface `ifindex` (not "whichever route wins"). */
export function addMembership(fd: number, group: string, ifindex: number, ifaddr = '0.0.0.0'): void {
  const mreqn = Buffer.alloc(12);
  ipv4Bytes(group, 'multicast group').copy(mreqn, 0);
  ipv4Bytes(ifaddr, 'interface address').copy(mreqn, 4);
  mreqn.writeInt32LE(ifindex, 8);
  setsockoptBuffer(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn, `IP_ADD_MEMBERSHIP, ${group} on ifindex ${ifindex}`);
}

/** IP_MULTICAST_IF with a struct ip_mreqn (the address is what getsockopt reads back; the index is what routes). */
export function setMulticastInterface(fd: number, ifaddr: string, ifindex: number): void {
  const mreqn = Buffer.alloc(12);
  ipv4Bytes(ifaddr, 'interface address').copy(mreqn, 4);
  mreqn.writeInt32LE(ifindex, 8);
  setsockoptBuffer(fd, IPPROTO_IP, IP_MULTICAST_IF, mreqn, `IP_MULTICAST_IF, ${ifaddr} ifindex ${ifindex}`);
}

export function getMulticastInterface(fd: number): string {
  return formatIPv4(getBufferOption(fd, IPPROTO_IP, IP_MULTICAST_IF, 4));
}

/** if_nametoindex: 0 when the interface does not exist (in this namespace). */
export function interfaceIndex(name: string): number {
  validateIfName(name);
  return libc().ifNametoindex(name);
}

/** if_indextoname: undefined when no interface has that index (in this namespace). */
export function interfaceName(index: number): string | undefined {
  const buf = Buffer.alloc(16);
  const r = libc().ifIndextoname(index, buf);
  if (r === null || r === 0n || r === 0) return undefined;
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? 16 : nul).toString('latin1');
}

export interface InterfaceIPv4 {
  readonly index: number;
  readonly up: boolean;
  readonly loopback: boolean;
  readonly multicast: boolean;
  /** The primary IPv4 address (what SIOCGIFADDR returns); undefined when the interface has none. */
  readonly address: string | undefined;
  readonly netmask: string | undefined;
  /** The configured broadcast address (0.0.0.0 when none is set); undefined without IFF_BROADCAST or an address. */
  readonly broadcast: string | undefined;
}

function ifreq(name: string): Buffer {
  const b = Buffer.alloc(40);
  b.write(name, 0, 'latin1');
  return b;
}

function withInetSocket<T>(fn: (fd: number) => T): T {
  const fd = openUdpSocket();
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

/** Which more ioctls can answer: a netmask only with an address, a broadcast address only on a broadcast link. */
function ipv4Asks(flags: number, address: string | undefined): { netmask: boolean; broadcast: boolean } {
  return { netmask: address !== undefined, broadcast: address !== undefined && (flags & IFF_BROADCAST) !== 0 };
}

function ipv4Info(
  index: number,
  flags: number,
  address: string | undefined,
  more: { netmask: string | undefined; broadcast: string | undefined },
): InterfaceIPv4 {
  return {
    index,
    up: (flags & IFF_UP) !== 0,
    loopback: (flags & IFF_LOOPBACK) !== 0,
    multicast: (flags & IFF_MULTICAST) !== 0,
    address,
    ...more,
  };
}

/**
 * What the kernel says about an interface's IPv4 side (the same ioctls Heartbeat uses for bcast);
 * undefined when the interface does not exist.
 */
export function interfaceIPv4(name: string): InterfaceIPv4 | undefined {
  const index = interfaceIndex(name);
  if (index === 0) return undefined;
  const L = libc();
  return withInetSocket((fd) => {
    const req = ifreq(name);
    if (L.ioctl(fd, SIOCGIFFLAGS, 'void *', req) < 0) return undefined;
    const flags = req.readUInt16LE(16);
    const addrOf = (ioc: number): string | undefined => {
      const r = ifreq(name);
      // EADDRNOTAVAIL: the interface has no IPv4 address.
      if (L.ioctl(fd, ioc, 'void *', r) < 0) return undefined;
      return formatIPv4(r, 20);
    };
    const address = addrOf(SIOCGIFADDR);
    const asks = ipv4Asks(flags, address);
    return ipv4Info(index, flags, address, {
      netmask: asks.netmask ? addrOf(SIOCGIFNETMASK) : undefined,
      broadcast: asks.broadcast ? addrOf(SIOCGIFBRDADDR) : undefined,
    });
  });
}

export const ARPHRD_ETHER = 1;

/** The interface's link-layer type (ARPHRD_*) and address; undefined when the interface does not exist. */
export function interfaceHw(name: string): { readonly type: number; readonly address: Uint8Array } | undefined {
  validateIfName(name);
  const L = libc();
  return withInetSocket((fd) => {
    const req = ifreq(name);
    if (L.ioctl(fd, SIOCGIFHWADDR, 'void *', req) < 0) return undefined;
    // struct sockaddr at offset 16: sa_family = ARPHRD_* type, then sa_data; Ethernet uses its first 6 bytes.
    return { type: req.readUInt16LE(16), address: Uint8Array.from(req.subarray(18, 24)) };
  });
}

/** The interface's hardware (MAC) address; undefined when the interface does not exist. */
export function interfaceHwAddr(name: string): Uint8Array | undefined {
  return interfaceHw(name)?.address;
}

/**
 * Sends one whole link-layer frame out of `ifindex` on an AF_PACKET/SOCK_RAW socket.
 * Returns the number of bytes written; throws SyscallError (VIGIL_ERR_ARP_SEND) otherwise.
 */
export function sendFrame(
  fd: number,
  ifindex: number,
  frame: Uint8Array,
  ethertype: number,
  destMac: Uint8Array,
): number {
  const sll = Buffer.alloc(20);
  sll.writeUInt16LE(AF_PACKET, 0);
  sll.writeUInt16BE(ethertype, 2);
  sll.writeInt32LE(ifindex, 4);
  sll.writeUInt16LE(1, 8); // ARPHRD_ETHER
  sll.writeUInt8(0, 10);
  sll.writeUInt8(destMac.length, 11);
  Buffer.from(destMac).copy(sll, 12);
  const buf = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return check(
    libc().sendto(fd, buf, buf.length, 0, sll, 20),
    'VIGIL_ERR_ARP_SEND',
    'sendto',
    `AF_PACKET ifindex ${ifindex}`,
  );
}

interface AsyncCallable {
  async: (...args: unknown[]) => void;
}

/**
 * Runs a libc call on the libuv threadpool. What needs it: calls that take the kernel's RTNL lock (rtnetlink
 * requests, the SIOCGIFADDR family). Another process holding RTNL (a namespace teardown, a container start) can
 * block them for a second; on the event loop that second is a missed heartbeat and a false failover.
 */
function offLoop(fn: unknown, ...args: unknown[]): Promise<{ rc: number; errno: number }> {
  return new Promise((resolve, reject) => {
    (fn as AsyncCallable).async(...args, (err: unknown, rc: number) => {
      if (err !== null && err !== undefined) {
        reject(
          new VigilError(
            'VIGIL_ERR_FFI',
            `asynchronous libc call failed: ${err instanceof Error ? err.message : 'unknown error'}`,
          ),
        );
        return;
      }
      resolve({ rc, errno: rc < 0 ? koffi.errno() : 0 });
    });
  });
}

/** interfaceIPv4 with the RTNL-taking ioctls off the event loop (periodic device checks). */
export async function interfaceIPv4Async(name: string): Promise<InterfaceIPv4 | undefined> {
  const index = interfaceIndex(name);
  if (index === 0) return undefined;
  const L = libc();
  const fd = openUdpSocket();
  try {
    const req = ifreq(name);
    // SIOCGIFFLAGS is answered under RCU: no lock to wait for.
    if (L.ioctl(fd, SIOCGIFFLAGS, 'void *', req) < 0) return undefined;
    const flags = req.readUInt16LE(16);
    const addrOf = async (ioc: number): Promise<string | undefined> => {
      const r = ifreq(name);
      if ((await offLoop(L.ioctl3, fd, ioc, r)).rc < 0) return undefined;
      return formatIPv4(r, 20);
    };
    const address = await addrOf(SIOCGIFADDR);
    const asks = ipv4Asks(flags, address);
    return ipv4Info(index, flags, address, {
      netmask: asks.netmask ? await addrOf(SIOCGIFNETMASK) : undefined,
      broadcast: asks.broadcast ? await addrOf(SIOCGIFBRDADDR) : undefined,
    });
  } finally {
    closeFd(fd);
  }
}

/** netlinkSend off the event loop: the kernel runs the request (and waits for RTNL) inside sendto. */
export async function netlinkSendAsync(fd: number, msg: Uint8Array): Promise<void> {
  const nl = Buffer.alloc(12);
  nl.writeUInt16LE(AF_NETLINK, 0);
  const buf = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  const r = await offLoop(libc().sendto, fd, buf, buf.length, 0, nl, 12);
  if (r.rc < 0) throw new SyscallError('VIGIL_ERR_SOCKET_SEND', 'sendto', 'AF_NETLINK', r.errno);
}

/** netlinkRecv off the event loop (further dump parts are built inside recv). */
export async function netlinkRecvAsync(fd: number, maxBytes = 65536): Promise<Buffer | undefined> {
  const buf = Buffer.allocUnsafe(maxBytes);
  const r = await offLoop(libc().recv, fd, buf, maxBytes, 0);
  if (r.rc < 0) {
    if (r.errno === osConstants.errno.EAGAIN) return undefined;
    throw new SyscallError('VIGIL_ERR_SOCKET', 'recv', 'AF_NETLINK', r.errno);
  }
  return buf.subarray(0, r.rc);
}

/** A non-blocking NETLINK_ROUTE socket (address queries and lifetime changes without spawning `ip`). */
export function openRtnetlinkSocket(): number {
  return openSocket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, 'AF_NETLINK, NETLINK_ROUTE');
}

/** Sends one netlink message to the kernel. */
export function netlinkSend(fd: number, msg: Uint8Array): void {
  const nl = Buffer.alloc(12);
  nl.writeUInt16LE(AF_NETLINK, 0);
  const buf = Buffer.from(msg.buffer, msg.byteOffset, msg.byteLength);
  check(libc().sendto(fd, buf, buf.length, 0, nl, 12), 'VIGIL_ERR_SOCKET_SEND', 'sendto', 'AF_NETLINK');
}

/**
 * One datagram from a netlink socket, or undefined when none is queued (EAGAIN). rtnetlink answers requests
 * synchronously within sendto (and builds further dump parts within recv), so callers never need to wait.
 */
export function netlinkRecv(fd: number, maxBytes = 65536): Buffer | undefined {
  const buf = Buffer.allocUnsafe(maxBytes);
  const n = libc().recv(fd, buf, maxBytes, 0);
  if (n < 0) {
    const errno = koffi.errno();
    if (errno === osConstants.errno.EAGAIN) return undefined;
    throw new SyscallError('VIGIL_ERR_SOCKET', 'recv', 'AF_NETLINK', errno);
  }
  return buf.subarray(0, n);
}

const AF_UNIX = 1;
const SUN_PATH_MAX = 108;

/** A non-blocking AF_UNIX datagram socket (sd_notify, syslog's /dev/log): Node's dgram has no Unix datagrams. */
export function openUnixDatagramSocket(): number {
  return openSocket(AF_UNIX, SOCK_DGRAM, 0, 'AF_UNIX/SOCK_DGRAM');
}

/**
 * Sends one datagram to a Unix socket path; a leading `@` names an abstract socket (as NOTIFY_SOCKET does).
 * Never blocks: a full receiver (EAGAIN) is an error the caller counts.
 */
export function sendUnixDatagram(fd: number, path: string, data: Uint8Array): number {
  const name = Buffer.from(path.startsWith('@') ? '\0' + path.slice(1) : path, 'utf8');
  if (name.length >= SUN_PATH_MAX) throw new VigilError('VIGIL_ERR_SOCKET_SEND', `unix socket path too long: ${path}`);
  const addr = Buffer.alloc(2 + SUN_PATH_MAX);
  addr.writeUInt16LE(AF_UNIX, 0);
  name.copy(addr, 2);
  // Abstract names are length-delimited (no trailing NUL); filesystem paths include theirs.
  const alen = 2 + name.length + (path.startsWith('@') ? 0 : 1);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return check(libc().sendto(fd, buf, buf.length, 0, addr, alen), 'VIGIL_ERR_SOCKET_SEND', 'sendto', path);
}

export const SCHED_OTHER = 0;
export const SCHED_FIFO = 1;
export const SCHED_RR = 2;
/** Children (resource scripts, ping) start with the normal policy: a script must never run at realtime priority. */
export const SCHED_RESET_ON_FORK = 0x40000000;

/**
 * Sets the scheduling policy of the calling thread (pid 0 = this thread, which for Node is the event loop).
 * Throws SyscallError (EPERM without CAP_SYS_NICE or with no realtime budget in the cgroup).
 */
export function setScheduler(policy: number, priority: number, tid = 0): void {
  check(
    libc().schedSetscheduler(tid, policy, intBuf(priority)),
    'VIGIL_ERR_SCHED',
    'sched_setscheduler',
    `policy ${policy}, priority ${priority}`,
  );
}

/** The calling thread's policy, flags masked off. */
export function getScheduler(): number {
  return check(libc().schedGetscheduler(0), 'VIGIL_ERR_SCHED', 'sched_getscheduler', 'self') & ~SCHED_RESET_ON_FORK;
}
