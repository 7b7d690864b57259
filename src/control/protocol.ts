import type { TransitionEvent } from '../obs/events.js';
import type { RuntimeView } from '../obs/runtime.js';
/**
 * The local control protocol between the daemon and its tools (vigil status, cl_status, hb_standby, hb_takeover):
 * one JSON object per line over a Unix stream socket anyone may connect to; the daemon checks each caller's kernel
 * credentials (control/access.ts: reads for root and apiauth's users and groups, changes for root only). This file
 * holds only types and constants so that the tools start fast (the server validates requests by hand).
 */

export const DEFAULT_CONTROL_SOCKET = '/run/vigil/control.sock';
/** Requests are small; anything longer is hostile or broken. */
export const MAX_REQUEST_BYTES = 64 * 1024;
export const PROTOCOL_VERSION = 1;

export type { NodeStatus } from '../util/vocabulary.js';
import type { NodeStatus, QuorumView } from '../util/vocabulary.js';
export type NodeType = 'normal' | 'ping';
export type LinkStatus = 'up' | 'dead';
/** What this node holds, in cl_status rscstatus words. */
export type RscStatus = 'none' | 'local' | 'foreign' | 'all' | 'transition';
export type StandbyWhich = 'all' | 'local' | 'foreign';
export type GroupState = 'held' | 'acquiring' | 'releasing' | 'released' | 'failed';

export interface NodeView {
  readonly name: string;
  readonly type: NodeType;
  readonly status: NodeStatus;
  readonly links: readonly { readonly name: string; readonly status: LinkStatus }[];
  /** Wall-clock ms of the last status heard, if any. */
  readonly lastHeard: number | undefined;
  /** Client status per API client name (cl_status clientstatus): ipfail, etc. */
  readonly clients: Readonly<Record<string, 'online' | 'offline' | 'join' | 'leave'>>;
  /**
   * Peers only (Vigil): the silence limit in force (deadtime, or the adaptive detector's limit under it) and the
   * status inter-arrival times it was learnt from.
   */
  readonly detector?: {
    readonly limitMs: number;
    readonly samples: number;
    readonly meanMs: number;
    readonly stddevMs: number;
  };
}

export interface GroupView {
  readonly key: string;
  readonly preferred: string;
  readonly resources: readonly string[];
  /** Node holding it as far as this node knows; undefined when nobody does. */
  readonly holder: string | undefined;
  readonly state: GroupState;
  /** Wall-clock ms since `holder`/`state` last changed. */
  readonly since: number;
  /** Failures since the last `vigil cleanup`: failed starts, lost resources, health checks that went down. */
  readonly failCount: number;
  readonly lastFailure: string | undefined;
  /** False when a health check ruled this node out for the group (until `vigil cleanup`). */
  readonly eligible: boolean;
  /** Why not eligible. */
  readonly ineligibleReason: string | undefined;
  /** The group's health checks as seen from this node (they run only where the group is held). */
  readonly checks: readonly HealthCheckView[];
}

export interface HealthCheckView {
  readonly id: string;
  readonly target: string;
  /** idle (group not held here), up, down, restarting, failed (restarts exhausted: group handed over). */
  readonly state: 'idle' | 'up' | 'down' | 'restarting' | 'failed';
  readonly failCount: number;
  readonly restarts: number;
  readonly maxRestarts: number;
  readonly lastFailure: { readonly at: number; readonly detail: string } | undefined;
}

/** A STONITH reset of a dead peer this node is waiting for (takeover of its groups waits too). */
export interface FencingView {
  readonly node: string;
  readonly device: string;
  /** A meatware device waits for `vigil fence-ack NODE`. */
  readonly awaitingOperator: boolean;
}

/** A group's state change here (with the engine's reason), or an operator event (text only). */
export interface TransitionView {
  readonly at: number;
  readonly text: string;
  readonly group?: string;
  readonly from?: string;
  readonly to?: string;
  /** Why it moved: initial, takeover, adopt, standby, failback, shutdown, heal, legacy, start-failed, stop-failed, lost, ineligible. */
  readonly reason?: string;
  /** The event being handled when it happened. */
  readonly cause?: string;
  /** The other node involved. */
  readonly peer?: string;
}

export interface StatusSnapshot {
  readonly protocol: number;
  readonly version: string;
  readonly node: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly generation: number;
  readonly autoFailback: 'on' | 'off' | 'legacy';
  readonly rscstatus: RscStatus;
  readonly nodes: readonly NodeView[];
  readonly groups: readonly GroupView[];
  readonly transitions: readonly TransitionView[];
  readonly fencing: readonly FencingView[];
  /** ha.cf value of every directive as written, and defaults for the rest (cl_status hbparameter). */
  readonly parameters: Readonly<Record<string, string>>;
  /** The daemon's own health: timer lateness, GC pauses, local stalls, RSS and CPU (Vigil only). */
  readonly runtime?: RuntimeView;
  /** Node names in the order Heartbeat's API lists them (`cl_status listnodes`); absent from older daemons. */
  readonly listOrder?: readonly string[];
  /** Packets the wire layer took in since start: `accepted`, and every drop reason with its count (Vigil only). */
  readonly wire?: Readonly<Record<string, number>>;
  /** vigil_quorum etcd: whether etcd answers, each group key's owner, this node's fencing tokens (Vigil only). */
  readonly quorum?: QuorumView;
}

export type ControlRequest =
  | { readonly cmd: 'status' }
  | { readonly cmd: 'standby'; readonly which: StandbyWhich }
  | { readonly cmd: 'takeover'; readonly which: StandbyWhich }
  | { readonly cmd: 'reload' }
  | { readonly cmd: 'debug'; readonly delta: 1 | -1 }
  | { readonly cmd: 'shutdown' }
  /** Clear fail counts, last failures and health-check rulings of one group (or all): the node is eligible again. */
  | { readonly cmd: 'cleanup'; readonly group?: string }
  /** The operator confirms a meatware reset (Heartbeat: `meatclient -c NODE`). */
  | { readonly cmd: 'fence-ack'; readonly node: string }
  /** Transitions from the persistent journal, oldest first (`since`: wall ms; at most `limit`). */
  | { readonly cmd: 'history'; readonly since?: number; readonly group?: string; readonly limit?: number }
  /** Why this node holds, or does not hold, each group (or one). */
  | { readonly cmd: 'explain'; readonly group?: string };

/**
 * One line of the history journal (`vigil history --json` prints these, one per line): the transition as the event
 * bus published it, with the journal's format version `v` in place of the event type.
 */
export type HistoryEntry = Omit<TransitionEvent, 'type'> & { readonly v: number };

/** `vigil explain`: one group, the verdict first, then every input it rests on. */
export interface ExplainGroup {
  readonly group: string;
  /** held here / not held here / moving, in one sentence. */
  readonly verdict: string;
  readonly state: string;
  readonly holder: string | undefined;
  readonly preferred: string;
  /** Each factor with what it says: `preferred node`, `auto_failback`, `peer linux1`, `eligibility`... */
  readonly factors: readonly { readonly name: string; readonly value: string }[];
}

export interface ExplainResult {
  readonly node: string;
  readonly groups: readonly ExplainGroup[];
}

export type ControlResponse =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };
