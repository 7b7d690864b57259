/**
 * Scripted two-node flows: exact messages, log texts and actions, in Heartbeat's order.
 * (The seeded simulation in test/sim covers the same engine under random faults.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterEngine } from '../../src/cluster/engine.js';
import { simConfig } from '../../src/sim/config.js';
import type { ClusterAction } from '../../src/cluster/types.js';
import {
  G1,
  G2,
  acquires,
  bothStable as bothStableWith,
  deliver,
  engine,
  logs,
  msg,
  releases,
  sent,
} from './two-engines.js';

const bothStable = (stonith?: string) => bothStableWith('on', stonith);

test('a lone node at comm up: starting, then takes everything (no STONITH device)', () => {
  const a = engine('node1');
  const up = a.handle({ kind: 'commUp' });
  assert.deepEqual(sent(up), [{ t: 'starting' }]);
  // node2 was never heard: initdead expired, so it is dead and we take its group too.
  assert.deepEqual(acquires(up).sort(), [G1, G2]);
  assert.deepEqual(logs(up), []);
  let done = a.handle({ kind: 'acquireDone', group: G1, ok: true });
  assert.deepEqual(logs(done), []);
  done = a.handle({ kind: 'acquireDone', group: G2, ok: true });
  assert.deepEqual(logs(done), ['Initial resource acquisition complete (T_RESOURCES(us))']);
  assert.deepEqual(sent(done), [{ t: 'resource', rscHold: 'all', isstable: true, info: undefined, groups: undefined }]);
});

test('joining a stable peer: remote resource transition completed, then our own group', () => {
  const b = engine('node2');
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  b.handle({ kind: 'commUp' });
  b.handle(msg('node1', { t: 'resource', rscHold: 'none', isstable: true, info: undefined, groups: undefined }));
  // (b took its own group after node1 reported stable and empty)
  const bAcq = b.handle({ kind: 'acquireDone', group: G2, ok: true });
  assert.ok(logs(bAcq).includes('Initial resource acquisition complete (T_RESOURCES(them))'));

  const a = engine('node1');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  const up = a.handle({ kind: 'commUp' });
  assert.deepEqual(sent(up), [{ t: 'starting' }]);
  assert.deepEqual(acquires(up), []);
  const reply = deliver(a, up, b);
  assert.deepEqual(sent(reply), [
    { t: 'resource', rscHold: 'local', isstable: true, info: undefined, groups: undefined },
  ]);
  const got = deliver(b, reply, a);
  assert.deepEqual(logs(got), ['remote resource transition completed.']);
  assert.deepEqual(acquires(got), [G1]);
  const fin = a.handle({ kind: 'acquireDone', group: G1, ok: true });
  assert.deepEqual(logs(fin), ['Initial resource acquisition complete (T_RESOURCES(them))']);
  assert.equal(a.snapshot().rscstatus, 'local');
});

test('auto_failback: the holder runs standby [foreign]; the preferred node acquires on `done` (one hop)', () => {
  // node2 holds both groups (node1 was down).
  const b = engine('node2');
  b.handle({ kind: 'commUp' });
  b.handle({ kind: 'acquireDone', group: G1, ok: true });
  b.handle({ kind: 'acquireDone', group: G2, ok: true });
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  const a = engine('node1');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  const r1 = deliver(a, a.handle({ kind: 'commUp' }), b);
  const r2 = deliver(b, r1, a);
  assert.deepEqual(logs(r2), [
    'remote resource transition completed.',
    'Local Resource acquisition completed. (none)',
    'Initial resource acquisition complete (T_RESOURCES(them))',
  ]);
  const r3 = deliver(a, r2, b); // node1 now stable → node2 fails back
  assert.deepEqual(logs(r3), ['node2 wants to go standby [foreign]']);
  assert.deepEqual(sent(r3), [
    { t: 'ask_resources', rscHold: 'foreign', info: 'me', dest: undefined, groups: undefined },
  ]);
  const r4 = deliver(b, r3, a);
  assert.deepEqual(sent(r4), [
    { t: 'ask_resources', rscHold: 'foreign', info: 'other', dest: undefined, groups: undefined },
  ]);
  const r5 = deliver(a, r4, b);
  assert.deepEqual(logs(r5), ['Going standby [foreign].', 'give up all HA resources (standby).']);
  assert.deepEqual(sent(r5)[0], {
    t: 'resource',
    rscHold: 'local',
    isstable: false,
    info: 'standby',
    groups: undefined,
  });
  assert.deepEqual(releases(r5), [G1]);
  const r6 = b.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.deepEqual(logs(r6), ['Local standby process completed [foreign].']);
  // node1 already got the `resource ... standby`; the `done` makes it acquire at once.
  deliver(b, r5, a);
  const r7 = deliver(b, r6, a);
  assert.deepEqual(acquires(r7), [G1]);
  const r8 = a.handle({ kind: 'acquireDone', group: G1, ok: true });
  assert.deepEqual(logs(r8), ['Standby resource acquisition done [foreign].']);
  assert.deepEqual(
    sent(r8).map((m) => m.t),
    ['ask_resources', 'resource'],
  );
  const r9 = deliver(a, r8, b);
  assert.deepEqual(logs(r9), ['Other node completed standby takeover of foreign resources.']);
  assert.equal(a.snapshot().rscstatus, 'local');
  assert.equal(b.snapshot().rscstatus, 'local');
});

test('auto_failback off: groups stay where they are', () => {
  const b = engine('node2', 'off');
  b.handle({ kind: 'commUp' });
  b.handle({ kind: 'acquireDone', group: G1, ok: true });
  b.handle({ kind: 'acquireDone', group: G2, ok: true });
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  const a = engine('node1', 'off');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  const r2 = deliver(b, deliver(a, a.handle({ kind: 'commUp' }), b), a);
  const r3 = deliver(a, r2, b);
  assert.deepEqual(logs(r3), []);
  assert.deepEqual(sent(r3), []);
  assert.equal(b.snapshot().rscstatus, 'all');
});

test('both starting: each takes its own groups after the 10 s fallback', () => {
  const a = engine('node1');
  const b = engine('node2');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  const sa = a.handle({ kind: 'commUp' });
  const sb = b.handle({ kind: 'commUp' });
  const ra = deliver(a, sa, b);
  assert.deepEqual(sent(ra), [{ t: 'resource', rscHold: 'none', isstable: false, info: undefined, groups: undefined }]);
  const armed = deliver(b, ra, a).concat(deliver(a, deliver(b, sb, a), b));
  assert.ok(armed.some((x) => x.kind === 'setTimer' && x.name === 'bothStarting' && x.ms === 10_000));
  assert.deepEqual(acquires(a.handle({ kind: 'timer', name: 'bothStarting' })), [G1]);
});

test('node death without STONITH: Heartbeat texts, takeover, mach_down report', () => {
  const [, b] = bothStable();
  const d = b.handle({ kind: 'nodeDead', node: 'node1' });
  assert.deepEqual(logs(d), [
    'Resources being acquired from node1.',
    'No STONITH device configured.',
    'Shared disks are not protected.',
    `Taking over resource group ${G1}`,
  ]);
  assert.deepEqual(acquires(d), [G1]);
  const f = b.handle({ kind: 'acquireDone', group: G1, ok: true });
  assert.deepEqual(sent(f), [
    { t: 'resource', rscHold: 'foreign', isstable: true, info: 'mach_down', groups: undefined },
  ]);
  assert.deepEqual(logs(f), ['mach_down takeover complete for node node1.']);
});

test('node death with STONITH: no takeover until the reset succeeds; retry every 5 s', () => {
  const [, b] = bothStable('external/test');
  const d = b.handle({ kind: 'nodeDead', node: 'node1' });
  assert.deepEqual(acquires(d), []);
  assert.ok(d.some((x) => x.kind === 'stonith' && x.node === 'node1'));
  assert.ok(logs(d).includes('Resetting node node1 with [external/test]'));
  const fail = b.handle({ kind: 'stonithDone', node: 'node1', ok: false });
  assert.deepEqual(logs(fail), ['STONITH of node1 failed.  Retrying...']);
  assert.ok(fail.some((x) => x.kind === 'setTimer' && x.name === 'stonith:node1' && x.ms === 5000));
  assert.deepEqual(acquires(fail), []);
  const retry = b.handle({ kind: 'timer', name: 'stonith:node1' });
  assert.ok(retry.some((x) => x.kind === 'stonith'));
  const ok = b.handle({ kind: 'stonithDone', node: 'node1', ok: true });
  assert.deepEqual(logs(ok), ['node node1 now reset.', `Taking over resource group ${G1}`]);
  assert.deepEqual(acquires(ok), [G1]);
});

test('graceful stop hands over at once: release, shutdone, the peer acquires on receipt', () => {
  const [a, b] = bothStable();
  const s = a.handle({ kind: 'command', command: { op: 'shutdown' } });
  assert.deepEqual(logs(s), ['Giving up all HA resources.']);
  assert.deepEqual(releases(s), [G1]);
  assert.deepEqual(acquires(deliver(a, s, b)), [], 'nothing is taken while the peer is still stopping');
  const done = a.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.deepEqual(logs(done), ['All HA resources relinquished.']);
  assert.deepEqual(sent(done), [{ t: 'shutdone' }]);
  assert.ok(done.some((x) => x.kind === 'shutdownComplete'));
  const take = deliver(a, done, b);
  assert.deepEqual(logs(take).slice(0, 2), [
    "Received shutdown notice from 'node1'.",
    'Resources being acquired from node1.',
  ]);
  assert.deepEqual(acquires(take), [G1]);
});

test('hb_standby all with no answer is cancelled after 10 s; a busy peer says it is in flux', () => {
  const [a, b] = bothStable();
  const s = a.handle({ kind: 'command', command: { op: 'standby', which: 'all' } });
  assert.deepEqual(logs(s), ['node1 wants to go standby [all]']);
  const t = a.handle({ kind: 'timer', name: 'standbyReply' });
  assert.deepEqual(logs(t), ['No reply to standby request.  Standby request cancelled.']);
  b.handle({ kind: 'command', command: { op: 'standby', which: 'all' } });
  const busy = deliver(a, a.handle({ kind: 'command', command: { op: 'standby', which: 'local' } }), b);
  assert.deepEqual(logs(busy), ['standby message [local] from node1 ignored.  Other side is in flux.']);
});

test('hb_takeover: the peer goes standby with the complement', () => {
  const [a, b] = bothStable();
  const t = a.handle({ kind: 'command', command: { op: 'takeover', which: 'local' } });
  assert.deepEqual(sent(t), [{ t: 'hb_takeover', rscHold: 'local' }]);
  const r = deliver(a, t, b);
  assert.deepEqual(logs(r), ['node2 wants to go standby [foreign]']);
});

/** A partition of bothStable(): each side declared the other dead and took its group. */
function partitioned(): [ClusterEngine, ClusterEngine] {
  const [a, b] = bothStable();
  a.handle({ kind: 'nodeDead', node: 'node2' });
  a.handle({ kind: 'acquireDone', group: G2, ok: true });
  b.handle({ kind: 'nodeDead', node: 'node1' });
  b.handle({ kind: 'acquireDone', group: G1, ok: true });
  return [a, b];
}

