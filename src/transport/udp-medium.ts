/**
 * What bcast, ucast, mcast, ucast6 and mcast6 share: sockets made through libc (dgram cannot SO_BINDTODEVICE) and handed to dgram by
 * fd, counters, and the device watch.
 *
 * Device watch: SO_BINDTODEVICE and multicast membership bind to an ifindex at setsockopt time. When the device is
 * deleted and recreated (network restart, bond/VLAN rebuild, veth recreation) the old sockets stay bound to an index
 * that no longer exists: Heartbeat then goes deaf on that link until restarted (reference §8). Here every
 * `deviceCheckMs` (by a timer, or on the daemon's sends: `deviceWatch`) the medium compares if_nametoindex(dev) (one
 * cheap syscall, answered under RCU) with the index it bound to; when the device is gone or its index changed it
 * closes the sockets (`down` event), and reopens them as soon as the device exists again with what the medium needs
 * (for bcast, an IPv4 broadcast address) (`reopened` event). A send failing with ENODEV/ENXIO triggers the same check at once. Every FULL_CHECK_EVERY-th check also
 * reads the device's addresses and refreshes the bcast destination, so readdressing the interface is followed too:
 * not on every check, because those ioctls take RTNL and so run on the threadpool, three thread hops each, and an
 * idle daemon's CPU is mostly wake-ups.
 */
import dgram from 'node:dgram';
import {
  closeFd,
  interfaceIndex,
  interfaceIPv4,
  interfaceIPv4Async,
  openUdp6Socket,
  openUdpSocket,
  setIntOption,
  SO_RCVBUF,
  SOL_SOCKET,
  validateIfName,
  type InterfaceIPv4,
} from '../os/libc.js';
import { VigilError } from '../util/errors.js';
import {
  MAX_UDP_PAYLOAD,
  newMediumStats,
  type Medium,
  type MediumEvent,
  type MediumEventHandler,
  type MediumKind,
  type MediumState,
  type MediumStats,
  type PacketHandler,
  type PacketInfo,
} from './medium.js';

export interface UdpMediumOptions {
  /** Device check period in ms (see the module comment). Default 1000; 0 disables the watch. */
  readonly deviceCheckMs?: number;
  /**
   * Where the checks run: `timer` (default), every deviceCheckMs on a timer of their own; `sends`, riding on sends,
   * at most every deviceCheckMs, for an owner that sends at least every few seconds whatever the medium's state
   * (the daemon's heartbeat), so an idle daemon does not wake up for them.
   */
  readonly deviceWatch?: 'timer' | 'sends';
  /** Datagrams handed to libuv and not yet sent; beyond this, sends are dropped and counted. Default 512. */
  readonly maxInFlight?: number;
  /** SO_RCVBUF for the receiving socket, bytes (the kernel doubles it); default: the kernel's. */
  readonly recvBufferBytes?: number;
}

/** The sockets one open of a medium produced. `recvFd` is undefined for a send-only medium. */
export interface OpenedFds {
  readonly sendFd: number;
  readonly recvFd: number | undefined;
  readonly dest: PacketInfo;
}

/** One socket of an open medium, for diagnostics and tests (options can be read back with libc.getIntOption). */
export interface SocketDescription {
  readonly role: 'send' | 'recv';
  readonly fd: number;
}

const DEFAULT_CHECK_MS = 1000;
const FULL_CHECK_EVERY = 5;
const DEFAULT_MAX_IN_FLIGHT = 512;

/** Makes a dgram socket of an fd made by libc (of the family `type` says); on failure the fd is closed. */
export async function wrapUdpFd(fd: number, type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  // The type only tells dgram how to read destination addresses; the fd keeps the family it was made with.
  const sock = dgram.createSocket({ type });
  // bind({ fd }) adopts the fd synchronously (uv_udp_open) or throws; once adopted, closing the dgram socket closes it.
  const st = { adopted: false };
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ fd }, () => {
        sock.off('error', reject);
        resolve();
      });
      st.adopted = true;
    });
  } catch (e) {
    try {
      sock.close();
    } catch {
      /* never bound */
    }
    if (!st.adopted) closeFd(fd);
    throw new VigilError('VIGIL_ERR_SOCKET', `cannot hand fd ${fd} to dgram: ${String(e)}`, undefined, { cause: e });
  }
  return sock;
}

