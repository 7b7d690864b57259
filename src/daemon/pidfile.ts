/**
 * The daemon's pid file, and the test "is a Vigil daemon running?" that `vigil start|stop|status` and a second
 * `vigil run` rely on.
 *
 * `/var/run/vigil.pid` holds only `<pid>\n`, so `kill $(cat /var/run/vigil.pid)` stays safe. Beside it,
 * `/var/run/vigil.pid.start` holds `<pid> <start time> <boot id>\n`: the start time is field 22 of
 * /proc/<pid>/stat (clock ticks since boot), the boot id /proc/sys/kernel/random/boot_id. A recorded pid counts as
 * the running daemon only when
 * - the process exists and its command line is a Vigil daemon (node running vigil.js or /usr/bin/vigil with `run`,
 *   or a future `heartbeat` compat entry), never merely a command line that contains "vigil";
 * - and, when the .start file is there for that pid, the process started at that very tick of this very boot: after
 *   a kill -9 the pid may go to another process, even to another Vigil daemon (lab hosts share one pid space).
 */
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../os/atomic-file.js';
import { VigilError } from '../util/errors.js';

export const DEFAULT_PIDFILE = '/var/run/vigil.pid';

/** The file beside the pid file that records the owner's start time. */
export function startFileOf(pidfile: string): string {
  return `${pidfile}.start`;
}

/** Node's own name on the command line: `node`, `nodejs`, `node24`, or the binary running us. */
function isNodeBinary(arg0: string): boolean {
  const base = path.basename(arg0);
  return /^node(js)?\d*$/.test(base) || arg0 === process.execPath || base === path.basename(process.execPath);
}

/** Node options that take their value as the next argument (`node -r x vigil.js run`). */
const NODE_OPTS_WITH_VALUE = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--title',
  '--env-file',
  '--stack-size',
  '--max-old-space-size',
]);

/** Heartbeat's flags for its client uses (kill, status, version, help): such a process is not the daemon. */
const HEARTBEAT_CLIENT_FLAGS = /^-[a-zA-Z]*[ksvVh]/;

/**
 * Whether a process's argv (from /proc/<pid>/cmdline) is a Vigil daemon: node, its options, then our entry point
 * (`…/vigil.js` or `…/vigil` followed by `run`, or `…/heartbeat/heartbeat` without a client flag).
 */
export function isVigilDaemonArgv(argv: readonly string[]): boolean {
  const [arg0] = argv;
  if (arg0 === undefined || !isNodeBinary(arg0)) return false;
  let i = 1;
  while (i < argv.length && (argv[i] ?? '').startsWith('-')) {
    i += NODE_OPTS_WITH_VALUE.has(argv[i] ?? '') ? 2 : 1;
  }
  const script = argv[i];
  if (script === undefined) return false;
  const base = path.basename(script);
  if (base === 'vigil.js' || base === 'vigil') return argv[i + 1] === 'run';
  if (base === 'heartbeat' && path.basename(path.dirname(script)) === 'heartbeat') {
    return !argv.slice(i + 1).some((a) => HEARTBEAT_CLIENT_FLAGS.test(a));
  }
  return false;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined when it cannot be read. */
export async function processStartTicks(pid: number): Promise<string | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and ')': fields 3.. follow the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = rest[22 - 3];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

async function bootId(): Promise<string | undefined> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'latin1')).trim();
  } catch {
    return undefined;
  }
}

async function readPid(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text.split('\n')[0] ?? '');
  const pid = m?.[1] === undefined ? NaN : Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

interface StartRecord {
  readonly pid: number;
  readonly ticks: string;
  readonly boot: string;
}

async function readStartRecord(file: string): Promise<StartRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch {
    return undefined;
  }
  const m = /^(\d{1,10}) (\d{1,20}) ([0-9a-f-]{1,64})\n?$/.exec(text);
  if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  return { pid: Number(m[1]), ticks: m[2], boot: m[3] };
}

/**
 * The pid recorded in `path` if that process is the Vigil daemon that wrote it, else undefined (a stale file, a
 * reused pid, a process that only mentions vigil are not a running daemon).
 */
export async function readLivePid(file: string): Promise<number | undefined> {
  const pid = await readPid(file);
  if (pid === undefined) return undefined;
  let ours = true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: alive but not ours to signal (a non-root `vigil status`): still running.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
    ours = false;
  }
  let cmdline: string;
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // Gone since the kill(0); or hidden from us (hidepid), in which case assume the worst: it runs.
    return ours ? undefined : pid;
  }
  if (!isVigilDaemonArgv(cmdline.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1))) {
    return undefined;
  }
  const rec = await readStartRecord(startFileOf(file));
  if (rec?.pid !== pid) return pid; // written by an older Vigil, or not yet: the command line has to do
  const [boot, ticks] = await Promise.all([bootId(), processStartTicks(pid)]);
  if (boot !== undefined && rec.boot !== boot) return undefined; // the pid file survived a reboot
  if (ticks !== undefined && rec.ticks !== ticks) return undefined; // the pid went to another process
  return pid;
}

/**
 * Claims the pidfile for this process. Two daemons on one host would fight over the VIP,
 * so a live owner is an error; a stale file from a crash is replaced.
 */
export async function claimPidfile(file: string, pid = process.pid): Promise<void> {
  const owner = await readLivePid(file);
  if (owner !== undefined && owner !== pid) {
    throw new VigilError('VIGIL_ERR_ALREADY_RUNNING', `Vigil is already running [pid ${owner}] (pidfile ${file})`);
  }
  const startFile = startFileOf(file);
  await rm(startFile, { force: true });
  await rm(file, { force: true });
  let fh;
  try {
    fh = await open(file, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      // Another daemon claimed it between our check and our create.
      throw new VigilError('VIGIL_ERR_ALREADY_RUNNING', `another Vigil is starting (pidfile ${file} appeared)`);
    }
    throw new VigilError(
      'VIGIL_ERR_STATE_WRITE',
      `cannot create ${file}: ${(e as Error).message}`,
      { file },
      {
        cause: e,
      },
    );
  }
  try {
    try {
      await fh.writeFile(`${pid}\n`);
    } finally {
      await fh.close();
    }
    const [ticks, boot] = await Promise.all([processStartTicks(pid), bootId()]);
    if (ticks !== undefined && boot !== undefined) {
      await writeFileAtomic(startFile, `${pid} ${ticks} ${boot}\n`, { mode: 0o644 });
    }
  } catch (e) {
    // A half-written pid file (full /run) would name nobody, or worse a wrong pid: leave none.
    await rm(file, { force: true }).catch(() => undefined);
    if (e instanceof VigilError) throw e;
    throw new VigilError(
      'VIGIL_ERR_STATE_WRITE',
      `cannot write ${file}: ${(e as Error).message}`,
      { file },
      {
        cause: e,
      },
    );
  }
}

/** Removes the pid file (and its .start) if it still names `pid`: a successor's file is not ours to remove. */
export async function releasePidfile(file: string, pid = process.pid): Promise<void> {
  if ((await readPid(file)) !== pid) return;
  const rec = await readStartRecord(startFileOf(file));
  if (rec === undefined || rec.pid === pid) await rm(startFileOf(file), { force: true });
  await rm(file, { force: true });
}
