// Smoke test of `npm run bench` end to end on the real lab (about a minute): one keepalived trial, resume, a short
// soak, the report. keepalived because it starts in milliseconds and does not depend on the daemon under work.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseResults } from '../../bench/lib/matrix.js';
import { parseSoakResults } from '../../bench/lib/report.js';
import { cleanup } from '../../lab/topology.js';
import { leftovers, needRoot, uniquePrefix } from './helpers.js';

const BENCH = fileURLToPath(new URL('../../bench/bench.js', import.meta.url));

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BENCH, ...args], { timeout: 110_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

test('bench: one trial, resume skips it, a short soak, the report', { timeout: 170_000 }, async (t) => {
  if (!needRoot(t)) return;
  const prefix = uniquePrefix('bsm');
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-'));
  const files = [
    '--prefix',
    prefix,
    '--out',
    join(dir, 'b.jsonl'),
    '--soak-out',
    join(dir, 's.jsonl'),
    '--md',
    join(dir, 'R.md'),
    '--svg',
    join(dir, 'o.svg'),
  ];
  try {
    const sel = ['--impl', 'keepalived', '--profile', 'fast', '--scenario', 'stop,standby', '--trials', '1'];
    const first = await bench([...sel, ...files]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /\[1\/2\] keepalived fast stop #1: outage \d+ ms, detect \d+ ms/);
    assert.match(first.stdout, /\[2\/2\] keepalived fast standby #1: unsupported/);
    const recs = parseResults(await readFile(join(dir, 'b.jsonl'), 'utf8')).records;
    assert.equal(recs.length, 2);
    const stop = recs.find((r) => r.scenario === 'stop')!;
    assert.equal(stop.bench.key, 'keepalived/fast/100/500/stop#1');
    assert.match(
      stop.bench.command[0]!,
      /lab run stop --impl keepalived --keepalive 100 --deadtime 500 --prefix \S+ --json$/,
    );
    assert.equal(stop.converged, true, JSON.stringify({ ...stop, events: [] }));

    const again = await bench([...sel, ...files]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /2 already in .*, 0 to run/);
    assert.equal(parseResults(await readFile(join(dir, 'b.jsonl'), 'utf8')).records.length, 2);

    const soak = await bench([
      'soak',
      '--impl',
      'keepalived',
      '--seconds',
      '8',
      '--burners',
      '1',
      '--freeze-every',
      '2000',
      ...files,
    ]);
    assert.equal(soak.code, 0, soak.stdout + soak.stderr);
    const s = parseSoakResults(await readFile(join(dir, 's.jsonl'), 'utf8')).records;
    assert.equal(s.length, 1);
    assert.equal(s[0]!.error, null);
    // At least one freeze: each round also lists VIP holders and spawns kill(1)s, which a loaded machine slows down.
    assert.ok(s[0]!.freezes >= 1, `freezes ${s[0]!.freezes}`);
    assert.equal(s[0]!.resources.length, 2);
    assert.ok(
      // The daemon itself: Vigil probes its ping node in-process (no ping child any more).
      s[0]!.resources.every((u) => u.processes >= 1 && u.rss_kb_max > 0),
      JSON.stringify(s[0]!.resources),
    );

    const md = await readFile(join(dir, 'R.md'), 'utf8');
    assert.match(md, /\| keepalived \| fast \| 100\/500 \| stop \| 1 \|/);
    assert.match(md, /\| soak \| keepalived \| 100\/500 \|/);
    assert.match(
      await readFile(join(dir, 'o.svg'), 'utf8'),
      /<rect class="bar"[^>]*data-scenario="stop" data-impl="keepalived"/,
    );
  } finally {
    await cleanup(prefix);
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(await leftovers(prefix), []);
});
