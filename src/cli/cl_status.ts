import { hostname } from 'node:os';
import type { StatusSnapshot } from '../control/protocol.js';
import { toolError, tryRequest } from './tool-common.js';

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
  const needNode = (name: string | undefined) => {
    const n = node(name);
    if (n === undefined) toolError('cl_status', `Cannot get ${sub} for node ${name ?? ''}`);
    return n;
  };

  switch (sub) {
    case 'listnodes': {
      for (const n of snap.nodes) {
        if (flags.has('n') && n.type !== 'normal') continue;
        if (flags.has('p') && n.type !== 'ping') continue;
        out(n.name);
      }
      return 0;
    }
    case 'nodestatus': {
      const n = needNode(params[0]);
      if (n === undefined) return 1;
      out(human ? `Node ${n.name} is ${n.status}.` : n.status);
      return n.status === 'active' || n.status === 'up' || n.status === 'ping' ? 0 : 1;
    }
    case 'nodetype': {
      const n = needNode(params[0]);
      if (n === undefined) return 1;
      out(n.type);
      return 0;
    }
    case 'nodeweight': {
      if (needNode(params[0]) === undefined) return 1;
      out('100');
      return 0;
    }
    case 'nodesite': {
      if (needNode(params[0]) === undefined) return 1;
      out('');
      return 0;
    }
    case 'listhblinks': {
      const n = needNode(params[0]);
      if (n === undefined) return 1;
      for (const l of n.links) out(flags.has('v') ? `\t${l.name}\t${l.status}` : `\t${l.name}`);
      return 0;
    }
    case 'hblinkstatus': {
      const n = needNode(params[0]);
      if (n === undefined) return 1;
      const l = n.links.find((x) => x.name === params[1]);
      if (l === undefined) {
        toolError('cl_status', `Cannot get link status of ${params[1] ?? ''} for node ${n.name}`);
        return 1;
      }
      out(l.status);
      return l.status === 'up' ? 0 : 1;
    }
    case 'clientstatus': {
      const n = needNode(params[0]);
      if (n === undefined) return 1;
      const st = n.clients[params[1] ?? ''] ?? 'offline';
      out(st);
      return { online: 0, offline: 1, join: 2, leave: 3 }[st];
    }
    case 'rscstatus': {
      out(human ? (HUMAN_RSC[snap.rscstatus] ?? snap.rscstatus) : snap.rscstatus);
      return 0;
    }
    case 'hbparameter': {
      if (paramName === undefined) {
        process.stdout.write(USAGE);
        return 2;
      }
      const v = snap.parameters[paramName];
      if (v === undefined) {
        toolError('cl_status', `Cannot get parameter ${paramName}`);
        return 1;
      }
      out(v);
      return 0;
    }
    default:
      return 11;
  }
}

process.exitCode = await main(process.argv.slice(2));
