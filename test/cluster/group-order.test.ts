/**
 * vigil_group_nodes: a group runs only on its listed nodes, the first taking part wins, and failback follows the
 * order. (The simulation gives random lists to 3- to 5-node clusters and checks nothing runs outside them.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterEngine } from '../../src/cluster/engine.js';
import type { ClusterAction } from '../../src/cluster/types.js';
import { simConfig } from '../../src/sim/config.js';

const G = 'IPaddr::10.0.0.1';
const NODES = ['node1', 'node2', 'node3', 'node4'];

function engine(local: string, list: string[] | undefined): ClusterEngine {
  return new ClusterEngine(
    simConfig({
      nodes: NODES,
      localNode: local,
      groups: [[G, 'node1']],
      groupNodes: list === undefined ? [] : [[G, list]],
    }),
  );
}

const acquires = (a: ClusterAction[]) => a.flatMap((x) => (x.kind === 'acquire' ? [x.group] : []));

/** `me` alone with `alive` peers (all settled, holding nothing), node1 never heard: who adopts G? */
function adopts(me: string, alive: string[], list: string[] | undefined): boolean {
  const e = engine(me, list);
  for (const p of alive) e.handle({ kind: 'nodeAlive', node: p });
  const out = e.handle({ kind: 'commUp' });
  for (const p of alive)
    out.push(
      ...e.handle({
        kind: 'message',
        from: p,
        generation: 1,
        msg: { t: 'resource', rscHold: 'none', isstable: true, info: undefined, groups: [] },
      }),
    );
  return acquires(out).includes(G);
}

test('without a list: the preferred node, then `node` order (node2 before node3)', () => {
  assert.equal(adopts('node2', ['node3', 'node4'], undefined), true);
  assert.equal(adopts('node3', ['node2', 'node4'], undefined), false);
});

test('with a list: its order (node3 before node2), and never a node it leaves out', () => {
  const list = ['node1', 'node3', 'node2'];
  assert.equal(adopts('node3', ['node2', 'node4'], list), true);
  assert.equal(adopts('node2', ['node3', 'node4'], list), false);
  // node3 down: node2 is next; node4 is never allowed, even alone.
  assert.equal(adopts('node2', ['node4'], list), true);
  assert.equal(adopts('node4', [], list), false);
});
