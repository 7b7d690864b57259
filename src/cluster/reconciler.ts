/**
 * After every event: finish what completed (initial acquisition, standby phases, mach_down, shutdown), adopt
 * groups nobody holds, resolve groups held twice, start auto_failback.
 */
import { type EngineContext, type Out } from './context.js';
import { refuseIneligible } from './eligibility.js';
import { watchUnknownHoldings } from './holdings.js';
import { claimBlocked, mayClaim, retryClaim } from './ownership.js';
import { progressStandby, startStandby } from './standby.js';

export function progress(c: EngineContext, out: Out): void {
  const s = c.s;
  if (s.rstate === 'shutdown') {
    for (const [g, st] of s.groups) if (st === 'held') c.release(out, g, 'shutdown');
    if ([...s.groups.values()].every((st) => st === 'none')) {
      c.log(out, 'info', 'All HA resources relinquished.');
      c.send(out, { t: 'shutdone' });
      s.rstate = 'down';
      out.push({ kind: 'shutdownComplete' });
    }
    return;
  }
  if (s.rstate !== 'stable') return;

  progressStandby(c, out);
  adoptAndResolve(c, out);

  for (const [node, tk] of s.takeovers) {
    if (tk.pending.size > 0) {
      for (const g of tk.pending) if (s.groups.get(g) !== 'acquiring') tk.pending.delete(g);
      if (tk.pending.size > 0) continue;
    }
    const p = s.peers.get(node);
    if (p?.needsFence === true && !p.fenced) continue;
    s.takeovers.delete(node);
    if (tk.taken.size > 0 && c.nice) {
      c.send(out, c.resourceMsg(true, 'mach_down', tk.taken));
    }
    c.log(out, 'info', `mach_down takeover complete for node ${node}.`);
  }

  if (s.initialPending && !c.anyAcquiring()) {
    s.initialPending = false;
    if (!c.nice) {
      c.log(out, 'info', `Initial resource acquisition complete (${s.initialReason})`);
    } else {
      const mine = c.myHolds();
      if (mine.size === 0) c.log(out, 'info', 'Local Resource acquisition completed. (none)');
      c.log(out, 'info', `Initial resource acquisition complete (${s.initialReason})`);
      c.send(out, c.resourceMsg(true, undefined));
      if (!c.multi) {
        const other = [...s.peers.values()].find((p) => p.alive && p.stable && p.holdsKnown);
        if (other !== undefined) {
          const foreign = c.classGroups(other.name, 'local');
          if (foreign.size > 0 && [...foreign].every((g) => !other.holds.has(g) && !mine.has(g))) {
            c.log(out, 'WARN', 'No one owns foreign resources!');
          }
        }
      }
    }
  }

  if (c.autoFailback && s.standby === undefined && !s.initialPending && !c.anyInTransition()) {
    for (const node of s.failbackPending) {
      const p = s.peers.get(node);
      s.failbackPending.delete(node);
      if (p === undefined || !p.alive || !p.stable) continue;
      // A group goes back to the node that ranks first in its order among those taking part.
      const give = new Set([...c.myHolds()].filter((g) => c.winner(g) === node && s.groups.get(g) === 'held'));
      if (give.size === 0) continue;
      startStandby(c, out, c.multi ? c.encode(c.me, give) : 'foreign', 'failback', node, give);
      break;
    }
  }

  watchUnknownHoldings(c, out);
}

function adoptAndResolve(c: EngineContext, out: Out): void {
  const s = c.s;
  const sb = s.standby;
  const stonithNeeded = new Set<string>();
  let adopted = false;
  for (const g of c.groupKeys) {
    const st = s.groups.get(g);
    if (st === 'none') {
      if (!c.nice && s.legacyRequested.has(g)) continue;
      // What we are handing over stays put; what is handed to us is reserved by the requester's
      // claim (then its `releasing` flux) until its `done`.
      if (sb?.role === 'requester' && sb.groups.has(g)) continue;
      if (c.peerClaims(g, true).length > 0) continue;
      if (c.winner(g) !== c.me) continue;
      if (s.failedStarts.has(g)) continue;
      if (refuseIneligible(c, out, g)) continue;
      // The quorum: not while etcd cannot be reached or says another node's lease holds the key (but what it
      // said may be out of date: tried again later).
      if (!mayClaim(c, g) && !retryClaim(c, g)) {
        claimBlocked(c, out);
        continue;
      }
      // STONITH gate: whoever may still run it must be reset first.
      const blockers = fenceBlockers(c, g);
      if (blockers.length > 0) {
        for (const b of blockers) stonithNeeded.add(b);
        continue;
      }
      const last = s.lastHolder.get(g);
      let tk = last !== undefined ? s.takeovers.get(last) : undefined;
      let from = tk === undefined ? undefined : last;
      if (tk === undefined && s.takeovers.size > 0 && !s.initialPending) {
        const [first] = s.takeovers.entries();
        if (first !== undefined) [from, tk] = first;
      }
      if (tk !== undefined) {
        c.log(out, 'info', `Taking over resource group ${g}`);
        tk.pending.add(g);
        tk.taken.add(g);
      }
      c.acquire(out, g, tk !== undefined ? 'takeover' : s.initialPending ? 'initial' : 'adopt', from);
      adopted = true;
    } else if (st === 'held' && c.nice) {
      // (Legacy resolves double holds through ip-request: the owner releases when asked.)
      const others = c.peerClaims(g, false);
      if (others.length === 0) continue;
      const w = c.conflictWinner(g, [c.me, ...others]);
      if (w === c.me) continue;
      c.log(out, 'WARN', `Resource group ${g} is also held by ${w}: releasing it here (partition heal).`);
      c.release(out, g, 'heal', w);
    }
  }
  s.q.retrying = false;
  // With bystanders, claim adopted groups at once (unstable): a peer that is about to be handed
  // the same group must see that we are starting it.
  if (adopted && c.multi && !s.initialPending) c.send(out, c.resourceMsg(false, undefined));
  // Whatever changed what we hold (adoption, heal, failed start), peers learn it once settled.
  if (c.nice && sb === undefined && !s.initialPending && s.takeovers.size === 0 && !c.anyInTransition()) {
    const now = [...c.myHolds()].sort().join(' ');
    if (now !== s.lastAnnounced) c.send(out, c.resourceMsg(true, undefined));
  }
  for (const node of stonithNeeded) {
    const p = s.peers.get(node);
    if (p === undefined || p.stonithPending) continue;
    p.stonithPending = true;
    c.log(out, 'info', `Resetting node ${node} with [${c.stonithLabel}]`);
    out.push({ kind: 'stonith', node });
  }
}

function fenceBlockers(c: EngineContext, g: string): string[] {
  const out: string[] = [];
  for (const p of c.s.peers.values()) {
    if (p.alive || !p.needsFence || p.fenced) continue;
    if (!p.everHeard || c.s.lastHolder.get(g) === p.name) out.push(p.name);
  }
  return out;
}
