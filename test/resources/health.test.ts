import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HealthMonitor,
  parseHealthCheck,
  type CheckOutcome,
  type HealthCheckSpec,
  type HealthLog,
} from '../../src/resources/health.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { VigilError, VigilErrors, isVigilError } from '../../src/util/errors.js';
import { parseHaCf } from '../../src/config/hacf.js';
import { analyzeConfig, compileConfig, type ConfigSources } from '../../src/config/compile.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function spec(over: Partial<HealthCheckSpec> = {}): HealthCheckSpec {
  return {
    id: 'web:apache',
    group: 'web',
    target: { kind: 'resource', resource: 'apache' },
    intervalMs: 1000,
    timeoutMs: 500,
    rise: 2,
    fall: 3,
    maxRestarts: 1,
    graceMs: 1000,
    failureTimeoutMs: 0,
    ...over,
  };
}

/** A monitor whose check outcomes the test sets, with every action recorded. */
function rig(specs: HealthCheckSpec[], restartOk = true) {
  const clock = new SimulatedClock(0, 1_700_000_000_000);
  const outcome: { next: CheckOutcome | 'hang' } = { next: { ok: true } };
  const events: string[] = [];
  const lines: [string, string][] = [];
  let checks = 0;
  const log: HealthLog = (l, t) => lines.push([l, t]);
  const m = new HealthMonitor(specs, {
    scheduler: clock,
    runCheck: () => {
      checks++;
      const o = outcome.next;
      return o === 'hang' ? new Promise<CheckOutcome>(() => undefined) : Promise.resolve(o);
    },
    actions: {
      log,
      restartGroup: (g) => {
        events.push(`restart ${g}`);
        return Promise.resolve(restartOk);
      },
      handOver: (g, reason) => events.push(`handover ${g}: ${reason}`),
    },
  });
  const tick = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms; i += 100) {
      clock.advance(100);
      await settle();
    }
  };
  return { clock, outcome, events, lines, m, tick, checks: () => checks };
}

test('fall failures restart in place; after maxRestarts the group is handed over and the node is ineligible until cleared', async () => {
  const r = rig([spec()]);
  r.m.groupStarted('web');
  assert.equal(r.m.snapshot()[0]?.state, 'up');
  await r.tick(1000);
  assert.equal(r.checks(), 1, 'first check after the grace period');
  r.outcome.next = { ok: false, detail: 'status says not running: apache2 is not running' };
  await r.tick(2000);
  assert.deepEqual(r.events, [], 'two failures < fall=3');
  await r.tick(1000);
  assert.deepEqual(r.events, ['restart web']);
  const s1 = r.m.snapshot()[0];
  assert.equal(s1?.state, 'down');
  assert.equal(s1.failCount, 1);
  assert.equal(s1.restarts, 1);
  assert.equal(s1.lastFailure?.detail, 'status says not running: apache2 is not running');
  assert.equal(s1.lastFailure.atWallMs, 1_700_000_000_000 + 4000);
  // The restart did not heal it: three more failures and restarts are exhausted.
  await r.tick(3000);
  assert.deepEqual(r.events, [
    'restart web',
    'handover web: health check web:apache still failing after 1 restart(s): status says not running: apache2 is not running',
  ]);
  assert.equal(r.m.isEligible('web'), false);
  assert.deepEqual(r.m.ineligibleGroups(), ['web']);
  assert.equal(r.m.snapshot()[0]?.failCount, 2);
  const n = r.checks();
  await r.tick(10_000);
  assert.equal(r.checks(), n, 'no checks once failed');
  // Released by the daemon, started again elsewhere: still ineligible here until the operator clears.
  r.m.groupStopped('web');
  assert.equal(r.m.isEligible('web'), false);
  r.m.groupStarted('web');
  assert.equal(r.m.snapshot()[0]?.state, 'failed');
  assert.deepEqual(r.m.clear('web'), ['web:apache']);
  assert.equal(r.m.isEligible('web'), true);
  const cleared = r.m.snapshot()[0];
  assert.equal(cleared?.failCount, 0);
  assert.equal(cleared.lastFailure, undefined);
  assert.equal(cleared.state, 'idle');
  assert.deepEqual(
    r.lines.filter(([l]) => l !== 'WARN').map(([l, t]) => `${l}: ${t}`),
    [
      'ERROR: Health check [web:apache] of group web is down: restarting the group in place (1/1).',
      'CRIT: Health check [web:apache]: health check web:apache still failing after 1 restart(s): status says not running: apache2 is not running. Handing group web to a healthy peer.',
    ],
  );
  assert.equal(r.lines.filter(([l]) => l === 'WARN').length, 6);
});

