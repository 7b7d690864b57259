import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { VigilError, errorMessage } from '../util/errors.js';

export interface AtomicWriteOptions {
  /** Mode of the new file (before umask). */
  readonly mode: number;
  /** Mode of the directory when it has to be created; default 0755. */
  readonly dirMode?: number;
}

let seq = 0;

/**
 * Write-then-rename with fsync of the file and of its directory, so a crash or a power cut leaves either the old
 * or the new content, never a torn or empty file. On any failure (ENOSPC, EDQUOT, EROFS, EACCES, EIO) the temp
 * file is removed, the old file is untouched, and the error is VIGIL_ERR_STATE_WRITE naming the file.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string, o: AtomicWriteOptions): Promise<void> {
  const dir = path.dirname(file);
  // Unique per call, so two writes of one file in flight never share (or truncate) one temp file.
  const tmp = `${file}.tmp-${process.pid}-${seq++}`;
  let created = false;
  try {
    await mkdir(dir, { recursive: true, mode: o.dirMode ?? 0o755 });
    const fh = await open(tmp, 'wx', o.mode);
    created = true;
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    created = false;
  } catch (e) {
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(file, e);
  }
  await syncDir(dir);
}

/** The rename is durable once the directory is; best effort (some file systems refuse fsync on a directory). */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // The new content is in place; only its durability across a power cut is less certain.
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

const ADVICE: Readonly<Record<string, string>> = {
  ENOSPC: 'the file system is full: free some space',
  EDQUOT: 'the disk quota is exhausted: free some space',
  EROFS: 'the file system is read-only: remount it read-write',
  EACCES: 'permission denied: Vigil must run as root, or fix the owner of the directory',
  EPERM: 'permission denied: Vigil must run as root, or fix the owner of the directory',
  EIO: 'I/O error: check the disk',
};

function writeError(file: string, e: unknown): VigilError {
  const code = (e as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? code : undefined;
  const reason = errorMessage(e);
  const advice = errno === undefined ? undefined : ADVICE[errno];
  return new VigilError(
    'VIGIL_ERR_STATE_WRITE',
    `cannot write ${file}: ${reason}${advice === undefined ? '' : ` (${advice})`}`,
    { file },
    { cause: e },
  );
}
