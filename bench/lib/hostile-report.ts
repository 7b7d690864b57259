/**
 * The "Hostile network" section of bench/RESULTS.md: the lab scenario's runs (`npm run bench -- hostile`,
 * bench/results/hostile.jsonl) and the per-packet costs of `bench/hostile-cost.ts --out` (hostile-cost.jsonl).
 * Pure: records in, Markdown lines out.
 */
import type { HostileResult } from '../../lab/hostile.js';
import { CLASS_TEXT, DEFAULT_MIX, HOSTILE_CLASSES } from '../../lab/hostile-packets.js';
import type { CostRecord } from '../hostile-cost.js';
import type { BenchMeta } from './matrix.js';

export type HostileRecord = HostileResult & { bench: BenchMeta };

function parseLines<T>(text: string, ok: (v: Partial<T>) => boolean): { records: T[]; skipped: number } {
  const records: T[] = [];
  let skipped = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const v = JSON.parse(raw) as Partial<T>;
      if (ok(v)) records.push(v as T);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}

export function parseHostileResults(text: string): { records: HostileRecord[]; skipped: number } {
  return parseLines<HostileRecord>(
    text,
    (v) => v.scenario === 'hostile' && typeof v.impl === 'string' && typeof v.bench?.key === 'string',
  );
}

export function parseCostResults(text: string): { records: CostRecord[]; skipped: number } {
  return parseLines<CostRecord>(
    text,
    (v) => typeof v.cls === 'string' && typeof v.label === 'string' && typeof v.us_per_packet === 'number',
  );
}

function mix(classes: readonly string[] | null | undefined): string {
  if (classes === null || classes === undefined) return 'all';
  const left = HOSTILE_CLASSES.filter((c) => !classes.includes(c));
  return left.length <= classes.length ? `all but ${left.join(', ')}` : classes.join(', ');
}

function verdict(v: boolean | null | undefined): string {
  return v === true ? 'pass' : v === false ? '**FAIL**' : '?';
}

function mib(kb: number): string {
  return (kb / 1024).toFixed(0);
}

function bytes(n: number | null): string {
  if (n === null) return '';
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

function outcome(o: Record<string, number>, n: number): string {
  return Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => (v === n ? k : `${k} ${Math.round((v / n) * 100)}%`))
    .join(', ');
}

function timing(r: HostileResult): string {
  return `${r.keepalive_ms}/${r.deadtime_ms}${r.detector !== null ? ` ${r.detector}` : ''}`;
}

