import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { median, p95, present, quantile, ratio } from '../../bench/lib/stats.js';

test('median of odd and even samples, order of input irrelevant', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.equal(median([]), undefined);
});

test('p95 interpolates between closest ranks (type 7): 10 trials land between the 9th and the 10th', () => {
  const xs = [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000];
  // h = 9 * 0.95 = 8.55 → 90 + 0.55 * (1000 - 90)
  assert.ok(Math.abs(p95(xs)! - 590.5) < 1e-9);
  assert.equal(p95([42]), 42);
  assert.equal(quantile([1, 2, 3], 0), 1);
  assert.equal(quantile([1, 2, 3], 1), 3);
  assert.throws(() => quantile([1], 1.5), RangeError);
});

test('quantiles lie within the sample and are monotone in q', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 40 }), (xs) => {
      const m = median(xs)!;
      const p = p95(xs)!;
      assert.ok(m >= Math.min(...xs) && p <= Math.max(...xs));
      assert.ok(p >= m);
    }),
  );
});

test('present drops missing measures; ratio names its degenerate cases', () => {
  assert.deepEqual(present([1, null, undefined, 3, Number.NaN]), [1, 3]);
  assert.equal(ratio(50, 100), '0.50');
  assert.equal(ratio(14, 6333), '0.0022');
  assert.equal(ratio(0, 5), '0.00');
  assert.equal(ratio(0, 0), '1.00 (both 0)');
  assert.equal(ratio(3, 0), '∞');
  assert.equal(ratio(undefined, 3), '–');
});
