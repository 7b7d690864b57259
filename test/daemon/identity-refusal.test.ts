import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDaemon } from '../../src/daemon/main.js';
import { MAX_GENERATION, formatGeneration } from '../../src/os/identity.js';

test('a generation at its ceiling stops the start with the reason in the log, and no pid file is left', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-genstop-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const etc = path.join(dir, 'ha.d');
  const state = path.join(dir, 'state');
  const log = path.join(dir, 'ha-log');
  await mkdir(etc);
  await mkdir(state);
  // ucast to a loopback address: nothing leaves the machine (and the daemon stops before opening any socket).
  await writeFile(
    path.join(etc, 'ha.cf'),
    `logfile ${log}\nkeepalive 1\ndeadtime 10\nucast lo 127.0.0.2\nnode t1\nnode t2\nauto_failback off\n` +
      `vigil_state_dir ${state}\n`,
  );
  await writeFile(path.join(etc, 'authkeys'), 'auth 1\n1 sha1 secret\n');
  await chmod(path.join(etc, 'authkeys'), 0o600);
  await writeFile(path.join(etc, 'haresources'), '');
  const genFile = path.join(state, 'hb_generation');
  await writeFile(genFile, formatGeneration(MAX_GENERATION));
  const rc = await runDaemon({
    configDir: etc,
    node: 't1',
    pidfile: path.join(dir, 'vigil.pid'),
    controlSocket: path.join(dir, 'sock'),
    stderr: false,
  });
  assert.equal(rc, 1);
  const text = await readFile(log, 'utf8');
  assert.match(text, new RegExp(`ERROR: ${genFile} holds generation ${MAX_GENERATION}`));
  assert.match(text, /ERROR: Cannot get\/increment generation number, heartbeat not started\./);
  assert.doesNotMatch(text, /Heartbeat generation:/);
  assert.equal(await readFile(genFile, 'latin1'), formatGeneration(MAX_GENERATION));
  assert.deepEqual((await readdir(dir)).sort(), ['ha-log', 'ha.d', 'state']);
});
