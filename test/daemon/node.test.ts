/**
 * The daemon's node (src/daemon/node.ts) end to end without root: two nodes on an in-memory network, a simulated
 * clock, VIPs on in-memory address managers. Packets are real (signed, sequenced); only sockets and `ip` are fakes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffConfig } from '../../src/config/diff.js';
import { VigilNode } from '../../src/daemon/node.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { testWire } from '../wire/helpers.js';
import { MEMORY_HACF, memoryConfig, memoryHost, runFor, type MemoryHost } from '../helpers/memory-node.js';
import { getString, msg, str, type ReceiveResult } from '../../src/wire/index.js';

const vip = (h: MemoryHost) =>
  h.ips.log.filter((l) => l.startsWith('add 10.0.0.50') || l.startsWith('remove 10.0.0.50'));

/**
 * linux1 and linux2 on one simulated segment, started together; `settle` runs Heartbeat's 10 s both-starting wait
 * so that each holds its own group.
 */
async function pair(
  settle: boolean,
  extraA?: Partial<ConstructorParameters<typeof VigilNode>[0]>,
): Promise<{ clock: SimulatedClock; a: MemoryHost; b: MemoryHost }> {
  const clock = new SimulatedClock();
  const net = new MemoryNetwork();
  const a = memoryHost(net, clock, 'linux1', 1, { extra: extraA });
  const b = memoryHost(net, clock, 'linux2', 2);
  await a.node.start();
  await b.node.start();
  if (settle) await runFor(clock, 12_000);
  return { clock, a, b };
}

test('two nodes: the preferred one takes the VIP at start; when it dies the other takes over, with typed transitions', async () => {
  // Both start together: each waits Heartbeat's 10 s for the other to settle, then takes its own group.
  const { clock, a, b } = await pair(true);
  assert.deepEqual(vip(a).length, 1, a.lines.join('\n'));
  assert.deepEqual(vip(b), []);
  const sa = a.node.snapshot();
  assert.equal(sa.groups[0]?.holder, 'linux1');
  assert.equal(b.node.snapshot().groups[0]?.holder, 'linux1');
  assert.ok(
    sa.transitions.some((t) => t.to === 'held' && t.reason === 'initial'),
    JSON.stringify(sa.transitions),
  );

  // linux1 dies without a word (kill -9): linux2 declares it dead after deadtime and takes over.
  a.node.close();
  await runFor(clock, 2000);
  assert.equal(vip(b).length, 1, b.lines.join('\n'));
  const tb = b.node.snapshot().transitions.find((t) => t.to === 'acquiring');
  assert.ok(tb !== undefined);
  assert.equal(tb.reason, 'takeover');
  assert.equal(tb.peer, 'linux1');
  assert.match(tb.text, /^IPaddr::10\.0\.0\.50\/24\/eth1 none → acquiring: takeover from linux1 \(nodeDead linux1\)$/);
  assert.ok(b.lines.includes('node linux1: is dead'));
  assert.deepEqual([...a.fatal, ...b.fatal], []);
  b.node.close();
});

test('a graceful stop hands the VIP over at once, without waiting for deadtime', async () => {
  const { clock, a, b } = await pair(true);
  assert.equal(vip(a).length, 1);
  const t0 = clock.now();
  void a.node.shutdown('test');
  await runFor(clock, 500);
  assert.equal(vip(b).length, 1, b.lines.join('\n'));
  assert.ok(clock.now() - t0 < 1000);
  assert.ok(a.lines.includes('linux1 Heartbeat shutdown complete.'));
  b.node.close();
});

test('reqnodes gets exactly one repnodes; a status with a bad st is ignored, nothing crashes', async () => {
  const clock = new SimulatedClock();
  const net = new MemoryNetwork();
  const a = memoryHost(net, clock, 'linux1', 1);
  // A hand-driven linux2: a real WireProtocol on the same segment.
  const peerMedium = net.medium({ segment: 'lan', address: '10.0.0.2', device: 'eth1' });
  const heard: ReceiveResult[] = [];
  const peer = testWire({
    localNode: 'linux2',
    localUuid: new Uint8Array(16).fill(2),
    generation: 7,
    nodes: ['linux1', 'linux2'],
    keys: memoryConfig('linux2').authkeys,
    msgfmt: 'netstring',
    ttl: 3,
    scheduler: clock,
    transmit: (p) => {
      peerMedium.send(p);
    },
  });
  peerMedium.onPacket((bytes) => heard.push(peer.receive(bytes)));
  await peerMedium.start();
  await a.node.start();
  await runFor(clock, 200);
  peer.send(msg(str('t', 'status'), str('st', 'bogus'), str('dt', '3e8'), str('protocol', '1')));
  peer.send(msg(str('t', 'reqnodes'), str('dest', 'linux1')));
  await runFor(clock, 300);
  const reps = heard.filter((r) => r.kind === 'accepted' && r.type === 'repnodes');
  assert.equal(reps.length, 1);
  const rep = reps[0];
  assert.ok(rep?.kind === 'accepted');
  assert.equal(getString(rep.message, 'nodelist'), 'linux1 linux2 ');
  assert.ok(
    a.lines.some((l) => l.startsWith('status from linux2 ignored: t=status: bad st=bogus')),
    a.lines.join('\n'),
  );
  assert.deepEqual(a.fatal, []);
  a.node.close();
  await peerMedium.close();
});

test('an exception on the packet path or on a timer path meets the same policy: onFatal', async () => {
  let beats = 0;
  const { clock, a, b } = await pair(false, {
    onBeat: () => {
      if (++beats === 3) throw new Error('boom on a timer');
    },
  });
  await runFor(clock, 400);
  assert.equal(a.fatal.length, 1);
  assert.match(String(a.fatal[0]), /boom on a timer/);
  // The packet path: anything that throws while a datagram is handled.
  (b.node as unknown as { wire: { receive: () => never } }).wire.receive = () => {
    throw new Error('boom on a packet');
  };
  await runFor(clock, 300);
  assert.ok(b.fatal.length >= 1);
  assert.match(String(b.fatal[0]), /boom on a packet/);
  a.node.close();
  b.node.close();
});

test('a reload adds a group and changes the timing in place; the group that did not change stays put', async () => {
  const { clock, a, b } = await pair(true);
  assert.equal(vip(a).length, 1);
  const before = a.ips.log.length;
  const rsc = 'linux1 IPaddr::10.0.0.50/24/eth1\nlinux2 IPaddr::10.0.0.51/24/eth1\n';
  for (const h of [a, b]) {
    const next = memoryConfig(h.name, MEMORY_HACF.replace('keepalive 100ms', 'keepalive 50ms'), rsc);
    const cur = h.node.snapshot();
    const diff = diffConfig(memoryConfig(h.name), next);
    assert.deepEqual(diff.groups.added, ['IPaddr::10.0.0.51/24/eth1']);
    await h.node.reconfigure(next, diff, { add: [], remove: [] }, undefined);
    assert.equal(h.node.snapshot().parameters.keepalive, '50ms');
    assert.equal(cur.groups.length, 1);
  }
  await runFor(clock, 2000);
  assert.ok(
    b.ips.log.some((l) => l.startsWith('add 10.0.0.51')),
    b.ips.log.join('\n'),
  );
  // linux1's VIP was neither removed nor added again.
  assert.deepEqual(
    a.ips.log.slice(before).filter((l) => l.includes('10.0.0.50')),
    [],
  );
  assert.deepEqual([...a.fatal, ...b.fatal], []);
  a.node.close();
  b.node.close();
});
