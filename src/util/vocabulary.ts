/** Words every layer shares, defined once. */

/** Heartbeat's log levels, spelled as it prints them. `debug` goes to the debugfile only. */
export type LogLevel = 'debug' | 'info' | 'WARN' | 'ERROR' | 'CRIT';

/** A node's status as Heartbeat's `st` field, `cl_status nodestatus` and membership say it. */
export type NodeStatus = 'init' | 'up' | 'active' | 'dead' | 'ping';

export const NODE_STATUSES: readonly NodeStatus[] = ['init', 'up', 'active', 'dead', 'ping'];
