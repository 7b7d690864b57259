/**
 * An in-memory network of Media for tests of the layers above the transport (daemon wiring, control flow): every
 * medium attached to the same segment receives what the others send, like a broadcast domain, delivered on a later
 * macrotask (never synchronously inside send()). Loss and partitions are injected with `filter`.
 * Not a simulator of timing: the pure core's seeded simulations have their own network.
 */
import { VigilError } from '../util/errors.js';
import * as M from './medium.js';

export interface MemoryMediumSpec {
  /** Segment (a link) this medium is attached to; media on the same segment hear each other. */
  readonly segment: string;
  /** This endpoint's address, reported to receivers as the source. */
  readonly address: string;
  /** Link name (device) reported to the receiver's handlers; default `eth1`. */
  readonly device?: string;
  readonly kind?: M.MediumKind;
  readonly port?: number;
  /** Receive our own packets back, as bcast and mcast with loop do; default true. */
  readonly loopback?: boolean;
}

/** Return false to drop a datagram from `from` to `to` (loss, partitions). */
export type MemoryFilter = (bytes: Uint8Array, from: MemoryMedium, to: MemoryMedium) => boolean;

export class MemoryNetwork {
  private readonly members = new Set<MemoryMedium>();
  /** Applied to every delivery; replace it at any time. */
  filter: MemoryFilter = () => true;

  medium(spec: MemoryMediumSpec): MemoryMedium {
    return new MemoryMedium(this, spec);
  }

  /** @internal */
  attach(m: MemoryMedium): void {
    this.members.add(m);
  }

  /** @internal */
  detach(m: MemoryMedium): void {
    this.members.delete(m);
  }

  /** @internal */
  deliver(from: MemoryMedium, bytes: Uint8Array): void {
    const copy = Uint8Array.from(bytes);
    for (const to of this.members) {
      if (to.segment !== from.segment) continue;
      if (to === from && !from.loopback) continue;
      if (!this.filter(copy, from, to)) continue;
      setImmediate(() => {
        to.receive(copy, { address: from.address, port: from.port });
      });
    }
  }
}

export class MemoryMedium implements M.Medium {
  readonly kind: M.MediumKind;
  readonly name: string;
  readonly description: string;
  readonly port: number;
  readonly peerIsSelf = false;
  readonly segment: string;
  readonly address: string;
  readonly loopback: boolean;
  private st: M.MediumState = 'new';
  private readonly packetHandlers = new Set<M.PacketHandler>();
  private readonly eventHandlers = new Set<M.MediumEventHandler>();
  private readonly counters: M.MediumStats = M.newMediumStats();

  constructor(
    private readonly network: MemoryNetwork,
    spec: MemoryMediumSpec,
  ) {
    this.segment = spec.segment;
    this.address = spec.address;
    this.name = spec.device ?? 'eth1';
    this.kind = spec.kind ?? 'bcast';
    this.port = spec.port ?? 694;
    this.loopback = spec.loopback ?? true;
    this.description = `memory ${this.kind} ${this.name} on ${this.segment}`;
  }

  get state(): M.MediumState {
    return this.st;
  }

  get stats(): Readonly<M.MediumStats> {
    return { ...this.counters };
  }

  start(): Promise<void> {
    if (this.st !== 'new') {
      return Promise.reject(new VigilError('VIGIL_ERR_MEDIUM_STATE', `${this.description}: already started`));
    }
    this.st = 'open';
    this.network.attach(this);
    for (const h of this.eventHandlers) h({ type: 'open', ifindex: 1 });
    return Promise.resolve();
  }

  send(bytes: Uint8Array): void {
    if (this.st === 'new') throw new VigilError('VIGIL_ERR_MEDIUM_STATE', `${this.description}: send before start`);
    if (this.st !== 'open') {
      this.counters.sendDropped++;
      return;
    }
    this.counters.packetsSent++;
    this.counters.bytesSent += bytes.byteLength;
    this.network.deliver(this, bytes);
  }

  /** @internal */
  receive(bytes: Uint8Array, from: M.PacketInfo): void {
    if (this.st !== 'open') return;
    this.counters.packetsReceived++;
    this.counters.bytesReceived += bytes.byteLength;
    for (const h of this.packetHandlers) {
      try {
        h(bytes, from, this.name);
      } catch (e) {
        this.counters.handlerErrors++;
        const error = new VigilError('VIGIL_ERR_INTERNAL', `${this.description}: packet handler threw: ${String(e)}`);
        for (const eh of this.eventHandlers) eh({ type: 'error', error });
      }
    }
  }

  onPacket(handler: M.PacketHandler): () => void {
    this.packetHandlers.add(handler);
    return () => this.packetHandlers.delete(handler);
  }

  onEvent(handler: M.MediumEventHandler): () => void {
    this.eventHandlers.add(handler);
    return () => this.eventHandlers.delete(handler);
  }

  close(): Promise<void> {
    this.st = 'closed';
    this.network.detach(this);
    return Promise.resolve();
  }
}
