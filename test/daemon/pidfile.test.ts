import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  claimPidfile,
  isVigilDaemonArgv,
  processStartTicks,
  readLivePid,
  releasePidfile,
  startFileOf,
} from '../../src/daemon/pidfile.js';
import { isVigilError } from '../../src/util/errors.js';
import { waitFor } from '../../lab/exec.js';
import { tinyTmpfs } from '../helpers/tmpfs.js';

type T = { after: (fn: () => Promise<void> | void) => void; skip: (why: string) => void };
const PIDFILE_JS = new URL('../../src/daemon/pidfile.js', import.meta.url).pathname;

async function tempDir(t: T): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-pid-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A stand-in daemon: node running a file named vigil.js with the given arguments. With `claim`, it claims the pid
 * file itself (through the real claimPidfile) before idling, as `vigil run` does.
 */
async function fakeVigil(t: T, dir: string, args: string[], claim?: string): Promise<ChildProcess> {
  const script = join(dir, 'vigil.js');
  await writeFile(
    script,
    `import { claimPidfile } from ${JSON.stringify(PIDFILE_JS)};\n` +
      `const file = process.env.CLAIM;\n` +
      `if (file) { await claimPidfile(file); process.stdout.write('claimed\\n'); }\n` +
      `setTimeout(() => {}, 60_000);\n`,
  );
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, CLAIM: claim ?? '' },
  });
  t.after(() => {
    child.kill('SIGKILL');
  });
  if (claim !== undefined) {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => {
        resolve();
      });
      child.once('exit', (c) => {
        reject(new Error(`fake vigil exited ${String(c)}`));
      });
    });
  }
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

test('only a Vigil daemon command line counts, not any line that mentions vigil', () => {
  const yes: string[][] = [
    ['/usr/bin/node', '/usr/bin/vigil', 'run', '--config-dir', '/etc/ha.d'],
    ['node', '/opt/vigil/dist/src/cli/vigil.js', 'run'],
    [process.execPath, '--max-old-space-size=64', '-r', '/x/preload.js', '/srv/vigil/dist/src/cli/vigil.js', 'run'],
    ['/usr/local/bin/node24', '/usr/lib/node_modules/vigil-ha/bin/vigil.js', 'run', '--stderr'],
    ['node', '/usr/lib/heartbeat/heartbeat'],
    ['node', '/usr/libexec/heartbeat/heartbeat', '-d'],
  ];
  const no: string[][] = [
    [],
    ['node', '/usr/bin/vigil', 'status'],
    ['node', '/usr/bin/vigil', 'start'],
    ['node', '/usr/bin/vigil'],
    ['node', '/usr/bin/vigil', 'check', 'run'],
    ['vigil-fake'],
    ['vim', '/usr/bin/vigil.js', 'run'],
    ['bash', '-c', 'node vigil.js run'],
    ['grep', 'vigil'],
    ['node', '/tmp/vigilant.js', 'run'],
    ['node', '/tmp/not-vigil.js', 'run'],
    ['node', '--test', 'dist/test/daemon/pidfile.test.js'],
    ['heartbeat: master control process'],
    ['node', '/usr/lib/heartbeat/heartbeat', '-k'],
    ['node', '/usr/lib/heartbeat/heartbeat', '-s'],
    ['node', '/usr/lib/heartbeat/hb_standby'],
    ['node', '/opt/heartbeat'],
  ];
  for (const a of yes) assert.equal(isVigilDaemonArgv(a), true, a.join(' '));
  for (const a of no) assert.equal(isVigilDaemonArgv(a), false, a.join(' '));
});

test('the start time is field 22 of /proc/<pid>/stat', async () => {
  const stat = await readFile('/proc/self/stat', 'latin1');
  const expected = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  assert.equal(await processStartTicks(process.pid), expected);
  assert.match(expected ?? '', /^\d+$/);
  assert.equal(await processStartTicks(2 ** 30), undefined);
});

