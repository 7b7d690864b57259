import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHeartbeatArgs } from '../../src/cli/heartbeat-compat.js';
import { runCmd, waitFor } from '../../lab/exec.js';

const ENTRY = fileURLToPath(new URL('../../../bin/heartbeat.js', import.meta.url));

test("parseHeartbeatArgs reads Heartbeat's option letters, grouped or not", () => {
  assert.deepEqual(parseHeartbeatArgs([]), { action: 'start', debug: 0 });
  assert.deepEqual(parseHeartbeatArgs(['-k']), { action: 'stop', debug: 0 });
  assert.deepEqual(parseHeartbeatArgs(['-s']), { action: 'status', debug: 0 });
  assert.deepEqual(parseHeartbeatArgs(['-r']), { action: 'reload', debug: 0 });
  assert.deepEqual(parseHeartbeatArgs(['-dd']), { action: 'debug', debug: 2 });
  assert.deepEqual(parseHeartbeatArgs(['-d', '-r']), { action: 'reload', debug: 1 });
  assert.deepEqual(parseHeartbeatArgs(['-dk']), { action: 'stop', debug: 1 }, '-k wins, as in heartbeat.c');
  assert.deepEqual(parseHeartbeatArgs(['-ks']), { action: 'stop', debug: 0 });
  assert.deepEqual(parseHeartbeatArgs(['-V']), { action: 'version', debug: 0 });
  assert.deepEqual(parseHeartbeatArgs(['-l', '-v', '-M']), { action: 'start', debug: 0 });
  assert.equal(parseHeartbeatArgs(['-x']), undefined);
  assert.equal(parseHeartbeatArgs(['start']), undefined);
});

async function compat(
  args: string[],
  pidfile: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCmd(process.execPath, [ENTRY, ...args], {
    timeoutMs: 30_000,
    env: { ...process.env, VIGIL_PIDFILE: pidfile, VIGIL_CONTROL_SOCKET: `${pidfile}.sock` },
  });
}

test('heartbeat -s/-k/-V answer as Heartbeat 3.0.6 does, on the pid file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-hbcompat-'));
  const pidfile = join(dir, 'vigil.pid');
  try {
    let r = await compat(['-s'], pidfile);
    assert.equal(r.stdout, 'heartbeat is stopped. No process\n');
    assert.equal(r.code, 3, 'LSB: stopped');

    r = await compat(['-k'], pidfile);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, 'INFO: Heartbeat already stopped.\n');

    // A pid file naming a dead process: stopped, and LSB's "dead but pid file exists".
    await writeFile(pidfile, '999999\n');
    r = await compat(['-s'], pidfile);
    assert.equal(r.code, 1);

    // A live process that looks like the daemon to readLivePid: node running a `vigil.js` with `run`.
    const script = join(dir, 'vigil.js');
    await writeFile(script, 'setInterval(() => {}, 1000);\n');
    const fake = spawn(process.execPath, [script, 'run'], { stdio: 'ignore' });
    try {
      await writeFile(pidfile, `${fake.pid}\n`);
      r = await compat(['-s'], pidfile);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`^heartbeat OK \\[pid ${fake.pid} et al\\] is running on \\S+ \\[\\S+\\]\\.\\.\\.\\n$`),
      );

      r = await compat(['-k'], pidfile);
      assert.equal(r.code, 0, r.stderr);
      await waitFor('the fake daemon to exit', 10_000, () =>
        Promise.resolve(fake.exitCode !== null || fake.signalCode !== null ? true : undefined),
      );
      assert.equal(fake.signalCode, 'SIGTERM');
    } finally {
      fake.kill('SIGKILL');
    }

    r = await compat(['-V'], pidfile);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^3\.0\.6 \(Vigil \d+\.\d+\.\d+\S*\)\n$/);

    r = await compat(['-x'], pidfile);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Usage: heartbeat/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
