import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface TestContext {
  after: (fn: () => Promise<void> | void) => void;
  skip: (why: string) => void;
}

/**
 * A tmpfs of `size` (default one 4 KiB page: one small file fills it) mounted under a fresh temp directory, for
 * real ENOSPC. Unmounted, then removed, after the test. Undefined, with the test skipped, when not root or when
 * mounting is not allowed here.
 */
export async function tinyTmpfs(t: TestContext, size = '4k'): Promise<string | undefined> {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to mount a tiny tmpfs');
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'vigil-tmpfs-'));
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'vigil-test-full', mnt]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    t.skip(`cannot mount tmpfs here: ${(e as Error).message.split('\n')[0] ?? ''}`);
    return undefined;
  }
  // One hook, in this order: never recurse into a tmpfs that is still mounted.
  t.after(async () => {
    await run('umount', [mnt]);
    await rm(dir, { recursive: true, force: true });
  });
  return mnt;
}

/** Gives a mounted tmpfs more room (`mount -o remount,size=`). */
export async function resizeTmpfs(mnt: string, size: string): Promise<void> {
  await run('mount', ['-o', `remount,size=${size}`, mnt]);
}
