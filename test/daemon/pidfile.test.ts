import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimPidfile, readLivePid, releasePidfile } from '../../src/daemon/pidfile.js';
import { isVigilError } from '../../src/util/errors.js';
import { waitFor } from '../../lab/exec.js';

test('a live owner blocks a second daemon; a stale pidfile is taken over', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-pid-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'vigil.pid');
  // A process whose command line says vigil (a daemon that owns the pidfile) ...
  const other = spawn('bash', ['-c', 'exec -a vigil-fake sleep 30']);
  t.after(() => other.kill('SIGKILL'));
  // Until bash has exec'd, the process is still `bash -c ...`: wait for the name (a loaded CI host is slow to).
  await waitFor(
    'the fake daemon to exec',
    10_000,
    async () =>
      (await readFile(`/proc/${other.pid}/cmdline`, 'utf8').catch(() => '')).startsWith('vigil-fake')
        ? true
        : undefined,
    10,
  );
  await writeFile(path, `${other.pid}\n`);
  assert.equal(await readLivePid(path), other.pid);
  await assert.rejects(claimPidfile(path), (e) => isVigilError(e) && e.code === 'VIGIL_ERR_ALREADY_RUNNING');
  other.kill('SIGKILL');
  await new Promise((r) => other.on('exit', r));
  assert.equal(await readLivePid(path), undefined);
  await claimPidfile(path);
  assert.equal(await readFile(path, 'utf8'), `${process.pid}\n`);
  // ... while a live process that is not Vigil (a reused pid after kill -9) does not block a start.
  const unrelated = spawn('sleep', ['30']);
  t.after(() => unrelated.kill('SIGKILL'));
  await writeFile(path, `${unrelated.pid}\n`);
  assert.equal(await readLivePid(path), undefined);
  await claimPidfile(path);
  await releasePidfile(path);
  assert.equal(await readLivePid(path), undefined);
});
