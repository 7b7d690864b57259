/**
 * Seeded simulation of 2- and 3-node clusters under loss, delay, partitions, crashes, restarts,
 * freezes, graceful stops, operator commands and STONITH (src/sim/sim.ts states the properties).
 *
 * VIGIL_SIM_SEED=<n>   replay one seed and print its full trace.
 * VIGIL_SIM_SEEDS=<n>  number of seeds (default 2000); VIGIL_SIM_FIRST=<n> first seed (default 1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsForSeed, runSim, type SimResult } from '../../src/sim/sim.js';

const one = process.env.VIGIL_SIM_SEED;

function describeFailure(r: SimResult): string {
  const o = r.options;
  return (
    `seed ${r.seed} (${o.nodeCount} nodes, auto_failback ${o.autoFailback}, stonith ${o.stonith}, ` +
    `keepalive ${o.keepaliveMs} ms, deadtime ${o.deadtimeMs} ms, delay ≤ ${o.maxDelayMs} ms):\n  ` +
    r.violations.slice(0, 5).join('\n  ') +
    `\n  replay: VIGIL_SIM_SEED=${r.seed} node --test dist/test/sim/sim.test.js`
  );
}

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
    assert.deepEqual(r.violations, [], describeFailure(r));
  });
} else {
  test('simulation: thousands of seeds converge and never double-hold while connected', () => {
    const count = Number(process.env.VIGIL_SIM_SEEDS ?? 2000);
    const first = Number(process.env.VIGIL_SIM_FIRST ?? 1);
    const failures: SimResult[] = [];
    let worst = 0;
    let heals = 0;
    let takeovers = 0;
    const t0 = performance.now();
    for (let seed = first; seed < first + count; seed++) {
      const r = runSim(optionsForSeed(seed));
      if (r.violations.length > 0) failures.push(r);
      else worst = Math.max(worst, r.convergedAfterMs ?? 0);
      heals += r.stats.heals;
      takeovers += r.stats.takeovers;
    }
    const ms = performance.now() - t0;
    console.log(
      `# sim: ${count} seeds in ${(ms / 1000).toFixed(1)} s, ${failures.length} failing, ` +
        `worst convergence ${worst} ms after faults, ${heals} partition heals, ${takeovers} takeovers`,
    );
    for (const f of failures.slice(0, 10)) console.log(`# FAIL ${describeFailure(f)}`);
    assert.equal(failures.length, 0, failures.map((f) => f.seed).join(' '));
  });
}
