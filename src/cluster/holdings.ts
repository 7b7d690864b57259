/**
 * What each peer holds: nice_failback's start-up exchange (`starting` → `resource`), the holdings peers announce
 * (hand-overs in flux, mach_down reports, partition-heal announcements), and when start-up is over.
 */
import { type EngineContext, type Out, type Peer } from './context.js';
import type { RscHold } from './protocol.js';
import { cancelStandby } from './standby.js';

/**
 * `info` of the `resource` announcement sent when a peer comes back from a partition (Vigil only;
 * Heartbeat ignores info values it does not know). The receiver answers with its own holdings.
 */
export const HEAL_INFO = 'heal';

/** Heartbeat's fixed delay before two nodes that both start take their own groups. */
export const BOTH_STARTING_FALLBACK_MS = 10_000;
/** How long groups a peer gave up stay reserved for whoever it gave them to. */
export const FLUX_EXPIRY_MS = 20_000;

/** How long a live peer's holdings may stay unknown before we ask for them (again). */
export const ASK_HOLDINGS_MS = 2_000;
export const ASK_HOLDINGS_TIMER = 'askHoldings';

/**
 * More than two nodes: a live peer whose holdings we do not know blocks every group it might hold here (adoption,
 * a hand-over's `done`), and nothing would ever tell us: it missed our `starting` (it first heard us after it was
 * sent), or its answer was lost. After every event, while one is unknown, a timer asks for them with a `resource`
 * carrying `info=heal` (peers answer it with theirs), every ASK_HOLDINGS_MS until it answers.
 * (Two nodes: Heartbeat's exchange, unchanged; start-up waits for the one peer's answer.)
 */
export function watchUnknownHoldings(c: EngineContext, out: Out): void {
  const s = c.s;
  if (!c.multi || s.askHoldingsArmed || !unknownPeer(c)) return;
  s.askHoldingsArmed = true;
  out.push({ kind: 'setTimer', name: ASK_HOLDINGS_TIMER, ms: ASK_HOLDINGS_MS });
}

export function onAskHoldingsTimer(c: EngineContext, out: Out): void {
  c.s.askHoldingsArmed = false;
  if (c.multi && unknownPeer(c)) c.send(out, c.resourceMsg(!c.anyInTransition(), HEAL_INFO));
}

function unknownPeer(c: EngineContext): boolean {
  if (c.s.rstate !== 'stable' || c.s.initialPending) return false;
  for (const p of c.s.peers.values()) if (p.alive && !p.holdsKnown) return true;
  return false;
}

/** A peer sent `starting`: it holds nothing; answer with what we hold (even before our own comm is up). */
export function onStarting(c: EngineContext, out: Out, p: Peer, generation: number): void {
  p.holdsGen = generation;
  p.releasing = new Set();
  p.handedOver = new Set();
  p.holds = new Set();
  p.holdsKnown = true;
  p.stable = false;
  p.starting = true;
  answerStarting(c, out);
  if (c.s.standby?.peer === p.name) cancelStandby(c, out, 'peer restarted');
  checkStartingDone(c, out);
}

/** What we hold, for a peer that is starting (answered even before our own comm is up). */
export function answerStarting(c: EngineContext, out: Out): void {
  if (c.s.rstate === 'shutdown' || c.s.rstate === 'down') return;
  const stable = c.s.rstate === 'stable' && !c.s.initialPending && !c.anyInTransition();
  c.send(out, c.resourceMsg(stable, undefined));
}

