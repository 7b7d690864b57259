/**
 * The engine's health-check hook (`eligibility` events): a node ruled out for a group hands it over through the
 * ordinary standby, never acquires it, and refuses hand-overs of it; the operator's cleanup lifts that.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterEngine, INELIGIBLE_RETRY_MS } from '../../src/cluster/engine.js';
import type { ClusterAction } from '../../src/cluster/types.js';
import { G1, G2, acquires, bothStable, deliver, engine, logs, releases, sent } from './two-engines.js';

/** Runs messages back and forth (and acquire/release results) until both engines are quiet. */
function settle(a: ClusterEngine, b: ClusterEngine, first: ClusterAction[], from: ClusterEngine): ClusterAction[] {
  const all: ClusterAction[] = [];
  let queue: [ClusterEngine, ClusterAction[]][] = [[from, first]];
  for (let i = 0; i < 50 && queue.length > 0; i++) {
    const next: [ClusterEngine, ClusterAction[]][] = [];
    for (const [src, acts] of queue) {
      all.push(...acts);
      const dst = src === a ? b : a;
      if (sent(acts).length > 0) next.push([dst, deliver(src, acts, dst)]);
      for (const g of acquires(acts)) next.push([src, src.handle({ kind: 'acquireDone', group: g, ok: true })]);
      for (const g of releases(acts)) next.push([src, src.handle({ kind: 'releaseDone', group: g, ok: true })]);
    }
    queue = next;
  }
  return all;
}

const held = (e: ClusterEngine, g: string) => e.snapshot().groups.find((x) => x.key === g)?.state;

test('a held group ruled out here goes to the peer through the standby protocol, and stays there', () => {
  const [a, b] = bothStable();
  const r = a.handle({ kind: 'eligibility', group: G1, eligible: false, reason: 'health check web failed' });
  assert.deepEqual(logs(r), [
    `Resource group ${G1} is not eligible on node1: health check web failed.`,
    `Handing resource group(s) ${G1} to node2 (not eligible here).`,
    'node1 wants to go standby [local]',
  ]);
  assert.deepEqual(sent(r), [{ t: 'ask_resources', rscHold: 'local', info: 'me', dest: undefined, groups: undefined }]);
  const all = settle(a, b, r, a);
  assert.ok(releases(all).includes(G1));
  assert.equal(held(a, G1), 'none');
  assert.equal(held(b, G1), 'held');
  assert.equal(held(b, G2), 'held');
  assert.deepEqual(a.snapshot().ineligible, { [G1]: 'health check web failed' });
  // Whatever happens next (timers, the peer announcing), node1 does not take it back.
  assert.deepEqual(acquires(a.handle({ kind: 'timer', name: 'ineligible' })), []);
});

test('a standby that would hand us a group we may not run is refused; cleanup lifts the refusal', () => {
  const [a, b] = bothStable();
  settle(a, b, a.handle({ kind: 'eligibility', group: G1, eligible: false, reason: 'check failed' }), a);
  assert.equal(held(b, G1), 'held');
  // node2 tries to give node1 its group back (hb_standby foreign on node2).
  const ask = b.handle({ kind: 'command', command: { op: 'standby', which: 'foreign' } });
  const reply = deliver(b, ask, a);
  assert.deepEqual(sent(reply), []);
  assert.deepEqual(logs(reply), [
    `standby message [foreign] from node2 refused: resource group ${G1} is not eligible here (check failed).`,
  ]);
  // The requester's own timeout keeps the group where it is.
  const to = b.handle({ kind: 'timer', name: 'standbyReply' });
  assert.ok(logs(to).includes('No reply to standby request.  Standby request cancelled.'));
  assert.equal(held(b, G1), 'held');
  // Operator cleanup: eligible again, and the same request now goes through.
  const ok = a.handle({ kind: 'eligibility', group: G1, eligible: true });
  assert.deepEqual(logs(ok), [`Resource group ${G1} is eligible on node1 again.`]);
  settle(a, b, b.handle({ kind: 'command', command: { op: 'standby', which: 'foreign' } }), b);
  assert.equal(held(a, G1), 'held');
  assert.equal(held(b, G1), 'none');
});

