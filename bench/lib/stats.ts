/** Order statistics of the benchmark: small samples (10 trials), so the definitions are spelled out. */

/** Sorted copy, numeric order. */
function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/**
 * Quantile q in [0, 1] by linear interpolation between closest ranks (Hyndman & Fan type 7, numpy's and R's
 * default): for 10 trials p95 lies between the 9th and the 10th value, nearer the 10th. undefined for no data.
 */
export function quantile(xs: readonly number[], q: number): number | undefined {
  if (xs.length === 0) return undefined;
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile ${q} outside [0, 1]`);
  const s = sorted(xs);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

export function median(xs: readonly number[]): number | undefined {
  return quantile(xs, 0.5);
}

export function p95(xs: readonly number[]): number | undefined {
  return quantile(xs, 0.95);
}

/** The numbers among `xs`, dropping null/undefined (a measure the trial could not take). */
export function present(xs: readonly (number | null | undefined)[]): number[] {
  return xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
}

/** `a / b` for the report, with the degenerate cases named instead of NaN/Infinity. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return '–';
  if (b === 0) return a === 0 ? '1.00 (both 0)' : '∞';
  const r = a / b;
  // Two significant digits below 0.01: 14 ms against Heartbeat's 6333 ms is 0.0022, not "0.00".
  return r > 0 && r < 0.01 ? r.toPrecision(2) : r.toFixed(2);
}
