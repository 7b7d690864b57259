/**
 * The sender's retransmission history (heartbeat.c `msghist`): the last N messages by sequence
 * number, with the time each was last retransmitted.
 */
export const DEFAULT_HISTORY_SIZE = 500;

interface Entry {
  readonly bytes: Uint8Array;
  /** Monotonic ms of the last retransmission, or -Infinity. */
  lastRexmit: number;
}

export class SendHistory {
  // Sequence numbers only increase, so insertion order is seq order: the first key is the lowest.
  private readonly entries = new Map<number, Entry>();

  constructor(readonly capacity = DEFAULT_HISTORY_SIZE) {}

  add(seq: number, bytes: Uint8Array): void {
    this.entries.set(seq, { bytes, lastRexmit: -Infinity });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
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
