import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeapTrimmer, exposeGc, heapUsed, oldSpaceUsed } from '../../src/obs/heap-trim.js';

const MB = 1024 * 1024;

test('a major GC is asked for once old space grew by the threshold since its last low point', () => {
  let used = 10 * MB;
  const asked: unknown[] = [];
  const t = new HeapTrimmer(
    (o) => void asked.push(o),
    () => used,
    2 * MB,
  );
  used += 1.5 * MB;
  assert.equal(t.check(), false);
  used += 0.6 * MB;
  assert.equal(t.check(), true);
  assert.deepEqual(asked, [{ type: 'major', execution: 'async' }]);
  // Not again until the collection ran (used fell) and old space grew by the threshold from the new low.
  assert.equal(t.check(), false);
  used = 10.2 * MB;
  assert.equal(t.check(), false);
  used = 12.1 * MB;
  assert.equal(t.check(), false);
  used = 12.3 * MB;
  assert.equal(t.check(), true);
  // A collection that frees nothing (all live): the next one waits for another 2 MB.
  used = 13 * MB;
  assert.equal(t.check(), false);
  used = 14.4 * MB;
  assert.equal(t.check(), true);
  assert.equal(t.collections, 3);
});

test("V8's gc() is reachable without --expose-gc, and an asynchronous major GC empties old space of garbage", async () => {
  const gc = exposeGc();
  assert.equal(typeof gc, 'function');
  // Garbage that reached old space: survive two scavenges, then drop it.
  const holder: { junk?: Array<{ i: number; s: string }> } = {
    junk: Array.from({ length: 200_000 }, (_, i) => ({ i, s: `x${i}` })),
  };
  await gc!({ type: 'major', execution: 'async' });
  const withJunk = oldSpaceUsed();
  assert.ok((holder.junk?.length ?? 0) > 0);
  delete holder.junk;
  await gc!({ type: 'major', execution: 'async' });
  assert.ok(oldSpaceUsed() < withJunk - 5 * MB, `${oldSpaceUsed()} vs ${withJunk}`);
  assert.ok(heapUsed() >= oldSpaceUsed(), 'the watched size counts old space and the other old-generation spaces');
});
