/**
 * The two-site lab, built on top of the tutorial lab (Lab.up with two nodes) without changing it: the same hosts,
 * namespaces and per-host directories, rewired into three LANs joined by the router, which plays the WAN.
 *
 *   site A   brA  10.20.1.0/24  fd20:1::/64   linux1 .10 ::10     router eth1 .1 ::1
 *   site B   brB  10.20.2.0/24  fd20:2::/64   linux2 .10 ::10     router eth2 .1 ::1
 *   client   brC  10.20.3.0/24  fd20:3::/64   client .100 ::100   router eth3 .1 ::1
 *   witness  brW  10.20.4.0/24  fd20:4::/64   etcd1 .10 ::10      router eth4 .1 ::1   (only with `witness`)
 *   the zone's primary (BIND) on the router's lo: 10.20.0.53; the routed VIPs (BGP) 10.99.0.1 and fd99::1
 *   each node's /etc/bird is its own (/etc/ha.d/bird, bind-mounted)
 *
 * Every host routes through the router, both families; nothing routes out of the lab. The router drops what the WAN
 * would (nftables: a partition between the sites, random loss), and runs BIRD 2 peering with both sites (one session
 * per family and site). The witness site holds a single etcd member, Vigil's quorum (docs/quorum.md).
 */
import { readdir } from 'node:fs/promises';
import { VigilError } from '../src/util/errors.js';
import { mustRun, nowMs, runCmd, sleep } from './exec.js';
import * as faults from './faults.js';
import { addHostIPv6, IFACE, Lab, type HostInfo } from './topology.js';

/** One LAN behind the router: its subnets, its host's addresses, the router's side. */
function site<N extends string>(node: N, n: number, host: number, routerIf: string, bridge: string) {
  return {
    node,
    subnet: `10.20.${n}.0/24`,
    ip: `10.20.${n}.${host}`,
    gw: `10.20.${n}.1`,
    subnet6: `fd20:${n}::/64`,
    ip6: `fd20:${n}::${host}`,
    gw6: `fd20:${n}::1`,
    routerIf,
    bridge,
  } as const;
}

export const GEO = {
  a: site('linux1', 1, 10, 'eth1', 'brA'),
  b: site('linux2', 2, 10, 'eth2', 'brB'),
  client: site('client', 3, 100, 'eth3', 'brC'),
  witness: site('etcd1', 4, 10, 'eth4', 'brW'),
  dns: '10.20.0.53',
  vip: '10.99.0.1',
  /** The IPv6 VIP, and as haresources takes it (no '::', which it splits on). */
  vip6: 'fd99::1',
  vip6Config: 'fd99:0:0:0:0:0:0:1',
  asRouter: 65000,
  asA: 65001,
  asB: 65002,
} as const;

export const GEO_NFT_TABLE = 'vigil_geo';

/** The hosts with their addresses in the sites (both families); the witness when the lab has one. */
export function geoHosts(witness: boolean): HostInfo[] {
  const host = (name: string, role: HostInfo['role'], at: { ip: string; ip6: string }): HostInfo => ({
    name,
    role,
    ip: at.ip,
    ip6: at.ip6,
  });
  return [
    host('router', 'router', { ip: GEO.a.gw, ip6: GEO.a.gw6 }),
    host(GEO.a.node, 'node', GEO.a),
    host(GEO.b.node, 'node', GEO.b),
    host('client', 'client', GEO.client),
    ...(witness ? [host(GEO.witness.node, 'etcd', GEO.witness)] : []),
  ];
}

export function siteOf(node: string): (typeof GEO)['a'] | (typeof GEO)['b'] {
  if (node === GEO.a.node) return GEO.a;
  if (node === GEO.b.node) return GEO.b;
  throw new VigilError('VIGIL_ERR_USAGE', `${node} is in no site of the geo lab`);
}

/** What the router's nftables table does now (rebuilt whole on each change). */
export interface WanState {
  /**
   * Sites A and B cannot reach each other; both still reach the router and the client. With a witness, site A
   * loses the witness too (it is on B's side of the cut): the worst case, where A could keep announcing.
   */
  partitioned: boolean;
  /** Per mille of forwarded (and router-bound) packets dropped. */
  lossPermille: number;
}

