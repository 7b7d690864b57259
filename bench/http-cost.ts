/**
 * What the read-only HTTP server (`vigil_http`) costs, measured in the lab (root):
 *
 *   idle      three 2-node clusters side by side at keepalive 1 s, deadtime 10 s: without vigil_http; with it,
 *             scraped every 15 s; with it, scraped every second. Warm-up, then RSS (sampled every 5 s) and CPU
 *             (utime + stime over the window) of each daemon. Side by side, so the machine's noise is shared.
 *   scrape    back-to-back scrapes of /metrics and /api/v1/status against an idle holder: latency, bytes, and the
 *             daemon's CPU per scrape (its CPU over the burst, less its idle rate).
 *   failover  power cut at keepalive 100 ms / deadtime 500 ms (adaptive detector), trials alternating between no
 *             vigil_http and vigil_http with both nodes scraped every second from the client: outage, detection,
 *             takeover, switch gap.
 *
 *   node dist/bench/http-cost.js [--part idle,scrape,failover] [--warmup S] [--seconds S] [--trials N]
 *
 * Writes bench/results/http-cost.json and prints a Markdown section for bench/RESULTS.md. Lab prefixes obs, obs2,
 * obs3; every lab is torn down at the end, every helper process killed by PID.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { VigilDriver } from '../lab/drivers/vigil.js';
import { sleep, waitFor } from '../lab/exec.js';
import { runScenario, tutorialSpec, type ScenarioResult } from '../lab/scenario.js';
import { Lab, cleanup, nodeIp } from '../lab/topology.js';
import type { IdleRun } from './lib/http-report.js';

const OUT = fileURLToPath(new URL('../../bench/results/http-cost.json', import.meta.url));
const PORT = 9100;
const CLK_TCK = 100;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

// Every URL of a round in parallel, each bounded by the interval: a powered-off node must not stall the others.
const SCRAPER = `
const [urls, every, count] = [JSON.parse(process.argv[1]), Number(process.argv[2]), Number(process.argv[3])];
const one = async (u) => {
  const t = performance.now();
  try {
    const r = await fetch(u, { signal: AbortSignal.timeout(every > 0 ? every : 10000) });
    const b = await r.arrayBuffer();
    console.log(JSON.stringify({ u, ms: performance.now() - t, bytes: b.byteLength, status: r.status }));
  } catch (e) {
    console.log(JSON.stringify({ u, error: String(e) }));
  }
};
(async () => {
  for (let n = 0; count === 0 || n < count; n++) {
    const t = performance.now();
    await Promise.all(urls.map(one));
    if (every > 0) await new Promise((r) => setTimeout(r, Math.max(0, every - (performance.now() - t))));
  }
})();
`;

interface ScrapeLine {
  u: string;
  ms?: number;
  bytes?: number;
  status?: number;
  error?: string;
}

/** A scraper in the client namespace; `done` resolves with its lines once it exits (count reached, or killed). */
function scraper(
  lab: Lab,
  urls: string[],
  everyMs: number,
  count = 0,
): { proc: ChildProcess; done: Promise<ScrapeLine[]> } {
  const proc = lab.spawn(
    'client',
    process.execPath,
    ['-e', SCRAPER, JSON.stringify(urls), String(everyMs), String(count)],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<ScrapeLine[]>((resolve) => {
    proc.on('close', () => {
      resolve(
        out
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as ScrapeLine),
      );
    });
  });
  return { proc, done };
}

async function procStat(pid: number): Promise<{ cpuTicks: number; rssKb: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return { cpuTicks: Number(f[11]) + Number(f[12]), rssKb: Number(rss ?? 0) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.floor((s.length - 1) / 2)] ?? NaN);
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN);
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

async function startCluster(
  prefix: string,
  extra: string[],
): Promise<{ lab: Lab; driver: VigilDriver; pids: Map<string, number> }> {
  await cleanup(prefix);
  const lab = await Lab.up({ prefix, nodes: 2 });
  const driver = new VigilDriver();
  const spec = { ...tutorialSpec(2, 1000, 10_000, true, undefined), vigilExtra: extra };
  for (const n of lab.nodes) await lab.resetRun(n);
  await driver.configure(lab, spec);
  for (const n of lab.nodes) await driver.start(lab, n);
  const pids = new Map<string, number>();
  for (const n of lab.nodes) {
    const p = (await driver.daemonPids(lab, n))[0];
    if (p === undefined) throw new Error(`no daemon on ${prefix} ${n}`);
    pids.set(n, p);
  }
  return { lab, driver, pids };
}

