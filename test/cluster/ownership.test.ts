/**
 * vigil_quorum etcd in the engine (cluster/ownership.ts): a group starts only once its key is ours; a refused claim
 * leaves it alone until the key is gone; a release ends by revoking the lease, before a hand-over's `done`; a lost
 * key releases the group. (The seeded simulation checks "never two holders" under faults: test/sim.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterEngine } from '../../src/cluster/engine.js';
import type { ClusterAction, ClusterEvent } from '../../src/cluster/types.js';
import { CLAIM_RETRY_FIRST_MS, CLAIM_RETRY_MAX_MS } from '../../src/cluster/context.js';
import { CLAIM_RETRY_TIMER } from '../../src/cluster/ownership.js';
import { engine as twoEngines, G1, G2 } from './two-engines.js';

const engine = (local: string, quorum: 'release' | 'keep' = 'release'): ClusterEngine =>
  twoEngines(local, 'on', undefined, quorum);

const kinds = (a: ClusterAction[], k: ClusterAction['kind']) =>
  a.flatMap((x) => (x.kind === k && 'group' in x ? [x.group] : []));

/** A lone node1 (node2 never heard), etcd reachable, both keys free. */
function loneHolder(): { e: ClusterEngine; out: ClusterAction[] } {
  const e = engine('node1');
  const out: ClusterAction[] = [];
  const h = (ev: ClusterEvent) => out.push(...e.handle(ev));
  h({ kind: 'keyState', group: G1, owner: undefined, revision: 5 });
  h({ kind: 'keyState', group: G2, owner: undefined, revision: 5 });
  h({ kind: 'quorumReachable', reachable: true });
  h({ kind: 'commUp' });
  return { e, out };
}

test('nothing is claimed while etcd cannot be reached, and a group starts only once its key is ours', () => {
  const e = engine('node1');
  const none = e.handle({ kind: 'commUp' });
  assert.deepEqual(kinds(none, 'claim'), [], 'etcd not reachable yet: nothing claimed');
  assert.deepEqual(kinds(none, 'acquire'), []);
  const up = e.handle({ kind: 'quorumReachable', reachable: true });
  assert.deepEqual(kinds(up, 'claim').sort(), [G1, G2]);
  assert.deepEqual(kinds(up, 'acquire'), [], 'no start before etcd says yes');
  assert.equal(e.groupState(G1), 'acquiring');
  const ok = e.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '11', revision: 42 } });
  assert.deepEqual(kinds(ok, 'acquire'), [G1]);
  assert.equal(e.ownedKey(G1)?.revision, 42, 'the fencing token is the key revision');
});

test('a refused claim: the group stays down here until etcd says the key is gone, then it is claimed again', () => {
  const { e } = loneHolder();
  const no = e.handle({
    kind: 'claimDone',
    group: G2,
    result: { ok: false, owner: { node: 'node2', lease: '99' }, revision: 7 },
  });
  assert.equal(e.groupState(G2), 'none');
  assert.deepEqual(kinds(no, 'acquire'), []);
  assert.ok(no.some((a) => a.kind === 'transition' && a.transition.reason === 'quorum'));
  // Other events do not make it try again while the key is node2's.
  assert.deepEqual(kinds(e.handle({ kind: 'timer', name: 'nothing' }), 'claim'), []);
  // An older watch event (revision 6) says nothing.
  assert.deepEqual(kinds(e.handle({ kind: 'keyState', group: G2, owner: undefined, revision: 6 }), 'claim'), []);
  const gone = e.handle({ kind: 'keyState', group: G2, owner: undefined, revision: 9 });
  assert.deepEqual(kinds(gone, 'claim'), [G2]);
});

test('an "unreachable" answer to a claim sent before etcd came back is old news: the group is claimed again', () => {
  const { e } = loneHolder();
  // Both claims are on their way when etcd is lost and found again (sim seed 500101: the group stayed on no node).
  e.handle({ kind: 'quorumReachable', reachable: false });
  assert.deepEqual(kinds(e.handle({ kind: 'quorumReachable', reachable: true }), 'claim'), [], 'still pending');
  const old = e.handle({ kind: 'claimDone', group: G1, result: { ok: false, error: 'etcd unreachable' } });
  assert.deepEqual(kinds(old, 'claim'), [G1]);
  assert.equal(e.groupState(G1), 'acquiring');
  // The same answer to a claim sent since is current: wait until etcd is reachable again.
  const now = e.handle({ kind: 'claimDone', group: G1, result: { ok: false, error: 'etcd unreachable' } });
  assert.deepEqual(kinds(now, 'claim'), []);
  assert.equal(e.groupState(G1), 'none');
  assert.deepEqual(kinds(e.handle({ kind: 'timer', name: 'nothing' }), 'claim'), []);
});

