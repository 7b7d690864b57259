import { fileURLToPath } from 'node:url';
import { VigilError } from '../../src/util/errors.js';
import { runCmd, waitFor } from '../exec.js';
import type { Lab } from '../topology.js';
import { DAEMON_ENV } from '../../src/cli/daemon-env.js';
import { classifyHeartbeatLine, HA_LOGFILE, pidsByCmdline, serviceEnv, writeHaFiles } from './common.js';
import type { ClusterSpec, Driver, LogKind } from './types.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const VIGIL_JS = `${REPO}dist/src/cli/vigil.js`;
const HB_STANDBY_JS = `${REPO}dist/src/cli/hb_standby.js`;

function isVigilDaemon(argv: string[]): boolean {
  return argv.some((a) => a.endsWith('/vigil.js')) && argv.includes('run');
}

/** Vigil's own ha.cf lines for a spec: the detector, the etcd quorum, the groups' node lists, any extra lines. */
export function vigilLines(spec: ClusterSpec): string[] {
  const out: string[] = [];
  if (spec.vigilDetector !== undefined) out.push(`vigil_detector ${spec.vigilDetector}`);
  const q = spec.vigilQuorum;
  if (q !== undefined) {
    out.push('vigil_quorum etcd', `vigil_quorum_endpoints ${q.endpoints.join(' ')}`, `vigil_quorum_prefix ${q.prefix}`);
    if (q.ttlS !== undefined) out.push(`vigil_quorum_ttl ${q.ttlS}`);
  }
  for (const g of spec.moreGroups ?? [])
    out.push(`vigil_group_nodes IPaddr::${g.vip}/${spec.cidr}/${spec.iface} ${g.nodes.join(' ')}`);
  out.push(...(spec.vigilExtra ?? []));
  return out;
}

/** The Vigil daemon with the same /etc/ha.d files as Heartbeat; it logs to ha.cf's logfile like Heartbeat does. */
export class VigilDriver implements Driver {
  readonly impl = 'vigil' as const;
  readonly supportsStandby = true;
  readonly logPath = HA_LOGFILE;

  async checkAvailable(): Promise<void> {
    const r = await runCmd(process.execPath, [VIGIL_JS, 'run', '--help'], { timeoutMs: 20_000 });
    if (r.code !== 0 || !/Usage: vigil run/.test(r.stdout)) {
      throw new VigilError(
        'VIGIL_ERR_LAB',
        `Vigil daemon not available yet: \`vigil run\` is missing from ${VIGIL_JS}`,
      );
    }
  }

  configure(lab: Lab, spec: ClusterSpec): Promise<void> {
    return writeHaFiles(lab, spec, vigilLines(spec));
  }

  async start(lab: Lab, host: string): Promise<void> {
    await this.checkAvailable();
    const r = await lab.sh(
      host,
      `setsid ${serviceEnv(DAEMON_ENV)} ${process.execPath} ${VIGIL_JS} run </dev/null >>/var/log/vigil.start 2>&1 &`,
    );
    if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `vigil failed to start on ${host}: ${r.stderr.trim()}`);
    await waitFor(`vigil on ${host}`, 10_000, async () =>
      (await this.daemonPids(lab, host)).length > 0 ? true : undefined,
    );
  }

  async stop(lab: Lab, host: string): Promise<void> {
    for (const pid of await this.daemonPids(lab, host)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await waitFor(`vigil to exit on ${host}`, 60_000, async () =>
      (await this.daemonPids(lab, host)).length === 0 ? true : undefined,
    );
  }

  daemonPids(lab: Lab, host: string): Promise<number[]> {
    return pidsByCmdline(lab, host, isVigilDaemon);
  }

  classify(line: string): LogKind | undefined {
    return classifyHeartbeatLine(line);
  }

  async standby(lab: Lab, host: string): Promise<void> {
    const r = await lab.exec(host, process.execPath, [HB_STANDBY_JS, 'all'], { timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new VigilError(
        'VIGIL_ERR_LAB',
        `vigil hb_standby failed on ${host}: ${r.stderr.trim() || r.stdout.trim()}`,
      );
  }

  notes(spec: ClusterSpec): string[] {
    const extra = vigilLines(spec);
    return [
      extra.length === 0
        ? 'same /etc/ha.d files as heartbeat'
        : `same /etc/ha.d files as heartbeat, plus ${extra.join('; ')}`,
    ];
  }
}
