import type { BgpSpec, DnsUpdateSpec } from './geo-resources.js';
import type { HealthCheckSpec } from './health-check.js';

/**
 * The one compiled, fully-resolved configuration every other layer reads.
 * Every duration is in milliseconds, every default is filled in, node names are lowercased.
 * Produced by `compileConfig()` from ha.cf + authkeys + haresources; immutable afterwards.
 */

/** Where a directive came from, so later warnings (lint, runtime) can point at file:line. */
export interface Origin {
  readonly file: string;
  readonly line: number;
}

export type AutoFailback = 'on' | 'off' | 'legacy';

export type MediumConfig =
  | {
      readonly kind: 'bcast';
      readonly dev: string;
      readonly port: number;
      readonly origin: Origin;
    }
  | {
      readonly kind: 'ucast';
      readonly dev: string;
      readonly peer: string;
      readonly port: number;
      readonly origin: Origin;
    }
  | {
      readonly kind: 'mcast';
      readonly dev: string;
      readonly group: string;
      readonly port: number;
      readonly ttl: number;
      readonly loop: boolean;
      readonly origin: Origin;
    }
  | {
      /** `ucast6 dev peer`: UDP over IPv6 to one peer, on udpport (Heartbeat's ucast6 plugin). */
      readonly kind: 'ucast6';
      readonly dev: string;
      /** Canonical IPv6 text, without a zone: a link-local peer is reached through `dev`. */
      readonly peer: string;
      readonly port: number;
      readonly origin: Origin;
    }
  | {
      /** `mcast6 dev group port hops loop` (Heartbeat's mcast6 plugin). */
      readonly kind: 'mcast6';
      readonly dev: string;
      /** Canonical IPv6 text of the multicast group. */
      readonly group: string;
      readonly port: number;
      /** IPV6_MULTICAST_HOPS, 0–4 as Heartbeat allows. */
      readonly hops: number;
      readonly loop: boolean;
      readonly origin: Origin;
    }
  | {
      readonly kind: 'serial';
      readonly tty: string;
      readonly baud: number;
      readonly origin: Origin;
    };

/** A ping node (`ping ip`) or a ping group (`ping_group name ip...`, alive if any member answers). */
export interface PingNodeConfig {
  /** Node name: the IP itself for `ping`, the group name for `ping_group`. */
  readonly name: string;
  readonly addresses: readonly string[];
  readonly group: boolean;
  readonly origin: Origin;
}

export interface StonithConfig {
  /** `stonith <type> <cfgfile>` or `stonith_host <host|*> <type> <params...>` (the last matching line wins). */
  readonly directive: 'stonith' | 'stonith_host';
  readonly type: string;
  /** cfgfile for `stonith`; the params for `stonith_host`. */
  readonly params: readonly string[];
  readonly host: string | undefined;
  readonly origin: Origin;
}

export interface RespawnConfig {
  readonly user: string;
  /** Absolute path then arguments. */
  readonly argv: readonly string[];
  /** true for `failfast` (reboot when it dies). */
  readonly failfast: boolean;
  readonly origin: Origin;
}

export interface ApiAuthConfig {
  readonly client: string;
  readonly uids: readonly string[];
  readonly gids: readonly string[];
  readonly origin: Origin;
}

export interface WatchdogConfig {
  readonly device: string;
  /** deadtime + 10 ms rounded up to whole seconds, as Heartbeat computes it. */
  readonly timeoutS: number;
}

export interface HaCf {
  /** Configured nodes, lowercased, in file order. */
  readonly nodes: readonly string[];
  /**
   * The name this host goes by (uname -n, /etc/ha.d/nodeinfo or --node), lowercased; always in `nodes` in a
   * CompiledConfig. ('' only from `parseHaCf` called without `localNode`, e.g. for a peer's copy.)
   */
  readonly localNode: string;
  readonly media: readonly MediumConfig[];
  readonly pingNodes: readonly PingNodeConfig[];

