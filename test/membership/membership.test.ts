import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Membership, type MembershipEvent } from '../../src/membership/membership.js';
import { simConfig } from '../../src/sim/config.js';

const cfg = (over: Partial<Parameters<typeof simConfig>[0]> = {}) =>
  simConfig({
    nodes: ['node1', 'node2'],
    localNode: 'node1',
    groups: [['IPaddr::10.0.0.1', 'node1']],
    keepaliveMs: 1000,
    deadtimeMs: 10_000,
    initdeadMs: 20_000,
    ...over,
  });

const logs = (ev: MembershipEvent[]) => ev.flatMap((e) => (e.kind === 'log' ? [`${e.level}: ${e.text}`] : []));
const kinds = (ev: MembershipEvent[]) => ev.filter((e) => e.kind !== 'log').map((e) => e.kind);

/** Feed a status every `every` ms from node2 on eth0 and run check() every 250 ms, until `until`. */
function run(m: Membership, from: number, until: number, every: number | undefined, gen = 7, dt = 10_000) {
  const out: Array<[number, MembershipEvent]> = [];
  let nextBeat = from;
  for (let t = from; t <= until; t += 250) {
    if (every !== undefined && t >= nextBeat) {
      for (const e of m.onPacket('node2', 'eth0', t)) out.push([t, e]);
      for (const e of m.onStatus('node2', gen, 'active', dt, t)) out.push([t, e]);
      nextBeat += every;
    }
    for (const e of m.check(t)) out.push([t, e]);
  }
  return out;
}

/** node2's status every 100 ms (dt 2000) up to `until`, each followed by a check; returns the next beat's time. */
function steadyBeats(m: Membership, until: number): number {
  let t = 0;
  for (; t <= until; t += 100) {
    m.onStatus('node2', 7, 'active', 2000, t);
    m.check(t);
  }
  return t;
}

/** A Membership with `vigil_detector adaptive`, its liveness check every 50 ms. */
function adaptiveMembership(c: ReturnType<typeof cfg>): Membership {
  return new Membership({ ...c, hacf: { ...c.hacf, vigil: { ...c.hacf.vigil, detector: 'adaptive' } } }, 0, {
    checkIntervalMs: 50,
  });
}

test('comm comes up once every node was heard, with Heartbeat texts', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  assert.equal(m.localStatus, 'up');
  const ev = [...m.onPacket('node2', 'eth0', 100), ...m.onStatus('node2', 7, 'up', 10_000, 100)];
  assert.deepEqual(logs(ev), [
    'info: Link node2:eth0 up.',
    'info: Status update for node node2: status up',
    'info: Comm_now_up(): updating status to active',
    "info: Local status now set to: 'active'",
  ]);
  assert.deepEqual(kinds(ev), ['linkUp', 'nodeAlive', 'statusChanged', 'commUp']);
  assert.equal(m.localStatus, 'active');
});

test('a node never heard is declared dead at initdead, then comm is up', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  const ev = run(m, 0, 20_500, undefined);
  const dead = ev.find(([, e]) => e.kind === 'nodeDead');
  assert.ok(dead);
  assert.equal(dead[0], 20_250);
  assert.ok(ev.some(([, e]) => e.kind === 'log' && e.text === 'node node2: is dead' && e.level === 'WARN'));
  assert.ok(ev.some(([, e]) => e.kind === 'commUp'));
});

test('deadtime comes from the dt the peer announces, +2000 ms during its first 5 s', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  m.onStatus('node2', 7, 'active', 3000, 0);
  assert.equal(m.timeoutFor('node2', 1000), 5000);
  assert.equal(m.timeoutFor('node2', 6000), 3000);
  // Last status at t=5250: dead 3 s later, not after our own 10 s deadtime.
  const ev = run(m, 250, 6000, 1000, 7, 3000).concat(run(m, 6250, 12_000, undefined));
  const dead = ev.find(([, e]) => e.kind === 'nodeDead');
  assert.ok(dead !== undefined && dead[0] > 8250 && dead[0] <= 8500, String(dead?.[0]));
});

test('a late status is warned about past warntime; the link dies with the node', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  run(m, 0, 6000, 1000);
  const ev = run(m, 6250, 12_500, undefined).concat(run(m, 12_500, 12_500, 1000));
  assert.ok(logs(ev.map((x) => x[1])).includes('WARN: Late heartbeat: Node node2: interval 6500 ms'));
  const ev2 = run(m, 12_750, 23_000, undefined);
  assert.deepEqual(
    logs(ev2.map((x) => x[1])).filter((l) => !l.startsWith('info: Status')),
    ['WARN: node node2: is dead', 'info: Link node2:eth0 dead.'],
  );
});

