/**
 * The realtime policy on the real kernel, in a child process (the policy must not leak into the test runner):
 * SCHED_RR for the calling thread, and children started with the normal policy. Needs root (CAP_SYS_NICE).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('realtime on: the event loop runs SCHED_RR, its children do not', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root (CAP_SYS_NICE) to set a realtime policy');
    return;
  }
  const url = new URL('../../src/os/realtime.js', import.meta.url).href;
  const script = `
    const { makeRealtime, isRealtime, makeNormal, makeThreadsRealtime } = await import(${JSON.stringify(url)});
    const { execFileSync } = await import('node:child_process');
    const before = isRealtime();
    const r = makeRealtime(3);
    const own = execFileSync('chrt', ['-p', String(process.pid)], { encoding: 'utf8' });
    const child = execFileSync('sh', ['-c', 'chrt -p $$'], { encoding: 'utf8' });
    await import('node:fs/promises').then((f) => f.readFile('/proc/self/stat')); // the threadpool exists
    const threads = await makeThreadsRealtime(3);
    const { readdirSync, readFileSync } = await import('node:fs');
    const policies = readdirSync('/proc/self/task').map((t) => readFileSync('/proc/self/task/' + t + '/stat', 'utf8').split(') ')[1].split(' ')[38]);
    const bad = makeRealtime(1000);
    makeNormal();
    console.log(JSON.stringify({ before, r, own, child, bad, after: isRealtime(), threads, policies }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  const out = JSON.parse(stdout) as Record<string, unknown>;
  assert.equal(out.before, false);
  assert.deepEqual(out.r, { ok: true, text: 'Running at realtime priority 3 (SCHED_RR).' });
  assert.match(String(out.own), /policy: SCHED_RR\|SCHED_RESET_ON_FORK[\s\S]*priority: 3/);
  assert.match(String(out.child), /policy: SCHED_OTHER[\s\S]*priority: 0/);
  assert.equal((out.bad as { ok: boolean }).ok, false);
  assert.match((out.bad as { text: string }).text, /Cannot run at realtime priority 1000: .*EINVAL/);
  assert.equal(out.after, false);
  // Every thread (event loop, threadpool, V8 helpers) ran SCHED_RR (policy 2 in /proc/<pid>/task/<tid>/stat).
  assert.ok((out.threads as number) >= 4, String(out.threads));
  assert.ok(
    (out.policies as string[]).every((p) => p === '2'),
    JSON.stringify(out.policies),
  );
});