interface IdleArm {
  readonly name: string;
  readonly prefix: string;
  readonly http: boolean;
  readonly scrapeEveryMs: number;
}

async function idle(warmupS: number, seconds: number, results: Record<string, unknown>): Promise<void> {
  const arms: IdleArm[] = [
    { name: 'no vigil_http', prefix: 'obs', http: false, scrapeEveryMs: 0 },
    { name: 'vigil_http, scraped every 15 s', prefix: 'obs2', http: true, scrapeEveryMs: 15_000 },
    { name: 'vigil_http, scraped every 1 s', prefix: 'obs3', http: true, scrapeEveryMs: 1000 },
  ];
  const clusters = [];
  for (const a of arms)
    clusters.push({ arm: a, ...(await startCluster(a.prefix, a.http ? [`vigil_http 0.0.0.0:${PORT}`] : [])) });
  const scrapers: { arm: string; s: ReturnType<typeof scraper> }[] = [];
  try {
    for (const c of clusters) {
      const l = c.lab;
      await waitFor(`${c.arm.prefix}: linux1 holds the VIP`, 120_000, async () => {
        const r = await l.exec('linux1', 'ip', ['-o', '-4', 'addr', 'show']);
        return r.stdout.includes('192.168.1.50/') ? true : undefined;
      });
      if (c.arm.scrapeEveryMs > 0) {
        const urls = l.nodes.map((_, i) => `http://${nodeIp(i + 1)}:${PORT}/metrics`);
        scrapers.push({ arm: c.arm.name, s: scraper(l, urls, c.arm.scrapeEveryMs) });
      }
    }
    console.log(`# idle: warm-up ${warmupS} s`);
    await sleep(warmupS * 1000);
    console.log(`# idle: measuring ${seconds} s`);
    const start = new Map<string, number>();
    const rss = new Map<string, number[]>();
    for (const c of clusters)
      for (const [n, pid] of c.pids) {
        start.set(`${c.arm.name}|${n}`, (await procStat(pid)).cpuTicks);
        rss.set(`${c.arm.name}|${n}`, []);
      }
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      for (const c of clusters)
        for (const [n, pid] of c.pids) rss.get(`${c.arm.name}|${n}`)?.push((await procStat(pid)).rssKb);
      await sleep(5000);
    }
    const elapsed = (Date.now() - t0) / 1000;
    const out: IdleRun[] = [];
    for (const s of scrapers) s.s.proc.kill('SIGKILL');
    const scraped = new Map<string, ScrapeLine[]>();
    for (const s of scrapers) scraped.set(s.arm, await s.s.done);
    for (const c of clusters)
      for (const [n, pid] of c.pids) {
        const k = `${c.arm.name}|${n}`;
        const cpu = ((await procStat(pid)).cpuTicks - (start.get(k) ?? 0)) / CLK_TCK;
        const xs = rss.get(k) ?? [];
        const lines = scraped.get(c.arm.name) ?? [];
        out.push({
          arm: c.arm.name,
          node: n === 'linux1' ? 'holder' : 'standby',
          rssMeanMb: r1(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length) / 1024),
          rssMaxMb: r1(Math.max(...xs) / 1024),
          cpuPct: Math.round((cpu / elapsed) * 10000) / 100,
          scrapes: lines.filter((x) => x.status === 200).length,
          scrapeErrors: lines.filter((x) => x.status !== 200).length,
        });
      }
    results.idle = { warmupS, seconds, keepaliveMs: 1000, deadtimeMs: 10_000, runs: out };
    console.table(out);

    // Scrape cost: back to back against the idle holder of the 1 s arm (already warm).
    const c = clusters[2];
    if (c !== undefined) {
      const pid = c.pids.get('linux1') ?? 0;
      for (const [path, count] of [
        ['/metrics', 300],
        ['/api/v1/status', 300],
      ] as const) {
        const before = (await procStat(pid)).cpuTicks;
        const t = Date.now();
        const s = scraper(c.lab, [`http://${nodeIp(1)}:${PORT}${path}`], 0, count);
        const lines = await s.done;
        const secs = (Date.now() - t) / 1000;
        const cpuMs = (((await procStat(pid)).cpuTicks - before) / CLK_TCK) * 1000;
        const idleCpuMs = (out.find((x) => x.arm === c.arm.name && x.node === 'holder')?.cpuPct ?? 0) * 10 * secs;
        const ms = lines.flatMap((x) => (x.ms === undefined ? [] : [x.ms]));
        const bytes = lines.flatMap((x) => (x.bytes === undefined ? [] : [x.bytes]));
        const res = {
          path,
          count: lines.length,
          errors: lines.filter((x) => x.status !== 200).length,
          p50Ms: r1(median(ms)),
          p95Ms: r1(pct(ms, 0.95)),
          maxMs: r1(Math.max(...ms)),
          bytes: median(bytes),
          daemonCpuMsPerScrape: r1(Math.max(0, cpuMs - idleCpuMs) / Math.max(1, lines.length)),
        };
        (results.scrape ??= [] as unknown[]) as unknown[];
        (results.scrape as unknown[]).push(res);
        console.log(res);
      }
    }
  } finally {
    for (const s of scrapers) s.s.proc.kill('SIGKILL');
    for (const c of clusters) await cleanup(c.arm.prefix);
  }
}