test('partition heal keeps the winner running: only the loser releases', () => {
  const [a, b] = partitioned();
  const ha = a.handle({ kind: 'nodeReturned', node: 'node2' });
  const hb = b.handle({ kind: 'nodeReturned', node: 'node1' });
  const toB = deliver(a, ha, b);
  const toA = deliver(b, hb, a);
  // Each group stays on its preferred node, which never stops it.
  assert.deepEqual(releases(toB).concat(releases(deliver(a, toA, b))), [G1]);
  assert.deepEqual(releases(toA).concat(releases(deliver(b, toB, a))), [G2]);
  assert.equal(a.snapshot().groups.find((g) => g.key === G1)?.state, 'held');
  assert.equal(b.snapshot().groups.find((g) => g.key === G2)?.state, 'held');
});

test('partition heal: the keeper announces its VIP again as soon as the peer claims the group, not a beat later', () => {
  const [a, b] = partitioned();
  // Only b has heard a again: a learns of the heal from b's announcement, before b's next heartbeat.
  const atA = deliver(b, b.handle({ kind: 'nodeReturned', node: 'node1' }), a);
  const reannounced = (x: ClusterAction[]) => x.flatMap((y) => (y.kind === 'reannounce' ? [y.group] : []));
  // a keeps G1 (b lets go of it, and clients may still have b's MAC); G2 is a's to give up, not to announce.
  assert.deepEqual(reannounced(atA), [G1]);
  // a's answer still claims G2, which b keeps: b announces G2, never G1.
  assert.deepEqual(reannounced(deliver(a, atA, b)), [G2]);
});