test('a release revokes the lease before it completes; a failed stop keeps the key', () => {
  const { e } = loneHolder();
  e.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '11', revision: 42 } });
  e.handle({ kind: 'claimDone', group: G2, result: { ok: true, lease: '12', revision: 43 } });
  e.handle({ kind: 'acquireDone', group: G1, ok: true });
  e.handle({ kind: 'acquireDone', group: G2, ok: true });
  const stop = e.handle({ kind: 'command', command: { op: 'shutdown' } });
  assert.deepEqual(kinds(stop, 'release').sort(), [G1, G2]);
  const r1 = e.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.deepEqual(
    r1.filter((a) => a.kind === 'disown'),
    [{ kind: 'disown', group: G1, lease: '11' }],
  );
  assert.equal(e.groupState(G1), 'releasing', 'not released until the key is gone');
  const r2 = e.handle({ kind: 'releaseDone', group: G2, ok: false });
  assert.deepEqual(kinds(r2, 'disown'), [], 'still running here: the key stays ours');
  assert.equal(e.ownedKey(G2)?.lease, '12');
  const d = e.handle({ kind: 'disownDone', group: G1 });
  assert.equal(e.groupState(G1), 'none');
  assert.ok(d.some((a) => a.kind === 'transition' && a.transition.to === 'none'));
});

test('a standby hand-over: the giver revokes its lease before `done`, so the taker claims a free key', () => {
  const a = engine('node1');
  const b = engine('node2');
  for (const e of [a, b]) {
    e.handle({ kind: 'quorumReachable', reachable: true });
    e.handle({ kind: 'nodeAlive', node: e.me === 'node1' ? 'node2' : 'node1' });
  }
  // Both settled: node1 holds G1, node2 holds G2 (the exchange itself is engine.test.ts's business).
  const settle = (e: ClusterEngine, peer: string, g: string, lease: string, rev: number) => {
    e.handle({ kind: 'commUp' });
    e.handle({ kind: 'message', from: peer, generation: 1, msg: { t: 'starting' } });
    e.handle({ kind: 'timer', name: 'bothStarting' });
    e.handle({ kind: 'claimDone', group: g, result: { ok: true, lease, revision: rev } });
    e.handle({ kind: 'acquireDone', group: g, ok: true });
  };
  settle(a, 'node2', G1, '11', 10);
  settle(b, 'node1', G2, '12', 11);
  a.handle({
    kind: 'message',
    from: 'node2',
    generation: 1,
    msg: { t: 'resource', rscHold: 'local', isstable: true, info: undefined, groups: undefined },
  });
  b.handle({
    kind: 'message',
    from: 'node1',
    generation: 1,
    msg: { t: 'resource', rscHold: 'local', isstable: true, info: undefined, groups: undefined },
  });
  const ask = a.handle({ kind: 'command', command: { op: 'standby', which: 'all' } });
  assert.ok(ask.some((x) => x.kind === 'send' && x.msg.t === 'ask_resources'));
  b.handle({
    kind: 'message',
    from: 'node1',
    generation: 1,
    msg: { t: 'ask_resources', rscHold: 'all', info: 'me', dest: undefined, groups: undefined },
  });
  const going = a.handle({
    kind: 'message',
    from: 'node2',
    generation: 1,
    msg: { t: 'ask_resources', rscHold: 'all', info: 'other', dest: undefined, groups: undefined },
  });
  // node2 hears node1 give its groups up (`resource info=standby`).
  for (const x of going)
    if (x.kind === 'send' && x.msg.t === 'resource')
      b.handle({ kind: 'message', from: 'node1', generation: 1, msg: x.msg });
  const released = a.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.ok(
    !released.some((x) => x.kind === 'send' && x.msg.t === 'ask_resources'),
    'no `done` before the key is gone',
  );
  assert.deepEqual(kinds(released, 'disown'), [G1]);
  const done = a.handle({ kind: 'disownDone', group: G1 });
  assert.ok(done.some((x) => x.kind === 'send' && x.msg.t === 'ask_resources' && x.msg.info === 'done'));
  // The taker claims (the key is free now), and starts once etcd says yes.
  const take = b.handle({
    kind: 'message',
    from: 'node1',
    generation: 1,
    msg: { t: 'ask_resources', rscHold: 'all', info: 'done', dest: undefined, groups: undefined },
  });
  assert.deepEqual(kinds(take, 'claim'), [G1]);
  assert.deepEqual(kinds(take, 'acquire'), []);
  const start = b.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '13', revision: 12 } });
  assert.deepEqual(kinds(start, 'acquire'), [G1]);
});

