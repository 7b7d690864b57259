/**
 * vigil_quorum etcd, the I/O side: carries out the core's `claim`, `renew` and `disown` against etcd, and tells it
 * what etcd says (each group key's owner, from a watch; whether etcd answers). Decides nothing: when to claim, renew
 * or give up is cluster/ownership.ts and node/leases.ts, checked by the simulator. The only code that talks to etcd.
 *
 * Keys: `<prefix>/groups/<group>`, value `{"node":"<name>"}`, attached to a lease of the holder's own (one per
 * group, so that one revocation gives exactly one group up). The fencing token is the key's creation revision.
 */
import type { ClaimResult, KeyOwner } from '../cluster/types.js';
import type { RenewResult } from '../node/leases.js';
import { errorMessage } from '../util/errors.js';
import { EtcdHttp, b64, prefixEnd, unb64 } from './etcd-http.js';

export interface QuorumListener {
  keyState(group: string, owner: KeyOwner | undefined, revision: number): void;
  /** After a full read: every group not in `present` has no key (as of `revision`). */
  absent(present: ReadonlySet<string>, revision: number): void;
  reachable(reachable: boolean): void;
  log(level: 'info' | 'WARN' | 'ERROR' | 'debug', text: string): void;
}

export interface QuorumClientOptions {
  readonly http: EtcdHttp;
  /** vigil_quorum_prefix, without a trailing slash. */
  readonly prefix: string;
  readonly node: string;
  readonly ttlMs: number;
  /** How often etcd is asked whether it still has a quorum (a linearizable read). */
  readonly probeEveryMs: number;
}

/** A watch that broke is opened again after this long (on the next member). */
const WATCH_RETRY_MS = 300;

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function num(v: unknown): number {
  const n = Number(str(v));
  return Number.isFinite(n) ? n : 0;
}

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
}

export class QuorumClient {
  private listener: QuorumListener | undefined;
  private running = false;
  private reachable: boolean | undefined;
  private watchAbort: AbortController | undefined;
  private watchEndpoint: string | undefined;
  private watching = false;
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly keyPrefix: string;

  constructor(private readonly o: QuorumClientOptions) {
    this.keyPrefix = `${o.prefix}/groups/`;
  }

  private key(group: string): string {
    return this.keyPrefix + group;
  }

