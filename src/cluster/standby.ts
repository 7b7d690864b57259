/**
 * Heartbeat's 3-phase standby (hb_standby, hb_takeover, auto_failback and Vigil's own hand-overs):
 * the requester asks (`ask_resources info=me`), the responder agrees (`other`), the requester stops its groups and
 * says `done`, the responder starts them and says `done`. The giver stops first, the taker starts at once: one hop.
 */
import { type EngineContext, type Out, type Peer } from './context.js';
import type { RscHold } from './protocol.js';
import type { MoveReason, StandbyWhich } from './types.js';

export const STANDBY_REPLY_TIMEOUT_MS = 10_000;
/** A responder whose requester never says `done` gives up waiting (Vigil guard; Heartbeat waits forever). */
export const STANDBY_DONE_GUARD_MS = 30_000;

export function complement(h: RscHold): StandbyWhich {
  return h === 'local' ? 'foreign' : h === 'foreign' ? 'local' : 'all';
}

/**
 * Start the 3-phase standby, giving up `which` (relative to us) to `partner` (default: the other node), or only
 * the groups in `only`. Returns false (and logs Heartbeat's line) when the node is in flux.
 */
export function startStandby(
  c: EngineContext,
  out: Out,
  which: RscHold,
  reason: MoveReason,
  partner?: string,
  only?: Set<string>,
): boolean {
  const s = c.s;
  if (!c.nice) {
    c.log(out, 'ERROR', 'Standby mode only implemented when nice_failback on');
    return false;
  }
  const groups = new Set(only ?? c.classGroups(c.me, which));
  const mine = c.myHolds();
  // Only what we hold, plus (Heartbeat's 30 s standby after a failed start) the failed groups:
  // a free group must not travel in a hand-over, where a bystander cannot see it reserved.
  for (const g of groups)
    if (!mine.has(g) && !(only !== undefined && (s.failedStarts.has(g) || s.ineligible.has(g)))) groups.delete(g);
  const peer = partner ?? standbyPartner(c, groups);
  const pp = peer === undefined ? undefined : s.peers.get(peer);
  if (
    s.rstate !== 'stable' ||
    s.initialPending ||
    s.standby !== undefined ||
    pp === undefined ||
    !pp.alive ||
    c.anyInTransition()
  ) {
    c.log(out, 'info', `standby message [${which}] ignored.  Local node is in flux.`);
    return false;
  }
  // A group the partner may not run (vigil_group_nodes) stays here.
  for (const g of groups) if (!c.allowed(g, pp.name)) groups.delete(g);
  c.log(out, 'info', `${c.me} wants to go standby [${which}]`);
  s.standby = { role: 'requester', peer: pp.name, hold: which, reason, phase: 'asked', groups };
  c.send(out, {
    t: 'ask_resources',
    rscHold: which,
    info: 'me',
    dest: c.multi ? pp.name : undefined,
    groups: c.multi || c.exactList(c.me, groups) !== undefined ? [...groups] : undefined,
  });
  out.push({ kind: 'setTimer', name: 'standbyReply', ms: STANDBY_REPLY_TIMEOUT_MS });
  return true;
}

/**
 * Who takes a standby's groups: the live, settled peer that ranks first in their orders (the first group's order
 * decides between peers allowed for as many of them).
 */
