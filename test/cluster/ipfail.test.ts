/**
 * Built-in ipfail under simulated time: two nodes, each the real ClusterEngine plus the ipfail state machine,
 * wired the way src/node/core.ts wires them, over a simulated network (2 ms per message) with resource
 * starts and stops that take 10 ms. The ping-node counts are set by the test.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { test } from 'node:test';
import { ClusterEngine } from '../../src/cluster/engine.js';
import {
  engineContext,
  FAILBACK_TIMER,
  GIVEUP_TIMER,
  Ipfail,
  ipfailSetup,
  type IpfailAction,
  type IpfailContext,
  type IpfailEvent,
  type IpfailMessage,
} from '../../src/cluster/ipfail.js';
import { fromFields, toFields, type EngineMessage } from '../../src/cluster/protocol.js';
import type { ClusterAction, ClusterEvent } from '../../src/cluster/types.js';
import type { AutoFailback, CompiledConfig, RespawnConfig } from '../../src/config/types.js';
import { simConfig } from '../../src/sim/config.js';
import { SimulatedClock, type TimerHandle } from '../../src/util/clock.js';

const G1 = 'IPaddr::192.168.1.50/24/eth1';
const KEEPALIVE = 1000;
const DEADPING = 5000;
const NET_MS = 2;
const RSC_MS = 10;

function config(local: string, autoFailback: AutoFailback = 'on'): CompiledConfig {
  const c = simConfig({
    nodes: ['linux1', 'linux2'],
    localNode: local,
    groups: [[G1, 'linux1']],
    keepaliveMs: KEEPALIVE,
    autoFailback,
    pingNodes: ['192.168.1.1'],
  });
  return { ...c, hacf: { ...c.hacf, deadpingMs: DEADPING } };
}

const isIpfail = (m: EngineMessage): m is IpfailMessage =>
  m.t === 'num_ping_nodes' || m.t === 'you_are_dead' || m.t === 'abort_giveup';

class SimNode {
  readonly engine: ClusterEngine;
  readonly ipfail: Ipfail;
  readonly logs: Array<{ at: number; text: string }> = [];
  readonly sent: EngineMessage[] = [];
  other!: SimNode;
  alive = true;
  peerUp = false;
  private readonly engineTimers = new Map<string, TimerHandle>();
  private readonly ipfailTimers = new Map<string, TimerHandle>();

  constructor(
    readonly name: string,
    readonly clock: SimulatedClock,
    autoFailback: AutoFailback,
  ) {
    const c = config(name, autoFailback);
    this.engine = new ClusterEngine(c);
    const setup = ipfailSetup({ ...c, hacf: { ...c.hacf, respawn: [respawn('/usr/lib/heartbeat/ipfail')] } });
    assert.ok(setup.options !== undefined);
    this.ipfail = new Ipfail(setup.options);
  }

  get peerName(): string {
    return this.other.name;
  }

  holds(): string[] {
    return this.engine
      .snapshot()
      .groups.filter((g) => g.state !== 'none')
      .map((g) => g.key);
  }

  texts(): string[] {
    return this.logs.map((l) => l.text);
  }

  firstLog(re: RegExp): number | undefined {
    return this.logs.find((l) => re.test(l.text))?.at;
  }

  handle(ev: ClusterEvent): void {
    if (!this.alive) return;
    for (const a of this.engine.handle(ev)) {
      this.exec(a, this.engineTimers, (name) => {
        this.handle({ kind: 'timer', name });
      });
    }
  }

  ipf(ev: IpfailEvent): void {
    if (!this.alive) return;
    for (const a of this.ipfail.handle(ev, engineContext(this.engine, this.peerName))) {
      this.exec(a, this.ipfailTimers, (name) => {
        this.ipf({ kind: 'timer', name });
      });
    }
  }

  /** What the daemon does with a peer's message: engine first, then ipfail. */
  receive(m: EngineMessage): void {
    if (!this.alive) return;
    this.handle({ kind: 'message', from: this.peerName, generation: 1, msg: m });
    if (isIpfail(m)) this.ipf({ kind: 'message', msg: m });
  }

  private send(m: EngineMessage): void {
    this.sent.push(m);
    const to = this.other;
    this.clock.setTimeout(() => {
      if (this.alive) to.receive(m);
    }, NET_MS);
  }

  private timer(map: Map<string, TimerHandle>, name: string, ms: number | undefined, fire: () => void): void {
    const old = map.get(name);
    if (old !== undefined) this.clock.clearTimeout(old);
    map.delete(name);
    if (ms === undefined) return;
    map.set(
      name,
      this.clock.setTimeout(() => {
        map.delete(name);
        fire();
      }, ms),
    );
  }

  /** Engine and ipfail actions alike; each machine keeps its own timers. */
  private exec(a: ClusterAction | IpfailAction, timers: Map<string, TimerHandle>, fire: (name: string) => void): void {
    switch (a.kind) {
      case 'send':
        this.send(a.msg);
        return;
      case 'log':
        this.logs.push({ at: this.clock.now(), text: a.text });
        return;
      case 'standby':
        this.handle({ kind: 'command', command: { op: 'standby', which: a.which } });
        return;
      case 'acquire':
      case 'release': {
        const done = a.kind === 'acquire' ? 'acquireDone' : 'releaseDone';
        this.clock.setTimeout(() => {
          this.handle({ kind: done, group: a.group, ok: true });
        }, RSC_MS);
        return;
      }
      case 'setTimer':
        this.timer(timers, a.name, a.ms, () => {
          fire(a.name);
        });
        return;
      case 'cancelTimer':
        this.timer(timers, a.name, undefined, () => undefined);
        return;
      case 'transition':
      case 'reannounce':
      case 'stonith':
      case 'shutdownComplete':
      case 'reboot':
      case 'claim': // no vigil_quorum in these clusters
      case 'disown':
        return;
    }
  }

  /** Ping node count as membership would report it. */
  count(n: number): void {
    this.ipf({ kind: 'localCount', count: n, known: true });
  }

  /** The peer died (deadtime ran out) as membership reports it to the engine and ipfail. */
  peerDied(): void {
    this.handle({ kind: 'nodeDead', node: this.peerName, generation: 1 });
    this.ipf({ kind: 'peerDown' });
  }
}

