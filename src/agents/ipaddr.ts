import type { IpResourceArgs } from '../config/types.js';
import { KERNEL_LIFETIME_SLACK_MS, MIN_VIP_LEASE_SEC, autoVipLeaseSec } from '../config/vigil-directives.js';
import type { ArpAnnouncer } from '../os/garp.js';
import { firstFreeLabel, pickNic, type AddressInfo, type AddressManager } from '../os/ip.js';
import { VigilError, errorMessage } from '../util/errors.js';
import { addressFamily, isLinkLocalIPv6, type AddressFamily } from '../util/inet.js';
import type { OpResult, ResourceAgent, StatusResult } from './agent.js';

/** How Vigil holds a VIP beyond what Heartbeat's IPaddr scripts do. */
export interface VipPolicy {
  /**
   * Kernel-held lease in whole seconds (valid_lft), renewed while this node holds the group, so the kernel drops
   * the VIP by itself if the daemon dies; undefined = no lease (the address lives until removed, as in Heartbeat).
   */
  readonly leaseSec: number | undefined;
  /** How often the lease is renewed, ms. */
  readonly renewIntervalMs: number;
  /** Takeover burst: pairs and spacing (Heartbeat: IPaddr 10 × 500 ms, IPaddr2 5 × 200 ms). */
  readonly garpCount: number;
  readonly garpIntervalMs: number;
  /** Periodic single gratuitous ARP while holding the VIP (0 = off), for switches and clients that missed the burst. */
  readonly garpRefreshMs: number;
  /**
   * Renewals and refreshes ride on the daemon's heartbeat (tick()) instead of timers of their own. A renewal goes
   * out at the first beat at least 3/4 of its interval after the last (the lease needs margin), a refresh at the
   * first beat a full `garpRefreshMs` after the last (at most one keepalive late). Only when beats are frequent
   * enough for the lease.
   */
  readonly onBeat?: boolean;
}

/**
 * Labelled adds (IPaddr) on one address manager run one at a time. Groups are acquired concurrently, and a start
 * lists the addresses before it adds its own, so two VIPs acquired at once both took `eth1:0`: the kernel accepts
 * that, but ifconfig (and with it the IPaddr script's status, which Heartbeat's CTS audits with) shows only one of
 * them. A list and an add are each one netlink round trip: the wait costs a takeover about a millisecond per VIP.
 */
const labelQueues = new WeakMap<AddressManager, Promise<unknown>>();

function withLabelLock<T>(addresses: AddressManager, fn: () => Promise<T>): Promise<T> {
  const prev = labelQueues.get(addresses) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  labelQueues.set(
    addresses,
    run.catch(() => undefined),
  );
  return run;
}

/** On the beat, a lease renewal is due this fraction of its interval after the last one. */
export const ON_BEAT_DUE_FRACTION = 0.75;

export interface IpAgentDeps {
  readonly addresses: AddressManager;
  readonly arp: ArpAnnouncer;
  readonly policy: VipPolicy;
  readonly log: (level: 'info' | 'WARN' | 'ERROR' | 'CRIT', text: string) => void;
  /**
   * The VIP vanished while held (lease ran out during a stall, or someone removed it): the group no longer
   * really runs here. Called once; the daemon releases the group and tells the cluster.
   */
  readonly onLost: (spec: string, why: string) => void;
  /** Monotonic ms (default performance.now): the lease is counted on it. */
  readonly now?: () => number;
  /**
   * vigil_quorum etcd: the instant (on `now`'s clock) by which the VIP must be gone, because the etcd lease that
   * lets this node hold the group may expire soon after. Every lifetime given to the VIP ends before it, kernel
   * granularity included; when no reliable lifetime fits any more, the VIP is not renewed and goes.
   */
  readonly leaseCap?: () => number | undefined;
}

