/**
 * The daemon's node (src/daemon/node.ts) end to end without root: two nodes on an in-memory network, a simulated
 * clock, VIPs on in-memory address managers. Packets are real (signed, sequenced); only sockets and `ip` are fakes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileConfig } from '../../src/config/compile.js';
import { diffConfig } from '../../src/config/diff.js';
import type { CompiledConfig } from '../../src/config/types.js';
import { ResourceManager } from '../../src/daemon/resources.js';
import { VigilNode } from '../../src/daemon/node.js';
import { Logger } from '../../src/obs/log.js';
import { MemoryAddressManager } from '../../src/os/address-memory.js';
import type { ArpAnnouncer } from '../../src/os/garp.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { WireProtocol, getString, msg, str, type ReceiveResult } from '../../src/wire/index.js';

const DIR = '/etc/ha.d';
const HACF =
  'keepalive 100ms\ndeadtime 1\nwarntime 500ms\ninitdead 2\nbcast eth1\nauto_failback on\n' +
  'vigil_vip_lease off\nvigil_garp_refresh 0\nnode linux1 linux2\n';
const KEYS = 'auth 1\n1 sha1 secret\n';

function config(local: string, extra = ''): CompiledConfig {
  return compileConfig({
    configDir: DIR,
    localNode: local,
    hacf: { file: `${DIR}/ha.cf`, text: HACF + extra },
    authkeys: { file: `${DIR}/authkeys`, text: KEYS, mode: 0o600 },
    haresources: { file: `${DIR}/haresources`, text: 'linux1 IPaddr::10.0.0.50/24/eth1\n' },
  }).config;
}

const noArp: ArpAnnouncer = { announce: () => Promise.resolve({ sent: 0, via: 'af_packet' } as never) };

interface Host {
  readonly name: string;
  readonly node: VigilNode;
  readonly ips: MemoryAddressManager;
  readonly lines: string[];
  readonly fatal: unknown[];
}

function host(
  net: MemoryNetwork,
  clock: SimulatedClock,
  name: string,
  n: number,
  extra?: Partial<ConstructorParameters<typeof VigilNode>[0]>,
): Host {
  const cfg = config(name);
  const lines: string[] = [];
  const logger = new Logger({
    node: name,
    pid: n,
    tag: 'heartbeat',
    now: () => new Date(clock.wallNow()),
    sinks: [{ write: (_l, _line, text) => void lines.push(text), close: () => Promise.resolve() }],
  });
  logger.debugLevel = 1;
  const ips = new MemoryAddressManager(clock, { eth1: [`10.0.0.${n}/24`] });
  const resources = new ResourceManager({ config: cfg, logger, addresses: ips, arp: noArp });
  const fatal: unknown[] = [];
  const node = new VigilNode({
    config: cfg,
    logger,
    uuid: new Uint8Array(16).fill(n),
    generation: 100 + n,
    media: [net.medium({ segment: 'lan', address: `10.0.0.${n}`, device: 'eth1' })],
    resources,
    scheduler: clock,
    loadavg: () => '0.00 0.00 0.00 1/1 1',
    random: () => 0.5,
    onStopped: () => undefined,
    onFatal: (e) => fatal.push(e),
    ...extra,
  });
  return { name, node, ips, lines, fatal };
}

/** Advance simulated time in small steps, letting deliveries and promise chains run between them. */
async function run(clock: SimulatedClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  }
}

const vip = (h: Host) => h.ips.log.filter((l) => l.startsWith('add 10.0.0.50') || l.startsWith('remove 10.0.0.50'));

/**
 * linux1 and linux2 on one simulated segment, started together; `settle` runs Heartbeat's 10 s both-starting wait
 * so that each holds its own group.
 */
async function pair(
  settle: boolean,
  extraA?: Partial<ConstructorParameters<typeof VigilNode>[0]>,
): Promise<{ clock: SimulatedClock; a: Host; b: Host }> {
  const clock = new SimulatedClock();
  const net = new MemoryNetwork();
  const a = host(net, clock, 'linux1', 1, extraA);
  const b = host(net, clock, 'linux2', 2);
  await a.node.start();
  await b.node.start();
  if (settle) await run(clock, 12_000);
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
  await run(clock, 2000);
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
  await run(clock, 500);
  assert.equal(vip(b).length, 1, b.lines.join('\n'));
  assert.ok(clock.now() - t0 < 1000);
  assert.ok(a.lines.includes('linux1 Heartbeat shutdown complete.'));
  b.node.close();
});

test('reqnodes gets exactly one repnodes; a status with a bad st is ignored, nothing crashes', async () => {
  const clock = new SimulatedClock();
  const net = new MemoryNetwork();
  const a = host(net, clock, 'linux1', 1);
  // A hand-driven linux2: a real WireProtocol on the same segment.
  const peerMedium = net.medium({ segment: 'lan', address: '10.0.0.2', device: 'eth1' });
  const heard: ReceiveResult[] = [];
  const peer = new WireProtocol({
    localNode: 'linux2',
    localUuid: new Uint8Array(16).fill(2),
    generation: 7,
    nodes: ['linux1', 'linux2'],
    keys: config('linux2').authkeys,
    msgfmt: 'netstring',
    ttl: 3,
    maxRexmitDelayMs: 250,
    scheduler: clock,
    random: () => 0.5,
    loadavg: () => 'l',
    transmit: (p) => {
      peerMedium.send(p);
    },
  });
  peerMedium.onPacket((bytes) => heard.push(peer.receive(bytes)));
  await peerMedium.start();
  await a.node.start();
  await run(clock, 200);
  peer.send(msg(str('t', 'status'), str('st', 'bogus'), str('dt', '3e8'), str('protocol', '1')));
  peer.send(msg(str('t', 'reqnodes'), str('dest', 'linux1')));
  await run(clock, 300);
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
  await run(clock, 400);
  assert.equal(a.fatal.length, 1);
  assert.match(String(a.fatal[0]), /boom on a timer/);
  // The packet path: anything that throws while a datagram is handled.
  (b.node as unknown as { wire: { receive: () => never } }).wire.receive = () => {
    throw new Error('boom on a packet');
  };
  await run(clock, 300);
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
    const next = compileConfig({
      configDir: DIR,
      localNode: h.name,
      hacf: { file: `${DIR}/ha.cf`, text: HACF.replace('keepalive 100ms', 'keepalive 50ms') },
      authkeys: { file: `${DIR}/authkeys`, text: KEYS, mode: 0o600 },
      haresources: { file: `${DIR}/haresources`, text: rsc },
    }).config;
    const cur = h.node.snapshot();
    const diff = diffConfig(config(h.name), next);
    assert.deepEqual(diff.groups.added, ['IPaddr::10.0.0.51/24/eth1']);
    await h.node.reconfigure(next, diff, { add: [], remove: [] }, undefined);
    assert.equal(h.node.snapshot().parameters.keepalive, '50ms');
    assert.equal(cur.groups.length, 1);
  }
  await run(clock, 2000);
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
