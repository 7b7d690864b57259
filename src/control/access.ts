import type { ControlRequest } from './protocol.js';

/**
 * Who may ask the daemon what. Heartbeat's API is guarded by `apiauth <client> uid=… gid=…` (ha.cf); its tools sign
 * on anonymously, and Heartbeat's built-in rule for anonymous clients (`anon`; the ha.cf man page lists it under
 * `cl_status`) is gid=haclient. Vigil keeps that for what only reads (status, every cl_status query) and, unlike
 * Heartbeat, keeps whatever changes the cluster (standby, takeover, cleanup, fence-ack, reload, shutdown, debug
 * level) to root: a monitoring account must never be one typo away from a failover.
 *
 * Pure: credentials come from the kernel (SO_PEERCRED / SO_PEERGROUPS, src/os/peercred.ts), names are resolved to
 * ids by the daemon before it builds the policy.
 */

/** The connecting process as the kernel recorded it at connect(). */
export interface PeerCreds {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Supplementary groups; undefined when the kernel cannot tell (then only `gid` counts, as in Heartbeat). */
  readonly groups: readonly number[] | undefined;
}

export type AccessClass = 'read' | 'admin';

/** Read-only queries and state changes; every new command must be put in one class here. */
export function commandClass(cmd: ControlRequest['cmd']): AccessClass {
  switch (cmd) {
    case 'status':
    case 'history':
    case 'explain':
      return 'read';
    case 'standby':
    case 'takeover':
    case 'reload':
    case 'debug':
    case 'shutdown':
    case 'cleanup':
    case 'fence-ack':
      return 'admin';
  }
}

export interface AccessPolicy {
  /** Allowed everything: root, and the uid the daemon runs as (it could signal itself anyway). */
  readonly adminUids: ReadonlySet<number>;
  /** Allowed read-only queries, besides admins. */
  readonly readUids: ReadonlySet<number>;
  readonly readGids: ReadonlySet<number>;
  /** Who may read, in words, for the refusal message: `root, or group haclient (Heartbeat's default)`. */
  readonly readRule: string;
}

export type Decision = { readonly allow: true } | { readonly allow: false; readonly message: string };

/** The ha.cf names that govern read-only queries, in the order they are looked up. */
export const READ_CLIENTS = ['cl_status', 'anon'] as const;
/** Heartbeat's built-in authorization of anonymous clients (cl_status) when ha.cf has no apiauth for them. */
export const DEFAULT_READ_GROUP = 'haclient';

export interface ApiAuthEntry {
  readonly client: string;
  readonly uids: readonly string[];
  readonly gids: readonly string[];
  readonly origin?: { readonly file: string; readonly line: number };
}

export interface ReadAuthSpec {
  /** User and group names or numeric ids as written (unresolved). */
  readonly uids: readonly string[];
  readonly gids: readonly string[];
  /** Where the rule comes from, for messages: `ha.cf:12 (apiauth cl_status)` or Heartbeat's default. */
  readonly source: string;
}

/**
 * The apiauth line that decides read-only access: `apiauth cl_status …`, else `apiauth anon …`, else Heartbeat's
 * default gid=haclient. (`apiauth default …` is not consulted: Heartbeat always has an `anon` rule, so its
 * anonymous tools never reach `default` either.)
 */
export function readAuthSpec(apiauth: readonly ApiAuthEntry[]): ReadAuthSpec {
  for (const name of READ_CLIENTS) {
    const a = apiauth.find((x) => x.client === name);
    if (a !== undefined) {
      const where = a.origin === undefined ? 'ha.cf' : `${a.origin.file}:${a.origin.line}`;
      return { uids: a.uids, gids: a.gids, source: `${where} (apiauth ${name})` };
    }
  }
  return {
    uids: [],
    gids: [DEFAULT_READ_GROUP],
    source: `Heartbeat's default (apiauth cl_status gid=${DEFAULT_READ_GROUP})`,
  };
}

/** Words for "root, user nagios, or group haclient" from the names as written. */
export function describeReadRule(spec: ReadAuthSpec): string {
  const parts = ['root'];
  if (spec.uids.length > 0) parts.push(`${spec.uids.length === 1 ? 'user' : 'users'} ${spec.uids.join(', ')}`);
  if (spec.gids.length > 0) parts.push(`a member of group ${spec.gids.join(' or ')}`);
  const last = parts.pop() ?? '';
  return `${parts.length > 0 ? `${parts.join(', ')} or ` : ''}${last}, as ${spec.source}`;
}

function who(c: PeerCreds): string {
  const groups = c.groups === undefined ? '' : `, groups ${c.groups.length === 0 ? '(none)' : c.groups.join(',')}`;
  return `uid ${c.uid} (gid ${c.gid}${groups}, pid ${c.pid})`;
}

/** May this peer run this command? A refusal says what it would take. */
export function authorize(policy: AccessPolicy, creds: PeerCreds | undefined, cmd: ControlRequest['cmd']): Decision {
  const cls = commandClass(cmd);
  if (creds === undefined) {
    return {
      allow: false,
      message: `permission denied: the daemon cannot verify who is asking (no peer credentials); ${cmd} refused`,
    };
  }
  if (policy.adminUids.has(creds.uid)) return { allow: true };
  if (cls === 'admin') {
    return {
      allow: false,
      message: `permission denied: ${cmd} changes the cluster and needs root; this caller is ${who(creds)}`,
    };
  }
  if (policy.readUids.has(creds.uid)) return { allow: true };
  if (policy.readGids.has(creds.gid)) return { allow: true };
  if (creds.groups?.some((g) => policy.readGids.has(g)) === true) return { allow: true };
  return {
    allow: false,
    message: `permission denied: reading the cluster status needs ${policy.readRule}; this caller is ${who(creds)}`,
  };
}

/** True when the peer is one of the admins (who always get a connection slot). */
export function isAdmin(policy: AccessPolicy, creds: PeerCreds | undefined): boolean {
  return creds !== undefined && policy.adminUids.has(creds.uid);
}
