import { errorMessage } from '../util/errors.js';
import { MeatwareStonith, type ResetOutcome, type StonithDevice } from '../agents/stonith.js';

/**
 * One reset attempt per `stonith` action of the engine. The engine owns Heartbeat's gate, its log lines
 * (`Resetting node X with [dev]`, `node X now reset.`, `STONITH of X failed.  Retrying...`) and the 5 s retry
 * (a pure state machine, tested under a simulated clock), so the daemon must not loop on its own: it runs one
 * attempt, reports why it failed, and answers `stonithDone`.
 */
export class Fencer {
  private readonly running = new Map<string, { abort: AbortController; promise: Promise<ResetOutcome> }>();

  constructor(readonly device: StonithDevice) {}

  /** Asking again while an attempt runs (a meatware wait spans several engine retries) joins that attempt. */
  attempt(node: string): Promise<ResetOutcome> {
    const cur = this.running.get(node);
    if (cur !== undefined) return cur.promise;
    const abort = new AbortController();
    const promise = this.device.reset(node, abort.signal).then(
      (r) => r,
      (e: unknown) => ({
        ok: false as const,
        detail: `STONITH device error: ${errorMessage(e)}`,
      }),
    );
    this.running.set(node, { abort, promise });
    void promise.finally(() => {
      if (this.running.get(node)?.promise === promise) this.running.delete(node);
    });
    return promise;
  }

  /** The node came back (or we stop): a pending attempt is abandoned; a meatware wait ends. */
  cancel(node: string): void {
    this.running.get(node)?.abort.abort();
  }

  cancelAll(): void {
    for (const r of this.running.values()) r.abort.abort();
  }

  /** `vigil fence-ack NODE`: true when a meatware reset of NODE was waiting for it. */
  acknowledge(node: string): boolean {
    return this.device instanceof MeatwareStonith && this.device.acknowledge(node);
  }

  get isMeatware(): boolean {
    return this.device instanceof MeatwareStonith;
  }

  inProgress(): string[] {
    return [...this.running.keys()];
  }
}