/**
 * IPaddr / IPaddr2 / IPv6addr built in: same arguments as the scripts (`ip[/cidr[/nic][/broadcast]]`,
 * `ipv6[/prefix[/nic]]`), the NIC found from the VIP's subnet when not given. IPaddr labels an IPv4 address
 * `<nic>:<n>` (so ifconfig shows `eth1:0` as in the tutorial); IPaddr2 and IPv6addr add it without a label (IPv6
 * addresses have none). Unlike Heartbeat, the VIP is announced on every start, even when the address was already
 * present: a client that still has the peer's MAC must hear about it. IPv4 is announced by gratuitous ARP, IPv6 by
 * unsolicited Neighbour Advertisements with the Override flag (os/ndisc.ts), both in the same bursts and refreshes.
 *
 * IPv6 addresses are added with `nodad`. Duplicate Address Detection would keep the VIP tentative — packets to it
 * dropped, unusable as a source — for DupAddrDetectTransmits × RetransTimer (1 s by default, and up to a second more
 * on a link that has just come up): a second added to every takeover and planned move. What DAD protects against
 * is another host holding the address, and inside the cluster that is Vigil's own job (one holder by protocol, the
 * kernel lease for a dead daemon; the lab measures dual-active time at 0). A duplicate from outside the cluster (a
 * host configured by hand with the VIP) goes undetected with nodad: both hosts answer, neighbours follow whichever
 * advertised last (Vigil's advertisements carry Override and are repeated with `vigil_garp_refresh`), and the other
 * host's kernel logs `NA: <our MAC> advertised our address <VIP> on <dev>!`. An address found `dadfailed` (added
 * with DAD by someone else) is replaced.
 */
export class IpAddrAgent implements ResourceAgent {
  /** start() finds an address already there and takes it over (lease, announcements): no status first. */
  readonly startIsIdempotent = true;
  /** Its start and stop touch its own address only (the label lock orders IPaddr's label picks). */
  readonly parallelSafe = true;
  private device: string | undefined;
  /** The prefix length the held VIP was found or added with: a renewal is then a single netlink request. */
  private prefixLength: number | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private burst: AbortController | undefined;
  private held = false;
  /**
   * The renewal in flight. Through `ip` (no netlink) the kernel re-creates an address whose lifetime is changed
   * right after it was removed (see os/ip.ts): a stop must wait for it, or a renewal that checked before the
   * removal and changes after it brings the VIP back on a node that just gave it up. (The netlink renewal cannot
   * re-create; waiting costs the release nothing but the renewal's one round trip.)
   */
  private renewing: Promise<void> | undefined;
  /** this.now() + lifetime of the last renewal (or the add) that succeeded, counted from when it was issued. */
  private leaseUntil = 0;
  /**
   * vigil_quorum etcd: the last renewal was skipped because the etcd lease left no reliable lifetime. When the VIP
   * then runs out, the etcd lease could not be renewed; otherwise nothing renewed it in time: this node was stalled.
   */
  private cappedOut = false;
  /** When tick() last started a renewal, or a refresh (policy.onBeat). */
  private renewedAt = 0;
  private refreshedAt = 0;

  readonly family: AddressFamily;

  constructor(
    readonly spec: string,
    readonly kind: 'IPaddr' | 'IPaddr2' | 'IPv6addr',
    readonly ip: IpResourceArgs,
    private deps: IpAgentDeps,
  ) {
    this.family = addressFamily(ip.address) ?? 4;
  }

  /**
   * A reload changed the lease or the ARP refresh: a held VIP gets the new lease at once and its timers anew.
   * (Turning the lease off or on needs a restart: see config/diff.ts.)
   */
  setPolicy(policy: VipPolicy): void {
    const before = this.deps.policy;
    this.deps = { ...this.deps, policy };
    if (!this.held) return;
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    if (this.refreshTimer !== undefined) clearInterval(this.refreshTimer);
    this.renewTimer = this.refreshTimer = undefined;
    this.schedule();
    if (policy.leaseSec !== undefined && policy.leaseSec !== before.leaseSec) this.renewInBackground(policy.leaseSec);
  }

