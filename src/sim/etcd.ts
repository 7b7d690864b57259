/**
 * etcd as the simulation sees it: one linearizable store of keys and leases (what a healthy etcd cluster offers its
 * clients, whichever member answers), on the simulation's time line. Requests are applied atomically in the order
 * they reach it; a lease expires `ttl × (1 − ρ)` after the grant or keep-alive that last refreshed it (the fastest
 * etcd clock the safety argument allows: node/leases.ts), checked every EXPIRY_SWEEP_MS as etcd's lessor does.
 * Reachability (quorum lost, a node cut off) is the simulator's business: this is only the store.
 */
import { CLOCK_RATE_BOUND } from '../node/leases.js';
import type { KeyOwner } from '../cluster/types.js';

/** etcd 3.4's lessor looks for expired leases this often. */
export const EXPIRY_SWEEP_MS = 500;

export interface KeyEvent {
  readonly group: string;
  readonly owner: KeyOwner | undefined;
  readonly revision: number;
}

export class SimEtcd {
  revision = 1;
  private nextLease = 7000;
  private readonly leases = new Map<string, { node: string; expiresAt: number; ttlMs: number }>();
  private readonly keys = new Map<string, { owner: KeyOwner; createRevision: number }>();

  constructor(private readonly onChange: (e: KeyEvent) => void) {}

  /** Grant + create-if-absent, as one claim (the daemon's is two requests; between them nothing can take the key). */
  claim(
    node: string,
    group: string,
    ttlMs: number,
    now: number,
  ): { ok: true; lease: string; revision: number } | { ok: false; owner: KeyOwner; revision: number } {
    this.expire(now);
    const lease = String(this.nextLease++);
    this.leases.set(lease, { node, expiresAt: now + ttlMs * (1 - CLOCK_RATE_BOUND), ttlMs });
    const k = this.keys.get(group);
    if (k !== undefined) {
      // The daemon revokes the lease it granted for a refused claim.
      this.leases.delete(lease);
      return { ok: false, owner: k.owner, revision: this.revision };
    }
    this.revision++;
    const owner = { node, lease };
    this.keys.set(group, { owner, createRevision: this.revision });
    this.onChange({ group, owner, revision: this.revision });
    return { ok: true, lease, revision: this.revision };
  }

  keepAlive(lease: string, now: number): 'renewed' | 'gone' {
    this.expire(now);
    const l = this.leases.get(lease);
    if (l === undefined) return 'gone';
    l.expiresAt = now + l.ttlMs * (1 - CLOCK_RATE_BOUND);
    return 'renewed';
  }

  revoke(lease: string, now: number): void {
    this.expire(now);
    this.drop(lease);
  }

  /** Every key, as a reconnecting client reads them. */
  snapshot(groups: readonly string[], now: number): KeyEvent[] {
    this.expire(now);
    return groups.map((group) => ({ group, owner: this.keys.get(group)?.owner, revision: this.revision }));
  }

  owner(group: string): KeyOwner | undefined {
    return this.keys.get(group)?.owner;
  }

  /** Expired leases go, with their keys (etcd's lessor; also run before every request). */
  expire(now: number): void {
    for (const [id, l] of [...this.leases]) if (now >= l.expiresAt) this.drop(id);
  }

  /** When the lease that holds a group's key may expire (for the simulator's checks). */
  expiresAt(group: string): number | undefined {
    const k = this.keys.get(group);
    return k === undefined ? undefined : this.leases.get(k.owner.lease)?.expiresAt;
  }

  private drop(lease: string): void {
    if (!this.leases.delete(lease)) return;
    for (const [group, k] of [...this.keys]) {
      if (k.owner.lease !== lease) continue;
      this.keys.delete(group);
      this.revision++;
      this.onChange({ group, owner: undefined, revision: this.revision });
    }
  }
}
