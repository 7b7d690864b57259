/**
 * Heartbeat's own command entry, `/usr/lib/heartbeat/heartbeat`, answered by Vigil: the Debian package installs it
 * there (it Conflicts with heartbeat, so the path is free), and tools written against Heartbeat — its CTS test
 * harness, old init scripts, admins' habits — keep working. Options are Heartbeat 3.0.6's:
 *
 *   heartbeat            start the daemon in the background; exit 0 once it answers (already running: exit 0)
 *   heartbeat -k         stop it (SIGTERM: groups are handed over) and wait until it has exited
 *   heartbeat -s         status: `heartbeat OK [pid N et al] is running on HOST [NODE]...`, else `... is stopped`
 *   heartbeat -r         reload (SIGHUP); starts the daemon when none runs, as Heartbeat does
 *   heartbeat -d[d...]   raise the debug level by one per d (with a start, or on the running daemon)
 *   heartbeat -V         version
 *
 * `-l` (no realtime), `-v` (verbose) and `-M` (do not manage resources) are accepted and have no effect here: the
 * realtime policy is ha.cf's `realtime`, and Vigil always manages haresources.
 */
import { VERSION } from '../util/version.js';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename } from 'node:path';
import { request, controlSocketPath } from '../control/client.js';
import { localNodeName } from '../os/config-files.js';
import { readLivePid } from '../daemon/pidfile.js';
import { launchDaemon, pidfilePath, waitGone } from './daemonctl.js';

/** LSB exit codes, as Heartbeat uses them. */
const LSB_EXIT_OK = 0;
const LSB_EXIT_GENERIC = 1;
const LSB_EXIT_EINVAL = 2;
const LSB_STATUS_VAR_PID = 1;
const LSB_STATUS_STOPPED = 3;

/** The protocol version Vigil speaks and reports, as Heartbeat's `-V` does. */
const HEARTBEAT_VERSION = '3.0.6';

export type CompatAction = 'start' | 'stop' | 'status' | 'reload' | 'version' | 'debug';

export interface CompatArgs {
  readonly action: CompatAction;
  /** How many `-d` were given. */
  readonly debug: number;
}

/** getopt over Heartbeat's option letters (grouped flags such as `-dd` or `-dk` allowed); `undefined` = usage error. */
export function parseHeartbeatArgs(argv: readonly string[]): CompatArgs | undefined {
  let debug = 0;
  let kill = false;
  let status = false;
  let reload = false;
  let version = false;
  for (const arg of argv) {
    if (!arg.startsWith('-') || arg === '-') return undefined;
    if (arg === '--') continue;
    for (const c of arg.slice(1)) {
      switch (c) {
        case 'd':
          debug++;
          break;
        case 'k':
          kill = true;
          break;
        case 's':
          status = true;
          break;
        case 'r':
          reload = true;
          break;
        case 'V':
          version = true;
          break;
        case 'l':
        case 'v':
        case 'M':
          break;
        default:
          return undefined;
      }
    }
  }
  // Heartbeat checks -k first, then -s, then -r, else starts; -V wins over all (it exits before anything else).
  const action: CompatAction = version
    ? 'version'
    : kill
      ? 'stop'
      : status
        ? 'status'
        : reload
          ? 'reload'
          : debug > 0
            ? 'debug'
            : 'start';
  return { action, debug };
}

function usage(cmd: string): number {
  process.stderr.write(`\nUsage: ${cmd} [-dkrsVlvM]\n`);
  process.stderr.write('\t-d raise the debug level, -k stop, -r reload, -s status, -V version\n');
  return LSB_EXIT_EINVAL;
}

async function pidFileExists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

async function raiseDebug(times: number): Promise<void> {
  for (let i = 0; i < times; i++) await request({ cmd: 'debug', delta: 1 }, controlSocketPath(), 5000);
}

export async function heartbeatCompat(argv: readonly string[], configDir = '/etc/ha.d'): Promise<number> {
  const cmd = basename(process.argv[1] ?? 'heartbeat').replace(/\.js$/, '');
  const args = parseHeartbeatArgs(argv);
  if (args === undefined) return usage(cmd);
  const pidfile = pidfilePath();
  const pid = await readLivePid(pidfile);
  switch (args.action) {
    case 'version': {
      process.stdout.write(`${HEARTBEAT_VERSION} (Vigil ${VERSION})\n`);
      return LSB_EXIT_OK;
    }
    case 'stop': {
      if (pid === undefined) {
        process.stderr.write('INFO: Heartbeat already stopped.\n');
        return LSB_EXIT_OK;
      }
      process.kill(pid, 'SIGTERM');
      // Heartbeat waits for as long as the handover takes; Vigil's own stop retries are bounded well below this.
      if (await waitGone(pid, 900_000)) return LSB_EXIT_OK;
      process.stderr.write(`ERROR: Could not stop pid ${pid}\n`);
      return LSB_EXIT_GENERIC;
    }
    case 'status': {
      if (pid === undefined) {
        process.stdout.write(`${cmd} is stopped. No process\n`);
        return (await pidFileExists(pidfile)) ? LSB_STATUS_VAR_PID : LSB_STATUS_STOPPED;
      }
      const node = (await localNodeName(configDir)).name;
      process.stdout.write(`${cmd} OK [pid ${pid} et al] is running on ${hostname().toLowerCase()} [${node}]...\n`);
      return LSB_EXIT_OK;
    }
    case 'reload':
      if (pid !== undefined) {
        process.stderr.write(`info: Signalling heartbeat pid ${pid} to reread config files\n`);
        process.kill(pid, 'SIGHUP');
        if (args.debug > 0) await raiseDebug(args.debug);
        return LSB_EXIT_OK;
      }
      break;
    case 'debug':
      if (pid !== undefined) {
        await raiseDebug(args.debug);
        return LSB_EXIT_OK;
      }
      break;
    case 'start':
      break;
  }
  if (pid !== undefined) {
    process.stderr.write(`info: ${cmd}: already running [pid ${pid}].\n`);
    return LSB_EXIT_OK;
  }
  const r = await launchDaemon(configDir, 60_000);
  if (!r.started) {
    process.stderr.write(`ERROR: Configuration error, ${cmd} not started (see the log; try \`vigil check\`).\n`);
    return LSB_EXIT_GENERIC;
  }
  if (args.debug > 0) await raiseDebug(args.debug);
  return LSB_EXIT_OK;
}
