import { BcastMedium, type BcastSpec } from './bcast.js';
import { McastMedium, type McastSpec } from './mcast.js';
import { UcastMedium, type UcastSpec } from './ucast.js';
import { Ucast6Medium, type Ucast6Spec } from './ucast6.js';
import { Mcast6Medium, type Mcast6Spec } from './mcast6.js';
import type { UdpMedium, UdpMediumOptions } from './udp-medium.js';

export type * from './medium.js';
export { MAX_UDP_PAYLOAD } from './medium.js';
export { BcastMedium, broadcastAddressOf, type BcastSpec } from './bcast.js';
export { UcastMedium, localIPv4Addresses, type UcastSpec } from './ucast.js';
export { McastMedium, type McastSpec } from './mcast.js';
export { Ucast6Medium, localIPv6Addresses, type Ucast6Spec } from './ucast6.js';
export { Mcast6Medium, type Mcast6Spec } from './mcast6.js';
export { UdpMedium, type UdpMediumOptions, type SocketDescription } from './udp-medium.js';

/** A media line this module carries; structurally the UDP members of config's MediumConfig. */
export type UdpMediumSpec = BcastSpec | UcastSpec | McastSpec | Ucast6Spec | Mcast6Spec;

/** One Medium per media line (not started). */
export function createMedium(spec: UdpMediumSpec, options: UdpMediumOptions = {}): UdpMedium {
  switch (spec.kind) {
    case 'bcast':
      return new BcastMedium(spec, options);
    case 'ucast':
      return new UcastMedium(spec, options);
    case 'mcast':
      return new McastMedium(spec, options);
    case 'ucast6':
      return new Ucast6Medium(spec, options);
    case 'mcast6':
      return new Mcast6Medium(spec, options);
  }
}
export { MemoryMedium, MemoryNetwork, type MemoryFilter, type MemoryMediumSpec } from './memory.js';
