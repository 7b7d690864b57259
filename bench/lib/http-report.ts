/**
 * The "HTTP server" section of bench/RESULTS.md, from bench/results/http-cost.json (`node dist/bench/http-cost.js`):
 * the idle footprint with and without vigil_http, the cost of one scrape, and the power cut with a scrape every
 * second.
 */

export interface IdleRun {
  arm: string;
  node: string;
  rssMeanMb: number;
  rssMaxMb: number;
  cpuPct: number;
  scrapes: number;
  scrapeErrors: number;
}
interface ScrapeRes {
  path: string;
  count: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  bytes: number;
  daemonCpuMsPerScrape: number;
}
interface FailoverSummary {
  arm: string;
  trials: number;
  outageMedian: number;
  outageP95: number;
  detectMedian: number;
  takeoverMedian: number;
  switchMedian: number;
  scrapes: number;
}
export interface HttpCost {
  date?: string;
  idle?: { warmupS: number; seconds: number; keepaliveMs: number; deadtimeMs: number; runs: IdleRun[] };
  scrape?: ScrapeRes[];
  failover?: { keepaliveMs: number; deadtimeMs: number; detector: string; summary: FailoverSummary[] };
  /** What the numbers mean, written with them (kept in the results file so that the report can be regenerated). */
  notes?: string[];
}

export function parseHttpCost(text: string): HttpCost | undefined {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as HttpCost;
  } catch {
    return undefined;
  }
}

export function httpSection(c: HttpCost, file: string): string[] {
  const L: string[] = ['## HTTP server (vigil_http)', ''];
  L.push(
    `From \`${file}\` (\`node dist/bench/http-cost.js\`, ${c.date ?? 'undated'}). What the read-only HTTP server ` +
      '(/metrics, the status API, the event stream, the dashboard) costs the daemon.',
    '',
  );
  if (c.idle !== undefined) {
    const i = c.idle;
    L.push(
      `**Idle footprint** at keepalive ${i.keepaliveMs} ms / deadtime ${i.deadtimeMs} ms: three 2-node clusters side by ` +
        `side (same machine, same noise), ${i.warmupS} s of warm-up, then ${i.seconds} s measured (RSS every 5 s from ` +
        '`/proc/PID/status`, CPU from utime + stime over the window). Scrapes come from the lab client, of both nodes.',
      '',
      '| configuration | node | RSS mean MB | RSS max MB | CPU % | scrapes (errors) |',
      '|---|---|---|---|---|---|',
    );
    for (const r of i.runs)
      L.push(
        `| ${r.arm} | ${r.node} | ${r.rssMeanMb} | ${r.rssMaxMb} | ${r.cpuPct.toFixed(2)} | ${r.scrapes} (${r.scrapeErrors}) |`,
      );
    const base = (node: string): IdleRun | undefined =>
      i.runs.find((r) => r.arm === 'no vigil_http' && r.node === node);
    const added = i.runs
      .filter((r) => r.arm !== 'no vigil_http')
      .map((r) => {
        const b = base(r.node);
        return b === undefined
          ? ''
          : `${r.arm}, ${r.node}: ${(r.rssMeanMb - b.rssMeanMb).toFixed(1)} MB, ${(r.cpuPct - b.cpuPct).toFixed(2)} % CPU`;
      })
      .filter((x) => x !== '');
    L.push('', `Added over no vigil_http (mean RSS, CPU): ${added.join('; ')}.`, '');
  }
  if (c.scrape !== undefined && c.scrape.length > 0) {
    L.push(
      '**One scrape**, back to back from the lab client against the idle holder (one keep-alive connection); the ' +
        "daemon's CPU per scrape is its CPU over the burst less its idle rate:",
      '',
      '| path | scrapes | errors | latency p50 ms | p95 ms | max ms | bytes | daemon CPU ms / scrape |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const s of c.scrape)
      L.push(
        `| \`${s.path}\` | ${s.count} | ${s.errors} | ${s.p50Ms} | ${s.p95Ms} | ${s.maxMs} | ${s.bytes} | ${s.daemonCpuMsPerScrape} |`,
      );
    L.push('');
  }
  if (c.failover !== undefined) {
    const f = c.failover;
    L.push(
      `**Power cut with a scrape every second** (keepalive ${f.keepaliveMs} ms / deadtime ${f.deadtimeMs} ms, ${f.detector} ` +
        'detector): trials alternate between no vigil_http and vigil_http with both nodes scraped every second from ' +
        'the client (`/metrics`), from the settled cluster through the power cut to the end. ms, median unless said.',
      '',
      '| configuration | trials | outage | outage p95 | detection | takeover | switch gap | scrapes |',
      '|---|---|---|---|---|---|---|---|',
    );
    for (const s of f.summary)
      L.push(
        `| ${s.arm} | ${s.trials} | ${s.outageMedian} | ${s.outageP95} | ${s.detectMedian} | ${s.takeoverMedian} | ${s.switchMedian} | ${s.scrapes} |`,
      );
    L.push('');
  }
  for (const n of c.notes ?? []) L.push(n, '');
  return L;
}
