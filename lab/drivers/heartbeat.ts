import { access, constants } from 'node:fs/promises';
import { VigilError } from '../../src/util/errors.js';
import { sleep, waitFor } from '../exec.js';
import type { Lab } from '../topology.js';
import { classifyHeartbeatLine, HA_LOGFILE, pidsByExe, serviceEnv, writeHaFiles } from './common.js';
import type { ClusterSpec, Driver, LogKind } from './types.js';

export const HEARTBEAT_BIN = '/usr/libexec/heartbeat/heartbeat';
const HB_STANDBY = '/usr/share/heartbeat/hb_standby';

/** The real Heartbeat 3.0.6 from Debian, started the way its init script does (the binary daemonizes itself). */
export class HeartbeatDriver implements Driver {
  readonly impl = 'heartbeat' as const;
  readonly supportsStandby = true;
  readonly logPath = HA_LOGFILE;

  async checkAvailable(): Promise<void> {
    try {
      await access(HEARTBEAT_BIN, constants.X_OK);
    } catch {
      throw new VigilError(
        'VIGIL_ERR_LAB',
        `Heartbeat is not installed (${HEARTBEAT_BIN}); install the Debian package 'heartbeat'`,
      );
    }
  }

  configure(lab: Lab, spec: ClusterSpec): Promise<void> {
    return writeHaFiles(lab, spec, [], 'heartbeat');
  }

  async start(lab: Lab, host: string): Promise<void> {
    const r = await lab.sh(host, `${serviceEnv()} ${HEARTBEAT_BIN} </dev/null >>/var/log/heartbeat.start 2>&1`, {
      timeoutMs: 30_000,
    });
    if (r.code !== 0)
      throw new VigilError('VIGIL_ERR_LAB', `heartbeat failed to start on ${host} (exit ${r.code}); see its /var/log`);
    await waitFor(`heartbeat processes on ${host}`, 10_000, async () =>
      (await this.daemonPids(lab, host)).length > 0 ? true : undefined,
    );
  }

  async stop(lab: Lab, host: string): Promise<void> {
    // `heartbeat -k` signals the master and waits until resources are released and it has exited.
    await lab.exec(host, HEARTBEAT_BIN, ['-k'], { timeoutMs: 120_000 });
    await waitFor(`heartbeat to exit on ${host}`, 60_000, async () =>
      (await this.daemonPids(lab, host)).length === 0 ? true : undefined,
    );
  }

  daemonPids(lab: Lab, host: string): Promise<number[]> {
    return pidsByExe(lab, host, HEARTBEAT_BIN);
  }

  classify(line: string): LogKind | undefined {
    return classifyHeartbeatLine(line);
  }

  async standby(lab: Lab, host: string): Promise<void> {
    const r = await lab.exec(host, HB_STANDBY, ['all'], { timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new VigilError('VIGIL_ERR_LAB', `hb_standby failed on ${host}: ${r.stderr.trim() || r.stdout.trim()}`);
    await sleep(0);
  }

  notes(spec: ClusterSpec): string[] {
    return spec.ipv6 === undefined
      ? ['ha.cf: bcast eth1, ping 192.168.1.1, authkeys sha1; haresources: <primary> IPaddr::<vip>/<cidr>/eth1']
      : [`ha.cf and haresources as Vigil's, the IPv6 VIP written IPv6addr::<every group>/<prefix>/eth1`];
  }
}
