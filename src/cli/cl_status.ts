import { hostname } from 'node:os';
import type { NodeView, StatusSnapshot } from '../control/protocol.js';
import { isDenied, toolError, tryRequest } from './tool-common.js';

// cl_status as shipped with Heartbeat 3.0.6: same sub-commands, output and exit codes, answered from
// Vigil's control socket. Exit codes checked against the real binary: 0 OK, 1 failure (including
// "Cannot signon with heartbeat"), 11 for an invalid sub-command, 0 for the usage text.
process.env.HOSTNAME ??= hostname();

const USAGE = `Usage: cl_status <sub-command> [<options>] [<parameters>]

Sub-commands:
clientstatus <node-name> <client-id> [<timeout>]
\tShow the status of heartbeat clients.
hblinkstatus <node-name> <link-name>
\tShow the status of a heartbeat link
hbstatus
\tIndicate if heartbeat is running on the local system.
\tOptions:
\t\t-v\tverbose: also add "listnodes -v" output
listnodes [<option>]
\tList the nodes in the cluster.
\tOptions:
\t\t-p\tlist only 'ping' type nodes
\t\t-n\tlist only 'normal' type nodes
\t\t-v\tverbose: also list type and status,
\t\t\tthen add "listhblinks -v" output
listhblinks <node-name>
\tList the network interfaces used as hearbeat links.
\tOptions:
\t\t-v\tverbose: list link status as well
nodestatus <node-name>
\tList the node status.
nodeweight <node-name>
\tList the node weight.
nodesite <node-name>
\tList the node site.
nodetype <node-name>
\tList the nodes of a given type.
rscstatus
\tShow the status of cluster resources.
hbparameter -p <parameter-name>
\tRetrieve the value of a cluster parameter.
\tAs for the valid parameter names, please refer to the man page.
`;

const SUBCOMMANDS = new Set([
  'clientstatus',
  'hblinkstatus',
  'hbstatus',
  'listnodes',
  'listhblinks',
  'nodestatus',
  'nodeweight',
  'nodesite',
  'nodetype',
  'rscstatus',
  'hbparameter',
]);

const out = (s: string): void => {
  process.stdout.write(s + '\n');
};

const HUMAN_RSC: Record<string, string> = {
  none: 'This node is holding none resources.',
  local: 'This node is holding local resources.',
  foreign: 'This node is holding foreign resources.',
  all: 'This node is holding all resources.',
  transition: 'This node is in transition.',
};

