/**
 * IPv6 service addresses on a real kernel, in network namespaces: the daemon's own resource manager (netlink, the
 * real announcer) runs in a child process inside host n1 and takes a dual-stack group (an IPv4 VIP, a global and a
 * link-local IPv6 VIP, and one on a VLAN-style stacked interface `eth1.100`); a client on the same link had the IPv6
 * VIPs cached at another host's MAC, and must follow the unsolicited Neighbour Advertisements at once. Needs root.
 *
 * The stacked interface is a macvlan: the test machine's kernel has no 802.1Q support (CONFIG_VLAN_8021Q unset, no
 * modules), so a real VLAN device cannot be made here. What a VLAN changes for Vigil is the same: an interface name
 * with a dot, a device stacked on another, the advertisement written on the upper device (the kernel tags it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createLinked, createNetns, netnsUnavailable, type NetnsFixture } from '../helpers/netns.js';

const skip = await netnsUnavailable();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mod = (p: string): string => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);

const V4 = '10.77.1.50';
const V6 = '2001:db8:77::50';
const LL = 'fe80::50';
const VLAN6 = '2001:db8:100::50';
const HARESOURCES = `linux1 IPaddr::${V4}/24/eth1 IPaddr2::${V6}/64/eth1 IPv6addr::${LL}/64/eth1 IPaddr2::${VLAN6}/64/eth1.100\n`;

/** The daemon's resource manager, driven line by line on stdin: acquire, release, abandon (stop without cleanup). */
const HARNESS = `
  import { createInterface } from 'node:readline';
  import { compileConfig } from ${mod('config/compile.js')};
  import { ResourceManager } from ${mod('daemon/resources.js')};
  import { IpCommandAddressManager } from ${mod('os/ip.js')};
  import { realArpAnnouncer } from ${mod('os/garp.js')};
  import { Logger } from ${mod('obs/log.js')};
  const file = (name, text) => ({ file: '/etc/ha.d/' + name, text });
  const { config } = compileConfig({
    configDir: '/etc/ha.d',
    localNode: 'linux1',
    hacf: file('ha.cf', 'node linux1 linux2\\nauto_failback on\\nkeepalive 100ms\\ndeadtime 5\\nbcast eth1\\nvigil_vip_lease 3\\n'),
    authkeys: { ...file('authkeys', 'auth 1\\n1 sha1 k\\n'), mode: 0o600 },
    haresources: file('haresources', ${JSON.stringify(HARESOURCES)}),
  });
  const logger = new Logger({ node: 'linux1', pid: process.pid, tag: 'heartbeat', sinks: [{
    write: (_l, line) => process.stdout.write('LOG ' + line), close: () => Promise.resolve() }] });
  const rm = new ResourceManager({ config, logger, addresses: new IpCommandAddressManager(), arp: realArpAnnouncer });
  // The daemon's heartbeat: lease renewals and refreshes ride on it.
  const beat = setInterval(() => rm.tick(), 100);
  const key = config.groups[0].key;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'acquire') console.log('ACQUIRED ' + (await rm.acquire(key)) + ' ' + JSON.stringify(rm.heldVips()));
    else if (line === 'release') console.log('RELEASED ' + JSON.stringify(await rm.release(key)));
    else if (line === 'abandon') { rm.dispose(); clearInterval(beat); console.log('ABANDONED'); }
    else if (line === 'exit') process.exit(0);
  }
`;

