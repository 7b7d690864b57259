/**
 * vigil_notify and vigil_notify_fifo with real programs and a real named pipe: arguments and environment as
 * documented, runs one at a time in order, a hung program killed at its timeout and the next one run, a failure
 * logged; the FIFO gets one line per transition once a reader is attached, and nothing blocks without one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { chmod, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Notifier, fifoLine, notifyArgs } from '../../src/daemon/notify.js';
import type { TransitionEvent } from '../../src/obs/events.js';
import { DaemonStats } from '../../src/obs/stats.js';
import { runProgram } from '../../src/os/spawn.js';

const ev = (group: string, to: string, from: string, at: number): TransitionEvent => ({
  type: 'transition',
  at,
  node: 'linux2',
  group,
  from,
  to,
  reason: 'takeover',
  cause: 'nodeDead linux1',
  peer: 'linux1',
});

async function until(what: string, ms: number, fn: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('notify: documented arguments and environment, in order, one at a time; a hung run is killed and the next runs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-notify-'));
  try {
    const out = join(dir, 'out');
    const prog = join(dir, 'hook');
    // Sleeps on the first event only: if runs overlapped, the second line would come first.
    await writeFile(
      prog,
      `#!/bin/sh\n[ "$3" = none ] && [ "$2" = acquiring ] && sleep 0.3\necho "$* | $VIGIL_GROUP $VIGIL_STATE $VIGIL_OLD_STATE $VIGIL_NODE $VIGIL_REASON $VIGIL_PEER $VIGIL_CAUSE $VIGIL_TIME_MS $VIGIL_EVENT" >> ${out}\n[ "$1" = hang ] && exec sleep 30\n[ "$1" = fail ] && { echo boom >&2; exit 3; }\nexit 0\n`,
    );
    await chmod(prog, 0o755);
    const logs: string[] = [];
    const stats = new DaemonStats();
    const n = new Notifier(
      { program: prog, timeoutMs: 500, fifo: '', env: { PATH: '/usr/bin:/bin' } },
      (level, text) => logs.push(`${level}: ${text}`),
      stats,
    );
    const at = Date.UTC(2026, 11, 7, 18, 0, 0, 123);
    n.transition(ev('g1', 'acquiring', 'none', at));
    n.transition(ev('g1', 'held', 'acquiring', at + 5));
    n.transition(ev('hang', 'held', 'acquiring', at + 6));
    n.transition(ev('fail', 'held', 'acquiring', at + 7));
    n.transition(ev('g2', 'held', 'acquiring', at + 8));
    await n.idle(10_000);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    assert.deepEqual(lines, [
      `g1 acquiring none linux2 takeover 2026-12-07T18:00:00.123Z | g1 acquiring none linux2 takeover linux1 nodeDead linux1 ${at} transition`,
      `g1 held acquiring linux2 takeover 2026-12-07T18:00:00.128Z | g1 held acquiring linux2 takeover linux1 nodeDead linux1 ${at + 5} transition`,
      `hang held acquiring linux2 takeover 2026-12-07T18:00:00.129Z | hang held acquiring linux2 takeover linux1 nodeDead linux1 ${at + 6} transition`,
      `fail held acquiring linux2 takeover 2026-12-07T18:00:00.130Z | fail held acquiring linux2 takeover linux1 nodeDead linux1 ${at + 7} transition`,
      `g2 held acquiring linux2 takeover 2026-12-07T18:00:00.131Z | g2 held acquiring linux2 takeover linux1 nodeDead linux1 ${at + 8} transition`,
    ]);
    assert.equal(stats.notifyRuns, 5);
    assert.equal(stats.notifyFailures, 2);
    assert.ok(
      logs.some((l) => /^ERROR: vigil_notify .* hang held failed: timed out after 500 ms/.test(l)),
      logs.join('\n'),
    );
    assert.ok(
      logs.some((l) => /^ERROR: vigil_notify .* fail held failed: .*3.*\(boom\)/.test(l)),
      logs.join('\n'),
    );
    await n.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('notify: the queue is bounded; the dropped count is said in the log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-notify-'));
  try {
    const prog = join(dir, 'hook');
    await writeFile(prog, '#!/bin/sh\nsleep 0.05\n');
    await chmod(prog, 0o755);
    const logs: string[] = [];
    const stats = new DaemonStats();
    const n = new Notifier(
      { program: prog, timeoutMs: 5000, fifo: '', env: {} },
      (l, t) => logs.push(`${l}: ${t}`),
      stats,
    );
    for (let i = 0; i < 300; i++) n.transition(ev(`g${i}`, 'held', 'acquiring', i));
    assert.ok(stats.notifyDropped >= 300 - 257, String(stats.notifyDropped));
    await n.close();
    await n.idle(5000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('notify FIFO: created if missing, one line per transition for an attached reader, dropped without one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-fifo-'));
  try {
    const fifo = join(dir, 'events');
    const stats = new DaemonStats();
    const logs: string[] = [];
    const n = new Notifier({ program: '', timeoutMs: 1000, fifo, env: {} }, (l, t) => logs.push(`${l}: ${t}`), stats);
    // No reader: the line is dropped and nothing waits.
    n.transition(ev('g0', 'held', 'acquiring', 1));
    await until(
      'the fifo to exist',
      5000,
      async () => (await runProgram('test', ['-p', fifo], { timeoutMs: 2000 })).code === 0,
    );
    await until('the drop', 5000, () => stats.notifyDropped === 1);
    const got: string[] = [];
    // Opened without blocking (a blocking open would wait for a writer), read through a libuv pipe.
    const fh = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const reader = new Socket({ fd: fh.fd, readable: true, writable: false });
    reader.setEncoding('utf8');
    reader.on('data', (c) => got.push(String(c)));
    const at = Date.UTC(2026, 0, 1);
    n.transition(ev('g1', 'acquiring', 'none', at));
    n.transition(ev('g1', 'held', 'acquiring', at + 1));
    await until('two lines', 5000, () => got.join('').split('\n').length >= 3);
    assert.equal(
      got.join(''),
      'g1 acquiring none linux2 takeover 2026-01-01T00:00:00.000Z\ng1 held acquiring linux2 takeover 2026-01-01T00:00:00.001Z\n',
    );
    reader.destroy();
    await n.close();
    assert.deepEqual(logs, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('notify: arguments and FIFO lines keep six fields whatever a value holds', () => {
  const e = { ...ev('a b', 'held', 'none', 0), reason: 'x\ny' };
  assert.deepEqual(notifyArgs(e).slice(0, 5), ['a b', 'held', 'none', 'linux2', 'x\ny']);
  assert.equal(fifoLine(e).split(' ').length, 6);
  assert.match(fifoLine(e), /^a\\x20b held none linux2 x\\x0ay /);
});
