/**
 * `vigil explain [GROUP]`: why this node holds, or does not hold, each group, from the engine's own state (never
 * from log text): the group's state here and who holds it, the preferred node and auto_failback, every peer as the
 * engine sees it, eligibility and health checks, ipfail's ping counts, a STONITH reset the takeover waits for, a
 * standby hand-over in progress, and the last transition with its reason.
 */
import type { ClusterSnapshot } from '../cluster/types.js';
import type { ExplainGroup, ExplainResult, StatusSnapshot, TransitionView } from '../control/protocol.js';

export interface ExplainInputs {
  readonly status: StatusSnapshot;
  readonly engine: ClusterSnapshot;
  readonly ipfail:
    | {
        readonly local: number | undefined;
        readonly peer: number | undefined;
        readonly peerNode: string;
        readonly giveupPending: boolean;
        readonly failbackPending: boolean;
      }
    | undefined;
  readonly stopping: boolean;
}

const when = (ms: number): string => new Date(ms).toISOString();

function lastMove(ts: readonly TransitionView[], group: string): TransitionView | undefined {
  for (let i = ts.length - 1; i >= 0; i--) if (ts[i]?.group === group) return ts[i];
  return undefined;
}

function moveText(t: TransitionView | undefined): string {
  if (t === undefined) return 'none recorded since start';
  const peer = t.peer === undefined ? '' : ` (peer ${t.peer})`;
  return `${t.from ?? '?'} → ${t.to ?? '?'} at ${when(t.at)}: ${t.reason ?? '?'}${peer}, on ${t.cause ?? '?'}`;
}

export function explain(i: ExplainInputs, only?: string): ExplainResult {
  const { status: s, engine: e } = i;
  const me = s.node;
  const groups: ExplainGroup[] = [];
  for (const g of s.groups) {
    if (only !== undefined && g.key !== only) continue;
    const mine = e.groups.find((x) => x.key === g.key)?.state ?? 'none';
    const last = lastMove(s.transitions, g.key);
    const factors: { name: string; value: string }[] = [];
    const f = (name: string, value: string): void => {
      factors.push({ name, value });
    };
    f('state here', mine);
    f('holder', g.holder ?? 'nobody');
    f('preferred node', g.preferred === me ? `${g.preferred} (this node)` : g.preferred);
    f(
      'auto_failback',
      s.autoFailback === 'on'
        ? 'on: the group goes back to its preferred node whenever that node is up'
        : s.autoFailback === 'off'
          ? 'off: the group stays where it is until its holder fails or an operator moves it'
          : 'legacy: the preferred node asks for the group back (ip-request) when it starts',
    );
    f('cluster', `this node is ${e.rstate}${i.stopping ? ' (stopping: handing everything over)' : ''}`);
    for (const p of e.peers) {
      const holds = p.holds.includes(g.key);
      const st = s.nodes.find((n) => n.name === p.name)?.status ?? '?';
      f(
        `peer ${p.name}`,
        `${p.alive ? 'alive' : 'dead'} (${st})` +
          (p.alive ? `, ${p.stable ? 'settled' : 'starting'}` : '') +
          (p.shuttingDown ? ', shutting down' : '') +
          (p.alive ? (p.holdsKnown ? (holds ? ', holds it' : ', does not hold it') : ', holdings not yet known') : ''),
      );
    }
    f(
      'eligibility',
      g.eligible ? 'eligible here' : `not eligible here: ${g.ineligibleReason ?? '?'} (vigil cleanup lifts it)`,
    );
    f(
      'health checks',
      g.checks.length === 0
        ? 'none configured'
        : g.checks
            .map((c) => `${c.id} ${c.state} (failures ${c.failCount}, restarts ${c.restarts}/${c.maxRestarts})`)
            .join('; '),
    );
    f('fail count', `${g.failCount}${g.lastFailure === undefined ? '' : `, last: ${g.lastFailure}`}`);
    const ip = i.ipfail;
    f(
      'ipfail',
      ip === undefined
        ? 'off'
        : `ping nodes seen here ${ip.local ?? '?'}, on ${ip.peerNode} ${ip.peer ?? '?'}` +
            (ip.giveupPending ? '; handing groups over (fewer ping nodes here)' : '') +
            (ip.failbackPending ? '; failback pending' : ''),
    );
    f(
      'STONITH',
      s.fencing.length === 0
        ? 'no reset pending'
        : s.fencing
            .map(
              (x) =>
                `waiting for the reset of ${x.node} (${x.device}${x.awaitingOperator ? ', needs vigil fence-ack' : ''})`,
            )
            .join('; '),
    );
    f('standby', e.standby === undefined ? 'none in progress' : `in progress (${e.standby})`);
    f('last transition', moveText(last));
    groups.push({
      group: g.key,
      verdict: verdict(i, g.key, mine, g.holder, g.preferred, g.eligible, last),
      state: mine,
      holder: g.holder,
      preferred: g.preferred,
      factors,
    });
  }
  return { node: me, groups };
}

function verdict(
  i: ExplainInputs,
  group: string,
  mine: string,
  holder: string | undefined,
  preferred: string,
  eligible: boolean,
  last: TransitionView | undefined,
): string {
  const s = i.status;
  const me = s.node;
  const why = last === undefined ? '' : ` (${last.reason ?? '?'}${last.peer === undefined ? '' : ` ${last.peer}`})`;
  switch (mine) {
    case 'held':
      return `held here since ${when(s.groups.find((g) => g.key === group)?.since ?? s.startedAt)}${why}`;
    case 'acquiring':
      return `being started here${why}`;
    case 'releasing':
      return `being stopped here${why}`;
    case 'stuck':
      return 'stuck here: a resource failed to stop; it is treated as held until an operator fixes it';
  }
  if (holder !== undefined) {
    if (!eligible) return `held by ${holder}; this node is not eligible for it (a health check ruled it out)`;
    if (preferred === me && s.autoFailback === 'on')
      return `held by ${holder}; it should come back here (auto_failback on) once the hand-over completes`;
    if (preferred === me)
      return `held by ${holder}; auto_failback ${s.autoFailback}: it stays there until ${holder} fails or is put in standby`;
    return `held by ${holder}, its ${holder === preferred ? 'preferred node' : 'current holder'}`;
  }
  if (i.stopping) return 'held by nobody: this node is stopping';
  if (s.fencing.length > 0)
    return `held by nobody: the takeover waits for the STONITH reset of ${s.fencing.map((f) => f.node).join(', ')}`;
  if (!eligible) return 'held by nobody: this node is not eligible for it, and no peer took it';
  if (i.engine.rstate !== 'stable') return `held by nobody yet: the cluster is still starting (${i.engine.rstate})`;
  return 'held by nobody';
}