test('partition heal with a peer that gives everything up (a real Heartbeat): we announce what we keep after it', () => {
  // Heartbeat 3 back from a partition gives every group up and re-execs, after the ARP burst of its own takeover
  // during the partition: a client keeps its MAC for a VIP we hold unless our announcement comes after.
  const [, b] = partitioned();
  const reannounced = (x: ClusterAction[]) => x.flatMap((y) => (y.kind === 'reannounce' ? [y.group] : []));
  b.handle({ kind: 'nodeReturned', node: 'node1' });
  // It reports holding nothing (it gave up): b announces everything it holds.
  const none = b.handle(
    msg('node1', { t: 'resource', rscHold: 'none', isstable: true, info: undefined, groups: undefined }),
  );
  assert.deepEqual(
    reannounced(none).sort(),
    [G1, G2].filter((g) => b.snapshot().groups.find((x) => x.key === g)?.state === 'held').sort(),
  );
  assert.ok(reannounced(none).includes(G2));
  // Or it goes down (shutdone) without a word about its holdings: the same.
  const [, b2] = partitioned();
  b2.handle({ kind: 'nodeReturned', node: 'node1' });
  assert.ok(reannounced(b2.handle({ kind: 'nodeShutdown', node: 'node1' })).includes(G2));
  // A peer that never was behind a partition and goes down holding only its own group: nothing to announce.
  const [, b3] = bothStable();
  assert.deepEqual(reannounced(b3.handle({ kind: 'nodeShutdown', node: 'node1' })), []);
});

