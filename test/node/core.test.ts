/**
 * NodeCore alone, fed what the wire layer would hand it: the decisions the daemon and the simulator share.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NodeCore, type CoreAction } from '../../src/node/core.js';
import { simConfig } from '../../src/sim/config.js';
import { msg, str, type Accepted } from '../../src/wire/index.js';

const G1 = 'IPaddr::10.0.0.1';
const G2 = 'IPaddr::10.0.0.2';

function core(): NodeCore {
  const config = simConfig({
    nodes: ['node1', 'node2'],
    localNode: 'node1',
    groups: [
      [G1, 'node1'],
      [G2, 'node2'],
    ],
  });
  return new NodeCore({ config, now: 0, pid: 1 });
}

function accepted(type: string, seq: number, fields: Array<[string, string]>, late = false): Accepted {
  return {
    kind: 'accepted',
    message: msg(str('t', type), ...fields.map(([k, v]) => str(k, v))),
    type,
    from: 'node2',
    control: {
      type,
      src: 'node2',
      srcuuid: undefined,
      seq,
      generation: 7,
      tsSeconds: 1,
      dest: undefined,
      destuuid: undefined,
    },
    self: false,
    restart: false,
    late,
    handled: false,
  };
}

const status = (seq: number) =>
  accepted('status', seq, [
    ['st', 'active'],
    ['dt', '2710'],
    ['protocol', '1'],
  ]);
const resource = (seq: number, hold: string, late = false) =>
  accepted(
    'resource',
    seq,
    [
      ['rsc_hold', hold],
      ['rtype', 'full'],
      ['isstable', '1'],
    ],
    late,
  );
const kinds = (a: CoreAction[]) => a.map((x) => x.kind);

test('an older holdings announcement that arrives late does not overwrite a newer one', () => {
  const c = core();
  c.start(0);
  c.received(status(1), 'eth0', 10);
  // node2 said it holds everything (seq 5), then that it holds only its own group (seq 9).
  c.received(resource(9, 'local'), 'eth0', 20);
  assert.deepEqual(c.engine.snapshot().peers[0]?.holds, [G2]);
  // The retransmission of seq 5 (a gap it filled) comes in after seq 9.
  const late = c.received(resource(5, 'all', true), 'eth0', 30);
  assert.deepEqual(c.engine.snapshot().peers[0]?.holds, [G2]);
  assert.ok(late.some((a) => a.kind === 'log' && a.text.includes('older than what it announced since')));
  // A later one is applied as usual.
  c.received(resource(12, 'none'), 'eth0', 40);
  assert.deepEqual(c.engine.snapshot().peers[0]?.holds, []);
});

test('start: the first status goes out at once, then the heartbeat and the liveness check are armed', () => {
  const c = core();
  const a = c.start(0);
  assert.ok(a.some((x) => x.kind === 'send' && x.msg.t === 'status'));
  assert.ok(a.some((x) => x.kind === 'setTimer' && x.name === 'beat' && x.ms === 1000));
  assert.ok(kinds(a).includes('beat'));
});

test('a shutdown hands over and ends with `stopped`; a timer after it does nothing', () => {
  const c = core();
  c.start(0);
  const a = c.shutdown();
  assert.ok(a.some((x) => x.kind === 'log' && x.text === 'Heartbeat shutdown in progress. (1)'));
  // Nothing held: shutdone at once, then stopped.
  assert.ok(a.some((x) => x.kind === 'send' && x.msg.t === 'shutdone'));
  assert.ok(kinds(a).includes('stopped'));
  assert.deepEqual(c.timer('beat', 2000), []);
});

test("a late `starting` (overtaken by the peer's next announcement) is still answered, but wipes nothing", () => {
  const c = core();
  c.start(0);
  c.received(status(1), 'eth0', 10);
  c.received(resource(9, 'local'), 'eth0', 20);
  const a = c.received(accepted('starting', 8, [], true), 'eth0', 30);
  assert.ok(
    a.some((x) => x.kind === 'send' && x.msg.t === 'resource'),
    'our holdings go out as the answer',
  );
  assert.deepEqual(c.engine.snapshot().peers[0]?.holds, [G2]);
});