/** Builds the two-site lab with this prefix (removing leftovers first) and returns it, reopened with its hosts. */
export async function geoUp(prefix: string, opts: { witness?: boolean } = {}): Promise<Lab> {
  const witness = opts.witness === true;
  const base = await Lab.up({ prefix, nodes: 2, etcd: witness ? 1 : 0 });
  try {
    const sw = base.switchNs;
    const ns = (h: string): string => base.netns(h);
    const lans = witness ? [GEO.a, GEO.b, GEO.client, GEO.witness] : [GEO.a, GEO.b, GEO.client];
    for (const br of lans.map((l) => l.bridge)) {
      await mustRun('ip', ['-n', sw, 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      await mustRun('ip', ['-n', sw, 'link', 'set', br, 'up']);
    }
    // Ports keep their host names, so the tutorial lab's faults (a port down is a pulled cable) still apply.
    for (const [port, br] of [
      [GEO.a.node, GEO.a.bridge],
      ['router', GEO.a.bridge],
      [GEO.b.node, GEO.b.bridge],
      ['client', GEO.client.bridge],
      ...(witness ? [[GEO.witness.node, GEO.witness.bridge] as const] : []),
    ] as const) {
      await mustRun('ip', ['-n', sw, 'link', 'set', port, 'nomaster']);
      await mustRun('ip', ['-n', sw, 'link', 'set', port, 'master', br]);
    }
    await mustRun('ip', ['-n', sw, 'link', 'del', 'br0']);
    for (const [port, ifname, br] of [
      ['router-b', GEO.b.routerIf, GEO.b.bridge],
      ['router-c', GEO.client.routerIf, GEO.client.bridge],
      ...(witness ? [['router-w', GEO.witness.routerIf, GEO.witness.bridge] as const] : []),
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
      await mustRun('ip', ['-n', ns(host), 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
    };
    const hosts = lans.map((l) => l.node);
    for (const h of ['router', ...hosts]) {
      await runCmd('ip', ['-n', ns(h), '-4', 'addr', 'flush', 'dev', IFACE]);
      await runCmd('ip', ['-n', ns(h), '-6', 'addr', 'flush', 'dev', IFACE, 'scope', 'global']);
    }
    for (const l of lans) {
      await addr('router', `${l.gw}/24`, l.routerIf);
      await addr('router', `${l.gw6}/64`, l.routerIf);
      await addr(l.node, `${l.ip}/24`, IFACE);
      await addr(l.node, `${l.ip6}/64`, IFACE);
      await mustRun('ip', ['-n', ns(l.node), 'route', 'add', 'default', 'via', l.gw]);
      await mustRun('ip', ['-n', ns(l.node), '-6', 'route', 'add', 'default', 'via', l.gw6]);
    }
    await addr('router', `${GEO.dns}/32`, 'lo');
    await mustRun('ip', ['netns', 'exec', ns('router'), 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await mustRun('ip', ['netns', 'exec', ns('router'), 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    base.state.hosts = geoHosts(witness);
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
  // Site A's side of the cut: B, and the witness when the lab has one (it stays with B).
  const cut = lab.etcdHosts.length > 0 ? [GEO.b, GEO.witness] : [GEO.b];
  const partition = wan.partitioned
    ? cut.flatMap((o) => [
        `    ip saddr ${GEO.a.subnet} ip daddr ${o.subnet} drop`,
        `    ip saddr ${o.subnet} ip daddr ${GEO.a.subnet} drop`,
        `    ip6 saddr ${GEO.a.subnet6} ip6 daddr ${o.subnet6} drop`,
        `    ip6 saddr ${o.subnet6} ip6 daddr ${GEO.a.subnet6} drop`,
      ])
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

/** Addresses other than 127.0.0.1 and ::1 on a host's lo (the routed VIPs, once held). */
async function loAddresses(lab: Lab, host: string): Promise<string[]> {
  const r = await runCmd('ip', ['-n', lab.netns(host), '-j', 'addr', 'show', 'dev', 'lo']);
  const j = JSON.parse(r.stdout || '[]') as { addr_info?: { local: string; prefixlen: number }[] }[];
  return (j[0]?.addr_info ?? [])
    .filter((a) => !a.local.startsWith('127.') && a.local !== '::1')
    .map((a) => `${a.local}/${a.prefixlen}`);
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
  await runCmd('ip', ['-n', ns, '-6', 'addr', 'flush', 'dev', IFACE, 'scope', 'global']);
  await mustRun('ip', ['-n', ns, 'addr', 'add', `${site.ip}/24`, 'dev', IFACE]);
  await addHostIPv6(lab, host);
  await faults.linkUp(lab, host);
  await mustRun('ip', ['-n', ns, 'route', 'replace', 'default', 'via', site.gw]);
  await mustRun('ip', ['-n', ns, '-6', 'route', 'replace', 'default', 'via', site.gw6]);
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
