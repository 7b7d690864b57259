/**
 * Seeded simulation of 2- to 5-node clusters under loss (also one-way), delay, reordering, partitions, crashes,
 * restarts, freezes, stalls, graceful stops, operator commands and STONITH, each node running the daemon's own core
 * and wire protocol (src/sim/sim.ts states the properties).
 *
 * VIGIL_SIM_SEED=<n>   replay one seed and print its full trace (or: npm run sim -- --seed <n> --trace).
 * VIGIL_SIM_SEEDS=<n>  number of seeds (default 2000); VIGIL_SIM_FIRST=<n> first seed (default 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsForSeed, runSim } from '../../src/sim/sim.js';
import { describeFailure, runCampaign } from '../../bench/lib/sim-pool.js';

const one = process.env.VIGIL_SIM_SEED;

test('a seed replays identically (same trace, same result)', () => {
  const a = runSim(optionsForSeed(4242, { trace: true }));
  const b = runSim(optionsForSeed(4242, { trace: true }));
  assert.ok(a.trace.length > 100);
  assert.deepEqual(a.trace, b.trace);
  assert.deepEqual(a.outages, b.outages);
});

if (one !== undefined) {
  test(`simulation seed ${one} (replay)`, () => {
    const r = runSim(optionsForSeed(Number(one), { trace: true }));
    for (const line of r.trace) console.log(line);
    console.log(`converged after ${String(r.convergedAfterMs)} ms (bound ${r.convergeBoundMs} ms)`, r.stats);
    assert.deepEqual(r.violations, [], r.violations.join('\n'));
  });
} else {
  test('simulation with vigil_quorum etcd and group lists: never two holders, at any instant, 2 to 7 nodes', async () => {
    const seeds = Number(process.env.VIGIL_SIM_QUORUM_SEEDS ?? 150);
    let failures: string[] = [];
    for (const [nodes, count] of [
      [undefined, seeds],
      [7, Math.ceil(seeds / 3)],
    ] as const) {
      const r = await runCampaign({
        first: 500_000,
        count,
        overrides: { quorum: 'release', groupLists: true, ...(nodes === undefined ? {} : { nodeCount: nodes }) },
      });
      console.log(
        `# sim quorum${nodes === undefined ? '' : ` ${nodes} nodes`}: ${r.seeds} seeds, ${r.failures.length} failing, ` +
          `worst convergence ${r.worstConvergenceMs} ms after faults, ${r.takeovers} takeovers`,
      );
      for (const f of r.failures.slice(0, 5)) console.log(`# FAIL ${describeFailure(f)}`);
      failures = [...failures, ...r.failures.map((f) => String(f.seed))];
    }
    assert.deepEqual(failures, []);
  });

  test('simulation: thousands of seeds converge and never double-hold while connected', async () => {
    const count = Number(process.env.VIGIL_SIM_SEEDS ?? 2000);
    const first = Number(process.env.VIGIL_SIM_FIRST ?? 1);
    const r = await runCampaign({ first, count });
    console.log(
      `# sim: ${r.seeds} seeds in ${(r.ms / 1000).toFixed(1)} s, ${r.failures.length} failing, ` +
        `worst convergence ${r.worstConvergenceMs} ms after faults, ${r.heals} heal releases, ${r.takeovers} takeovers, ` +
        `${r.retransmissions} retransmissions`,
    );
    for (const f of r.failures.slice(0, 10)) console.log(`# FAIL ${describeFailure(f)}`);
    assert.equal(r.failures.length, 0, r.failures.map((f) => f.seed).join(' '));
  });
}
