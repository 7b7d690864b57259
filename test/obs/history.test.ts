/** The persistent transition journal: appended in order, rotated by size, read back filtered, torn lines skipped. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryEntry } from '../../src/control/protocol.js';
import { HISTORY_FILE, HistoryJournal, readHistory, tailHistory } from '../../src/obs/history.js';
import { DaemonStats } from '../../src/obs/stats.js';

const entry = (i: number, group = 'g1'): HistoryEntry => ({
  v: 1,
  at: 1_000_000 + i,
  node: 'linux1',
  group,
  from: 'none',
  to: 'acquiring',
  reason: 'takeover',
  cause: `nodeDead linux2 #${i}`,
  peer: 'linux2',
});

test('history: appends survive a new journal (a restart), are filtered by time and group, and are bounded by rotation', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-hist-'));
  try {
    const j = new HistoryJournal(dir, 16 * 1024);
    for (let i = 0; i < 10; i++) j.append(entry(i, i % 2 === 0 ? 'g1' : 'g2'));
    await j.flush();
    // A new process reads what the old one wrote.
    assert.equal((await readHistory(dir)).length, 10);
    assert.deepEqual(
      (await readHistory(dir, { group: 'g2', since: 1_000_005 })).map((e) => e.at),
      [1_000_005, 1_000_007, 1_000_009],
    );
    assert.deepEqual(
      (await readHistory(dir, { limit: 2 })).map((e) => e.at),
      [1_000_008, 1_000_009],
    );
    assert.deepEqual(
      (await tailHistory(dir, 3)).map((e) => e.at),
      [1_000_007, 1_000_008, 1_000_009],
    );

    // Past the size the file rotates: the total never exceeds twice the size, and the newest entries are kept.
    const j2 = new HistoryJournal(dir, 16 * 1024);
    for (let i = 10; i < 400; i++) j2.append(entry(i));
    await j2.flush();
    const cur = (await stat(join(dir, HISTORY_FILE))).size;
    const old = (await stat(join(dir, `${HISTORY_FILE}.1`))).size;
    assert.ok(cur <= 16 * 1024 && old <= 16 * 1024, `${cur} ${old}`);
    const all = await readHistory(dir, { limit: 10_000 });
    assert.equal(all.at(-1)?.at, 1_000_399);
    assert.ok(all.length > 100 && all.length < 400, String(all.length));
    for (let i = 1; i < all.length; i++)
      assert.ok((all[i]?.at ?? 0) > (all[i - 1]?.at ?? 0), 'oldest first, no duplicates');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('history: a torn last line (power cut mid-write) and foreign lines are skipped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-hist-'));
  try {
    const j = new HistoryJournal(dir, 1024 * 1024);
    j.append(entry(1));
    await j.flush();
    await appendFile(join(dir, HISTORY_FILE), 'not json\n{"at":"x"}\n{"v":1,"at":1000002,"gro');
    j.append(entry(3));
    await j.flush();
    const text = await readFile(join(dir, HISTORY_FILE), 'utf8');
    assert.equal(text.split('\n').length, 5);
    assert.deepEqual(
      (await readHistory(dir)).map((e) => e.at),
      [1_000_001],
    );
    // The torn line swallowed the next append's start: only whole lines count, and nothing throws.
    assert.deepEqual(
      (await tailHistory(dir, 10)).map((e) => e.at),
      [1_000_001],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('history: a journal that cannot be written reports once and counts; nothing throws', async () => {
  const errors: string[] = [];
  const stats = new DaemonStats();
  const j = new HistoryJournal('/proc/nonexistent-dir', 1024 * 1024, (t) => errors.push(t), stats);
  j.append(entry(1));
  j.append(entry(2));
  await j.flush();
  assert.equal(j.errors, 2);
  assert.equal(stats.historyLost, 2, 'counted for /metrics');
  assert.equal(errors.length, 1);
  assert.deepEqual(await readHistory('/proc/nonexistent-dir'), []);
});
