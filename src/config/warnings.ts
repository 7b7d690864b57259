import type { SourceLocation } from '../util/errors.js';

/**
 * Stable codes for what Heartbeat lets through but admins get wrong. Warnings never stop a start;
 * `vigil check` prints them with file:line and a hint. Callers branch on `code`, never on text.
 */
export const WarningCodes = {
  VIGIL_WARN_HEARTBEAT: 'Heartbeat itself logs this warning at start',
  VIGIL_WARN_ORDER: 'a directive comes too late to affect earlier lines',
  VIGIL_WARN_REPEATED: 'a single-valued directive is given several values; the last wins',
  VIGIL_WARN_EMPTY: 'a directive or line has no value and is ignored',
  VIGIL_WARN_IGNORED: 'part of a line is ignored',
  VIGIL_WARN_TIMING: 'timings that cause false alarms or late warnings',
  VIGIL_WARN_INTERFACE: 'an interface named in the configuration is absent on this host',
  VIGIL_WARN_VIP_SUBNET: 'a virtual IP lies in no subnet of this host',
  VIGIL_WARN_FAILBACK: 'auto_failback left at its legacy default',
  VIGIL_WARN_AUTH_WEAK: 'authentication that does not authenticate',
  VIGIL_WARN_AUTH_VIGIL_ONLY: 'an authentication method Heartbeat peers cannot verify',
  VIGIL_WARN_AUTH_PERMS: 'authkeys is writable by group or other',
  VIGIL_WARN_NODE_NAME: 'this host is known by a name that matches no node line',
  VIGIL_WARN_PEER_DIFFERS: "a peer's copy of a file differs from this one",
  VIGIL_WARN_VIGIL_ONLY: 'a Vigil-only directive: Heartbeat rejects this file',
  VIGIL_WARN_RESOLVE: 'a host name is resolved at start',
  VIGIL_WARN_SCRIPT: 'a resource script cannot be found',
  VIGIL_WARN_VIP_LEASE: 'no kernel lease on VIPs: a dead daemon keeps its VIP after the peer takes over',
  VIGIL_WARN_HTTP_ANY: 'the HTTP status server listens on every address',
  VIGIL_WARN_PERMS: 'a file Vigil trusts is writable by others or not owned by root (an error when run as root)',
  VIGIL_WARN_DNS_KEY: 'a TSIG key file is missing or readable by others (an error when run as root)',
  VIGIL_WARN_GEO: 'a cross-site resource (dnsupdate, bgp) that will not do what it seems to',
  VIGIL_WARN_RESPAWN: 'a respawn/failfast client cannot be started on this host',
  VIGIL_WARN_QUORUM:
    'an etcd quorum setup that cannot survive losing one machine, or the split brain it was meant to end',
  VIGIL_WARN_RSC_SPLIT:
    'an IPv6 address written with "::" in haresources, which Heartbeat splits into several arguments',
  VIGIL_WARN_RSC_HEARTBEAT: 'something Vigil runs that a Heartbeat node in the same cluster would not',
  VIGIL_WARN_IPV6: 'an IPv6 address or prefix that does not fit the interface behind it',
} as const;

export type WarningCode = keyof typeof WarningCodes;

export interface ConfigWarning {
  readonly code: WarningCode;
  readonly message: string;
  /** What to do about it; absent for Heartbeat's own informational warnings. */
  readonly hint: string | undefined;
  readonly location: SourceLocation | undefined;
}

export function warning(
  code: WarningCode,
  message: string,
  location: SourceLocation | undefined,
  hint?: string,
): ConfigWarning {
  return { code, message, hint, location };
}

/** `file:line: warning: message (hint)` — the shape of VigilError.format(), so editors jump to it. */
export function formatWarning(w: ConfigWarning): string {
  let where = '';
  if (w.location !== undefined) {
    where = w.location.file;
    if (w.location.line !== undefined) where += `:${w.location.line}`;
    where += ': ';
  }
  return `${where}warning: ${w.message}${w.hint === undefined ? '' : ` (hint: ${w.hint})`}`;
}