test('rise: after a restart the check needs rise successes to be up; isolated failures below fall do nothing', async () => {
  const r = rig([spec({ maxRestarts: 3 })]);
  r.m.groupStarted('web');
  r.outcome.next = { ok: false, detail: 'x' };
  await r.tick(3000);
  assert.deepEqual(r.events, ['restart web']);
  r.outcome.next = { ok: true };
  await r.tick(1000);
  assert.equal(r.m.snapshot()[0]?.state, 'down');
  await r.tick(1000);
  assert.equal(r.m.snapshot()[0]?.state, 'up');
  assert.ok(r.lines.some(([, t]) => t === 'Health check [web:apache] of group web is up again.'));
  // fail, fail, ok, fail, fail: never three in a row.
  for (const ok of [false, false, true, false, false, true]) {
    r.outcome.next = ok ? { ok: true } : { ok: false, detail: 'flap' };
    await r.tick(1000);
  }
  assert.deepEqual(r.events, ['restart web']);
});

test('a hung check counts as failed at its timeout; maxRestarts=0 hands over at once; stop ignores late results', async () => {
  const r = rig([spec({ maxRestarts: 0, fall: 1 })]);
  r.m.groupStarted('web');
  r.outcome.next = 'hang';
  await r.tick(1000);
  assert.deepEqual(r.events, []);
  await r.tick(500);
  assert.deepEqual(r.events, ['handover web: health check web:apache failed: timed out after 500 ms']);

  const r2 = rig([spec({ fall: 1 })]);
  r2.m.groupStarted('web');
  r2.outcome.next = 'hang';
  await r2.tick(1200);
  r2.m.groupStopped('web');
  await r2.tick(5000);
  assert.deepEqual(r2.events, [], 'a check of a released group has no effect');
  assert.equal(r2.m.snapshot()[0]?.state, 'idle');
});

test('a failed restart hands over; failures older than failure_timeout are forgotten', async () => {
  const r = rig([spec({ fall: 1 })], false);
  r.m.groupStarted('web');
  r.outcome.next = { ok: false, detail: 'dead' };
  await r.tick(1000);
  assert.deepEqual(r.events, ['restart web', 'handover web: restart in place of group web failed']);

  const r2 = rig([spec({ fall: 1, maxRestarts: 1, failureTimeoutMs: 60_000 })]);
  r2.m.groupStarted('web');
  r2.outcome.next = { ok: false, detail: 'dead' };
  await r2.tick(1000);
  assert.deepEqual(r2.events, ['restart web']);
  r2.outcome.next = { ok: true };
  await r2.tick(120_000);
  r2.outcome.next = { ok: false, detail: 'dead again' };
  await r2.tick(1000);
  assert.deepEqual(r2.events, ['restart web', 'restart web'], 'the old failure expired: a restart again, no handover');
  assert.equal(r2.m.snapshot()[0]?.failCount, 1);
});

test('checks of other groups are independent; a restart pauses every check of its group', async () => {
  const r = rig([
    spec(),
    spec({ id: 'web:port', target: { kind: 'command', argv: ['/bin/true'] } }),
    spec({ id: 'db:pg', group: 'db' }),
  ]);
  r.m.groupStarted('web');
  await r.tick(5000);
  const snap = r.m.snapshot();
  assert.deepEqual(
    snap.map((s) => [s.id, s.state]),
    [
      ['web:apache', 'up'],
      ['web:port', 'up'],
      ['db:pg', 'idle'],
    ],
  );
  assert.equal(r.checks(), 10);
});