test('a lost lease releases a held group; a key that changed hands releases it too; keep mode holds on', () => {
  const { e } = loneHolder();
  e.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '11', revision: 42 } });
  e.handle({ kind: 'acquireDone', group: G1, ok: true });
  const lost = e.handle({ kind: 'ownershipLost', group: G1, reason: 'not renewed' });
  assert.deepEqual(kinds(lost, 'release'), [G1]);
  const { e: e2 } = loneHolder();
  e2.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '11', revision: 42 } });
  e2.handle({ kind: 'acquireDone', group: G1, ok: true });
  const taken = e2.handle({ kind: 'keyState', group: G1, owner: { node: 'node2', lease: '77' }, revision: 50 });
  assert.deepEqual(kinds(taken, 'release'), [G1]);

  const k = engine('node1', 'keep');
  k.handle({ kind: 'quorumReachable', reachable: true });
  k.handle({ kind: 'commUp' });
  k.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '11', revision: 42 } });
  k.handle({ kind: 'acquireDone', group: G1, ok: true });
  k.handle({ kind: 'quorumReachable', reachable: false });
  const kept = k.handle({ kind: 'ownershipLost', group: G1, reason: 'not renewed' });
  assert.deepEqual(kinds(kept, 'release'), [], 'vigil_quorum_loss keep: held through the outage');
  const back = k.handle({ kind: 'quorumReachable', reachable: true });
  assert.deepEqual(kinds(back, 'claim'), [G1], 'claimed again once etcd answers');
  const refused = k.handle({
    kind: 'claimDone',
    group: G1,
    result: { ok: false, owner: { node: 'node2', lease: '9' }, revision: 60 },
  });
  assert.deepEqual(kinds(refused, 'release'), [G1], 'someone else has it now: given up');
});

const timers = (a: ClusterAction[]) => a.flatMap((x) => (x.kind === 'setTimer' ? [[x.name, x.ms] as const] : []));

test('a claim that failed while etcd still counts as reachable is tried again, with a doubling bounded wait', () => {
  // Sim seeds 103859 and 100782: the notice that etcd was unreachable never came (it answered again first), so no
  // reachability change would ever clear the refusal.
  const { e } = loneHolder();
  const failed = e.handle({ kind: 'claimDone', group: G1, result: { ok: false, error: 'etcd unreachable' } });
  assert.equal(e.groupState(G1), 'none');
  assert.deepEqual(kinds(failed, 'claim'), []);
  assert.deepEqual(timers(failed), [[CLAIM_RETRY_TIMER, CLAIM_RETRY_FIRST_MS]]);
  // Other events neither claim nor set the timer again.
  const other = e.handle({ kind: 'timer', name: 'nothing' });
  assert.deepEqual(kinds(other, 'claim'), []);
  assert.deepEqual(timers(other), []);
  const retry = e.handle({ kind: 'timer', name: CLAIM_RETRY_TIMER });
  assert.deepEqual(kinds(retry, 'claim'), [G1]);
  // Refused again (the key is someone's): the next try waits twice as long, up to the bound.
  let ms: number = CLAIM_RETRY_FIRST_MS;
  for (let i = 0; i < 6; i++) {
    const no = e.handle({
      kind: 'claimDone',
      group: G1,
      result: { ok: false, owner: { node: 'node2', lease: '99' }, revision: 7 + i },
    });
    ms = Math.min(ms * 2, CLAIM_RETRY_MAX_MS);
    assert.deepEqual(timers(no), [[CLAIM_RETRY_TIMER, ms]]);
    assert.deepEqual(kinds(e.handle({ kind: 'timer', name: CLAIM_RETRY_TIMER }), 'claim'), [G1]);
  }
  assert.equal(ms, CLAIM_RETRY_MAX_MS);
  // Granted: the wait starts small again.
  const ok = e.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '11', revision: 30 } });
  assert.deepEqual(kinds(ok, 'acquire'), [G1]);
  assert.deepEqual(timers(ok), []);
});

test('a key lost and released, whose deletion this node never heard of, is claimed again', () => {
  // Sim seed 100782: frozen and cut from etcd, node1's lease ran out; it released the group (correct), but it still
  // believed its own old lease held the key.
  const { e } = loneHolder();
  e.handle({ kind: 'claimDone', group: G1, result: { ok: true, lease: '11', revision: 42 } });
  e.handle({ kind: 'acquireDone', group: G1, ok: true });
  e.handle({ kind: 'ownershipLost', group: G1, reason: 'not renewed' });
  const released = e.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.equal(e.groupState(G1), 'none');
  assert.deepEqual(kinds(released, 'claim'), [], 'the key may still be there: not at once');
  assert.deepEqual(timers(released), [[CLAIM_RETRY_TIMER, CLAIM_RETRY_FIRST_MS]]);
  assert.deepEqual(kinds(e.handle({ kind: 'timer', name: CLAIM_RETRY_TIMER }), 'claim'), [G1]);
});

test('a retry pass leaves alone a group another live node holds', () => {
  const { e } = loneHolder();
  e.handle({ kind: 'claimDone', group: G1, result: { ok: false, error: 'etcd unreachable' } });
  e.handle({ kind: 'claimDone', group: G2, result: { ok: false, error: 'etcd unreachable' } });
  // node2 comes up holding G2.
  e.handle({ kind: 'nodeAlive', node: 'node2' });
  e.handle({
    kind: 'message',
    from: 'node2',
    generation: 1,
    msg: { t: 'resource', rscHold: 'local', isstable: true, info: undefined, groups: undefined },
  });
  const retry = e.handle({ kind: 'timer', name: CLAIM_RETRY_TIMER });
  assert.deepEqual(kinds(retry, 'claim'), [G1], "G2 is node2's: not claimed");
});
