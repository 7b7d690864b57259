import { networkInterfaces } from 'node:os';
import {
  bindIPv6,
  bindToDevice,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  setIntOption,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SOL_SOCKET,
  type InterfaceIPv4,
} from '../os/libc.js';
import { VigilError } from '../util/errors.js';
import { canonicalIPv6, isLinkLocalIPv6, isMulticastIPv6 } from '../util/inet.js';
import type { PacketInfo } from './medium.js';
import { closeQuietly, socketWith, UdpMedium, type OpenedFds, type UdpMediumOptions } from './udp-medium.js';

export interface Ucast6Spec {
  readonly kind: 'ucast6';
  readonly dev: string;
  /** IPv6 text (any form); a link-local peer is reached through `dev`. */
  readonly peer: string;
  readonly port: number;
}

/**
 * Every IPv6 address of this host (in this network namespace), canonical; link-local ones as `addr%dev`, since the
 * same fe80:: address on two links is two addresses.
 */
export function localIPv6Addresses(): Set<string> {
  const out = new Set<string>();
  for (const [dev, list] of Object.entries(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv6') continue;
      const c = canonicalIPv6(a.address.split('%')[0] ?? '');
      if (c === undefined) continue;
      out.add(isLinkLocalIPv6(c) ? `${c}%${dev}` : c);
    }
  }
  return out;
}

/**
 * `ucast6 dev peer`, as Heartbeat's ucast6 plugin: the send socket bound to the device; the receive socket on
 * [::]:port bound to the device with SO_REUSEADDR and SO_REUSEPORT. Unlike the plugin the receive socket is
 * IPV6_V6ONLY, so it never takes IPv4 datagrams for port 694 away from a bcast/ucast medium on the same port.
 * A link-local peer is addressed through the device (its zone), as the plugin sets the scope id.
 *
 * A line naming one of our own addresses is inert (`peerIsSelf`), as with ucast: identical ha.cf files everywhere.
 */
export class Ucast6Medium extends UdpMedium {
  readonly kind = 'ucast6' as const;
  protected override readonly socketType = 'udp6' as const;
  readonly description: string;
  readonly peer: string;
  private readonly localAddresses: () => Set<string>;

  constructor(
    spec: Omit<Ucast6Spec, 'kind'>,
    options: UdpMediumOptions & { readonly localAddresses?: () => Set<string> } = {},
  ) {
    super(spec.dev, spec.port, options);
    const peer = canonicalIPv6(spec.peer);
    if (peer === undefined || isMulticastIPv6(peer)) {
      throw new VigilError(
        'VIGIL_ERR_ADDR_INVALID',
        `ucast6 ${spec.dev}: peer is not a unicast IPv6 address: ${spec.peer}`,
      );
    }
    this.peer = peer;
    this.description = `ucast6 ${spec.dev} ${peer}`;
    this.localAddresses = options.localAddresses ?? localIPv6Addresses;
  }

  private get linkLocal(): boolean {
    return isLinkLocalIPv6(this.peer);
  }

  protected override isSelf(): boolean {
    return this.localAddresses().has(this.linkLocal ? `${this.peer}%${this.name}` : this.peer);
  }

  protected destinationFor(_info: InterfaceIPv4): PacketInfo {
    return { address: this.linkLocal ? `${this.peer}%${this.name}` : this.peer, port: this.port };
  }

  protected openFds(_ifindex: number, info: InterfaceIPv4): OpenedFds {
    const sendFd = socketWith((fd) => {
      bindToDevice(fd, this.name);
    }, 6);
    let recvFd: number | undefined;
    try {
      recvFd = socketWith((fd) => {
        setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
        setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
        setIntOption(fd, SOL_SOCKET, SO_REUSEPORT, 1, 'SO_REUSEPORT');
        bindToDevice(fd, this.name);
        bindIPv6(fd, '::', this.port);
      }, 6);
    } catch (e) {
      closeQuietly(sendFd);
      throw e;
    }
    return { sendFd, recvFd, dest: this.destinationFor(info) };
  }
}