  readonly keepaliveMs: number;
  readonly deadtimeMs: number;
  readonly warntimeMs: number;
  readonly initdeadMs: number;
  readonly deadpingMs: number;
  readonly udpport: number;
  readonly baud: number;
  readonly hopfudge: number;
  readonly autoFailback: AutoFailback;
  /** Derived from autoFailback as Heartbeat does: on/off → true, legacy → false. */
  readonly niceFailback: boolean;
  readonly realtime: boolean;
  /**
   * `rtprio`: SCHED_FIFO priority (1–99) when realtime is on; undefined = Heartbeat's built-in choice.
   * Optional only so that HaCf literals written before it existed still compile; the parser always sets it.
   */
  readonly rtprio?: number | undefined;
  readonly debug: number;
  readonly hbgenmethod: 'file' | 'time';
  readonly msgfmt: 'classic' | 'netstring';
  readonly logfile: string | undefined;
  readonly debugfile: string | undefined;
  readonly logfacility: string | undefined;
  readonly useLogd: boolean;
  readonly connLogdTimeS: number;
  readonly coredumps: boolean;
  readonly coreroot: string | undefined;
  readonly logBadpack: boolean;
  readonly syslogmsgfmt: boolean;
  readonly pacemaker: boolean;
  readonly autojoin: 'none' | 'other' | 'any';
  readonly uuidfrom: 'file' | 'nodename';
  readonly compression: string;
  readonly compressionThreshold: number;
  readonly traditionalCompression: boolean;
  readonly maxRexmitDelayMs: number;
  readonly memreserveKb: number;
  readonly cluster: string;
  readonly quorumServer: string | undefined;
  /** `env N=V` lines: exported to children as HA_N=V. */
  readonly env: Readonly<Record<string, string>>;
  readonly watchdog: WatchdogConfig | undefined;
  readonly stonith: StonithConfig | undefined;
  readonly apiauth: readonly ApiAuthConfig[];
  readonly respawn: readonly RespawnConfig[];

  /**
   * Vigil-only directives (documented in the README; rejected by Heartbeat, so a file that uses
   * them is Vigil's). Later issues add fields here; each has a default so classic files need none.
   */
  readonly vigil: VigilExtensions;

  /** Raw value of every directive as written (for `cl_status hbparameter`), last occurrence wins. */
  readonly raw: Readonly<Record<string, string>>;
  /** Where each directive was (first occurrence), for warnings. */
  readonly origins: Readonly<Record<string, Origin>>;
}

export interface VigilExtensions {
  /** `vigil_state_dir`: where hb_uuid / hb_generation live. Default /var/lib/heartbeat. */
  readonly stateDir: string;
  /** `vigil_vip_lease`: 'auto', 'off' or whole seconds (validated by the daemon against deadtime). */
  readonly vipLease: string;
  /** `vigil_garp_refresh`: periodic gratuitous ARP while holding a VIP, ms; 0 = off. */
  readonly garpRefreshMs: number;
  /** `vigil_script_timeout`: ms one resource script call may run before it is killed. Default 120 s. */
  readonly scriptTimeoutMs: number;
  /** `vigil_rsc_state_dir`: pseudo-resource marks (HA_RSCTMP). Default /run/resource-agents. */
  readonly rscStateDir: string;
  /** `vigil_mail_relay`: host[:port] of the SMTP relay. Default localhost:25. */
  readonly mailRelay: string;
  /** `vigil_mail_lang`: language of MailTo notices. Default en. */
  readonly mailLang: string;
  /** `vigil_mail_templates`: directory of `<lang>.json` template overrides. Default /etc/ha.d/mail-templates. */
  readonly mailTemplatesDir: string;
  /** `vigil_stonith_timeout`: ms one STONITH reset attempt may take. Default 60 s. */
  readonly stonithTimeoutMs: number;
  /** `vigil_health_check` lines, in file order (ids unique). Default none. */
  readonly healthChecks: readonly HealthCheckSpec[];
  /** `vigil_detector`: Heartbeat's fixed deadtime, or the adaptive φ-accrual detector capped by deadtime. */
  readonly detector: 'deadtime' | 'adaptive';
  /** `vigil_detector_phi`: suspicion threshold φ of the adaptive detector. Default 8. */
  readonly detectorPhi: number;
  /** `vigil_detector_min_beats`: missed heartbeats before the adaptive detector may suspect. Default 3. */
  readonly detectorMinBeats: number;
  /** `vigil_group_nodes` lines: the nodes each listed group may run on, in order of preference. Default none. */
  readonly groupNodes: readonly GroupNodes[];
  /** `vigil_quorum`: who arbitrates ownership beyond the heartbeats. Default none. */
  readonly quorum: 'none' | 'etcd';
  /** `vigil_quorum_endpoints`: etcd client URLs (scheme://host:port), in file order. */
  readonly quorumEndpoints: readonly string[];
  /** `vigil_quorum_prefix`: key prefix in etcd. Default /vigil. */
  readonly quorumPrefix: string;
  /** `vigil_quorum_ca`, `_cert`, `_key`: PEM files ('' = unset). */
  readonly quorumCa: string;
  readonly quorumCert: string;
  readonly quorumKey: string;
  /** `vigil_quorum_ttl`: the etcd lease TTL, ms (whole seconds). Default 5 s. */
  readonly quorumTtlMs: number;
  /** `vigil_quorum_loss`: what holders do when etcd cannot be reached. Default release. */
  readonly quorumLoss: 'release' | 'keep';
  /** `vigil_http`: `host:port` of the read-only HTTP server, '' = off (the default). */
  readonly httpListen: string;
  /** `vigil_notify`: program run on every transition, '' = none. */
  readonly notifyProgram: string;
  /** `vigil_notify_timeout`: ms one notify run may take. Default 10 s. */
  readonly notifyTimeoutMs: number;
  /** `vigil_notify_fifo`: named pipe fed one line per transition, '' = none. */
  readonly notifyFifo: string;
  /** `vigil_history_size`: bytes of the transition journal before rotation. Default 1 MiB. */
  readonly historyBytes: number;
  /** `vigil_journald`: journald's native protocol for syslog lines: auto (under systemd), on, off. */
  readonly journald: 'auto' | 'on' | 'off';
}

