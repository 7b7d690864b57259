import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pinger } from '../../src/os/pinger.js';

type T = { after: (fn: () => Promise<void> | void) => void; skip: (why: string) => void };

async function wrapper(t: T, body: string): Promise<{ path: string; starts: () => Promise<number[]> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-pinger-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'starts');
  const p = path.join(dir, 'ping');
  await writeFile(p, `#!/bin/sh\necho $$ >> ${log}\n${body}\n`, { mode: 0o755 });
  return {
    path: p,
    starts: async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l !== '')
        .map(Number),
  };
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

test('a ping child ends after its lifetime (ping -w) and is replaced at once; close() kills the current one', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('iputils ping below a 0.2 s interval needs root');
    return;
  }
  const w = await wrapper(t, 'exec ping "$@"');
  let replies = 0;
  const errors: string[] = [];
  const p = new Pinger({
    address: '127.0.0.1',
    intervalMs: 100,
    lifetimeS: 1,
    pingPath: w.path,
    onReply: () => replies++,
    onError: (e) => errors.push(e),
  });
  t.after(() => {
    p.close();
  });
  p.start();
  await waitFor('three ping children in turn', async () => (await w.starts()).length >= 3);
  // Replies keep coming across the replacements.
  const before = replies;
  await waitFor('replies after the replacements', () => Promise.resolve(replies > before + 3));
  const pids = await w.starts();
  const last = pids[pids.length - 1] ?? 0;
  p.close();
  await waitFor('the last ping to be killed', async () => !(await running(last)));
  assert.deepEqual(errors, []);
  const count = (await w.starts()).length;
  await sleep(1500);
  assert.equal((await w.starts()).length, count, 'a ping was started after close()');
});

test('a ping that fails at once is restarted with backoff, not in a tight loop', async (t) => {
  const w = await wrapper(t, 'exit 2');
  const p = new Pinger({
    address: '127.0.0.1',
    intervalMs: 100,
    lifetimeS: 1,
    pingPath: w.path,
    onReply: () => undefined,
    onError: () => undefined,
  });
  t.after(() => {
    p.close();
  });
  p.start();
  await sleep(2500);
  const n = (await w.starts()).length;
  // Starts at 0, ~1 s and ~3 s: two in 2.5 s, never dozens.
  assert.ok(n >= 1 && n <= 3, `${n} starts in 2.5 s`);
});
