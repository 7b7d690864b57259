import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandStonith, MeatwareStonith, NullStonith } from '../../src/agents/stonith.js';
import { Fencer } from '../../src/daemon/fencing.js';

test('one attempt per request: null succeeds, a failing command reports why (the engine retries, not the daemon)', async () => {
  assert.deepEqual(await new Fencer(new NullStonith()).attempt('linux1'), { ok: true });
  const f = new Fencer(
    new CommandStonith(['/bin/sh', '-c', 'echo "no power switch" >&2; exit 3', 'fence'], { timeoutMs: 5000 }),
  );
  const r = await f.attempt('linux1');
  assert.ok(!r.ok);
  assert.match(r.detail, /exit code 3: no power switch/);
  assert.deepEqual(f.inProgress(), []);
  assert.equal(f.acknowledge('linux1'), false, 'fence-ack means nothing to a command device');
});

test('meatware: the attempt waits for fence-ack; a second request joins it; an early or wrong ack changes nothing', async () => {
  const logs: string[] = [];
  const f = new Fencer(new MeatwareStonith((_l, t) => logs.push(t)));
  assert.equal(f.acknowledge('linux1'), false, 'nothing waits yet');
  const a = f.attempt('linux1');
  const b = f.attempt('linux1');
  assert.equal(a, b);
  assert.deepEqual(f.inProgress(), ['linux1']);
  assert.ok(f.isMeatware);
  assert.equal(f.acknowledge('linux2'), false);
  assert.equal(f.acknowledge('linux1'), true);
  assert.deepEqual(await a, { ok: true });
  assert.deepEqual(logs, [
    'OPERATOR INTERVENTION REQUIRED to reset linux1.',
    'Run "vigil fence-ack linux1" AFTER power-cycling the machine.',
    'node Meatware-reset: linux1',
  ]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.inProgress(), []);
});

test('a node heard again cancels a waiting reset (it needs none)', async () => {
  const f = new Fencer(new MeatwareStonith(() => undefined));
  const a = f.attempt('linux1');
  f.cancel('linux1');
  assert.deepEqual(await a, { ok: false, detail: 'cancelled' });
  const b = f.attempt('linux1');
  f.cancelAll();
  assert.deepEqual(await b, { ok: false, detail: 'cancelled' });
});
