/**
 * One table of stable error codes. Callers branch on `code`, never on message text.
 * Add a code here before throwing it anywhere.
 */
export const ErrorCodes = {
  VIGIL_ERR_USAGE: 'bad command-line usage',
  VIGIL_ERR_CFG_DIRECTIVE: 'unknown or illegal configuration directive',
  VIGIL_ERR_CFG_VALUE: 'invalid configuration value',
  VIGIL_ERR_CFG_MISSING: 'required configuration item missing',
  VIGIL_ERR_CFG_LIMIT: 'configuration limit exceeded',
  VIGIL_ERR_CFG_IO: 'configuration file could not be read',
  VIGIL_ERR_CFG_PERMS:
    'a configuration file, a script run as root, or a directory above one is writable by others or not owned by root',
  VIGIL_ERR_AUTH_CONFIG: 'authentication configuration error',
  VIGIL_ERR_AUTH_PERMS: 'authkeys file is readable by group or other',
  VIGIL_ERR_RSC_SYNTAX: 'haresources syntax error',
  VIGIL_ERR_RSC_NODE: 'haresources names an unknown node',
  VIGIL_ERR_RSC_DUPLICATE: 'duplicate resource group key',
  VIGIL_ERR_RSC_SCRIPT: 'resource script missing or not executable',
  VIGIL_ERR_RSC_ARGS: 'resource arguments do not fit the agent',
  VIGIL_ERR_MSG_TOO_BIG: 'message exceeds the size limit',
  VIGIL_ERR_MSG_FIELD: 'message lacks a required field or has an invalid one',
  VIGIL_ERR_MSG_TYPE: 'message type not handled by the engine',
  VIGIL_ERR_SOCKET: 'socket error',
  VIGIL_ERR_CONTROL_REQUEST: 'bad control request',
  VIGIL_ERR_CONTROL_REFUSED: 'the daemon refused the command',
  VIGIL_ERR_CONTROL_UNAVAILABLE: 'the daemon does not answer',
  VIGIL_ERR_CONTROL_DENIED:
    'permission denied: the caller may not use this control command (apiauth; changes need root)',
  VIGIL_ERR_SOCKET_OPTION: 'a socket option could not be set or read',
  VIGIL_ERR_SOCKET_BIND: 'a socket could not be bound',
  VIGIL_ERR_SOCKET_SEND: 'a packet could not be sent',
  VIGIL_ERR_MEDIUM_STATE: 'heartbeat medium used in the wrong state',
  VIGIL_ERR_NO_DEVICE: 'network interface missing or invalid',
  VIGIL_ERR_NO_ADDRESS: 'network interface lacks the IPv4 address the medium needs',
  VIGIL_ERR_FFI: 'native libc calls (koffi) unavailable',
  VIGIL_ERR_SCHED: 'the scheduling policy (realtime) could not be set',
  VIGIL_ERR_ADDR_INVALID: 'invalid IP address, prefix, label or lifetime',
  VIGIL_ERR_ADDR_NO_NIC: 'no interface has a subnet holding the address',
  VIGIL_ERR_ADDR_EXISTS: 'the address is already configured',
  VIGIL_ERR_ARP_SEND: 'gratuitous ARP could not be sent',
  VIGIL_ERR_STATE: 'persistent node state (hb_uuid, hb_generation) is unreadable or corrupt',
  VIGIL_ERR_STATE_WRITE: 'persistent state could not be written (disk full, read-only, permissions)',
  VIGIL_ERR_OS_COMMAND: 'external command failed',
  VIGIL_ERR_SMTP: 'mail could not be sent through the SMTP relay',
  VIGIL_ERR_DNS: 'a DNS server did not answer, refused, or answered something malformed or unsigned',
  VIGIL_ERR_DNS_KEY: 'the TSIG key file is missing, unreadable, malformed, or readable by group or others',
  VIGIL_ERR_BGP: 'the BGP speaker (BIRD) is unreachable or does not announce the address',
  VIGIL_ERR_MAIL_TEMPLATE: 'invalid mail template',
  VIGIL_ERR_STONITH_CONFIG: 'invalid STONITH configuration',
  VIGIL_ERR_HEALTH_CONFIG: 'invalid health check',
  VIGIL_ERR_QUORUM: 'etcd could not be reached or refused the request',
  VIGIL_ERR_LAB: 'lab error',
  VIGIL_ERR_LAB_NOT_ROOT: 'the lab needs root and network namespaces',
  VIGIL_ERR_ALREADY_RUNNING: 'another Vigil daemon is running on this host',
  VIGIL_ERR_PROCESS_NAME: 'the process name could not be set',
  VIGIL_ERR_INTERNAL: 'internal invariant violated',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Where in a file an error was found; `line` and `column` are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line?: number;
  readonly column?: number;
}

export class VigilError extends Error {
  override readonly name = 'VigilError';
  readonly code: ErrorCode;
  readonly location: SourceLocation | undefined;

  constructor(code: ErrorCode, message: string, location?: SourceLocation, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.location = location;
  }

  /** `file:line[:column]: message`, the shape editors and grep understand. */
  format(): string {
    const loc = this.location;
    if (loc === undefined) return this.message;
    let where = loc.file;
    if (loc.line !== undefined) where += `:${loc.line}`;
    if (loc.line !== undefined && loc.column !== undefined) where += `:${loc.column}`;
    return `${where}: ${this.message}`;
  }
}

/**
 * Several errors found in one pass over a file (config parsers report every error of a file at once).
 * `errors` is never empty.
 */
export class VigilErrors extends Error {
  override readonly name = 'VigilErrors';
  readonly code: ErrorCode;
  readonly errors: readonly VigilError[];

  constructor(errors: readonly VigilError[]) {
    const first = errors[0];
    if (first === undefined) throw new Error('VigilErrors needs at least one error');
    super(errors.map((e) => e.format()).join('\n'));
    this.errors = errors;
    this.code = first.code;
  }
}

export function isVigilError(e: unknown): e is VigilError | VigilErrors {
  return e instanceof VigilError || e instanceof VigilErrors;
}

/** Invariant check that stays on in production: a broken invariant in an HA daemon must be loud. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new VigilError('VIGIL_ERR_INTERNAL', `invariant violated: ${message}`);
}

/** The message of anything thrown (an Error's message, else its string form), for logs and replies. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
