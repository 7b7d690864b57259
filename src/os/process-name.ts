/**
 * The process's name as the kernel keeps it (`comm`: what `ps -C`, `pidof`, `pgrep` and `killall` match), changed
 * without touching the command line (readLivePid recognises the daemon by its command line).
 *
 * Heartbeat's processes are all named `heartbeat`; a Vigil daemon started through Heartbeat's command entry takes
 * that name, so that what admins and tools run against Heartbeat (`killall -9 heartbeat` in Heartbeat's own CTS,
 * `pidof heartbeat` in monitoring checks) finds it.
 */
import { writeFile } from 'node:fs/promises';
import { VigilError } from '../util/errors.js';

/** The kernel keeps 15 bytes of a name (TASK_COMM_LEN 16, with its NUL). */
export const MAX_PROCESS_NAME = 15;

export function checkProcessName(name: string): void {
  if (!/^[A-Za-z0-9._-]{1,15}$/.test(name)) {
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      `process name '${name}': 1-${MAX_PROCESS_NAME} characters of A-Z a-z 0-9 . _ -`,
    );
  }
}

/**
 * Names the process (its main thread, which is what those tools read). A thread may rename any thread of its own
 * process through /proc, so the write needs no privilege; it fails only without procfs.
 */
export async function setProcessName(name: string, procSelf = '/proc/self'): Promise<void> {
  checkProcessName(name);
  try {
    await writeFile(`${procSelf}/comm`, name);
  } catch (e) {
    throw new VigilError(
      'VIGIL_ERR_PROCESS_NAME',
      `cannot name the process '${name}': ${(e as Error).message}`,
      undefined,
      {
        cause: e,
      },
    );
  }
}
