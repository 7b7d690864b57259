/**
 * Eligibility (Vigil health checks): the only engine code for them. A node whose check for a group failed for good
 * is ruled out for that group: it hands the group over with the ordinary 3-phase standby (the peer needs nothing new
 * on the wire, a real Heartbeat peer takes it too), never acquires it by any path (adoption, standby `done`, legacy
 * ip-request-resp), and refuses a standby request that would hand it here (the requester's 10 s timeout keeps the
 * group there). A free group this node would be the one to adopt is handed over the same way (the peer cannot know
 * why we do not take it). Without a peer to take it, a held group keeps running here (better a suspect service
 * than none) and the hand-over is retried every INELIGIBLE_RETRY_MS.
 */
import { type EngineContext, type Out } from './context.js';
import { startStandby } from './standby.js';

/** A group this node may not run (health check) and could not hand over yet: try again this often. */
export const INELIGIBLE_RETRY_MS = 5_000;
export const INELIGIBLE_TIMER = 'ineligible';

export function onEligibility(c: EngineContext, out: Out, g: string, eligible: boolean, reason: string): void {
  if (!c.isGroup(g)) return;
  const s = c.s;
  if (eligible) {
    if (!s.ineligible.delete(g)) return;
    s.ineligibleNoted.clear();
    c.log(out, 'info', `Resource group ${g} is eligible on ${c.me} again.`);
    return;
  }
  s.ineligible.set(g, reason);
  s.ineligibleNoted.clear();
  c.log(out, 'WARN', `Resource group ${g} is not eligible on ${c.me}: ${reason}.`);
  handOverIneligible(c, out);
}

/** Ineligible groups held here, or free with this node as the one that would adopt them. */
function toHandOver(c: EngineContext): Set<string> {
  const s = c.s;
  const give = new Set<string>();
  for (const g of s.ineligible.keys()) {
    const st = s.groups.get(g);
    if (st === 'held') give.add(g);
    else if (st === 'none' && c.peerClaims(g, true).length === 0 && c.winner(g) === c.me) give.add(g);
  }
  return give;
}

export function handOverIneligible(c: EngineContext, out: Out): void {
  const s = c.s;
  if (s.rstate !== 'stable') return;
  const give = toHandOver(c);
  if (give.size === 0) {
    // Ruled out while being started or stopped: look again once that settles.
    const settling = [...s.ineligible.keys()].some((g) => {
      const st = s.groups.get(g);
      return st === 'acquiring' || st === 'releasing';
    });
    if (settling) out.push({ kind: 'setTimer', name: INELIGIBLE_TIMER, ms: INELIGIBLE_RETRY_MS });
    return;
  }
  // The next node in the groups' order that may take them (vigil_group_nodes), else any settled peer.
  const ready = [...s.peers.values()].filter((p) => p.alive && p.stable && !p.shuttingDown);
  const first = [...give][0];
  const peer =
    (first === undefined
      ? undefined
      : c
          .order(first)
          .map((n) => ready.find((p) => p.name === n))
          .find((p) => p !== undefined && [...give].every((g) => c.allowed(g, p.name)))) ??
    ready.find((p) => [...give].every((g) => c.allowed(g, p.name)));
  if (c.nice && peer !== undefined && s.standby === undefined && !s.initialPending && !c.anyInTransition()) {
    c.log(out, 'info', `Handing resource group(s) ${[...give].join(' ')} to ${peer.name} (not eligible here).`);
    startStandby(c, out, c.encode(c.me, give), 'ineligible', peer.name, give);
  } else if (peer === undefined) {
    for (const g of give) {
      if (!noteOnce(c, `nopeer:${g}`)) continue;
      c.log(
        out,
        'WARN',
        s.groups.get(g) === 'held'
          ? `No healthy peer to take resource group ${g}: it keeps running here.`
          : `Not taking over resource group ${g}: not eligible here, and no peer to take it.`,
      );
    }
  } else if (!c.nice) {
    for (const g of give) {
      if (!noteOnce(c, `legacy:${g}`)) continue;
      c.log(out, 'ERROR', `Cannot hand over resource group ${g}: needs auto_failback on or off (not legacy).`);
    }
    return;
  }
  // Until it is gone (a standby may be refused or time out, a peer may come back), try again.
  out.push({ kind: 'setTimer', name: INELIGIBLE_TIMER, ms: INELIGIBLE_RETRY_MS });
}

/** True the first time `key` is seen since the last ruling: one log line per situation, not per event. */
function noteOnce(c: EngineContext, key: string): boolean {
  if (c.s.ineligibleNoted.has(key)) return false;
  c.s.ineligibleNoted.add(key);
  return true;
}

/** Adoption gate: true (and the hand-over arranged, once) when this node may not run `g`. */
export function refuseIneligible(c: EngineContext, out: Out, g: string): boolean {
  if (!c.s.ineligible.has(g)) return false;
  if (noteOnce(c, `adopt:${g}`)) {
    c.log(out, 'WARN', `Not taking over resource group ${g}: not eligible here.`);
    out.push({ kind: 'setTimer', name: INELIGIBLE_TIMER, ms: 0 });
  }
  return true;
}
