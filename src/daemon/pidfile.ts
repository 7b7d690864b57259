import { open, readFile, rm } from 'node:fs/promises';
import { VigilError } from '../util/errors.js';

export const DEFAULT_PIDFILE = '/var/run/vigil.pid';

/** The pid recorded in `path` if that process is alive, else undefined (a stale file is not a running daemon). */
export async function readLivePid(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: alive but not ours to signal — still running.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  // After a kill -9 the pid may have been reused by an unrelated process: only a Vigil process counts.
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return /vigil/.test(cmdline) ? pid : undefined;
  } catch {
    return pid;
  }
}

/**
 * Claims the pidfile for this process. Two daemons on one host would fight over the VIP,
 * so a live owner is an error; a stale file from a crash is replaced.
 */
export async function claimPidfile(path: string, pid = process.pid): Promise<void> {
  const owner = await readLivePid(path);
  if (owner !== undefined && owner !== pid) {
    throw new VigilError('VIGIL_ERR_ALREADY_RUNNING', `Vigil is already running [pid ${owner}] (pidfile ${path})`);
  }
  await rm(path, { force: true });
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(`${pid}\n`);
  } finally {
    await fh.close();
  }
}

export async function releasePidfile(path: string, pid = process.pid): Promise<void> {
  if ((await readLivePid(path)) === pid) await rm(path, { force: true });
}
