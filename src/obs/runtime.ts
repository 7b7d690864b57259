/**
 * What the local process itself costs the heartbeat path: event-loop lateness (measured on the daemon's own
 * liveness-check timer, so measuring adds no wake-ups), garbage-collection pauses (perf_hooks), local stalls the
 * membership compensated for, and the process's RSS and CPU. Shown by `vigil status` so that an operator can
 * tell a slow host from a slow network.
 */
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';

/** Upper bounds (ms) of the lateness histogram buckets; the last bucket is open. */
const BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000] as const;

export interface RuntimeView {
  readonly realtime: boolean;
  readonly rssBytes: number;
  /** CPU time (user + system) since start, ms. */
  readonly cpuMs: number;
  readonly loopLateness: { readonly samples: number; readonly p99Ms: number; readonly maxMs: number };
  readonly gc: { readonly count: number; readonly maxPauseMs: number; readonly totalPauseMs: number };
  readonly stalls: number;
  readonly lastStall: { readonly at: number; readonly lateMs: number } | undefined;
}

export class RuntimeMonitor {
  private readonly counts = new Array<number>(BUCKETS.length + 1).fill(0);
  private samples = 0;
  private maxLate = 0;
  private gcCount = 0;
  private gcMax = 0;
  private gcTotal = 0;
  private stallCount = 0;
  private last: { at: number; lateMs: number } | undefined;
  private observer: PerformanceObserver | undefined;

  constructor(
    private readonly realtime: () => boolean,
    private readonly onLongGc?: (pauseMs: number, kind: string) => void,
    /** GC pauses at least this long are reported through onLongGc. */
    private readonly longGcMs = 100,
    /** Every GC pause, ms (the metrics' histogram). */
    private readonly onPause?: (pauseMs: number) => void,
  ) {}

  start(): void {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.gcCount++;
        this.gcTotal += e.duration;
        if (e.duration > this.gcMax) this.gcMax = e.duration;
        this.onPause?.(e.duration);
        if (e.duration >= this.longGcMs) this.onLongGc?.(e.duration, gcKind((e as { detail?: unknown }).detail));
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
  }

  /** How late a timer of the daemon ran (ms, ≥ 0). */
  lateness(ms: number): void {
    const x = Math.max(0, ms);
    this.samples++;
    if (x > this.maxLate) this.maxLate = x;
    let i = BUCKETS.findIndex((b) => x <= b);
    if (i < 0) i = BUCKETS.length;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
  }

  stall(at: number, lateMs: number): void {
    this.stallCount++;
    this.last = { at, lateMs };
  }

  /** The bucket bound under which 99 % of the samples fall (the max for the open bucket). */
  private p99(): number {
    if (this.samples === 0) return 0;
    const want = Math.ceil(this.samples * 0.99);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= want) return Math.min(BUCKETS[i] ?? this.maxLate, this.maxLate);
    }
    return this.maxLate;
  }

  view(): RuntimeView {
    const cpu = process.cpuUsage();
    return {
      realtime: this.realtime(),
      rssBytes: process.memoryUsage.rss(),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      loopLateness: { samples: this.samples, p99Ms: round(this.p99()), maxMs: round(this.maxLate) },
      gc: { count: this.gcCount, maxPauseMs: round(this.gcMax), totalPauseMs: round(this.gcTotal) },
      stalls: this.stallCount,
      lastStall: this.last,
    };
  }
}

const round = (x: number): number => Math.round(x * 10) / 10;

function gcKind(detail: unknown): string {
  const kind = (detail as { kind?: number } | null)?.kind ?? -1;
  switch (kind) {
    case perfConstants.NODE_PERFORMANCE_GC_MAJOR:
      return 'major';
    case perfConstants.NODE_PERFORMANCE_GC_MINOR:
      return 'minor';
    case perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL:
      return 'incremental';
    case perfConstants.NODE_PERFORMANCE_GC_WEAKCB:
      return 'weak callbacks';
    default:
      return 'gc';
  }
}
