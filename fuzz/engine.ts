/**
 * The fuzzing engine shared by `npm run fuzz` (fuzz/main.ts, one worker per target) and the seeded CI slice
 * (test/fuzz/fuzz.test.ts, in-process).
 *
 * Inputs come from fast-check arbitraries, drawn in chunks: chunk c of a campaign with seed S is
 * `fc.sample(arb, { seed: chunkSeed(S, c), numRuns })`, which is exactly the sequence `fc.check` walks with that
 * seed. So input k of chunk c replays (and shrinks) with `fc.check(..., { seed: chunkSeed(S, c), path: String(k) })`:
 * the engine runs the inputs itself (timing each one, many at a time for the socket targets, carrying on after a
 * crash) and hands only the crashes back to fast-check for shrinking.
 */
import fc from 'fast-check';

/** A broken promise of the code under test: the contract rule it breaks (stable, no input in it) and the detail. */
export class ContractViolation extends Error {
  override readonly name = 'ContractViolation';
  constructor(
    readonly rule: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${rule}: ${detail}`, options);
  }
}

interface TargetBase<T> {
  readonly name: string;
  /** One line for the report: what is fuzzed and what the contract is. */
  readonly about: string;
  readonly arbitrary: () => fc.Arbitrary<T>;
  /** The exact input, printable (JSON with byte strings escaped), for the report and regression tests. */
  readonly show: (input: T) => string;
}

/**
 * `run` returns an outcome label (how far the input got: `accepted`, `drop:parse`, `errors:VIGIL_ERR_CFG_VALUE`...);
 * the labels' counts show whether the inputs reach deep or die at byte 0. It throws ContractViolation (or anything
 * else, which is then a crash too) when the contract is broken.
 */
export interface SyncTarget<T> extends TargetBase<T> {
  readonly kind: 'sync';
  readonly run: (input: T) => string;
}

export interface AsyncRunner<T> {
  readonly run: (input: T) => Promise<string>;
  readonly close: () => Promise<void>;
}

/** Targets that need real sockets: inputs run `concurrency` at a time against one server per campaign. */
export interface AsyncTarget<T> extends TargetBase<T> {
  readonly kind: 'async';
  readonly concurrency: number;
  /** An input that has not settled after this long is a hang (a crash of its own). */
  readonly deadlineMs: number;
  readonly open: () => Promise<AsyncRunner<T>>;
}

export type FuzzTarget<T = never> = SyncTarget<T> | AsyncTarget<T>;
// Targets are heterogeneous; the engine never looks inside an input.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTarget = FuzzTarget<any>;

export interface Crash {
  /** Stable key: crashes with the same signature are one bug. */
  readonly signature: string;
  /** How many inputs of the campaign hit it. */
  count: number;
  readonly message: string;
  readonly stack: string;
  /** Replay: `--only <target> --replay <seed>:<path>` (fast-check seed and path). */
  seed: number;
  path: string;
  /** The input as first found, and after shrinking. */
  readonly found: string;
  minimal: string;
  /** Set when the crash could not be shrunk (a hang, or a failure that does not reproduce). */
  note?: string;
}

export interface TargetReport {
  readonly target: string;
  readonly about: string;
  readonly seed: number;
  runs: number;
  wallMs: number;
  readonly crashes: Crash[];
  /** Inputs that broke the contract, all signatures together. */
  crashedInputs: number;
  timing: {
    /** Time inside the code under test, all inputs together (the rest of wallMs is generation and checks' setup). */
    runMs: number;
    /** Time fast-check spent generating the inputs. */
    generateMs: number;
    maxMs: number;
    p50Us: number;
    p99Us: number;
    p999Us: number;
    /** Replay coordinates of the slowest input, and its time when run again alone. */
    slowest: { seed: number; path: string; rerunMs: number } | undefined;
  };
  memory:
    | {
        heapUsedBeforeMiB: number;
        heapUsedAfterMiB: number;
        /** Memory outside the JS heap (Buffers, zlib): where a leak of native resources shows. */
        externalBeforeMiB: number;
        externalAfterMiB: number;
        /** Process-wide (the main thread and any other worker included). */
        rssBeforeMiB: number;
        rssAfterMiB: number;
        peakRssMiB: number;
      }
    | undefined;
  outcomes: Record<string, number>;
}

export interface RunOptions {
  readonly runs: number;
  readonly seed: number;
  /** Inputs per fc.sample chunk. */
  readonly chunk?: number;
  /** Distinct crash signatures kept (and shrunk); further ones are only counted. */
  readonly maxDistinct?: number;
  /** An input slower than this (twice, when run again) breaks the bounded-time rule. */
  readonly slowMs?: number;
  /** Memory (heap + external) a campaign may retain after a forced GC before that counts as unbounded. */
  readonly maxGrowthMiB?: number;
  /** Shrinking budget per crash. */
  readonly shrinkMs?: number;
  /** Shared progress: [inputs done, chunk index, index in chunk, alive tick] for the hang watchdog. */
  readonly progress?: Int32Array;
  readonly log?: (line: string) => void;
  /**
   * Keep stack traces while running sync targets. Off by default: capturing one costs ~5 µs on this box, more than
   * a whole small config file takes to parse, and the parsers build one Error per problem found. A crashing input is
   * run again with stack traces on, so signatures and reports keep their frames.
   */
  readonly stacks?: boolean;
}

const MAX_OUTCOME_LABELS = 300;

/** A 32-bit mix (splitmix-style) so chunk seeds of nearby campaign seeds do not overlap. */
export function chunkSeed(seed: number, chunk: number): number {
  let x = (seed ^ Math.imul(chunk + 1, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) | 0;
}

/** Error location in the code under test: the first stack frame outside node internals and fast-check. */
function firstFrame(e: Error): string {
  for (const line of (e.stack ?? '').split('\n').slice(1)) {
    const m = /\(?((?:\/|file:)[^()]*?):(\d+):\d+\)?$/.exec(line.trim());
    if (m === null) continue;
    const file = m[1] ?? '';
    if (file.includes('node_modules') || file.startsWith('node:')) continue;
    const short = file.replace(/^.*\/dist\//, '').replace(/^file:\/\//, '');
    return `${short}:${m[2] ?? ''}`;
  }
  return '?';
}

/** Numbers and quoted or bracketed input fragments vary per input; the rest names the bug. */
function normalise(message: string): string {
  return message
    .replace(/\[[^\]]*\]|"[^"]*"|'[^']*'/g, '…')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

/** The code under test threw what its contract does not allow: the rule names the error class and where it was thrown. */
export function unexpectedThrow(what: string, e: unknown): ContractViolation {
  if (e instanceof ContractViolation) return e;
  const where = e instanceof Error ? ` @ ${firstFrame(e)}` : '';
  const name = e instanceof Error ? e.name : typeof e;
  return new ContractViolation(`${what} threw ${name}${where}`, e instanceof Error ? e.message : String(e), {
    cause: e,
  });
}

export function signatureOf(e: unknown): string {
  if (e instanceof ContractViolation) return e.rule;
  if (e instanceof Error) return `${e.name}: ${normalise(e.message)} @ ${firstFrame(e)}`;
  return `thrown ${typeof e}: ${normalise(String(e))}`;
}

function describe(e: unknown): { message: string; stack: string } {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `\ncaused by: ${e.cause.stack ?? e.cause.message}` : '';
    return { message: e.message, stack: `${e.stack ?? e.message}${cause}` };
  }
  return { message: String(e), stack: String(e) };
}

const MiB = 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function quiesce(): void {
  if (gc === undefined) return;
  gc();
  gc();
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? 0;
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs one target for `opts.runs` inputs; never throws for a crash of the code under test (it is in the report). */
export async function runTarget(target: AnyTarget, opts: RunOptions): Promise<TargetReport> {
  const chunkSize = opts.chunk ?? 1000;
  const maxDistinct = opts.maxDistinct ?? 20;
  const slowMs = opts.slowMs ?? 1000;
  const log = opts.log ?? (() => undefined);
  const arb = target.arbitrary();
  const times = new Float64Array(opts.runs);
  const outcomes = new Map<string, number>();
  const crashes = new Map<string, Crash & { input: unknown }>();
  const report: TargetReport = {
    target: target.name,
    about: target.about,
    seed: opts.seed,
    runs: 0,
    wallMs: 0,
    crashes: [],
    crashedInputs: 0,
    timing: { runMs: 0, generateMs: 0, maxMs: 0, p50Us: 0, p99Us: 0, p999Us: 0, slowest: undefined },
    memory: undefined,
    outcomes: {},
  };
  let slowest = { ms: -1, seed: 0, path: '0', input: undefined as unknown };
  const count = (label: string): void => {
    const key = outcomes.has(label) || outcomes.size < MAX_OUTCOME_LABELS ? label : '(other)';
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  };
  const recordCrash = (thrown: unknown, seed: number, k: number, input: unknown): void => {
    report.crashedInputs++;
    const e = target.kind === 'sync' && Error.stackTraceLimit === 0 ? (withStacks(target, input) ?? thrown) : thrown;
    const signature = signatureOf(e);
    const known = crashes.get(signature);
    if (known !== undefined) {
      known.count++;
      return;
    }
    if (crashes.size >= maxDistinct) {
      count('(crash beyond the distinct limit)');
      return;
    }
    const d = describe(e);
    const shown = target.show(input);
    crashes.set(signature, {
      signature,
      count: 1,
      message: d.message,
      stack: d.stack,
      seed,
      path: String(k),
      found: shown,
      minimal: shown,
      input,
    });
    log(`  crash in ${target.name}: ${signature} (seed ${seed}, path ${k})`);
  };

  // fast-check's own first-use allocations are not the code under test's: warm it up before measuring.
  fc.sample(arb, { seed: opts.seed, numRuns: 1 });
  quiesce();
  const before = process.memoryUsage();
  let peakRss = before.rss;
  const start = nowMs();
  let lastLog = start;
  const p = opts.progress;

  const runner = target.kind === 'async' ? await target.open() : undefined;
  const stackLimit = Error.stackTraceLimit;
  if (target.kind === 'sync' && opts.stacks !== true) Error.stackTraceLimit = 0;
  try {
    // One lazy stream of inputs across chunks: the socket targets' pool never drains at a chunk boundary (a
    // single slow input would otherwise hold the whole campaign at every chunk's end).
    const stream = (function* (): Generator<Item> {
      for (let c = 0, done = 0; done < opts.runs; c++) {
        const seed = chunkSeed(opts.seed, c);
        const n = Math.min(chunkSize, opts.runs - done);
        const g0 = nowMs();
        const values: unknown[] = fc.sample(arb, { seed, numRuns: n });
        report.timing.generateMs += nowMs() - g0;
        for (let k = 0; k < n; k++) yield { index: done + k, chunk: c, seed, k, input: values[k] };
        done += n;
      }
    })();
    let finished = 0;
    const settle = (item: Item, dt: number, outcome: string | Failure): void => {
      if (outcome instanceof Failure) {
        recordCrash(outcome.error, item.seed, item.k, item.input);
        count('(crash)');
      } else {
        count(outcome);
      }
      times[item.index] = dt;
      if (dt > slowest.ms) slowest = { ms: dt, seed: item.seed, path: String(item.k), input: item.input };
      finished++;
      report.runs = finished;
      if (p !== undefined) Atomics.add(p, 0, 1);
      if (finished % 1000 === 0) {
        const rss = process.memoryUsage.rss();
        if (rss > peakRss) peakRss = rss;
        const t = nowMs();
        if (t - lastLog > 10_000) {
          lastLog = t;
          log(`  ${target.name}: ${finished}/${opts.runs} (${Math.round(finished / ((t - start) / 1000))}/s)`);
        }
      }
    };
    const mark = (item: Item): void => {
      if (p === undefined) return;
      Atomics.store(p, 1, item.chunk);
      Atomics.store(p, 2, item.k);
    };
    if (target.kind === 'sync') {
      for (const item of stream) {
        // Yield to the event loop between chunks, as the daemon does between datagrams: some of Node's cleanup runs
        // there (a zlib stream that failed is closed on a later tick), and a loop that never yields piles it up.
        if (item.k === 0 && item.index > 0) await yieldToLoop();
        mark(item);
        const t0 = nowMs();
        let outcome: string | Failure;
        try {
          outcome = target.run(item.input);
        } catch (e) {
          outcome = new Failure(e);
        }
        settle(item, nowMs() - t0, outcome);
      }
    } else if (runner !== undefined) {
      const lane = async (): Promise<void> => {
        for (let next = stream.next(); next.done !== true; next = stream.next()) {
          const item = next.value;
          mark(item);
          const t0 = nowMs();
          const outcome = await settleWithin(target, runner, item.input);
          settle(item, nowMs() - t0, outcome);
        }
      };
      await Promise.all(Array.from({ length: target.concurrency }, lane));
    }
    report.wallMs = Math.round(nowMs() - start);

    // Bounded time: the slowest input, alone and warm, must still be fast (a one-off GC pause is not a bug).
    if (slowest.ms >= 0) {
      const rerun = await timeOne(target, runner, slowest.input);
      report.timing.slowest = { seed: slowest.seed, path: slowest.path, rerunMs: round(rerun, 3) };
      if (slowest.ms > slowMs && rerun > slowMs && target.kind === 'sync') {
        recordCrash(
          new ContractViolation('bounded time', `one input takes ${Math.round(rerun)} ms (limit ${slowMs} ms)`),
          slowest.seed,
          Number(slowest.path),
          slowest.input,
        );
      }
    }
  } finally {
    Error.stackTraceLimit = stackLimit;
    await runner?.close();
  }

  const sorted = times.subarray(0, report.runs).sort();
  report.timing.maxMs = round(sorted[sorted.length - 1] ?? 0, 3);
  report.timing.runMs = Math.round(sorted.reduce((a, b) => a + b, 0));
  report.timing.generateMs = Math.round(report.timing.generateMs);
  report.timing.p50Us = round(percentile(sorted, 0.5) * 1000, 1);
  report.timing.p99Us = round(percentile(sorted, 0.99) * 1000, 1);
  report.timing.p999Us = round(percentile(sorted, 0.999) * 1000, 1);
  slowest.input = undefined;
  await yieldToLoop();
  quiesce();
  if (gc !== undefined) {
    const after = process.memoryUsage();
    report.memory = {
      heapUsedBeforeMiB: round(before.heapUsed / MiB, 2),
      heapUsedAfterMiB: round(after.heapUsed / MiB, 2),
      externalBeforeMiB: round(before.external / MiB, 2),
      externalAfterMiB: round(after.external / MiB, 2),
      rssBeforeMiB: round(before.rss / MiB, 1),
      rssAfterMiB: round(after.rss / MiB, 1),
      peakRssMiB: round(Math.max(peakRss, after.rss) / MiB, 1),
    };
    const grown = (after.heapUsed - before.heapUsed + after.external - before.external) / MiB;
    const limit = opts.maxGrowthMiB ?? 64;
    if (grown > limit) {
      report.crashes.push({
        signature: 'bounded memory',
        count: 1,
        message: `${grown.toFixed(1)} MiB (heap + external) still held after ${report.runs} inputs and a forced GC (limit ${limit} MiB)`,
        stack: '',
        seed: opts.seed,
        path: '',
        found: '(the whole campaign)',
        minimal: '(the whole campaign)',
        note: 'state that grows with the number of inputs: run fewer inputs and compare, or take heap snapshots',
      });
    }
  }

  for (const c of crashes.values()) {
    await shrink(target, arb, c, opts.shrinkMs ?? 30_000, opts.runs);
    const { input: _input, ...crash } = c;
    report.crashes.push(crash);
  }
  report.outcomes = Object.fromEntries([...outcomes.entries()].sort((a, b) => b[1] - a[1]));
  return report;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Runs a sync input again with stack traces on; the error it throws, if it still throws. */
function withStacks(target: SyncTarget<unknown>, input: unknown): unknown {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 20;
  try {
    target.run(input);
    return undefined;
  } catch (e) {
    return e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

class Failure {
  constructor(readonly error: unknown) {}
}

/** One input of the campaign and its replay coordinates. */
interface Item {
  readonly index: number;
  readonly chunk: number;
  readonly seed: number;
  readonly k: number;
  readonly input: unknown;
}

async function settleWithin(
  target: AsyncTarget<unknown>,
  runner: AsyncRunner<unknown>,
  input: unknown,
): Promise<string | Failure> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Failure>((resolve) => {
    timer = setTimeout(() => {
      resolve(
        new Failure(
          new ContractViolation('settles in bounded time', `not settled after ${target.deadlineMs} ms (a hang)`),
        ),
      );
    }, target.deadlineMs);
  });
  try {
    return await Promise.race([runner.run(input).catch((e: unknown) => new Failure(e)), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function timeOne(target: AnyTarget, runner: AsyncRunner<unknown> | undefined, input: unknown): Promise<number> {
  const t0 = nowMs();
  try {
    if (target.kind === 'sync') target.run(input);
    else if (runner !== undefined) await settleWithin(target, runner, input);
  } catch {
    // Already recorded as a crash; only its time matters here.
  }
  return nowMs() - t0;
}

/** Shrinks a crash with fast-check from its replay coordinates, keeping the same signature. */
async function shrink(
  target: AnyTarget,
  arb: fc.Arbitrary<unknown>,
  crash: Crash & { input: unknown },
  budgetMs: number,
  numRuns: number,
): Promise<void> {
  if (crash.signature === 'bounded time') {
    crash.note = 'not shrunk: timing';
    return;
  }
  const params = {
    seed: crash.seed,
    path: crash.path,
    numRuns: Math.max(numRuns, Number(crash.path.split(':')[0]) + 1),
    interruptAfterTimeLimit: budgetMs,
    markInterruptAsFailure: false,
  };
  let result: fc.RunDetails<[unknown]>;
  if (target.kind === 'sync') {
    result = fc.check(
      fc.property(arb, (v) => {
        try {
          target.run(v);
          return true;
        } catch (e) {
          return signatureOf(e) !== crash.signature;
        }
      }),
      params,
    );
  } else {
    const runner = await target.open();
    try {
      result = await fc.check(
        fc.asyncProperty(arb, async (v) => {
          const r = await settleWithin(target, runner, v);
          return !(r instanceof Failure && signatureOf(r.error) === crash.signature);
        }),
        params,
      );
    } finally {
      await runner.close();
    }
  }
  if (result.failed && result.counterexample !== null) {
    crash.minimal = target.show(result.counterexample[0]);
    crash.path = result.counterexamplePath;
  } else {
    crash.note = 'did not reproduce when replayed alone (depends on timing or on state across inputs)';
  }
}

/** Replays one input (`--replay seed:path`): runs it, shrinks it if it fails. */
export async function replay(
  target: AnyTarget,
  seed: number,
  path: string,
): Promise<{ input: string; outcome: string; crash: Crash | undefined }> {
  const arb = target.arbitrary();
  const [first = '0'] = path.split(':');
  const numRuns = Number(first) + 1;
  // The value at `path` (shrink steps included) as fast-check walks it.
  let input: unknown;
  const grab = (v: unknown): boolean => {
    input = v;
    return false;
  };
  fc.check(fc.property(arb, grab), { seed, path, numRuns, endOnFailure: true });
  const runner = target.kind === 'async' ? await target.open() : undefined;
  let outcome: string | Failure;
  try {
    if (target.kind === 'sync') {
      try {
        outcome = target.run(input);
      } catch (e) {
        outcome = new Failure(e);
      }
    } else {
      outcome = runner === undefined ? 'no runner' : await settleWithin(target, runner, input);
    }
  } finally {
    await runner?.close();
  }
  if (!(outcome instanceof Failure)) return { input: target.show(input), outcome, crash: undefined };
  const d = describe(outcome.error);
  const shown = target.show(input);
  const crash = {
    signature: signatureOf(outcome.error),
    count: 1,
    message: d.message,
    stack: d.stack,
    seed,
    path,
    found: shown,
    minimal: shown,
    input,
  };
  await shrink(target, arb, crash, 30_000, numRuns);
  const { input: _input, ...rest } = crash;
  return { input: shown, outcome: '(crash)', crash: rest };
}