export function hostileSection(
  runs: readonly HostileRecord[],
  costs: readonly CostRecord[],
  files: { runs: string; costs: string },
): string[] {
  const L: string[] = [
    '## Hostile network',
    '',
    "A healthy two-node tutorial cluster (linux1 holds the VIP, the client prober running) flooded on its heartbeat port from the client host: `vigil lab run hostile` (`lab/hostile.ts`), run by `npm run bench -- hostile`. The authkeys carry the active `1 sha1` key and a `2 crc` line. Before the flood the client records the segment's authentic packets, linux2's daemon is restarted (its generation rises) and the client records again. Then the C sender (`bench/flood-sender.c`, file mode, SCHED_FIFO 5: above both real-time daemons, below the prober) cycles through the packet file to the segment's broadcast address, so every packet reaches both nodes; the rate is the one the sender measured. The cluster is watched during the flood and for deadtime + 10 s after it. Findings and their explanation: `bench/FLOOD.md`.",
    '',
    'The mix (per 100 packets):',
    '',
    ...HOSTILE_CLASSES.map((c) => `- \`${c}\` (${DEFAULT_MIX[c]}): ${CLASS_TEXT[c]}`),
    '',
    'Criteria: every daemon process still the same (none died, none restarted); the VIP stayed on linux1 (linux2 never added it, linux1 never removed it); the longest client outage at most 1 s; no node logged a peer "is dead"; no node other than linux1, linux2 and the ping node in `cl_status listnodes` (the real `/usr/bin/cl_status` for Heartbeat, Vigil\'s own for Vigil).',
    '',
  ];
  if (runs.length === 0) L.push(`No run yet (\`npm run bench -- hostile\`, results in \`${files.runs}\`).`, '');
  else {
    L.push(
      `Runs (\`${files.runs}\`):`,
      '',
      '| started | impl | keepalive/deadtime ms | mix | packets/s sent (target) | Mbit/s | load avg | daemons up | VIP stayed | longest outage ms | no peer dead | no foreign node | verdict |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const r of runs) {
      const c = r.criteria;
      const f = r.flood;
      L.push(
        `| ${r.started_at.slice(0, 16).replace('T', ' ')} | ${r.impl} | ${timing(r)} | ${mix(r.classes)} | ${f === null ? '–' : `${f.pps_achieved} (${f.pps_target})`} | ${f?.mbit_per_s ?? '–'} | ${r.loadavg?.map((x) => x.toFixed(1)).join(' → ') ?? '–'} | ${verdict(c.daemons_up)} | ${verdict(c.vip_stayed)} | ${r.outage_ms ?? '–'} | ${verdict(c.no_dead_peer)} | ${verdict(c.no_foreign_node)} | ${r.error !== null ? `error: ${r.error.slice(0, 80)}` : r.pass ? 'PASS' : '**FAIL**'} |`,
      );
    }
    L.push(
      '',
      'Per node: processes (before → after; "gone at" is when one was first seen missing, sampled each second), RSS of the daemon and its children, CPU over the flood and the watch after it, log lines from the flood on ("is dead" for a cluster peer, "Heartbeat restart on node", and all of them), and what the kernel of the node did with the UDP datagrams (delivered to a socket / dropped because the socket\'s buffer was full: real heartbeats are lost among them).',
      '',
      '| started | impl | mix | node | processes | RSS MiB before → after (max) | CPU s | "is dead" | "restart on node" | log lines | UDP delivered / dropped full |',
      '|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const r of runs)
      for (const n of r.nodes)
        L.push(
          `| ${r.started_at.slice(0, 16).replace('T', ' ')} | ${r.impl} | ${mix(r.classes)} | ${n.host} | ${n.restarted ? '**changed**' : 'same'}${n.gone_after_ms !== null ? ` (gone at ${(n.gone_after_ms / 1000).toFixed(0)} s)` : ''} | ${mib(n.rss_kb_before)} → ${mib(n.rss_kb_after)} (${mib(n.rss_kb_max)}) | ${(n.cpu_ms / 1000).toFixed(1)} | ${n.log.dead} | ${n.log.restart} | ${n.log.lines} | ${n.kernel.udp_in} / ${n.kernel.udp_rcvbuf_errors} |`,
        );
    L.push('');
  }
  if (costs.length > 0) {
    const labels = [...new Set(costs.map((c) => c.label))];
    const first = costs.find((c) => c.label === labels[0]);
    L.push(
      `What one packet costs \`WireProtocol.receive\` (\`node dist/bench/hostile-cost.js --out ${files.costs} --label <label>\`, no lab): the built receiver of linux2 with the lab's authkeys, each row in a child process of its own; "peak RSS growth" is how much the process's maximum RSS rose while it received the row's packets (a JIT-warm receiver: the noise floor is about 1 MiB); "asks to inflate" is what a receiver parsing the whole packet would inflate. ` +
        labels
          .map((l) => {
            const x = costs.find((c) => c.label === l);
            return `\`${l}\`: ${x?.date.slice(0, 10) ?? ''}, Node ${x?.node ?? '?'}, commit ${x?.commit ?? '?'}, ${x?.seconds ?? '?'} s per row`;
          })
          .join('; ') +
        '.',
      '',
      `| class | packet | bytes | asks to inflate | ${labels.map((l) => `µs/packet (${l}) | outcome (${l}) | peak RSS growth (${l})`).join(' | ')} |`,
      `|---|---|---|---|${labels.map(() => '---|---|---|').join('')}`,
    );
    const rowsOf = costs.filter((c) => c.label === first?.label);
    for (const row of rowsOf) {
      const cells = labels.map((l) => {
        const x = costs.find((c) => c.label === l && c.cls === row.cls && c.packet === row.packet);
        return x === undefined
          ? '– | – | –'
          : `${x.us_per_packet < 10 ? x.us_per_packet.toFixed(2) : Math.round(x.us_per_packet)} | ${outcome(x.outcome, x.packets)} | ${bytes(x.peak_rss_growth_kb * 1024)}`;
      });
      L.push(`| ${row.cls} | ${row.packet} | ${row.bytes} | ${bytes(row.asks_inflate_bytes)} | ${cells.join(' | ')} |`);
    }
    L.push('');
  }
  return L;
}
