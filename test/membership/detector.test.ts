import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ArrivalWindow, MIN_SAMPLES, WINDOW, normalTail, phiAt, zForPhi } from '../../src/membership/detector.js';

test('the normal tail and its inverse agree with known quantiles', () => {
  assert.ok(Math.abs(normalTail(0) - 0.5) < 1e-7);
  assert.ok(Math.abs(normalTail(1.959964) - 0.025) < 1e-6);
  // φ = 8 ↔ P = 1e-8 ↔ z ≈ 5.612 (tables); φ = 3 ↔ z ≈ 3.090.
  assert.ok(Math.abs(zForPhi(8) - 5.612) < 0.01, String(zForPhi(8)));
  assert.ok(Math.abs(zForPhi(3) - 3.09) < 0.01, String(zForPhi(3)));
  assert.ok(Math.abs(phiAt(100 + 5.612 * 10, 100, 10) - 8) < 0.05);
});

test('φ grows with silence and the threshold z grows with φ', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 1, max: 19, noNaN: true }),
      fc.double({ min: 0.01, max: 1, noNaN: true }),
      (phi, d) => {
        assert.ok(zForPhi(phi + d) > zForPhi(phi));
        assert.ok(phiAt(300 + d * 100, 100, 30) >= phiAt(300, 100, 30));
      },
    ),
  );
});

test('no limit until enough samples; a steady link gives minBeats intervals', () => {
  const w = new ArrivalWindow();
  for (let i = 0; i < MIN_SAMPLES; i++) w.arrived(i * 100);
  assert.equal(w.limit({ phi: 8, minBeats: 3 }), undefined, 'MIN_SAMPLES arrivals are MIN_SAMPLES - 1 intervals');
  w.arrived(MIN_SAMPLES * 100);
  assert.equal(w.limit({ phi: 8, minBeats: 3 }), 300);
  assert.equal(w.limit({ phi: 8, minBeats: 5 }), 500);
});

test('jitter raises the limit above minBeats; the window forgets old samples', () => {
  const w = new ArrivalWindow();
  let t = 0;
  // 100 ± 60 ms: σ = 60, limit = 100 + 5.61 × 60 ≈ 437 ms.
  for (let i = 0; i < WINDOW; i++) {
    t += i % 2 === 0 ? 40 : 160;
    w.arrived(t);
  }
  assert.ok(Math.abs(w.mean - 100) < 1);
  assert.ok(Math.abs(w.stddev - 60) < 1);
  const jittery = w.limit({ phi: 8, minBeats: 3 });
  assert.ok(jittery !== undefined && jittery > 420 && jittery < 450, String(jittery));
  // After a full window of steady beats the jitter is forgotten.
  for (let i = 0; i < WINDOW; i++) {
    t += 100;
    w.arrived(t);
  }
  assert.equal(w.limit({ phi: 8, minBeats: 3 }), 300);
  w.reset();
  assert.equal(w.count, 0);
  assert.equal(w.limit({ phi: 8, minBeats: 3 }), undefined);
});
