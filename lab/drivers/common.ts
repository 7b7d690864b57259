import { chmod, readFile, readlink, writeFile } from 'node:fs/promises';
import { SERVICE_PATH } from '../../src/cli/daemon-env.js';
import type { Lab } from '../topology.js';
import type { ClusterSpec, LogKind } from './types.js';
import { expandedIPv6 } from '../../src/util/inet.js';

/** The lab's IPv6 heartbeat group: link-local scope (Heartbeat's mcast6 refuses global scope), one hop, no loop. */
export const LAB_MCAST6 = 'ff02::694:1';

/**
 * The group's haresources members. An IPv6 VIP is written `IPaddr2::2001:db8:1::50/64/eth1` for Vigil, and as
 * Heartbeat can read it (`IPv6addr::` with every group written out, no `::`) when a Heartbeat node may run it.
 */
export function groupMembers(spec: ClusterSpec, ipv6Form: 'compressed' | 'heartbeat' = 'compressed'): string[] {
  const out: string[] = [];
  if (spec.ipv6?.only !== true) out.push(`IPaddr::${spec.vip}/${spec.cidr}/${spec.iface}`);
  if (spec.ipv6 !== undefined) {
    const { vip, cidr } = spec.ipv6;
    out.push(
      ipv6Form === 'compressed'
        ? `IPaddr2::${vip}/${cidr}/${spec.iface}`
        : `IPv6addr::${expandedIPv6(vip) ?? vip}/${cidr}/${spec.iface}`,
    );
  }
  return out;
}

/** Heartbeat takes times as `<n>ms`; whole seconds are written as seconds to look like a hand-written ha.cf. */
export function hbTime(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}` : `${ms}ms`;
}

export const HA_LOGFILE = '/var/log/heartbeat.log';

/** ha.cf's log file and timing lines, as every lab cluster starts them. */
export function timingLines(keepaliveMs: number, deadtimeMs: number, warntimeMs?: number): string[] {
  // initdead: Heartbeat requires >= deadtime; twice deadtime (its own default below 10 s) but at least 2 s so two
  // nodes started a few hundred ms apart meet before either gives up on the other.
  const initdead = Math.max(2 * deadtimeMs, 2000);
  return [
    `logfile ${HA_LOGFILE}`,
    `keepalive ${hbTime(keepaliveMs)}`,
    `deadtime ${hbTime(deadtimeMs)}`,
    ...(warntimeMs === undefined ? [] : [`warntime ${hbTime(warntimeMs)}`]),
    `initdead ${hbTime(initdead)}`,
  ];
}

/** The Heartbeat tutorial's three files, shared by the heartbeat and vigil drivers. */
export async function writeHaFiles(
  lab: Lab,
  spec: ClusterSpec,
  extra: readonly string[] = [],
  ipv6Form: 'compressed' | 'heartbeat' = 'compressed',
): Promise<void> {
  const v6only = spec.ipv6?.only === true;
  const hacf = [
    '# written by vigil lab',
    ...timingLines(spec.keepaliveMs, spec.deadtimeMs),
    // Heartbeat pings the ping node once a second whatever keepalive is, so a sub-second deadping flaps it.
    `deadping ${hbTime(Math.max(spec.deadtimeMs, 3000))}`,
    v6only ? `mcast6 ${spec.iface} ${LAB_MCAST6} 694 1 0` : `bcast ${spec.iface}`,
    v6only ? `ping6 ${spec.ipv6.pingIp}` : `ping ${spec.pingIp}`,
    `auto_failback ${spec.autoFailback ? 'on' : 'off'}`,
    ...spec.nodes.map((n) => `node ${n}`),
    ...extra,
    '',
  ].join('\n');
  const authkeys = [`auth 1`, `1 sha1 ${spec.authKey}`, ...(spec.authExtra ?? []), ''].join('\n');
  const haresources = [
    `${spec.primary} ${groupMembers(spec, ipv6Form).join(' ')}`,
    ...(spec.moreGroups ?? []).map((g) => `${g.nodes[0] ?? spec.primary} IPaddr::${g.vip}/${spec.cidr}/${spec.iface}`),
    '',
  ].join('\n');
  for (const n of spec.nodes) {
    await writeFile(lab.hostPath(n, '/etc/ha.d/ha.cf'), hacf);
    await writeFile(lab.hostPath(n, '/etc/ha.d/authkeys'), authkeys, { mode: 0o600 });
    await chmod(lab.hostPath(n, '/etc/ha.d/authkeys'), 0o600);
    await writeFile(lab.hostPath(n, '/etc/ha.d/haresources'), haresources);
  }
}

/** Heartbeat 3 log text (reference §5/§6); Vigil writes the same lines. */
export function classifyHeartbeatLine(line: string): LogKind | undefined {
  if (/returning after partition/.test(line)) return 'partition';
  // Ping nodes (named by their IPv4 or IPv6 address) dying is not a peer failure.
  if (/node (?!\d+\.\d+\.\d+\.\d+:|[0-9a-f]*:[0-9a-f:]*:)\S+: is dead|Received shutdown notice from/.test(line))
    return 'dead';
  if (/Resources being acquired from|Taking over resource group|Acquiring resource group/.test(line)) return 'takeover';
  if (
    /takeover complete|Standby resource acquisition done|Local Resource acquisition completed|Initial resource acquisition complete/.test(
      line,
    )
  )
    return 'acquired';
  if (/Releasing resource group|Giving up all HA resources|give up all HA resources|Going standby/.test(line))
    return 'release';
  if (/All HA resources relinquished|Local standby process completed/.test(line)) return 'released';
  if (/\b(ERROR|CRIT):/.test(line) && !/lock ourselves into memory|Late heartbeat: Node \d/.test(line)) return 'error';
  return undefined;
}

/** PIDs in the host whose executable is `exe`. */
export async function pidsByExe(lab: Lab, host: string, exe: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await lab.pids(host)) {
    const link = await readlink(`/proc/${pid}/exe`).catch(() => '');
    if (link === exe || link === `${exe} (deleted)`) out.push(pid);
  }
  return out;
}

export async function pidsByCmdline(lab: Lab, host: string, test: (argv: string[]) => boolean): Promise<number[]> {
  const out: number[] = [];
  for (const pid of await lab.pids(host)) {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (raw !== '' && test(raw.split('\0').filter((a) => a !== ''))) out.push(pid);
  }
  return out;
}

/**
 * The `env` prefix a daemon starts under: the clean environment a service manager gives (systemd and Debian's
 * `service` pass PATH and LANG, not the caller's shell), plus `extra`. Inheriting the lab user's shell would measure
 * something no server runs: NODE_EXTRA_CA_CERTS alone makes Node parse a CA bundle and keep ~2 MB more resident.
 */
export function serviceEnv(extra: Readonly<Record<string, string>> = {}): string {
  const vars = { PATH: SERVICE_PATH, LANG: 'C.UTF-8', ...extra };
  return `env -i ${Object.entries(vars)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')}`;
}