/** Two nodes that met, negotiated (linux1 holds G1) and both see the one ping node; returns at t=0 + settle. */
function cluster(autoFailback: AutoFailback = 'on'): { clock: SimulatedClock; n1: SimNode; n2: SimNode } {
  const clock = new SimulatedClock(0);
  const n1 = new SimNode('linux1', clock, autoFailback);
  const n2 = new SimNode('linux2', clock, autoFailback);
  n1.other = n2;
  n2.other = n1;
  for (const n of [n1, n2]) {
    n.handle({ kind: 'nodeAlive', node: n.peerName, generation: 1 });
    n.ipf({ kind: 'peerUp' });
  }
  for (const n of [n1, n2]) n.handle({ kind: 'commUp' });
  // Both starting: Heartbeat's 10 s fallback, then each takes its own groups.
  clock.advance(11_000);
  for (const n of [n1, n2]) n.count(1);
  clock.advance(1000);
  assert.deepEqual(n1.holds(), [G1]);
  assert.deepEqual(n2.holds(), []);
  for (const n of [n1, n2]) {
    n.logs.length = 0;
    n.sent.length = 0;
  }
  return { clock, n1, n2 };
}

function respawn(path: string, failfast = false): RespawnConfig {
  return { user: 'hacluster', argv: [path], failfast, origin: { file: '/etc/ha.d/ha.cf', line: 12 } };
}

