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

/** At most this many names per lookup (apiauth lines are short; a huge list is a broken file). */
const MAX_NAMES = 256;

/**
 * User or group names (or numeric ids) to ids, through NSS (`getent passwd|group`, so LDAP/SSSD names count), in one
 * call per kind. Run once when the daemon starts, never per request. Unknown names are returned, not thrown: the
 * caller says so and the rule simply grants nothing to them.
 */
export async function resolveIds(
  kind: 'user' | 'group',
  names: readonly string[],
): Promise<{ ids: number[]; unknown: string[] }> {
  const ids = new Set<number>();
  const byName: string[] = [];
  for (const n of names.slice(0, MAX_NAMES)) {
    if (/^\d{1,10}$/.test(n) && Number(n) <= 0xfffffffe) ids.add(Number(n));
    // Names reach getent as arguments: no option-looking or odd names.
    else if (/^[A-Za-z0-9_.][A-Za-z0-9_.@$-]*$/.test(n)) byName.push(n);
  }
  const unknown = names.filter((n) => !ids.has(Number(n)) && !byName.includes(n));
  if (byName.length === 0) return { ids: [...ids], unknown };
  // getent exits 2 when some key is missing and still prints the others.
  const r = await runProgram('getent', [kind === 'user' ? 'passwd' : 'group', ...byName], {
    timeoutMs: 5000,
    killGraceMs: 500,
  });
  const stdout = r.spawnError !== undefined || r.timedOut || r.code === null ? undefined : r.stdout;
  const found = new Map<string, number>();
  for (const line of (stdout ?? '').split('\n')) {
    const f = line.split(':');
    const id = Number(f[2]);
    if (f[0] !== undefined && f[0] !== '' && Number.isInteger(id)) found.set(f[0], id);
  }
  for (const n of byName) {
    const id = found.get(n);
    if (id === undefined) unknown.push(n);
    else ids.add(id);
  }
  return { ids: [...ids], unknown };
}
