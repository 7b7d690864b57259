/**
 * `vigil explain` on the engine states the in-memory pair of test/http/observe.test.ts does not reach: a takeover
 * waiting for a STONITH reset, a node ruled out by a health check, ipfail handing groups over, a standby in
 * progress, auto_failback bringing a group home, a stopping node. explain() is pure: its inputs are built here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterSnapshot, PeerView } from '../../src/cluster/types.js';
import type { GroupView, StatusSnapshot } from '../../src/control/protocol.js';
import { explain, type ExplainInputs } from '../../src/daemon/explain.js';

const G = 'IPaddr::10.0.0.50/24/eth1';
const T0 = Date.parse('2026-12-07T20:00:00Z');

function group(over: Partial<GroupView> = {}): GroupView {
  return {
    key: G,
    preferred: 'linux1',
    resources: ['IPaddr::10.0.0.50/24/eth1'],
    holder: undefined,
    state: 'released',
    since: T0,
    failCount: 0,
    lastFailure: undefined,
    eligible: true,
    ineligibleReason: undefined,
    checks: [],
    ...over,
  };
}

function peer(over: Partial<PeerView> = {}): PeerView {
  return { name: 'linux2', alive: true, stable: true, holdsKnown: true, holds: [], shuttingDown: false, ...over };
}

function inputs(o: {
  g?: Partial<GroupView>;
  peer?: Partial<PeerView>;
  mine?: ClusterSnapshot['groups'][number]['state'];
  autoFailback?: StatusSnapshot['autoFailback'];
  fencing?: StatusSnapshot['fencing'];
  standby?: string;
  ipfail?: ExplainInputs['ipfail'];
  stopping?: boolean;
}): ExplainInputs {
  const status: StatusSnapshot = {
    protocol: 1,
    version: 'test',
    node: 'linux1',
    pid: 1,
    startedAt: T0,
    generation: 1,
    autoFailback: o.autoFailback ?? 'on',
    rscstatus: 'none',
    nodes: [
      {
        name: 'linux2',
        type: 'normal',
        status: o.peer?.alive === false ? 'dead' : 'active',
        links: [],
        lastHeard: undefined,
        clients: {},
      },
    ],
    groups: [group(o.g)],
    transitions: [],
    fencing: o.fencing ?? [],
    parameters: {},
  };
  const engine: ClusterSnapshot = {
    node: 'linux1',
    rstate: 'stable',
    rscstatus: 'none',
    groups: [{ key: G, preferred: 'linux1', state: o.mine ?? 'none' }],
    peers: [peer(o.peer)],
    standby: o.standby,
    ineligible: {},
  };
  return { status, engine, ipfail: o.ipfail, stopping: o.stopping ?? false };
}

const factor = (r: ReturnType<typeof explain>, name: string): string =>
  r.groups[0]?.factors.find((f) => f.name === name)?.value ?? `(no factor ${name})`;

test('explain: a takeover waiting for a STONITH reset says so, and which reset it waits for', () => {
  const r = explain(
    inputs({
      peer: { alive: false },
      fencing: [{ node: 'linux2', device: 'meatware', awaitingOperator: true }],
    }),
  );
  assert.equal(r.groups[0]?.verdict, 'held by nobody: the takeover waits for the STONITH reset of linux2');
  assert.equal(factor(r, 'STONITH'), 'waiting for the reset of linux2 (meatware, needs vigil fence-ack)');
  assert.equal(factor(r, 'peer linux2'), 'dead (dead)');
});

test('explain: a node ruled out by a health check, with the reason and how to lift it', () => {
  const r = explain(
    inputs({
      g: { holder: 'linux2', state: 'held', eligible: false, ineligibleReason: 'check http failed 3 times' },
      peer: { holds: [G] },
    }),
  );
  assert.equal(r.groups[0]?.verdict, 'held by linux2; this node is not eligible for it (a health check ruled it out)');
  assert.equal(factor(r, 'eligibility'), 'not eligible here: check http failed 3 times (vigil cleanup lifts it)');
  assert.equal(factor(r, 'peer linux2'), 'alive (active), settled, holds it');
});

test('explain: auto_failback on brings the group home; off leaves it with the peer', () => {
  const on = explain(inputs({ g: { holder: 'linux2', state: 'held' }, peer: { holds: [G] } }));
  assert.match(on.groups[0]?.verdict ?? '', /should come back here \(auto_failback on\)/);
  assert.match(factor(on, 'preferred node'), /^linux1 \(this node\)$/);
  const off = explain(inputs({ g: { holder: 'linux2', state: 'held' }, peer: { holds: [G] }, autoFailback: 'off' }));
  assert.equal(
    off.groups[0]?.verdict,
    'held by linux2; auto_failback off: it stays there until linux2 fails or is put in standby',
  );
});

test('explain: ipfail, a standby in progress and a stopping node appear as factors', () => {
  const r = explain(
    inputs({
      mine: 'releasing',
      g: { holder: 'linux1', state: 'releasing' },
      standby: 'all',
      ipfail: { local: 1, peer: 2, peerNode: 'linux2', giveupPending: true, failbackPending: false },
      stopping: true,
    }),
  );
  assert.equal(r.groups[0]?.verdict, 'being stopped here');
  assert.equal(factor(r, 'ipfail'), 'ping nodes seen here 1, on linux2 2; handing groups over (fewer ping nodes here)');
  assert.equal(factor(r, 'standby'), 'in progress (all)');
  assert.match(factor(r, 'cluster'), /stopping: handing everything over/);
  assert.equal(explain(inputs({ stopping: true })).groups[0]?.verdict, 'held by nobody: this node is stopping');
  assert.equal(factor(explain(inputs({})), 'ipfail'), 'off');
});
