/**
 * Faults, each a function (and a `vigil lab fault <verb> <host>` verb). Each returns the wall-clock instant the
 * fault took effect (ms since the epoch), which is the zero of the scenario's timings.
 */
import { VigilError } from '../src/util/errors.js';
import type { Driver } from './drivers/types.js';
import { mustRun, nowMs, runCmd, sleep } from './exec.js';
import { addHostIPv6, IFACE, VIP_CIDR, type Lab } from './topology.js';

export const FAULT_VERBS = [
  'kill',
  'freeze',
  'poweroff',
  'poweron',
  'linkdown',
  'linkup',
  'partition',
  'heal',
  'stop',
  'start',
  'isolate',
] as const;
export type FaultVerb = (typeof FAULT_VERBS)[number];

const NFT_TABLE = 'vigil_lab';

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

function needNode(lab: Lab, host: string): void {
  if (lab.host(host).role !== 'node') throw new VigilError('VIGIL_ERR_USAGE', `${host} is not a cluster node`);
}

/** kill -9 every process of the daemon on the host (CTS's `killall -9 heartbeat`). */
export async function killDaemon(lab: Lab, driver: Driver, host: string): Promise<number> {
  needNode(lab, host);
  const pids = await driver.daemonPids(lab, host);
  if (pids.length === 0) throw new VigilError('VIGIL_ERR_LAB', `no ${driver.impl} process on ${host}`);
  const t = nowMs();
  signal(pids, 'SIGKILL');
  return t;
}

/** SIGSTOP the daemon's processes; SIGCONT them after `ms`. Returns the stop instant and a promise of the resume. */
export async function freezeDaemon(
  lab: Lab,
  driver: Driver,
  host: string,
  ms: number,
): Promise<{ t: number; resumed: Promise<number> }> {
  needNode(lab, host);
  const pids = await driver.daemonPids(lab, host);
  if (pids.length === 0) throw new VigilError('VIGIL_ERR_LAB', `no ${driver.impl} process on ${host}`);
  const t = nowMs();
  signal(pids, 'SIGSTOP');
  const resumed = sleep(ms).then(() => {
    signal(pids, 'SIGCONT');
    return nowMs();
  });
  return { t, resumed };
}

async function setPort(lab: Lab, host: string, state: 'up' | 'down'): Promise<void> {
  await mustRun('ip', ['-n', lab.switchNs, 'link', 'set', host, state]);
}

/** Pulls the host's cable at the switch (its eth1 loses carrier); the host keeps running. */
export async function linkDown(lab: Lab, host: string): Promise<number> {
  lab.host(host);
  await setPort(lab, host, 'down');
  return nowMs();
}

export async function linkUp(lab: Lab, host: string): Promise<number> {
  lab.host(host);
  await setPort(lab, host, 'up');
  return nowMs();
}

/**
 * Power cut: the link goes down at once, every process of the host dies (SIGKILL by PID) and the addresses it held
 * (the VIP among them) vanish with its RAM.
 */
export async function powerOff(lab: Lab, host: string): Promise<number> {
  needNode(lab, host);
  // The instant is when `ip` has taken the port down: most of the command's time is its own start-up, before that.
  await setPort(lab, host, 'down');
  const t = nowMs();
  for (let round = 0; round < 20; round++) {
    const pids = await lab.hostPids(host);
    if (pids.length === 0) break;
    signal(pids, 'SIGKILL');
    await sleep(20);
  }
  await mustRun('ip', ['-n', lab.netns(host), '-4', 'addr', 'flush', 'dev', IFACE]);
  await mustRun('ip', ['-n', lab.netns(host), '-6', 'addr', 'flush', 'dev', IFACE, 'scope', 'global']);
  return t;
}

