/**
 * vigil_quorum etcd, the holder's side of "never two holders" (docs/quorum.md): when this node's etcd lease for a
 * group may expire, and so when it must stop holding the group. Pure: times in, deadlines and renewals out.
 *
 * etcd starts (or restarts) a lease's TTL when it processes a grant or a keep-alive, which is after we sent it. So
 * a lease renewed by a request sent at local time s cannot expire at etcd before s + TTL, as measured by etcd's
 * clock; measured by ours, not before s + TTL × (1 − ρ), where ρ bounds how much faster etcd's clock may run than
 * ours. From that instant (`expiryBound`) another node may claim the key, so the VIP must be gone before it:
 * `vipDeadline` = expiryBound − SAFETY_MARGIN_MS caps the kernel lifetime of every held VIP (agents/ipaddr.ts), and
 * the group is released (`releaseAt`) RELEASE_LEAD_MS earlier still, so that its scripts are stopped too.
 *
 * Renewals go out every TTL / 5 (1 s at the default 5 s TTL), so an etcd leader election (1–2 s with etcd's
 * defaults) fits between the last good renewal and `releaseAt` (3.7 s after it at 5 s) without a spurious move.
 */

/** ρ: how much faster etcd's clock may run than ours (a rate, not an offset: only durations are compared). */
export const CLOCK_RATE_BOUND = 0.01;
/** The VIP is gone this long before the earliest instant etcd could expire the lease. */
export const SAFETY_MARGIN_MS = 250;
/** The group is released this long before its VIP deadline (scripts stop; the kernel drops the VIP anyway). */
export const RELEASE_LEAD_MS = 1000;
/** A renewal that has not answered in this long is sent again (the answer may never come). */
export const RENEW_RETRY_MS = 500;

export interface LeaseTiming {
  readonly ttlMs: number;
}

interface Held {
  readonly lease: string;
  /** Send time of the request that last renewed the lease (or of the claim that granted it). */
  okFrom: number;
  /** Send time of the renewal in flight, if any. */
  inflight: number | undefined;
  lastSent: number;
}

export type RenewResult = 'renewed' | 'gone' | 'failed';

export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  /** When each claim in flight was sent: its lease's TTL started after that. */
  private readonly claimSentAt = new Map<string, number>();

  constructor(private timing: LeaseTiming) {}

  setTiming(t: LeaseTiming): void {
    this.timing = t;
  }

  get renewEveryMs(): number {
    return Math.floor(this.timing.ttlMs / 5);
  }

  claimSent(group: string, now: number): void {
    this.claimSentAt.set(group, now);
  }

  /** etcd granted the key under `lease` (its TTL started no earlier than when the claim was sent). */
  claimed(group: string, lease: string, now: number): void {
    const from = this.claimSentAt.get(group) ?? now;
    this.claimSentAt.delete(group);
    this.held.set(group, { lease, okFrom: from, inflight: undefined, lastSent: from });
  }

  claimFailed(group: string): void {
    this.claimSentAt.delete(group);
  }

  /** The lease is revoked or abandoned: nothing more to renew. */
  forget(group: string): void {
    this.held.delete(group);
    this.claimSentAt.delete(group);
  }

  has(group: string): boolean {
    return this.held.has(group);
  }

  /** The earliest local instant at which etcd could expire the lease. */
  expiryBound(group: string): number | undefined {
    const h = this.held.get(group);
    return h === undefined ? undefined : h.okFrom + this.timing.ttlMs * (1 - CLOCK_RATE_BOUND);
  }

  /** The VIP of the group must be gone by this local instant (monotonic ms). */
  vipDeadline(group: string): number | undefined {
    const e = this.expiryBound(group);
    return e === undefined ? undefined : e - SAFETY_MARGIN_MS;
  }

  releaseAt(group: string): number | undefined {
    const d = this.vipDeadline(group);
    return d === undefined ? undefined : d - RELEASE_LEAD_MS;
  }

  /** Groups whose lease can no longer be trusted to outlive the time it takes to give them up. */
  overdue(now: number): string[] {
    const out: string[] = [];
    for (const g of this.held.keys()) {
      const r = this.releaseAt(g);
      if (r !== undefined && now >= r) out.push(g);
    }
    return out;
  }

  /** Renewals to send now: one per lease every renewEveryMs, again if the last one went unanswered. */
  due(now: number): { group: string; lease: string }[] {
    const out: { group: string; lease: string }[] = [];
    for (const [group, h] of this.held) {
      if (now < this.nextRenew(h)) continue;
      h.inflight = now;
      h.lastSent = now;
      out.push({ group, lease: h.lease });
    }
    return out;
  }

  /** A renewal sent at `sentAt` answered. 'gone': etcd no longer knows the lease. */
  renewed(group: string, lease: string, sentAt: number, result: RenewResult): 'ok' | 'gone' | 'ignored' {
    const h = this.held.get(group);
    if (h?.lease !== lease) return 'ignored';
    if (h.inflight === sentAt) h.inflight = undefined;
    if (result === 'gone') return 'gone';
    if (result === 'renewed' && sentAt > h.okFrom) h.okFrom = sentAt;
    return 'ok';
  }

  private nextRenew(h: Held): number {
    return h.inflight !== undefined ? h.inflight + RENEW_RETRY_MS : h.lastSent + this.renewEveryMs;
  }

  /** When the core must look again: the next renewal or the earliest release deadline. */
  nextWake(now: number): number | undefined {
    let next: number | undefined;
    for (const [g, h] of this.held) {
      const renew = this.nextRenew(h);
      const rel = this.releaseAt(g) ?? renew;
      const t = Math.max(now, Math.min(renew, rel));
      if (next === undefined || t < next) next = t;
    }
    return next;
  }
}
