/**
 * `npm run sim -- [--seeds N] [--first S] [--workers W] [--nodes 2-7] [--reloads] [--quorum release|keep|none] [--lists]`: a simulation campaign over N seeds
 * (default 100,000), every core busy; prints progress, any failing seed with its replay command, and totals.
 * `npm run sim -- --seed S [--trace]` replays one seed and prints its trace.
 */
import { parseArgs } from 'node:util';
import { optionsForSeed, runSim } from '../src/sim/sim.js';
import { describeFailure, runCampaign } from './lib/sim-pool.js';

const USAGE =
  'usage: npm run sim -- [--seeds N] [--first S] [--workers W] [--nodes 2-5] [--reloads] [--quorum release|keep|none] [--lists]\n' +
  '       npm run sim -- --seed S [--trace] [--nodes 2-5] [--reloads] [--quorum release|keep|none] [--lists]\n';

function args() {
  try {
    return parseArgs({
      options: {
        seeds: { type: 'string', default: '100000' },
        first: { type: 'string', default: '1' },
        workers: { type: 'string' },
        nodes: { type: 'string' },
        seed: { type: 'string' },
        trace: { type: 'boolean', default: false },
        reloads: { type: 'boolean', default: false },
        quorum: { type: 'string' },
        lists: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    process.exit(2);
  }
}
const { values } = args();
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (values.quorum !== undefined && !['release', 'keep', 'none'].includes(values.quorum)) {
  process.stderr.write(`--quorum takes release, keep or none\n${USAGE}`);
  process.exit(2);
}
const overrides = {
  ...(values.nodes === undefined ? {} : { nodeCount: Number(values.nodes) }),
  ...(values.reloads ? { reloads: true } : {}),
  ...(values.quorum === undefined
    ? {}
    : { quorum: values.quorum === 'none' ? undefined : (values.quorum as 'release' | 'keep') }),
  ...(values.lists ? { groupLists: true } : {}),
};

if (values.seed !== undefined) {
  const r = runSim(optionsForSeed(Number(values.seed), { ...overrides, trace: values.trace }));
  for (const line of r.trace) console.log(line);
  console.log(
    JSON.stringify(
      { seed: r.seed, violations: r.violations, convergedAfterMs: r.convergedAfterMs, stats: r.stats },
      null,
      2,
    ),
  );
  process.exitCode = r.violations.length === 0 ? 0 : 1;
} else {
  const count = Number(values.seeds);
  const started = Date.now();
  const r = await runCampaign({
    first: Number(values.first),
    count,
    workers: values.workers === undefined ? undefined : Number(values.workers),
    overrides,
    onProgress: (done) => {
      const s = (Date.now() - started) / 1000;
      process.stderr.write(`\r${done}/${count} seeds, ${s.toFixed(0)} s`);
    },
  });
  process.stderr.write('\n');
  for (const f of r.failures.slice(0, 20)) console.log(`FAIL ${describeFailure(f)}`);
  console.log(
    `${r.seeds} seeds in ${(r.ms / 1000).toFixed(1)} s: ${r.failures.length} failing, worst convergence ` +
      `${r.worstConvergenceMs} ms after faults, ${r.takeovers} takeovers, ${r.heals} heal releases, ` +
      `${r.packets} packets, ${r.retransmissions} retransmissions`,
  );
  process.exitCode = r.failures.length === 0 ? 0 : 1;
}
