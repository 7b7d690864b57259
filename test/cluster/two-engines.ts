/**
 * Two engines wired by hand for the scripted flows (engine and eligibility tests): node1 and node2, G1 homed on node1
 * and G2 on node2, messages delivered only when the test says so.
 */
import assert from 'node:assert/strict';
import { ClusterEngine } from '../../src/cluster/engine.js';
import type { ClusterAction, ClusterEvent } from '../../src/cluster/types.js';
import type { EngineMessage } from '../../src/cluster/protocol.js';
import type { AutoFailback } from '../../src/config/types.js';
import { simConfig } from '../../src/sim/config.js';

export const G1 = 'IPaddr::10.0.0.1';
export const G2 = 'IPaddr::10.0.0.2';

export function engine(
  local: string,
  autoFailback: AutoFailback = 'on',
  stonith?: string,
  quorum?: 'release' | 'keep',
): ClusterEngine {
  return new ClusterEngine(
    simConfig({
      nodes: ['node1', 'node2'],
      localNode: local,
      groups: [
        [G1, 'node1'],
        [G2, 'node2'],
      ],
      autoFailback,
      stonith,
      quorum,
    }),
  );
}

export const logs = (a: ClusterAction[]) => a.flatMap((x) => (x.kind === 'log' ? [x.text] : []));
export const sent = (a: ClusterAction[]) => a.flatMap((x) => (x.kind === 'send' ? [x.msg] : []));
export const acquires = (a: ClusterAction[]) => a.flatMap((x) => (x.kind === 'acquire' ? [x.group] : []));
export const releases = (a: ClusterAction[]) => a.flatMap((x) => (x.kind === 'release' ? [x.group] : []));
export const msg = (from: string, m: EngineMessage): ClusterEvent => ({
  kind: 'message',
  from,
  generation: 1,
  msg: m,
});

/** Deliver every message in `actions` from `from` to `to`; return what `to` did. */
export function deliver(from: ClusterEngine, actions: ClusterAction[], to: ClusterEngine): ClusterAction[] {
  const out: ClusterAction[] = [];
  for (const m of sent(actions)) out.push(...to.handle(msg(from.me, m)));
  return out;
}

/** Both up, each holding its own group after the 10 s both-starting fallback, each knowing the other's holdings. */
export function bothStable(autoFailback: AutoFailback = 'on', stonith?: string): [ClusterEngine, ClusterEngine] {
  const a = engine('node1', autoFailback, stonith);
  const b = engine('node2', autoFailback, stonith);
  a.handle({ kind: 'nodeAlive', node: 'node2' });
  b.handle({ kind: 'nodeAlive', node: 'node1' });
  const sa = a.handle({ kind: 'commUp' });
  const sb = b.handle({ kind: 'commUp' });
  deliver(b, deliver(a, sa, b), a);
  deliver(a, deliver(b, sb, a), b);
  a.handle({ kind: 'timer', name: 'bothStarting' });
  b.handle({ kind: 'timer', name: 'bothStarting' });
  const da = a.handle({ kind: 'acquireDone', group: G1, ok: true });
  const db = b.handle({ kind: 'acquireDone', group: G2, ok: true });
  deliver(a, da, b);
  deliver(b, db, a);
  assert.equal(a.snapshot().rscstatus, 'local');
  assert.equal(b.snapshot().rscstatus, 'local');
  return [a, b];
}