async function failover(trials: number, results: Record<string, unknown>): Promise<void> {
  const runs: { arm: string; r: ScenarioResult; scrapes: number; scrapeErrors: number }[] = [];
  for (let i = 0; i < trials * 2; i++) {
    const scraped = i % 2 === 1;
    let lines: ScrapeLine[] = [];
    const r = await runScenario({
      impl: 'vigil',
      scenario: 'poweroff',
      keepaliveMs: 100,
      deadtimeMs: 500,
      nodes: 2,
      prefix: 'obs',
      vigilDetector: 'adaptive',
      ...(scraped ? { vigilExtra: [`vigil_http 0.0.0.0:${PORT}`] } : {}),
      // Both arms wait 3 s on the settled cluster before the power cut (the scraped arm scrapes meanwhile), so the
      // detector has learnt as much in each.
      during: async (lab: Lab) => {
        const s = scraped
          ? scraper(
              lab,
              lab.nodes.map((_, j) => `http://${nodeIp(j + 1)}:${PORT}/metrics`),
              1000,
            )
          : undefined;
        await sleep(3000);
        return {
          stop: async () => {
            if (s === undefined) return;
            s.proc.kill('SIGKILL');
            lines = await s.done;
          },
        };
      },
    });
    const arm = scraped ? 'vigil_http, scraped every 1 s' : 'no vigil_http';
    runs.push({
      arm,
      r,
      scrapes: lines.filter((x) => x.status === 200).length,
      scrapeErrors: lines.filter((x) => x.status !== 200).length,
    });
    console.log(
      `# ${arm}: outage ${r.outage_ms} ms, detect ${r.detect_ms} ms, takeover ${r.takeover_ms} ms, switch ${r.switch_gap_ms} ms${r.error === null ? '' : `, error ${r.error}`}`,
    );
  }
  const summary = ['no vigil_http', 'vigil_http, scraped every 1 s'].map((arm) => {
    const rs = runs.filter((x) => x.arm === arm && x.r.error === null);
    const col = (f: (r: ScenarioResult) => number | null): number[] =>
      rs.flatMap((x) => (f(x.r) === null ? [] : [f(x.r) as number]));
    return {
      arm,
      trials: rs.length,
      outageMedian: r1(median(col((r) => r.outage_ms))),
      outageP95: r1(
        pct(
          col((r) => r.outage_ms),
          0.95,
        ),
      ),
      detectMedian: r1(median(col((r) => r.detect_ms))),
      takeoverMedian: r1(median(col((r) => r.takeover_ms))),
      switchMedian: r1(median(col((r) => r.switch_gap_ms))),
      scrapes: runs.filter((x) => x.arm === arm).reduce((a, x) => a + x.scrapes, 0),
    };
  });
  results.failover = {
    keepaliveMs: 100,
    deadtimeMs: 500,
    detector: 'adaptive',
    summary,
    runs: runs.map((x) => ({
      arm: x.arm,
      outage_ms: x.r.outage_ms,
      detect_ms: x.r.detect_ms,
      takeover_ms: x.r.takeover_ms,
      switch_gap_ms: x.r.switch_gap_ms,
      error: x.r.error,
      scrapes: x.scrapes,
    })),
  };
  console.table(summary);
}

async function main(): Promise<void> {
  const parts = arg('part', 'idle,failover').split(',');
  const results: Record<string, unknown> = { date: new Date().toISOString() };
  const prev = JSON.parse(await readFile(OUT, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  if (parts.includes('idle') || parts.includes('scrape'))
    await idle(Number(arg('warmup', '180')), Number(arg('seconds', '180')), results);
  if (parts.includes('failover')) await failover(Number(arg('trials', '8')), results);
  await mkdir(fileURLToPath(new URL('../../bench/results/', import.meta.url)), { recursive: true });
  await writeFile(OUT, JSON.stringify({ ...prev, ...results }, null, 2) + '\n');
  console.log(`# wrote ${OUT}`);
}

await main();
