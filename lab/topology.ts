/**
 * The lab topology: hosts are network namespaces (plus their own UTS and mount namespaces) wired to a bridge that
 * lives in its own "switch" namespace, so the root namespace gets no address, no interface and no nft table.
 *
 * Layout on disk, per prefix P:
 *   /run/netns/P-<host>              net namespaces (`ip netns` sees them)
 *   /run/vigil-lab/P/ns/<host>.{uts,mnt}   persistent UTS and mount namespaces (a private bind mount, as unshare needs)
 *   /run/vigil-lab/P/hosts/<host>/{ha.d,lib,run,log,keepalived}  bind-mounted over /etc/ha.d, /var/lib/heartbeat,
 *                                    /run, /var/log and /etc/keepalived inside the host's mount namespace
 *   /run/vigil-lab/P/state.json      what `up` built, for the later CLI calls
 */
import { mkdir, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { VigilError } from '../src/util/errors.js';
import { mustRun, runCmd, sleep, spawnCmd, type RunResult } from './exec.js';

export const LAB_ROOT = '/run/vigil-lab';
export const DEFAULT_PREFIX = 'vl';
export const MAX_NODES = 16;
export const SUBNET_PREFIX = '192.168.1.';
export const VIP = '192.168.1.50';
export const VIP_CIDR = 24;
export const ROUTER_IP = '192.168.1.1';
export const CLIENT_IP = '192.168.1.100';
/** Every host's only interface, as in the Heartbeat tutorial. */
export const IFACE = 'eth1';
// IPv6 beside the tutorial's IPv4: the documentation prefix (never routed anywhere), the same host numbers.
export const SUBNET6_PREFIX = '2001:db8:1::';
export const VIP6 = '2001:db8:1::50';
export const VIP6_CIDR = 64;
export const ROUTER_IP6 = '2001:db8:1::1';
export const CLIENT_IP6 = '2001:db8:1::100';

export type HostRole = 'router' | 'node' | 'client' | 'etcd';
/** etcd members the lab can add (`Lab.up({ etcd })`): etcd1 = .61, etcd2 = .62, ... */
export const MAX_ETCD = 5;
export interface HostInfo {
  readonly name: string;
  readonly role: HostRole;
  readonly ip: string;
  readonly ip6: string;
}

export interface LabState {
  readonly prefix: string;
  readonly nodes: number;
  readonly createdAt: string;
  /** Set by the scenario runner / `lab start` so that `fault poweron` knows which daemon boots with the host. */
  impl?: string;
  /** Nodes currently cut off from the other nodes by `partition`. */
  partitioned?: string[];
  /** Hosts of a layout built on top of this one (lab/topology-geo.ts); absent = labHosts(nodes). */
  hosts?: HostInfo[];
  /** etcd member hosts (etcd1...), 0 when absent (older state files lack it). */
  etcd?: number;
  /** Nodes cut off from the etcd hosts too (`isolate`). */
  isolated?: string[];
}

export function nodeName(i: number): string {
  return `linux${i}`;
}

export function nodeIp(i: number): string {
  // linux1 = .29, linux2 = .30 (the tutorial), further nodes follow; 16 nodes end at .44, below the VIP.
  return `${SUBNET_PREFIX}${28 + i}`;
}

export function nodeIp6(i: number): string {
  return `${SUBNET6_PREFIX}${28 + i}`;
}

/** The directories under /run that the Debian packages' tmpfiles create at boot (Heartbeat's, resource-agents'). */
const RUN_DIRS = [
  'heartbeat/ccm',
  'heartbeat/crm',
  'heartbeat/dopd',
  'heartbeat/rsctmp',
  'resource-agents',
  'lock/subsys',
];

export function etcdName(i: number): string {
  return `etcd${i}`;
}

export function etcdIp(i: number): string {
  return `${SUBNET_PREFIX}${60 + i}`;
}

export function etcdIp6(i: number): string {
  return `${SUBNET6_PREFIX}${60 + i}`;
}

export function labHosts(nodes: number, etcd = 0): HostInfo[] {
  const hosts: HostInfo[] = [{ name: 'router', role: 'router', ip: ROUTER_IP, ip6: ROUTER_IP6 }];
  for (let i = 1; i <= nodes; i++) hosts.push({ name: nodeName(i), role: 'node', ip: nodeIp(i), ip6: nodeIp6(i) });
  hosts.push({ name: 'client', role: 'client', ip: CLIENT_IP, ip6: CLIENT_IP6 });
  for (let i = 1; i <= etcd; i++) hosts.push({ name: etcdName(i), role: 'etcd', ip: etcdIp(i), ip6: etcdIp6(i) });
  return hosts;
}

/** The host's static IPv6 address, added as at boot: no DAD (the lab builds hosts one after another, on purpose). */
export function addHostIPv6(lab: Lab, host: string): Promise<string> {
  return mustRun('ip', ['-n', lab.netns(host), 'addr', 'add', `${lab.host(host).ip6}/64`, 'dev', IFACE, 'nodad']);
}

export function checkPrefix(prefix: string): void {
  // Short enough that "<prefix>-linux16" stays a readable netns name; only characters safe in paths and nft names.
  if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix)) {
    throw new VigilError('VIGIL_ERR_USAGE', `bad lab prefix '${prefix}': 1-8 characters, a-z then a-z/0-9`);
  }
}