test('fewer visible ping nodes: linux1 gives up all its groups 2 x keepalive later, to linux2', () => {
  const { clock, n1, n2 } = cluster();
  const t0 = clock.now();
  n1.count(0);
  assert.deepEqual(n1.sent, [{ t: 'num_ping_nodes', numPing: 0, dest: 'linux2' }]);
  clock.advance(50);
  assert.ok(n2.texts().includes('Telling other node that we have more visible ping nodes.'), n2.texts().join('\n'));
  assert.deepEqual(
    n2.sent.filter((m) => isIpfail(m)),
    [{ t: 'you_are_dead', dest: 'linux1' }],
  );
  assert.ok(n1.texts().includes('Giving up because we were told that we have less ping nodes.'));
  assert.ok(n1.texts().includes('Delayed giveup in 2 seconds.'));
  // Nothing moves before 2 x keepalive.
  clock.advance(2 * KEEPALIVE - 100);
  assert.deepEqual(n1.holds(), [G1]);
  assert.equal(n1.firstLog(/Giving up because we have less visible ping nodes\./), undefined);
  clock.advance(1000);
  const at = n1.firstLog(/^Giving up because we have less visible ping nodes\.$/);
  assert.ok(at !== undefined, n1.texts().join('\n'));
  // The delay counts from the moment linux1 learned it sees fewer (one message round trip after t0).
  assert.ok(at - t0 >= 2 * KEEPALIVE && at - t0 <= 2 * KEEPALIVE + 3 * NET_MS, `gave up at +${at - t0} ms`);
  assert.ok(n1.texts().includes('linux1 wants to go standby [all]'), n1.texts().join('\n'));
  assert.deepEqual(n1.holds(), []);
  assert.deepEqual(n2.holds(), [G1]);
  assert.ok(n2.texts().includes('Standby resource acquisition done [all].'), n2.texts().join('\n'));
});

test('equal counts cancel: both lose the router a moment apart, abort_giveup, nothing moves', () => {
  const { clock, n1, n2 } = cluster();
  n1.count(0);
  clock.advance(500); // linux2 notices later (its deadping timer started from a later echo reply)
  n2.count(0);
  clock.advance(50);
  assert.ok(n1.texts().includes('Ping node count is balanced.'), n1.texts().join('\n'));
  assert.ok(n1.sent.some((m) => m.t === 'abort_giveup' && m.dest === 'linux2'));
  assert.ok(n1.texts().includes('Aborted delayed giveup (1)'), n1.texts().join('\n'));
  clock.advance(30_000);
  assert.equal(n1.firstLog(/less visible ping nodes/), undefined);
  assert.deepEqual(n1.holds(), [G1]);
  assert.deepEqual(n2.holds(), []);
  assert.equal(n1.ipfail.snapshot().giveupPending, false);
});

test('an abort_giveup from the peer cancels our pending give-up', () => {
  const { clock, n1, n2 } = cluster();
  n1.count(0);
  clock.advance(50);
  assert.equal(n1.ipfail.snapshot().giveupPending, true);
  // linux2 loses the router too, but tells it through its answer to linux1's next count.
  n2.count(0);
  n1.ipf({ kind: 'link' });
  clock.advance(50);
  assert.equal(n1.ipfail.snapshot().giveupPending, false);
  clock.advance(10_000);
  assert.deepEqual(n1.holds(), [G1]);
});

test('peer dead: no give-up, whatever it said before', () => {
  const { clock, n1, n2 } = cluster();
  n1.count(0);
  clock.advance(50);
  assert.equal(n1.ipfail.snapshot().giveupPending, true);
  // linux2 crashes before the delay ends.
  n2.alive = false;
  clock.advance(KEEPALIVE);
  n1.peerDied();
  assert.ok(n1.texts().includes('ipfail: not giving up: linux2 is dead.'), n1.texts().join('\n'));
  clock.advance(10_000);
  assert.equal(n1.firstLog(/less visible ping nodes/), undefined);
  assert.deepEqual(n1.holds(), [G1]);
  // And a count change while it is dead sends nothing.
  n1.sent.length = 0;
  n1.count(1);
  n1.count(0);
  assert.deepEqual(n1.sent, []);
});

test('peer dies right at the deadline: the timer re-checks and does not give up', () => {
  const { clock, n1 } = cluster();
  n1.count(0);
  clock.advance(50);
  // The death reaches ipfail only (e.g. the engine heard it a moment later): still no give-up.
  n1.ipf({ kind: 'peerDown' });
  clock.advance(10_000);
  assert.deepEqual(n1.holds(), [G1]);
});