  /** Resolves device and prefix the way IPaddr's findif does. */
  private placement(addrs: readonly AddressInfo[]): {
    device: string;
    prefixLength: number;
    broadcast: string | undefined;
  } {
    const match = pickNic(this.ip.address, addrs);
    const device = this.ip.nic ?? match?.device;
    if (device === undefined) {
      throw new VigilError(
        'VIGIL_ERR_ADDR_NO_NIC',
        `No interface has a subnet holding ${this.ip.address}: give it as ${this.kind}::${this.ip.address}/<cidr>/<nic>`,
      );
    }
    // A link-local address matches no subnet (every interface has fe80::/64): its prefix is that one.
    const linkLocal = this.family === 6 && isLinkLocalIPv6(this.ip.address) ? 64 : undefined;
    const prefixLength = this.ip.cidr ?? (match?.device === device ? match.prefixLength : linkLocal);
    if (prefixLength === undefined) {
      throw new VigilError(
        'VIGIL_ERR_ADDR_NO_NIC',
        `Cannot tell the netmask of ${this.ip.address} on ${device}: give /<cidr>`,
      );
    }
    return { device, prefixLength, broadcast: this.ip.broadcast };
  }

  async start(): Promise<OpResult> {
    const issued = this.now();
    const life = this.lifetime(this.deps.policy.leaseSec);
    if (life !== undefined && life < MIN_VIP_LEASE_SEC) {
      return {
        ok: false,
        rc: 1,
        detail: `${this.kind} ${this.ip.address}: the etcd lease ends too soon to add the address (${life} s left)`,
      };
    }
    try {
      const place = (): Promise<{ device: string; prefixLength: number }> => this.place(life);
      const { device, prefixLength } = await (this.kind === 'IPaddr'
        ? withLabelLock(this.deps.addresses, place)
        : place());
      this.device = device;
      this.prefixLength = prefixLength;
      this.held = true;
      this.leaseUntil = issued + (life ?? 0) * 1000;
      this.announce(this.deps.policy.garpCount, this.deps.policy.garpIntervalMs);
      this.schedule();
      return { ok: true, rc: 0, detail: '' };
    } catch (e) {
      return this.failed(e);
    }
  }

  /** The address on its NIC: found (its lease renewed) or added. */
  private async place(life: number | undefined): Promise<{ device: string; prefixLength: number }> {
    // One address dump answers "already here?", "which NIC?" and "which label?": on the takeover path each dump
    // is a netlink round trip through the threadpool, so one instead of three.
    const addrs = await this.deps.addresses.list(undefined, this.family);
    let existing = addrs.find((a) => a.address === this.ip.address);
    if (existing?.dadFailed === true) {
      // Added with DAD by someone else and found duplicated: unusable as it is. Ours goes in with nodad.
      await this.deps.addresses.remove(existing.address, existing.device, existing.prefixLength);
      existing = undefined;
    }
    let device: string;
    let prefixLength: number;
    if (existing !== undefined) {
      device = existing.device;
      prefixLength = existing.prefixLength;
      if (life !== undefined && existing.dynamic) {
        await this.deps.addresses.renew(this.ip.address, device, life, prefixLength);
      }
    } else {
      const p = this.placement(addrs);
      device = p.device;
      prefixLength = p.prefixLength;
      await this.deps.addresses.add({
        address: this.ip.address,
        prefixLength: p.prefixLength,
        device,
        ...(this.kind === 'IPaddr' && this.family === 4
          ? {
              label: firstFreeLabel(
                device,
                addrs.filter((a) => a.device === device).map((a) => a.label),
              ),
            }
          : {}),
        ...(p.broadcast !== undefined ? { broadcast: p.broadcast } : {}),
        ...(life !== undefined ? { lifetimeSec: life } : {}),
        ...(this.family === 6 ? { nodad: true } : {}),
      });
    }
    return { device, prefixLength };
  }