test('Late heartbeat intervals are whole milliseconds, as Heartbeat prints them', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  m.onStatus('node2', 7, 'active', 10_000, 1000.25);
  const ev = m.onStatus('node2', 7, 'active', 10_000, 7595.570288999996);
  assert.ok(logs(ev).includes('WARN: Late heartbeat: Node node2: interval 6595 ms'), logs(ev).join('\n'));
});

test('same generation after death = partition heal; higher = restart', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  run(m, 0, 3000, 1000);
  run(m, 3250, 14_000, undefined);
  const back = m.onStatus('node2', 7, 'active', 10_000, 14_100);
  assert.deepEqual(logs(back).slice(0, 2), [
    'CRIT: Cluster node node2 returning after partition.',
    'WARN: Deadtime value may be too small.',
  ]);
  assert.ok(kinds(back).includes('nodeReturned'));
  const restart = m.onStatus('node2', 8, 'up', 10_000, 14_900);
  assert.ok(kinds(restart).includes('nodeRestarted'));
  assert.ok(logs(restart).includes('info: Heartbeat restart on node node2'));
  // An older generation is a replay: ignored.
  assert.deepEqual(m.onStatus('node2', 7, 'active', 10_000, 15_000), []);
});

test('a late liveness check is a local stall: deadlines move, nobody is declared dead', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  run(m, 0, 5000, 1000);
  // The process was frozen for 30 s; queued statuses are read first, then the check runs.
  const ev = m.check(35_000);
  assert.ok(kinds(ev).includes('localStall'));
  assert.ok(!kinds(ev).includes('nodeDead'));
  assert.ok(logs(ev)[0]?.startsWith('WARN: Liveness check ran 29750 ms late'));
  // The peer is still judged afterwards: silent for its deadtime after the stall → dead.
  const later = run(m, 35_250, 46_000, undefined);
  assert.ok(later.some(([, e]) => e.kind === 'nodeDead'));
});

test('shutdone marks the peer dead at once, without the deadtime wait', () => {
  const m = new Membership(cfg(), 0, { checkIntervalMs: 250 });
  run(m, 0, 2000, 1000);
  const ev = m.onShutdone('node2', 2100);
  assert.ok(kinds(ev).includes('nodeShutdown'));
  assert.ok(!m.isAlive('node2'));
  assert.ok(logs(ev).includes('info: Link node2:eth0 dead.'));
  // Heartbeat's line for a peer that is gone, shut down or not (what its CTS waits for after a stop), first.
  assert.deepEqual(logs(ev).slice(0, 2), ['WARN: node node2: is dead', 'info: Link node2:eth0 dead.']);
});

test('ping nodes: alive on answer, dead after deadping', () => {
  const m = new Membership(cfg({ pingNodes: ['10.0.0.254'] }), 0, { checkIntervalMs: 250 });
  const a = m.onPing('10.0.0.254', 500);
  assert.ok(kinds(a).includes('pingNodeAlive'));
  assert.equal(m.livePingNodes(), 1);
  const ev = run(m, 750, 11_000, 1000);
  assert.ok(ev.some(([t, e]) => e.kind === 'pingNodeDead' && t > 10_500));
  assert.equal(m.livePingNodes(), 0);
});

test('adaptive detector: a steady peer is declared dead after minBeats missed heartbeats, not after deadtime', () => {
  const c = cfg({ keepaliveMs: 100, deadtimeMs: 2000, initdeadMs: 4000 });
  const m = adaptiveMembership(c);
  let t = 0;
  // Past Heartbeat's early window (first 5 s: deadtime + 2 s).
  for (; t <= 6000; t += 100) {
    m.onPacket('node2', 'eth0', t);
    m.onStatus('node2', 7, 'active', 2000, t);
    m.check(t + 1);
  }
  const last = t - 100;
  assert.equal(m.silenceLimitFor('node2', t), 300);
  const dead: number[] = [];
  const lines: string[] = [];
  for (let now = last + 10; now < last + 2500 && dead.length === 0; now += 10) {
    const ev = m.check(now);
    if (ev.some((e) => e.kind === 'nodeDead')) dead.push(now);
    lines.push(...logs(ev));
  }
  assert.deepEqual(dead, [last + 310], lines.join('\n'));
  assert.ok(
    lines.some((l) => /node node2: silent for 310 ms, past its adaptive limit of 300 ms .*deadtime 2000 ms/.test(l)),
  );
  assert.ok(lines.includes('WARN: node node2: is dead'));
});