test('no flapping: a give-up is not repeated while the counts are unchanged', () => {
  const { clock, n1, n2 } = cluster();
  n1.count(0);
  clock.advance(3000);
  assert.deepEqual(n2.holds(), [G1]);
  // The operator moves the group back although nothing changed (hb_takeover on linux1).
  n1.handle({ kind: 'command', command: { op: 'takeover', which: 'all' } });
  clock.advance(1000);
  assert.deepEqual(n1.holds(), [G1]);
  // Link flaps and repeated answers restate the same counts: the operator's choice stands.
  for (let i = 0; i < 5; i++) {
    n1.ipf({ kind: 'link' });
    n2.ipf({ kind: 'link' });
    clock.advance(3 * KEEPALIVE);
  }
  assert.deepEqual(n1.holds(), [G1]);
  assert.equal(n1.texts().filter((t) => t === 'Giving up because we have less visible ping nodes.').length, 1);
  assert.equal(
    n1.texts().filter((t) => t === 'Giving up because we were told that we have less ping nodes.').length,
    1,
    'repeated answers to the same counts are not news',
  );
});

test('no flapping: the node that gained the groups keeps them while the router answers linux1 only now and then', () => {
  const { clock, n1, n2 } = cluster('on');
  n1.count(0);
  clock.advance(3000);
  assert.deepEqual(n2.holds(), [G1]);
  // One stray echo reply: linux1 counts 1 for a moment, then deadping declares the router dead again.
  n1.count(1);
  clock.advance(DEADPING - 1000);
  n1.count(0);
  clock.advance(30_000);
  assert.deepEqual(n2.holds(), [G1], [...n1.texts(), '--', ...n2.texts()].join('\n'));
  assert.ok(n2.texts().includes('ipfail: ping node counts differ again: foreign resources stay here.'));
  assert.equal(n2.firstLog(/Giving up foreign resources/), undefined);
});

test('auto_failback on: once the counts are equal again for deadping, the group goes home', () => {
  const { clock, n1, n2 } = cluster('on');
  n1.count(0);
  clock.advance(3000);
  assert.deepEqual(n2.holds(), [G1]);
  const t1 = clock.now();
  n1.count(1);
  clock.advance(50);
  assert.ok(n2.texts().includes('Ping node count is balanced.'), n2.texts().join('\n'));
  clock.advance(DEADPING - 200);
  assert.deepEqual(n2.holds(), [G1], 'not before deadping');
  clock.advance(1000);
  const at = n2.firstLog(/^Giving up foreign resources \(auto_failback\)\.$/);
  assert.ok(at !== undefined && at - t1 >= DEADPING, n2.texts().join('\n'));
  assert.ok(n2.texts().includes('linux2 wants to go standby [foreign]'));
  assert.deepEqual(n1.holds(), [G1]);
  assert.deepEqual(n2.holds(), []);
  // Home again and nothing else moves.
  clock.advance(30_000);
  assert.deepEqual(n1.holds(), [G1]);
});

test('auto_failback off: equal counts again leave the group where it is', () => {
  const { clock, n1, n2 } = cluster('off');
  n1.count(0);
  clock.advance(3000);
  assert.deepEqual(n2.holds(), [G1]);
  n1.count(1);
  clock.advance(30_000);
  assert.deepEqual(n2.holds(), [G1]);
  assert.equal(n2.firstLog(/Giving up foreign/), undefined);
});

test('linux2 loses the router while holding linux1 group: it gives it back (fewer beats preference)', () => {
  const { clock, n1, n2 } = cluster('off');
  n1.count(0);
  clock.advance(3000);
  assert.deepEqual(n2.holds(), [G1]);
  n1.count(1);
  clock.advance(1000);
  n2.count(0);
  clock.advance(3000);
  assert.deepEqual(n1.holds(), [G1]);
  assert.ok(n2.texts().includes('Giving up because we have less visible ping nodes.'));
});

test('a node that sees fewer but holds nothing gives nothing up and says so', () => {
  const { clock, n1, n2 } = cluster();
  n2.count(0);
  clock.advance(3000);
  assert.ok(n2.texts().includes('ipfail: fewer visible ping nodes, but we hold no resources: nothing to give up.'));
  assert.deepEqual(n1.holds(), [G1]);
});

