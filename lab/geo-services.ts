/**
 * What runs in the two-site lab besides Vigil: BIRD 2 on the router (peering with both sites, installing the VIP's
 * route in its kernel table) and on each node (announcing what Vigil puts on lo), BIND as the zone's primary on the
 * router, unbound as the client's caching resolver, and a UDP echo on each node. Each has its own configuration
 * under the lab's host directories, runs in its host's namespaces, and dies with the lab (every process in the lab's
 * namespaces is killed by PID at teardown) or with its host's power.
 */
import { spawn } from 'node:child_process';
import { writeFile, mkdir, chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BIRD_EXPORT_FUNCTION, hostPrefixLength, renderBirdInclude } from '../src/agents/bgp.js';
import { VigilError } from '../src/util/errors.js';
import { bindKeyText, GEO_ZONE, startServer, waitDns, writeBind, writeUnbound } from './dns-servers.js';
import { nowMs, runCmd, sleep } from './exec.js';
import { GEO, siteOf } from './topology-geo.js';
import type { Lab } from './topology.js';

const ECHO_JS = fileURLToPath(new URL('./geo-echo.js', import.meta.url));
export const ECHO_PORT = 7;
export const GEO_NAME = `www.${GEO_ZONE}`;

/** How fast the router forgets a dead site's route: the BGP hold timer, and BFD when set. */
export interface BgpTiming {
  readonly holdSec: number;
  readonly bfd?: { readonly intervalMs: number; readonly multiplier: number };
}

/** Starts argv in all of a host's namespaces, detached from us (stdio closed); it lives until killed by PID. */
export function spawnIn(lab: Lab, host: string, argv: readonly string[]): number {
  const [cmd, ...args] = argv;
  const child = spawn('nsenter', [...lab.enterArgs(host), cmd!, ...args], { stdio: 'ignore', detached: true });
  child.unref();
  if (child.pid === undefined) throw new VigilError('VIGIL_ERR_LAB', `cannot start ${cmd ?? ''} in ${host}`);
  return child.pid;
}

function bgpTimers(t: BgpTiming): string[] {
  const keep = Math.max(1, Math.floor(t.holdSec / 3));
  return [`  hold time ${t.holdSec};`, `  keepalive time ${keep};`, ...(t.bfd !== undefined ? ['  bfd on;'] : [])];
}

function bfdProtocol(t: BgpTiming): string[] {
  if (t.bfd === undefined) return [];
  return [
    'protocol bfd {',
    `  interface "*" { interval ${t.bfd.intervalMs} ms; multiplier ${t.bfd.multiplier}; };`,
    '}',
  ];
}

/**
 * The router's servers (BIRD, BIND) and the client's unbound run in their host's network namespace only, with their
 * files where the root mount namespace sees them (inside a host, /run is the host's own): the lab's teardown kills
 * every process of its network namespaces.
 */
export function routerBirdSocket(lab: Lab): string {
  return `${lab.hostDir('router')}/bird/bird.ctl`;
}

async function birdc(lab: Lab, host: string, socket: string, args: readonly string[]): Promise<string> {
  const r =
    host === 'router'
      ? await runCmd('ip', ['netns', 'exec', lab.netns('router'), 'birdc', '-s', socket, ...args], {
          timeoutMs: 10_000,
        })
      : await lab.exec(host, 'birdc', ['-s', socket, ...args], { timeoutMs: 10_000 });
  return `${r.stdout}${r.stderr}`;
}

/**
 * The router's BIRD: eBGP with each site (AS 65001, 65002), MED compared across them, routes into the kernel. One
 * session per family and site (site_a over IPv4 carrying the /32s, site_a6 over IPv6 carrying the /128s), as on
 * dual-stack peerings: each family's next hop is the peer's own address on the shared link, with no IPv4-mapped or
 * extended next hops (RFC 8950) to configure, and BFD watches each session.
 */
export async function startRouterBird(lab: Lab, t: BgpTiming): Promise<void> {
  const dir = `${lab.hostDir('router')}/bird`;
  await mkdir(dir, { recursive: true });
  const peer = (name: string, local: string, ip: string, as: number): string[] => [
    `protocol bgp ${name} {`,
    `  local ${local} as ${GEO.asRouter};`,
    `  neighbor ${ip} as ${as};`,
    ...bgpTimers(t),
    // Compare MEDs between the two sites' ASes: the preferred site wins when both announce.
    '  med metric yes;',
    '  connect retry time 1;',
    local.includes(':')
      ? '  ipv6 { import where net ~ [ fd99::/16{128,128} ]; export none; };'
      : '  ipv4 { import where net ~ [ 10.99.0.0/16{32,32} ]; export none; };',
    '}',
  ];
  const conf = [
    `router id ${GEO.a.gw};`,
    `log "${dir}/bird.log" all;`,
    'protocol device { scan time 10; }',
    'protocol kernel { ipv4 { export all; }; }',
    'protocol kernel { ipv6 { export all; }; }',
    ...bfdProtocol(t),
    ...peer('site_a', GEO.a.gw, GEO.a.ip, GEO.asA),
    ...peer('site_b', GEO.b.gw, GEO.b.ip, GEO.asB),
    ...peer('site_a6', GEO.a.gw6, GEO.a.ip6, GEO.asA),
    ...peer('site_b6', GEO.b.gw6, GEO.b.ip6, GEO.asB),
    '',
  ].join('\n');
  await writeFile(`${dir}/bird.conf`, conf);
  startServer(lab.netns('router'), {
    dir,
    kind: 'bird',
    argv: ['bird', '-c', `${dir}/bird.conf`, '-s', routerBirdSocket(lab), '-P', `${dir}/bird.pid`],
  });
  await waitBird(lab, 'router', routerBirdSocket(lab));
}

