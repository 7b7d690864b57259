/**
 * Keeps what this node heard of each peer (generation and highest sequence number) across its own restarts, so that
 * authentic packets captured before a restart are still replays after it (src/os/peer-state.ts has the file).
 * Saved at once when a peer's generation rises, every SAVE_EVERY_MS while sequence numbers advance, and at a
 * graceful stop; never on the packet path (each save is one small file written in the background).
 */
import { errorMessage } from '../util/errors.js';
import type { Logger } from '../obs/log.js';
import { loadPeerGenerations, savePeerGenerations, type PeerGeneration } from '../os/peer-state.js';
import type { PeerProgress } from '../wire/index.js';

/**
 * The window in which a capture taken just before a crash can still be believed after it. The live peer's next
 * packets close it anyway: once heard, anything older is a duplicate.
 */
export const SAVE_EVERY_MS = 30_000;

export class PeerFloors {
  private stored = new Map<string, PeerGeneration>();
  private lastText = '';
  private timer: NodeJS.Timeout | undefined;
  private source:
    (() => { progress: Map<string, PeerProgress>; uuidOf: (n: string) => Uint8Array | undefined }) | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {}

  /** What the last run saved, as the wire layer's floors. A damaged file is logged and ignored, never fatal. */
  async load(): Promise<Map<string, PeerProgress>> {
    this.stored = await loadPeerGenerations(this.stateDir, (why) => {
      this.logger.warn(why);
    });
    this.lastText = JSON.stringify([...this.stored]);
    return new Map([...this.stored].map(([n, p]) => [n, { generation: p.generation, seq: p.seq }]));
  }

  /** Start saving what `source` reports (the node's wire layer). */
  start(source: NonNullable<PeerFloors['source']>): void {
    this.source = source;
    this.timer = setInterval(() => {
      void this.save();
    }, SAVE_EVERY_MS);
    this.timer.unref();
  }

  /**
   * A peer's generation went up: saved at once (a restart of the peer is when old captures pile up), once the
   * packet that raised it is through the wire layer (its sequence number is then known).
   */
  generationRose(): void {
    setImmediate(() => {
      void this.save();
    });
  }

  /** Writes the current state if it differs from what was last written; errors are logged, never thrown. */
  async save(): Promise<void> {
    const src = this.source?.();
    if (src === undefined) return;
    const next = new Map(this.stored);
    for (const [node, p] of src.progress) {
      const uuid = src.uuidOf(node);
      const uuidHex =
        uuid === undefined ? (this.stored.get(node)?.uuidHex ?? '0'.repeat(32)) : Buffer.from(uuid).toString('hex');
      next.set(node, { generation: p.generation, seq: p.seq, uuidHex });
    }
    const text = JSON.stringify([...next]);
    if (text === this.lastText) return;
    this.lastText = text;
    this.stored = next;
    try {
      await savePeerGenerations(this.stateDir, next);
    } catch (e) {
      this.lastText = '';
      this.logger.error(`cannot save peer generations: ${errorMessage(e)}`);
    }
  }

  /** Last save (graceful stop). */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.save();
  }
}
