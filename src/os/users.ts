import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';

/**
 * Whether `user` resolves on this host through NSS (so LDAP/SSSD users count), via `id -u`.
 * undefined when that cannot be told (no `id` command, timeout).
 */
export function userExistsOnHost(user: string): Promise<boolean | undefined> {
  // A name starting with '-' would be read as an option by id.
  if (user === '' || user.startsWith('-')) return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('id', ['-u', '--', user], { timeout: 5000 }, (error) => {
      if (error === null) resolve(true);
      else if (typeof error.code === 'number') resolve(false);
      else resolve(undefined);
    });
  });
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
