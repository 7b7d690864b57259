/**
 * The two-site lab, built on top of the tutorial lab (Lab.up with two nodes) without changing it: the same hosts,
 * namespaces and per-host directories, rewired into three LANs joined by the router, which plays the WAN.
 *
 *   site A  brA  10.20.1.0/24   linux1 .10          router eth1 .1
 *   site B  brB  10.20.2.0/24   linux2 .10          router eth2 .1
 *   client  brC  10.20.3.0/24   client .100         router eth3 .1
 *   the zone's primary (BIND) on the router's lo: 10.20.0.53; the routed VIP (BGP) 10.99.0.1
 *   each node's /etc/bird is its own (/etc/ha.d/bird, bind-mounted)
 *
 * Every host routes through the router; nothing routes out of the lab. The router drops what the WAN would
 * (nftables: a partition between the sites, random loss), and runs BIRD 2 peering with both sites.
 */
import { readdir } from 'node:fs/promises';
import { VigilError } from '../src/util/errors.js';
import { mustRun, nowMs, runCmd, sleep } from './exec.js';
import * as faults from './faults.js';
import { IFACE, Lab, labHosts, type HostInfo } from './topology.js';

export const GEO = {
  a: { node: 'linux1', subnet: '10.20.1.0/24', ip: '10.20.1.10', gw: '10.20.1.1', routerIf: 'eth1', bridge: 'brA' },
  b: { node: 'linux2', subnet: '10.20.2.0/24', ip: '10.20.2.10', gw: '10.20.2.1', routerIf: 'eth2', bridge: 'brB' },
  client: { subnet: '10.20.3.0/24', ip: '10.20.3.100', gw: '10.20.3.1', routerIf: 'eth3', bridge: 'brC' },
  dns: '10.20.0.53',
  vip: '10.99.0.1',
  asRouter: 65000,
  asA: 65001,
  asB: 65002,
} as const;

export const GEO_NFT_TABLE = 'vigil_geo';

/** The hosts with their IPv4 addresses in the sites; IPv6 as the tutorial lab set it (the geo lab routes IPv4 only). */
export function geoHosts(): HostInfo[] {
  const ip6 = new Map(labHosts(2).map((h) => [h.name, h.ip6]));
  const host = (name: string, role: HostInfo['role'], ip: string): HostInfo => ({
    name,
    role,
    ip,
    ip6: ip6.get(name) ?? '',
  });
  return [
    host('router', 'router', GEO.a.gw),
    host(GEO.a.node, 'node', GEO.a.ip),
    host(GEO.b.node, 'node', GEO.b.ip),
    host('client', 'client', GEO.client.ip),
  ];
}

export function siteOf(node: string): (typeof GEO)['a'] | (typeof GEO)['b'] {
  if (node === GEO.a.node) return GEO.a;
  if (node === GEO.b.node) return GEO.b;
  throw new VigilError('VIGIL_ERR_USAGE', `${node} is in no site of the geo lab`);
}

/** What the router's nftables table does now (rebuilt whole on each change). */
export interface WanState {
  /** Sites A and B cannot reach each other; both still reach the router and the client. */
  partitioned: boolean;
  /** Per mille of forwarded (and router-bound) packets dropped. */
  lossPermille: number;
}

