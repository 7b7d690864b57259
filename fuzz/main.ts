/**
 * `npm run fuzz`: a million generated inputs per parser (see engine.ts and targets/), one worker thread per target
 * so that a hang (no input finished for --hang-seconds) or a heap blow-up (--heap-mb) is reported as a crash of
 * that target with the coordinates of the input that was running.
 *
 *   npm run fuzz -- [--runs N] [--seed S] [--only a,b] [--json] [--jobs N] [--stacks]
 *                   [--hang-seconds S] [--heap-mb M] [--max-growth-mib M]
 *   npm run fuzz -- --only <target> --replay <seed>:<path>     run one input again (and shrink it if it fails)
 *   npm run fuzz -- --list
 *
 * Exit status 1 when any contract was broken.
 */
import { Worker } from 'node:worker_threads';
import { type Crash, type TargetReport, chunkSeed, replay } from './engine.js';
import { TARGETS, targetNamed } from './targets/index.js';
import type { WorkerJob } from './worker.js';

interface Options {
  runs: number;
  seed: number;
  only: string[] | undefined;
  json: boolean;
  jobs: number;
  stacks: boolean;
  hangSeconds: number;
  heapMb: number;
  maxGrowthMib: number;
  replay: string | undefined;
  list: boolean;
}

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    runs: 1_000_000,
    seed: Math.floor(Math.random() * 2 ** 31),
    only: undefined,
    json: false,
    jobs: 1,
    stacks: false,
    hangSeconds: 60,
    heapMb: 2048,
    maxGrowthMib: 64,
    replay: undefined,
    list: false,
  };
  const num = (v: string | undefined, name: string): number => {
    if (v === undefined || !/^-?\d+$/.test(v)) usage(`${name} needs a whole number`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const v = (): string | undefined => argv[++i];
    switch (a) {
      case '--runs':
        o.runs = num(v(), a);
        break;
      case '--seed':
        o.seed = num(v(), a);
        break;
      case '--only':
        o.only = (v() ?? '').split(',').filter((s) => s !== '');
        break;
      case '--json':
        o.json = true;
        break;
      case '--jobs':
        o.jobs = Math.max(1, num(v(), a));
        break;
      case '--stacks':
        o.stacks = true;
        break;
      case '--hang-seconds':
        o.hangSeconds = num(v(), a);
        break;
      case '--heap-mb':
        o.heapMb = num(v(), a);
        break;
      case '--max-growth-mib':
        o.maxGrowthMib = num(v(), a);
        break;
      case '--replay':
        o.replay = v();
        break;
      case '--list':
        o.list = true;
        break;
      default:
        usage(`unknown option ${a} (--runs N --seed S --only a,b --json --jobs N --stacks --replay seed:path --list)`);
    }
  }
  for (const t of o.only ?? []) if (targetNamed(t) === undefined) usage(`no target ${t} (see --list)`);
  return o;
}

const MiB = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(1));

function crashText(target: string, c: Crash): string {
  const lines = [
    `  ${target}: ${c.signature}  (${c.count} input${c.count === 1 ? '' : 's'})`,
    `    message: ${c.message.slice(0, 300)}`,
    c.path === ''
      ? '    replay:  (not one input)'
      : `    replay:  npm run fuzz -- --only ${target} --replay ${c.seed}:${c.path}`,
    `    minimal: ${c.minimal.length > 2000 ? `${c.minimal.slice(0, 2000)}… (${c.minimal.length} chars)` : c.minimal}`,
  ];
  if (c.note !== undefined) lines.push(`    note:    ${c.note}`);
  lines.push(
    ...c.stack
      .split('\n')
      .slice(0, 12)
      .map((l) => `    | ${l}`),
  );
  return lines.join('\n');
}

