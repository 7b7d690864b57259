/**
 * The adaptive failure detector (`vigil_detector adaptive`): φ-accrual (Hayashibara et al.) over each peer's
 * observed heartbeat inter-arrival times, turned into a silence limit so that the liveness check stays a
 * deadline comparison.
 *
 * φ(t) = −log10(P(next heartbeat arrives later than t)), with inter-arrivals modelled as normal(μ, σ). The peer is
 * suspected when φ reaches the threshold, i.e. after a silence of μ + z·σ where z is the normal quantile of
 * 1 − 10^−φ. Two guards keep it calm and honest:
 * - σ is never taken below SIGMA_FLOOR × μ (a perfectly regular link would otherwise give a limit of μ + ε,
 *   a single late packet away from a false alarm), and the limit is never below `minBeats` × μ (that many
 *   heartbeats in a row must be missing);
 * - the limit never exceeds the peer's deadtime: Heartbeat's rule stays the hard upper bound.
 * On a quiet link the limit is therefore `minBeats` heartbeats; when the host gets busy and arrivals jitter, σ
 * grows and so does the limit, up to deadtime, instead of false alarms.
 */

/** Inter-arrival samples kept per peer: about 20 s at keepalive 100 ms, 3 min at 1 s. */
export const WINDOW = 200;
/** Below this many samples the estimate is noise: the plain deadtime applies. */
export const MIN_SAMPLES = 10;
/** σ is at least this fraction of the mean interval. */
export const SIGMA_FLOOR = 0.1;

export interface AdaptiveSettings {
  /** Suspicion threshold φ (8 → one false suspicion in 10^8 intervals under the model). */
  readonly phi: number;
  /** The limit is at least this many mean intervals. */
  readonly minBeats: number;
}

/** Sliding window of inter-arrival times with O(1) mean and variance. */
export class ArrivalWindow {
  private readonly samples: number[] = [];
  private next = 0;
  private sum = 0;
  private sumSq = 0;
  private last: number | undefined;

  /** Records an arrival at `now` (monotonic ms). */
  arrived(now: number): void {
    const prev = this.last;
    this.last = now;
    if (prev === undefined) return;
    const x = Math.max(0, now - prev);
    if (this.samples.length < WINDOW) {
      this.samples.push(x);
    } else {
      const old = this.samples[this.next] ?? 0;
      this.sum -= old;
      this.sumSq -= old * old;
      this.samples[this.next] = x;
      this.next = (this.next + 1) % WINDOW;
    }
    this.sum += x;
    this.sumSq += x * x;
  }

  /** Forget everything (a new incarnation of the peer, or after it was declared dead). */
  reset(): void {
    this.samples.length = 0;
    this.next = 0;
    this.sum = 0;
    this.sumSq = 0;
    this.last = undefined;
  }

  get count(): number {
    return this.samples.length;
  }

  get mean(): number {
    return this.samples.length === 0 ? 0 : this.sum / this.samples.length;
  }

  get stddev(): number {
    const n = this.samples.length;
    if (n < 2) return 0;
    const m = this.sum / n;
    return Math.sqrt(Math.max(0, this.sumSq / n - m * m));
  }

  /**
   * The silence (ms since the last arrival) after which φ crosses the threshold, or undefined while there are
   * too few samples. The caller caps it with deadtime.
   */
  limit(s: AdaptiveSettings): number | undefined {
    if (this.samples.length < MIN_SAMPLES) return undefined;
    const mu = this.mean;
    if (mu <= 0) return undefined;
    const sigma = Math.max(this.stddev, SIGMA_FLOOR * mu);
    return Math.ceil(Math.max(mu + zForPhi(s.phi) * sigma, s.minBeats * mu));
  }
}

/** φ at a silence of `t` ms for mean `mu` and deviation `sigma` (for logs and tests). */
export function phiAt(t: number, mu: number, sigma: number): number {
  const p = normalTail((t - mu) / sigma);
  return p <= 0 ? Infinity : -Math.log10(p);
}

const zCache = new Map<number, number>();

/** z such that P(Z > z) = 10^−φ, by bisection on the tail (monotonic); cached per threshold. */
export function zForPhi(phi: number): number {
  const hit = zCache.get(phi);
  if (hit !== undefined) return hit;
  const target = 10 ** -phi;
  let lo = -10;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalTail(mid) > target) lo = mid;
    else hi = mid;
  }
  zCache.set(phi, hi);
  return hi;
}

/**
 * P(Z > z) for a standard normal Z, via the complementary error function (Numerical Recipes' erfcc: fractional
 * error below 1.2e-7 everywhere, which keeps relative accuracy in the far tail where φ lives).
 */
export function normalTail(z: number): number {
  return erfc(z / Math.SQRT2) / 2;
}

function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}
