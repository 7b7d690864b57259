/**
 * The daemon's counters and histograms for `/metrics`. Everything here is a plain number bumped where the thing
 * happens (a packet, a transition, a renewal); the metrics module reads it at scrape time, so the heartbeat path
 * pays one addition and the HTTP server can come and go (reload) without losing counts.
 */

/** A fixed-bucket histogram (Prometheus semantics: cumulative `le` buckets, sum and count). */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  /** `bounds` ascending, in the unit observed (seconds for Prometheus). */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(x: number): void {
    this.sum += x;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (x <= (this.bounds[i] ?? Infinity)) {
        this.counts[i] = (this.counts[i] ?? 0) + 1;
        return;
      }
    }
  }

  /** Cumulative counts per bound (the `+Inf` bucket is `count`). */
  cumulative(): number[] {
    let run = 0;
    return this.counts.map((c) => (run += c));
  }
}

/** Seconds: a takeover or a handover runs from a few ms (a VIP over netlink) to minutes (a slow script). */
export const MOVE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;
/** Seconds: timer lateness and GC pauses. */
export const PAUSE_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5] as const;

/** A counter keyed by one or two label values (bounded: label values come from code, not the network). */
export class LabeledCounter {
  private readonly m = new Map<string, number>();
  private static readonly MAX_KEYS = 4096;

  inc(key: string, by = 1): void {
    const v = this.m.get(key);
    if (v === undefined && this.m.size >= LabeledCounter.MAX_KEYS) return;
    this.m.set(key, (v ?? 0) + by);
  }

  entries(): [string, number][] {
    return [...this.m];
  }

  get(key: string): number {
    return this.m.get(key) ?? 0;
  }
}

export class DaemonStats {
  /** `group\u0000reason` → count. */
  readonly transitions = new LabeledCounter();
  readonly takeoverSeconds = new Histogram(MOVE_BUCKETS);
  readonly handoverSeconds = new Histogram(MOVE_BUCKETS);
  readonly lateness = new Histogram(PAUSE_BUCKETS);
  readonly gcPause = new Histogram(PAUSE_BUCKETS);
  /** Packets handed to the media (one per medium per message). */
  packetsSent = 0;
  /** Wire events by code: rexmit_request, rexmit_served, lost_packets... */
  readonly wireEvents = new LabeledCounter();
  leaseRenewals = 0;
  leaseFailures = 0;
  garpSent = 0;
  garpFailures = 0;
  /** `result` (ok|failed) → health check runs. */
  readonly healthChecks = new LabeledCounter();
  /** `result` (ok|failed|cancelled) → STONITH attempts. */
  readonly stonith = new LabeledCounter();
  /** Peer/link changes: `peer\u0000link\u0000status` → count (flapping links show here). */
  readonly linkChanges = new LabeledCounter();
  notifyRuns = 0;
  notifyFailures = 0;
  notifyDropped = 0;
  /** History lines not written: the disk failed, or stalled long enough to fill the append queue. */
  historyLost = 0;
  /** Entries journald did not take (busy or gone): syslog lines and events lost under vigil_journald. */
  journaldDropped = 0;
  /** vigil_quorum etcd: round trips of etcd lease keep-alives that renewed, and every keep-alive by result. */
  readonly quorumRenewSeconds = new Histogram(PAUSE_BUCKETS);
  /** `result` (renewed|gone|failed) → etcd lease keep-alives. */
  readonly quorumRenewals = new LabeledCounter();
  /** When each group's move started (monotonic ms), to time it when it completes. */
  readonly moveStarted = new Map<string, number>();
}

export const sep = '\u0000';
