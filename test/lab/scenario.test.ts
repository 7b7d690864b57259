import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { runScenario, type ScenarioResult } from '../../lab/scenario.js';
import { cleanup } from '../../lab/topology.js';
import { leftovers, needRoot, uniquePrefix } from './helpers.js';

// FAST timings (keepalive 100 ms, deadtime 500 ms). Bounds are loose on purpose: the machine's two cores are
// shared, and Heartbeat's resource scripts alone take seconds under load. What must hold exactly is the outcome.
const FAST = { keepaliveMs: 100, deadtimeMs: 500, nodes: 2 } as const;

function explain(r: ScenarioResult): string {
  return JSON.stringify({ ...r, events: r.events.slice(-30) }, null, 1);
}

test('heartbeat kill: linux2 takes over, the restarted linux1 gets the VIP back, converged', async (t) => {
  if (!needRoot(t)) return;
  const prefix = uniquePrefix('skil');
  try {
    const r = await runScenario({ ...FAST, impl: 'heartbeat', scenario: 'kill', prefix });
    assert.equal(r.error, null, explain(r));
    assert.equal(r.converged, true, explain(r));
    assert.deepEqual(r.holders_after, ['linux1'], explain(r));
    assert.equal(r.client_mac_ok, true, explain(r));
    assert.ok(r.detect_ms !== null && r.detect_ms >= 400 && r.detect_ms < 10_000, `detect ${r.detect_ms}`);
    assert.ok(r.takeover_ms !== null, 'linux2 took the VIP');
    for (const k of [
      'impl',
      'scenario',
      'keepalive_ms',
      'deadtime_ms',
      'outage_ms',
      'detect_ms',
      'dual_active_ms',
      'holders_after',
      'client_mac_ok',
      'converged',
    ]) {
      assert.ok(k in r, `result field ${k}`);
    }
  } finally {
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});

test('heartbeat failback: power off linux1, linux2 takes over, linux1 powers on and takes the VIP back', async (t) => {
  if (!needRoot(t)) return;
  const prefix = uniquePrefix('sfbk');
  try {
    const r = await runScenario({ ...FAST, impl: 'heartbeat', scenario: 'failback', prefix });
    assert.equal(r.error, null, explain(r));
    assert.equal(r.converged, true, explain(r));
    assert.deepEqual(r.holders_after, ['linux1'], explain(r));
    assert.ok(r.takeover_ms !== null && r.failback_ms !== null, explain(r));
    assert.ok(r.outage_ms !== null && r.outage_ms > 400, `a power cut cannot go unnoticed: outage ${r.outage_ms}`);
  } finally {
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});

test('keepalived has no standby: the result says unsupported', async (t) => {
  if (!needRoot(t)) return;
  const r = await runScenario({ ...FAST, impl: 'keepalived', scenario: 'standby', prefix: uniquePrefix('sstb') });
  assert.equal(r.supported, false);
});

test('the vigil driver fails clearly while `vigil run` does not exist', async (t) => {
  const d = new VigilDriver();
  const ok = await d.checkAvailable().then(
    () => true,
    (e: unknown) => {
      assert.match(String(e), /Vigil daemon not available yet/);
      return false;
    },
  );
  if (ok) t.diagnostic('vigil run exists: the driver is live');
});
