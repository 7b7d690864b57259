import type { StatusSnapshot } from '../control/protocol.js';

const pad = (s: string, w: number): string => (s.length >= w ? s + ' ' : s + ' '.repeat(w - s.length));

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

function clock(at: number): string {
  const d = new Date(at);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The human view of `vigil status`: who is alive, over which links, and who holds which group since when. */
export function renderStatus(s: StatusSnapshot, now = Date.now()): string {
  const lines: string[] = [];
  lines.push(
    `vigil OK [pid ${s.pid}] is running on ${s.node} [${s.node}]... (version ${s.version}, generation ${s.generation}, up ${ago(now - s.startedAt)}, auto_failback ${s.autoFailback})`,
  );
  lines.push('', 'Nodes:');
  const nw = Math.max(6, ...s.nodes.map((n) => n.name.length + 2));
  for (const n of s.nodes) {
    const links = n.links.map((l) => `${l.name} ${l.status}`).join(', ');
    const heard = n.lastHeard === undefined || n.name === s.node ? '' : `  last heard ${ago(now - n.lastHeard)} ago`;
    lines.push(`  ${pad(n.name, nw)}${pad(n.type, 8)}${pad(n.status, 8)}${links}${heard}`);
  }
  lines.push('', `Resource groups (this node holds: ${s.rscstatus}):`);
  if (s.groups.length === 0) lines.push('  (none configured)');
  const gw = Math.max(6, ...s.groups.map((g) => g.key.length + 2));
  for (const g of s.groups) {
    const holder = g.holder === undefined ? 'held by nobody' : `${g.state} on ${g.holder}`;
    const fails =
      g.failCount > 0
        ? `  failures ${g.failCount}${g.lastFailure === undefined ? '' : ` (last: ${g.lastFailure})`}`
        : '';
    lines.push(
      `  ${pad(g.key, gw)}${holder} since ${clock(g.since)} (${ago(now - g.since)})  preferred ${g.preferred}${fails}`,
    );
    const ind = ' '.repeat(gw);
    lines.push(`  ${ind}${g.resources.join(' ')}`);
    if (!g.eligible) {
      lines.push(
        `  ${ind}NOT ELIGIBLE here: ${g.ineligibleReason ?? 'health check failed'} (vigil cleanup ${g.key} to clear)`,
      );
    }
    for (const c of g.checks) {
      lines.push(
        `  ${ind}check ${pad(c.id, 12)}${pad(c.state, 11)}fails ${pad(String(c.failCount), 4)}restarts ${c.restarts}/${c.maxRestarts}  ${c.target}`,
      );
    }
  }
  if (s.quorum !== undefined) {
    const q = s.quorum;
    lines.push('', `Quorum (etcd): ${q.reachable ? 'reachable' : 'UNREACHABLE: nothing will be taken over'}`);
    for (const k of q.keys) {
      const owner = k.owner === undefined ? 'not known' : k.owner === null ? 'free' : `owned by ${k.owner}`;
      lines.push(`  ${k.group}: ${owner}${k.token === undefined ? '' : ` (fencing token ${k.token})`}`);
    }
  }
  if (s.fencing.length > 0) {
    lines.push('');
    for (const f of s.fencing) {
      lines.push(
        f.awaitingOperator
          ? `STONITH: waiting for the operator to confirm the reset of ${f.node} (vigil fence-ack ${f.node})`
          : `STONITH: resetting ${f.node} with [${f.device}]; its groups wait for the reset`,
      );
    }
  }
  if (s.transitions.length > 0) {
    lines.push('', 'Last transitions:');
    for (const t of s.transitions.slice(-10)) lines.push(`  ${clock(t.at)}  ${t.text}`);
  }
  const r = s.runtime;
  if (r !== undefined) {
    const stall = r.lastStall === undefined ? '' : `, last ${ago(now - r.lastStall.at)} ago (${r.lastStall.lateMs} ms)`;
    lines.push(
      '',
      `Runtime: ${r.realtime ? 'realtime (SCHED_RR)' : 'normal priority'}, RSS ${(r.rssBytes / 1048576).toFixed(1)} MiB, CPU ${(r.cpuMs / 1000).toFixed(1)} s` +
        `, timer lateness p99 ${r.loopLateness.p99Ms} ms / max ${r.loopLateness.maxMs} ms` +
        `, GC max pause ${r.gc.maxPauseMs} ms, local stalls ${r.stalls}${stall}`,
    );
  }
  return lines.join('\n') + '\n';
}
