/**
 * A reload applied to the engine: a group that did not change does not move; new groups are taken up by the usual
 * rule; removed ones are released and forgotten; changed ones are restarted; nodes join and leave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterEngine } from '../../src/cluster/engine.js';
import type { ClusterAction } from '../../src/cluster/types.js';
import { simConfig } from '../../src/sim/config.js';

const G1 = 'IPaddr::10.0.0.1';
const G2 = 'IPaddr::10.0.0.2';
const G3 = 'IPaddr::10.0.0.3';

const cfg = (groups: Array<[string, string]>, nodes = ['node1', 'node2']) =>
  simConfig({ nodes, localNode: 'node1', groups });
const moves = (a: ClusterAction[]) =>
  a.flatMap((x) => (x.kind === 'acquire' || x.kind === 'release' ? [`${x.kind} ${x.group}`] : []));

/** A lone node1 holding G1 (its own) after start-up. */
function holding(): ClusterEngine {
  const e = new ClusterEngine(cfg([[G1, 'node1']]));
  e.handle({ kind: 'commUp' });
  e.handle({ kind: 'acquireDone', group: G1, ok: true });
  assert.equal(e.groupState(G1), 'held');
  return e;
}

test('an added group is started by the usual rule; an unchanged one does not move', () => {
  const e = holding();
  const a = e.reconfigure(
    cfg([
      [G1, 'node1'],
      [G2, 'node1'],
    ]),
    [],
  );
  assert.deepEqual(moves(a), [`acquire ${G2}`]);
  assert.ok(a.some((x) => x.kind === 'transition' && x.transition.group === G2 && x.transition.cause === 'reload'));
  assert.equal(e.groupState(G1), 'held');
});

test('a removed group running here is released, then forgotten; the others stay', () => {
  const e = holding();
  e.reconfigure(
    cfg([
      [G1, 'node1'],
      [G2, 'node1'],
    ]),
    [],
  );
  e.handle({ kind: 'acquireDone', group: G2, ok: true });
  const a = e.reconfigure(cfg([[G1, 'node1']]), []);
  assert.deepEqual(moves(a), [`release ${G2}`]);
  assert.ok(
    a.some((x) => x.kind === 'transition' && x.transition.reason === 'reload' && x.transition.to === 'releasing'),
  );
  const done = e.handle({ kind: 'releaseDone', group: G2, ok: true });
  assert.deepEqual(moves(done), []);
  assert.deepEqual(
    e.snapshot().groups.map((g) => g.key),
    [G1],
  );
  assert.equal(e.groupState(G1), 'held');
});

test('a group whose resources changed is stopped and started again; one still starting is restarted once started', () => {
  const e = holding();
  const a = e.reconfigure(cfg([[G1, 'node1']]), [G1]);
  assert.deepEqual(moves(a), [`release ${G1}`]);
  const back = e.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.deepEqual(moves(back), [`acquire ${G1}`]);
  // While it starts, another change: it is stopped once the start completes, then started again.
  assert.deepEqual(moves(e.reconfigure(cfg([[G1, 'node1']]), [G1])), []);
  assert.deepEqual(moves(e.handle({ kind: 'acquireDone', group: G1, ok: true })), [`release ${G1}`]);
  assert.deepEqual(moves(e.handle({ kind: 'releaseDone', group: G1, ok: true })), [`acquire ${G1}`]);
});

test('nodes join and leave: a new node is unknown until heard; a removed one no longer counts', () => {
  const e = holding();
  e.reconfigure(cfg([[G1, 'node1']], ['node1', 'node2', 'node3']), []);
  assert.deepEqual(e.nodes, ['node1', 'node2', 'node3']);
  assert.deepEqual(
    e.snapshot().peers.map((p) => p.name),
    ['node2', 'node3'],
  );
  e.reconfigure(cfg([[G1, 'node1']], ['node1', 'node3']), []);
  assert.deepEqual(
    e.snapshot().peers.map((p) => p.name),
    ['node3'],
  );
  assert.equal(e.groupState(G1), 'held');
});

test('a group whose preferred node changed goes there by auto_failback, when that node is up', () => {
  const e = new ClusterEngine(cfg([[G3, 'node1']]));
  e.handle({ kind: 'nodeAlive', node: 'node2' });
  e.handle({ kind: 'commUp' });
  e.handle({
    kind: 'message',
    from: 'node2',
    generation: 1,
    msg: { t: 'resource', rscHold: 'none', isstable: true, info: undefined, groups: undefined },
  });
  e.handle({ kind: 'acquireDone', group: G3, ok: true });
  assert.equal(e.groupState(G3), 'held');
  const a = e.reconfigure(cfg([[G3, 'node2']]), []);
  assert.ok(
    a.some((x) => x.kind === 'send' && x.msg.t === 'ask_resources' && x.msg.info === 'me'),
    JSON.stringify(a),
  );
});

test('a group removed while a standby hands it over no longer holds the standby up', () => {
  // Sim seed 122023: the reload forgot the group once released, and the standby waited for ever for it.
  const e = new ClusterEngine(
    cfg([
      [G1, 'node1'],
      [G2, 'node1'],
    ]),
  );
  e.handle({ kind: 'nodeAlive', node: 'node2' });
  e.handle({ kind: 'commUp' });
  const rsc = { t: 'resource', rscHold: 'none', isstable: true, info: undefined, groups: undefined } as const;
  e.handle({ kind: 'message', from: 'node2', generation: 1, msg: rsc });
  e.handle({ kind: 'acquireDone', group: G1, ok: true });
  e.handle({ kind: 'acquireDone', group: G2, ok: true });
  e.handle({ kind: 'command', command: { op: 'standby', which: 'all' } });
  const other = { t: 'ask_resources', rscHold: 'all', info: 'other', dest: undefined, groups: undefined } as const;
  assert.deepEqual(moves(e.handle({ kind: 'message', from: 'node2', generation: 1, msg: other })), [
    `release ${G1}`,
    `release ${G2}`,
  ]);
  e.reconfigure(cfg([[G1, 'node1']]), []);
  e.handle({ kind: 'releaseDone', group: G2, ok: true });
  const done = e.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.ok(done.some((x) => x.kind === 'send' && x.msg.t === 'ask_resources' && x.msg.info === 'done'));
});
