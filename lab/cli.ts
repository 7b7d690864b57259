import { type Command, Option } from 'commander';
import { VigilError } from '../src/util/errors.js';

interface CommonOpts {
  prefix: string;
}

function int(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v))
      throw new VigilError('VIGIL_ERR_USAGE', `${name} must be a whole number of milliseconds/units, got '${v}'`);
    return Number(v);
  };
}

export function registerLab(program: Command): void {
  // `lab exec <host> <cmd...>` passes the command's own options through untouched, which commander allows only
  // with positional options on the parents (the program has no options of its own besides --help/--version).
  program.enablePositionalOptions();
  const lab = program
    .command('lab')
    .enablePositionalOptions()
    .description(
      'a multi-host cluster in network namespaces, with faults, a client prober and Heartbeat/keepalived/Vigil drivers (root)',
    );
  const prefixOpt = () => new Option('--prefix <p>', 'name prefix of the lab (namespaces, directories)').default('vl');

  lab
    .command('up')
    .description('build the lab (removing leftovers of an earlier run with the same prefix)')
    .addOption(prefixOpt())
    .option('--nodes <n>', 'number of cluster nodes (2-16)', int('--nodes'), 2)
    .action(async (o: CommonOpts & { nodes: number }) => {
      const { Lab } = await import('./topology.js');
      const l = await Lab.up({ prefix: o.prefix, nodes: o.nodes });
      process.stdout.write(`lab ${l.prefix} up: ${l.hosts.map((h) => `${h.name} ${h.ip}`).join(', ')}\n`);
    });

  lab
    .command('down')
    .description('tear the lab down: processes, namespaces, bridge, mounts, directories')
    .addOption(prefixOpt())
    .action(async (o: CommonOpts) => {
      const { cleanup, assertRoot } = await import('./topology.js');
      await assertRoot();
      await cleanup(o.prefix);
      process.stdout.write(`lab ${o.prefix} down\n`);
    });

  lab
    .command('status')
    .description('hosts, links, addresses, VIP holder, processes')
    .addOption(prefixOpt())
    .option('--json', 'JSON output')
    .action(async (o: CommonOpts & { json?: boolean }) => {
      const { Lab } = await import('./topology.js');
      const l = await Lab.open(o.prefix);
      const st = await l.status();
      if (o.json === true) {
        process.stdout.write(
          JSON.stringify({ prefix: l.prefix, impl: l.state.impl ?? null, hosts: st }, null, 2) + '\n',
        );
        return;
      }
      process.stdout.write(`lab ${l.prefix}${l.state.impl !== undefined ? ` (impl ${l.state.impl})` : ''}\n`);
      for (const h of st) {
        process.stdout.write(
          `${h.host.padEnd(8)} ${h.role.padEnd(6)} link ${h.link.padEnd(4)} ${h.addrs.join(' ').padEnd(36)} ${h.holdsVip ? 'VIP ' : '    '}${h.procs.join(' ')}\n`,
        );
      }
    });

  lab
    .command('exec')
    .description('run a command inside a host (its network, hostname and mount namespaces)')
    .addOption(prefixOpt())
    .argument('<host>')
    .argument('<cmd...>')
    .passThroughOptions()
    .action(async (host: string, cmd: string[], o: CommonOpts) => {
      const { Lab } = await import('./topology.js');
      const { spawn } = await import('node:child_process');
      const l = await Lab.open(o.prefix);
      const child = spawn('nsenter', [...l.enterArgs(host), ...cmd], { stdio: 'inherit' });
      process.exitCode = await new Promise<number>((resolve) =>
        child.on('exit', (code) => {
          resolve(code ?? 1);
        }),
      );
    });

  registerLabMore(lab, prefixOpt, int);
}

// Filled in below (faults, drivers, scenarios, demo).
function registerLabMore(_lab: Command, _prefixOpt: () => Option, _int: (n: string) => (v: string) => number): void {
  /* later */
}