test('the give-up waits for a hand-over in progress and then happens', () => {
  const ipf = new Ipfail({ me: 'linux1', peer: 'linux2', keepaliveMs: 1000, deadpingMs: 5000, autoFailback: true });
  const busy = { holds: 'transition', canStandby: false } as const;
  const ready = { holds: 'local', canStandby: true } as const;
  ipf.handle({ kind: 'peerUp' }, ready);
  ipf.handle({ kind: 'localCount', count: 0, known: true }, ready);
  const a = ipf.handle({ kind: 'message', msg: { t: 'you_are_dead', dest: 'linux1' } }, ready);
  assert.deepEqual(
    a.filter((x) => x.kind === 'setTimer'),
    [{ kind: 'setTimer', name: GIVEUP_TIMER, ms: 2000 }],
  );
  const retry = ipf.handle({ kind: 'timer', name: GIVEUP_TIMER }, busy);
  assert.deepEqual(
    retry.filter((x) => x.kind !== 'log'),
    [{ kind: 'setTimer', name: GIVEUP_TIMER, ms: 2000 }],
  );
  const done = ipf.handle({ kind: 'timer', name: GIVEUP_TIMER }, ready);
  assert.deepEqual(
    done.filter((x) => x.kind !== 'log'),
    [{ kind: 'standby', which: 'all' }],
  );
  // A stale timer (already handled) does nothing.
  assert.deepEqual(ipf.handle({ kind: 'timer', name: GIVEUP_TIMER }, ready), []);
  assert.deepEqual(ipf.handle({ kind: 'timer', name: FAILBACK_TIMER }, ready), []);
});

test('before every ping node has a verdict the node neither asks nor answers', () => {
  const ipf = new Ipfail({ me: 'linux1', peer: 'linux2', keepaliveMs: 1000, deadpingMs: 5000, autoFailback: true });
  const ctx = { holds: 'none', canStandby: false } as const;
  assert.deepEqual(
    ipf.handle({ kind: 'peerUp' }, ctx).filter((a) => a.kind === 'send'),
    [],
  );
  assert.deepEqual(ipf.handle({ kind: 'localCount', count: 0, known: false }, ctx), []);
  const a = ipf.handle({ kind: 'message', msg: { t: 'num_ping_nodes', numPing: 1, dest: 'linux1' } }, ctx);
  assert.deepEqual(
    a.filter((x) => x.kind !== 'log'),
    [],
  );
  const b = ipf.handle({ kind: 'localCount', count: 1, known: true }, ctx);
  assert.deepEqual(
    b.filter((x) => x.kind === 'send'),
    [{ kind: 'send', msg: { t: 'num_ping_nodes', numPing: 1, dest: 'linux2' } }],
  );
});

test('the real ipfail signing on at the peer gets our count; nothing else is sent unasked', () => {
  const ipf = new Ipfail({ me: 'linux2', peer: 'linux1', keepaliveMs: 1000, deadpingMs: 5000, autoFailback: true });
  const ctx = { holds: 'none', canStandby: true } as const;
  ipf.handle({ kind: 'peerUp' }, ctx);
  ipf.handle({ kind: 'localCount', count: 1, known: true }, ctx);
  // Same count again (membership re-reports after a ping group member change): nothing to say.
  assert.deepEqual(
    ipf.handle({ kind: 'localCount', count: 1, known: true }, ctx).filter((a) => a.kind === 'send'),
    [],
  );
  const a = ipf.handle({ kind: 'peerJoined' }, ctx);
  assert.deepEqual(
    a.map((x) => (x.kind === 'log' ? x.text : x)),
    [
      'Got join message from another ipfail client. (linux1)',
      'Asking other side for ping node count.',
      { kind: 'send', msg: { t: 'num_ping_nodes', numPing: 1, dest: 'linux1' } },
    ],
  );
  // Balanced answers start no further exchange (a real ipfail hands back foreign groups on each one).
  assert.deepEqual(
    ipf
      .handle({ kind: 'message', msg: { t: 'num_ping_nodes', numPing: 1, dest: 'linux2' } }, ctx)
      .filter((x) => x.kind === 'send'),
    [{ kind: 'send', msg: { t: 'abort_giveup', dest: 'linux1' } }],
  );
  assert.deepEqual(
    ipf.handle({ kind: 'message', msg: { t: 'abort_giveup', dest: 'linux2' } }, ctx).filter((x) => x.kind !== 'log'),
    [],
  );
});

