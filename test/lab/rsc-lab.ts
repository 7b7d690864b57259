/**
 * Shared pieces of the resource lab tests (real resource scripts under a Vigil cluster in the lab): the cluster's
 * /etc/ha.d files, starting and stopping the daemons, reading a host's log and mounts.
 */
import { access, constants, readFile, rm, writeFile } from 'node:fs/promises';
import { HA_LOGFILE } from '../../lab/drivers/common.js';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { sleep, waitFor } from '../../lab/exec.js';
import { IFACE, type Lab } from '../../lab/topology.js';
import { vipHolders } from '../../lab/soak.js';

export const vigil = new VigilDriver();
export const DEBUGFILE = '/var/log/ha-debug';

/** `vrt<tag><pid>`: this helper's own lab prefix, so parallel runs of other engineers never collide with it. */
export function vrtPrefix(tag: string): string {
  return `vrt${tag}${(process.pid % 1296).toString(36)}`.slice(0, 8);
}

/** Why a program this test needs is missing, or undefined when all are there. */
export async function missing(paths: readonly string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      await access(p, constants.X_OK);
    } catch {
      return p;
    }
  }
  return undefined;
}

export interface ClusterFiles {
  /** haresources lines (the same file on both nodes, as Heartbeat requires). */
  readonly haresources: string;
  readonly autoFailback: boolean;
  /** Lines added to ha.cf. */
  readonly extra?: readonly string[];
}

/**
 * Fast timings that are still safe on 2 shared cores: keepalive 200 ms, deadtime 2 s (Heartbeat runs fine with
 * them in the lab too), initdead 4 s so two nodes started a moment apart find each other.
 */
export async function writeCluster(lab: Lab, f: ClusterFiles): Promise<void> {
  const hacf = [
    `logfile ${HA_LOGFILE}`,
    `debugfile ${DEBUGFILE}`,
    'keepalive 200ms',
    'deadtime 2',
    'warntime 1',
    'initdead 4',
    `bcast ${IFACE}`,
    `auto_failback ${f.autoFailback ? 'on' : 'off'}`,
    ...(f.extra ?? []),
    ...lab.nodes.map((n) => `node ${n}`),
    '',
  ].join('\n');
  for (const n of lab.nodes) {
    await writeFile(lab.hostPath(n, '/etc/ha.d/ha.cf'), hacf);
    await writeFile(lab.hostPath(n, '/etc/ha.d/authkeys'), 'auth 1\n1 sha1 MaClefSecrete\n', { mode: 0o600 });
    await writeFile(lab.hostPath(n, '/etc/ha.d/haresources'), f.haresources);
  }
}

export async function logOf(lab: Lab, host: string, path = HA_LOGFILE): Promise<string> {
  return readFile(lab.hostPath(host, path), 'utf8').catch(() => '');
}

/** The end of both nodes' logs, for failure messages. */
export async function logTails(lab: Lab, lines = 30): Promise<string> {
  let s = '';
  for (const n of lab.nodes) s += `\n--- ${n} ---\n${(await logOf(lab, n)).split('\n').slice(-lines).join('\n')}`;
  return s;
}

export async function logShows(lab: Lab, host: string, re: RegExp, timeoutMs: number): Promise<string> {
  try {
    return await waitFor(`${host} log: ${re.source}`, timeoutMs, async () => re.exec(await logOf(lab, host))?.[0]);
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}${await logTails(lab)}`, { cause: e });
  }
}

export async function startVigil(lab: Lab, host: string): Promise<void> {
  try {
    await vigil.start(lab, host);
  } catch (e) {
    const out = await logOf(lab, host, '/var/log/vigil.start');
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- output ---\n${out}${await logTails(lab)}`, {
      cause: e,
    });
  }
}

/** SIGKILL the daemon (by PID) and forget its pid file, as a crashed process leaves it. */
export async function killVigil(lab: Lab, host: string): Promise<void> {
  for (const pid of await vigil.daemonPids(lab, host)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await waitFor(`vigil gone on ${host}`, 10_000, async () =>
    (await vigil.daemonPids(lab, host)).length === 0 ? true : undefined,
  );
  await rm(lab.hostPath(host, '/run/vigil.pid'), { force: true });
}

/** Kills every daemon and waits a moment for resource scripts they left behind to finish. */
export async function killAll(lab: Lab): Promise<void> {
  for (const n of lab.nodes) await killVigil(lab, n).catch(() => undefined);
  await sleep(200);
}

/** Nodes holding the VIP on eth1 right now. */
export { vipHolders };

/**
 * Waits until the group (`what`, judged by `runsOn`, and the VIP of the same group) is on `host` and on no other
 * node; a timeout says where the group and the VIP were last seen, and the end of both logs.
 */
export async function groupOn(
  lab: Lab,
  host: string,
  timeoutMs: number,
  what: string,
  runsOn: (host: string) => Promise<boolean>,
): Promise<void> {
  let last = '';
  try {
    await waitFor(`the group on ${host} only`, timeoutMs, async () => {
      const on: string[] = [];
      for (const n of lab.nodes) if (await runsOn(n)) on.push(n);
      const vip = await vipHolders(lab);
      last = `${what} on [${on.join(', ')}], VIP on [${vip.join(', ')}]`;
      return on.length === 1 && on[0] === host && vip.length === 1 && vip[0] === host ? true : undefined;
    });
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (last: ${last})${await logTails(lab)}`, {
      cause: e,
    });
  }
}
