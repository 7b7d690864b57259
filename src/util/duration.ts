/** Human rendering of a millisecond duration for summaries and logs: 1500 → "1.5 s", 200 → "200 ms". */
export function formatMs(ms: number): string {
  if (ms < 1000 || ms % 100 !== 0) return `${ms} ms`;
  return `${ms / 1000} s`;
}