  /** Starts the watch and the probe; the listener hears every key once etcd first answers. */
  start(listener: QuorumListener): void {
    this.listener = listener;
    this.running = true;
    void this.watchLoop();
    this.probeTimer = setInterval(() => {
      void this.probe();
    }, this.o.probeEveryMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.watchAbort?.abort();
    await Promise.resolve();
    this.o.http.close();
  }

  // ---------------------------------------------------------------- the core's requests

  /** Grant a lease, then create the key under it only if absent. */
  async claim(group: string): Promise<ClaimResult> {
    let lease: string | undefined;
    try {
      const g = await this.o.http.call('/v3/lease/grant', { TTL: Math.round(this.o.ttlMs / 1000) });
      lease = str(g.ID);
      if (lease === '' || num(g.TTL) <= 0) return { ok: false, error: `lease not granted: ${str(g.error)}` };
      const k = b64(this.key(group));
      const t = await this.o.http.call('/v3/kv/txn', {
        compare: [{ key: k, target: 'CREATE', create_revision: '0' }],
        success: [{ request_put: { key: k, value: b64(JSON.stringify({ node: this.o.node })), lease } }],
        failure: [{ request_range: { key: k } }],
      });
      const revision = num(rec(t.header).revision);
      if (t.succeeded === true) return { ok: true, lease, revision };
      this.revokeQuietly(lease);
      const responses = Array.isArray(t.responses) ? (t.responses as unknown[]) : [];
      const range = rec(rec(responses[0]).response_range);
      const kv = rec((Array.isArray(range.kvs) ? (range.kvs as unknown[]) : [])[0]);
      const owner = this.ownerOf(kv);
      // Gone between the compare and the range (expired just then): no owner; the watch says what comes next.
      return owner === undefined ? { ok: false, revision, error: 'key busy' } : { ok: false, owner, revision };
    } catch (e) {
      // The transaction may have succeeded without our hearing it: the lease goes, and the key with it.
      if (lease !== undefined) this.revokeQuietly(lease);
      return { ok: false, error: errorMessage(e) };
    }
  }

  /**
   * A keep-alive, hedged over the members (etcd-http.ts) and given up to TTL/2: the answer renews the lease from when
   * it was sent, however late it comes (node/leases.ts), so one held through an etcd leader election is worth
   * waiting for; the core sends the next while this one is still out.
   */
  async renew(lease: string): Promise<RenewResult> {
    try {
      const h = this.o.http;
      const r = rec((await h.hedged('/v3/lease/keepalive', { ID: lease }, h.attemptMs, this.o.ttlMs / 2)).result);
      return num(r.TTL) > 0 ? 'renewed' : 'gone';
    } catch {
      return 'failed';
    }
  }

  /** Revoke (deleting the key). Never rejects: if etcd cannot be reached, the lease expires by itself. */
  async disown(lease: string): Promise<void> {
    try {
      await this.o.http.call('/v3/lease/revoke', { ID: lease });
    } catch (e) {
      // A lease that no longer exists is as good as revoked.
      if (!/not found/i.test(errorMessage(e)))
        this.listener?.log('WARN', `etcd: could not revoke lease ${lease} (${errorMessage(e)}); it expires by itself`);
    }
  }

  private revokeQuietly(lease: string): void {
    void this.o.http.call('/v3/lease/revoke', { ID: lease }).catch(() => undefined);
  }

  // ---------------------------------------------------------------- what etcd says

  private ownerOf(kv: Record<string, unknown>): KeyOwner | undefined {
    const lease = str(kv.lease);
    if (kv.key === undefined || lease === '' || lease === '0') return undefined;
    let node = '?';
    try {
      const v = rec(JSON.parse(unb64(kv.value)));
      if (typeof v.node === 'string') node = v.node;
    } catch {
      // Someone else's value under our prefix: owned by "?", which is never this node.
    }
    return { node, lease };
  }

  private setReachable(r: boolean, why: string): void {
    if (this.reachable === r) return;
    this.reachable = r;
    this.listener?.log(r ? 'info' : 'WARN', `etcd ${r ? 'reachable' : 'unreachable'} (${why})`);
    this.listener?.reachable(r);
  }

  /** A linearizable read fails without a quorum: that is what "reachable" means here. */
  private async probe(): Promise<void> {
    if (!this.running) return;
    try {
      // Hedged and given as long as a renewal: a cluster electing a new leader (1–2 s) is not "etcd unreachable".
      await this.o.http.hedged(
        '/v3/kv/range',
        { key: b64(this.keyPrefix), range_end: prefixEnd(this.keyPrefix), count_only: true },
        this.o.http.attemptMs,
        this.o.ttlMs / 2,
      );
      // The watch must be on a member that answers: move it if the read had to go elsewhere.
      if (this.watching && this.watchEndpoint !== this.o.http.preferred()) this.watchAbort?.abort();
      if (this.watching) this.setReachable(true, 'quorum read answered');
    } catch (e) {
      this.setReachable(false, errorMessage(e));
    }
  }

  /** Read every key (and the revision), report them, then follow changes from there; again after any break. */
  private async watchLoop(): Promise<void> {
    while (this.running) {
      try {
        const h = this.o.http;
        const r = await h.hedged(
          '/v3/kv/range',
          { key: b64(this.keyPrefix), range_end: prefixEnd(this.keyPrefix) },
          h.attemptMs,
          this.o.ttlMs / 2,
        );
        const revision = num(rec(r.header).revision);
        const seen = new Set<string>();
        for (const kv of Array.isArray(r.kvs) ? (r.kvs as unknown[]) : []) {
          const k = rec(kv);
          const group = unb64(k.key).slice(this.keyPrefix.length);
          seen.add(group);
          this.listener?.keyState(group, this.ownerOf(k), revision);
        }
        this.listener?.log('debug', `etcd: ${seen.size} group key(s) at revision ${revision}`);
        // A watch that breaks (its member restarted, killed) says nothing of the cluster: the read above, done
        // again on the next member, and the probe do. Calling that "etcd unreachable" blocked takeovers for nothing.
        await this.follow(revision, seen).catch((e: unknown) => {
          this.listener?.log('debug', `etcd: the watch on ${this.watchEndpoint ?? '?'} broke (${errorMessage(e)})`);
        });
        this.watching = false;
      } catch (e) {
        this.watching = false;
        this.setReachable(false, errorMessage(e));
      }
      this.o.http.rotate();
      await new Promise((res) => setTimeout(res, WATCH_RETRY_MS));
    }
  }

  private follow(revision: number, present: ReadonlySet<string>): Promise<void> {
    const ac = new AbortController();
    this.watchAbort = ac;
    const endpoint = this.o.http.preferred();
    this.watchEndpoint = endpoint;
    return this.o.http.stream(
      endpoint,
      '/v3/watch',
      {
        create_request: {
          key: b64(this.keyPrefix),
          range_end: prefixEnd(this.keyPrefix),
          start_revision: String(revision + 1),
        },
      },
      (obj) => {
        const res = rec(obj.result);
        if (res.created === true) {
          this.watching = true;
          // Keys absent from the read are free: say so once, then changes only.
          this.listener?.absent(present, revision);
          this.setReachable(true, `watching from revision ${revision + 1} on ${endpoint}`);
          return;
        }
        if (res.canceled === true || res.compact_revision !== undefined) {
          ac.abort();
          return;
        }
        for (const ev of Array.isArray(res.events) ? (res.events as unknown[]) : []) {
          const e = rec(ev);
          const kv = rec(e.kv);
          const group = unb64(kv.key).slice(this.keyPrefix.length);
          const rev = num(kv.mod_revision);
          this.listener?.keyState(group, e.type === 'DELETE' ? undefined : this.ownerOf(kv), rev);
        }
      },
      ac.signal,
    );
  }
}