/** A node's bird.conf: the include Vigil writes, and one eBGP session per family to its site's router. */
export async function writeNodeBird(lab: Lab, node: string, t: BgpTiming): Promise<void> {
  const site = siteOf(node);
  const as = node === GEO.a.node ? GEO.asA : GEO.asB;
  const uplink = (name: string, local: string, gw: string, family: 'ipv4' | 'ipv6'): string[] => [
    `protocol bgp ${name} {`,
    `  local ${local} as ${as};`,
    `  neighbor ${gw} as ${GEO.asRouter};`,
    ...bgpTimers(t),
    '  connect retry time 1;',
    `  ${family} { import none; export where ${BIRD_EXPORT_FUNCTION}(); };`,
    '}',
  ];
  const conf = [
    `router id ${site.ip};`,
    'log "/var/log/bird.log" all;',
    'protocol device { scan time 10; }',
    'include "/etc/bird/vigil.conf";',
    ...bfdProtocol(t),
    ...uplink('uplink', site.ip, site.gw, 'ipv4'),
    ...uplink('uplink6', site.ip6, site.gw6, 'ipv6'),
    '',
  ].join('\n');
  await writeFile(lab.hostPath(node, '/etc/ha.d/bird/bird.conf'), conf);
  // Until Vigil writes its own, an include with nothing to announce (Vigil rewrites it and reconfigures BIRD).
  await writeFile(lab.hostPath(node, '/etc/ha.d/bird/vigil.conf'), renderBirdInclude([], node));
}

/** Starts a node's BIRD (at boot, before Vigil) and waits for its control socket. */
export async function startNodeBird(lab: Lab, node: string): Promise<void> {
  await lab.sh(node, 'mkdir -p /run/bird');
  spawnIn(lab, node, ['bird', '-c', '/etc/bird/bird.conf', '-s', '/run/bird/bird.ctl', '-P', '/run/bird/bird.pid']);
  await waitBird(lab, node, '/run/bird/bird.ctl');
}

async function waitBird(lab: Lab, host: string, socket: string): Promise<void> {
  const deadline = nowMs() + 15_000;
  for (;;) {
    const out = await birdc(lab, host, socket, ['show', 'status']);
    if (/Daemon is up and running/.test(out)) return;
    if (nowMs() > deadline) throw new VigilError('VIGIL_ERR_LAB', `BIRD on ${host} did not come up: ${out.trim()}`);
    await sleep(100);
  }
}

/** `birdc show protocols` on the router: how many site sessions (both families) are Established. */
export async function routerSessionsUp(lab: Lab): Promise<number> {
  const out = await birdc(lab, 'router', routerBirdSocket(lab), ['show', 'protocols']);
  return out.split('\n').filter((l) => /^site_[ab]6?\s.*Established/.test(l)).length;
}

/** Every route BIRD on the router holds for a VIP (/32 or /128), with its MED, best first. */
export async function routerVipRoutes(
  lab: Lab,
  vip: string = GEO.vip,
): Promise<{ via: string; med: number | undefined; best: boolean }[]> {
  const out = await birdc(lab, 'router', routerBirdSocket(lab), [
    'show',
    'route',
    `${vip}/${hostPrefixLength(vip)}`,
    'all',
  ]);
  const routes: { via: string; med: number | undefined; best: boolean }[] = [];
  for (const block of out.split(/\n(?=\S|\s+unicast)/)) {
    const via = /via (\S+)/.exec(block)?.[1];
    if (via === undefined) continue;
    const med = /BGP\.med: (\d+)/.exec(block)?.[1];
    routes.push({ via, med: med === undefined ? undefined : Number(med), best: /\]\s+\*/.test(block) });
  }
  return routes;
}

/**
 * BIND as the zone's primary on the router's 10.20.0.53, the key allowed to update the service's name only. The
 * name starts out with the TTL dnsupdate will publish: a cache keeps what it fetched for the TTL it saw then.
 */
export async function startRouterBind(lab: Lab, ttlSec: number): Promise<void> {
  const files = await writeBind(
    `${lab.hostDir('router')}/bind`,
    {
      zone: GEO_ZONE,
      updatable: ['www'],
      nsAddress: GEO.dns,
      records: [`www ${ttlSec} IN A ${GEO.a.ip}`],
      negativeTtl: 5,
    },
    [GEO.dns],
  );
  startServer(lab.netns('router'), files);
  await waitDns(lab.netns('router'), GEO.dns, GEO_ZONE);
}

/** unbound on the client (127.0.0.1), caching what the primary serves for the zone, honouring its TTLs. */
export async function startClientUnbound(lab: Lab): Promise<void> {
  const files = await writeUnbound(`${lab.hostDir('client')}/unbound`, GEO_ZONE, GEO.dns, '127.0.0.1');
  startServer(lab.netns('client'), files);
  await waitDns(lab.netns('client'), '127.0.0.1', GEO_ZONE, 53, 20_000, true);
}

/** The TSIG key each node's dnsupdate reads (/etc/ha.d/dnsupdate.key, mode 600, as `vigil check` wants it). */
export async function writeNodeKey(lab: Lab, node: string): Promise<void> {
  const f = lab.hostPath(node, '/etc/ha.d/dnsupdate.key');
  await writeFile(f, bindKeyText(), { mode: 0o600 });
  await chmod(f, 0o600);
}

export function startEcho(lab: Lab, node: string): void {
  spawnIn(lab, node, [process.execPath, ECHO_JS, String(ECHO_PORT)]);
}
