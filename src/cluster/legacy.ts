/**
 * `auto_failback legacy` (nice_failback off): no holdings exchange. Each node asks for its own groups with
 * `ip-request`; the holder releases and answers `ip-request-resp`; the asker starts on that answer.
 */
import { type EngineContext, type Out, type Peer } from './context.js';
import { FLUX_EXPIRY_MS } from './holdings.js';

/**
 * An ip-request can be lost for good (sent before a restarted peer first heard us, so never retransmitted), and
 * Heartbeat would then wait for ever with the group down. Vigil asks again this often while an answer is due.
 */
export const LEGACY_REQUEST_RETRY_MS = 10_000;
export const LEGACY_REQUEST_TIMER = 'legacyRequest';

export function legacyRequestOwn(c: EngineContext, out: Out): void {
  for (const g of c.groupKeys) {
    if (c.pref(g) !== c.me) continue;
    c.s.legacyRequested.add(g);
    c.send(out, { t: 'ip-request', ipaddr: g });
  }
  armRetry(c, out);
}

function armRetry(c: EngineContext, out: Out): void {
  if (c.s.legacyRequested.size > 0)
    out.push({ kind: 'setTimer', name: LEGACY_REQUEST_TIMER, ms: LEGACY_REQUEST_RETRY_MS });
}

/** The retry timer: ask again for what is still unanswered (the holder answers a repeat like the first). */
export function legacyRetry(c: EngineContext, out: Out): void {
  if (c.s.rstate !== 'stable' || !c.anyPeerAlive()) return;
  for (const g of c.s.legacyRequested) {
    if (c.s.groups.get(g) === 'none') c.send(out, { t: 'ip-request', ipaddr: g });
  }
  armRetry(c, out);
}

/** Comm up without nice_failback: stable at once, and ask for our own groups if anyone may hold them. */
export function legacyCommUp(c: EngineContext, out: Out): void {
  const s = c.s;
  s.rstate = 'stable';
  for (const g of c.groupKeys) {
    if (c.pref(g) !== c.me) continue;
    if (c.anyPeerAlive()) {
      s.legacyRequested.add(g);
      c.send(out, { t: 'ip-request', ipaddr: g });
    }
  }
  s.initialPending = true;
  s.initialReason = 'req_our_resources()';
  armRetry(c, out);
}

/**
 * A peer heard for the first time or in a new incarnation: a new incarnation holds nothing and asks for its groups
 * with ip-request; one we never heard is assumed to run its own groups.
 */
export function legacyNodeAlive(
  c: EngineContext,
  out: Out,
  p: Peer,
  firstEver: boolean,
  restarted: boolean,
  active: boolean,
): void {
  p.holdsKnown = true;
  const runsOwn = firstEver && !restarted;
  p.holds = runsOwn ? c.classGroups(p.name, 'local') : new Set();
  // Groups we granted it (ip-request) before its first status reached us.
  for (const g of p.releasing) p.holds.add(g);
  // Ask again for our own groups: the new incarnation answers at once if it does not hold
  // them, and one that ran behind a partition gives back what it took.
  if (c.s.rstate === 'stable') legacyRequestOwn(c, out);
  // First heard already active, after we had taken its groups (both started behind a partition, or it stalled
  // through our whole start-up): it runs them too, and will not ask for them (it never lost them). Give them back
  // as on a return. A node that is only starting (status up) asks for its own with ip-request.
  if (runsOwn && active) giveBack(c, out, p);
}

/** A partition healed: each side asks again for its own groups, and gives back the returning node's. */
export function legacyNodeReturned(c: EngineContext, out: Out, p: Peer): void {
  p.holdsKnown = true;
  p.holds = c.classGroups(p.name, 'local');
  legacyRequestOwn(c, out);
  giveBack(c, out, p);
}

/**
 * Gives back the peer's own groups we took while it seemed dead (it still runs them): release ours, then tell it,
 * as if it had asked.
 */
function giveBack(c: EngineContext, out: Out, p: Peer): void {
  for (const g of p.holds) {
    const st = c.s.groups.get(g);
    if (st === 'held' || st === 'acquiring') {
      c.s.legacyGrant.set(g, p.name);
      c.release(out, g, 'legacy', p.name);
    }
  }
}

export function onIpRequest(c: EngineContext, out: Out, p: Peer, g: string): void {
  if (!c.isGroup(g)) return;
  p.holds.add(g);
  // Until its status shows it alive (or FLUX_EXPIRY_MS), the group is reserved for the requester.
  p.releasing.add(g);
  out.push({ kind: 'setTimer', name: `flux:${p.name}`, ms: FLUX_EXPIRY_MS });
  const st = c.s.groups.get(g);
  if (st === 'held') {
    c.s.legacyGrant.set(g, p.name);
    c.release(out, g, 'legacy', p.name);
  } else if (st === 'acquiring' || st === 'releasing') {
    c.s.legacyGrant.set(g, p.name);
  } else {
    c.send(out, { t: 'ip-request-resp', dest: p.name, ipaddr: g, weown: false });
  }
}

/** Heartbeat takes the group on any ip-request-resp addressed to it (asked for or not). */
export function onIpRequestResp(c: EngineContext, out: Out, p: Peer, dest: string, g: string): void {
  if (dest !== c.me || !c.isGroup(g)) return;
  p.holds.delete(g);
  c.s.legacyRequested.delete(g);
  if (c.s.rstate === 'stable' && c.s.groups.get(g) === 'none' && !c.s.ineligible.has(g)) {
    c.acquire(out, g, 'legacy', p.name);
  }
}