export function checkNodes(nodes: number): void {
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > MAX_NODES) {
    throw new VigilError('VIGIL_ERR_USAGE', `--nodes must be an integer from 2 to ${MAX_NODES}, got ${nodes}`);
  }
}

export async function assertRoot(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new VigilError('VIGIL_ERR_LAB_NOT_ROOT', 'the lab needs root (network, UTS and mount namespaces)');
  }
  for (const tool of ['ip', 'nsenter', 'unshare', 'nft']) {
    const r = await runCmd('sh', ['-c', `command -v ${tool}`]);
    if (r.code !== 0)
      throw new VigilError(
        'VIGIL_ERR_LAB_NOT_ROOT',
        `the lab needs '${tool}' (install iproute2, util-linux, nftables)`,
      );
  }
}

/** Whether the path exists (the lab's checks of its own files and mounts). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export class Lab {
  readonly hosts: readonly HostInfo[];
  readonly nodes: readonly string[];
  /** etcd member hosts (empty unless the lab was built with some). */
  readonly etcdHosts: readonly string[];

  private constructor(
    readonly prefix: string,
    public state: LabState,
  ) {
    this.hosts = state.hosts ?? labHosts(state.nodes, state.etcd ?? 0);
    this.nodes = this.hosts.filter((h) => h.role === 'node').map((h) => h.name);
    this.etcdHosts = this.hosts.filter((h) => h.role === 'etcd').map((h) => h.name);
  }

  get dir(): string {
    return `${LAB_ROOT}/${this.prefix}`;
  }
  get nsDir(): string {
    return `${this.dir}/ns`;
  }
  get switchNs(): string {
    return `${this.prefix}-sw`;
  }
  netns(host: string): string {
    return `${this.prefix}-${host}`;
  }
  hostDir(host: string): string {
    return `${this.dir}/hosts/${host}`;
  }
  /** A path inside the host's view (e.g. /var/log/ha-log) mapped to where the root namespace sees it. */
  hostPath(host: string, path: string): string {
    const maps: [string, string][] = [
      ['/etc/ha.d', 'ha.d'],
      ['/var/lib/heartbeat', 'lib'],
      ['/var/log', 'log'],
      ['/var/run', 'run'],
      ['/run', 'run'],
      ['/etc/keepalived', 'keepalived'],
    ];
    for (const [inside, sub] of maps) {
      if (path === inside || path.startsWith(`${inside}/`))
        return `${this.hostDir(host)}/${sub}${path.slice(inside.length)}`;
    }
    throw new VigilError('VIGIL_ERR_LAB', `${path} is not a per-host path`);
  }
  host(name: string): HostInfo {
    const h = this.hosts.find((x) => x.name === name);
    if (h === undefined) {
      throw new VigilError(
        'VIGIL_ERR_USAGE',
        `no host '${name}' in lab ${this.prefix} (${this.hosts.map((x) => x.name).join(', ')})`,
      );
    }
    return h;
  }

  /** nsenter arguments entering all of a host's namespaces. */
  enterArgs(host: string): string[] {
    this.host(host);
    return [
      `--net=/run/netns/${this.netns(host)}`,
      `--uts=${this.nsDir}/${host}.uts`,
      `--mount=${this.nsDir}/${host}.mnt`,
      '--',
    ];
  }

  exec(
    host: string,
    cmd: string,
    args: readonly string[] = [],
    opts: { timeoutMs?: number; input?: string } = {},
  ): Promise<RunResult> {
    return runCmd('nsenter', [...this.enterArgs(host), cmd, ...args], opts);
  }

  async mustExec(
    host: string,
    cmd: string,
    args: readonly string[] = [],
    opts: { timeoutMs?: number } = {},
  ): Promise<string> {
    return mustRun('nsenter', [...this.enterArgs(host), cmd, ...args], opts);
  }

  sh(host: string, script: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.exec(host, 'sh', ['-c', script], opts);
  }

  spawn(host: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return spawnCmd('nsenter', [...this.enterArgs(host), cmd, ...args], opts);
  }

  /** PIDs of every process living in the host's network namespace (how the lab finds what to kill: by PID). */
  async pids(host: string): Promise<number[]> {
    return pidsInNetns(`/run/netns/${this.netns(host)}`);
  }

  /** PIDs of the processes running *in* the host (its mount namespace): what a power cut takes down. Lab observers
   *  that only borrow the host's network namespace (`ip -n ... monitor`) are not among them. */
  async hostPids(host: string): Promise<number[]> {
    const ino = await nsInode(`${this.nsDir}/${host}.mnt`);
    if (ino === undefined) return [];
    return pidsWithNs('mnt', ino);
  }

  /** A freshly booted host has an empty /run with the directories the packages' tmpfiles would create. */
  async resetRun(host: string): Promise<void> {
    const run = `${this.hostDir(host)}/run`;
    for (const e of await readdir(run).catch(() => [] as string[]))
      await rm(`${run}/${e}`, { recursive: true, force: true });
    for (const d of RUN_DIRS) await mkdir(`${run}/${d}`, { recursive: true });
    await runCmd('chown', ['-R', 'hacluster:haclient', `${run}/heartbeat`]);
  }

  async saveState(): Promise<void> {
    await writeFile(`${this.dir}/state.json`, JSON.stringify(this.state, null, 2) + '\n');
  }

  static async open(prefix = DEFAULT_PREFIX): Promise<Lab> {
    checkPrefix(prefix);
    let text: string;
    try {
      text = await readFile(`${LAB_ROOT}/${prefix}/state.json`, 'utf8');
    } catch {
      throw new VigilError('VIGIL_ERR_LAB', `no lab '${prefix}' is up (run: vigil lab up --prefix ${prefix})`);
    }
    const state = JSON.parse(text) as LabState;
    return new Lab(prefix, state);
  }

  /** Builds the topology, first removing anything a crashed run with the same prefix left behind. */
  static async up(opts: { prefix?: string; nodes?: number; etcd?: number } = {}): Promise<Lab> {
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    const nodes = opts.nodes ?? 2;
    const etcd = opts.etcd ?? 0;
    checkPrefix(prefix);
    checkNodes(nodes);
    if (!Number.isInteger(etcd) || etcd < 0 || etcd > MAX_ETCD)
      throw new VigilError('VIGIL_ERR_USAGE', `--etcd must be an integer from 0 to ${MAX_ETCD}, got ${etcd}`);
    await assertRoot();
    await cleanup(prefix);
    const lab = new Lab(prefix, { prefix, nodes, etcd, createdAt: new Date().toISOString() });
    try {
      await lab.build();
    } catch (e) {
      await cleanup(prefix).catch(() => undefined);
      throw e;
    }
    return lab;
  }

  private async build(): Promise<void> {
    await mkdir(this.nsDir, { recursive: true });
    // unshare --mount=<file> needs the file on a private mount, or the new namespace could pin itself.
    await mustRun('mount', ['--bind', this.nsDir, this.nsDir]);
    await mustRun('mount', ['--make-private', this.nsDir]);
    await this.saveState();

    const sw = this.switchNs;
    await mustRun('ip', ['netns', 'add', sw]);
    await mustRun('ip', ['-n', sw, 'link', 'set', 'lo', 'up']);
    // No STP (ports forward at once), no multicast snooping (VRRP and Heartbeat broadcasts reach every port).
    await mustRun('ip', [
      '-n',
      sw,
      'link',
      'add',
      'br0',
      'type',
      'bridge',
      'stp_state',
      '0',
      'forward_delay',
      '0',
      'mcast_snooping',
      '0',
    ]);
    await mustRun('ip', ['-n', sw, 'link', 'set', 'br0', 'up']);

    for (const h of this.hosts) await this.buildHost(h);
  }

  private async buildHost(h: HostInfo): Promise<void> {
    const ns = this.netns(h.name);
    const sw = this.switchNs;
    await mustRun('ip', ['netns', 'add', ns]);
    await mustRun('ip', ['-n', sw, 'link', 'add', h.name, 'type', 'veth', 'peer', 'name', IFACE, 'netns', ns]);
    await mustRun('ip', ['-n', sw, 'link', 'set', h.name, 'master', 'br0', 'up']);
    await mustRun('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await mustRun('ip', ['-n', ns, 'addr', 'add', `${h.ip}/${VIP_CIDR}`, 'brd', '+', 'dev', IFACE]);
    // IPv6 on, without what a real network would add: no router advertisements taken, no autoconfiguration, no
    // router solicitations (nothing in the lab answers them). Link-local addresses and neighbour discovery as usual.
    for (const conf of ['all', 'default', IFACE]) {
      for (const kv of ['disable_ipv6=0', 'accept_ra=0', 'autoconf=0', 'router_solicitations=0']) {
        await mustRun('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${conf}.${kv}`]);
      }
    }
    await addHostIPv6(this, h.name);
    await mustRun('ip', ['-n', ns, 'link', 'set', IFACE, 'up']);

    const hd = this.hostDir(h.name);
    for (const sub of ['ha.d', 'lib', 'run', 'log', 'keepalived']) await mkdir(`${hd}/${sub}`, { recursive: true });
    // The node's own copy of the installed Heartbeat tree (resource.d, rc.d, shellfuncs...), without any identity files.
    await mustRun('cp', ['-a', '/etc/ha.d/.', `${hd}/ha.d/`]);
    if (await exists('/var/lib/heartbeat')) {
      await mustRun('cp', ['-a', '/var/lib/heartbeat/.', `${hd}/lib/`]);
      for (const f of ['hb_uuid', 'hb_generation', 'hostcache', 'delhostcache'])
        await rm(`${hd}/lib/${f}`, { force: true });
    }
    for (const d of RUN_DIRS) await mkdir(`${hd}/run/${d}`, { recursive: true });
    await runCmd('chown', ['-R', 'hacluster:haclient', `${hd}/run/heartbeat`]);

    const touch = `${this.nsDir}/${h.name}`;
    await writeFile(`${touch}.uts`, '');
    await writeFile(`${touch}.mnt`, '');
    const script = [
      'set -e',
      `hostname ${h.name}`,
      // sysfs must show this namespace's interfaces (resource agents look at /sys/class/net).
      'mount -t sysfs sysfs /sys',
      `mount --bind ${hd}/ha.d /etc/ha.d`,
      `mount --bind ${hd}/lib /var/lib/heartbeat`,
      `mount --bind ${hd}/log /var/log`,
      `mount --bind ${hd}/keepalived /etc/keepalived`,
      // Drop this namespace's copies of mounts under /run (other namespaces' handles) so it pins nothing, then
      // give the host its own /run (and so /var/run).
      `for m in $(awk '$2 ~ "^/run/" {print $2}' /proc/self/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done`,
      `mount --bind ${hd}/run /run`,
    ].join('\n');
    await mustRun('nsenter', [
      `--net=/run/netns/${ns}`,
      '--',
      'unshare',
      `--uts=${touch}.uts`,
      `--mount=${touch}.mnt`,
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
    ]);
  }

  async down(): Promise<void> {
    await cleanup(this.prefix);
  }

  /** One line per host: addresses on eth1, link state, daemon processes. */
  async status(): Promise<HostStatus[]> {
    const out: HostStatus[] = [];
    for (const h of this.hosts) {
      const r = await runCmd('ip', ['-n', this.netns(h.name), '-j', 'addr', 'show', 'dev', IFACE]);
      let addrs: string[] = [];
      let addrs6: string[] = [];
      let up = false;
      if (r.code === 0) {
        const j = JSON.parse(r.stdout) as {
          operstate?: string;
          addr_info?: { family: string; local: string; prefixlen: number; scope?: string }[];
        }[];
        const first = j[0];
        addrs = (first?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
        addrs6 = (first?.addr_info ?? [])
          .filter((a) => a.family === 'inet6' && a.scope === 'global')
          .map((a) => `${a.local}/${a.prefixlen}`);
        up = first?.operstate === 'UP';
      }
      const pids = await this.pids(h.name);
      const procs: string[] = [];
      for (const pid of pids) {
        const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
        if (comm !== '') procs.push(`${comm.trim()}[${pid}]`);
      }
      out.push({
        host: h.name,
        role: h.role,
        link: up ? 'up' : 'down',
        addrs,
        holdsVip: addrs.some((a) => a.startsWith(`${VIP}/`)),
        addrs6,
        holdsVip6: addrs6.some((a) => a.startsWith(`${VIP6}/`)),
        procs,
      });
    }
    return out;
  }
}

export interface HostStatus {
  host: string;
  role: HostRole;
  link: 'up' | 'down';
  addrs: string[];
  holdsVip: boolean;
  /** Global IPv6 addresses (link-local ones left out). */
  addrs6: string[];
  holdsVip6: boolean;
  procs: string[];
}

async function nsInode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch {
    return undefined;
  }
}

export async function pidsInNetns(nsPath: string): Promise<number[]> {
  const ino = await nsInode(nsPath);
  if (ino === undefined) return [];
  return pidsWithNs('net', ino);
}

async function pidsWithNs(kind: 'net' | 'mnt', ino: number): Promise<number[]> {
  const want = `${kind}:[${ino}]`;
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const link = await readlink(`/proc/${e}/ns/${kind}`).catch(() => '');
    if (link === want) pids.push(Number(e));
  }
  return pids;
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Lists lab prefixes that have something on this machine (state dirs or namespaces). */
export async function listLabs(): Promise<string[]> {
  const found = new Set<string>();
  for (const d of await readdir(LAB_ROOT).catch(() => [] as string[])) found.add(d);
  return [...found].sort();
}

/**
 * Removes everything a lab with this prefix may have left: processes in its namespaces (SIGKILL by PID), its
 * namespaces and mounts, the switch (and with it the bridge, veths and nft tables), its directories. Idempotent.
 */
export async function cleanup(prefix: string): Promise<void> {
  checkPrefix(prefix);
  const netnsNames = (await readdir('/run/netns').catch(() => [] as string[])).filter((n) =>
    n.startsWith(`${prefix}-`),
  );
  for (let round = 0; round < 20; round++) {
    let any = false;
    for (const n of netnsNames) {
      const pids = await pidsInNetns(`/run/netns/${n}`);
      if (pids.length > 0) {
        any = true;
        killAll(pids);
      }
    }
    if (!any) break;
    await sleep(50);
  }
  const dir = `${LAB_ROOT}/${prefix}`;
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const ours = mounts
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort()
    .reverse();
  for (const m of ours) await runCmd('umount', ['-l', m]);
  for (const n of netnsNames) await runCmd('ip', ['netns', 'del', n]);
  await rm(dir, { recursive: true, force: true });
}