  /** The burst runs in the background: the address answers at once, the announcements follow. */
  private announce(count: number, intervalMs: number): void {
    const device = this.device;
    if (device === undefined) return;
    this.burst?.abort();
    const ac = new AbortController();
    this.burst = ac;
    this.deps.arp.announce({ device, address: this.ip.address, count, intervalMs, signal: ac.signal }).then(
      () => undefined,
      (e: unknown) => {
        if (!ac.signal.aborted) {
          const what = this.family === 6 ? 'neighbour advertisement' : 'gratuitous ARP';
          this.deps.log('WARN', `${what} for ${this.ip.address} on ${device} failed: ${errorMessage(e)}`);
        }
      },
    );
  }

  private schedule(): void {
    const { leaseSec, renewIntervalMs, garpRefreshMs, onBeat } = this.deps.policy;
    this.renewedAt = this.refreshedAt = this.now();
    if (onBeat === true) return;
    if (leaseSec !== undefined) {
      this.renewTimer = setInterval(() => {
        this.renewInBackground(leaseSec);
      }, renewIntervalMs);
    }
    if (garpRefreshMs > 0) {
      this.refreshTimer = setInterval(() => {
        this.announce(1, 0);
      }, garpRefreshMs);
    }
  }

  private renewInBackground(leaseSec: number): void {
    if (this.renewing !== undefined) return; // the previous one is still waiting for the kernel
    const r = this.renew(leaseSec).finally(() => {
      if (this.renewing === r) this.renewing = undefined;
    });
    this.renewing = r;
  }

  /** The daemon's heartbeat (policy.onBeat): renews the lease and refreshes the ARP entries when they are due. */
  tick(): void {
    const { leaseSec, renewIntervalMs, garpRefreshMs, onBeat } = this.deps.policy;
    if (onBeat !== true || !this.held) return;
    const now = this.now();
    if (leaseSec !== undefined && now - this.renewedAt >= renewIntervalMs * ON_BEAT_DUE_FRACTION) {
      this.renewedAt = now;
      this.renewInBackground(leaseSec);
    }
    if (garpRefreshMs > 0 && now - this.refreshedAt >= garpRefreshMs) {
      this.refreshedAt = now;
      this.announce(1, 0);
    }
  }

  /** vigil_quorum etcd: the etcd lease was just renewed: give the VIP the longest lifetime that now fits under it. */
  renewNow(): void {
    const leaseSec = this.deps.policy.leaseSec;
    if (!this.held || leaseSec === undefined) return;
    this.renewedAt = this.now();
    this.renewInBackground(leaseSec);
  }

  /** Announces the VIP again with a full burst if it is held here (the peer may have answered for it). */
  reannounce(): void {
    if (this.held) this.announce(this.deps.policy.garpCount, this.deps.policy.garpIntervalMs);
  }

  /**
   * Woken after a stall longer than the lease (SIGSTOP, swapped out): the kernel has dropped the VIP, or will
   * within its ~1 s granularity. Says so synchronously (true = lost), so that the daemon can learn it before it
   * reads the peer's queued messages and answers them still claiming the group.
   */
  checkLease(): boolean {
    const leaseSec = this.deps.policy.leaseSec;
    if (!this.held || leaseSec === undefined) return false;
    const late = this.now() - this.leaseUntil;
    if (late < 0) return false;
    this.lost(`lease of ${this.ip.address} expired ${Math.round(late)} ms ago (${this.expiryCause()})`);
    return true;
  }

  private expiryCause(): string {
    return this.cappedOut
      ? 'its lifetime was capped by the etcd lease, which could not be renewed in time'
      : 'this node was stalled';
  }

  /**
   * The lifetime to give the VIP now, whole seconds: the policy's, capped so that the kernel removes the address
   * before the quorum deadline (it may remove it up to KERNEL_LIFETIME_SLACK_MS after the lifetime).
   */
  private lifetime(leaseSec: number | undefined): number | undefined {
    if (leaseSec === undefined) return undefined;
    const cap = this.deps.leaseCap?.();
    if (cap === undefined) return leaseSec;
    return Math.min(leaseSec, Math.floor((cap - this.now() - KERNEL_LIFETIME_SLACK_MS) / 1000));
  }

