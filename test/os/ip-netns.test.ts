/**
 * The iproute2 AddressManager against a real kernel, in a namespace: labels, lookups, and the VIP lease (the kernel
 * removes an address whose valid_lft ran out; renewals keep it). Needs root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetns, netnsUnavailable, type NetnsFixture } from '../helpers/netns.js';
import { IpCommandAddressManager } from '../../src/os/ip.js';

const skip = await netnsUnavailable();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('iproute2 address manager', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;
  let ip: IpCommandAddressManager;

  before(async () => {
    fx = await createNetns(
      'vtip',
      ['h'],
      [
        { name: 'l1', members: [{ host: 'h', ifname: 'eth1', cidr: '10.74.1.1/24' }] },
        { name: 'l2', members: [{ host: 'h', ifname: 'eth2', cidr: '10.75.0.1/16' }] },
      ],
    );
    ip = new IpCommandAddressManager({ netns: fx.ns('h') });
  });
  after(async () => {
    await fx.cleanup();
  });

  test('add with a label, see it as ifconfig would, refuse a duplicate, find NICs, remove', async () => {
    assert.deepEqual(await ip.findNic('10.74.1.50'), {
      device: 'eth1',
      prefixLength: 24,
      broadcast: '10.74.1.255',
      localAddress: '10.74.1.1',
    });
    assert.equal((await ip.findNic('10.75.200.9'))?.device, 'eth2');
    assert.equal(await ip.findNic('192.0.2.1'), undefined);
    const label = await ip.nextLabel('eth1');
    assert.equal(label, 'eth1:0');
    await ip.add({ address: '10.74.1.50', prefixLength: 24, device: 'eth1', label });
    const a = await ip.find('10.74.1.50');
    assert.equal(a?.label, 'eth1:0');
    assert.equal(a.broadcast, '10.74.1.255');
    assert.equal(a.secondary, true);
    assert.equal(a.validLifetimeSec, undefined);
    const shown = await fx.exec('h', ['ip', '-4', 'addr', 'show', 'dev', 'eth1']);
    assert.match(shown.stdout, /inet 10\.74\.1\.50\/24 brd 10\.74\.1\.255 scope global secondary eth1:0/);
    assert.equal(await ip.nextLabel('eth1'), 'eth1:1');
    await assert.rejects(ip.add({ address: '10.74.1.50', prefixLength: 24, device: 'eth1' }), {
      code: 'VIGIL_ERR_ADDR_EXISTS',
    });
    await assert.rejects(ip.add({ address: '10.74.1.51', prefixLength: 24, device: 'nosuch0' }), {
      code: 'VIGIL_ERR_OS_COMMAND',
    });
    assert.equal(await ip.remove('10.74.1.50', 'eth1'), true);
    assert.equal(await ip.remove('10.74.1.50', 'eth1'), false);
    assert.equal(await ip.find('10.74.1.50'), undefined);
  });

  test('lease: an address added with a 2 s lifetime disappears by itself', async () => {
    const t0 = performance.now();
    await ip.add({ address: '10.74.1.60', prefixLength: 24, device: 'eth1', label: 'eth1:6', lifetimeSec: 2 });
    const a = await ip.find('10.74.1.60');
    assert.equal(a?.dynamic, true);
    assert.ok(a.validLifetimeSec !== undefined && a.validLifetimeSec <= 2);
    while ((await ip.find('10.74.1.60')) !== undefined) {
      // Bound is generous: the kernel expires with ~1 s granularity and this machine is shared.
      assert.ok(performance.now() - t0 < 8000, 'address still there after 8 s');
      await sleep(50);
    }
    const gone = performance.now() - t0;
    assert.ok(gone >= 1000, `gone after only ${gone} ms`);
  });

  test('lease: renewals keep the address past its first lifetime; renew never resurrects an expired one', async () => {
    await ip.add({ address: '10.74.1.61', prefixLength: 24, device: 'eth1', label: 'eth1:7', lifetimeSec: 3 });
    const t0 = performance.now();
    while (performance.now() - t0 < 5000) {
      assert.equal(await ip.renew('10.74.1.61', 'eth1', 3), 'renewed');
      await sleep(500);
    }
    const kept = await ip.find('10.74.1.61');
    assert.equal(kept?.label, 'eth1:7');
    assert.ok(kept.validLifetimeSec !== undefined && kept.validLifetimeSec >= 2);
    while ((await ip.find('10.74.1.61')) !== undefined) {
      assert.ok(performance.now() - t0 < 15_000, 'not expired after renewals stopped');
      await sleep(100);
    }
    assert.equal(await ip.renew('10.74.1.61', 'eth1', 3), 'absent');
    assert.equal(await ip.find('10.74.1.61'), undefined);
  });

  test('renew after a stall: keeps a recognisable address, removes one it cannot tell from a resurrection', async () => {
    // A clock that says 20 s passed during the renew, as if the process had been frozen (SIGSTOP) in between.
    let calls = 0;
    const stalled = new IpCommandAddressManager({ netns: fx.ns('h'), now: () => (calls++ === 0 ? 0 : 20_000) });
    await ip.add({ address: '10.74.1.62', prefixLength: 24, device: 'eth1', label: 'eth1:8', lifetimeSec: 10 });
    assert.equal(await stalled.renew('10.74.1.62', 'eth1', 10), 'renewed');
    assert.equal((await ip.find('10.74.1.62'))?.label, 'eth1:8');
    calls = 0;
    await ip.add({ address: '10.74.1.63', prefixLength: 24, device: 'eth1', broadcast: 'none', lifetimeSec: 10 });
    assert.equal(await stalled.renew('10.74.1.63', 'eth1', 10), 'expired');
    assert.equal(await ip.find('10.74.1.63'), undefined);
    await ip.remove('10.74.1.62', 'eth1');
  });

  test('the rtnetlink path (default inside the namespace) lists, adds, removes and renews exactly as ip does', async () => {
    await ip.add({ address: '10.74.1.70', prefixLength: 24, device: 'eth1', label: 'eth1:9', lifetimeSec: 30 });
    await ip.add({ address: '10.74.1.71', prefixLength: 24, device: 'eth1', broadcast: 'none', lifetimeSec: 30 });
    const url = new URL('../../src/os/ip.js', import.meta.url).href;
    const script = `
      const { IpCommandAddressManager } = await import(${JSON.stringify(url)});
      const nl = new IpCommandAddressManager();
      const ipc = new IpCommandAddressManager({ netlink: false });
      const out = {};
      // Lifetimes tick down between the two reads: compare them within a second, everything else exactly.
      const norm = (l) =>
        JSON.stringify(l.map((a) => Object.entries(a).filter(([k, v]) => v !== undefined && !k.endsWith('LifetimeSec')).sort()));
      const [l1, l2] = [await nl.list(), await ipc.list()];
      out.same =
        norm(l1) === norm(l2) &&
        l1.every((a, i) => Math.abs((a.validLifetimeSec ?? 0) - (l2[i].validLifetimeSec ?? 0)) <= 1);
      out.nl = await nl.list('eth1');
      out.renewed = await nl.renew('10.74.1.70', 'eth1', 60);
      out.after = (await ipc.find('10.74.1.70')).validLifetimeSec;
      out.absent = await nl.renew('10.74.1.99', 'eth1', 60);
      out.resurrected = (await ipc.find('10.74.1.99')) !== undefined;
      // One request with the prefix known; a wrong prefix costs a lookup, not the address; never a re-creation.
      out.hinted = await nl.renew('10.74.1.70', 'eth1', 50, 24);
      out.hintedLife = (await ipc.find('10.74.1.70')).validLifetimeSec;
      out.wrongHint = await nl.renew('10.74.1.70', 'eth1', 45, 27);
      out.wrongHintLife = (await ipc.find('10.74.1.70')).validLifetimeSec;
      out.absentHinted = await nl.renew('10.74.1.98', 'eth1', 60, 24);
      out.resurrectedHinted = (await ipc.find('10.74.1.98')) !== undefined;
      out.otherDevice = await nl.renew('10.74.1.70', 'lo', 60, 24);
      out.kept = await ipc.find('10.74.1.70');
      const { execFileSync } = await import('node:child_process');
      out.flags = execFileSync('ip', ['-d', '-4', 'addr', 'show', 'dev', 'eth1'], { encoding: 'utf8' });
      // The netlink renewal is one step in the kernel: a stall around it cannot make it re-create the address.
      let calls = 0;
      const stalled = new IpCommandAddressManager({ now: () => (calls++ === 0 ? 0 : 60_000) });
      out.stalled = await stalled.renew('10.74.1.71', 'eth1', 60);
      out.stalledKept = (await ipc.find('10.74.1.71')) !== undefined;
      out.missing = await nl.list('nosuch0').catch((e) => e.code);
      // add/remove over netlink must leave exactly what 'ip addr add' leaves (label, brd, secondary, lifetimes).
      await nl.add({ address: '10.74.1.80', prefixLength: 24, device: 'eth1', label: 'eth1:7', lifetimeSec: 40 });
      await ipc.add({ address: '10.74.1.81', prefixLength: 24, device: 'eth1', label: 'eth1:6', lifetimeSec: 40 });
      await nl.add({ address: '10.74.1.82', prefixLength: 24, device: 'eth1', broadcast: 'none' });
      await ipc.add({ address: '10.74.1.83', prefixLength: 24, device: 'eth1', broadcast: 'none' });
      const strip = (a) => a && { ...a, address: '', label: a.label.replace(/:.*/, ''), validLifetimeSec: a.validLifetimeSec === undefined ? 'forever' : 'lease', preferredLifetimeSec: undefined };
      out.addSame = JSON.stringify(strip(await ipc.find('10.74.1.80'))) === JSON.stringify(strip(await ipc.find('10.74.1.81')));
      out.addSameNoBrd = JSON.stringify(strip(await ipc.find('10.74.1.82'))) === JSON.stringify(strip(await ipc.find('10.74.1.83')));
      out.label = (await ipc.find('10.74.1.80')).label;
      out.dup = await nl.add({ address: '10.74.1.80', prefixLength: 24, device: 'eth1' }).catch((e) => e.code);
      out.noDev = await nl.add({ address: '10.74.1.84', prefixLength: 24, device: 'nosuch0' }).catch((e) => e.code);
      out.removed = await nl.remove('10.74.1.80', 'eth1');
      out.removedAgain = await nl.remove('10.74.1.80', 'eth1');
      out.gone = (await ipc.find('10.74.1.80')) === undefined;
      for (const a of ['10.74.1.81', '10.74.1.82', '10.74.1.83']) await nl.remove(a, 'eth1');
      console.log(JSON.stringify(out));
    `;
    const { stdout } = await fx.exec('h', [process.execPath, '--input-type=module', '-e', script], 30_000);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    // ip -json and netlink agree field by field (JSON.stringify drops undefined, so absent fields agree too).
    assert.equal(out.same, true);
    const nlList = out.nl as { address: string; label: string; validLifetimeSec?: number }[];
    assert.deepEqual(
      nlList.map((a) => `${a.address} ${a.label}`),
      ['10.74.1.1 eth1', '10.74.1.70 eth1:9', '10.74.1.71 eth1'],
    );
    assert.equal(out.renewed, 'renewed');
    assert.ok((out.after as number) > 30);
    assert.equal(out.absent, 'absent');
    assert.equal(out.resurrected, false);
    assert.equal(out.hinted, 'renewed');
    assert.ok((out.hintedLife as number) > 40 && (out.hintedLife as number) <= 50);
    assert.equal(out.wrongHint, 'renewed');
    assert.ok((out.wrongHintLife as number) > 35 && (out.wrongHintLife as number) <= 45);
    assert.equal(out.absentHinted, 'absent');
    assert.equal(out.resurrectedHinted, false);
    assert.equal(out.otherDevice, 'absent');
    const kept = out.kept as { label: string; broadcast?: string; prefixLength: number };
    assert.deepEqual([kept.label, kept.broadcast, kept.prefixLength], ['eth1:9', '10.74.1.255', 24]);
    // The renewal's IFA_F_MCAUTOJOIN only matters when creating: the renewed address must not carry it.
    assert.doesNotMatch(out.flags as string, /autojoin/);
    assert.match(out.flags as string, /10\.74\.1\.70\/24 brd 10\.74\.1\.255 scope global secondary dynamic eth1:9/);
    assert.equal(out.stalled, 'renewed');
    assert.equal(out.stalledKept, true);
    assert.equal(out.missing, 'VIGIL_ERR_OS_COMMAND');
    assert.equal(out.addSame, true);
    assert.equal(out.addSameNoBrd, true);
    assert.equal(out.label, 'eth1:7');
    assert.equal(out.dup, 'VIGIL_ERR_ADDR_EXISTS');
    assert.equal(out.noDev, 'VIGIL_ERR_OS_COMMAND');
    assert.equal(out.removed, true);
    assert.equal(out.removedAgain, false);
    assert.equal(out.gone, true);
    await ip.remove('10.74.1.70', 'eth1');
  });
});
