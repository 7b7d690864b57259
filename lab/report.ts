import type { ScenarioResult } from './scenario.js';

function ms(v: number | null): string {
  return v === null ? '-' : `${Math.round(v)} ms`;
}

/** Human-readable form of one scenario result (the JSON form is the result object itself). */
export function formatResult(r: ScenarioResult): string {
  const lines = [
    `${r.impl} ${r.scenario}  keepalive ${r.keepalive_ms} ms, deadtime ${r.deadtime_ms} ms, ${r.nodes} nodes`,
  ];
  if (!r.supported) {
    lines.push(`  unsupported: ${r.notes.join('; ')}`);
    return lines.join('\n') + '\n';
  }
  lines.push(
    `  outage ${ms(r.outage_ms)}   detect ${ms(r.detect_ms)}   takeover ${ms(r.takeover_ms)}   dual-active ${ms(r.dual_active_ms)}`,
  );
  if (r.scenario === 'failback')
    lines.push(`  failback ${ms(r.failback_ms)} after power-on, outage then ${ms(r.failback_outage_ms)}`);
  for (const v of r.vips.length > 1 || r.family === 'v6' ? r.vips : []) {
    lines.push(
      `  ${v.vip} (probe ${v.probe_ms} ms): outage ${ms(v.outage_ms)}   switch ${ms(v.switch_gap_ms)}   dual-active ${ms(v.dual_active_ms)}   client's neighbour entry followed ${ms(v.neigh_follow_ms)} after the add${v.neigh_ok ? '' : ' (late)'}`,
    );
  }
  lines.push(
    `  holders after: ${r.holders_after.join(', ') || 'none'}   client MAC ok: ${r.client_mac_ok}   converged: ${r.converged}`,
    `  replies from: ${r.reply_macs.join(' -> ') || 'none'}`,
  );
  if (r.error !== null) lines.push(`  ERROR: ${r.error}`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  lines.push('  timeline (ms from the fault):');
  for (const e of r.events) {
    if (
      e.kind.startsWith('reply_mac') ||
      e.kind.startsWith('neigh') ||
      e.kind.startsWith('gap') ||
      e.kind === 'fault' ||
      e.kind === 'recover' ||
      e.kind.startsWith('vip_') ||
      e.kind.startsWith('log_')
    )
      lines.push(
        `    ${String(Math.round(e.rel_ms)).padStart(7)}  ${e.source.padEnd(7)} ${e.kind.padEnd(13)} ${e.detail.slice(0, 140)}`,
      );
  }
  return lines.join('\n') + '\n';
}

/** A plain-text table: header row, then rows, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n') + '\n';
}
