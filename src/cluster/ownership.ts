/**
 * vigil_quorum etcd: a node holds a group only while it owns the group's key in etcd under a live lease of its own
 * (docs/quorum.md). The heartbeats still decide who *should* hold a group (the winner rule, hand-overs, failback);
 * etcd decides who *may*: every acquisition first claims the key (`claim`: create it only if absent), and starts
 * the group only once etcd said yes; every release ends by revoking the lease (`disown`), before a hand-over's
 * `done` goes out, so the taker's claim finds the key gone. A refused claim leaves the group alone until etcd says
 * the key is gone. A key lost (not renewed in time, or taken by another lease) releases the group at once.
 *
 * Lease renewals and the deadlines they set live in node/leases.ts; what talks to etcd in src/quorum.
 */
import { CLAIM_RETRY_FIRST_MS, CLAIM_RETRY_MAX_MS, type EngineContext, type Out } from './context.js';
import type { ClaimResult, KeyOwner, QuorumView } from './types.js';

/** Adoption gate: may this node try to claim `g` now? (A claim is refused by etcd anyway if the key exists.) */
export function mayClaim(c: EngineContext, g: string): boolean {
  if (!c.quorum) return true;
  const q = c.s.q;
  if (!q.reachable || q.refusedUnreachable.has(g)) return false;
  if (q.mine.has(g)) return true;
  const k = q.owners.get(g);
  // Unknown (not read yet) or absent: try; the transaction decides.
  return k === undefined || k.owner === null;
}

export const CLAIM_RETRY_TIMER = 'claimRetry';
/** Claims in flight at once beyond which a retry pass waits (a few groups at a time, not a burst at etcd). */
export const CLAIM_RETRY_MAX_IN_FLIGHT = 4;

/**
 * Adoption wants `g` here, nobody else holds it, but mayClaim said no although etcd answers. What said no may be
 * out of date: a claim refused during an outage this node never noticed (the watch may stay up through a short
 * one), or a key owner from a watch event that was followed by one we missed. Nothing else would ever claim the
 * group again, so a timer does, with a doubling backoff: etcd's answer settles it (a refusal names the owner).
 */
export function claimBlocked(c: EngineContext, out: Out): void {
  const q = c.s.q;
  if (!q.reachable || q.retryArmed) return;
  q.retryArmed = true;
  out.push({ kind: 'setTimer', name: CLAIM_RETRY_TIMER, ms: q.retryMs });
}

export function onClaimRetryTimer(c: EngineContext): void {
  const q = c.s.q;
  q.retryArmed = false;
  if (!q.reachable) return;
  q.retrying = true;
  q.retryMs = Math.min(q.retryMs * 2, CLAIM_RETRY_MAX_MS);
}

/** During a retry pass: may a blocked group be claimed anyway? (Bounded by the claims already in flight.) */
export function retryClaim(c: EngineContext, g: string): boolean {
  const q = c.s.q;
  if (!q.retrying || !q.reachable || q.claiming.size >= CLAIM_RETRY_MAX_IN_FLIGHT) return false;
  q.refusedUnreachable.delete(g);
  return true;
}

function ownerText(o: KeyOwner | null | undefined): string {
  return o === null || o === undefined ? 'nobody' : `${o.node} (lease ${o.lease})`;
}

export function onClaimDone(c: EngineContext, out: Out, g: string, r: ClaimResult): void {
  const q = c.s.q;
  if (!q.claiming.delete(g)) return;
  // Sent before etcd last became reachable again: an "unreachable" answer is old news, not a reason to wait.
  const stale = q.claimEpoch.get(g) !== q.epoch;
  q.claimEpoch.delete(g);
  const st = c.s.groups.get(g);
  // A reclaim of a group kept through an outage; one being started again is an ordinary claim.
  const reclaiming = q.reclaim.delete(g) && st !== 'acquiring';
  if (r.ok) {
    q.retryMs = CLAIM_RETRY_FIRST_MS;
    q.mine.set(g, { lease: r.lease, revision: r.revision });
    q.owners.set(g, { owner: { node: c.me, lease: r.lease }, revision: r.revision });
    q.noted.delete(g);
    if (st === 'acquiring') {
      c.log(out, 'info', `Resource group ${g}: key claimed in etcd (fencing token ${r.revision}).`);
      out.push({ kind: 'acquire', group: g });
      return;
    }
    if (st === 'held' || st === 'releasing' || st === 'stuck') {
      // Kept through an outage (vigil_quorum_loss keep): owned again. Being released: the key goes after it.
      if (reclaiming)
        c.log(out, 'info', `Resource group ${g}: key claimed again in etcd (fencing token ${r.revision}).`);
      return;
    }
    // Not wanted any more (given up while the claim was on its way): the new lease goes at once.
    q.disowning.add(g);
    out.push({ kind: 'disown', group: g, lease: r.lease });
    return;
  }
  if (r.owner !== undefined) {
    const known = q.owners.get(g);
    if (known === undefined || (r.revision ?? 0) >= known.revision)
      q.owners.set(g, { owner: r.owner, revision: r.revision ?? known?.revision ?? 0 });
  } else if (!stale) {
    q.refusedUnreachable.add(g);
  }
  if (reclaiming) {
    // Kept through the outage, and now another node's: give it up. Unreachable again: try once it answers.
    if (r.owner === undefined) {
      q.reclaim.add(g);
      if (stale) reclaimNow(c, out);
    } else if (st === 'held') lose(c, out, g, `its key now belongs to ${ownerText(r.owner)}`);
    return;
  }
  if (st !== 'acquiring') return;
  const why = r.owner !== undefined ? `its key belongs to ${ownerText(r.owner)}` : `etcd: ${r.error ?? 'no answer'}`;
  if (!q.noted.has(g)) {
    q.noted.add(g);
    c.log(out, 'WARN', `Not taking resource group ${g}: ${why}.`);
  }
  c.claimRefused(out, g, r.owner?.node);
}