test('parseHealthCheck: keys, targets, defaults and errors', () => {
  const s = parseHealthCheck(
    '192.168.1.50 interval=5 timeout=500ms fall=2 restarts=0 command /usr/lib/nagios/plugins/check_ssh -H 127.0.0.1',
    {
      file: '/etc/ha.d/ha.cf',
      line: 12,
    },
  );
  assert.equal(s.id, '192.168.1.50:check_ssh');
  assert.equal(s.group, '192.168.1.50');
  assert.deepEqual(s.target, { kind: 'command', argv: ['/usr/lib/nagios/plugins/check_ssh', '-H', '127.0.0.1'] });
  assert.equal(s.intervalMs, 5000);
  assert.equal(s.timeoutMs, 500);
  assert.equal(s.fall, 2);
  assert.equal(s.rise, 2);
  assert.equal(s.maxRestarts, 0);
  assert.equal(s.graceMs, 5000);
  const r = parseHealthCheck('web id=apache-status rise=1 grace=30 resource apache');
  assert.deepEqual(
    [r.id, r.target, r.rise, r.graceMs, r.intervalMs],
    ['apache-status', { kind: 'resource', resource: 'apache' }, 1, 30_000, 10_000],
  );
  const bad = (text: string, re: RegExp): void => {
    assert.throws(
      () => parseHealthCheck(text, { file: 'ha.cf', line: 3 }),
      (e) =>
        e instanceof VigilError && e.code === 'VIGIL_ERR_HEALTH_CONFIG' && re.test(e.message) && e.location?.line === 3,
      text,
    );
  };
  bad('', /missing group/);
  bad('web interval=2s resource x', /interval=2s: expected a time/);
  bad('web colour=red resource x', /unknown key \[colour\]/);
  bad('web resource', /resource takes one name/);
  bad('web command', /command needs a program/);
  bad('web command check_ssh', /absolute path/);
  bad('web ping 1.2.3.4', /expected "resource <name>" or "command <path> \[args\]", got \[ping\]/);
  bad('web interval=50ms resource x', /interval below 100 ms/);
  bad('web fall=0 resource x', /rise and fall must be at least 1/);
  assert.throws(
    () =>
      new HealthMonitor([spec(), spec()], {
        scheduler: new SimulatedClock(),
        runCheck: () => Promise.resolve({ ok: true }),
        actions: { log: () => undefined, restartGroup: () => Promise.resolve(true), handOver: () => undefined },
      }),
    (e) => isVigilError(e) && /duplicate health check id/.test(e.message),
  );
});

test('ha.cf: vigil_health_check lines accumulate with their origin; bad lines and duplicate ids name file and line', () => {
  const base = 'node node1 node2\nbcast eth1\n';
  const { hacf } = parseHaCf(
    `${base}vigil_health_check web fall=2 resource apache\nvigil_health_check web id=ssh restarts=0 command /usr/lib/nagios/plugins/check_ssh localhost\n`,
    { file: '/etc/ha.d/ha.cf', localNode: 'node1' },
  );
  assert.deepEqual(
    hacf.vigil.healthChecks.map((c) => [c.id, c.group, c.fall, c.maxRestarts, c.origin?.line]),
    [
      ['web:apache', 'web', 2, 1, 3],
      ['ssh', 'web', 3, 0, 4],
    ],
  );
  assert.deepEqual(parseHaCf(base, { file: 'ha.cf', localNode: 'node1' }).hacf.vigil.healthChecks, []);
  assert.throws(
    () =>
      parseHaCf(
        `${base}vigil_health_check web resource a\nvigil_health_check web resource a\nvigil_health_check web fall=x resource b\n`,
        {
          file: '/etc/ha.d/ha.cf',
          localNode: 'node1',
        },
      ),
    (e) =>
      e instanceof VigilErrors &&
      e.errors.length === 2 &&
      e.errors[0]?.format() === '/etc/ha.d/ha.cf:4: vigil_health_check: duplicate id [web:a] (give one with id=NAME)' &&
      e.errors[1]?.format() === '/etc/ha.d/ha.cf:5: vigil_health_check: fall=x: expected a whole number',
  );
});

test('compileConfig: a health check must name a haresources group and, for resource, one of its members', () => {
  const hacf =
    'node node1 node2\nbcast eth1\n' +
    'vigil_health_check 192.168.1.50 resource apache\n' +
    'vigil_health_check 192.168.1.50 resource IPaddr2::192.168.1.60\n' +
    'vigil_health_check 192.168.1.99 resource apache\n' +
    'vigil_health_check 192.168.1.50 resource squid\n';
  const src = (h: string): ConfigSources => ({
    configDir: '/etc/ha.d',
    localNode: 'node1',
    hacf: { file: '/etc/ha.d/ha.cf', text: h },
    authkeys: { file: '/etc/ha.d/authkeys', text: 'auth 1\n1 sha1 k\n', mode: 0o600 },
    haresources: { file: '/etc/ha.d/haresources', text: 'node1 192.168.1.50 IPaddr2::192.168.1.60 apache\n' },
  });
  const r = analyzeConfig(src(hacf));
  assert.deepEqual(
    r.errors.map((e) => e.format()),
    [
      '/etc/ha.d/ha.cf:5: vigil_health_check: no resource group [192.168.1.99] in haresources (name a group by its first resource)',
      '/etc/ha.d/ha.cf:6: vigil_health_check: group [192.168.1.50] has no resource [squid]',
    ],
  );
  const ok = compileConfig(src(hacf.split('\n').slice(0, 4).join('\n') + '\n'));
  assert.equal(ok.config.hacf.vigil.healthChecks.length, 2);
});
