import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkProcessName, setProcessName } from '../../src/os/process-name.js';
import { isVigilError } from '../../src/util/errors.js';

test('process names: what the kernel keeps, nothing a shell pattern could trip on', () => {
  checkProcessName('heartbeat');
  checkProcessName('a');
  checkProcessName('x'.repeat(15));
  for (const bad of ['', 'x'.repeat(16), 'a/b', 'a b', 'heart\nbeat', '*']) {
    assert.throws(
      () => {
        checkProcessName(bad);
      },
      (e: unknown) => isVigilError(e) && e.code === 'VIGIL_ERR_USAGE',
      JSON.stringify(bad),
    );
  }
});

test('setProcessName writes comm; an unwritable /proc is VIGIL_ERR_PROCESS_NAME', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-comm-'));
  try {
    await setProcessName('heartbeat', dir);
    assert.equal(await readFile(join(dir, 'comm'), 'utf8'), 'heartbeat');
    await assert.rejects(setProcessName('heartbeat', join(dir, 'missing')), (e: unknown) => {
      return isVigilError(e) && e.code === 'VIGIL_ERR_PROCESS_NAME';
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a process renames itself: comm changes (what killall and pidof match), the command line does not', async () => {
  const mod = fileURLToPath(new URL('../../src/os/process-name.js', import.meta.url));
  const code = `const { setProcessName } = await import(${JSON.stringify(mod)}); await setProcessName('vigil-comm-t'); process.stdout.write('named\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, 'marker-arg'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        if (b.toString().includes('named')) resolve();
      });
      child.on('exit', (c) => {
        reject(new Error(`child exited ${String(c)}`));
      });
    });
    const pid = child.pid ?? -1;
    assert.equal((await readFile(`/proc/${pid}/comm`, 'utf8')).trim(), 'vigil-comm-t');
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    assert.ok(argv.includes('marker-arg'), argv.join(' '));
    assert.equal(argv[0], process.execPath);
  } finally {
    child.kill('SIGKILL');
  }
});
