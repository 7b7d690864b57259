/**
 * The sender's retransmission history (heartbeat.c `msghist`): the last N messages by sequence
 * number, with the time each was last retransmitted.
 */
export const DEFAULT_HISTORY_SIZE = 500;
/** Bytes kept at most: 500 status packets are ~150 KiB, but 500 messages of 256 KiB would be 125 MiB. */
export const DEFAULT_HISTORY_BYTES = 16 * 1024 * 1024;

/**
 * `bytes` in an ArrayBuffer of its own. A small Buffer (Buffer.concat, Buffer.from) is a view into one of Node's
 * shared 8 KiB pool slabs, and a view kept for long pins its whole slab: 500 kept status packets held about 70 slabs
 * (~0.6 MiB of a daemon that idles at ~60 MB). Returns `bytes` itself when it already owns its buffer.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

interface Entry {
  readonly bytes: Uint8Array;
  /** Monotonic ms of the last retransmission, or -Infinity. */
  lastRexmit: number;
}

export class SendHistory {
  // Sequence numbers only increase, so insertion order is seq order: the first key is the lowest.
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;

  constructor(
    readonly capacity = DEFAULT_HISTORY_SIZE,
    readonly maxBytes = DEFAULT_HISTORY_BYTES,
  ) {}

  /** Keeps a copy of `bytes` that owns its memory (see ownBytes) and returns it. */
  add(seq: number, packet: Uint8Array): Uint8Array {
    const bytes = ownBytes(packet);
    this.entries.set(seq, { bytes, lastRexmit: -Infinity });
    this.bytes += bytes.length;
    while (this.entries.size > this.capacity || (this.bytes > this.maxBytes && this.entries.size > 1)) {
      const oldest = this.entries.entries().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value[0]);
      this.bytes -= oldest.value[1].bytes.length;
    }
    return bytes;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  lowest(): number | undefined {
    const first = this.entries.keys().next();
    return first.done === true ? undefined : first.value;
  }

  /** The stored packet, or why there is none. */
  lookup(seq: number): { found: true; bytes: Uint8Array; lastRexmit: number } | { found: false; tooLow: boolean } {
    const e = this.entries.get(seq);
    if (e !== undefined) return { found: true, bytes: e.bytes, lastRexmit: e.lastRexmit };
    const low = this.lowest();
    return { found: false, tooLow: low !== undefined && seq < low };
  }

  markRexmit(seq: number, now: number): void {
    const e = this.entries.get(seq);
    if (e !== undefined) e.lastRexmit = now;
  }
}
