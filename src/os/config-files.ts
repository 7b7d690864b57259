import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { VigilError, errorMessage } from '../util/errors.js';

/** A config file larger than this is not a config file (Heartbeat's limits give ha.cf well under 1 MiB). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

export interface ConfigFile {
  readonly file: string;
  readonly text: string;
  /** st_mode & 0o7777. */
  readonly mode: number;
}

/**
 * Reads one configuration file as text (UTF-8; invalid bytes become U+FFFD, which only ever matters in
 * comments). Missing or unreadable files become VigilError VIGIL_ERR_CFG_IO with Heartbeat's wording.
 */
export async function readConfigFile(
  file: string,
  what: 'ha.cf' | 'authkeys' | 'haresources' | 'file',
): Promise<ConfigFile> {
  let mode: number;
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    mode = st.mode & 0o7777;
    size = st.size;
  } catch (e) {
    throw new VigilError('VIGIL_ERR_CFG_IO', `${cannotOpen(what, file)}: ${reason(e)}`, { file }, { cause: e });
  }
  if (size > MAX_CONFIG_FILE_BYTES) {
    throw new VigilError('VIGIL_ERR_CFG_LIMIT', `${file} is larger than ${MAX_CONFIG_FILE_BYTES} bytes`, { file });
  }
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new VigilError('VIGIL_ERR_CFG_IO', `${cannotOpen(what, file)}: ${reason(e)}`, { file }, { cause: e });
  }
  return { file, text: buf.toString('utf8'), mode };
}

function cannotOpen(what: string, file: string): string {
  // Heartbeat's own messages for each file.
  switch (what) {
    case 'ha.cf':
      return `Cannot open config file [${file}]`;
    case 'authkeys':
      return `Cannot open keyfile [${file}].  Stop.`;
    case 'haresources':
      return `Cannot open resources file [${file}]`;
    default:
      return `Cannot open [${file}]`;
  }
}

function reason(e: unknown): string {
  if (e instanceof Error && 'code' in e && e.code === 'ENOENT') return 'no such file';
  return errorMessage(e);
}

export interface ConfigDirFiles {
  readonly hacf: ConfigFile;
  readonly authkeys: ConfigFile;
  readonly haresources: ConfigFile;
}

/**
 * Reads ha.cf, authkeys and haresources from `dir`, all three even when one fails,
 * so every missing file is reported at once.
 */
export async function readConfigDir(dir: string): Promise<{ files: Partial<ConfigDirFiles>; errors: VigilError[] }> {
  const names = ['ha.cf', 'authkeys', 'haresources'] as const;
  const results = await Promise.allSettled(names.map((n) => readConfigFile(join(dir, n), n)));
  const errors: VigilError[] = [];
  const files: { hacf?: ConfigFile; authkeys?: ConfigFile; haresources?: ConfigFile } = {};
  results.forEach((r, i) => {
    if (r.status === 'rejected') {
      errors.push(
        r.reason instanceof VigilError
          ? r.reason
          : new VigilError('VIGIL_ERR_CFG_IO', String(r.reason), { file: join(dir, names[i] ?? '') }),
      );
      return;
    }
    if (i === 0) files.hacf = r.value;
    else if (i === 1) files.authkeys = r.value;
    else files.haresources = r.value;
  });
  return { files, errors };
}

/** Reads a peer's copy; a missing file is `undefined`, not an error (the comparison says so). */
export async function readOptionalConfigFile(file: string): Promise<ConfigFile | undefined> {
  try {
    return await readConfigFile(file, 'file');
  } catch (e) {
    if (e instanceof VigilError && e.code === 'VIGIL_ERR_CFG_IO') return undefined;
    throw e;
  }
}

/**
 * The name this host goes by, as Heartbeat decides it: the first line of `<configDir>/nodeinfo` if that
 * file exists, else `uname -n`; lowercased. (Heartbeat reads /etc/ha.d/nodeinfo; Vigil reads the config
 * directory it was given, which is /etc/ha.d by default.)
 */
export async function localNodeName(configDir: string): Promise<{ name: string; source: string }> {
  const nodeinfo = join(configDir, 'nodeinfo');
  try {
    const text = await readFile(nodeinfo, 'utf8');
    const first = (text.split('\n')[0] ?? '').trim();
    if (first !== '') return { name: first.toLowerCase(), source: nodeinfo };
  } catch {
    // No nodeinfo: uname -n, as Heartbeat.
  }
  return { name: hostname().toLowerCase(), source: 'uname -n' };
}

/** The directories Heartbeat searches for a resource script, in order. */
export function resourceScriptDirs(configDir: string): string[] {
  const own = join(configDir, 'resource.d');
  return [own, ...['/etc/ha.d/resource.d', '/etc/init.d'].filter((d) => d !== own)];
}

/** Heartbeat's script lookup: the first executable regular file `name` in `dirs` (bare names only). */
export async function findResourceScript(name: string, dirs: readonly string[]): Promise<string | undefined> {
  // Heartbeat looks a bare name up: `../x` must not escape the script directories.
  if (name.includes('/') || name === '' || name === '.' || name === '..') return undefined;
  for (const d of dirs) {
    const p = join(d, name);
    try {
      await access(p, constants.X_OK);
      const st = await stat(p);
      if (st.isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