async function main(argv: string[]): Promise<number> {
  // Options may come before or after the sub-command, as getopt permutes them.
  const flags = new Set<string>();
  const params: string[] = [];
  let paramName: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '-p' && argv[0] === 'hbparameter') {
      paramName = argv[++i];
    } else if (/^-[a-z]+$/.test(a)) {
      for (const f of a.slice(1)) flags.add(f);
    } else {
      params.push(a);
    }
  }
  const sub = params.shift();
  if (sub === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!SUBCOMMANDS.has(sub)) {
    toolError('cl_status', `${sub}: invalid sub-command.`);
    return 11;
  }
  const human = flags.has('m');

  const resp = await tryRequest({ cmd: 'status' });
  if (resp !== undefined && !resp.ok && isDenied(resp)) {
    // The daemon runs; this user may not ask it. Heartbeat words a refused signon so; never "stopped".
    if (sub !== 'hbstatus') toolError('cl_status', 'Cannot signon with heartbeat');
    toolError('cl_status', sub === 'hbstatus' ? resp.message : `REASON: ${resp.message}`);
    return 1;
  }
  if (sub === 'hbstatus') {
    if (resp?.ok === true) {
      out('Heartbeat is running on this machine.');
      return 0;
    }
    out('Heartbeat is stopped on this machine.');
    return 1;
  }
  if (resp === undefined) {
    toolError('cl_status', 'Cannot signon with heartbeat');
    toolError('cl_status', "REASON: hb_api_signon: Can't initiate connection to heartbeat");
    return 1;
  }
  if (!resp.ok) {
    toolError('cl_status', resp.message);
    return 1;
  }
  const snap = resp.result as StatusSnapshot;
  const node = (name: string | undefined) => snap.nodes.find((n) => n.name === name?.toLowerCase());
  // Heartbeat's messages and codes, recorded from the real cl_status (test/lab/cl-status-compare.test.ts): a
  // missing parameter or an unknown node is a bare line on stderr and exit 11; a failed API call is logged
  // with its REASON and exits 13 (link walk/status) or 1 (parameter).
  const bare = (text: string): number => {
    process.stderr.write(`${text}\n`);
    return 11;
  };
  const apiFailed = (text: string, reason: string, code: number): number => {
    toolError('cl_status', text);
    toolError('cl_status', `REASON: ${reason}`);
    return code;
  };
  const NO_PARAM = 'No enough parameter.';
  const BAD_NODE = 'Error. May be due to incorrect node name';
  /** A ping node's one "link" is the ping node itself, named by its address, up while it answers. */
  const linksOf = (n: NodeView): NodeView['links'] =>
    n.type === 'ping' && n.links.length === 0
      ? [{ name: n.name, status: n.status === 'ping' ? 'up' : 'dead' }]
      : n.links;

  switch (sub) {
    case 'listnodes': {
      for (const n of listOrder(snap)) {
        if (flags.has('n') && n.type !== 'normal') continue;
        if (flags.has('p') && n.type !== 'ping') continue;
        out(n.name);
      }
      return 0;
    }
    case 'nodestatus': {
      if (params[0] === undefined) return bare('Not enough parameters.');
      const n = node(params[0]);
      if (n === undefined) return bare(BAD_NODE);
      out(human ? `Node ${n.name} is ${n.status}.` : n.status);
      return n.status === 'active' || n.status === 'up' || n.status === 'ping' ? 0 : 1;
    }
    case 'nodetype': {
      if (params[0] === undefined) return bare(NO_PARAM);
      const n = node(params[0]);
      if (n === undefined) return bare(BAD_NODE);
      out(n.type);
      return 0;
    }
    case 'nodeweight': {
      if (params[0] === undefined) return bare('Not enough parameters.');
      if (node(params[0]) === undefined) return bare('Error. Maybe due to incorrect node name.');
      out('100');
      return 0;
    }
    case 'nodesite': {
      if (params[0] === undefined) return bare('Not enough parameters.');
      // Not nodeweight's wording: the real tool words the two differently.
      if (node(params[0]) === undefined) return bare(BAD_NODE);
      out('');
      return 0;
    }
    case 'listhblinks': {
      if (params[0] === undefined) return bare(NO_PARAM);
      const n = node(params[0]);
      if (n === undefined) return apiFailed('Cannot start heartbeat link interface walk.', 'EINVAL', 13);
      for (const l of linksOf(n)) out(flags.has('v') ? `\t${l.name}\t${l.status}` : `\t${l.name}`);
      return 0;
    }
    case 'hblinkstatus': {
      if (params[0] === undefined || params[1] === undefined) return bare(NO_PARAM);
      const n = node(params[0]);
      const l = n === undefined ? undefined : linksOf(n).find((x) => x.name === params[1]);
      if (l === undefined) return apiFailed('Cannot get heartbeat link status', '', 13);
      out(l.status);
      return l.status === 'up' ? 0 : 1;
    }
    case 'clientstatus': {
      if (params[0] === undefined || params[1] === undefined) return bare(NO_PARAM);
      const n = node(params[0]);
      // Heartbeat asks the node and, from a node it does not know, gets no answer.
      if (n === undefined)
        return apiFailed(`Cannot get heartbeat client ${params[1]}'s status`, 'No timely response.', 13);
      const st = n.clients[params[1]] ?? 'offline';
      out(st);
      return { online: 0, offline: 1, join: 2, leave: 3 }[st];
    }
    case 'rscstatus': {
      out(human ? (HUMAN_RSC[snap.rscstatus] ?? snap.rscstatus) : snap.rscstatus);
      return 0;
    }
    case 'hbparameter': {
      if (paramName === undefined) {
        toolError('cl_status', 'parameter name required');
        return 11;
      }
      const v = snap.parameters[paramName];
      if (v === undefined) return apiFailed(`Cannot get parameter ${paramName}'s value`, '', 1);
      out(v);
      return 0;
    }
    default:
      return 11;
  }
}

/** Heartbeat's API order (see heartbeatNodeOrder); an older daemon's snapshot: the reverse of its own order. */
function listOrder(snap: StatusSnapshot): NodeView[] {
  const order = snap.listOrder;
  if (order === undefined) return [...snap.nodes].reverse();
  const rank = (n: NodeView): number => {
    const i = order.indexOf(n.name);
    return i < 0 ? order.length : i;
  };
  return [...snap.nodes].sort((a, b) => rank(a) - rank(b));
}

process.exitCode = await main(process.argv.slice(2));