test('a you_are_dead that answered an older count is undone by the answer to the current one', () => {
  const ipf = new Ipfail({ me: 'linux1', peer: 'linux2', keepaliveMs: 1000, deadpingMs: 5000, autoFailback: true });
  const ctx = { holds: 'local', canStandby: true } as const;
  ipf.handle({ kind: 'peerUp' }, ctx);
  ipf.handle({ kind: 'localCount', count: 0, known: true }, ctx);
  ipf.handle({ kind: 'localCount', count: 1, known: true }, ctx);
  // The answer to "0" arrives after we sent "1": taken at face value for now...
  ipf.handle({ kind: 'message', msg: { t: 'you_are_dead', dest: 'linux1' } }, ctx);
  assert.equal(ipf.snapshot().giveupPending, true);
  // ...and the answer to "1" (balanced) cancels it before the delay ends.
  const a = ipf.handle({ kind: 'message', msg: { t: 'abort_giveup', dest: 'linux1' } }, ctx);
  assert.deepEqual(
    a.filter((x) => x.kind !== 'log'),
    [{ kind: 'cancelTimer', name: GIVEUP_TIMER }],
  );
  assert.equal(ipf.snapshot().giveupPending, false);
});

test('messages: Heartbeat ipfail field names and order (t, num_ping, dest), decoded back', () => {
  const m: EngineMessage = { t: 'num_ping_nodes', numPing: 2, dest: 'linux2' };
  assert.deepEqual(toFields(m), [
    ['t', 'num_ping_nodes'],
    ['num_ping', '2'],
    ['dest', 'linux2'],
  ]);
  const get = (f: Array<[string, string]>) => (n: string) => f.find(([k]) => k === n)?.[1];
  assert.deepEqual(fromFields(get(toFields(m))), m);
  for (const t of ['you_are_dead', 'abort_giveup'] as const) {
    const x: EngineMessage = { t, dest: 'linux1' };
    assert.deepEqual(toFields(x), [
      ['t', t],
      ['dest', 'linux1'],
    ]);
    assert.deepEqual(fromFields(get(toFields(x))), x);
  }
  assert.ok(fromFields(get([['t', 'num_ping_nodes']])) instanceof Error, 'num_ping is required');
  assert.ok(
    fromFields(
      get([
        ['t', 'num_ping_nodes'],
        ['num_ping', '-1'],
      ]),
    ) instanceof Error,
  );
});

test('enabled by the respawn line, from either Heartbeat path; off with a reason otherwise', () => {
  const base = config('linux1');
  const withLine = (r: RespawnConfig[], over: Partial<CompiledConfig['hacf']> = {}): CompiledConfig => ({
    ...base,
    hacf: { ...base.hacf, respawn: r, ...over },
  });
  assert.deepEqual(ipfailSetup(base), { options: undefined, log: [] });
  for (const p of ['/usr/lib/heartbeat/ipfail', '/usr/libexec/heartbeat/ipfail', '/usr/lib64/heartbeat/ipfail']) {
    const s = ipfailSetup(withLine([respawn(p)]));
    assert.deepEqual(s.options, {
      me: 'linux1',
      peer: 'linux2',
      keepaliveMs: KEEPALIVE,
      deadpingMs: DEADPING,
      autoFailback: true,
    });
    assert.deepEqual(s.log, [
      {
        level: 'info',
        text: `ipfail is built into Vigil: /etc/ha.d/ha.cf:12: respawn hacluster ${p} turns it on; no ipfail process is started.`,
      },
    ]);
  }
  assert.equal(ipfailSetup(withLine([respawn('/usr/lib/heartbeat/dopd')])).options, undefined);
  const three = ipfailSetup(withLine([respawn('/usr/lib/heartbeat/ipfail')], { nodes: ['linux1', 'linux2', 'x'] }));
  assert.equal(three.options, undefined);
  assert.match(three.log[0]?.text ?? '', /not enabled: it needs exactly two nodes, ha.cf has 3\.$/);
  const legacy = ipfailSetup(
    withLine([respawn('/usr/lib/heartbeat/ipfail')], { autoFailback: 'legacy', niceFailback: false }),
  );
  assert.equal(legacy.options, undefined);
  assert.deepEqual(
    legacy.log.map((l) => l.level),
    ['ERROR', 'ERROR'],
  );
  assert.equal(legacy.log[0]?.text, 'auto_failback set to incompatible legacy option.');
  const noPing = ipfailSetup(withLine([respawn('/usr/lib/heartbeat/ipfail')], { pingNodes: [] }));
  assert.match(noPing.log[0]?.text ?? '', /no ping or ping_group node to count/);
});

