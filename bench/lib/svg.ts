/**
 * The chart of the report: median client outage per scenario and implementation, grouped bars on a log scale, one
 * panel per timing profile. Hand-written SVG (no dependency); every bar carries its numbers as data-* attributes
 * and a <title> tooltip.
 */
import type { BenchRecord } from './matrix.js';
import { IMPLS, PROFILES, SCENARIOS, type Impl, type ProfileName, type ScenarioName } from './matrix.js';
import { median, present } from './stats.js';

export const IMPL_COLORS: Record<Impl, string> = {
  vigil: '#1b7f3b',
  heartbeat: '#c0392b',
  keepalived: '#2e5fa8',
};

export interface Bar {
  profile: ProfileName;
  scenario: ScenarioName;
  impl: Impl;
  /** undefined: no usable trial (or unsupported). */
  medianMs: number | undefined;
  trials: number;
  unsupported: boolean;
  /** keepalive/deadtime of the cell, for the label. */
  timing: string;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** One bar per (profile, scenario, impl) that has at least one record. */
export function chartBars(records: readonly BenchRecord[]): Bar[] {
  const bars: Bar[] = [];
  for (const profile of PROFILES)
    for (const scenario of SCENARIOS)
      for (const impl of IMPLS) {
        const rs = records.filter(
          (r) =>
            r.bench.profile === profile && r.scenario === scenario && r.impl === impl && r.bench.status !== 'no-output',
        );
        if (rs.length === 0) continue;
        const timings = [...new Set(rs.map((r) => `${r.keepalive_ms}/${r.deadtime_ms}`))];
        bars.push({
          profile,
          scenario,
          impl,
          medianMs: median(present(rs.filter((r) => r.supported).map((r) => r.outage_ms))),
          trials: rs.length,
          unsupported: rs.every((r) => !r.supported),
          timing: timings.join(', '),
        });
      }
  return bars;
}

const W = 960;
const PANEL_H = 280;
const TOP = 56;
const LEFT = 70;
const RIGHT = 20;
const PLOT_H = 190;

function fmt(ms: number): string {
  if (ms >= 1000) {
    const s = ms / 1000;
    return `${Number.isInteger(s) || s >= 10 ? Math.round(s) : s.toFixed(1)} s`;
  }
  return `${Math.round(ms)} ms`;
}

export function outageChart(records: readonly BenchRecord[]): string {
  const bars = chartBars(records);
  const profiles = PROFILES.filter((p) => bars.some((b) => b.profile === p));
  const values = bars.map((b) => b.medianMs).filter((v): v is number => v !== undefined && v > 0);
  // Log axis over whole decades around the data; a 0 ms median sits on the floor.
  const lo = Math.min(0, Math.floor(Math.log10(values.length > 0 ? Math.min(...values) : 1)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(values.length > 0 ? Math.max(...values) : 10)));
  const floor = 10 ** lo;
  const height = TOP + Math.max(1, profiles.length) * PANEL_H + 10;
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">Median client outage per scenario (log scale, lower is better)</text>`,
  ];
  // Legend.
  IMPLS.forEach((impl, i) => {
    const x = LEFT + i * 140;
    out.push(
      `<rect x="${x}" y="34" width="12" height="12" fill="${IMPL_COLORS[impl]}"/>`,
      `<text x="${x + 18}" y="44">${escapeXml(impl)}</text>`,
    );
  });
  if (profiles.length === 0) {
    out.push(`<text x="${W / 2}" y="${TOP + 40}" text-anchor="middle">no results yet</text>`, '</svg>', '');
    return out.join('\n');
  }
  const plotW = W - LEFT - RIGHT;
  const groupW = plotW / SCENARIOS.length;
  const barW = Math.min(34, (groupW - 16) / IMPLS.length);
  const yOf = (ms: number, top: number): number => {
    const v = Math.max(ms, floor);
    return top + PLOT_H - ((Math.log10(v) - lo) / (hi - lo)) * PLOT_H;
  };
  profiles.forEach((profile, pi) => {
    const top = TOP + pi * PANEL_H + 28;
    const pb = bars.filter((b) => b.profile === profile);
    const timings = IMPLS.map((impl) => {
      const b = pb.find((x) => x.impl === impl);
      return b === undefined ? undefined : `${impl} ${b.timing}`;
    }).filter((s): s is string => s !== undefined);
    out.push(
      `<g class="panel" data-profile="${escapeXml(profile)}">`,
      `<text x="${LEFT}" y="${top - 10}" font-weight="bold">${escapeXml(profile)}</text>`,
      `<text x="${LEFT + 90}" y="${top - 10}" fill="#555">keepalive/deadtime ms: ${escapeXml(timings.join('; '))}</text>`,
    );
    for (let d = lo; d <= hi; d++) {
      const y = yOf(10 ** d, top);
      out.push(
        `<line x1="${LEFT}" y1="${y.toFixed(1)}" x2="${W - RIGHT}" y2="${y.toFixed(1)}" stroke="#ddd"/>`,
        `<text x="${LEFT - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(fmt(10 ** d))}</text>`,
      );
    }
    out.push(
      `<line x1="${LEFT}" y1="${top + PLOT_H}" x2="${W - RIGHT}" y2="${top + PLOT_H}" stroke="#333"/>`,
      `<line x1="${LEFT}" y1="${top}" x2="${LEFT}" y2="${top + PLOT_H}" stroke="#333"/>`,
    );
    SCENARIOS.forEach((scenario, si) => {
      const gx = LEFT + si * groupW + (groupW - barW * IMPLS.length) / 2;
      IMPLS.forEach((impl, ii) => {
        const b = pb.find((x) => x.scenario === scenario && x.impl === impl);
        const x = gx + ii * barW;
        if (b === undefined) return;
        if (b.medianMs === undefined) {
          out.push(
            `<text class="na" x="${(x + barW / 2).toFixed(1)}" y="${top + PLOT_H - 4}" text-anchor="middle" font-size="9" fill="#888" data-impl="${impl}" data-scenario="${scenario}">${b.unsupported ? 'n/s' : 'n/a'}</text>`,
          );
          return;
        }
        const y = yOf(b.medianMs, top);
        const h = Math.max(1, top + PLOT_H - y);
        out.push(
          `<rect class="bar" x="${(x + 1).toFixed(1)}" y="${(top + PLOT_H - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${IMPL_COLORS[impl]}" data-profile="${profile}" data-scenario="${scenario}" data-impl="${impl}" data-median-ms="${b.medianMs}"><title>${escapeXml(`${impl} ${profile} ${scenario}: median outage ${fmt(b.medianMs)} over ${b.trials} trials (${b.timing} ms)`)}</title></rect>`,
          `<text x="${(x + barW / 2).toFixed(1)}" y="${(top + PLOT_H - h - 3).toFixed(1)}" text-anchor="middle" font-size="8" fill="#333">${escapeXml(fmt(b.medianMs))}</text>`,
        );
      });
      out.push(
        `<text x="${(LEFT + si * groupW + groupW / 2).toFixed(1)}" y="${top + PLOT_H + 16}" text-anchor="middle">${escapeXml(scenario)}</text>`,
      );
    });
    out.push('</g>');
  });
  out.push('</svg>', '');
  return out.join('\n');
}