class Harness {
  private readonly lines: string[] = [];
  private readonly waiters: (() => void)[] = [];
  constructor(readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    child.stderr.on('data', (d: Buffer) => this.lines.push(`STDERR ${d.toString()}`));
  }
  async command(cmd: string, reply: string, timeoutMs = 20_000): Promise<string> {
    const from = this.lines.length;
    this.child.stdin.write(`${cmd}\n`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => l.startsWith(reply));
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`no ${reply} after ${cmd}: ${this.lines.join('\n')}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
  log(): string {
    return this.lines.join('\n');
  }
}

describe('IPv6 VIPs over netlink, announced by unsolicited NA', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;
  let harness: Harness;
  const macs: Record<string, string> = {};

  const sh = async (host: string, cmd: string): Promise<string> => (await fx.exec(host, ['sh', '-c', cmd])).stdout;
  const addrs = (host: string): Promise<string> => sh(host, 'ip -o addr show');
  const neigh = async (addr: string, dev: string): Promise<string> =>
    (await sh('c', `ip -6 neigh show ${addr} dev ${dev}`)).trim();

  before(async () => {
    fx = await createLinked('v6avip', ['n1', 'n2', 'c'], ['10.77.1'], { ipv6: true, hostNumbers: [1, 2, 100] });
    const last: Record<string, string> = { n1: '1', n2: '2', c: '100' };
    for (const h of ['n1', 'n2', 'c']) {
      await sh(
        h,
        [
          `ip addr add 2001:db8:77::${last[h]}/64 dev eth1 nodad`,
          'ip link add link eth1 name eth1.100 type macvlan mode bridge',
          'ip link set eth1.100 up',
          `ip addr add 2001:db8:100::${last[h]}/64 dev eth1.100 nodad`,
        ].join(' && '),
      );
      macs[h] = (await sh(h, 'cat /sys/class/net/eth1/address')).trim();
      macs[`${h}.100`] = (await sh(h, 'cat /sys/class/net/eth1.100/address')).trim();
    }
    // Link-local addresses of the interfaces themselves (DAD on them takes a second): wait for them to settle.
    for (const h of ['n1', 'n2', 'c']) {
      for (let i = 0; i < 100 && / tentative/.test(await sh(h, 'ip -6 addr show')); i++) await sleep(100);
    }
    harness = new Harness(
      spawn('ip', ['netns', 'exec', fx.ns('n1'), process.execPath, '--input-type=module', '-e', HARNESS]),
    );
  });
  after(async () => {
    harness.child.kill('SIGKILL');
    await fx.cleanup();
  });

  test('takeover: added with nodad (usable at once) under the lease; the client follows the advertisements', async () => {
    // The client has the VIPs cached at n2's MAC, as after n2 held them.
    await sh(
      'n2',
      `ip addr add ${V6}/64 dev eth1 nodad && ip addr add ${LL}/64 dev eth1 nodad && ip addr add ${VLAN6}/64 dev eth1.100 nodad`,
    );
    await sh('c', `ping -c1 -W2 ${V6} && ping -c1 -W2 -I eth1 ${LL} && ping -c1 -W2 ${VLAN6}`);
    assert.match(await neigh(V6, 'eth1'), new RegExp(`lladdr ${macs.n2}`));
    assert.match(await neigh(LL, 'eth1'), new RegExp(`lladdr ${macs.n2}`));
    assert.match(await neigh(VLAN6, 'eth1.100'), new RegExp(`lladdr ${macs['n2.100']}`));
    // n2 drops them without a word (a power cut).
    await sh(
      'n2',
      `ip addr del ${V6}/64 dev eth1 && ip addr del ${LL}/64 dev eth1 && ip addr del ${VLAN6}/64 dev eth1.100`,
    );

    const t0 = Date.now();
    const acquired = await harness.command('acquire', 'ACQUIRED');
    assert.match(acquired, /^ACQUIRED true /, harness.log());
    const held = JSON.parse(acquired.split(' ').slice(2).join(' ')) as { address: string; prefixLength?: number }[];
    assert.deepEqual(
      held.map((v) => [v.address, v.prefixLength]),
      [
        [V4, undefined],
        [V6, 64],
        [LL, 64],
        [VLAN6, 64],
      ],
    );
    // Right away: no DAD (not tentative), the lease as valid/preferred lifetime, the IPv4 VIP beside them.
    const shown = await addrs('n1');
    assert.match(
      shown,
      new RegExp(`inet ${V4.replace(/\./g, '\\.')}/24 brd \\S+ scope global secondary dynamic eth1:0`),
    );
    for (const [a, dev] of [
      [V6, 'eth1'],
      [LL, 'eth1'],
      [VLAN6, 'eth1.100'],
    ] as const) {
      const line = shown.split('\n').find((l) => l.includes(` inet6 ${a}/64 `)) ?? '';
      assert.match(line, new RegExp(`^\\d+: ${dev.replace('.', '\\.')} `), `${a} on ${dev}: ${shown}`);
      assert.match(line, /nodad/);
      assert.match(line, /dynamic/);
      assert.doesNotMatch(line, /tentative/);
      const lft = /valid_lft (\d+)sec preferred_lft (\d+)sec/.exec(line);
      assert.ok(lft !== null && Number(lft[1]) <= 3 && Number(lft[2]) <= 3, line);
    }
    // The client follows within the first advertisements: without Override it would keep n2's MAC for 5 s or more.
    for (const [a, dev, mac] of [
      [V6, 'eth1', macs.n1],
      [LL, 'eth1', macs.n1],
      [VLAN6, 'eth1.100', macs['n1.100']],
    ] as const) {
      for (;;) {
        const n = await neigh(a, dev);
        if (n.includes(`lladdr ${mac ?? '?'}`)) break;
        assert.ok(Date.now() - t0 < 2000, `client still has ${a}: ${n}`);
        await sleep(20);
      }
    }
    await sh('c', `ping -c1 -W2 ${V6} && ping -c1 -W2 -I eth1 ${LL} && ping -c1 -W2 ${VLAN6}`);
    // Held past several lifetimes: the renewals ride on the beat.
    await sleep(4000);
    assert.match(await addrs('n1'), new RegExp(`inet6 ${V6}/64`));
  });

  test('release: the dual-stack group goes as one; a lease left behind (daemon gone) runs out by itself', async () => {
    assert.match(await harness.command('release', 'RELEASED'), /"ok":true/);
    const gone = await addrs('n1');
    for (const a of [V4, V6, LL, VLAN6]) assert.ok(!gone.includes(` ${a}/`), `${a} still on n1: ${gone}`);

    assert.match(await harness.command('acquire', 'ACQUIRED'), /^ACQUIRED true/);
    await harness.command('abandon', 'ABANDONED');
    const t0 = Date.now();
    await sleep(1000);
    assert.match(await addrs('n1'), new RegExp(`inet6 ${V6}/64`), 'removed, not expired');
    for (;;) {
      const shown = await addrs('n1');
      if ([V4, V6, LL, VLAN6].every((a) => !shown.includes(` ${a}/`))) break;
      assert.ok(Date.now() - t0 < 7000, `lease did not run out: ${shown}`);
      await sleep(100);
    }
  });
});

describe('IPv6 over rtnetlink: removal by prefix, renewal never resurrects', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;
  before(async () => {
    fx = await createNetns('v6anl', ['h'], [{ name: 'l1', members: [{ host: 'h', ifname: 'eth1' }] }], {
      ipv6: true,
    });
    await fx.exec('h', ['ip', 'addr', 'add', '2001:db8:78::1/64', 'dev', 'eth1', 'nodad']);
  });
  after(() => fx.cleanup());

  test('in the namespace, over netlink', async () => {
    const script = `
      import { IpCommandAddressManager } from ${mod('os/ip.js')};
      const ip = new IpCommandAddressManager();
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const out = [];
      await ip.add({ address: '2001:db8:78::60', prefixLength: 64, device: 'eth1', lifetimeSec: 2, nodad: true });
      const a = await ip.find('2001:db8:78::60');
      out.push(['added', a.family, a.prefixLength, a.dynamic, a.tentative, a.validLifetimeSec <= 2]);
      try { await ip.add({ address: '2001:db8:78::60', prefixLength: 64, device: 'eth1' }); } catch (e) { out.push(['again', e.code]); }
      out.push(['nic', (await ip.findNic('2001:db8:78::77'))?.device]);
      out.push(['renew', await ip.renew('2001:db8:78::60', 'eth1', 2, 64)]);
      const t0 = Date.now();
      while (await ip.find('2001:db8:78::60')) { if (Date.now() - t0 > 8000) break; await sleep(50); }
      out.push(['expired', Date.now() - t0 >= 1000, Date.now() - t0 < 8000]);
      out.push(['renew-absent', await ip.renew('2001:db8:78::60', 'eth1', 2, 64), (await ip.find('2001:db8:78::60')) === undefined]);
      await ip.add({ address: '2001:db8:78::61', prefixLength: 64, device: 'eth1', nodad: true });
      out.push(['remove-wrong-prefix', await ip.remove('2001:db8:78::61', 'eth1', 128)]);
      await ip.add({ address: '2001:db8:78::62', prefixLength: 64, device: 'eth1', nodad: true });
      out.push(['remove-no-prefix', await ip.remove('2001:db8:78::62', 'eth1'), await ip.remove('2001:db8:78::62', 'eth1')]);
      out.push(['left', (await ip.list('eth1', 6)).filter((x) => x.scope === 'global').map((x) => x.address)]);
      console.log(JSON.stringify(out));
    `;
    const { stdout } = await fx.exec('h', [process.execPath, '--input-type=module', '-e', script], 30_000);
    assert.deepEqual(JSON.parse(stdout), [
      ['added', 6, 64, true, false, true],
      ['again', 'VIGIL_ERR_ADDR_EXISTS'],
      ['nic', 'eth1'],
      ['renew', 'renewed'],
      ['expired', true, true],
      ['renew-absent', 'absent', true],
      // Given a prefix it does not have, the dump corrects it: the address is removed.
      ['remove-wrong-prefix', true],
      ['remove-no-prefix', true, false],
      ['left', ['2001:db8:78::1']],
    ]);
  });

  test('requests of one turn share one datagram, each with its own answer', async () => {
    const script = `
      import { IpCommandAddressManager } from ${mod('os/ip.js')};
      import { netlinkBatches } from ${mod('os/netlink.js')};
      const ip = new IpCommandAddressManager();
      const v6 = (i) => '2001:db8:78::' + (0x100 + i).toString(16);
      const out = [];
      let d0 = netlinkBatches.datagrams;
      // 40 adds at once: more than one datagram holds (32), so two go out.
      await Promise.all(Array.from({ length: 40 }, (_, i) => ip.add({ address: v6(i), prefixLength: 64, device: 'eth1', nodad: true })));
      out.push(['adds', netlinkBatches.datagrams - d0, (await ip.list('eth1', 6)).filter((a) => a.address.startsWith('2001:db8:78::1') && a.address !== '2001:db8:78::1').length]);
      // A duplicate, a removal of an absent address and a good removal, together: three answers, one datagram.
      d0 = netlinkBatches.datagrams;
      const r = await Promise.allSettled([
        ip.add({ address: v6(0), prefixLength: 64, device: 'eth1', nodad: true }),
        ip.remove('2001:db8:78::7777', 'eth1', 64),
        ip.remove(v6(1), 'eth1', 64),
      ]);
      out.push(['mixed', netlinkBatches.datagrams - d0, r[0].status, r[0].reason?.code, r[1].value, r[2].value]);
      d0 = netlinkBatches.datagrams;
      await Promise.all(Array.from({ length: 40 }, (_, i) => ip.remove(v6(i), 'eth1', 64)));
      out.push(['removes', netlinkBatches.datagrams - d0, (await ip.list('eth1', 6)).filter((a) => a.scope === 'global').map((a) => a.address)]);
      console.log(JSON.stringify(out));
    `;
    const { stdout } = await fx.exec('h', [process.execPath, '--input-type=module', '-e', script], 30_000);
    assert.deepEqual(JSON.parse(stdout), [
      ['adds', 2, 40],
      ['mixed', 1, 'rejected', 'VIGIL_ERR_ADDR_EXISTS', false, true],
      ['removes', 2, ['2001:db8:78::1']],
    ]);
  });
});
