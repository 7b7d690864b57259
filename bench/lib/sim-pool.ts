/**
 * Runs simulation seeds on worker threads (one per core): each seed is independent and CPU-bound, and the
 * simulation runs the real wire protocol, so a campaign is worth spreading. Results come back summarised: a
 * failing seed's violations, and totals for the report.
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { optionsForSeed, runSim, type SimOptions } from '../../src/sim/sim.js';

export interface SeedFailure {
  readonly seed: number;
  readonly options: SimOptions;
  readonly violations: readonly string[];
}

export interface CampaignResult {
  readonly seeds: number;
  readonly failures: SeedFailure[];
  readonly worstConvergenceMs: number;
  readonly heals: number;
  readonly takeovers: number;
  readonly packets: number;
  readonly retransmissions: number;
  readonly ms: number;
}

interface Job {
  readonly first: number;
  readonly count: number;
  readonly stride: number;
  readonly overrides: Partial<SimOptions>;
}

type Totals = { -readonly [K in Exclude<keyof CampaignResult, 'ms'>]: CampaignResult[K] };

function runJob(job: Job, onProgress?: (done: number) => void): Totals {
  const t: Totals = {
    seeds: 0,
    failures: [],
    worstConvergenceMs: 0,
    heals: 0,
    takeovers: 0,
    packets: 0,
    retransmissions: 0,
  };
  for (let i = 0; i < job.count; i++) {
    const seed = job.first + i * job.stride;
    const r = runSim(optionsForSeed(seed, job.overrides));
    t.seeds++;
    if (r.violations.length > 0) t.failures.push({ seed, options: r.options, violations: r.violations.slice(0, 5) });
    else t.worstConvergenceMs = Math.max(t.worstConvergenceMs, r.convergedAfterMs ?? 0);
    t.heals += r.stats.heals;
    t.takeovers += r.stats.takeovers;
    t.packets += r.stats.packets;
    t.retransmissions += r.stats.retransmissions;
    if (onProgress !== undefined && t.seeds % 500 === 0) onProgress(t.seeds);
  }
  return t;
}

if (!isMainThread && (workerData as { simPool?: boolean } | null)?.simPool === true) {
  const job = (workerData as { job: Job }).job;
  const totals = runJob(job, (done) => parentPort?.postMessage({ progress: done }));
  parentPort?.postMessage({ totals });
}

/** Seeds `first .. first+count-1`, spread over `workers` threads (default: one per core, at most `count`). */
export async function runCampaign(o: {
  first: number;
  count: number;
  workers?: number;
  overrides?: Partial<SimOptions>;
  onProgress?: (done: number) => void;
}): Promise<CampaignResult> {
  const t0 = performance.now();
  const n = Math.max(1, Math.min(o.workers ?? availableParallelism(), o.count));
  const progress = new Array<number>(n).fill(0);
  const parts = await Promise.all(
    Array.from({ length: n }, (_, w) => {
      const job: Job = {
        first: o.first + w,
        count: Math.floor(o.count / n) + (w < o.count % n ? 1 : 0),
        stride: n,
        overrides: o.overrides ?? {},
      };
      return new Promise<Totals>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: { simPool: true, job } });
        worker.on('message', (m: { progress?: number; totals?: Totals }) => {
          if (m.progress !== undefined) {
            progress[w] = m.progress;
            o.onProgress?.(progress.reduce((a, b) => a + b, 0));
          }
          if (m.totals !== undefined) resolve(m.totals);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`simulation worker exited with ${code}`));
        });
      });
    }),
  );
  const failures = parts.flatMap((p) => p.failures).sort((a, b) => a.seed - b.seed);
  return {
    seeds: parts.reduce((a, p) => a + p.seeds, 0),
    failures,
    worstConvergenceMs: Math.max(0, ...parts.map((p) => p.worstConvergenceMs)),
    heals: parts.reduce((a, p) => a + p.heals, 0),
    takeovers: parts.reduce((a, p) => a + p.takeovers, 0),
    packets: parts.reduce((a, p) => a + p.packets, 0),
    retransmissions: parts.reduce((a, p) => a + p.retransmissions, 0),
    ms: performance.now() - t0,
  };
}

/** The failing seed, what broke, and the one-line command that replays it with a full trace. */
export function describeFailure(f: SeedFailure): string {
  const o = f.options;
  return (
    `seed ${f.seed} (${o.nodeCount} nodes, auto_failback ${o.autoFailback}, stonith ${o.stonith}, ` +
    `keepalive ${o.keepaliveMs} ms, deadtime ${o.deadtimeMs} ms, delay ≤ ${o.maxDelayMs} ms` +
    `${o.quorum === undefined ? '' : `, quorum ${o.quorum}`}${o.groupLists === true ? ', group lists' : ''}):\n  ` +
    f.violations.join('\n  ') +
    `\n  replay: npm run sim -- --seed ${f.seed} --trace`
  );
}
