/**
 * Build a CompiledConfig in memory for simulations, tests and benchmarks (the real one comes from
 * the config parsers). Defaults follow Heartbeat's; timing and failback mode are parameters.
 */
import { defaultHaCf } from '../config/heartbeat-defaults.js';
import type { AutoFailback, CompiledConfig, HaCf, ResourceGroup } from '../config/types.js';

export interface SimConfigOptions {
  readonly nodes: readonly string[];
  readonly localNode: string;
  /** [key, preferred node] per haresources line. */
  readonly groups: ReadonlyArray<readonly [string, string]>;
  readonly keepaliveMs?: number;
  readonly deadtimeMs?: number;
  readonly warntimeMs?: number;
  readonly initdeadMs?: number;
  readonly autoFailback?: AutoFailback;
  /** STONITH device type, or undefined for none. */
  readonly stonith?: string;
  readonly pingNodes?: readonly string[];
  /** vigil_quorum etcd with this vigil_quorum_loss (undefined: no quorum). */
  readonly quorum?: 'release' | 'keep';
  readonly quorumTtlMs?: number;
  /** vigil_group_nodes lines: [group, nodes in order]. */
  readonly groupNodes?: ReadonlyArray<readonly [string, readonly string[]]>;
}

const origin = { file: '<sim>', line: 0 };

export function simConfig(o: SimConfigOptions): CompiledConfig {
  const base = defaultHaCf({
    nodes: o.nodes,
    localNode: o.localNode,
    keepaliveMs: o.keepaliveMs ?? 1000,
    deadtimeMs: o.deadtimeMs ?? 10_000,
    warntimeMs: o.warntimeMs,
    initdeadMs: o.initdeadMs,
    autoFailback: o.autoFailback ?? 'on',
  });
  const hacf: HaCf = {
    ...base,
    pingNodes: (o.pingNodes ?? []).map((ip) => ({ name: ip, addresses: [ip], group: false, origin })),
    vigil: {
      ...base.vigil,
      ...(o.quorum === undefined
        ? {}
        : {
            quorum: 'etcd' as const,
            quorumLoss: o.quorum,
            quorumEndpoints: ['http://etcd.sim:2379'],
            quorumTtlMs: o.quorumTtlMs ?? base.vigil.quorumTtlMs,
          }),
      groupNodes: (o.groupNodes ?? []).map(([group, nodes]) => ({ group, nodes, origin })),
    },
    stonith:
      o.stonith === undefined
        ? undefined
        : { directive: 'stonith_host', type: o.stonith, params: [], host: '*', origin },
  };
  const groups: ResourceGroup[] = o.groups.map(([key, node]) => ({
    key,
    node,
    resources: [{ spec: key, type: 'IPaddr', args: [key], ip: undefined }],
    origin,
  }));
  return {
    configDir: '/etc/ha.d',
    hacf,
    authkeys: { active: 1, keys: new Map([[1, { index: 1, method: 'sha1', key: 'sim', origin }]]) },
    groups,
  };
}
