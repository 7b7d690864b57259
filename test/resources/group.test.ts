import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OpResult, ResourceAgent, StatusResult } from '../../src/agents/agent.js';
import { GroupRunner } from '../../src/resources/group.js';

/** An in-memory resource that records calls into a shared journal; failures are scripted per call. */
class FakeAgent implements ResourceAgent {
  running = false;
  failStarts = 0;
  failStops = 0;
  stopLeavesRunning = false;
  journalStatus = false;
  constructor(
    readonly spec: string,
    private readonly journal: string[],
  ) {}
  start(): Promise<OpResult> {
    this.journal.push(`start ${this.spec}`);
    if (this.failStarts-- > 0) return Promise.resolve({ ok: false, rc: 1, detail: `Return code 1 from ${this.spec}` });
    this.running = true;
    return Promise.resolve({ ok: true, rc: 0, detail: '' });
  }
  stop(): Promise<OpResult> {
    this.journal.push(`stop ${this.spec}`);
    if (this.failStops-- > 0) {
      if (!this.stopLeavesRunning) this.running = false;
      return Promise.resolve({ ok: false, rc: 1, detail: `Return code 1 from ${this.spec}` });
    }
    this.running = false;
    return Promise.resolve({ ok: true, rc: 0, detail: '' });
  }
  status(): Promise<StatusResult> {
    if (this.journalStatus) this.journal.push(`status ${this.spec}`);
    return Promise.resolve({ running: this.running, text: this.running ? 'running' : 'stopped' });
  }
}

function setup(n = 3) {
  const journal: string[] = [];
  const logs: string[] = [];
  const sleeps: number[] = [];
  const agents = Array.from({ length: n }, (_, i) => new FakeAgent(`r${i + 1}`, journal));
  const runner = new GroupRunner('linux1', 'r1', agents, {
    log: (level, text) => logs.push(`${level}: ${text}`),
    stopRetries: 10,
    stopRetryDelayMs: 1000,
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return { journal, logs, sleeps, agents, runner };
}

test('a group starts left to right, skipping members already running, and stops right to left', async () => {
  const { journal, logs, agents, runner } = setup();
  agents[1]!.running = true;
  assert.deepEqual(await runner.acquire(), { ok: true });
  assert.deepEqual(journal, ['start r1', 'start r3']);
  assert.equal(logs[0], 'info: Acquiring resource group: linux1 r1 r2 r3');
  journal.length = 0;
  assert.deepEqual(await runner.release(), { ok: true });
  assert.deepEqual(journal, ['stop r3', 'stop r2', 'stop r1']);
  assert.ok(agents.every((a) => !a.running));
});

test('a start failure gives the whole group up again, in Heartbeat words', async () => {
  const { journal, logs, agents, runner } = setup();
  agents[1]!.failStarts = 1;
  const r = await runner.acquire();
  assert.deepEqual(r, { ok: false, failed: 'r2', detail: 'Return code 1 from r2', releasedCleanly: true });
  assert.deepEqual(journal, ['start r1', 'start r2', 'stop r3', 'stop r2', 'stop r1']);
  assert.ok(logs.includes('CRIT: Giving up resources due to failure of r2'));
  assert.ok(agents.every((a) => !a.running));
});

test('a failing stop is retried up to 10 times, 1 s apart', async () => {
  const { journal, sleeps, agents, runner } = setup(1);
  agents[0]!.running = true;
  agents[0]!.failStops = 3;
  agents[0]!.stopLeavesRunning = true;
  assert.deepEqual(await runner.release(), { ok: true });
  assert.equal(journal.filter((j) => j === 'stop r1').length, 4);
  assert.deepEqual(sleeps, [1000, 1000, 1000]);
});

test('a resource that never stops is reported stuck ("Reboot required!")', async () => {
  const { logs, sleeps, agents, runner } = setup(1);
  agents[0]!.running = true;
  agents[0]!.failStops = 100;
  agents[0]!.stopLeavesRunning = true;
  assert.deepEqual(await runner.release(), { ok: false, stuck: ['r1'] });
  assert.equal(sleeps.length, 10);
  assert.ok(logs.includes('CRIT: Resource STOP failure. Reboot required!'));
});

test('a stop that fails but leaves the resource stopped is the non-LSB script case, not a reboot', async () => {
  const { logs, agents, runner } = setup(1);
  agents[0]!.running = true;
  agents[0]!.failStops = 100;
  assert.deepEqual(await runner.release(), { ok: true });
  assert.ok(logs.includes('WARN: Machine reboot narrowly avoided!'));
});

test('a member whose start is idempotent (the address agents) is started without a status call first', async () => {
  const { journal, agents, runner } = setup(2);
  Object.assign(agents[0]!, { startIsIdempotent: true });
  agents[0]!.running = true;
  for (const a of agents) a.journalStatus = true;
  assert.deepEqual(await runner.acquire(), { ok: true });
  // r1: start only (it takes an address already there over itself); r2: status, then start.
  assert.deepEqual(journal, ['start r1', 'status r2', 'start r2']);
});

test('adjacent parallel-safe members (a dual-stack group) start together and stop together; scripts keep order', async () => {
  const { journal, agents, runner } = setup(4);
  // r1 a script, r2 and r3 the two addresses, r4 a script: [r1] [r2 r3] [r4].
  for (const a of [agents[1]!, agents[2]!]) Object.assign(a, { parallelSafe: true });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const slow = agents[1]!;
  const start = slow.start.bind(slow);
  slow.start = async () => {
    journal.push('r2 waiting');
    await gate;
    return start();
  };
  const acquired = runner.acquire();
  // r3 starts while r2 is still waiting: the two addresses go in at once, r4 only after both.
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(journal, ['start r1', 'r2 waiting', 'start r3']);
  release();
  assert.deepEqual(await acquired, { ok: true });
  assert.deepEqual(journal, ['start r1', 'r2 waiting', 'start r3', 'start r2', 'start r4']);
  journal.length = 0;
  assert.deepEqual(await runner.release(), { ok: true });
  assert.deepEqual(journal, ['stop r4', 'stop r3', 'stop r2', 'stop r1']);
});

test('a failed start in a parallel batch gives the whole group up, naming the member that failed', async () => {
  const { logs, agents, runner } = setup(2);
  for (const a of agents) Object.assign(a, { parallelSafe: true });
  agents[1]!.failStarts = 1;
  const r = await runner.acquire();
  assert.deepEqual(r, { ok: false, failed: 'r2', detail: 'Return code 1 from r2', releasedCleanly: true });
  assert.ok(logs.includes('CRIT: Giving up resources due to failure of r2'), logs.join('\n'));
  assert.equal(agents[0]!.running, false);
});