  private async renew(leaseSec: number): Promise<void> {
    const device = this.device;
    if (!this.held || device === undefined) return;
    if (this.checkLease()) return;
    const issued = this.now();
    const life = this.lifetime(leaseSec) ?? leaseSec;
    // The etcd lease may end before a reliable lifetime would: let the address lapse (the group is being released).
    this.cappedOut = life < MIN_VIP_LEASE_SEC;
    if (this.cappedOut) return;
    let result;
    try {
      result = await this.deps.addresses.renew(this.ip.address, device, life, this.prefixLength);
    } catch (e) {
      this.deps.log('WARN', `renewing the lease of ${this.ip.address} failed: ${errorMessage(e)}`);
      return;
    }
    // stop() may have run while the renew was in flight.
    if (!this.isHeld()) return;
    if (result === 'renewed') {
      this.leaseUntil = issued + life * 1000;
      return;
    }
    this.lost(
      result === 'absent'
        ? `virtual IP ${this.ip.address} vanished from ${device} (lease expired or removed by hand)`
        : `lease of ${this.ip.address} ran out while renewing; address removed`,
    );
  }

  /**
   * The kernel dropped the VIP (we were stalled past the lease): the peer may hold it now. Never add it back on
   * our own; the group has to be given up and the cluster told.
   */
  private lost(why: string): void {
    this.stopTimers();
    this.held = false;
    this.deps.log('CRIT', why);
    this.deps.onLost(this.spec, why);
  }

  private now(): number {
    return this.deps.now?.() ?? performance.now();
  }

  private isHeld(): boolean {
    return this.held;
  }

  private stopTimers(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    if (this.refreshTimer !== undefined) clearInterval(this.refreshTimer);
    this.renewTimer = undefined;
    this.refreshTimer = undefined;
    this.burst?.abort();
    this.burst = undefined;
  }

  async stop(): Promise<OpResult> {
    this.held = false;
    this.stopTimers();
    await this.renewing;
    try {
      // Where we put it, first: one removal request, no dump, on the planned-move path. Anywhere else (never held
      // here, moved by hand, its device gone) it takes a dump to find it, and only that path's errors count.
      const device = this.device;
      // IPv6 is removed by address and prefix: the one it was added with, so no dump is needed either.
      const prefix = this.family === 6 ? this.prefixLength : undefined;
      const removed =
        device !== undefined && (await this.deps.addresses.remove(this.ip.address, device, prefix).catch(() => false));
      if (!removed) {
        const where = await this.deps.addresses.find(this.ip.address);
        if (where !== undefined) {
          await this.deps.addresses.remove(
            this.ip.address,
            where.device,
            this.family === 6 ? where.prefixLength : undefined,
          );
        }
      }
      return { ok: true, rc: 0, detail: '' };
    } catch (e) {
      return this.failed(e);
    }
  }

  private failed(e: unknown): OpResult {
    return { ok: false, rc: 1, detail: `${this.kind} ${this.ip.address}: ${errorMessage(e)}` };
  }

  async status(): Promise<StatusResult> {
    const where = await this.deps.addresses.find(this.ip.address);
    return where === undefined
      ? { running: false, text: `${this.ip.address} is not running` }
      : { running: true, text: `${this.ip.address} is running on ${where.label}` };
  }

  /** Where the VIP is held right now (for the fatal-error path, which removes it without the agent). */
  heldAt(): { readonly address: string; readonly device: string; readonly prefixLength?: number } | undefined {
    if (!this.held || this.device === undefined) return undefined;
    return this.family === 6 && this.prefixLength !== undefined
      ? { address: this.ip.address, device: this.device, prefixLength: this.prefixLength }
      : { address: this.ip.address, device: this.device };
  }

  /** Stops background work without touching the address (daemon exit by crash-like paths, tests). */
  dispose(): void {
    this.held = false;
    this.stopTimers();
  }
}

/** Lease that runs out before the peer's deadtime does (the kernel expires with ~1 s granularity). */
export function defaultLeaseSec(deadtimeMs: number, keepaliveMs = 1000): number {
  return autoVipLeaseSec(deadtimeMs, keepaliveMs);
}
