/**
 * A real etcd cluster in the lab (Debian's etcd-server 3.4): one member per etcd host (`Lab.up({ etcd: 3 })`), started
 * and stopped like the daemons, its data under the host's /var/lib/heartbeat/etcd. Members are found and killed by
 * PID. etcd's own timing defaults (100 ms heartbeat, 1 s election timeout) are kept: they are what users run.
 */
import { VigilError } from '../src/util/errors.js';
import { pidsByCmdline } from './drivers/common.js';
import { nowMs, runCmd, sleep, waitFor } from './exec.js';
import type { Lab } from './topology.js';

export const ETCD_CLIENT_PORT = 2379;
const ETCD_PEER_PORT = 2380;

export function etcdEndpoints(lab: Lab): string[] {
  return lab.etcdHosts.map((h) => `http://${lab.host(h).ip}:${ETCD_CLIENT_PORT}`);
}

function isEtcd(argv: string[]): boolean {
  return (argv[0] ?? '').endsWith('etcd') && argv.includes('--data-dir');
}

export function etcdPids(lab: Lab, host: string): Promise<number[]> {
  return pidsByCmdline(lab, host, isEtcd);
}

export async function checkEtcdAvailable(): Promise<void> {
  const r = await runCmd('etcd', ['--version']);
  if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', 'etcd is not installed (apt-get install etcd-server)');
}

/** Starts one member (a restart keeps its data: it rejoins as the same member). */
export async function startEtcdMember(lab: Lab, host: string): Promise<number> {
  const ip = lab.host(host).ip;
  const cluster = lab.etcdHosts.map((h) => `${h}=http://${lab.host(h).ip}:${ETCD_PEER_PORT}`).join(',');
  const args = [
    `--name ${host}`,
    '--data-dir /var/lib/heartbeat/etcd',
    `--listen-client-urls http://${ip}:${ETCD_CLIENT_PORT}`,
    `--advertise-client-urls http://${ip}:${ETCD_CLIENT_PORT}`,
    `--listen-peer-urls http://${ip}:${ETCD_PEER_PORT}`,
    `--initial-advertise-peer-urls http://${ip}:${ETCD_PEER_PORT}`,
    `--initial-cluster ${cluster}`,
    `--initial-cluster-token ${lab.prefix}-etcd`,
    '--initial-cluster-state new',
    // Quiet: the lab is not about etcd's logs.
    '--log-level warn',
    '--logger zap',
  ].join(' ');
  const t = nowMs();
  const r = await lab.sh(host, `setsid etcd ${args} </dev/null >>/var/log/etcd.log 2>&1 &`);
  if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `etcd failed to start on ${host}: ${r.stderr.trim()}`);
  await waitFor(`etcd on ${host}`, 10_000, async () => ((await etcdPids(lab, host)).length > 0 ? true : undefined));
  return t;
}

/** kill -9 of one member (a crash, or its host powered off). */
export async function killEtcdMember(lab: Lab, host: string): Promise<number> {
  const pids = await etcdPids(lab, host);
  if (pids.length === 0) throw new VigilError('VIGIL_ERR_LAB', `no etcd on ${host}`);
  const t = nowMs();
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await waitFor(`etcd to die on ${host}`, 10_000, async () =>
    (await etcdPids(lab, host)).length === 0 ? true : undefined,
  );
  return t;
}

/** Whether the cluster answers a linearizable read through `via` (a node host, which reaches the etcd hosts). */
export async function etcdHealthy(lab: Lab, via: string): Promise<boolean> {
  const r = await lab.exec(
    via,
    'etcdctl',
    [
      '--endpoints',
      etcdEndpoints(lab).join(','),
      '--command-timeout=2s',
      'get',
      '--keys-only',
      '--limit=1',
      '/health-probe',
    ],
    { timeoutMs: 5000 },
  );
  return r.code === 0;
}

/** Starts every member and waits until the cluster serves linearizable reads. */
export async function startEtcdCluster(lab: Lab, via: string): Promise<void> {
  await checkEtcdAvailable();
  for (const h of lab.etcdHosts) await startEtcdMember(lab, h);
  await waitFor('the etcd cluster to have a leader', 30_000, async () =>
    (await etcdHealthy(lab, via)) ? true : undefined,
  );
}

/** Which member leads (by its name) and the raft term (one more for every election), as `via` sees them. */
export async function etcdStatus(
  lab: Lab,
  via: string,
  members: readonly string[] = lab.etcdHosts,
): Promise<{ leader: string | undefined; term: number } | undefined> {
  const endpoints = members.map((h) => `http://${lab.host(h).ip}:${ETCD_CLIENT_PORT}`);
  const r = await lab.exec(
    via,
    'etcdctl',
    ['--endpoints', endpoints.join(','), '--command-timeout=2s', '-w', 'json', 'endpoint', 'status'],
    { timeoutMs: 5000 },
  );
  if (r.code !== 0) return undefined;
  try {
    const j = JSON.parse(r.stdout) as {
      Endpoint: string;
      Status: { header: { member_id: number; raft_term?: number }; leader: number; raftTerm?: number };
    }[];
    const lead = j.find((e) => e.Status.header.member_id === e.Status.leader);
    const term = Math.max(...j.map((e) => e.Status.raftTerm ?? e.Status.header.raft_term ?? NaN));
    const leader =
      lead === undefined ? undefined : lab.etcdHosts.find((h) => lead.Endpoint.includes(`//${lab.host(h).ip}:`));
    return Number.isFinite(term) ? { leader, term } : undefined;
  } catch {
    return undefined;
  }
}

/** Which member leads (by its name), or undefined. */
export async function etcdLeader(lab: Lab, via: string): Promise<string | undefined> {
  return (await etcdStatus(lab, via))?.leader;
}

export { sleep };
