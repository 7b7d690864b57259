import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../src/transport/index.js';

test('memory network: segment broadcast, loopback choice, filters, states', async () => {
  const net = new MemoryNetwork();
  const a = net.medium({ segment: 's1', address: '10.0.0.1' });
  const b = net.medium({ segment: 's1', address: '10.0.0.2', loopback: false });
  const c = net.medium({ segment: 's2', address: '10.0.1.3' });
  const got: { a: string[]; b: string[]; c: string[] } = { a: [], b: [], c: [] };
  for (const [k, m] of [
    ['a', a],
    ['b', b],
    ['c', c],
  ] as const) {
    m.onPacket((bytes, from, link) => got[k].push(`${Buffer.from(bytes).toString()} ${from.address} ${link}`));
  }
  assert.throws(
    () => {
      a.send(new Uint8Array(1));
    },
    { code: 'VIGIL_ERR_MEDIUM_STATE' },
  );
  await Promise.all([a.start(), b.start(), c.start()]);
  a.send(Buffer.from('x'));
  b.send(Buffer.from('y'));
  assert.equal(got.b.length, 0, 'never delivered synchronously');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(got.a.sort(), ['x 10.0.0.1 eth1', 'y 10.0.0.2 eth1']);
  assert.deepEqual(got.b, ['x 10.0.0.1 eth1']);
  assert.equal(got.c.length, 0);
  net.filter = (_bytes, from, to) => !(from === a && to === b);
  a.send(Buffer.from('cut'));
  await new Promise((r) => setImmediate(r));
  assert.ok(!got.b.some((l) => l.startsWith('cut')));
  await b.close();
  a.send(Buffer.from('z'));
  b.send(Buffer.from('late'));
  await new Promise((r) => setImmediate(r));
  assert.equal(b.stats.sendDropped, 1);
  assert.equal(a.stats.packetsSent, 3);
});