test('legacy: ip-request, the owner releases and answers, the requester acquires', () => {
  const b = engine('node2', 'legacy');
  b.handle({ kind: 'commUp' });
  b.handle({ kind: 'acquireDone', group: G1, ok: true });
  b.handle({ kind: 'acquireDone', group: G2, ok: true });
  const a = engine('node1', 'legacy');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  const up = a.handle({ kind: 'commUp' });
  assert.deepEqual(sent(up), [{ t: 'ip-request', ipaddr: G1 }]);
  assert.deepEqual(acquires(up), []);
  const r = deliver(a, up, b);
  assert.deepEqual(releases(r), [G1]);
  const resp = b.handle({ kind: 'releaseDone', group: G1, ok: true });
  assert.deepEqual(sent(resp), [{ t: 'ip-request-resp', dest: 'node1', ipaddr: G1, weown: true }]);
  assert.deepEqual(acquires(deliver(b, resp, a)), [G1]);
  const refused = a.handle({ kind: 'command', command: { op: 'standby', which: 'all' } });
  assert.deepEqual(logs(refused), ['Standby mode only implemented when nice_failback on']);
});

test('legacy: a peer first heard already active runs its own groups: the copy we took is given back (sim seed 114353)', () => {
  // Both started behind a partition and took everything; the partition heals and each first hears the other.
  const a = engine('node1', 'legacy');
  a.handle({ kind: 'commUp' });
  a.handle({ kind: 'acquireDone', group: G1, ok: true });
  a.handle({ kind: 'acquireDone', group: G2, ok: true });
  const r = a.handle({ kind: 'nodeAlive', node: 'node2', active: true });
  assert.deepEqual(releases(r), [G2]);
  const done = a.handle({ kind: 'releaseDone', group: G2, ok: true });
  assert.deepEqual(sent(done), [{ t: 'ip-request-resp', dest: 'node2', ipaddr: G2, weown: true }]);
  // A node that is only starting (status up) holds nothing yet and asks for its own: nothing is given back early.
  const c = engine('node1', 'legacy');
  c.handle({ kind: 'commUp' });
  c.handle({ kind: 'acquireDone', group: G1, ok: true });
  c.handle({ kind: 'acquireDone', group: G2, ok: true });
  assert.deepEqual(releases(c.handle({ kind: 'nodeAlive', node: 'node2' })), []);
});

