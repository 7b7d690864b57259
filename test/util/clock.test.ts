import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock } from '../../src/util/clock.js';

test('SimulatedClock runs timers in time order, ties in scheduling order', () => {
  const c = new SimulatedClock(0);
  const seen: string[] = [];
  c.setTimeout(() => seen.push('b@20'), 20);
  c.setTimeout(() => seen.push('a@10'), 10);
  c.setTimeout(() => seen.push('c@10'), 10);
  const h = c.setTimeout(() => seen.push('never'), 15);
  c.clearTimeout(h);
  c.advance(25);
  assert.deepEqual(seen, ['a@10', 'c@10', 'b@20']);
  assert.equal(c.now(), 25);
});

test('SimulatedClock runs timers scheduled by timers within the same advance', () => {
  const c = new SimulatedClock(0);
  const seen: number[] = [];
  c.setTimeout(() => c.setTimeout(() => seen.push(c.now()), 5), 5);
  c.advance(10);
  assert.deepEqual(seen, [10]);
});