export function onResource(
  c: EngineContext,
  out: Out,
  p: Peer,
  msg: { rscHold: RscHold; isstable: boolean; info: string | undefined; groups: readonly string[] | undefined },
): void {
  const s = c.s;
  const claim = c.decode(p.name, msg.rscHold, msg.groups);
  if (!p.alive) p.announcedSinceDeath = true;
  const before = p.holdsKnown ? [...p.holds].sort().join(' ') : undefined;
  // What it stops holding is in flux (handed to someone, or going down) until the receiver
  // claims it, the sender dies or restarts, or FLUX_EXPIRY_MS passes: a bystander must not
  // pick it up in between (messages from the receiver may reach us after the sender's).
  // A settled (stable) report without a hand-over simply frees what it no longer lists.
  const handover = msg.info === 'standby' || msg.info === 'shutdown' || !msg.isstable;
  if (p.holdsKnown && msg.info !== 'mach_down' && handover) {
    let added = false;
    for (const g of p.holds) {
      if (!claim.has(g) && !p.releasing.has(g)) {
        p.releasing.add(g);
        if (msg.info === 'standby') p.handedOver.add(g);
        added = true;
      }
    }
    if (added) out.push({ kind: 'setTimer', name: `flux:${p.name}`, ms: FLUX_EXPIRY_MS });
  }
  const prev = p.holdsKnown ? new Set(p.holds) : new Set<string>();
  for (const g of claim) {
    p.releasing.delete(g);
    p.handedOver.delete(g);
    // Only a new claim we can act on settles a hand-over (not one from behind a partition, nor
    // a holder that is still letting go of it).
    if (prev.has(g)) continue;
    if (p.alive) {
      for (const q of s.peers.values()) {
        if (q === p) continue;
        q.releasing.delete(g);
        q.handedOver.delete(g);
      }
    }
  }
  // Groups it may have announced to clients and now lets go of, that we hold: announce ours after it.
  const letGo =
    msg.info === 'mach_down'
      ? []
      : [...(p.mayHoldOurs ? c.groupKeys : prev)].filter((g) => !claim.has(g) && s.groups.get(g) === 'held');
  if (msg.info === 'mach_down') {
    // mach_down reports what was taken over, on top of what the sender already held.
    for (const g of claim) p.holds.add(g);
  } else {
    p.holds = claim;
  }
  for (const g of p.holds) s.lastHolder.set(g, p.name);
  // A mach_down report adds to what we knew; on top of nothing known it is still not the whole picture.
  if (msg.info !== 'mach_down') p.holdsKnown = true;
  if (msg.info === 'shutdown') p.shuttingDown = true;
  const wasStable = p.stable;
  p.stable = msg.isstable;
  if (msg.isstable && !wasStable && p.starting) {
    p.starting = false;
    if (c.autoFailback) s.failbackPending.add(p.name);
  }
  if (!c.multi && !p.healing && msg.isstable && s.rstate === 'stable' && s.standby === undefined) {
    const mine = c.myHolds();
    for (const g of p.holds) {
      if (mine.has(g) && c.pref(g) === c.me && s.groups.get(g) === 'held') {
        c.log(out, 'ERROR', 'Both machines own our resources!');
        break;
      }
    }
  }
  if (p.healing && msg.isstable) p.healing = false;
  if (s.rstate === 'stable') reannounceHeld(c, out, letGo);
  if (msg.isstable && msg.info !== 'mach_down') p.mayHoldOurs = false;

  if (s.rstate === 'starting') checkStartingDone(c, out);
  if (s.rstate === 'stable') {
    // Answer a heal announcement with ours, and tell a peer that claims a group we keep that we
    // keep it (it may not know we are alive: only one side of a partition may have seen it).
    const mine = c.myHolds();
    const kept = [...p.holds].filter((g) => mine.has(g) && c.conflictWinner(g, [c.me, p.name]) === c.me);
    const changed = before !== [...p.holds].sort().join(' ');
    if (msg.info === HEAL_INFO || (kept.length > 0 && changed)) {
      c.send(out, c.resourceMsg(!c.anyInTransition(), undefined));
      // The peer gives these up as soon as it learns we keep them. Announcing now, not when its next
      // heartbeat brings `returning after partition`, spares clients that last heard its ARP up to a keepalive.
      for (const g of kept) if (s.groups.get(g) === 'held') out.push({ kind: 'reannounce', group: g });
    }
  }
}

export function checkStartingDone(c: EngineContext, out: Out): void {
  const s = c.s;
  if (s.rstate !== 'starting') return;
  const alive = [...s.peers.values()].filter((p) => p.alive);
  if (alive.length === 0) {
    finishStarting(c, out, 'T_RESOURCES(us)');
    return;
  }
  if (alive.some((p) => p.holdsKnown && p.stable)) {
    c.log(out, 'info', 'remote resource transition completed.');
    finishStarting(c, out, 'T_RESOURCES(them)');
    return;
  }
  if (alive.every((p) => p.holdsKnown) && !s.bothStartingArmed) {
    // Everyone alive is starting too: Heartbeat waits 10 s, then takes its own groups.
    s.bothStartingArmed = true;
    out.push({ kind: 'setTimer', name: 'bothStarting', ms: BOTH_STARTING_FALLBACK_MS });
  }
}

export function finishStarting(c: EngineContext, out: Out, reason: string): void {
  const s = c.s;
  if (s.bothStartingArmed) {
    s.bothStartingArmed = false;
    out.push({ kind: 'cancelTimer', name: 'bothStarting' });
  }
  s.rstate = 'stable';
  s.initialPending = true;
  s.initialReason = reason;
}

/** Re-sends the address announcements of the groups among `groups` that we hold. */
export function reannounceHeld(c: EngineContext, out: Out, groups: Iterable<string>): void {
  for (const g of groups) if (c.s.groups.get(g) === 'held') out.push({ kind: 'reannounce', group: g });
}
