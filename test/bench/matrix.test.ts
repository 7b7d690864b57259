import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkTiming,
  DEFAULT_FASTEST,
  doneKeys,
  etaMs,
  formatDuration,
  parseFastest,
  parseList,
  parseResults,
  pendingTrials,
  planTrials,
  priorMs,
  PROFILES,
  SCENARIOS,
  IMPLS,
  trialKey,
} from '../../bench/lib/matrix.js';
import { record } from './fixture.js';

const ALL = { impls: IMPLS, profiles: PROFILES, scenarios: SCENARIOS, trials: 10, fastest: DEFAULT_FASTEST };

test('the full matrix is 3 implementations x 3 profiles x 7 scenarios x 10 trials, every key distinct', () => {
  const plan = planTrials(ALL);
  assert.equal(plan.length, 630);
  assert.equal(new Set(plan.map(trialKey)).size, 630);
  // The three implementations of a cell run back to back (same machine conditions for the comparison).
  assert.deepEqual(
    plan.slice(0, 3).map((t) => t.impl),
    ['vigil', 'heartbeat', 'keepalived'],
  );
  assert.ok(plan.slice(0, 3).every((t) => t.trial === 1 && t.profile === 'tutorial' && t.scenario === 'kill'));
  // Trial number is outermost: a run cut short has every cell at about the same count.
  assert.ok(plan.slice(0, 63).every((t) => t.trial === 1));
  const fastest = plan.filter((t) => t.profile === 'fastest' && t.trial === 1 && t.scenario === 'kill');
  assert.deepEqual(
    fastest.map((t) => [t.impl, t.keepaliveMs, t.deadtimeMs]),
    [
      ['vigil', 20, 100],
      ['heartbeat', 50, 250],
      ['keepalived', 20, 100],
    ],
  );
});

test('resume: recorded trials are skipped, trials without a result are run again, a changed timing is new', () => {
  const plan = planTrials({ ...ALL, impls: ['vigil'], profiles: ['fast'], scenarios: ['poweroff'], trials: 3 });
  const recs = [
    record('vigil', 'fast', 'poweroff', 1, 300),
    record('vigil', 'fast', 'poweroff', 2, null, { status: 'error', error: 'did not converge' }),
    record('vigil', 'fast', 'poweroff', 3, null, { status: 'no-output' }),
  ];
  const pending = pendingTrials(plan, doneKeys(recs));
  assert.deepEqual(
    pending.map((t) => t.trial),
    [3],
  );
  // More trials later: only the new ones (and the one without a result) remain.
  const more = planTrials({ ...ALL, impls: ['vigil'], profiles: ['fast'], scenarios: ['poweroff'], trials: 5 });
  assert.deepEqual(
    pendingTrials(more, doneKeys(recs)).map((t) => t.trial),
    [3, 4, 5],
  );
  // The same profile name with another fastest setting shares no key with the old trials.
  const f1 = planTrials({ ...ALL, impls: ['vigil'], profiles: ['fastest'], scenarios: ['kill'], trials: 1 });
  const f2 = planTrials({
    ...ALL,
    impls: ['vigil'],
    profiles: ['fastest'],
    scenarios: ['kill'],
    trials: 1,
    fastest: parseFastest('vigil=50/200'),
  });
  assert.notEqual(trialKey(f1[0]!), trialKey(f2[0]!));
});

test('the results parser keeps good lines and reports a torn last line instead of failing', () => {
  const good = JSON.stringify(record('vigil', 'fast', 'kill', 1, 10));
  const text = `${good}\n{"impl":"vigil"}\n\n${good.slice(0, 40)}`;
  const p = parseResults(text);
  assert.equal(p.records.length, 1);
  assert.deepEqual(
    p.skipped.map((s) => s.line),
    [2, 4],
  );
});