function table(reports: readonly TargetReport[]): string {
  const head = [
    'target',
    'inputs',
    'crashes',
    'bad inputs',
    'max ms',
    'p99 µs',
    'p99.9 µs',
    'heap MiB',
    'external MiB',
    'rss MiB',
    'peak',
    'wall s',
  ];
  const rows = reports.map((r) => [
    r.target,
    String(r.runs),
    String(r.crashes.length),
    String(r.crashedInputs),
    r.timing.maxMs.toFixed(1),
    r.timing.p99Us.toFixed(0),
    r.timing.p999Us.toFixed(0),
    r.memory === undefined ? '-' : `${MiB(r.memory.heapUsedBeforeMiB)}→${MiB(r.memory.heapUsedAfterMiB)}`,
    r.memory === undefined ? '-' : `${MiB(r.memory.externalBeforeMiB)}→${MiB(r.memory.externalAfterMiB)}`,
    r.memory === undefined ? '-' : `${MiB(r.memory.rssBeforeMiB)}→${MiB(r.memory.rssAfterMiB)}`,
    MiB(r.memory?.peakRssMiB),
    (r.wallMs / 1000).toFixed(1),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(width[i] ?? 0)).join('  ');
  return [fmt(head), ...rows.map(fmt)].join('\n');
}

function outcomesText(r: TargetReport): string {
  const entries = Object.entries(r.outcomes);
  const shown = entries
    .slice(0, 10)
    .map(([k, n]) => `${k} ${((n / Math.max(1, r.runs)) * 100).toFixed(1)}%`)
    .join(', ');
  return `  ${r.target} (${entries.length} outcomes): ${shown}`;
}

/** Runs one target in a worker, watching it for hangs and heap exhaustion. */
function runInWorker(name: string, o: Options): Promise<TargetReport> {
  const progress = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
  const p = new Int32Array(progress);
  const job: WorkerJob = {
    target: name,
    runs: o.runs,
    seed: o.seed,
    stacks: o.stacks,
    maxGrowthMib: o.maxGrowthMib,
    progress,
  };
  const target = targetNamed(name);
  const started = Date.now();
  return new Promise((resolve) => {
    const w = new Worker(new URL('./worker.js', import.meta.url), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: o.heapMb },
    });
    let done = false;
    let lastCount = -1;
    let lastChange = Date.now();
    const failed = (signature: string, message: string): void => {
      if (done) return;
      done = true;
      clearInterval(watch);
      const chunk = Atomics.load(p, 1);
      const seed = chunkSeed(o.seed, chunk);
      resolve({
        target: name,
        about: target?.about ?? '',
        seed: o.seed,
        runs: Atomics.load(p, 0),
        wallMs: Date.now() - started,
        crashes: [
          {
            signature,
            count: 1,
            message,
            stack: message,
            seed,
            path: String(Atomics.load(p, 2)),
            found: '(see replay)',
            minimal: '(not shrunk: the worker was stopped)',
            note: 'the input running when the worker stopped; replay it to see it',
          },
        ],
        crashedInputs: 1,
        timing: { runMs: 0, generateMs: 0, maxMs: 0, p50Us: 0, p99Us: 0, p999Us: 0, slowest: undefined },
        memory: undefined,
        outcomes: {},
      });
    };
    const watch = setInterval(() => {
      const n = Atomics.load(p, 0);
      if (n !== lastCount) {
        lastCount = n;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > o.hangSeconds * 1000) {
        failed('hang: no input finished', `no input finished for ${o.hangSeconds} s`);
        void w.terminate();
      }
    }, 1000);
    w.on('message', (m: { type: 'log'; line: string } | { type: 'done'; report: TargetReport }) => {
      if (m.type === 'log') {
        process.stderr.write(`${m.line}\n`);
      } else {
        done = true;
        clearInterval(watch);
        resolve(m.report);
      }
    });
    w.on('error', (e: Error & { code?: string }) => {
      failed(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory (bounded memory)' : `worker died: ${e.name}`,
        e.stack ?? e.message,
      );
    });
    w.on('exit', (code) => {
      if (!done) failed('worker exited', `exit code ${code}`);
    });
  });
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.list) {
    for (const t of TARGETS) process.stdout.write(`${t.name.padEnd(16)} ${t.about}\n`);
    return 0;
  }
  if (o.replay !== undefined) {
    const t = o.only?.length === 1 ? targetNamed(o.only[0] ?? '') : undefined;
    const m = /^(-?\d+):([\d:]+)$/.exec(o.replay);
    if (t === undefined || m === null) usage('--replay seed:path needs --only <one target>');
    const r = await replay(t, Number(m[1]), m[2] ?? '0');
    if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else {
      process.stdout.write(
        `input:   ${r.input.length > 4000 ? `${r.input.slice(0, 4000)}…` : r.input}\noutcome: ${r.outcome}\n`,
      );
      if (r.crash !== undefined) process.stdout.write(`${crashText(t.name, r.crash)}\n`);
    }
    return r.crash === undefined ? 0 : 1;
  }
  const names = o.only ?? TARGETS.map((t) => t.name);
  process.stderr.write(`fuzz: ${names.length} target(s), ${o.runs} inputs each, seed ${o.seed}\n`);
  const started = Date.now();
  const reports: TargetReport[] = [];
  const queue = [...names];
  const lane = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      process.stderr.write(`fuzz: ${name}...\n`);
      const r = await runInWorker(name, o);
      process.stderr.write(
        `fuzz: ${name}: ${r.runs} inputs, ${r.crashes.length} crash(es), ${(r.wallMs / 1000).toFixed(1)} s\n`,
      );
      reports.push(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, names.length) }, lane));
  reports.sort((a, b) => names.indexOf(a.target) - names.indexOf(b.target));
  const crashes = reports.reduce((n, r) => n + r.crashes.length, 0);
  if (o.json) {
    process.stdout.write(
      `${JSON.stringify({ seed: o.seed, runs: o.runs, wallMs: Date.now() - started, reports }, null, 2)}\n`,
    );
  } else {
    const out = [
      `seed ${o.seed}, ${o.runs} inputs per target, ${((Date.now() - started) / 1000).toFixed(0)} s in all` +
        (o.stacks ? '' : ' (timings without stack-trace capture; --stacks to keep it)'),
      '',
      table(reports),
      '',
      'outcomes (how far inputs got):',
      ...reports.map(outcomesText),
    ];
    if (crashes > 0) out.push('', 'crashes:', ...reports.flatMap((r) => r.crashes.map((c) => crashText(r.target, c))));
    process.stdout.write(`${out.join('\n')}\n`);
  }
  return crashes > 0 ? 1 : 0;
}

process.exitCode = await main();
