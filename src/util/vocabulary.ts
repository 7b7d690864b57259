/** Words every layer shares, defined once. */

/** Heartbeat's log levels, spelled as it prints them. `debug` goes to the debugfile only. */
export type LogLevel = 'debug' | 'info' | 'WARN' | 'ERROR' | 'CRIT';

/** A node's status as Heartbeat's `st` field, `cl_status nodestatus` and membership say it. */
export type NodeStatus = 'init' | 'up' | 'active' | 'dead' | 'ping';

export const NODE_STATUSES: readonly NodeStatus[] = ['init', 'up', 'active', 'dead', 'ping'];

/** vigil_quorum etcd as the engine reports it and `vigil status` shows it: whether etcd answers, each group key. */
export interface QuorumView {
  readonly reachable: boolean;
  readonly keys: ReadonlyArray<{
    readonly group: string;
    /** The node whose lease holds the key; null = no key (free); undefined = not known (etcd not read yet). */
    readonly owner: string | null | undefined;
    /** This node's fencing token for the group (the key's creation revision) while it owns the key. */
    readonly token?: number;
  }>;
}
