/**
 * A heartbeat medium: one ha.cf media line (`bcast eth1`, `ucast eth1 10.0.0.2`, `mcast eth1 239.0.0.1 694 1 0`)
 * carrying opaque datagrams. Parsing, authentication, dedupe across media and link liveness belong to the layers
 * above; a medium only moves bytes and says which link (device) they came in on.
 */
import type { VigilError } from '../util/errors.js';

export type MediumKind = 'bcast' | 'ucast' | 'mcast' | 'ucast6' | 'mcast6';

/** Where a datagram came from. */
export interface PacketInfo {
  readonly address: string;
  readonly port: number;
}

/** `linkName` is the device, as in Heartbeat's `Link node2:eth1 up.` */
export type PacketHandler = (bytes: Uint8Array, rinfo: PacketInfo, linkName: string) => void;

/**
 * - `new`: constructed, not started.
 * - `open`: sockets open and bound to the device.
 * - `down`: the device vanished or changed its ifindex; sockets are closed and reopened as soon as it is back.
 * - `self`: a ucast line naming one of our own addresses; nothing is opened (see `Medium.peerIsSelf`).
 * - `closed`: close() was called; final.
 */
export type MediumState = 'new' | 'open' | 'down' | 'self' | 'closed';

export type MediumEvent =
  | { readonly type: 'open'; readonly ifindex: number }
  /** The device disappeared or was recreated with another ifindex; the medium is not carrying packets. */
  | { readonly type: 'down'; readonly reason: string }
  /** Sockets reopened on the device (after `down`); `ifindex` is the new one. */
  | { readonly type: 'reopened'; readonly ifindex: number; readonly previousIfindex: number }
  /**
   * A send or receive error, a failed reopen attempt, or a packet handler that threw. The same error repeated is
   * reported once per failure episode (until a send succeeds or the sockets are reopened); `stats` counts them all.
   */
  | { readonly type: 'error'; readonly error: VigilError };

export type MediumEventHandler = (event: MediumEvent) => void;

export interface MediumStats {
  packetsSent: number;
  bytesSent: number;
  /** The kernel refused a send (ENETUNREACH, ENODEV, ...). */
  sendErrors: number;
  /** Sends dropped before reaching the kernel: medium down, too many in flight, or oversized. */
  sendDropped: number;
  packetsReceived: number;
  bytesReceived: number;
  receiveErrors: number;
  /** Times the sockets were reopened after the device came back. */
  reopens: number;
  /** Packet handlers that threw (each reported as a VIGIL_ERR_INTERNAL error event). */
  handlerErrors: number;
}

export interface Medium {
  readonly kind: MediumKind;
  /** The link name: the device (`eth1`). */
  readonly name: string;
  /** The ha.cf line this medium carries, e.g. `ucast eth1 10.0.0.2`. */
  readonly description: string;
  /** UDP port datagrams are sent to and received on. */
  readonly port: number;
  /**
   * True for a ucast line naming one of this host's own addresses (identical ha.cf files on every node):
   * the medium sends and receives nothing, and the caller marks only the local node's link on `name` up,
   * which is all Heartbeat does with such a line. Decided in start().
   */
  readonly peerIsSelf: boolean;
  readonly state: MediumState;
  /** Opens the sockets. Rejects with a VigilError (VIGIL_ERR_NO_DEVICE, VIGIL_ERR_SOCKET_*, ...) and leaves nothing open. */
  start(): Promise<void>;
  /**
   * Queues one datagram. Never throws once started: failures are counted in `stats` and reported as `error`
   * events, because a lost heartbeat must not take the sender down. Throws VIGIL_ERR_MEDIUM_STATE before start().
   */
  send(bytes: Uint8Array): void;
  /** Adds a receiver; returns a function removing it. */
  onPacket(handler: PacketHandler): () => void;
  onEvent(handler: MediumEventHandler): () => void;
  /** Closes every socket and stops watching the device. Idempotent. */
  close(): Promise<void>;
  /** A snapshot. */
  readonly stats: Readonly<MediumStats>;
}

/** The largest UDP payload IPv4 can carry. */
export const MAX_UDP_PAYLOAD = 65507;

/** Every counter at zero: what a medium starts with. */
export function newMediumStats(): MediumStats {
  return {
    packetsSent: 0,
    bytesSent: 0,
    sendErrors: 0,
    sendDropped: 0,
    packetsReceived: 0,
    bytesReceived: 0,
    receiveErrors: 0,
    reopens: 0,
    handlerErrors: 0,
  };
}
