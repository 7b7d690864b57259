/**
 * `vigil_group_nodes <group> <node> <node>...` (Vigil only): the nodes a resource group may run on, best first.
 * haresources keeps its first column as the group's preferred node: the list must start with it (checked with
 * haresources, in compile.ts). A group without a line may run anywhere, its preferred node first, then `node` order.
 */
import { VigilError } from '../util/errors.js';
import type { GroupNodes, Origin } from './types.js';
import type { Token } from './values.js';

/** More than the 16 nodes the lab builds, fewer than anything silly. */
export const GROUP_NODES_MAX = 64;

export function parseGroupNodes(toks: readonly Token[], origin: Origin): GroupNodes {
  const [group, ...rest] = toks;
  if (group === undefined || rest.length === 0) {
    throw new VigilError(
      'VIGIL_ERR_CFG_VALUE',
      'vigil_group_nodes takes a group and its nodes in order: <group> <node> <node>...',
      origin,
    );
  }
  if (rest.length > GROUP_NODES_MAX) {
    throw new VigilError('VIGIL_ERR_CFG_LIMIT', `vigil_group_nodes: more than ${GROUP_NODES_MAX} nodes`, origin);
  }
  const nodes: string[] = [];
  for (const t of rest) {
    const n = t.text.toLowerCase();
    if (nodes.includes(n)) {
      throw new VigilError('VIGIL_ERR_CFG_VALUE', `vigil_group_nodes: node [${t.text}] is listed twice`, origin);
    }
    nodes.push(n);
  }
  return { group: group.text, nodes, origin };
}

/** The order a group's owner is chosen in: its list, else its preferred node and then every node in `node` order. */
export function groupOrder(
  group: string,
  preferred: string,
  nodes: readonly string[],
  lists: readonly GroupNodes[],
): readonly string[] {
  const l = lists.find((x) => x.group === group);
  if (l !== undefined) return l.nodes;
  return [preferred, ...nodes.filter((n) => n !== preferred)];
}
