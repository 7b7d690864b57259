import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RuntimeMonitor } from '../../src/obs/runtime.js';
import { statusSnapshot } from '../helpers/status-snapshot.js';
import { renderStatus } from '../../src/cli/status-view.js';

test('timer lateness: p99 by bucket, max exact; stalls counted with the last one', () => {
  const m = new RuntimeMonitor(() => false);
  for (let i = 0; i < 990; i++) m.lateness(0.4);
  for (let i = 0; i < 9; i++) m.lateness(30);
  m.lateness(420);
  m.stall(1000, 420);
  const v = m.view();
  assert.equal(v.loopLateness.samples, 1000);
  assert.equal(v.loopLateness.p99Ms, 1);
  assert.equal(v.loopLateness.maxMs, 420);
  assert.equal(v.stalls, 1);
  assert.deepEqual(v.lastStall, { at: 1000, lateMs: 420 });
  m.lateness(-5); // an early timer is not negative lateness
  assert.equal(m.view().loopLateness.samples, 1001);
  assert.ok(v.rssBytes > 10 * 1048576);
  assert.equal(v.realtime, false);
});

test('GC pauses are observed and long ones reported', async () => {
  const url = new URL('../../src/obs/runtime.js', import.meta.url).href;
  const script = `
    const { RuntimeMonitor } = await import(${JSON.stringify(url)});
    const long = [];
    const m = new RuntimeMonitor(() => false, (ms, kind) => long.push(kind), 0);
    m.start();
    for (let i = 0; i < 3; i++) { const junk = Array.from({ length: 200000 }, (_, j) => ({ j })); void junk; globalThis.gc(); }
    await new Promise((r) => setTimeout(r, 50));
    m.stop();
    console.log(JSON.stringify({ gc: m.view().gc, long }));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--input-type=module', '-e', script]);
  const out = JSON.parse(stdout) as { gc: { count: number; maxPauseMs: number }; long: string[] };
  assert.ok(out.gc.count >= 3, stdout);
  assert.ok(out.gc.maxPauseMs > 0);
  assert.ok(out.long.includes('major'), stdout);
});

test('vigil status shows the runtime line', () => {
  const text = renderStatus(
    statusSnapshot({
      pid: 42,
      generation: 3,
      runtime: {
        realtime: true,
        rssBytes: 50 * 1048576,
        cpuMs: 1234,
        loopLateness: { samples: 10, p99Ms: 2, maxMs: 7.5 },
        gc: { count: 4, maxPauseMs: 3.2, totalPauseMs: 6 },
        stalls: 1,
        lastStall: { at: 50_000, lateMs: 350 },
      },
    }),
    60_000,
  );
  assert.match(
    text,
    /Runtime: realtime \(SCHED_RR\), RSS 50\.0 MiB, CPU 1\.2 s, timer lateness p99 2 ms \/ max 7\.5 ms, GC max pause 3\.2 ms, local stalls 1, last 10s ago \(350 ms\)/,
  );
});
