/**
 * The local control protocol between the daemon and its tools (vigil status, cl_status, hb_standby, hb_takeover):
 * one JSON object per line over a root-only Unix stream socket. This file holds only types and constants so
 * that the tools start fast (no zod here; the server validates).
 */

export const DEFAULT_CONTROL_SOCKET = '/run/vigil/control.sock';
/** Requests are small; anything longer is hostile or broken. */
export const MAX_REQUEST_BYTES = 64 * 1024;
export const PROTOCOL_VERSION = 1;

export type NodeStatus = 'init' | 'up' | 'active' | 'dead' | 'ping';
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
  readonly failCount: number;
  readonly lastFailure: string | undefined;
}

export interface TransitionView {
  readonly at: number;
  readonly text: string;
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
  /** ha.cf value of every directive as written, and defaults for the rest (cl_status hbparameter). */
  readonly parameters: Readonly<Record<string, string>>;
  /** Node names in the order Heartbeat's API lists them (`cl_status listnodes`); absent from older daemons. */
  readonly listOrder?: readonly string[];
}

export type ControlRequest =
  | { readonly cmd: 'status' }
  | { readonly cmd: 'standby'; readonly which: StandbyWhich }
  | { readonly cmd: 'takeover'; readonly which: StandbyWhich }
  | { readonly cmd: 'reload' }
  | { readonly cmd: 'debug'; readonly delta: 1 | -1 }
  | { readonly cmd: 'shutdown' };

export type ControlResponse =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string };
