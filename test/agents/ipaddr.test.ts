import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IpAddrAgent, defaultLeaseSec, type VipPolicy } from '../../src/agents/ipaddr.js';
import { MemoryAddressManager } from '../../src/os/address-memory.js';
import type { ArpAnnouncer, GarpOptions } from '../../src/os/garp.js';
import { IpCommandAddressManager } from '../../src/os/ip.js';
import { createLinked, netnsUnavailable } from '../helpers/netns.js';

class RecordingArp implements ArpAnnouncer {
  readonly calls: GarpOptions[] = [];
  announce(opts: GarpOptions) {
    this.calls.push(opts);
    return Promise.resolve({ method: 'packet' as const, pairsSent: opts.count ?? 5 });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function memorySetup(policy: Partial<VipPolicy> = {}, leaseCap?: (now: number) => number) {
  const clock = { t: 0, now: () => clock.t, wallNow: () => clock.t };
  const addresses = new MemoryAddressManager(clock, { eth1: ['192.168.1.29/24'] });
  const arp = new RecordingArp();
  const lost: string[] = [];
  const logs: string[] = [];
  const full: VipPolicy = {
    leaseSec: 7,
    renewIntervalMs: 20,
    garpCount: 10,
    garpIntervalMs: 500,
    garpRefreshMs: 0,
    ...policy,
  };
  const agent = new IpAddrAgent(
    '192.168.1.50',
    'IPaddr',
    { address: '192.168.1.50', cidr: undefined, nic: undefined, broadcast: undefined },
    {
      addresses,
      arp,
      policy: full,
      log: (l, t) => logs.push(`${l}: ${t}`),
      onLost: (spec, why) => lost.push(`${spec}: ${why}`),
      now: clock.now,
      ...(leaseCap === undefined ? {} : { leaseCap: () => leaseCap(clock.t) }),
    },
  );
  return { clock, addresses, arp, lost, logs, agent };
}

test('a bare VIP finds its NIC from the subnet, gets the eth1:0 label and a lease, and is announced', async () => {
  const { addresses, arp, agent } = memorySetup();
  assert.equal((await agent.status()).running, false);
  assert.deepEqual(await agent.start(), { ok: true, rc: 0, detail: '' });
  assert.deepEqual(addresses.log, ['add 192.168.1.50/24 eth1 eth1:0 7']);
  assert.equal(arp.calls.length, 1);
  assert.equal(arp.calls[0]!.count, 10);
  assert.equal(arp.calls[0]!.device, 'eth1');
  assert.match((await agent.status()).text, /running on eth1:0/);
  await sleep(70);
  assert.ok(
    addresses.log.some((l) => l === 'renew 192.168.1.50 eth1 7 /24'),
    `renewals name the prefix they added (one request, no lookup): ${addresses.log.join('\n')}`,
  );
  const lists = addresses.lists;
  assert.equal((await agent.stop()).ok, true);
  assert.equal(addresses.lists, lists, 'the release removes where it added, without listing first');
  assert.equal(addresses.log.at(-1), 'remove 192.168.1.50 eth1');
  assert.equal((await agent.status()).running, false);
  const n = addresses.log.length;
  await sleep(60);
  assert.equal(addresses.log.length, n, 'no renewals after stop');
});

test('on the beat (policy.onBeat): no timers; tick() renews at 3/4 of the interval, refreshes at the full one', async () => {
  const { clock, addresses, arp, agent } = memorySetup({ onBeat: true, renewIntervalMs: 1000, garpRefreshMs: 4000 });
  assert.equal((await agent.start()).ok, true);
  const renewals = (): number => addresses.log.filter((l) => l.startsWith('renew')).length;
  await sleep(60);
  assert.equal(renewals(), 0, 'no timer of its own');
  clock.t = 700;
  agent.tick();
  assert.equal(renewals(), 0, 'not due before 750 ms');
  clock.t = 800;
  agent.tick();
  await sleep(5);
  assert.equal(renewals(), 1);
  agent.tick();
  await sleep(5);
  assert.equal(renewals(), 1, 'once per interval');
  assert.equal(arp.calls.length, 1, 'the takeover burst only');
  clock.t = 3000;
  agent.tick();
  await sleep(5);
  assert.equal(renewals(), 2);
  assert.equal(arp.calls.length, 1, 'no refresh before the full 4 s');
  clock.t = 4000;
  agent.tick();
  await sleep(5);
  assert.equal(arp.calls.length, 2, 'refreshed 4 s after the burst');
  assert.equal(arp.calls[1]!.count, 1);
  assert.equal(renewals(), 3);
  await agent.stop();
  clock.t = 10_000;
  agent.tick();
  await sleep(5);
  assert.equal(renewals(), 3, 'nothing once released');
});

test('IPaddr VIPs acquired at once get labels of their own (eth1:0, eth1:1), as ifconfig needs', async () => {
  const { addresses, arp, agent } = memorySetup({ renewIntervalMs: 60_000 });
  // More VIPs on the same address manager, as one node's haresources line would start them.
  const another = (ip: string): IpAddrAgent =>
    new IpAddrAgent(
      ip,
      'IPaddr',
      { address: ip, cidr: undefined, nic: undefined, broadcast: undefined },
      {
        addresses,
        arp,
        policy: { leaseSec: 7, renewIntervalMs: 60_000, garpCount: 10, garpIntervalMs: 500, garpRefreshMs: 0 },
        log: () => undefined,
        onLost: () => undefined,
      },
    );
  const second = another('192.168.1.51');
  const third = another('192.168.1.52');
  try {
    const r = await Promise.all([agent.start(), second.start(), third.start()]);
    assert.ok(r.every((x) => x.ok));
    const labels = addresses.log.filter((l) => l.startsWith('add')).map((l) => l.split(' ')[3]);
    assert.deepEqual([...labels].sort(), ['eth1:0', 'eth1:1', 'eth1:2'], addresses.log.join('\n'));
  } finally {
    for (const a of [agent, second, third]) await a.stop();
  }
});

test('a VIP moved to another device by hand is still found and removed by stop', async () => {
  const { addresses, agent } = memorySetup({ renewIntervalMs: 60_000 });
  assert.equal((await agent.start()).ok, true);
  await addresses.remove('192.168.1.50', 'eth1');
  await addresses.add({ address: '192.168.1.50', prefixLength: 24, device: 'eth2' });
  assert.equal((await agent.stop()).ok, true);
  assert.equal(await addresses.find('192.168.1.50'), undefined);
  assert.deepEqual(addresses.log.slice(-2), ['remove 192.168.1.50 eth1', 'remove 192.168.1.50 eth2']);
});

test('start announces the VIP even when the address is already present (Heartbeat skips that)', async () => {
  const { addresses, arp, agent } = memorySetup({ leaseSec: undefined });
  await addresses.add({ address: '192.168.1.50', prefixLength: 24, device: 'eth1', label: 'eth1:0' });
  assert.equal((await agent.start()).ok, true);
  assert.equal(addresses.log.filter((l) => l.startsWith('add')).length, 1, 'not added twice');
  assert.equal(arp.calls.length, 1);
  await agent.stop();
});

test('a lease that ran out during a stall is reported lost once and never re-added', async () => {
  const { clock, addresses, lost, agent } = memorySetup();
  assert.equal((await agent.start()).ok, true);
  clock.t += 8000; // the whole process "froze" past its 7 s lease
  await sleep(80);
  assert.equal(lost.length, 1);
  assert.match(lost[0]!, /expired 1000 ms ago/);
  assert.equal(await addresses.find('192.168.1.50'), undefined);
  assert.equal(addresses.log.filter((l) => l.startsWith('add')).length, 1);
  await agent.stop();
});

test('checkLease: a stall past the lease is known at once, without asking the kernel', async () => {
  const { clock, addresses, lost, agent } = memorySetup({ renewIntervalMs: 60_000 });
  assert.equal((await agent.start()).ok, true);
  clock.t += 6999;
  assert.equal(agent.checkLease(), false, 'still inside the lease');
  clock.t += 1;
  const calls = addresses.log.length;
  assert.equal(agent.checkLease(), true);
  assert.equal(lost.length, 1, 'reported synchronously');
  assert.equal(addresses.log.length, calls, 'no address call needed');
  assert.equal(agent.checkLease(), false, 'reported once');
  assert.equal(lost.length, 1);
  await agent.stop();
});

test('vigil_quorum etcd: a VIP that runs out under an etcd lease not renewed says so, not "stalled"', async () => {
  // The etcd lease was last renewed at 0: the VIP must be gone by 4.7 s, so its lifetime is capped, then not renewed.
  const { clock, lost, logs, agent } = memorySetup({ leaseSec: 2, renewIntervalMs: 60_000 }, () => 4700);
  assert.equal((await agent.start()).ok, true);
  for (const t of [1000, 2000, 3000]) {
    clock.t = t;
    agent.renewNow();
    await sleep(10);
  }
  assert.equal(lost.length, 1, 'the VIP ran out at 3 s');
  assert.match(lost[0]!, /lease of 192\.168\.1\.50 expired 0 ms ago \(its lifetime was capped by the etcd lease/);
  assert.doesNotMatch(lost[0]!, /stalled/);
  assert.ok(logs.some((l) => l.startsWith('CRIT: ') && /could not be renewed in time/.test(l)));
  await agent.stop();
});

test('vigil_quorum etcd: a stall past the lease is still a stall while the etcd lease was being renewed', async () => {
  const { clock, lost, agent } = memorySetup({ leaseSec: 2, renewIntervalMs: 60_000 }, (now) => now + 4700);
  assert.equal((await agent.start()).ok, true);
  clock.t = 1000;
  agent.renewNow();
  await sleep(10);
  clock.t += 8000; // frozen past both leases
  assert.equal(agent.checkLease(), true);
  assert.match(lost[0]!, /expired 6000 ms ago \(this node was stalled\)/);
  await agent.stop();
});

test('the lease is counted from the last renewal that succeeded', async () => {
  const { clock, lost, agent } = memorySetup({ renewIntervalMs: 20 });
  assert.equal((await agent.start()).ok, true);
  for (let i = 0; i < 5; i++) {
    clock.t += 3000; // each step is inside the 7 s lease because renewals keep it fresh
    await sleep(60);
  }
  assert.equal(agent.checkLease(), false);
  assert.deepEqual(lost, []);
  await agent.stop();
});

test('a VIP in no local subnet and without a NIC is a clear start failure', async () => {
  const clock = { now: () => 0, wallNow: () => 0 };
  const agent = new IpAddrAgent(
    '10.9.9.9',
    'IPaddr2',
    { address: '10.9.9.9', cidr: undefined, nic: undefined, broadcast: undefined },
    {
      addresses: new MemoryAddressManager(clock, { eth1: ['192.168.1.29/24'] }),
      arp: new RecordingArp(),
      policy: { leaseSec: undefined, renewIntervalMs: 1000, garpCount: 5, garpIntervalMs: 200, garpRefreshMs: 0 },
      log: () => undefined,
      onLost: () => undefined,
    },
  );
  const r = await agent.start();
  assert.equal(r.ok, false);
  assert.match(r.detail, /No interface has a subnet holding 10\.9\.9\.9/);
});

test('the default lease runs out before the peer declares us dead', () => {
  assert.equal(defaultLeaseSec(10_000), 7);
  assert.equal(defaultLeaseSec(30_000), 27);
  assert.equal(defaultLeaseSec(500), 2);
  // auto never exceeds deadtime − keepalive − 1 s: with keepalive 5 s and deadtime 11 s, 5 (not 8).
  assert.equal(defaultLeaseSec(11_000, 5000), 5);
  assert.equal(defaultLeaseSec(30_000, 2000), 27);
});

test('in a real namespace: label eth1:0, kernel lease, periodic refresh, removal', async (t) => {
  const why = await netnsUnavailable();
  if (why !== undefined) {
    t.skip(why);
    return;
  }
  const fx = await createLinked('vipa', ['n1', 'n2'], ['192.168.77'], { hostNumbers: [29, 30] });
  t.after(() => fx.cleanup());
  const addresses = new IpCommandAddressManager({ netns: fx.ns('n1') });
  const arp = new RecordingArp();
  const agent = new IpAddrAgent(
    '192.168.77.50',
    'IPaddr',
    { address: '192.168.77.50', cidr: undefined, nic: undefined, broadcast: undefined },
    {
      addresses,
      arp,
      policy: { leaseSec: 5, renewIntervalMs: 1000, garpCount: 10, garpIntervalMs: 500, garpRefreshMs: 300 },
      log: () => undefined,
      onLost: () => undefined,
    },
  );
  assert.equal((await agent.start()).ok, true);
  const { stdout } = await fx.exec('n1', ['ip', '-json', 'addr', 'show', 'dev', 'eth1']);
  const info = (
    JSON.parse(stdout) as {
      addr_info: { local: string; label?: string; valid_life_time: number; prefixlen: number }[];
    }[]
  )[0]!.addr_info.find((a) => a.local === '192.168.77.50');
  assert.ok(info !== undefined);
  assert.equal(info.label, 'eth1:0');
  assert.equal(info.prefixlen, 24);
  assert.ok(info.valid_life_time <= 5 && info.valid_life_time >= 3, `lease ${info.valid_life_time}`);
  // Generous: two refreshes at 300 ms need ~600 ms; the machine may be loaded.
  await sleep(1500);
  assert.ok(arp.calls.filter((c) => c.count === 1).length >= 2, 'periodic gratuitous ARP refresh');
  assert.equal((await agent.stop()).ok, true);
  assert.equal(await addresses.find('192.168.77.50'), undefined);
});

test('reannounce sends a full burst only while the VIP is held', async () => {
  const { arp, agent } = memorySetup({ renewIntervalMs: 60_000 });
  agent.reannounce();
  assert.equal(arp.calls.length, 0, 'not held yet');
  assert.equal((await agent.start()).ok, true);
  agent.reannounce();
  assert.equal(arp.calls.length, 2);
  assert.equal(arp.calls[1]!.count, 10);
  await agent.stop();
  agent.reannounce();
  assert.equal(arp.calls.length, 2, 'released: nothing to announce');
});

test('a stop waits for the renewal in flight, so the renewal cannot bring the VIP back after the removal', async () => {
  const { addresses, agent } = memorySetup({ renewIntervalMs: 20 });
  assert.equal((await agent.start()).ok, true);
  // The next renewal hangs (RTNL held elsewhere) until released by hand.
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const realRenew = addresses.renew.bind(addresses);
  const order: string[] = [];
  addresses.renew = async (a, d, s) => {
    order.push('renew begins');
    await gate;
    const r = await realRenew(a, d, s);
    order.push('renew ends');
    return r;
  };
  const realRemove = addresses.remove.bind(addresses);
  addresses.remove = async (a, d) => {
    order.push('remove');
    return realRemove(a, d);
  };
  while (!order.includes('renew begins')) await sleep(5);
  const stopped = agent.stop();
  await sleep(30);
  assert.deepEqual(order, ['renew begins'], 'no removal while the renewal is in flight; no second renewal either');
  release();
  assert.equal((await stopped).ok, true);
  assert.deepEqual(order, ['renew begins', 'renew ends', 'remove']);
  assert.equal(await addresses.find('192.168.1.50'), undefined);
});

test('IPv6: no label, nodad, the prefix of its subnet, announced, removed by address and prefix', async () => {
  const clock = { t: 0, now: () => clock.t, wallNow: () => clock.t };
  const addresses = new MemoryAddressManager(clock, { eth1: ['192.168.1.29/24', '2001:db8:1::29/64', 'fe80::29/64'] });
  const arp = new RecordingArp();
  const policy: VipPolicy = {
    leaseSec: 7,
    renewIntervalMs: 1000,
    garpCount: 10,
    garpIntervalMs: 500,
    garpRefreshMs: 0,
    onBeat: true,
  };
  const make = (spec: string, kind: 'IPaddr' | 'IPaddr2' | 'IPv6addr', address: string, nic?: string) =>
    new IpAddrAgent(
      spec,
      kind,
      { address, cidr: undefined, nic, broadcast: undefined },
      {
        addresses,
        arp,
        policy,
        log: () => undefined,
        onLost: () => undefined,
        now: clock.now,
      },
    );
  const global = make('IPaddr::2001:db8:1::50', 'IPaddr', '2001:db8:1::50');
  const linkLocal = make('IPv6addr::fe80::50/64/eth1', 'IPv6addr', 'fe80::50', 'eth1');
  assert.equal((await global.start()).ok, true);
  assert.equal((await linkLocal.start()).ok, true);
  assert.deepEqual(addresses.log, ['add 2001:db8:1::50/64 eth1 - 7 nodad', 'add fe80::50/64 eth1 - 7 nodad']);
  assert.deepEqual(
    arp.calls.map((c) => [c.address, c.device, c.count]),
    [
      ['2001:db8:1::50', 'eth1', 10],
      ['fe80::50', 'eth1', 10],
    ],
  );
  assert.deepEqual(global.heldAt(), { address: '2001:db8:1::50', device: 'eth1', prefixLength: 64 });
  const lists = addresses.lists;
  assert.equal((await global.stop()).ok, true);
  assert.equal(addresses.lists, lists, 'removed by the prefix it was added with: no dump');
  assert.equal(addresses.log.at(-1), 'remove 2001:db8:1::50 eth1 /64');
  // A global VIP in no subnet of this host: the agent cannot pick the NIC, and says so.
  const lost = make('IPaddr2::2001:db8:9::50', 'IPaddr2', '2001:db8:9::50');
  assert.match((await lost.start()).detail, /No interface has a subnet holding 2001:db8:9::50/);
});
