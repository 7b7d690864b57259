import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { runProgram } from './spawn.js';

/**
 * Whether `user` resolves on this host through NSS (so LDAP/SSSD users count), via `id -u`.
 * undefined when that cannot be told (no `id` command, timeout).
 */
export async function userExistsOnHost(user: string): Promise<boolean | undefined> {
  // A name starting with '-' would be read as an option by id.
  if (user === '' || user.startsWith('-')) return false;
  const r = await runProgram('id', ['-u', '--', user], { timeoutMs: 5000, killGraceMs: 500, maxOutputBytes: 1024 });
  if (r.spawnError !== undefined || r.timedOut || r.code === null) return undefined;
  return r.code === 0;
}

/** A regular file this process may execute. */
export async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
