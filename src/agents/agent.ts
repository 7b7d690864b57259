/** One resource of a group, as the group runner drives it. Built-ins and scripts both implement it. */
export interface ResourceAgent {
  /** The resource as written in haresources (e.g. `IPaddr::192.168.1.50` or `apache`). */
  readonly spec: string;
  start(): Promise<OpResult>;
  stop(): Promise<OpResult>;
  status(): Promise<StatusResult>;
  /**
   * True when start() itself finds the resource already running and keeps it so. The status call that precedes
   * every start is then redundant: for the built-in address agents each call is an address dump, a netlink round
   * trip through the threadpool on the takeover path.
   */
  readonly startIsIdempotent?: boolean;
  /**
   * True when start and stop touch nothing but this resource's own address, so that adjacent members like it may
   * run at once (a dual-stack group's IPv4 and IPv6 addresses move together). Scripts never are: their order is
   * the admin's.
   */
  readonly parallelSafe?: boolean;
}

export interface OpResult {
  readonly ok: boolean;
  /** Exit code of the script, 0 for built-ins that succeeded, null when killed or not started. */
  readonly rc: number | null;
  /** Human text for logs when !ok (why it failed). */
  readonly detail: string;
}

export interface StatusResult {
  readonly running: boolean;
  /** The raw stdout a script printed (status is judged by it), or a built-in's description. */
  readonly text: string;
}

/**
 * Heartbeat's ResourceManager judges `status` by stdout text, not exit code:
 * `*[Nn][Oo][Tt] *[Rr]unning*` → stopped, else `*[Rr]unning*` or `*OK*` → running, else stopped.
 * (The shell pattern `*[Nn][Oo][Tt]\ *[Rr]unning*` needs a space after "not" and any text before "running".)
 */
export function statusTextSaysRunning(stdout: string): boolean {
  if (/[Nn][Oo][Tt] .*[Rr]unning/s.test(stdout)) return false;
  return /[Rr]unning/.test(stdout) || stdout.includes('OK');
}