test('a live Vigil daemon blocks a second one; a stale pidfile is taken over', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'vigil.pid');
  const daemon = await fakeVigil(t, dir, ['run', '--config-dir', '/nonexistent'], file);
  assert.equal(await readFile(file, 'utf8'), `${daemon.pid}\n`);
  assert.equal(await readLivePid(file), daemon.pid);
  await assert.rejects(claimPidfile(file), (e) => isVigilError(e) && e.code === 'VIGIL_ERR_ALREADY_RUNNING');
  await killed(daemon);
  assert.equal(await readLivePid(file), undefined);
  await claimPidfile(file);
  assert.equal(await readFile(file, 'utf8'), `${process.pid}\n`);
  await releasePidfile(file);
  assert.deepEqual(await readdir(dir), ['vigil.js']);
});

test('a live process that merely mentions vigil does not block a start', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'vigil.pid');
  // This one counted before: `exec -a vigil-fake` puts "vigil" in the command line.
  const named = spawn('bash', ['-c', 'exec -a vigil-fake sleep 30']);
  t.after(() => named.kill('SIGKILL'));
  await waitFor(
    'the fake to exec',
    10_000,
    async () =>
      (await readFile(`/proc/${named.pid}/cmdline`, 'utf8').catch(() => '')).startsWith('vigil-fake')
        ? true
        : undefined,
    10,
  );
  const client = await fakeVigil(t, dir, ['status']);
  for (const p of [named, client]) {
    await writeFile(file, `${p.pid}\n`);
    assert.equal(await readLivePid(file), undefined, `pid ${p.pid}`);
  }
  await claimPidfile(file);
  await releasePidfile(file);
});

test('a pid reused by another Vigil daemon (another lab host) is told apart by its start time', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'vigil.pid');
  const a = await fakeVigil(t, dir, ['run'], file);
  const recA = await readFile(startFileOf(file), 'latin1');
  const [, ticksA, boot] = recA.trim().split(' ');
  assert.equal(ticksA, await processStartTicks(a.pid ?? 0));
  assert.equal(boot, (await readFile('/proc/sys/kernel/random/boot_id', 'latin1')).trim());
  // b is a real Vigil-looking daemon that did not write this file: as if it had been given a's pid after a kill -9.
  const b = await fakeVigil(t, dir, ['run']);
  const ticksB = await processStartTicks(b.pid ?? 0);
  assert.notEqual(ticksB, undefined);
  await writeFile(file, `${b.pid}\n`);
  await writeFile(startFileOf(file), `${b.pid} ${ticksA} ${boot}\n`);
  if (ticksA !== ticksB) assert.equal(await readLivePid(file), undefined);
  // Its own record makes it the owner again; a record from another boot never does.
  await writeFile(startFileOf(file), `${b.pid} ${ticksB} ${boot}\n`);
  assert.equal(await readLivePid(file), b.pid);
  await writeFile(startFileOf(file), `${b.pid} ${ticksB} 00000000-0000-0000-0000-000000000000\n`);
  assert.equal(await readLivePid(file), undefined);
  // A record of another pid (left by an older daemon) is ignored: the command line decides.
  await writeFile(startFileOf(file), `${a.pid} ${ticksA} ${boot}\n`);
  assert.equal(await readLivePid(file), b.pid);
  // A successor's file is not removed by a daemon that no longer owns it.
  await releasePidfile(file, a.pid);
  assert.equal(await readFile(file, 'utf8'), `${b.pid}\n`);
});

test('a full /run: no half-written pid file is left, and the error names the file', async (t) => {
  const mnt = await tinyTmpfs(t);
  if (mnt === undefined) return;
  const file = join(mnt, 'vigil.pid');
  // The pid takes the only page; the .start file finds the file system full.
  await assert.rejects(
    claimPidfile(file),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_STATE_WRITE' && e.message.includes(startFileOf(file)),
  );
  assert.deepEqual(await readdir(mnt), []);
});
