import {
  bindIPv4,
  bindToDevice,
  formatIPv4,
  parseIPv4,
  setIntOption,
  SO_BROADCAST,
  SO_DONTROUTE,
  SOL_SOCKET,
  type InterfaceIPv4,
} from '../os/libc.js';
import { VigilError } from '../util/errors.js';
import type { PacketInfo, MediumSpecOf } from './medium.js';
import { closeQuietly, socketWith, UdpMedium, type OpenedFds, type UdpMediumOptions } from './udp-medium.js';

/**
 * The interface's configured broadcast address, or, when none is configured (`ip addr add a/24` without `brd +`
 * leaves 0.0.0.0, where Heartbeat would blindly send), the one derived from its primary address and netmask.
 * Undefined for /31, /32 and interfaces without IPv4 or without IFF_BROADCAST.
 */
export function broadcastAddressOf(info: InterfaceIPv4): string | undefined {
  if (info.broadcast !== undefined && info.broadcast !== '0.0.0.0') return info.broadcast;
  if (info.broadcast === undefined || info.address === undefined || info.netmask === undefined) return undefined;
  const a = parseIPv4(info.address);
  const m = parseIPv4(info.netmask);
  if (a === undefined || m === undefined) return undefined;
  const mask = m.readUInt32BE(0);
  if (~mask >>> 0 <= 1) return undefined;
  const b = Buffer.alloc(4);
  b.writeUInt32BE((a.readUInt32BE(0) | ~mask) >>> 0, 0);
  return formatIPv4(b);
}

export type BcastSpec = MediumSpecOf<'bcast'>;

/**
 * `bcast dev`: sends to the interface's broadcast address (the one the kernel reports, as Heartbeat's SIOCGIFBRDADDR)
 * from an unbound socket with SO_BROADCAST, SO_DONTROUTE and SO_BINDTODEVICE; receives on INADDR_ANY:port with
 * SO_REUSEADDR and SO_BINDTODEVICE. Our own broadcasts come back to us (the kernel loops them): the wire layer drops
 * them by `src`, as Heartbeat does.
 */
export class BcastMedium extends UdpMedium {
  readonly kind = 'bcast' as const;
  readonly description: string;

  constructor(spec: Omit<BcastSpec, 'kind'>, options: UdpMediumOptions = {}) {
    super(spec.dev, spec.port, options);
    this.description = `bcast ${spec.dev}`;
  }

  protected destinationFor(info: InterfaceIPv4): PacketInfo | undefined {
    const address = broadcastAddressOf(info);
    return address === undefined ? undefined : { address, port: this.port };
  }

  protected openFds(_ifindex: number, info: InterfaceIPv4): OpenedFds {
    const dest = this.destinationFor(info);
    if (dest === undefined) {
      throw new VigilError(
        'VIGIL_ERR_NO_ADDRESS',
        `${this.description}: ${this.name} has no IPv4 broadcast address (an IPv4 address with a broadcast is needed)`,
      );
    }
    const sendFd = socketWith((fd) => {
      setIntOption(fd, SOL_SOCKET, SO_BROADCAST, 1, 'SO_BROADCAST');
      setIntOption(fd, SOL_SOCKET, SO_DONTROUTE, 1, 'SO_DONTROUTE');
      bindToDevice(fd, this.name);
    });
    let recvFd: number | undefined;
    try {
      recvFd = socketWith((fd) => {
        this.shareOnDevice(fd, false);
        bindIPv4(fd, '0.0.0.0', this.port);
      });
    } catch (e) {
      closeQuietly(sendFd);
      throw e;
    }
    return { sendFd, recvFd, dest };
  }
}