test('a standby of groups we may run is still accepted while another group is ruled out', () => {
  const [a, b] = bothStable();
  a.handle({ kind: 'eligibility', group: G2, eligible: false, reason: 'x' });
  // G2 is node2's and held there; node2 going standby [foreign] hands nothing of G2 (it is its local group).
  const all = settle(a, b, b.handle({ kind: 'command', command: { op: 'standby', which: 'foreign' } }), b);
  assert.ok(!logs(all).some((l) => l.includes('refused')));
});

test('the peer dies holding a group we may not run: no takeover; eligible again: taken over', () => {
  const [, b] = bothStable('on');
  b.handle({ kind: 'eligibility', group: G1, eligible: false, reason: 'x' });
  const d = b.handle({ kind: 'nodeDead', node: 'node1' });
  assert.deepEqual(acquires(d), []);
  assert.ok(logs(d).includes(`Not taking over resource group ${G1}: not eligible here.`));
  const t = b.handle({ kind: 'timer', name: 'ineligible' });
  assert.deepEqual(logs(t), [`Not taking over resource group ${G1}: not eligible here, and no peer to take it.`]);
  assert.ok(t.some((x) => x.kind === 'setTimer' && x.name === 'ineligible' && x.ms === INELIGIBLE_RETRY_MS));
  // Said once, not at every retry.
  assert.deepEqual(logs(b.handle({ kind: 'timer', name: 'ineligible' })), []);
  const ok = b.handle({ kind: 'eligibility', group: G1, eligible: true });
  assert.deepEqual(acquires(ok), [G1]);
});

test('with no peer a held group ruled out keeps running here, and goes as soon as a peer is stable', () => {
  const a = engine('node1');
  a.handle({ kind: 'commUp' });
  a.handle({ kind: 'acquireDone', group: G1, ok: true });
  a.handle({ kind: 'acquireDone', group: G2, ok: true });
  const r = a.handle({ kind: 'eligibility', group: G1, eligible: false, reason: 'x' });
  assert.ok(logs(r).includes(`No healthy peer to take resource group ${G1}: it keeps running here.`));
  assert.deepEqual(releases(r), []);
  assert.ok(r.some((x) => x.kind === 'setTimer' && x.name === 'ineligible'));
  // node2 starts and joins.
  const b = engine('node2');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  settle(a, b, b.handle({ kind: 'commUp' }), b);
  // auto_failback gave node2 its own G2; the ineligible G1 goes at the next retry.
  assert.equal(held(b, G2), 'held');
  settle(a, b, a.handle({ kind: 'timer', name: 'ineligible' }), a);
  assert.equal(held(b, G1), 'held');
  assert.equal(held(a, G1), 'none');
});

test('a free group we would adopt but may not run is handed to the peer (it cannot know why we wait)', () => {
  // node2 starts alone, ruled out for its own G2: it takes G1 (node1 is dead) but not G2.
  const b = engine('node2', 'off');
  b.handle({ kind: 'eligibility', group: G2, eligible: false, reason: 'x' });
  const up = b.handle({ kind: 'commUp' });
  assert.deepEqual(acquires(up), [G1]);
  b.handle({ kind: 'acquireDone', group: G1, ok: true });
  // node1 joins: G2 is free and node2 (its preferred node) is alive, so node1 would never adopt it by itself.
  const a = engine('node1', 'off');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  settle(a, b, a.handle({ kind: 'commUp' }), a);
  assert.equal(held(a, G2), 'none');
  const t = b.handle({ kind: 'timer', name: 'ineligible' });
  assert.ok(logs(t).includes(`Handing resource group(s) ${G2} to node1 (not eligible here).`));
  settle(a, b, t, b);
  assert.equal(held(a, G2), 'held');
  assert.equal(held(b, G2), 'none');
  assert.equal(held(b, G1), 'held');
});

test('legacy (no standby protocol): the ruling is logged, the group is not acquired', () => {
  const a = engine('node1', 'legacy');
  a.handle({ kind: 'eligibility', group: G1, eligible: false, reason: 'x' });
  const up = a.handle({ kind: 'commUp' });
  assert.deepEqual(acquires(up), [G2]);
});

test('unknown groups are ignored', () => {
  const a = engine('node1');
  assert.deepEqual(a.handle({ kind: 'eligibility', group: 'nope', eligible: false }), []);
  assert.deepEqual(a.snapshot().ineligible, {});
});
