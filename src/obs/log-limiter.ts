/**
 * Lines an attacker can trigger once per packet (drops of unauthenticated or forged packets) are written at most
 * once per interval per kind; the rest are counted, and the count is written as "N more ... suppressed" with the
 * next line of that kind, or by `flush()` once the interval is over, so a flood that stops is still accounted for.
 */
export class LogLimiter {
  private readonly keys = new Map<string, { last: number; suppressed: number; text: string }>();
  private pending = 0;

  constructor(
    private readonly now: () => number,
    private readonly intervalMs = 1000,
    /** Kinds tracked at once; beyond it the table starts over (a spray of distinct kinds must not grow memory). */
    private readonly maxKeys = 256,
  ) {}

  /** The line to write now for `key` (with the count of the ones held back), or undefined to hold it back. */
  take(key: string, text: string): string | undefined {
    const now = this.now();
    const st = this.keys.get(key);
    if (st !== undefined && now - st.last < this.intervalMs) {
      if (st.suppressed === 0) this.pending++;
      st.suppressed++;
      st.text = text;
      return undefined;
    }
    if (st === undefined && this.keys.size >= this.maxKeys) {
      this.keys.clear();
      this.pending = 0;
    }
    const suppressed = st?.suppressed ?? 0;
    if (suppressed > 0) this.pending--;
    this.keys.set(key, { last: now, suppressed: 0, text });
    return suppressed > 0 ? `${text} (${suppressed} more like it suppressed)` : text;
  }

  /** Summaries of kinds that went quiet with lines still held back. Cheap when nothing is held back. */
  flush(): string[] {
    if (this.pending === 0) return [];
    const now = this.now();
    const out: string[] = [];
    for (const st of this.keys.values()) {
      if (st.suppressed === 0 || now - st.last < this.intervalMs) continue;
      out.push(`${st.suppressed} more like it suppressed, the last: ${st.text}`);
      st.suppressed = 0;
      st.last = now;
      this.pending--;
    }
    return out;
  }
}
