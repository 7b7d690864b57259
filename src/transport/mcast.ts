import {
  addMembership,
  bindIPv4,
  bindToDevice,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IPPROTO_IP,
  parseIPv4,
  setIntOption,
  setMulticastInterface,
  type InterfaceIPv4,
} from '../os/libc.js';
import { VigilError } from '../util/errors.js';
import type { PacketInfo, MediumSpecOf } from './medium.js';
import { closeQuietly, socketWith, UdpMedium, type OpenedFds, type UdpMediumOptions } from './udp-medium.js';

export type McastSpec = MediumSpecOf<'mcast'>;

/**
 * `mcast dev group port ttl loop`: the send socket is bound to the device with IP_MULTICAST_IF (address and index of
 * the device), IP_MULTICAST_TTL and IP_MULTICAST_LOOP; the receive socket has SO_REUSEADDR, is bound to the device
 * and to group:port, and joins the group on the device (by ifindex). Heartbeat's ttl ≤ 4 rule is the config layer's;
 * here any IP ttl (0–255) is accepted. With loop on, our own packets come back (the wire layer drops them).
 */
export class McastMedium extends UdpMedium {
  readonly kind = 'mcast' as const;
  readonly description: string;
  readonly group: string;
  readonly ttl: number;
  readonly loop: boolean;

  constructor(spec: Omit<McastSpec, 'kind'>, options: UdpMediumOptions = {}) {
    super(spec.dev, spec.port, options);
    const g = parseIPv4(spec.group);
    if (g === undefined || (g[0] ?? 0) < 224 || (g[0] ?? 0) > 239) {
      throw new VigilError('VIGIL_ERR_ADDR_INVALID', `mcast ${spec.dev}: not an IPv4 multicast group: ${spec.group}`);
    }
    if (!Number.isInteger(spec.ttl) || spec.ttl < 0 || spec.ttl > 255) {
      throw new VigilError('VIGIL_ERR_SOCKET_OPTION', `mcast ${spec.dev}: bad ttl ${spec.ttl}`);
    }
    this.group = spec.group;
    this.ttl = spec.ttl;
    this.loop = spec.loop;
    this.description = `mcast ${spec.dev} ${spec.group} ${spec.port} ${spec.ttl} ${spec.loop ? 1 : 0}`;
  }

  protected destinationFor(_info: InterfaceIPv4): PacketInfo {
    return { address: this.group, port: this.port };
  }

  protected openFds(ifindex: number, info: InterfaceIPv4): OpenedFds {
    const ifaddr = info.address ?? '0.0.0.0';
    const sendFd = socketWith((fd) => {
      bindToDevice(fd, this.name);
      setMulticastInterface(fd, ifaddr, ifindex);
      setIntOption(fd, IPPROTO_IP, IP_MULTICAST_TTL, this.ttl, 'IP_MULTICAST_TTL');
      setIntOption(fd, IPPROTO_IP, IP_MULTICAST_LOOP, this.loop ? 1 : 0, 'IP_MULTICAST_LOOP');
    });
    let recvFd: number | undefined;
    try {
      recvFd = socketWith((fd) => {
        this.shareOnDevice(fd, false);
        bindIPv4(fd, this.group, this.port);
        addMembership(fd, this.group, ifindex, ifaddr);
      });
    } catch (e) {
      closeQuietly(sendFd);
      throw e;
    }
    return { sendFd, recvFd, dest: this.destinationFor(info) };
  }
}