test('reqnodes is answered with repnodes (a real Heartbeat peer waits for it)', () => {
  const a = engine('node1');
  const r = a.handle(msg('node2', { t: 'reqnodes', dest: 'node1' }));
  assert.deepEqual(sent(r), [{ t: 'repnodes', dest: 'node2', nodelist: ['node1', 'node2'], delnodelist: [] }]);
});

test('every group state change is a typed transition with its reason and cause', () => {
  const a = engine('node1');
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  a.handle({ kind: 'commUp' });
  const trans = (x: ClusterAction[]) => x.flatMap((y) => (y.kind === 'transition' ? [y.transition] : []));
  const r = a.handle(
    msg('node2', { t: 'resource', rscHold: 'none', isstable: true, info: undefined, groups: undefined }),
  );
  assert.deepEqual(trans(r), [
    { group: G1, from: 'none', to: 'acquiring', reason: 'initial', cause: 'message resource from node2' },
  ]);
  const done = a.handle({ kind: 'acquireDone', group: G1, ok: true });
  assert.deepEqual(trans(done)[0], {
    group: G1,
    from: 'acquiring',
    to: 'held',
    reason: 'initial',
    cause: 'acquireDone IPaddr::10.0.0.1',
  });
  // node2 dies holding G2: a takeover naming the dead node.
  a.handle(msg('node2', { t: 'resource', rscHold: 'local', isstable: true, info: undefined, groups: undefined }));
  const dead = a.handle({ kind: 'nodeDead', node: 'node2' });
  assert.deepEqual(trans(dead), [
    { group: G2, from: 'none', to: 'acquiring', reason: 'takeover', cause: 'nodeDead node2', peer: 'node2' },
  ]);
  assert.equal(a.groupState(G2), 'acquiring');
});

test('a completion for a group that is not moving changes nothing', () => {
  const a = engine('node1');
  // A completion the engine never asked for is ignored (it may be late after a restart of the engine's view)...
  assert.deepEqual(
    a.handle({ kind: 'acquireDone', group: G1, ok: true }).filter((x) => x.kind === 'transition'),
    [],
  );
  assert.equal(a.groupState(G1), 'none');
});

test('a held group lost by itself (VIP lease expired in a stall) is released through the engine, once', () => {
  const e = new ClusterEngine(
    simConfig({ nodes: ['linux1', 'linux2'], localNode: 'linux1', groups: [['vip', 'linux1']] }),
  );
  e.handle({ kind: 'commUp' });
  e.handle({ kind: 'acquireDone', group: 'vip', ok: true });
  assert.equal(e.groupState('vip'), 'held');
  const acts = e.handle({ kind: 'groupLost', group: 'vip', reason: 'lease expired' });
  assert.ok(acts.some((a) => a.kind === 'release' && a.group === 'vip'));
  assert.ok(acts.some((a) => a.kind === 'log' && a.level === 'CRIT' && a.text.includes('lost (lease expired)')));
  assert.ok(acts.some((a) => a.kind === 'transition' && a.transition.reason === 'lost'));
  assert.equal(e.groupState('vip'), 'releasing');
  // A second report while the release runs does not release twice.
  assert.ok(!e.handle({ kind: 'groupLost', group: 'vip', reason: 'again' }).some((a) => a.kind === 'release'));
  // Released; alone in the cluster, this node is still the one to run it: it starts it again, from scratch.
  const after = e.handle({ kind: 'releaseDone', group: 'vip', ok: true });
  assert.ok(after.some((a) => a.kind === 'transition' && a.transition.to === 'none' && a.transition.reason === 'lost'));
  assert.ok(
    after.some((a) => a.kind === 'transition' && a.transition.to === 'acquiring' && a.transition.reason === 'adopt'),
  );
});
