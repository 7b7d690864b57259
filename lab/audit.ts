/**
 * The resource audit of Heartbeat's own test suite (CTS): every resource group runs on exactly one node, and all
 * of its members run on that same node. It reads haresources as the daemons do, so it holds for multi-resource
 * groups too, and judges each member on every node from the outside: IP resources from the kernel's addresses,
 * script resources by their `status` output (Heartbeat's rule: "running"/"OK" unless "not running").
 */
import { readFile } from 'node:fs/promises';
import { runCmd } from './exec.js';
import { IFACE, type Lab } from './topology.js';
import { parseResource } from '../src/config/haresources.js';

export interface AuditGroupSpec {
  /** The haresources line's preferred node. */
  readonly node: string;
  /** Members as written (`IPaddr::192.168.1.50/24/eth1`, `httpd`, `Filesystem::/dev/sdb1::/data::ext3`...). */
  readonly members: readonly string[];
}

export interface AuditGroupResult {
  readonly group: string;
  /** node → members running there */
  readonly running: Readonly<Record<string, readonly string[]>>;
  /** The node holding the group (undefined when none or several). */
  readonly holder: string | undefined;
  readonly problems: readonly string[];
}

export interface AuditResult {
  readonly ok: boolean;
  readonly groups: readonly AuditGroupResult[];
}

/** haresources: `node res1 res2 ...`, `#` comments, `\` continuations. */
export function parseHaresources(text: string): AuditGroupSpec[] {
  const out: AuditGroupSpec[] = [];
  const joined = text.replace(/\\\r?\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [node, ...members] = line.split(/\s+/);
    if (node !== undefined && members.length > 0) out.push({ node, members });
  }
  return out;
}

/** The address of an IP member (`IPaddr::a/b/c`, `IPaddr2::a`, `IPv6addr::…`, or a bare address), else undefined:
 *  read as the daemons read it (an IPv6 address written with `::` included). */
export function ipOfMember(member: string): string | undefined {
  const r = parseResource(member);
  return typeof r === 'string' ? undefined : r.ip?.address;
}

/** Heartbeat's ResourceManager reading of a `status` output. */
export function statusSaysRunning(stdout: string): boolean {
  if (/[Nn]ot\s+running/.test(stdout)) return false;
  return /running|OK/.test(stdout);
}

/** Pure judgement: `running[node]` = the members of `g` found running on that node. */
export function judgeGroup(g: AuditGroupSpec, running: Readonly<Record<string, readonly string[]>>): AuditGroupResult {
  const group = g.members.join(' ');
  const problems: string[] = [];
  const nodesWith = Object.entries(running).filter(([, m]) => m.length > 0);
  let holder: string | undefined;
  if (nodesWith.length === 0) problems.push(`group "${group}" runs on no node`);
  else if (nodesWith.length > 1) {
    problems.push(
      `group "${group}" runs on ${nodesWith.length} nodes: ${nodesWith.map(([n, m]) => `${n} (${m.join(', ')})`).join('; ')}`,
    );
  } else {
    const [n, m] = nodesWith[0]!;
    holder = n;
    const missing = g.members.filter((x) => !m.includes(x));
    if (missing.length > 0) problems.push(`group "${group}" on ${n} is incomplete: ${missing.join(', ')} not running`);
  }
  return { group, running, holder: problems.length === 0 ? holder : undefined, problems };
}

async function ipRunning(lab: Lab, node: string, ip: string): Promise<boolean> {
  const r = await runCmd('ip', ['-n', lab.netns(node), '-json', 'addr', 'show']);
  const j = JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string }[] }[];
  return j.some((l) => (l.addr_info ?? []).some((a) => a.local === ip));
}

async function scriptRunning(lab: Lab, node: string, member: string): Promise<boolean> {
  const [type, ...args] = member.split('::');
  const script = `for d in /etc/ha.d/resource.d /etc/init.d; do [ -x "$d/$1" ] && { s="$d/$1"; shift; exec "$s" "$@" status; }; done; echo "no script $1" >&2; exit 5`;
  const r = await lab.exec(node, 'sh', ['-c', script, 'audit', type ?? '', ...args], { timeoutMs: 30_000 });
  return statusSaysRunning(r.stdout);
}

/** Audits every group of `groups` (default: linux1's /etc/ha.d/haresources) across the lab's cluster nodes. */
export async function auditLab(lab: Lab, groups?: readonly AuditGroupSpec[]): Promise<AuditResult> {
  const specs =
    groups ?? parseHaresources(await readFile(lab.hostPath(lab.nodes[0]!, '/etc/ha.d/haresources'), 'utf8'));
  const results: AuditGroupResult[] = [];
  for (const g of specs) {
    const running: Record<string, string[]> = {};
    for (const n of lab.nodes) {
      const here: string[] = [];
      for (const m of g.members) {
        const ip = ipOfMember(m);
        if (ip !== undefined ? await ipRunning(lab, n, ip) : await scriptRunning(lab, n, m)) here.push(m);
      }
      running[n] = here;
    }
    results.push(judgeGroup(g, running));
  }
  return { ok: results.every((r) => r.problems.length === 0), groups: results };
}

/** Labels of `ip` on `node`'s lab interface, from `ip -json addr` (the tutorial's IPaddr shows `eth1:0`). */
export async function vipLabels(lab: Lab, node: string, ip: string): Promise<string[]> {
  const r = await runCmd('ip', ['-n', lab.netns(node), '-json', 'addr', 'show', 'dev', IFACE]);
  const j = JSON.parse(r.stdout || '[]') as { addr_info?: { local?: string; label?: string }[] }[];
  return j.flatMap((l) => (l.addr_info ?? []).filter((a) => a.local === ip).map((a) => a.label ?? ''));
}
