import {
  bindIPv6,
  bindToDevice,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_V6ONLY,
  joinGroup6,
  setIntOption,
  SO_REUSEADDR,
  SOL_SOCKET,
  type InterfaceIPv4,
} from '../os/libc.js';
import { VigilError } from '../util/errors.js';
import { canonicalIPv6, isMulticastIPv6, parseIPv6 } from '../util/inet.js';
import type { PacketInfo } from './medium.js';
import { closeQuietly, socketWith, UdpMedium, type OpenedFds, type UdpMediumOptions } from './udp-medium.js';

export interface Mcast6Spec {
  readonly kind: 'mcast6';
  readonly dev: string;
  readonly group: string;
  readonly port: number;
  readonly hops: number;
  readonly loop: boolean;
}

/**
 * `mcast6 dev group port hops loop`, as Heartbeat's mcast6 plugin: the send socket has IPV6_MULTICAST_IF (the
 * device's index), IPV6_MULTICAST_HOPS and IPV6_MULTICAST_LOOP; the receive socket has SO_REUSEADDR and joins the
 * group on the device. The plugin binds its receive socket to [::]:port, which also takes any unicast sent to that
 * port; this one is bound to the device and to [group]:port (IPV6_V6ONLY), so it hears the group only. Heartbeat's
 * hops ≤ 4 and scope rules are the config layer's; here any hop limit 0–255 is accepted. With loop on, our own
 * packets come back (the wire layer drops them).
 */
export class Mcast6Medium extends UdpMedium {
  readonly kind = 'mcast6' as const;
  protected override readonly socketType = 'udp6' as const;
  readonly description: string;
  readonly group: string;
  readonly hops: number;
  readonly loop: boolean;

  constructor(spec: Omit<Mcast6Spec, 'kind'>, options: UdpMediumOptions = {}) {
    super(spec.dev, spec.port, options);
    const g = canonicalIPv6(spec.group);
    if (g === undefined || !isMulticastIPv6(g)) {
      throw new VigilError('VIGIL_ERR_ADDR_INVALID', `mcast6 ${spec.dev}: not an IPv6 multicast group: ${spec.group}`);
    }
    if (!Number.isInteger(spec.hops) || spec.hops < 0 || spec.hops > 255) {
      throw new VigilError('VIGIL_ERR_SOCKET_OPTION', `mcast6 ${spec.dev}: bad hop limit ${spec.hops}`);
    }
    this.group = g;
    this.hops = spec.hops;
    this.loop = spec.loop;
    this.description = `mcast6 ${spec.dev} ${g} ${spec.port} ${spec.hops} ${spec.loop ? 1 : 0}`;
  }

  /** Link-local scope (ffx2::): meaningful on one link only, so it is addressed with the device as zone. */
  private get linkScope(): boolean {
    return ((parseIPv6(this.group)?.[1] ?? 0) & 0x0f) === 2;
  }

  protected destinationFor(_info: InterfaceIPv4): PacketInfo {
    return { address: this.linkScope ? `${this.group}%${this.name}` : this.group, port: this.port };
  }

  protected openFds(ifindex: number, info: InterfaceIPv4): OpenedFds {
    const sendFd = socketWith((fd) => {
      bindToDevice(fd, this.name);
      setIntOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, 'IPV6_MULTICAST_IF');
      setIntOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, this.hops, 'IPV6_MULTICAST_HOPS');
      setIntOption(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, this.loop ? 1 : 0, 'IPV6_MULTICAST_LOOP');
    }, 6);
    let recvFd: number | undefined;
    try {
      recvFd = socketWith((fd) => {
        setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, 'IPV6_V6ONLY');
        setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
        bindToDevice(fd, this.name);
        bindIPv6(fd, this.group, this.port, this.linkScope ? ifindex : 0);
        joinGroup6(fd, this.group, ifindex);
      }, 6);
    } catch (e) {
      closeQuietly(sendFd);
      throw e;
    }
    return { sendFd, recvFd, dest: this.destinationFor(info) };
  }
}
