/**
 * Reading a CTS run: CTS's own lines (what CTSlab.py writes on stderr, and through syslog into the exerciser's log)
 * turned into one record per iteration, and the per-test table. Pure: no I/O.
 */

export interface Iteration {
  /** 1-based, as CTS numbers them */
  readonly n: number;
  readonly test: string;
  readonly node: string;
  /** CTS's verdict on the test itself (`Test X (node) [FAILED]` or not) */
  testFailed: boolean;
  /** every `Test <name> failed [reason:...]` inside the iteration (sub-tests included), in order */
  readonly reasons: string[];
  /** `BadNews:` lines the audit after this test found */
  readonly badNews: string[];
  /** audits that failed after this test */
  readonly auditFailures: string[];
  /** other CTS lines worth reading (Warn:, ERROR:, patterns not found) */
  readonly notes: string[];
  /** ms since the epoch, from the line's own timestamp when it has one */
  startedAt?: number;
  /** whole seconds the iteration took, from CTS's timestamps */
  seconds?: number;
  /** the exerciser's log around the first sign of failure (filled in from the log, not from CTS's lines) */
  excerpt?: string[];
}

export function iterationPassed(it: Iteration): boolean {
  return !it.testFailed && it.badNews.length === 0 && it.auditFailures.length === 0;
}

export interface CtsSummary {
  /** `Overall Results:{...}` as CTS printed it */
  readonly overall: string | undefined;
  /** `Test <name>: {...}` per test, as CTS printed them */
  readonly perTest: Record<string, string>;
  readonly completed: boolean;
  /** exceptions and exits CTS reported */
  readonly fatal: string[];
}

export interface ParsedRun {
  readonly iterations: Iteration[];
  readonly summary: CtsSummary;
  /** lines before the first test: setup (start of every node, audits) */
  readonly setup: { readonly lines: string[]; readonly badNews: string[]; readonly auditFailures: string[] };
}

