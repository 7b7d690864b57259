/**
 * More than two nodes (Vigil only), scripted: one engine under test, its peers played by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterEngine } from '../../src/cluster/engine.js';
import { ASK_HOLDINGS_MS, ASK_HOLDINGS_TIMER } from '../../src/cluster/holdings.js';
import type { ClusterAction } from '../../src/cluster/types.js';
import type { EngineMessage } from '../../src/cluster/protocol.js';
import { simConfig } from '../../src/sim/config.js';
import { acquires, msg, sent } from './two-engines.js';

const G1 = 'IPaddr::10.0.0.1';
const G2 = 'IPaddr::10.0.0.2';
const G3 = 'IPaddr::10.0.0.3';

function engine(local: string): ClusterEngine {
  return new ClusterEngine(
    simConfig({
      nodes: ['node1', 'node2', 'node3'],
      localNode: local,
      groups: [
        [G1, 'node1'],
        [G2, 'node2'],
        [G3, 'node3'],
      ],
      autoFailback: 'on',
    }),
  );
}

const resource = (groups: string[], info?: string): EngineMessage => ({
  t: 'resource',
  rscHold: 'local',
  isstable: true,
  info,
  groups,
});
const timers = (a: ClusterAction[]) => a.flatMap((x) => (x.kind === 'setTimer' ? [[x.name, x.ms] as const] : []));

test('a live peer that never answered our `starting` is asked for its holdings until it does', () => {
  // Sim seed 118878 (and 101980, 111165, 114994): node2 restarted; node3 first heard it after its `starting` went
  // out, so never answered. node2 then counted node3 as possibly holding anything: it declined the group node1 handed
  // back (failback `done`) and never adopted it either. Nothing would ever have told it node3's holdings.
  const e = engine('node2');
  e.handle({ kind: 'nodeAlive', node: 'node1' });
  e.handle({ kind: 'nodeAlive', node: 'node3' });
  assert.deepEqual(sent(e.handle({ kind: 'commUp' })), [{ t: 'starting' }]);
  const settled = e.handle(msg('node1', resource([G1, G2])));
  assert.equal(e.snapshot().rstate, 'stable');
  assert.deepEqual(acquires(settled), []);
  assert.deepEqual(timers(settled), [[ASK_HOLDINGS_TIMER, ASK_HOLDINGS_MS]]);

  // node1 gives G2 back (failback): node2 cannot take it while node3 may hold it.
  e.handle(msg('node1', { t: 'ask_resources', rscHold: 'local', info: 'me', dest: 'node2', groups: [G2] }));
  e.handle(msg('node1', resource([G1], 'standby')));
  const done = e.handle(
    msg('node1', { t: 'ask_resources', rscHold: 'local', info: 'done', dest: 'node2', groups: [G2] }),
  );
  assert.deepEqual(acquires(done), [], 'node3 might hold G2');

  const ask = e.handle({ kind: 'timer', name: ASK_HOLDINGS_TIMER });
  assert.deepEqual(
    sent(ask).filter((m) => m.t === 'resource'),
    [{ t: 'resource', rscHold: 'none', isstable: true, info: 'heal', groups: [] }],
  );
  assert.deepEqual(timers(ask), [[ASK_HOLDINGS_TIMER, ASK_HOLDINGS_MS]], 'asked again until it answers');
  const answered = e.handle(msg('node3', resource([G3])));
  assert.deepEqual(acquires(answered), [G2]);
  assert.deepEqual(timers(answered), []);
  // Every holding known: the timer asks nothing.
  assert.deepEqual(sent(e.handle({ kind: 'timer', name: ASK_HOLDINGS_TIMER })), []);
});
