/**
 * `vigil history` and `vigil explain`: reads over the control socket (root, or apiauth's readers). With no daemon
 * running, `vigil history` reads the journal files itself (the state directory, as root).
 */
import { request, ControlUnavailable, controlSocketPath } from '../control/client.js';
import type { ExplainResult, HistoryEntry } from '../control/protocol.js';

const EXIT_LSB_STATUS_UNKNOWN = 4;
const DEFAULT_STATE_DIR = '/var/lib/heartbeat';

/** `--since`: an ISO 8601 time, ms since the epoch, or a duration back from now (`90s`, `15m`, `2h`, `7d`). */
export function parseSince(text: string, now = Date.now()): number | undefined {
  const rel = /^(\d+)(s|m|h|d)$/.exec(text);
  if (rel !== null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(rel[1]) * unit;
  }
  if (/^\d{10,}$/.test(text)) return Number(text);
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Local time with milliseconds: `2026-12-07 18:41:15.123`. */
export function localTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function historyLine(e: HistoryEntry): string {
  const peer = e.peer === undefined ? '' : ` ${e.to === 'acquiring' || e.to === 'held' ? 'from' : 'to'} ${e.peer}`;
  const took = e.durationMs === undefined ? '' : ` in ${e.durationMs} ms`;
  return `${localTime(e.at)}  ${e.node}  ${e.group}  ${e.from} → ${e.to}  ${e.reason}${peer}${took}  (${e.cause})`;
}

export async function historyCommand(opts: {
  since?: string;
  group?: string;
  limit?: string;
  json?: boolean;
  stateDir?: string;
}): Promise<number> {
  let since: number | undefined;
  if (opts.since !== undefined) {
    since = parseSince(opts.since);
    if (since === undefined) {
      process.stderr.write(
        `vigil: --since ${opts.since}: expected an ISO 8601 time, ms since the epoch, or 90s/15m/2h/7d\n`,
      );
      return 2;
    }
  }
  const limit = opts.limit === undefined ? 1000 : Number(opts.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) {
    process.stderr.write('vigil: --limit: expected 1-10000\n');
    return 2;
  }
  const q = {
    limit,
    ...(since === undefined ? {} : { since }),
    ...(opts.group === undefined ? {} : { group: opts.group }),
  };
  let entries: HistoryEntry[];
  try {
    const r = await request({ cmd: 'history', ...q }, controlSocketPath());
    if (!r.ok) {
      process.stderr.write(`vigil: ${r.message}\n`);
      return r.code === 'VIGIL_ERR_CONTROL_DENIED' ? EXIT_LSB_STATUS_UNKNOWN : 1;
    }
    entries = r.result as HistoryEntry[];
  } catch (e) {
    if (!(e instanceof ControlUnavailable)) throw e;
    if (e.code === 'VIGIL_ERR_CONTROL_DENIED') {
      process.stderr.write(`vigil: ${e.message}\n`);
      return EXIT_LSB_STATUS_UNKNOWN;
    }
    // No daemon: the journal is on disk.
    const { readHistory } = await import('../obs/history.js');
    try {
      entries = await readHistory(opts.stateDir ?? DEFAULT_STATE_DIR, q);
    } catch (err) {
      process.stderr.write(
        `vigil: the daemon is not running and the history cannot be read: ${(err as Error).message}\n`,
      );
      return 1;
    }
  }
  if (opts.json === true) {
    process.stdout.write(entries.map((x) => JSON.stringify(x) + '\n').join(''));
    return 0;
  }
  if (entries.length === 0) {
    process.stdout.write('No transitions recorded.\n');
    return 0;
  }
  process.stdout.write(entries.map((x) => historyLine(x) + '\n').join(''));
  return 0;
}

export function renderExplain(r: ExplainResult): string {
  const out: string[] = [];
  for (const g of r.groups) {
    out.push(`${g.group}: ${g.verdict}`);
    const w = Math.max(...g.factors.map((f) => f.name.length));
    for (const f of g.factors) out.push(`  ${f.name.padEnd(w)}  ${f.value}`);
    out.push('');
  }
  if (r.groups.length === 0) out.push('No resource groups in haresources.', '');
  return out.join('\n');
}

export async function explainCommand(group: string | undefined, opts: { json?: boolean }): Promise<number> {
  try {
    const r = await request(group === undefined ? { cmd: 'explain' } : { cmd: 'explain', group }, controlSocketPath());
    if (!r.ok) {
      process.stderr.write(`vigil: ${r.message}\n`);
      return r.code === 'VIGIL_ERR_CONTROL_DENIED' ? EXIT_LSB_STATUS_UNKNOWN : 1;
    }
    const res = r.result as ExplainResult;
    process.stdout.write(opts.json === true ? JSON.stringify(res, null, 2) + '\n' : renderExplain(res));
    return 0;
  } catch (e) {
    if (!(e instanceof ControlUnavailable)) throw e;
    process.stderr.write(`vigil: ${e.message}\n`);
    return e.code === 'VIGIL_ERR_CONTROL_DENIED' ? EXIT_LSB_STATUS_UNKNOWN : 3;
  }
}
