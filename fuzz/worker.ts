/** One target's campaign in a worker thread, so that a hang or a heap blow-up ends that target only. */
import { parentPort, workerData } from 'node:worker_threads';
import { runTarget } from './engine.js';
import { targetNamed } from './targets/index.js';

export interface WorkerJob {
  readonly target: string;
  readonly runs: number;
  readonly seed: number;
  readonly stacks: boolean;
  readonly maxGrowthMib: number;
  readonly progress: SharedArrayBuffer;
}

const job = workerData as WorkerJob;
const port = parentPort;
const target = targetNamed(job.target);
if (port === null || target === undefined) throw new Error(`fuzz worker: no target ${job.target}`);
const report = await runTarget(target, {
  runs: job.runs,
  seed: job.seed,
  stacks: job.stacks,
  maxGrowthMiB: job.maxGrowthMib,
  progress: new Int32Array(job.progress),
  log: (line) => {
    port.postMessage({ type: 'log', line });
  },
});
port.postMessage({ type: 'done', report });
