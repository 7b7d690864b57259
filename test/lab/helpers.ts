import { readdir, readFile, rm } from 'node:fs/promises';
import type { TestContext } from 'node:test';
import type { Driver } from '../../lab/drivers/types.js';
import { runCmd, sleep, waitFor } from '../../lab/exec.js';
import { cleanup, IFACE, type Lab } from '../../lab/topology.js';
import assert from 'node:assert/strict';

export const isRoot = process.getuid?.() === 0;

/** Lab tests need root (namespaces, bridges); otherwise they are skipped and say so. */
export function needRoot(t: TestContext): boolean {
  if (isRoot) return true;
  t.skip('needs root: the lab builds network, UTS and mount namespaces (run the tests as root)');
  return false;
}

/** A prefix of our own so parallel helpers and crashed runs never collide with this test. */
export function uniquePrefix(tag: string): string {
  return `t${tag}${(process.pid % 10000).toString(36)}`.slice(0, 8);
}

/** Everything on the machine that carries this lab prefix: namespaces, state dirs, mounts. */
export async function leftovers(prefix: string): Promise<string[]> {
  const found: string[] = [];
  for (const n of await readdir('/run/netns').catch(() => [] as string[]))
    if (n.startsWith(`${prefix}-`)) found.push(`netns ${n}`);
  for (const d of await readdir('/run/vigil-lab').catch(() => [] as string[]))
    if (d === prefix) found.push(`dir /run/vigil-lab/${d}`);
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  for (const l of mounts.split('\n')) {
    const m = l.split(' ')[1] ?? '';
    if (
      m.startsWith(`/run/vigil-lab/${prefix}/`) ||
      m === `/run/vigil-lab/${prefix}` ||
      m.startsWith(`/run/netns/${prefix}-`)
    )
      found.push(`mount ${m}`);
  }
  return found;
}

/**
 * Processes still inside one of this lab's hosts (their mount table holds the lab's bind mounts): a host that
 * outlived its namespaces (a PID namespace's daemons, say) is found here when leftovers() sees nothing.
 */
export async function labProcesses(prefix: string): Promise<number[]> {
  const needle = ` /run/vigil-lab/${prefix}/`;
  const found: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const mounts = await readFile(`/proc/${p}/mountinfo`, 'utf8').catch(() => '');
    if (mounts.includes(needle)) found.push(Number(p));
  }
  return found;
}

/** SIGKILL every daemon, and remove the VIP (`address/prefix`) wherever it was left: the next case starts clean. */
export async function killDaemons(lab: Lab, drivers: Record<string, Driver>, vip: string): Promise<void> {
  for (const [host, d] of Object.entries(drivers)) {
    // Killed again on every look: a Heartbeat master forks children (its resource manager among them) that can
    // appear after the first list was taken, and those outlive it.
    await waitFor(`${d.impl} gone on ${host}`, 10_000, async () => {
      const pids = await d.daemonPids(lab, host);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      return pids.length === 0 ? true : undefined;
    });
  }
  // Resource scripts a SIGKILLed Heartbeat left running finish on their own; give them a moment before cleaning up.
  await sleep(300);
  for (const n of lab.nodes) {
    await runCmd('ip', ['-n', lab.netns(n), 'addr', 'del', vip, 'dev', IFACE]);
    // A SIGKILLed daemon leaves its pid file; when the busy machine reuses that PID, the next start refuses with
    // `already running` (a reboot would have emptied /run).
    await rm(lab.hostPath(n, '/run/heartbeat.pid'), { force: true });
    await rm(lab.hostPath(n, '/run/vigil.pid'), { force: true });
  }
}

/** Runs `body` on a lab prefix, then tears down whatever it built and checks that nothing carrying it is left. */
export async function inLab<T>(prefix: string, body: (prefix: string) => Promise<T>): Promise<T> {
  try {
    return await body(prefix);
  } finally {
    await cleanup(prefix);
    assert.deepEqual(await leftovers(prefix), []);
  }
}