/** Boot: empty /run, the interface configured as at boot, link up, then the daemon if one is installed in the lab. */
export async function powerOn(lab: Lab, host: string, driver?: Driver): Promise<number> {
  needNode(lab, host);
  await lab.resetRun(host);
  const ns = lab.netns(host);
  await runCmd('ip', ['-n', ns, '-4', 'addr', 'flush', 'dev', IFACE]);
  await runCmd('ip', ['-n', ns, '-6', 'addr', 'flush', 'dev', IFACE, 'scope', 'global']);
  await mustRun('ip', ['-n', ns, 'addr', 'add', `${lab.host(host).ip}/${VIP_CIDR}`, 'brd', '+', 'dev', IFACE]);
  await addHostIPv6(lab, host);
  await setPort(lab, host, 'up');
  const t = nowMs();
  if (driver !== undefined) await driver.start(lab, host);
  return t;
}

/**
 * Cuts `host` off from every other node while the client and the router still reach every node: a bridge-family
 * nft table in the switch namespace drops frames between the isolated node's port and the other nodes' ports.
 */
export async function partition(lab: Lab, host: string): Promise<number> {
  needNode(lab, host);
  lab.state.partitioned = [...new Set([...(lab.state.partitioned ?? []), host])].sort();
  return applyCuts(lab);
}

/**
 * Cuts `host` off from every other node and from the etcd hosts; the client and the router still reach it (they are
 * on its side): the holder that can neither hear its peers nor renew its etcd lease.
 */
export async function isolate(lab: Lab, host: string): Promise<number> {
  needNode(lab, host);
  lab.state.isolated = [...new Set([...(lab.state.isolated ?? []), host])].sort();
  return applyCuts(lab);
}

async function applyCuts(lab: Lab): Promise<number> {
  const rules: string[] = [];
  const cut = (h: string, others: readonly string[]): void => {
    if (others.length === 0) return;
    const set = `{ ${others.map((o) => `"${o}"`).join(', ')} }`;
    rules.push(`    iifname "${h}" oifname ${set} drop`, `    iifname ${set} oifname "${h}" drop`);
  };
  for (const h of lab.state.partitioned ?? [])
    cut(
      h,
      lab.nodes.filter((n) => n !== h),
    );
  for (const h of lab.state.isolated ?? []) cut(h, [...lab.nodes.filter((n) => n !== h), ...lab.etcdHosts]);
  const ruleset = nftTable('bridge', NFT_TABLE, [...nftChain('forward', rules)]);
  await mustRun('ip', ['netns', 'exec', lab.switchNs, 'nft', '-f', '-'], { input: ruleset });
  const t = nowMs();
  await lab.saveState();
  return t;
}

/**
 * An nft script that replaces the whole table (created empty first, so that the delete never fails) with `body`:
 * one atomic change, no window without rules.
 */
export function nftTable(family: 'bridge' | 'inet', table: string, body: readonly string[]): string {
  return [
    `table ${family} ${table}`,
    `delete table ${family} ${table}`,
    `table ${family} ${table} {`,
    ...body,
    '}',
    '',
  ].join('\n');
}

/** A base chain hooked at `hook` that accepts what its rules do not drop. */
export function nftChain(hook: 'forward' | 'input', rules: readonly string[], priority = 0): string[] {
  return [`  chain ${hook} {`, `    type filter hook ${hook} priority ${priority}; policy accept;`, ...rules, '  }'];
}

/** Removes every partition. */
export async function heal(lab: Lab, _host?: string): Promise<number> {
  await runCmd('ip', ['netns', 'exec', lab.switchNs, 'nft', 'delete', 'table', 'bridge', NFT_TABLE]);
  const t = nowMs();
  lab.state.partitioned = [];
  lab.state.isolated = [];
  await lab.saveState();
  return t;
}

export async function stopDaemon(lab: Lab, driver: Driver, host: string): Promise<number> {
  needNode(lab, host);
  const t = nowMs();
  await driver.stop(lab, host);
  return t;
}

export async function startDaemon(lab: Lab, driver: Driver, host: string): Promise<number> {
  needNode(lab, host);
  const t = nowMs();
  await driver.start(lab, host);
  return t;
}
