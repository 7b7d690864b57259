import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runProgram } from '../../src/os/spawn.js';

type T = { after: (fn: () => Promise<void> | void) => void };

async function dir(t: T): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vigil-spawn-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function script(d: string, name: string, body: string): Promise<string> {
  const p = join(d, name);
  await writeFile(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

/** Running (a zombie waiting for its reaper counts as dead: it was killed, only not yet collected). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Reads the pid a script wrote, and makes sure the test kills that process (by pid) whatever happens. */
async function pidFrom(t: T, file: string): Promise<number> {
  const pid = Number((await readFile(file, 'utf8')).trim());
  assert.ok(Number.isInteger(pid) && pid > 1, `pid in ${file}`);
  t.after(() => {
    killQuietly(pid);
  });
  return pid;
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('a script leaving `setsid sleep 30 &` behind ends at its timeout, not when the sleep does', async (t) => {
  const d = await dir(t);
  const pidFile = join(d, 'escaped');
  const p = await script(d, 'hang', `setsid sleep 30 &\necho $! > ${pidFile}\necho started\nsleep 60`);
  const r = await runProgram(p, [], { timeoutMs: 1500, killGraceMs: 500 });
  const escaped = await pidFrom(t, pidFile);
  assert.equal(r.timedOut, true);
  assert.ok(r.durationMs >= 1400, `ended at ${r.durationMs} ms, before its deadline`);
  assert.ok(r.durationMs < 10_000, `took ${r.durationMs} ms for a 1.5 s timeout`);
  assert.equal(r.stdout, 'started\n');
  assert.equal(r.code, null);
  assert.equal(r.signal, 'SIGTERM');
  // Out of the group on purpose: not ours to reach, and no longer holding the call.
  assert.equal(await alive(escaped), true);
});

test('a plain `sleep 30 &` holding the pipes dies with its group at the timeout', async (t) => {
  const d = await dir(t);
  const pidFile = join(d, 'child');
  const p = await script(d, 'hang', `sleep 30 &\necho $! > ${pidFile}\nsleep 60`);
  const r = await runProgram(p, [], { timeoutMs: 1000 });
  const child = await pidFrom(t, pidFile);
  assert.equal(r.timedOut, true);
  assert.ok(r.durationMs < 10_000, `took ${r.durationMs} ms for a 1 s timeout`);
  await waitFor('the group member to die', async () => !(await alive(child)));
});

test('a script that ignores SIGTERM is SIGKILLed after the grace period', async (t) => {
  const d = await dir(t);
  const p = await script(d, 'stubborn', `trap '' TERM\necho ready\nwhile :; do sleep 0.05; done`);
  const r = await runProgram(p, [], { timeoutMs: 500, killGraceMs: 800 });
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.stdout, 'ready\n');
  assert.ok(r.durationMs >= 1200, `SIGKILLed at ${r.durationMs} ms, before the grace ran out`);
  assert.ok(r.durationMs < 10_000, `took ${r.durationMs} ms`);
});

test('a group member that ignores SIGTERM is SIGKILLed after the grace even when the script itself exited', async (t) => {
  const d = await dir(t);
  const pidFile = join(d, 'member');
  const p = await script(d, 'leader', `(trap '' TERM; exec sleep 60) &\necho $! > ${pidFile}\nwait`);
  const r = await runProgram(p, [], { timeoutMs: 500, killGraceMs: 700 });
  const member = await pidFrom(t, pidFile);
  assert.equal(r.timedOut, true);
  assert.equal(r.signal, 'SIGTERM');
  const resolvedAt = Date.now();
  await waitFor('the member to be SIGKILLed', async () => !(await alive(member)));
  assert.ok(Date.now() - resolvedAt < 5000, 'the member outlived the grace');
});

test('a successful start that left a daemon running returns on exit, and the daemon lives on', async (t) => {
  const d = await dir(t);
  const samePg = join(d, 'daemon1');
  const newSid = join(d, 'daemon2');
  // Both inherit stdout and stderr: one in the script's group (a naive `daemon &`), one in its own session.
  const p = await script(
    d,
    'start',
    `sleep 30 &\necho $! > ${samePg}\nsetsid sleep 30 &\necho $! > ${newSid}\necho daemon started\nexit 0`,
  );
  const r = await runProgram(p, [], { timeoutMs: 10_000, killGraceMs: 200 });
  const d1 = await pidFrom(t, samePg);
  const d2 = await pidFrom(t, newSid);
  assert.equal(r.code, 0);
  assert.equal(r.timedOut, false);
  assert.equal(r.stdout, 'daemon started\n');
  assert.ok(r.durationMs < 5000, `took ${r.durationMs} ms; the daemons hold the pipes for 30 s`);
  // Well past the grace: nothing was scheduled to kill them.
  await sleep(500);
  assert.equal(await alive(d1), true, 'the daemon in the script group was killed');
  assert.equal(await alive(d2), true, 'the setsid daemon was killed');
});

test('output written just before exit is kept, and the output cap still applies', async (t) => {
  const d = await dir(t);
  const p = await script(d, 'chatty', `head -c 100000 /dev/zero | tr '\\0' x\necho err >&2\nexit 3`);
  const r = await runProgram(p, [], { timeoutMs: 10_000, maxOutputBytes: 1000 });
  assert.equal(r.code, 3);
  assert.equal(r.truncated, true);
  assert.equal(r.stdout, `${'x'.repeat(1000)}\n[99000 bytes dropped]`);
  assert.equal(r.stderr, 'err\n');
  const small = await runProgram(p, [], { timeoutMs: 10_000 });
  assert.equal(small.truncated, true);
  assert.equal(small.stdout.length > 64 * 1024, true);
  const quiet = await runProgram('/bin/echo', ['hi'], { timeoutMs: 10_000 });
  assert.equal(quiet.stdout, 'hi\n');
  assert.equal(quiet.truncated, false);
});

test('a program that cannot start resolves with spawnError', async () => {
  const r = await runProgram('/nonexistent/vigil-test-prog', [], { timeoutMs: 1000 });
  assert.match(r.spawnError ?? '', /ENOENT/);
  assert.equal(r.timedOut, false);
});

test('an abort ends the run like a timeout and says so', async (t) => {
  const d = await dir(t);
  const p = await script(d, 'slow', 'sleep 30');
  const ac = new AbortController();
  setTimeout(() => {
    ac.abort();
  }, 200);
  const r = await runProgram(p, [], { timeoutMs: 60_000, signal: ac.signal });
  assert.equal(r.aborted, true);
  assert.equal(r.timedOut, false);
  assert.ok(r.durationMs < 10_000);
  const pre = await runProgram(p, [], { timeoutMs: 60_000, signal: ac.signal });
  assert.equal(pre.aborted, true);
  assert.match(pre.spawnError ?? '', /aborted/);
});

test('runs leak no file descriptors, even when a daemon keeps the pipes', async (t) => {
  const d = await dir(t);
  const pidFile = join(d, 'daemon');
  const p = await script(d, 'start', `sleep 30 &\necho $! >> ${pidFile}\nexit 0`);
  const fds = async (): Promise<number> => (await readdir('/proc/self/fd')).length;
  await runProgram('/bin/true', [], { timeoutMs: 5000 }); // warm up whatever Node opens once
  const before = await fds();
  for (let i = 0; i < 5; i++) {
    const r = await runProgram(p, [], { timeoutMs: 5000 });
    assert.equal(r.code, 0);
  }
  const pids = (await readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
  t.after(() => {
    for (const pid of pids) killQuietly(pid);
  });
  assert.equal(pids.length, 5);
  assert.equal(await fds(), before);
});
