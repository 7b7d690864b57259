import type { Lab } from '../topology.js';

export const IMPLS = ['vigil', 'heartbeat', 'keepalived'] as const;
export type Impl = (typeof IMPLS)[number];

/** One scenario description; every driver derives its own configuration from it. */
export interface ClusterSpec {
  readonly nodes: readonly string[];
  /** The preferred holder of the VIP (the first node, linux1). */
  readonly primary: string;
  readonly vip: string;
  readonly cidr: number;
  readonly iface: string;
  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly autoFailback: boolean;
  /** Ping node (the router), as in the tutorial's ha.cf. */
  readonly pingIp: string;
  readonly authKey: string;
  /** More authkeys lines after the active `1 sha1 <authKey>` (the hostile scenario adds `2 crc`). */
  readonly authExtra?: readonly string[];
  /** Vigil only: `vigil_detector` (absent = the directive's default, Heartbeat's fixed deadtime). */
  readonly vigilDetector?: 'deadtime' | 'adaptive';
  /** Vigil only: `vigil_quorum etcd` with these endpoints (lab/etcd.ts). */
  readonly vigilQuorum?: { readonly endpoints: readonly string[]; readonly prefix: string; readonly ttlS?: number };
  /**
   * More resource groups after the VIP's: each a VIP on the same interface and the nodes it may run on, best first
   * (haresources names the first; Vigil also gets `vigil_group_nodes`).
   */
  readonly moreGroups?: ReadonlyArray<{ readonly vip: string; readonly nodes: readonly string[] }>;
  /** Vigil only: more ha.cf lines. */
  readonly vigilExtra?: readonly string[];
  /**
   * An IPv6 VIP in the group. `only`: the group has no IPv4 VIP (`vip`/`cidr` unused) and the cluster runs on IPv6
   * alone (mcast6 heartbeats, a ping6 node); otherwise it is a dual-stack group on the IPv4 heartbeats.
   */
  readonly ipv6?: { readonly vip: string; readonly cidr: number; readonly only: boolean; readonly pingIp: string };
}

/**
 * What a daemon's log line means for the measurements:
 * dead = the peer was declared dead / gone (the survivor's decision); takeover = it starts acquiring the VIP;
 * acquired = acquisition finished; release = it starts giving the VIP up; released = done giving up.
 */
export type LogKind = 'dead' | 'takeover' | 'acquired' | 'release' | 'released' | 'partition' | 'error';

export interface Driver {
  readonly impl: Impl;
  /** Planned switchover (hb_standby); keepalived has none. */
  readonly supportsStandby: boolean;
  /** Fails with a clear message when the implementation cannot run on this machine. */
  checkAvailable(): Promise<void>;
  /** Writes the configuration on every node of `spec.nodes`. */
  configure(lab: Lab, spec: ClusterSpec): Promise<void>;
  start(lab: Lab, host: string): Promise<void>;
  /** Graceful stop; resolves when the daemon has exited. */
  stop(lab: Lab, host: string): Promise<void>;
  /** Every process of the daemon on that host (kill -9 targets all of them). */
  daemonPids(lab: Lab, host: string): Promise<number[]>;
  /** The daemon's log, as a path inside the host. */
  readonly logPath: string;
  classify(line: string): LogKind | undefined;
  /** Hands the resources of `host` to the other node (planned switchover). */
  standby(lab: Lab, host: string): Promise<void>;
  /** Human notes on how the spec was mapped (e.g. keepalived's fixed 3x advert dead interval). */
  notes(spec: ClusterSpec): string[];
}