test('--fastest and the selection lists are validated', () => {
  const f = parseFastest('vigil=30/150, keepalived=30');
  assert.deepEqual(f.vigil, { keepaliveMs: 30, deadtimeMs: 150 });
  assert.deepEqual(f.keepalived, { keepaliveMs: 30, deadtimeMs: 150 });
  assert.deepEqual(f.heartbeat, DEFAULT_FASTEST.heartbeat);
  assert.throws(() => parseFastest('vigil=50/100'), /more than twice/);
  assert.throws(() => parseFastest('heartbeat=50'), /KEEPALIVE\/DEADTIME/);
  assert.throws(() => parseFastest('pacemaker=1/5'), /unknown implementation/);
  assert.throws(() => parseFastest('keepalived=25'), /centiseconds/);
  assert.throws(() => {
    checkTiming('heartbeat', { keepaliveMs: 0, deadtimeMs: 10 });
  }, /positive/);
  assert.deepEqual(parseList('scenario', 'stop,kill', SCENARIOS), ['kill', 'stop']);
  assert.deepEqual(parseList('profile', undefined, PROFILES), [...PROFILES]);
  assert.throws(() => parseList('scenario', 'kill,reboot', SCENARIOS), /unknown scenario 'reboot'/);
});

test('eta uses the cell mean, then the implementation/profile mean, then the a-priori estimate', () => {
  const plan = planTrials({
    ...ALL,
    impls: ['vigil', 'heartbeat'],
    profiles: ['fast'],
    scenarios: ['kill', 'stop'],
    trials: 2,
  });
  const done = [
    record('vigil', 'fast', 'kill', 1, 1, { ms: 10_000 }),
    record('vigil', 'fast', 'stop', 1, 1, { ms: 30_000 }),
    record('heartbeat', 'fast', 'kill', 1, 1, { ms: 100_000 }),
  ];
  const pending = pendingTrials(plan, doneKeys(done));
  // vigil kill #2: 10 s (cell); vigil stop #2: 30 s (cell); heartbeat kill #2: 100 s (cell);
  // heartbeat stop #1 and #2: 100 s each (heartbeat/fast mean).
  assert.equal(etaMs(pending, done), 10_000 + 30_000 + 100_000 + 2 * 100_000);
  assert.equal(
    etaMs(pending, [], () => 1000),
    pending.length * 1000,
  );
  // A priori: the partition holds 2 x deadtime longer than a power cut, plus the convergence wait.
  const [po, pa] = planTrials({
    ...ALL,
    impls: ['vigil'],
    profiles: ['tutorial'],
    scenarios: ['poweroff', 'partition'],
    trials: 1,
  });
  assert.equal(priorMs(pa!) - priorMs(po!), 1500 + 20_000 + 20_000);
  assert.ok(etaMs(planTrials(ALL), []) > 5 * 3600_000, 'the full matrix takes hours');
  assert.equal(formatDuration(59_400), '59s');
  assert.equal(formatDuration(61_000), '1m01s');
  assert.equal(formatDuration(3 * 3600_000 + 12 * 60_000), '3h12m');
});

test('IPv6 families: IPv4 cells keep their keys, v6 and dual cells are new and run right after them', () => {
  const plan = planTrials({
    impls: ['vigil', 'keepalived'],
    profiles: ['fast'],
    scenarios: ['stop'],
    trials: 1,
    fastest: DEFAULT_FASTEST,
    families: ['v4', 'v6', 'dual'],
  });
  assert.deepEqual(plan.map(trialKey), [
    'vigil/fast/100/500/stop#1',
    'keepalived/fast/100/500/stop#1',
    'vigil/fast/100/500/stop/v6#1',
    'keepalived/fast/100/500/stop/v6#1',
    'vigil/fast/100/500/stop/dual#1',
    'keepalived/fast/100/500/stop/dual#1',
  ]);
  assert.deepEqual(
    planTrials({ impls: ['vigil'], profiles: ['fast'], scenarios: ['stop'], trials: 1, fastest: DEFAULT_FASTEST }).map(
      (t) => t.family,
    ),
    ['v4'],
  );
});