/** CTS's stderr lines start with `Mon DD HH:MM:SS<TAB>`; syslog adds its own prefix up to `CTS: `. */
export function ctsMessage(line: string): string | undefined {
  const tab = /^[A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2}\t(.*)$/.exec(line);
  if (tab) return tab[1];
  const sys = / CTS: (.*)$/.exec(line);
  if (sys) return sys[1]?.replace(/#011/g, '\t');
  return undefined;
}

const RUNNING = /^Running test (\S+) \((\S+)\) \s*\[(\d+)\]/;
const FAILED_REASON = /^Test (\S+) failed \[reason:(.*)\]$/;
const FAILED = /^Test (\S+) \((\S+)\) \s*\[FAILED\]/;
const BADNEWS = /^BadNews: (.*)$/;
const AUDIT = /^Audit (\S+) FAILED\.?/;
const NOTE =
  /^(Warn|WARN|ERROR|CRIT|Patterns not found|Fatal Audit error|Node status for|Could not|No failure count|Exception by)/;

/** Parses CTS's messages (already stripped of their timestamp prefix by ctsMessage). */
export function parseCtsMessages(messages: readonly string[]): ParsedRun {
  const iterations: Iteration[] = [];
  const setup = { lines: [] as string[], badNews: [] as string[], auditFailures: [] as string[] };
  let overall: string | undefined;
  const perTest: Record<string, string> = {};
  let completed = false;
  const fatal: string[] = [];
  let summarizing = false;
  for (const m of messages) {
    const cur = iterations[iterations.length - 1];
    let r: RegExpExecArray | null;
    if ((r = RUNNING.exec(m))) {
      iterations.push({
        n: Number(r[3]),
        test: r[1] ?? '',
        node: r[2] ?? '',
        testFailed: false,
        reasons: [],
        badNews: [],
        auditFailures: [],
        notes: [],
      });
      summarizing = false;
      continue;
    }
    if (m.startsWith('Overall Results:')) {
      overall = m.slice('Overall Results:'.length);
      summarizing = true;
      continue;
    }
    if (m.startsWith('<<<<<<<<<<<<<<<< TESTS COMPLETED')) {
      completed = true;
      continue;
    }
    if (summarizing && (r = /^Test (\S+):\s+(\{.*\})$/.exec(m))) {
      perTest[r[1] ?? ''] = r[2] ?? '';
      continue;
    }
    if (/^(Exception by|Traceback|Big problems|One or more nodes will not come up)/.test(m)) fatal.push(m);
    if (cur === undefined) {
      setup.lines.push(m);
      if ((r = BADNEWS.exec(m))) setup.badNews.push(r[1] ?? '');
      if ((r = AUDIT.exec(m))) setup.auditFailures.push(r[1] ?? '');
      continue;
    }
    if ((r = FAILED_REASON.exec(m))) cur.reasons.push(`${r[1] ?? ''}: ${r[2] ?? ''}`);
    else if (FAILED.exec(m)) cur.testFailed = true;
    else if ((r = BADNEWS.exec(m))) cur.badNews.push(r[1] ?? '');
    else if ((r = AUDIT.exec(m))) cur.auditFailures.push(r[1] ?? '');
    else if (NOTE.test(m)) cur.notes.push(m);
  }
  // The audit after the last test runs after the scenario's teardown: CTS's final audit belongs to no test, but
  // what it finds is reported with the last iteration (that is where CTS's counters put it too).
  return { iterations, summary: { overall, perTest, completed, fatal }, setup };
}

export interface TestRow {
  readonly test: string;
  runs: number;
  pass: number;
  fail: number;
  /** of the failures: the test itself failed / BadNews / audit */
  testFailed: number;
  badNews: number;
  auditFailed: number;
  /** the first failing iteration's number, reasons and excerpt */
  first?: { n: number; node: string; why: string; excerpt: string[] };
}

export function why(it: Iteration): string {
  const parts: string[] = [];
  if (it.reasons.length > 0) parts.push(it.reasons.join('; '));
  else if (it.testFailed) parts.push('failed (no reason given)');
  if (it.badNews.length > 0)
    parts.push(`BadNews: ${it.badNews[0] ?? ''}${it.badNews.length > 1 ? ` (+${it.badNews.length - 1})` : ''}`);
  if (it.auditFailures.length > 0) parts.push(`audit ${it.auditFailures.join(', ')} failed`);
  return parts.join(' | ');
}

/** The table: one row per test CTS ran, in name order. */
export function tabulate(iterations: readonly Iteration[]): TestRow[] {
  const rows = new Map<string, TestRow>();
  for (const it of iterations) {
    let row = rows.get(it.test);
    if (row === undefined) {
      row = { test: it.test, runs: 0, pass: 0, fail: 0, testFailed: 0, badNews: 0, auditFailed: 0 };
      rows.set(it.test, row);
    }
    row.runs++;
    if (iterationPassed(it)) {
      row.pass++;
      continue;
    }
    row.fail++;
    if (it.testFailed) row.testFailed++;
    if (it.badNews.length > 0) row.badNews++;
    if (it.auditFailures.length > 0) row.auditFailed++;
    row.first ??= { n: it.n, node: it.node, why: why(it), excerpt: it.excerpt ?? [] };
  }
  return [...rows.values()].sort((a, b) => a.test.localeCompare(b.test));
}

/**
 * The exerciser's log around the first sign of failure of one iteration: up to `before` lines before it and the line
 * itself. The sign is the first line BadNews quoted when the test itself passed (the offending line, not CTS's report
 * of it, which comes after the test), else CTS's first failure line in the iteration.
 */
export function excerptFor(logLines: readonly string[], it: Iteration, before = 14): string[] {
  const start = logLines.findIndex((l) => {
    const m = ctsMessage(l);
    return m !== undefined && Number(RUNNING.exec(m)?.[3]) === it.n;
  });
  if (start < 0) return [];
  let end = logLines.length;
  for (let i = start + 1; i < logLines.length; i++) {
    const m = ctsMessage(logLines[i] ?? '');
    if (m !== undefined && RUNNING.test(m)) {
      end = i;
      break;
    }
  }
  let at = -1;
  const firstBad = it.badNews[0];
  if (!it.testFailed && firstBad !== undefined) at = logLines.indexOf(firstBad);
  if (at < 0) {
    for (let i = start; i < end; i++) {
      const m = ctsMessage(logLines[i] ?? '');
      if (
        m !== undefined &&
        (FAILED_REASON.test(m) || FAILED.test(m) || BADNEWS.test(m) || AUDIT.test(m) || /^(ERROR|Warn): /.test(m))
      ) {
        at = i;
        break;
      }
    }
  }
  if (at < 0) at = end - 1;
  return logLines.slice(Math.max(0, at - before), at + 1).map((l) => l.slice(0, 400));
}

/** A fixed-width table for the terminal and the README. */
export function formatTable(rows: readonly TestRow[], title: string): string {
  const head = ['test', 'runs', 'pass', 'fail', 'test failed', 'BadNews', 'audit'];
  const body = rows.map((r) => [
    r.test,
    String(r.runs),
    String(r.pass),
    String(r.fail),
    String(r.testFailed),
    String(r.badNews),
    String(r.auditFailed),
  ]);
  const total = rows.reduce(
    (a, r) => ({
      runs: a.runs + r.runs,
      pass: a.pass + r.pass,
      fail: a.fail + r.fail,
      tf: a.tf + r.testFailed,
      bn: a.bn + r.badNews,
      au: a.au + r.auditFailed,
    }),
    { runs: 0, pass: 0, fail: 0, tf: 0, bn: 0, au: 0 },
  );
  body.push([
    'total',
    String(total.runs),
    String(total.pass),
    String(total.fail),
    String(total.tf),
    String(total.bn),
    String(total.au),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const fmt = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const lines = [title, '', fmt(head), sep, ...body.map(fmt)];
  const failing = rows.filter((r) => r.first !== undefined);
  if (failing.length > 0) {
    lines.push('', 'First failure of each failing test:');
    for (const r of failing) {
      const f = r.first;
      if (f === undefined) continue;
      lines.push('', `- ${r.test} (iteration ${f.n}, node ${f.node}): ${f.why}`);
      for (const l of f.excerpt) lines.push(`    ${l}`);
    }
  }
  return lines.join('\n');
}