/** A release finished here: revoke the lease first (true: the caller waits for `disownDone`). */
export function disownAfterRelease(c: EngineContext, out: Out, g: string): boolean {
  const q = c.s.q;
  const m = q.mine.get(g);
  if (!c.quorum || m === undefined || q.disowning.has(g)) return false;
  q.disowning.add(g);
  out.push({ kind: 'disown', group: g, lease: m.lease });
  return true;
}

/** Returns true when the release was waiting for it (the caller completes it now). */
export function onDisownDone(c: EngineContext, g: string): boolean {
  const q = c.s.q;
  if (!q.disowning.delete(g)) return false;
  const m = q.mine.get(g);
  q.mine.delete(g);
  // Gone as far as we know; a later watch event (higher revision) says who took it.
  const known = q.owners.get(g);
  if (m !== undefined && known?.owner?.lease === m.lease) q.owners.set(g, { owner: null, revision: known.revision });
  return true;
}

export function onKeyState(c: EngineContext, out: Out, g: string, owner: KeyOwner | undefined, revision: number): void {
  if (!c.isGroup(g)) return;
  const q = c.s.q;
  const known = q.owners.get(g);
  // A watch event older than what we know (our own claim's answer may overtake it) says nothing new.
  if (known !== undefined && revision < known.revision) return;
  q.owners.set(g, { owner: owner ?? null, revision });
  if (owner === undefined) {
    q.refusedUnreachable.delete(g);
    q.noted.delete(g);
  }
  const m = q.mine.get(g);
  if (q.reclaim.has(g) && owner !== undefined) {
    // Kept through an etcd outage (vigil_quorum_loss keep), and someone else's now.
    q.reclaim.delete(g);
    if (c.s.groups.get(g) === 'held') lose(c, out, g, `its key now belongs to ${ownerText(owner)}`);
    return;
  }
  if (m === undefined || q.disowning.has(g)) return;
  if (owner !== undefined && owner.lease === m.lease) return;
  // Our key is gone (the lease expired at etcd) or someone else's now: we no longer may hold the group.
  lose(c, out, g, owner === undefined ? 'its key vanished from etcd' : `its key now belongs to ${ownerText(owner)}`);
}

/** node/leases.ts: the lease was not renewed in time (or etcd said it is gone). */
export function onOwnershipLost(c: EngineContext, out: Out, g: string, reason: string): void {
  if (!c.quorum || !c.s.q.mine.has(g) || c.s.q.disowning.has(g)) return;
  lose(c, out, g, reason);
}

function lose(c: EngineContext, out: Out, g: string, reason: string): void {
  const s = c.s;
  s.q.mine.delete(g);
  const st = s.groups.get(g);
  if (c.keepOnLoss && owner0(c, g) === null && (st === 'held' || st === 'acquiring')) {
    // vigil_quorum_loss keep: hold on, and claim the key again as soon as etcd answers.
    c.log(out, 'WARN', `Resource group ${g}: etcd lease lost (${reason}); kept here (vigil_quorum_loss keep).`);
    s.q.reclaim.add(g);
    reclaimNow(c, out);
    return;
  }
  c.log(out, 'CRIT', `Resource group ${g}: no longer owned in etcd (${reason}): releasing it here.`);
  if (st === 'held') c.release(out, g, 'quorum');
  else if (st === 'acquiring') s.q.lostWhileAcquiring.add(g);
}

/** The key's owner as last known: null when absent or not known to be another node's. */
function owner0(c: EngineContext, g: string): KeyOwner | null {
  const k = c.s.q.owners.get(g);
  if (k?.owner === null || k === undefined) return null;
  return k.owner.node === c.me ? null : k.owner;
}

/** vigil_quorum_loss keep: claim again the keys of what was kept, once etcd answers. */
function reclaimNow(c: EngineContext, out: Out): void {
  const q = c.s.q;
  if (!q.reachable) return;
  for (const g of q.reclaim) {
    if (q.claiming.has(g)) continue;
    q.claiming.add(g);
    q.claimEpoch.set(g, q.epoch);
    out.push({ kind: 'claim', group: g });
  }
}

/** A start completed: a group whose key was lost meanwhile is released at once (true: handled). */
export function releaseIfLost(c: EngineContext, out: Out, g: string): boolean {
  if (!c.s.q.lostWhileAcquiring.delete(g)) return false;
  c.release(out, g, 'quorum');
  return true;
}

export function onQuorumReachable(c: EngineContext, out: Out, reachable: boolean): void {
  const q = c.s.q;
  if (q.reachable === reachable) return;
  q.reachable = reachable;
  if (reachable) {
    q.epoch++;
    q.refusedUnreachable.clear();
    q.retryMs = CLAIM_RETRY_FIRST_MS;
    c.log(out, 'info', 'etcd reachable: group ownership can be claimed.');
    reclaimNow(c, out);
  } else {
    c.log(out, 'WARN', 'etcd unreachable: no resource group will be taken over until it answers again.');
  }
}

export function quorumView(c: EngineContext): QuorumView | undefined {
  if (!c.quorum) return undefined;
  const q = c.s.q;
  return {
    reachable: q.reachable,
    keys: c.groupKeys.map((group) => {
      const k = q.owners.get(group);
      const mine = q.mine.get(group);
      return {
        group,
        owner: k === undefined ? undefined : (k.owner?.node ?? null),
        ...(mine === undefined ? {} : { token: mine.revision }),
      };
    }),
  };
}