test('property: whatever the order of events, no give-up while the peer is down, none outside a timer, none twice for the same counts', () => {
  const count = fc.integer({ min: 0, max: 3 });
  const event: fc.Arbitrary<IpfailEvent> = fc.oneof(
    fc.record({ kind: fc.constant('localCount' as const), count, known: fc.boolean() }),
    fc.constant({ kind: 'peerUp' as const }),
    fc.constant({ kind: 'peerDown' as const }),
    fc.constant({ kind: 'link' as const }),
    fc.constant({ kind: 'peerJoined' as const }),
    count.map((n) => ({ kind: 'message' as const, msg: { t: 'num_ping_nodes' as const, numPing: n, dest: 'linux1' } })),
    fc.constant({ kind: 'message' as const, msg: { t: 'you_are_dead' as const, dest: 'linux1' } }),
    fc.constant({ kind: 'message' as const, msg: { t: 'abort_giveup' as const, dest: 'linux1' } }),
    fc.constantFrom(GIVEUP_TIMER, FAILBACK_TIMER).map((name) => ({ kind: 'timer' as const, name })),
  );
  const ctx = fc.record({
    holds: fc.constantFrom<IpfailContext['holds'][]>('none', 'local', 'foreign', 'all', 'transition'),
    canStandby: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.boolean(), fc.array(fc.tuple(event, ctx), { maxLength: 60 }), (autoFailback, steps) => {
      const ipf = new Ipfail({ me: 'linux1', peer: 'linux2', keepaliveMs: 200, deadpingMs: 3000, autoFailback });
      let peerUp = false;
      const armed = new Set<string>();
      let lastGiveUp: string | undefined;
      for (const [ev, c] of steps) {
        if (ev.kind === 'timer' && !armed.has(ev.name)) continue; // only timers that were set fire
        if (ev.kind === 'timer') armed.delete(ev.name);
        if (ev.kind === 'peerUp') peerUp = true;
        if (ev.kind === 'peerDown') peerUp = false;
        const out = ipf.handle(ev, c);
        const s = ipf.snapshot();
        for (const a of out) {
          if (a.kind === 'setTimer') armed.add(a.name);
          if (a.kind === 'cancelTimer') armed.delete(a.name);
          // Answers go to whoever just spoke (its message may overtake its first status); nothing else to a dead peer.
          if (a.kind === 'send') assert.ok(peerUp || ev.kind === 'message', 'nothing is sent to a dead peer');
          if (a.kind !== 'standby') continue;
          assert.equal(ev.kind, 'timer', 'give-ups happen when a delay ends');
          assert.ok(peerUp, 'never to a dead peer');
          assert.ok(c.canStandby && c.holds !== 'none' && c.holds !== 'transition');
          if (a.which === 'foreign') {
            assert.ok(autoFailback);
            assert.equal(s.local, s.peer);
          } else {
            assert.ok(s.local !== undefined && s.peer !== undefined && s.local < s.peer);
            const key = `${s.local}/${s.peer}`;
            assert.notEqual(key, lastGiveUp, 'not repeated for the same counts');
            lastGiveUp = key;
          }
        }
        // Any change of either count ends the "same counts" window.
        if (lastGiveUp !== undefined && `${s.local}/${s.peer}` !== lastGiveUp) lastGiveUp = undefined;
      }
    }),
    { numRuns: 2000 },
  );
});
