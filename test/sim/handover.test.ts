/**
 * Planned handovers take one hop (issue 7): the releaser stops the group, then tells the peer,
 * which starts it at once. Outage = stop + one network delay + start. Unplanned (crash) = the
 * time to declare the node dead + start. Measured in the simulation with fixed durations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SIM, runSim, type SimOptions, type SimStep } from '../../src/sim/sim.js';

const STOP = 200;
const START = 300;
const DELAY = 10;

function scenario(script: SimStep[], over: Partial<SimOptions> = {}) {
  return runSim({
    ...DEFAULT_SIM,
    seed: 1,
    nodeCount: 2,
    autoFailback: 'on',
    keepaliveMs: 1000,
    deadtimeMs: 10_000,
    faultMs: 120_000,
    statusLoss: 0,
    maxDelayMs: DELAY,
    minStartMs: START,
    maxStartMs: START,
    minStopMs: STOP,
    maxStopMs: STOP,
    startFailure: 0,
    script,
    ...over,
  });
}

const node1Groups = ['IPaddr::10.0.0.10', 'IPaddr::10.0.0.99'];
const during = (r: ReturnType<typeof scenario>, from: number, to: number) =>
  r.outages.filter((o) => o.fromMs >= from && o.fromMs < to);

test('failback, graceful stop and standby hand over in stop + one delay + start', () => {
  const r = scenario([
    { atMs: 0, node: 1, op: 'boot' }, // node2 alone: takes everything after initdead
    { atMs: 30_000, node: 0, op: 'boot' }, // node1 joins: auto_failback moves its groups home
    { atMs: 50_000, node: 0, op: 'command', command: { op: 'shutdown' } }, // graceful stop
    { atMs: 60_000, node: 0, op: 'boot' }, // back, failback again
    { atMs: 80_000, node: 1, op: 'command', command: { op: 'standby', which: 'all' } },
  ]);
  assert.deepEqual(r.violations, []);
  const bound = STOP + START + 2 * DELAY;
  for (const [what, from, to] of [
    ['failback', 30_000, 50_000],
    ['graceful stop', 50_000, 60_000],
    ['failback after restart', 60_000, 80_000],
    ['hb_standby all', 80_000, 120_000],
  ] as const) {
    const o = during(r, from, to);
    assert.ok(o.length > 0, `${what}: some group moved`);
    for (const x of o) assert.ok(x.ms <= bound, `${what}: ${x.group} dark for ${x.ms} ms (bound ${bound})`);
    console.log(`# ${what}: outages ${o.map((x) => `${x.group}=${x.ms} ms`).join(', ')}`);
  }
  assert.deepEqual(
    during(r, 30_000, 50_000)
      .map((o) => o.group)
      .sort(),
    node1Groups,
  );
});

test('a crash costs deadtime (+ check granularity) + start, not more', () => {
  const r = scenario([
    { atMs: 0, node: 0, op: 'boot' },
    { atMs: 0, node: 1, op: 'boot' },
    { atMs: 40_000, node: 0, op: 'crash' },
  ]);
  assert.deepEqual(r.violations, []);
  const o = during(r, 40_000, 120_000);
  assert.equal(o.length, node1Groups.length);
  for (const x of o) assert.ok(x.ms <= 10_000 + 1000 + 250 + START, `${x.group} dark for ${x.ms} ms`);
  console.log(`# crash: outages ${o.map((x) => `${x.group}=${x.ms} ms`).join(', ')}`);
});