test('adaptive detector: jittery heartbeats push the limit up, capped by deadtime; the deadtime detector ignores them', () => {
  const c = cfg({ keepaliveMs: 100, deadtimeMs: 500, initdeadMs: 4000 });
  const adaptive = new Membership({ ...c, hacf: { ...c.hacf, vigil: { ...c.hacf.vigil, detector: 'adaptive' } } }, 0, {
    checkIntervalMs: 50,
  });
  const fixed = new Membership(c, 0, { checkIntervalMs: 50 });
  let t = 0;
  for (let i = 0; i < 60; i++) {
    t += i % 2 === 0 ? 20 : 180; // σ = 80 ms
    for (const m of [adaptive, fixed]) {
      m.onPacket('node2', 'eth0', t);
      m.onStatus('node2', 7, 'active', 500, t);
      m.check(t);
    }
  }
  assert.equal(adaptive.silenceLimitFor('node2', t), 500, '100 + 5.6 × 80 > 500: the deadtime cap');
  assert.equal(fixed.silenceLimitFor('node2', t), 500);
  assert.equal(adaptive.nodes(t).find((n) => n.name === 'node2')?.timeoutMs, 500);
});

test('adaptive detector: a new incarnation starts learning again (deadtime until enough samples)', () => {
  const c = cfg({ keepaliveMs: 100, deadtimeMs: 2000, initdeadMs: 4000 });
  const m = adaptiveMembership(c);
  const t = steadyBeats(m, 2000);
  assert.equal(m.silenceLimitFor('node2', t), 300);
  m.onStatus('node2', 8, 'active', 2000, t);
  assert.equal(m.silenceLimitFor('node2', t), 2000 + 2000, 'restart: deadtime plus the early bonus');
});

test('adaptive detector: a retransmitted backlog is not heartbeats; the limit never drops below minBeats keepalives', () => {
  const c = cfg({ keepaliveMs: 100, deadtimeMs: 2000, initdeadMs: 4000 });
  const m = adaptiveMembership(c);
  const t = steadyBeats(m, 6000);
  // A healed partition: 48 missed statuses come back retransmitted within a few ms of each other.
  for (let i = 0; i < 48; i++) m.onStatus('node2', 7, 'active', 2000, t + i, true);
  assert.equal(m.silenceLimitFor('node2', t + 48), 300, 'late statuses do not count as arrivals');
  assert.deepEqual(kinds(m.onStatus('node2', 7, 'up', 4000, t + 48, true)), [], 'nor roll the status back');
  assert.equal(m.nodes(t + 48).find((n) => n.name === 'node2')?.status, 'active');
  const dead = (from: number) => {
    for (let now = from; now < from + 280; now += 10) if (m.check(now).some((e) => e.kind === 'nodeDead')) return now;
    return undefined;
  };
  assert.equal(dead(t + 60), undefined, 'not dead within 280 ms of the burst: the limit is still 300 ms');
  // Even counted as arrivals (a peer that really beats every 1 ms), the limit stays at 3 of our keepalives.
  const fast = adaptiveMembership(c);
  for (let u = 0; u <= 6000; u += 1) fast.onStatus('node2', 7, 'active', 2000, u);
  assert.equal(fast.silenceLimitFor('node2', 6000), 300);
});

test('a check that runs late against its own due time extends deadlines by the lateness', () => {
  const c = cfg({ keepaliveMs: 100, deadtimeMs: 500, initdeadMs: 4000 });
  const m = new Membership(c, 0, { checkIntervalMs: 50 });
  for (let t = 0; t <= 6000; t += 100) {
    m.onStatus('node2', 7, 'active', 500, t);
    m.check(t);
  }
  // Due at 6050, ran at 6600 (a GC pause, a CPU hog): 550 ms late, beyond the 50 ms margin.
  const ev = m.check(6600, 6050);
  assert.ok(kinds(ev).includes('localStall'));
  assert.ok(!kinds(ev).includes('nodeDead'), 'the 600 ms silence includes our own 550 ms stall');
  assert.ok(!kinds(m.check(7000, 7000)).includes('nodeDead'));
  assert.ok(kinds(m.check(7100, 7100)).includes('nodeDead'));
});
