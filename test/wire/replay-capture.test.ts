import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readPcap } from '../helpers/pcap.js';
import { ClusterEngine } from '../../src/cluster/engine.js';
import { fromFields, toFields } from '../../src/cluster/protocol.js';
import { simConfig } from '../../src/sim/config.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { decodePacket } from '../../src/wire/codec.js';
import { getBinary, getString } from '../../src/wire/message.js';
import { type ReceiveResult, type WireEvent } from '../../src/wire/protocol.js';
import { LAB_KEYS, testWire, VECTORS } from './helpers.js';

async function uuidOf(file: string): Promise<Uint8Array> {
  const p = (await readPcap(path.join(VECTORS, file)))[0]!.payload;
  const d = decodePacket(p);
  assert.ok(d.ok);
  return getBinary(d.packet.message, 'srcuuid')!;
}

const reqnodesSeen: string[] = [];

for (const [local, uuidFile] of [
  ['linux1', 'hb-udp694-status.pcap'],
  ['linux2', 'hb-udp694-starting.pcap'],
] as const) {
  test(`the whole tutorial capture, fed to a Vigil ${local} in capture time: no hostile drop, real rules hold`, async () => {
    const localUuid = await uuidOf(uuidFile);
    const pkts = (await readPcap(path.join(VECTORS, 'heartbeat-tutorial.pcap'))).filter(
      (p) => (p.proto === 'udp' && p.dstPort === 694) || (p.proto === 'icmp' && p.icmpType === 0),
    );
    const clock = new SimulatedClock(0, pkts[0]!.tsUs / 1000);
    const events: WireEvent[] = [];
    const sent: string[] = [];
    const rx = testWire({
      localNode: local,
      localUuid,
      generation: 0x6b08470a,
      nodes: ['linux1', 'linux2'],
      pingNodes: ['192.168.1.1'],
      keys: LAB_KEYS,
      scheduler: clock,
      loadavg: () => '0.00 0.00 0.00 1/1 1',
      transmit: (b) => {
        const d = decodePacket(b);
        assert.ok(d.ok);
        sent.push(getString(d.packet.message, 't')!);
      },
      onEvent: (e) => events.push(e),
    });
    const results: ReceiveResult[] = [];
    const t0 = pkts[0]!.tsUs;
    for (const p of pkts) {
      clock.advance(Math.max(0, (p.tsUs - t0) / 1000 - clock.now()));
      results.push(rx.receive(p.payload));
    }
    const c = rx.counters();
    console.log(`tutorial replay as ${local}: ${JSON.stringify(c)}; sent ${sent.join(' ')}`);
    for (const hostile of [
      'too_big',
      'parse',
      'decompress',
      'unsigned',
      'unknown_key',
      'auth',
      'missing_field',
      'internal',
    ] as const) {
      assert.equal(c[hostile], 0, hostile);
    }
    assert.ok(c.accepted > 200);
    assert.equal(c.unknown_node, 0);
    // A reqnodes for us gets one repnodes answer (the engine's) naming both nodes, addressed to the asker.
    const engine = new ClusterEngine(simConfig({ nodes: ['linux1', 'linux2'], localNode: local, groups: [] }));
    for (const r of results) {
      if (r.kind !== 'accepted' || r.type !== 'reqnodes') continue;
      reqnodesSeen.push(local);
      const m = fromFields((n) => getString(r.message, n));
      assert.ok(!(m instanceof Error));
      const answers = engine
        .handle({ kind: 'message', from: r.from, generation: 1, msg: m })
        .flatMap((a) => (a.kind === 'send' ? [new Map(toFields(a.msg))] : []));
      const [answer, ...more] = answers;
      assert.ok(answer !== undefined && more.length === 0);
      assert.equal(answer.get('nodelist'), 'linux1 linux2 ');
      assert.equal(answer.get('dest'), r.from);
    }
    const pings = results.filter((r) => r.kind === 'accepted' && r.from === '192.168.1.1');
    assert.ok(pings.length > 0, 'ping replies are accepted from the ping node');
    assert.ok(!events.some((e) => e.code === 'replay'));
  });
}

test('a reqnodes was addressed to one of the two nodes in the capture', () => {
  assert.ok(reqnodesSeen.length > 0);
});
