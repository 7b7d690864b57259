import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../../src/os/atomic-file.js';
import { formatGeneration, nextGeneration } from '../../src/os/identity.js';
import { isVigilError } from '../../src/util/errors.js';
import { resizeTmpfs, tinyTmpfs } from '../helpers/tmpfs.js';

type T = { after: (fn: () => Promise<void> | void) => void };

async function tempDir(t: T): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('writes and replaces a file with its mode, leaving no temp file', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'sub', 'state');
  await writeFileAtomic(file, 'one\n', { mode: 0o600 });
  await writeFileAtomic(file, 'two\n', { mode: 0o600 });
  assert.equal(await readFile(file, 'utf8'), 'two\n');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(path.dirname(file)), ['state']);
});

test('concurrent writes of one file never share a temp file; one of them wins whole', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'state');
  const texts = Array.from({ length: 20 }, (_, i) => `${String(i).repeat(1000)}\n`);
  await Promise.all(texts.map((x) => writeFileAtomic(file, x, { mode: 0o644 })));
  assert.ok(texts.includes(await readFile(file, 'utf8')));
  assert.deepEqual(await readdir(dir), ['state']);
});

test('a write that fails is VIGIL_ERR_STATE_WRITE naming the file, not a raw errno', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'plain'), 'x');
  const file = path.join(dir, 'plain', 'state'); // a file where a directory should be
  await assert.rejects(
    writeFileAtomic(file, 'x', { mode: 0o644 }),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_STATE_WRITE' && e.message.includes(file),
  );
});

test('a full disk (ENOSPC, real tmpfs): hb_generation is left as it was and no temp file remains', async (t) => {
  const mnt = await tinyTmpfs(t);
  if (mnt === undefined) return;
  const file = path.join(mnt, 'hb_generation');
  await writeFile(file, formatGeneration(41)); // takes the only page
  const opts = { stateDir: mnt, nodeName: 'n1', uuidFrom: 'file', hbgenmethod: 'file' } as const;
  await assert.rejects(
    nextGeneration(opts),
    (e) =>
      isVigilError(e) &&
      e.code === 'VIGIL_ERR_STATE_WRITE' &&
      e.message.includes(file) &&
      /ENOSPC/.test(e.message) &&
      /file system is full/.test(e.message),
  );
  assert.equal(await readFile(file, 'latin1'), formatGeneration(41));
  assert.deepEqual(await readdir(mnt), ['hb_generation']);
  // Once there is room again, the next start goes on from the stored value.
  await resizeTmpfs(mnt, '64k');
  assert.equal(await nextGeneration(opts), 42);
  assert.deepEqual(await readdir(mnt), ['hb_generation']);
});
