/**
 * A minimal network-namespace fixture for transport/os tests: a few hosts, each an empty namespace, joined by
 * links that are bridges living in a separate switch namespace. Nothing is created in the root namespace and no
 * namespace gets a route out, so test traffic cannot leave the machine. Meant to be replaced by the lab (lab/)
 * once that lands; it only does what these tests need.
 *
 * Names: `<base>-<pid>-<host>`; namespaces left behind by a crashed earlier run of the same file (dead pid) are
 * removed when a new fixture with the same base is created.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LinkMember {
  readonly host: string;
  /** Interface name inside the host, e.g. `eth1`. */
  readonly ifname: string;
  /** Address with prefix, e.g. `10.77.1.1/24`; omitted → no address. */
  readonly cidr?: string;
}

export interface LinkSpec {
  /** Short name (≤ 6 chars): the bridge in the switch namespace. */
  readonly name: string;
  readonly members: readonly LinkMember[];
}

export interface NetnsFixture {
  readonly prefix: string;
  /** Full namespace name of a host. */
  ns(host: string): string;
  /** Runs argv inside the host's namespace (`ip netns exec`). Rejects on non-zero exit. */
  exec(host: string, argv: readonly string[], timeoutMs?: number): Promise<{ stdout: string; stderr: string }>;
  /** Starts a long-running process in the host; it is killed (by pid) at cleanup. */
  spawn(host: string, argv: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Adds one more member to an existing link (used to recreate a deleted interface). */
  attach(link: string, member: LinkMember): Promise<void>;
  /** Kills spawned processes and deletes every namespace of this fixture. Idempotent. */
  cleanup(): Promise<void>;
}

/** Why namespace tests cannot run here, or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try {
    await run('ip', ['netns', 'list']);
  } catch (e) {
    return `needs iproute2 with netns support: ${String(e)}`;
  }
  return undefined;
}

async function ip(args: readonly string[]): Promise<string> {
  const { stdout } = await run('ip', args, { timeout: 10_000 });
  return stdout;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function removeStale(base: string): Promise<void> {
  const list = await ip(['netns', 'list']);
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${base}-(\\d+)-`).exec(name);
    if (m === null) continue;
    if (pidAlive(Number(m[1]))) continue;
    await ip(['netns', 'del', name]).catch(() => undefined);
  }
}

export interface NetnsOptions {
  /**
   * Keep IPv6 on in the hosts (the switch never needs it): link-local addresses, DAD and neighbour discovery as on a
   * real host, but no router advertisements or solicitations and no autoconfiguration. Default: IPv6 off.
   */
  readonly ipv6?: boolean;
}

export async function createNetns(
  base: string,
  hosts: readonly string[],
  links: readonly LinkSpec[],
  options: NetnsOptions = {},
): Promise<NetnsFixture> {
  if (!/^[a-z][a-z0-9]{1,7}$/.test(base)) throw new Error(`bad fixture base ${base}`);
  await removeStale(base);
  const prefix = `${base}-${process.pid}`;
  const sw = `${prefix}-sw`;
  const created: string[] = [];
  const children = new Set<ChildProcess>();
  const portCount = new Map<string, number>();
  const nsOf = (host: string): string => {
    if (!hosts.includes(host)) throw new Error(`unknown host ${host}`);
    return `${prefix}-${host}`;
  };
  let cleaned = false;

  const fixture: NetnsFixture = {
    prefix,
    ns: nsOf,
    async exec(host, argv, timeoutMs = 10_000) {
      const [cmd, ...rest] = argv;
      if (cmd === undefined) throw new Error('empty argv');
      return run('ip', ['netns', 'exec', nsOf(host), cmd, ...rest], { timeout: timeoutMs });
    },
    spawn(host, argv, env) {
      const child = spawn('ip', ['netns', 'exec', nsOf(host), ...argv], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    async attach(link, member) {
      const n = (portCount.get(link) ?? 0) + 1;
      portCount.set(link, n);
      const hostNs = nsOf(member.host);
      const swPort = `${link}p${n}`;
      await ip(['-n', hostNs, 'link', 'add', member.ifname, 'type', 'veth', 'peer', 'name', swPort, 'netns', sw]);
      await ip(['-n', sw, 'link', 'set', swPort, 'master', link, 'up']);
      if (member.cidr !== undefined) await ip(['-n', hostNs, 'addr', 'add', member.cidr, 'dev', member.ifname]);
      await ip(['-n', hostNs, 'link', 'set', member.ifname, 'up']);
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      for (const c of children) {
        if (c.pid !== undefined && c.exitCode === null) {
          try {
            process.kill(c.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
      for (const name of created.reverse()) await ip(['netns', 'del', name]).catch(() => undefined);
    },
  };

  try {
    for (const name of [sw, ...hosts.map(nsOf)]) {
      await ip(['netns', 'add', name]);
      created.push(name);
      await ip(['-n', name, 'link', 'set', 'lo', 'up']);
      const sysctl = (kv: string): Promise<unknown> => run('ip', ['netns', 'exec', name, 'sysctl', '-qw', kv]);
      if (options.ipv6 === true && name !== sw) {
        for (const conf of ['all', 'default']) {
          await sysctl(`net.ipv6.conf.${conf}.accept_ra=0`);
          await sysctl(`net.ipv6.conf.${conf}.autoconf=0`);
          await sysctl(`net.ipv6.conf.${conf}.router_solicitations=0`);
        }
      } else {
        // No IPv6: keeps captures free of router solicitations and DAD.
        await sysctl('net.ipv6.conf.all.disable_ipv6=1');
        await sysctl('net.ipv6.conf.default.disable_ipv6=1');
      }
    }
    for (const link of links) {
      if (!/^[a-z][a-z0-9]{0,5}$/.test(link.name)) throw new Error(`bad link name ${link.name}`);
      await ip(['-n', sw, 'link', 'add', link.name, 'type', 'bridge', 'mcast_snooping', '0']);
      await ip(['-n', sw, 'link', 'set', link.name, 'up']);
      for (const m of link.members) await fixture.attach(link.name, m);
    }
  } catch (e) {
    await fixture.cleanup();
    throw e;
  }
  return fixture;
}

/**
 * Hosts on one /24 link per subnet: link i is `l<i>` with `eth<i>` on every host, and the k-th host (from 1) is
 * `<subnet>.<k>` unless `hostNumbers` says otherwise.
 */
export function createLinked(
  base: string,
  hosts: readonly string[],
  subnets: readonly string[],
  options: NetnsOptions & { readonly hostNumbers?: readonly number[] } = {},
): Promise<NetnsFixture> {
  const links = subnets.map((subnet, i) => ({
    name: `l${i + 1}`,
    members: hosts.map((host, k) => ({
      host,
      ifname: `eth${i + 1}`,
      cidr: `${subnet}.${options.hostNumbers?.[k] ?? k + 1}/24`,
    })),
  }));
  return createNetns(base, hosts, links, options);
}