/** Builds the two-site lab with this prefix (removing leftovers first) and returns it, reopened with its hosts. */
export async function geoUp(prefix: string): Promise<Lab> {
  const base = await Lab.up({ prefix, nodes: 2 });
  try {
    const sw = base.switchNs;
    const ns = (h: string): string => base.netns(h);
    for (const br of [GEO.a.bridge, GEO.b.bridge, GEO.client.bridge]) {
      await mustRun('ip', ['-n', sw, 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      await mustRun('ip', ['-n', sw, 'link', 'set', br, 'up']);
    }
    // Ports keep their host names, so the tutorial lab's faults (a port down is a pulled cable) still apply.
    for (const [port, br] of [
      [GEO.a.node, GEO.a.bridge],
      ['router', GEO.a.bridge],
      [GEO.b.node, GEO.b.bridge],
      ['client', GEO.client.bridge],
    ] as const) {
      await mustRun('ip', ['-n', sw, 'link', 'set', port, 'nomaster']);
      await mustRun('ip', ['-n', sw, 'link', 'set', port, 'master', br]);
    }
    await mustRun('ip', ['-n', sw, 'link', 'del', 'br0']);
    for (const [port, ifname, br] of [
      ['router-b', GEO.b.routerIf, GEO.b.bridge],
      ['router-c', GEO.client.routerIf, GEO.client.bridge],
    ] as const) {
      await mustRun('ip', [
        '-n',
        sw,
        'link',
        'add',
        port,
        'type',
        'veth',
        'peer',
        'name',
        ifname,
        'netns',
        ns('router'),
      ]);
      await mustRun('ip', ['-n', sw, 'link', 'set', port, 'master', br, 'up']);
      await mustRun('ip', ['-n', ns('router'), 'link', 'set', ifname, 'up']);
    }
    const addr = async (host: string, cidr: string, dev: string): Promise<void> => {
      await mustRun('ip', ['-n', ns(host), 'addr', 'add', cidr, 'dev', dev]);
    };
    for (const h of ['router', GEO.a.node, GEO.b.node, 'client'])
      await runCmd('ip', ['-n', ns(h), '-4', 'addr', 'flush', 'dev', IFACE]);
    await addr('router', `${GEO.a.gw}/24`, GEO.a.routerIf);
    await addr('router', `${GEO.b.gw}/24`, GEO.b.routerIf);
    await addr('router', `${GEO.client.gw}/24`, GEO.client.routerIf);
    await addr('router', `${GEO.dns}/32`, 'lo');
    await addr(GEO.a.node, `${GEO.a.ip}/24`, IFACE);
    await addr(GEO.b.node, `${GEO.b.ip}/24`, IFACE);
    await addr('client', `${GEO.client.ip}/24`, IFACE);
    await mustRun('ip', ['netns', 'exec', ns('router'), 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const [h, gw] of [
      [GEO.a.node, GEO.a.gw],
      [GEO.b.node, GEO.b.gw],
      ['client', GEO.client.gw],
    ] as const) {
      await mustRun('ip', ['-n', ns(h), 'route', 'add', 'default', 'via', gw]);
    }
    base.state.hosts = geoHosts();
    await base.saveState();
    const lab = await Lab.open(prefix);
    // BIRD's and Vigil's /etc/bird, per node (the include file differs: each site announces its own MED). Inside a
    // host the lab's directories under /run are hidden by the host's own /run: the source is its /etc/ha.d/bird.
    for (const n of lab.nodes) {
      const r = await lab.sh(n, 'mkdir -p /etc/ha.d/bird && mount --bind /etc/ha.d/bird /etc/bird');
      if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `cannot give ${n} its /etc/bird: ${r.stderr.trim()}`);
    }
    await setWan(lab, { partitioned: false, lossPermille: 0 });
    return lab;
  } catch (e) {
    await base.down().catch(() => undefined);
    throw e;
  }
}

/** Rewrites the router's WAN table: the partition (if any) and random loss on what crosses the router. */
export async function setWan(lab: Lab, wan: WanState): Promise<number> {
  if (!Number.isInteger(wan.lossPermille) || wan.lossPermille < 0 || wan.lossPermille > 1000) {
    throw new VigilError('VIGIL_ERR_USAGE', `loss must be 0-1000 per mille, got ${wan.lossPermille}`);
  }
  const loss = wan.lossPermille > 0 ? [`    numgen random mod 1000 < ${wan.lossPermille} drop`] : [];
  const partition = wan.partitioned
    ? [
        `    ip saddr ${GEO.a.subnet} ip daddr ${GEO.b.subnet} drop`,
        `    ip saddr ${GEO.b.subnet} ip daddr ${GEO.a.subnet} drop`,
      ]
    : [];
  const ruleset = faults.nftTable('inet', GEO_NFT_TABLE, [
    ...faults.nftChain('forward', [...partition, ...loss]),
    // BGP, BFD and DNS updates end at the router: they cross the same WAN.
    ...faults.nftChain(
      'input',
      wan.lossPermille > 0 ? [`    iifname != "lo" numgen random mod 1000 < ${wan.lossPermille} drop`] : [],
    ),
  ]);
  await mustRun('ip', ['netns', 'exec', lab.netns('router'), 'nft', '-f', '-'], { input: ruleset });
  return nowMs();
}

/** Addresses other than 127.0.0.1 on a host's lo (the routed VIP, once held). */
async function loAddresses(lab: Lab, host: string): Promise<string[]> {
  const r = await runCmd('ip', ['-n', lab.netns(host), '-4', '-j', 'addr', 'show', 'dev', 'lo']);
  const j = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  return (j[0]?.addr_info ?? []).filter((a) => !a.local.startsWith('127.')).map((a) => `${a.local}/${a.prefixlen}`);
}

/** Power cut of a site's node: the tutorial lab's (cable, processes, eth1's addresses), plus what it held on lo. */
export async function geoPowerOff(lab: Lab, host: string): Promise<number> {
  const t = await faults.powerOff(lab, host);
  for (const a of await loAddresses(lab, host))
    await runCmd('ip', ['-n', lab.netns(host), 'addr', 'del', a, 'dev', 'lo']);
  return t;
}

/** Boot: empty /run, the site address and default route as configured at boot, the cable in, then `boot()`. */
export async function geoPowerOn(lab: Lab, host: string, boot: () => Promise<void>): Promise<number> {
  const site = siteOf(host);
  await lab.resetRun(host);
  const ns = lab.netns(host);
  await runCmd('ip', ['-n', ns, '-4', 'addr', 'flush', 'dev', IFACE]);
  await mustRun('ip', ['-n', ns, 'addr', 'add', `${site.ip}/24`, 'dev', IFACE]);
  await faults.linkUp(lab, host);
  await mustRun('ip', ['-n', ns, 'route', 'replace', 'default', 'via', site.gw]);
  const t = nowMs();
  await boot();
  return t;
}

/** Waits until nothing of `prefix` is left in /run/netns (lab.down is synchronous about it; this is for tests). */
export async function geoGone(prefix: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    const left = (await readdir('/run/netns').catch(() => [] as string[])).filter((n) => n.startsWith(`${prefix}-`));
    if (left.length === 0) return true;
    await sleep(100);
  }
  return false;
}