function standbyPartner(c: EngineContext, groups: ReadonlySet<string>): string | undefined {
  const peers = [...c.s.peers.values()].filter((p) => p.alive && p.stable && !p.shuttingDown);
  if (peers.length === 0) return [...c.s.peers.values()].find((p) => p.alive && p.stable)?.name;
  const first = [...groups][0];
  const rank = (n: string): number => {
    const i = first === undefined ? -1 : c.order(first).indexOf(n);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  const fit = (n: string): number => [...groups].filter((g) => c.allowed(g, n)).length;
  peers.sort((a, b) => fit(b.name) - fit(a.name) || rank(a.name) - rank(b.name));
  return peers[0]?.name;
}

export function cancelStandby(c: EngineContext, out: Out, _why: string): void {
  const s = c.s;
  const sb = s.standby;
  if (sb === undefined) return;
  if (sb.role === 'requester') for (const g of sb.groups) s.failedStarts.delete(g);
  out.push({ kind: 'cancelTimer', name: 'standbyReply' });
  out.push({ kind: 'cancelTimer', name: 'standbyDone' });
  s.standby = undefined;
  if (s.rstate === 'stable') {
    // Also tells a responder still waiting for our `done` that the request is off.
    c.send(out, c.resourceMsg(!c.anyInTransition(), undefined));
  }
}

export function onAskResources(
  c: EngineContext,
  out: Out,
  p: Peer,
  hold: RscHold,
  info: 'me' | 'other' | 'done',
  groups: readonly string[] | undefined,
): void {
  const s = c.s;
  const sb = s.standby;
  if (info === 'me') {
    if (
      s.rstate !== 'stable' ||
      s.initialPending ||
      (sb !== undefined && !(sb.role === 'responder' && sb.peer === p.name)) ||
      p.shuttingDown
    ) {
      c.log(out, 'info', `standby message [${hold}] from ${p.name} ignored.  Other side is in flux.`);
      return;
    }
    const set = groups !== undefined ? new Set(groups) : c.classGroups(p.name, hold);
    if (refusesHandover(c, out, p, hold, set, groups !== undefined)) return;
    s.standby = { role: 'responder', peer: p.name, hold, reason: 'standby', phase: 'waitDone', groups: set };
    c.send(out, {
      t: 'ask_resources',
      rscHold: hold,
      info: 'other',
      dest: c.multi ? p.name : undefined,
      groups: c.multi ? [...set] : undefined,
    });
    out.push({ kind: 'setTimer', name: 'standbyDone', ms: STANDBY_DONE_GUARD_MS });
    return;
  }
  if (sb === undefined || sb.peer !== p.name) return;
  if (info === 'other' && sb.role === 'requester' && sb.phase === 'asked') {
    out.push({ kind: 'cancelTimer', name: 'standbyReply' });
    c.log(out, 'info', `Going standby [${sb.hold}].`);
    const keep = c.myHolds();
    for (const g of sb.groups) keep.delete(g);
    c.send(out, c.resourceMsg(false, 'standby', keep));
    c.log(out, 'info', 'give up all HA resources (standby).');
    sb.phase = 'releasing';
    for (const g of sb.groups) c.release(out, g, sb.reason, p.name);
    return;
  }
  if (info === 'done' && sb.role === 'responder' && sb.phase === 'waitDone') {
    out.push({ kind: 'cancelTimer', name: 'standbyDone' });
    p.releasing = new Set();
    p.handedOver = new Set();
    sb.phase = 'acquiring';
    const want = groups !== undefined ? new Set(groups) : sb.groups;
    sb.groups = new Set();
    for (const g of want) {
      if (s.groups.get(g) !== 'none') continue;
      if (c.peerClaims(g, true).length > 0) continue;
      if (s.ineligible.has(g)) continue;
      if (!c.allowed(g, c.me)) continue;
      sb.groups.add(g);
      // A group coming home is a failback, whoever asked for it.
      c.acquire(out, g, c.pref(g) === c.me && c.autoFailback ? 'failback' : 'standby', p.name);
    }
    // Bystanders may have missed the hand-over (a lost message, a one-way link): claim what we start at once, as an
    // adoption does, so that none of them takes it over from the requester meanwhile.
    if (c.multi && sb.groups.size > 0) c.send(out, c.resourceMsg(false, undefined));
    return;
  }
  if (info === 'done' && sb.role === 'requester' && sb.phase === 'waitOther') {
    out.push({ kind: 'cancelTimer', name: 'standbyReply' });
    c.log(out, 'info', `Other node completed standby takeover of ${sb.hold} resources.`);
    // `done` means it holds them now (its `resource` follows): never adopt them back meanwhile.
    for (const g of groups ?? sb.groups) if (c.isGroup(g)) p.holds.add(g);
    for (const g of sb.groups) s.failedStarts.delete(g);
    s.standby = undefined;
    c.send(out, c.resourceMsg(true, undefined));
  }
}

/** After every event: a requester whose groups are all stopped says `done`; a responder that started them too. */
export function progressStandby(c: EngineContext, out: Out): void {
  const s = c.s;
  const sb = s.standby;
  if (sb?.role === 'requester' && sb.phase === 'releasing') {
    if ([...sb.groups].every((g) => s.groups.get(g) === 'none' || s.groups.get(g) === 'stuck')) {
      sb.phase = 'waitOther';
      c.send(out, {
        t: 'ask_resources',
        rscHold: sb.hold,
        info: 'done',
        dest: c.multi ? sb.peer : undefined,
        groups: c.multi || c.exactList(c.me, sb.groups) !== undefined ? [...sb.groups] : undefined,
      });
      c.log(out, 'info', `Local standby process completed [${sb.hold}].`);
      // The partner acquires them at once on our `done`: count them as its own from now on, so
      // that nothing here (nor a lost `done` reply) makes us pick them up again. Its next
      // announcement corrects this if it could not.
      const partner = s.peers.get(sb.peer);
      if (partner !== undefined) for (const g of sb.groups) partner.holds.add(g);
      out.push({ kind: 'setTimer', name: 'standbyReply', ms: STANDBY_REPLY_TIMEOUT_MS });
    }
  }
  if (sb?.role === 'responder' && sb.phase === 'acquiring') {
    if ([...sb.groups].every((g) => s.groups.get(g) !== 'acquiring')) {
      c.log(out, 'info', `Standby resource acquisition done [${sb.hold}].`);
      c.send(out, {
        t: 'ask_resources',
        rscHold: sb.hold,
        info: 'done',
        dest: c.multi ? sb.peer : undefined,
        groups: c.multi ? [...sb.groups] : undefined,
      });
      s.standby = undefined;
      c.send(out, c.resourceMsg(!c.anyInTransition(), undefined));
    }
  }
}

/**
 * A standby request that would hand us a group we may not run (a health check ruled us out) is refused, and the
 * requester keeps it. Lives here, not with eligibility, because only the standby protocol asks.
 */
function refusesHandover(
  c: EngineContext,
  out: Out,
  p: Peer,
  hold: RscHold,
  set: ReadonlySet<string>,
  exact: boolean,
): boolean {
  for (const g of set) {
    const why = c.s.ineligible.get(g);
    if (why === undefined) continue;
    if (!exact && !p.holds.has(g) && !p.releasing.has(g)) continue;
    c.log(
      out,
      'WARN',
      `standby message [${hold}] from ${p.name} refused: resource group ${g} is not eligible here (${why}).`,
    );
    return true;
  }
  return false;
}
