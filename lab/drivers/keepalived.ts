import { writeFile } from 'node:fs/promises';
import { VigilError } from '../../src/util/errors.js';
import { runCmd, waitFor } from '../exec.js';
import type { Lab } from '../topology.js';
import { pidsByExe, serviceEnv } from './common.js';
import type { ClusterSpec, Driver, LogKind } from './types.js';

const KEEPALIVED_BIN = '/usr/sbin/keepalived';
const CONF = '/etc/keepalived/keepalived.conf';

/**
 * keepalived (VRRP) with the equivalent of the tutorial: same VIP, linux1 preferred (highest priority),
 * advert_int = keepalive, preemption = auto_failback. VRRP has no deadtime: a backup declares the master down after
 * 3 x advert_int + skew; VRRPv2 only carries whole seconds, so sub-second adverts use VRRPv3.
 */
export class KeepalivedDriver implements Driver {
  readonly impl = 'keepalived' as const;
  readonly supportsStandby = false;
  readonly logPath = '/var/log/keepalived.log';

  async checkAvailable(): Promise<void> {
    const r = await runCmd(KEEPALIVED_BIN, ['--version']).catch(() => undefined);
    if (r === undefined) throw new VigilError('VIGIL_ERR_LAB', `keepalived is not installed (${KEEPALIVED_BIN})`);
  }

  async configure(lab: Lab, spec: ClusterSpec): Promise<void> {
    // VRRP over IPv6 exists only in version 3.
    const v6only = spec.ipv6?.only === true;
    const v3 = spec.keepaliveMs % 1000 !== 0 || v6only;
    const v6 = spec.ipv6 === undefined ? [] : [`    ${spec.ipv6.vip}/${spec.ipv6.cidr} dev ${spec.iface}`];
    const advert = v3 ? (spec.keepaliveMs / 1000).toFixed(2) : String(spec.keepaliveMs / 1000);
    for (const [i, n] of spec.nodes.entries()) {
      const prio = n === spec.primary ? 150 : 100 - i;
      const conf = [
        '# written by vigil lab',
        'global_defs {',
        `  router_id ${n}`,
        ...(v3 ? ['  vrrp_version 3'] : []),
        '}',
        'vrrp_instance VI_1 {',
        '  state BACKUP',
        `  interface ${spec.iface}`,
        '  virtual_router_id 51',
        `  priority ${prio}`,
        `  advert_int ${advert}`,
        ...(spec.autoFailback ? [] : ['  nopreempt']),
        '  virtual_ipaddress {',
        ...(v6only ? v6 : [`    ${spec.vip}/${spec.cidr} dev ${spec.iface}`]),
        '  }',
        // A VRRP instance carries one family; the other moves with it as an excluded address (a dual-stack group).
        ...(!v6only && v6.length > 0 ? ['  virtual_ipaddress_excluded {', ...v6, '  }'] : []),
        '}',
        '',
      ].join('\n');
      await writeFile(lab.hostPath(n, CONF), conf);
    }
  }

  async start(lab: Lab, host: string): Promise<void> {
    // No log-file option in this build: run in the foreground logging to the console, detached, into /var/log.
    const r = await lab.sh(
      host,
      `setsid ${serviceEnv()} ${KEEPALIVED_BIN} -n -l -D -G -P -f ${CONF} -p /run/keepalived.pid -r /run/keepalived_vrrp.pid </dev/null >>${this.logPath} 2>&1 &`,
    );
    if (r.code !== 0)
      throw new VigilError('VIGIL_ERR_LAB', `keepalived failed to start on ${host}: ${r.stderr.trim()}`);
    await waitFor(`keepalived processes on ${host}`, 10_000, async () =>
      (await this.daemonPids(lab, host)).length >= 2 ? true : undefined,
    );
  }

  async stop(lab: Lab, host: string): Promise<void> {
    // SIGTERM to the parent: it removes the VIP and sends a priority-0 advert so a backup takes over at once.
    const pids = await this.daemonPids(lab, host);
    const parent = Math.min(...pids);
    if (Number.isFinite(parent)) {
      try {
        process.kill(parent, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await waitFor(`keepalived to exit on ${host}`, 30_000, async () =>
      (await this.daemonPids(lab, host)).length === 0 ? true : undefined,
    );
  }

  daemonPids(lab: Lab, host: string): Promise<number[]> {
    return pidsByExe(lab, host, KEEPALIVED_BIN);
  }

  classify(line: string): LogKind | undefined {
    if (/Receive advertisement timeout|Master received priority 0|Entering FAULT STATE/.test(line)) return 'dead';
    if (/Entering MASTER STATE|Transition to MASTER STATE/.test(line)) return 'takeover';
    if (/setting VRRP VIPs|Sending gratuitous ARP on/.test(line)) return 'acquired';
    if (/Entering BACKUP STATE|Received advert from .* with higher priority/.test(line)) return 'release';
    return undefined;
  }

  standby(): Promise<void> {
    return Promise.reject(new VigilError('VIGIL_ERR_LAB', 'keepalived has no planned switchover (standby)'));
  }

  notes(spec: ClusterSpec): string[] {
    const v3 = spec.keepaliveMs % 1000 !== 0 || spec.ipv6?.only === true;
    return [
      ...(spec.ipv6 === undefined
        ? []
        : [
            spec.ipv6.only
              ? `VRRP over IPv6 (VRRPv3), VIP ${spec.ipv6.vip}/${spec.ipv6.cidr}`
              : `IPv6 VIP ${spec.ipv6.vip}/${spec.ipv6.cidr} in virtual_ipaddress_excluded (moves with the IPv4 instance)`,
          ]),
      `VRRPv${v3 ? 3 : 2}, advert_int ${spec.keepaliveMs} ms; master down after 3 x advert + skew (deadtime ${spec.deadtimeMs} ms is not configurable in VRRP)`,
      `preempt ${spec.autoFailback ? 'on' : 'off (nopreempt)'}`,
    ];
  }
}
