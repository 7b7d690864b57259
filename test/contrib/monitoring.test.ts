/**
 * contrib/prometheus/alerts.yml and contrib/grafana/vigil-dashboard.json: promtool checks the rules and runs their
 * unit tests (alerts.test.yml: split brain, unheld group, dead peer, link down, flapping, not eligible), and every
 * metric they name is one the daemon exports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildRegistry } from '../../src/http/metrics.js';
import { DaemonStats } from '../../src/obs/stats.js';

const CONTRIB = fileURLToPath(new URL('../../../contrib/', import.meta.url));

function promtool(args: string[]): ReturnType<typeof spawnSync> | undefined {
  const r = spawnSync('promtool', args, { cwd: `${CONTRIB}prometheus`, encoding: 'utf8', timeout: 60_000 });
  return r.error === undefined ? r : undefined;
}

test('alerts.yml: promtool accepts the rules and their unit tests pass', (t) => {
  const check = promtool(['check', 'rules', 'alerts.yml']);
  if (check === undefined) {
    t.skip('promtool not installed (Debian package prometheus; scripts/ensure-deps.sh installs it)');
    return;
  }
  assert.equal(check.status, 0, String(check.stdout) + String(check.stderr));
  const unit = promtool(['test', 'rules', 'alerts.test.yml']);
  assert.equal(unit?.status, 0, String(unit?.stdout) + String(unit?.stderr));
});

test('alerts and the Grafana dashboard only name metrics the daemon exports', () => {
  const reg = buildRegistry({
    snapshot: () => {
      throw new Error('names only');
    },
    stats: new DaemonStats(),
    ipfail: () => undefined,
    streams: () => 0,
    nodeVersion: process.version,
    wallNow: () => 0,
  });
  const exported = new Set(reg.getMetricsAsArray().map((m) => m.name));
  const used = (text: string): string[] =>
    [...text.matchAll(/\b((?:vigil|process)_[a-z_]+)/g)]
      .map((m) => (m[1] ?? '').replace(/_(bucket|sum|count)$/, ''))
      .filter((n) => n !== 'vigil_http' && n !== 'vigil_group_held_total');
  const alerts = readFileSync(`${CONTRIB}prometheus/alerts.yml`, 'utf8').replace(/^\s*#.*$/gm, '');
  const dashText = readFileSync(`${CONTRIB}grafana/vigil-dashboard.json`, 'utf8');
  const dash = JSON.parse(dashText) as { panels: { targets: { expr: string }[] }[] };
  assert.ok(dash.panels.length >= 8);
  const names = new Set([
    ...used(alerts),
    ...used(dash.panels.flatMap((p) => p.targets.map((x) => x.expr)).join('\n')),
  ]);
  const unknown = [...names].filter((n) => !exported.has(n));
  assert.deepEqual(unknown, []);
  for (const n of [
    'vigil_group_held',
    'vigil_peer_up',
    'vigil_link_up',
    'vigil_transitions_total',
    'vigil_group_eligible',
  ])
    assert.ok(names.has(n), n);
});
