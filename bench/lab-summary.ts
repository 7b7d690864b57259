/**
 * Summarises lab scenario results (JSON lines from `vigil lab run --json`) into a Markdown table:
 * per implementation, timing and scenario, the median and the min–max spread of each measure.
 */
import { readFile } from 'node:fs/promises';
import type { ScenarioResult } from '../lab/scenario.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function cell(xs: (number | null)[]): string {
  const v = xs.filter((x): x is number => x !== null);
  if (v.length === 0) return '-';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const missing = xs.length - v.length;
  return `${Math.round(median(v))} (${Math.round(lo)}–${Math.round(hi)})${missing > 0 ? ` [${missing} n/a]` : ''}`;
}

async function main(): Promise<void> {
  const files = process.argv.slice(2);
  const results: ScenarioResult[] = [];
  for (const f of files) {
    for (const line of (await readFile(f, 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      results.push(JSON.parse(line) as ScenarioResult);
    }
  }
  const groups = new Map<string, ScenarioResult[]>();
  for (const r of results) {
    const k = `${r.impl}|${r.keepalive_ms}|${r.deadtime_ms}|${r.scenario}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const order = ['kill', 'freeze', 'poweroff', 'partition', 'stop', 'failback', 'standby'];
  const keys = [...groups.keys()].sort((a, b) => {
    const [ia, ka, da, sa] = a.split('|');
    const [ib, kb, db, sb] = b.split('|');
    return (
      ia!.localeCompare(ib!) ||
      Number(ka) - Number(kb) ||
      Number(da) - Number(db) ||
      order.indexOf(sa!) - order.indexOf(sb!)
    );
  });
  const out: string[] = [
    '| impl | keepalive/deadtime ms | scenario | trials | outage_ms | detect_ms | takeover_ms | dual_active_ms | failback_ms | converged | client_mac_ok | errors |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const k of keys) {
    const rs = groups.get(k)!;
    const [impl, ka, dt, sc] = k.split('|');
    if (rs.every((r) => !r.supported)) {
      out.push(`| ${impl} | ${ka}/${dt} | ${sc} | ${rs.length} | unsupported | | | | | | | |`);
      continue;
    }
    const count = (p: (r: ScenarioResult) => boolean): string => `${rs.filter(p).length}/${rs.length}`;
    out.push(
      `| ${impl} | ${ka}/${dt} | ${sc} | ${rs.length} | ${cell(rs.map((r) => r.outage_ms))} | ${cell(rs.map((r) => r.detect_ms))} | ${cell(
        rs.map((r) => r.takeover_ms),
      )} | ${cell(rs.map((r) => r.dual_active_ms))} | ${sc === 'failback' ? cell(rs.map((r) => r.failback_ms)) : ''} | ${count((r) => r.converged)} | ${count(
        (r) => r.client_mac_ok,
      )} | ${rs.filter((r) => r.error !== null).length} |`,
    );
  }
  process.stdout.write(out.join('\n') + '\n');
}

await main();
