import { request, ControlUnavailable, controlSocketPath } from '../control/client.js';
import type { ControlRequest, StatusSnapshot } from '../control/protocol.js';
import { DEFAULT_PIDFILE, readLivePid } from '../daemon/pidfile.js';
import { renderStatus } from './status-view.js';

// The init-script verbs, answered the way `heartbeat -s/-k/-r` and /etc/init.d/heartbeat answer.

/** LSB: status verb, "program or service status is unknown"; action verbs, "user had insufficient privilege". */
const EXIT_LSB_STATUS_UNKNOWN = 4;
const EXIT_LSB_NO_PRIVILEGE = 4;

/** A signal to a root daemon from another user: EPERM, which is a permission problem, not a stopped daemon. */
function signalDenied(e: unknown, pid: number, what: string): number {
  if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
  process.stderr.write(`vigil: permission denied: only root can ${what} vigil [pid ${pid}]\n`);
  return EXIT_LSB_NO_PRIVILEGE;
}

export function pidfilePath(): string {
  return process.env.VIGIL_PIDFILE ?? DEFAULT_PIDFILE;
}

export async function statusCommand(opts: { json?: boolean; watch?: boolean }): Promise<number> {
  const once = async (): Promise<{ code: number; text: string; denied?: true }> => {
    try {
      const r = await request({ cmd: 'status' }, controlSocketPath());
      if (!r.ok && r.code === 'VIGIL_ERR_CONTROL_DENIED')
        return { code: EXIT_LSB_STATUS_UNKNOWN, text: `vigil: ${r.message}\n`, denied: true };
      if (!r.ok) return { code: 1, text: `vigil: ${r.message}\n` };
      const snap = r.result as StatusSnapshot;
      return { code: 0, text: opts.json === true ? JSON.stringify(snap, null, 2) + '\n' : renderStatus(snap) };
    } catch (e) {
      if (!(e instanceof ControlUnavailable)) throw e;
      if (e.code === 'VIGIL_ERR_CONTROL_DENIED')
        return { code: EXIT_LSB_STATUS_UNKNOWN, text: `vigil: ${e.message}\n`, denied: true };
      const pid = await readLivePid(pidfilePath());
      if (pid !== undefined)
        return { code: 1, text: `vigil [pid ${pid}] is running but does not answer: ${e.message}\n` };
      // LSB: 3 = program is not running.
      return { code: 3, text: opts.json === true ? '{"running":false}\n' : 'vigil is stopped. No process\n' };
    }
  };
  const first = await once();
  // A refusal will not change by watching: said on stderr, once.
  if (first.denied === true) {
    process.stderr.write(first.text);
    return first.code;
  }
  if (opts.watch !== true || !process.stdout.isTTY) {
    process.stdout.write(first.text);
    return first.code;
  }
  process.stdout.write('\x1b[H\x1b[2J' + first.text);
  await new Promise((res) => setTimeout(res, 1000));
  for (;;) {
    const r = await once();
    process.stdout.write('\x1b[H\x1b[2J' + r.text);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

/** Whether the process is gone within the time (polled every 100 ms). */
export async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  return false;
}

export async function stopCommand(opts: { timeout: string }): Promise<number> {
  const pid = await readLivePid(pidfilePath());
  if (pid === undefined) {
    process.stdout.write('INFO: Heartbeat already stopped.\n');
    return 0;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    return signalDenied(e, pid, 'stop');
  }
  // A graceful stop releases every group (stop retries can take 10 s per resource): wait generously.
  if (await waitGone(pid, Number(opts.timeout) * 1000)) {
    process.stdout.write(`vigil [pid ${pid}] stopped.\n`);
    return 0;
  }
  process.stderr.write(`vigil [pid ${pid}] did not stop within ${opts.timeout} s\n`);
  return 1;
}

/** What `vigil reload` exits with when the new configuration needs a restart (nothing was applied). */
export const EXIT_RELOAD_NEEDS_RESTART = 2;

interface ReloadReply {
  readonly outcome: 'applied' | 'unchanged' | 'refused' | 'restart';
  readonly changes: readonly string[];
  readonly needRestart: readonly { readonly change: string; readonly why: string }[];
  readonly errors: readonly string[];
}

/** `vigil reload`: asks the daemon over the control socket and prints what it did; SIGHUP only as a fallback. */
export async function reloadCommand(): Promise<number> {
  let r;
  try {
    r = await request({ cmd: 'reload' }, controlSocketPath(), 60_000);
  } catch (e) {
    if (e instanceof ControlUnavailable && e.code === 'VIGIL_ERR_CONTROL_DENIED') {
      process.stderr.write(`vigil: ${e.message}\n`);
      return EXIT_LSB_NO_PRIVILEGE;
    }
    return reloadBySignal();
  }
  if (!r.ok) {
    process.stderr.write(`vigil: ${r.message}\n`);
    return r.code === 'VIGIL_ERR_CONTROL_DENIED' ? EXIT_LSB_NO_PRIVILEGE : 1;
  }
  const res = r.result as ReloadReply;
  const list = (xs: readonly string[]): string => xs.map((x) => `  ${x}\n`).join('');
  switch (res.outcome) {
    case 'unchanged':
      process.stdout.write('Configuration reloaded: no change.\n');
      return 0;
    case 'applied':
      process.stdout.write(`Configuration reloaded: ${res.changes.length} change(s) applied:\n${list(res.changes)}`);
      return 0;
    case 'refused':
      process.stderr.write(`Configuration refused; the running one is kept:\n${list(res.errors)}`);
      return 1;
    case 'restart':
      process.stderr.write(
        `Configuration not applied: these changes need a restart (vigil stop; vigil start):\n${list(
          res.needRestart.map((x) => `${x.change}: ${x.why}`),
        )}` +
          (res.changes.includes('authkeys')
            ? 'The new authkeys were applied (as Heartbeat does on any reload).\n'
            : ''),
      );
      return EXIT_RELOAD_NEEDS_RESTART;
  }
}

/** No control socket (an older daemon): SIGHUP, as `heartbeat -r` does; the outcome is in the log. */
async function reloadBySignal(): Promise<number> {
  const pid = await readLivePid(pidfilePath());
  if (pid === undefined) {
    process.stderr.write('vigil is stopped. No process\n');
    return 3;
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (e) {
    return signalDenied(e, pid, 'reload');
  }
  process.stdout.write(`Reload requested from vigil [pid ${pid}] (no answer on the control socket: see the log).\n`);
  return 0;
}

/**
 * Starts `vigil run` detached with the daemon's environment and waits until its control socket answers.
 * `started` is false when the daemon exited or did not answer within `timeoutMs`.
 */
export async function launchDaemon(configDir: string, timeoutMs: number): Promise<{ started: boolean; pid: number }> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const script = fileURLToPath(new URL('./vigil.js', import.meta.url));
  const { daemonEnv } = await import('./daemon-env.js');
  const child = spawn(process.execPath, [script, 'run', '--config-dir', configDir, '--pidfile', pidfilePath()], {
    detached: true,
    stdio: 'ignore',
    env: daemonEnv(process.env),
  });
  child.unref();
  const pid = child.pid ?? -1;
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const r = await request({ cmd: 'status' }, controlSocketPath(), 2000);
      if (r.ok) return { started: true, pid };
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  return { started: false, pid };
}

export async function startCommand(opts: { configDir: string; timeout: string }): Promise<number> {
  const running = await readLivePid(pidfilePath());
  if (running !== undefined) {
    process.stdout.write(`vigil is already running [pid ${running}].\n`);
    return 0;
  }
  const r = await launchDaemon(opts.configDir, Number(opts.timeout) * 1000);
  if (r.started) {
    process.stdout.write(`Starting High-Availability services: Done. [pid ${r.pid}]\n`);
    return 0;
  }
  process.stderr.write('Starting High-Availability services: Failed (see the log; try `vigil check`).\n');
  return 1;
}

/** Sends one command; prints the daemon's refusal (exit 1; 4 when this user may not), or that it does not run (exit 3). */
async function simpleCommand(req: ControlRequest, ok: (result: unknown) => string): Promise<number> {
  try {
    const r = await request(req, controlSocketPath());
    if (!r.ok) {
      process.stderr.write(`vigil: ${r.message}\n`);
      return r.code === 'VIGIL_ERR_CONTROL_DENIED' ? EXIT_LSB_NO_PRIVILEGE : 1;
    }
    process.stdout.write(ok(r.result));
    return 0;
  } catch (e) {
    if (!(e instanceof ControlUnavailable)) throw e;
    process.stderr.write(`vigil: ${e.message}\n`);
    return e.code === 'VIGIL_ERR_CONTROL_DENIED' ? EXIT_LSB_NO_PRIVILEGE : 3;
  }
}

export function cleanupCommand(group: string | undefined): Promise<number> {
  return simpleCommand(group === undefined ? { cmd: 'cleanup' } : { cmd: 'cleanup', group }, (r) => {
    const cleared = (r as { cleared?: string[] }).cleared ?? [];
    return `Cleaned up: ${cleared.join(' ')}\n`;
  });
}

export function fenceAckCommand(node: string): Promise<number> {
  return simpleCommand({ cmd: 'fence-ack', node }, () => `Reset of ${node} confirmed.\n`);
}