/** `vigil_group_nodes <group> <node>...`: where a group may run, best first (the first is its haresources node). */
export interface GroupNodes {
  readonly group: string;
  readonly nodes: readonly string[];
  readonly origin: Origin;
}

export type AuthMethod = 'crc' | 'md5' | 'sha1' | 'sha256' | 'sha512';

export interface AuthKey {
  readonly index: number;
  readonly method: AuthMethod;
  /** Empty for crc. */
  readonly key: string;
  readonly origin: Origin;
}

export interface AuthKeys {
  /** The index selected by `auth N`; always present in `keys`. */
  readonly active: number;
  /** Every key line, indexed by its number (0–15). */
  readonly keys: ReadonlyMap<number, AuthKey>;
}

export interface Resource {
  /** The token as written in haresources (e.g. `192.168.1.50` or `IPaddr::10.0.0.1/24/eth0`). */
  readonly spec: string;
  /** Script/agent name after shorthand expansion (`IPaddr` for a bare IP). */
  readonly type: string;
  /** Arguments split on `::` (an IP agent's address written with `::` stays whole: see parseResource). */
  readonly args: readonly string[];
  /** For IPaddr/IPaddr2/IPv6addr: the parsed address argument. */
  readonly ip: IpResourceArgs | undefined;
  /** For the built-in `dnsupdate` (geo-resources.ts). */
  readonly dns?: DnsUpdateSpec | undefined;
  /** For the built-in `bgp` (geo-resources.ts). */
  readonly bgp?: BgpSpec | undefined;
}

export interface IpResourceArgs {
  /** IPv4 dotted quad, or IPv6 in canonical text (`2001:db8::50`) however it was written. */
  readonly address: string;
  /** Prefix length if given (`/24`, `/64`), else undefined (the agent derives it from the interface). */
  readonly cidr: number | undefined;
  readonly nic: string | undefined;
  /** IPv4 only. */
  readonly broadcast: string | undefined;
}

export interface ResourceGroup {
  /** The first resource's spec: unique across the file; the group's identity on the wire (`ipaddr=`). */
  readonly key: string;
  /** Preferred node, lowercased. */
  readonly node: string;
  readonly resources: readonly Resource[];
  readonly origin: Origin;
}

export interface CompiledConfig {
  /** Directory the three files were read from (normally /etc/ha.d). */
  readonly configDir: string;
  readonly hacf: HaCf;
  readonly authkeys: AuthKeys;
  readonly groups: readonly ResourceGroup[];
}