function closeSocket(sock: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => {
        resolve();
      });
    } catch {
      resolve(); // already closed
    }
  });
}

/** Closes fds of a failed open, ignoring errors: the original error is what matters. */
export function closeQuietly(...fds: (number | undefined)[]): void {
  for (const fd of fds) if (fd !== undefined && fd >= 0) closeFd(fd);
}

/** Opens a UDP socket (IPv4 unless `family` is 6) and runs `setup` on it; closes it if setup throws. */
export function socketWith(setup: (fd: number) => void, family: 4 | 6 = 4): number {
  const fd = family === 6 ? openUdp6Socket() : openUdpSocket();
  try {
    setup(fd);
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return fd;
}

export abstract class UdpMedium implements Medium {
  abstract readonly kind: MediumKind;
  readonly name: string;
  readonly port: number;
  protected readonly options: UdpMediumOptions;
  /** What the fds of openFds are: IPv6 media say `udp6`. */
  protected readonly socketType: 'udp4' | 'udp6' = 'udp4';

  private st: MediumState = 'new';
  private selfPeer = false;
  private ifindex = 0;
  private dest: PacketInfo | undefined;
  private sendSock: dgram.Socket | undefined;
  private recvSock: dgram.Socket | undefined;
  private fds: SocketDescription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastWatchAt = 0;
  private watches = 0;
  private inFlight = 0;
  private lastErrorText = '';
  private reopening = false;
  /** A full device check is in flight (see checkDevice). */
  private checking = false;
  private downFrom = 0;
  private readonly packetHandlers = new Set<PacketHandler>();
  private readonly eventHandlers = new Set<MediumEventHandler>();
  private readonly counters: MediumStats = newMediumStats();

  protected constructor(dev: string, port: number, options: UdpMediumOptions) {
    validateIfName(dev);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new VigilError('VIGIL_ERR_SOCKET_BIND', `${dev}: bad UDP port ${port}`);
    }
    this.name = dev;
    this.port = port;
    this.options = options;
  }

  abstract readonly description: string;

  /** Opens and configures the fds for the device as it is now. Must close whatever it opened if it throws. */
  protected abstract openFds(ifindex: number, info: InterfaceIPv4): OpenedFds;

  /** Called in start() before anything is opened; true makes the medium inert (`self`). */
  protected isSelf(): boolean {
    return false;
  }

  /** Where to send given the device as it is now; undefined when it cannot carry this medium yet. */
  protected abstract destinationFor(info: InterfaceIPv4): PacketInfo | undefined;

  get state(): MediumState {
    return this.st;
  }

  get peerIsSelf(): boolean {
    return this.selfPeer;
  }

  get stats(): Readonly<MediumStats> {
    return { ...this.counters };
  }

  /** The fds of the open sockets (empty unless `open`). */
  sockets(): readonly SocketDescription[] {
    return this.fds;
  }

  /** The ifindex the sockets are bound to (0 unless `open`). */
  get boundIfindex(): number {
    return this.ifindex;
  }

  /** Current destination of sends (undefined unless open). */
  get destination(): PacketInfo | undefined {
    return this.dest;
  }

  onPacket(handler: PacketHandler): () => void {
    this.packetHandlers.add(handler);
    return () => this.packetHandlers.delete(handler);
  }

  onEvent(handler: MediumEventHandler): () => void {
    this.eventHandlers.add(handler);
    return () => this.eventHandlers.delete(handler);
  }

  async start(): Promise<void> {
    if (this.st !== 'new') throw new VigilError('VIGIL_ERR_MEDIUM_STATE', `${this.description}: already started`);
    if (this.isSelf()) {
      this.selfPeer = true;
      this.st = 'self';
      return;
    }
    const info = interfaceIPv4(this.name);
    if (info === undefined) {
      throw new VigilError('VIGIL_ERR_NO_DEVICE', `${this.description}: no such interface ${this.name}`);
    }
    await this.openOn(info);
    this.st = 'open';
    this.emit({ type: 'open', ifindex: this.ifindex });
    const every = this.options.deviceCheckMs ?? DEFAULT_CHECK_MS;
    this.lastWatchAt = performance.now();
    if (every > 0 && this.options.deviceWatch !== 'sends') {
      this.timer = setInterval(() => {
        this.watchDevice();
      }, every);
      this.timer.unref();
    }
  }

  /** One device check (see the module comment). */
  private watchDevice(): void {
    this.lastWatchAt = performance.now();
    this.watches++;
    if (this.watches % FULL_CHECK_EVERY !== 0 && this.sameDevice()) return;
    void this.checkDevice();
  }

  send(bytes: Uint8Array): void {
    this.sendNow(bytes);
    // After the datagram is on its way: a device check never delays the heartbeat it rides on.
    if (this.options.deviceWatch === 'sends' && (this.st === 'open' || this.st === 'down')) this.watchOnSend();
  }

  private sendNow(bytes: Uint8Array): void {
    switch (this.st) {
      case 'new':
        throw new VigilError('VIGIL_ERR_MEDIUM_STATE', `${this.description}: send before start`);
      case 'self':
      case 'closed':
      case 'down':
        this.counters.sendDropped++;
        return;
      case 'open':
        break;
    }
    const sock = this.sendSock;
    const dest = this.dest;
    if (sock === undefined || dest === undefined || this.reopening) {
      this.counters.sendDropped++;
      return;
    }
    if (bytes.byteLength > MAX_UDP_PAYLOAD) {
      this.counters.sendDropped++;
      this.reportError(
        new VigilError('VIGIL_ERR_MSG_TOO_BIG', `${this.description}: ${bytes.byteLength} bytes exceed one datagram`),
      );
      return;
    }
    if (this.inFlight >= (this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)) {
      this.counters.sendDropped++;
      return;
    }
    this.inFlight++;
    const len = bytes.byteLength;
    sock.send(bytes, dest.port, dest.address, (err) => {
      this.inFlight--;
      if (err === null) {
        this.counters.packetsSent++;
        this.counters.bytesSent += len;
        // The failure episode is over: the next failure is news again.
        this.lastErrorText = '';
        return;
      }
      this.counters.sendErrors++;
      const code = (err as NodeJS.ErrnoException).code ?? '';
      this.reportError(
        new VigilError(
          'VIGIL_ERR_SOCKET_SEND',
          `${this.description}: send to ${dest.address}:${dest.port}: ${code}`,
          undefined,
          {
            cause: err,
          },
        ),
      );
      if (code === 'ENODEV' || code === 'ENXIO') void this.checkDevice();
    });
  }

  /**
   * `deviceWatch: 'sends'`: the check rides on the heartbeat's own wake-up. Due at half the period already, so that
   * sends at exactly the period (keepalive = deviceCheckMs) with jitter do not skip every other one. No timer at
   * all, not even a backstop pushed back on each send: Node wakes up at a pushed-back timer's old expiry anyway.
   */
  private watchOnSend(): void {
    const every = this.options.deviceCheckMs ?? DEFAULT_CHECK_MS;
    if (every > 0 && performance.now() - this.lastWatchAt >= every / 2) this.watchDevice();
  }

  async close(): Promise<void> {
    if (this.st === 'closed') return;
    this.st = 'closed';
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.closeSockets();
  }

  private emit(ev: MediumEvent): void {
    for (const h of this.eventHandlers) {
      try {
        h(ev);
      } catch {
        // An event listener (a logger) failing must not break the medium; there is nobody left to tell.
      }
    }
  }

  private reportError(error: VigilError): void {
    // One report per distinct error until the state changes: a dead link must not flood the log at packet rate.
    if (error.message === this.lastErrorText) return;
    this.lastErrorText = error.message;
    this.emit({ type: 'error', error });
  }

  private async openOn(info: InterfaceIPv4): Promise<void> {
    const opened = this.openFds(info.index, info);
    const { recvBufferBytes } = this.options;
    try {
      if (opened.recvFd !== undefined && recvBufferBytes !== undefined) {
        setIntOption(opened.recvFd, SOL_SOCKET, SO_RCVBUF, recvBufferBytes, 'SO_RCVBUF');
      }
    } catch (e) {
      closeQuietly(opened.sendFd, opened.recvFd);
      throw e;
    }
    // wrapUdpFd closes the fd it was given when it fails; only the other one is ours to close then.
    let sendSock: dgram.Socket;
    try {
      sendSock = await wrapUdpFd(opened.sendFd, this.socketType);
    } catch (e) {
      closeQuietly(opened.recvFd);
      throw e;
    }
    let recvSock: dgram.Socket | undefined;
    if (opened.recvFd !== undefined) {
      try {
        recvSock = await wrapUdpFd(opened.recvFd, this.socketType);
      } catch (e) {
        await closeSocket(sendSock);
        throw e;
      }
    }
    sendSock.on('error', (e) => {
      this.counters.sendErrors++;
      this.reportError(
        new VigilError('VIGIL_ERR_SOCKET', `${this.description}: ${e.message}`, undefined, { cause: e }),
      );
    });
    if (recvSock !== undefined) {
      const link = this.name;
      recvSock.on('message', (msg, rinfo) => {
        this.counters.packetsReceived++;
        this.counters.bytesReceived += msg.length;
        const from: PacketInfo = { address: rinfo.address, port: rinfo.port };
        for (const h of this.packetHandlers) {
          // A throwing receiver is a bug above us; it must not let one datagram take the daemon down.
          try {
            h(msg, from, link);
          } catch (e) {
            this.counters.handlerErrors++;
            this.reportError(
              new VigilError(
                'VIGIL_ERR_INTERNAL',
                `${this.description}: packet handler threw: ${String(e)}`,
                undefined,
                {
                  cause: e,
                },
              ),
            );
          }
        }
      });
      recvSock.on('error', (e) => {
        this.counters.receiveErrors++;
        this.reportError(
          new VigilError('VIGIL_ERR_SOCKET', `${this.description}: ${e.message}`, undefined, { cause: e }),
        );
      });
    }
    this.sendSock = sendSock;
    this.recvSock = recvSock;
    this.fds = [{ role: 'send', fd: opened.sendFd }];
    if (opened.recvFd !== undefined) this.fds.push({ role: 'recv', fd: opened.recvFd });
    this.ifindex = info.index;
    this.dest = opened.dest;
    this.lastErrorText = '';
  }

  private async closeSockets(): Promise<void> {
    const socks = [this.sendSock, this.recvSock];
    this.sendSock = undefined;
    this.recvSock = undefined;
    this.fds = [];
    this.ifindex = 0;
    this.dest = undefined;
    for (const s of socks) if (s !== undefined) await closeSocket(s);
  }

  /** The cheap part of the check: true when nothing the index can tell has changed. */
  private sameDevice(): boolean {
    if (this.checking) return true;
    const index = interfaceIndex(this.name);
    if (this.st === 'open') return index === this.ifindex;
    return this.st === 'down' && index === 0;
  }

  /** Exposed for tests and for callers that learn of a link change some other way (e.g. a netlink monitor). */
  async checkDevice(): Promise<void> {
    if (this.checking || (this.st !== 'open' && this.st !== 'down')) return;
    // Only `reopening` stops sends, and only while the sockets are swapped: a check that finds the device as it
    // was must not cost a heartbeat (the check runs right after a send, and the next one may come within it).
    this.checking = true;
    try {
      let info: InterfaceIPv4 | undefined;
      try {
        // Off the event loop: SIOCGIFADDR waits for RTNL, which a busy host can hold for a second.
        info = await interfaceIPv4Async(this.name);
      } catch (e) {
        if (e instanceof VigilError) this.reportError(e);
        return;
      }
      if (this.st === 'open') {
        if (info !== undefined && info.index === this.ifindex) {
          const dest = this.destinationFor(info);
          if (dest !== undefined) this.dest = dest;
          return;
        }
        const previous = this.ifindex;
        this.reopening = true;
        await this.closeSockets();
        if ((this.st as MediumState) === 'closed') return;
        this.st = 'down';
        this.lastErrorText = '';
        this.emit({
          type: 'down',
          reason:
            info === undefined
              ? `${this.name} disappeared (was ifindex ${previous})`
              : `${this.name} changed ifindex ${previous} -> ${info.index}`,
        });
        this.downFrom = previous;
      }
      if (info === undefined) return;
      if (this.destinationFor(info) === undefined) return;
      this.reopening = true;
      try {
        await this.openOn(info);
      } catch (e) {
        if (e instanceof VigilError) this.reportError(e);
        return;
      }
      if ((this.st as MediumState) === 'closed') {
        await this.closeSockets();
        return;
      }
      this.st = 'open';
      this.counters.reopens++;
      this.emit({ type: 'reopened', ifindex: info.index, previousIfindex: this.downFrom });
    } finally {
      this.checking = false;
      this.reopening = false;
    }
  }
}
