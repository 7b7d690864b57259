import { networkInterfaces } from 'node:os';
import {
  bindIPv4,
  IP_TOS,
  IPPROTO_IP,
  IPTOS_LOWDELAY,
  parseIPv4,
  setIntOption,
  type InterfaceIPv4,
} from '../os/libc.js';
import { VigilError } from '../util/errors.js';
import type { PacketInfo, MediumSpecOf } from './medium.js';
import { closeQuietly, socketWith, UdpMedium, type OpenedFds, type UdpMediumOptions } from './udp-medium.js';

export type UcastSpec = MediumSpecOf<'ucast'>;

/** Every IPv4 address configured on this host (in this network namespace), any interface. */
export function localIPv4Addresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') out.add(a.address);
  }
  return out;
}

/**
 * `ucast dev peer`: one peer per medium. Send socket bound to the device with IP_TOS LOWDELAY; receive socket on
 * INADDR_ANY:port bound to the device, SO_REUSEADDR and SO_REUSEPORT (several ucast lines on one device each open
 * one; the kernel spreads arrivals among them, which is harmless since they report the same link name).
 *
 * A line naming one of our own addresses makes the medium inert (`peerIsSelf`, state `self`): it opens nothing and
 * drops sends, and the caller marks the local node's link up, which is all Heartbeat does with it. That is what
 * lets every node use identical ha.cf files.
 */
export class UcastMedium extends UdpMedium {
  readonly kind = 'ucast' as const;
  readonly description: string;
  readonly peer: string;
  private readonly localAddresses: () => Set<string>;

  constructor(
    spec: Omit<UcastSpec, 'kind'>,
    options: UdpMediumOptions & { readonly localAddresses?: () => Set<string> } = {},
  ) {
    super(spec.dev, spec.port, options);
    if (parseIPv4(spec.peer) === undefined) {
      throw new VigilError('VIGIL_ERR_ADDR_INVALID', `ucast ${spec.dev}: peer is not an IPv4 address: ${spec.peer}`);
    }
    this.peer = spec.peer;
    this.description = `ucast ${spec.dev} ${spec.peer}`;
    this.localAddresses = options.localAddresses ?? localIPv4Addresses;
  }

  protected override isSelf(): boolean {
    return this.localAddresses().has(this.peer);
  }

  protected destinationFor(_info: InterfaceIPv4): PacketInfo {
    return { address: this.peer, port: this.port };
  }

  protected openFds(_ifindex: number, info: InterfaceIPv4): OpenedFds {
    const sendFd = socketWith((fd) => {
      setIntOption(fd, IPPROTO_IP, IP_TOS, IPTOS_LOWDELAY, 'IP_TOS');
      this.shareOnDevice(fd, true);
    });
    let recvFd: number | undefined;
    try {
      recvFd = socketWith((fd) => {
        this.shareOnDevice(fd, true);
        bindIPv4(fd, '0.0.0.0', this.port);
      });
    } catch (e) {
      closeQuietly(sendFd);
      throw e;
    }
    return { sendFd, recvFd, dest: this.destinationFor(info) };
  }
}
