import { Command, CommanderError } from 'commander';
import { isVigilError } from '../util/errors.js';

// Subcommands import their modules lazily: `vigil status` must not pay for the lab or the config compiler.
const program = new Command();
program
  .name('vigil')
  .description('High-availability failover for Linux servers (a successor of Linux-HA Heartbeat 3)')
  .version('0.1.0')
  .exitOverride();

program
  .command('check')
  .description('validate /etc/ha.d (ha.cf, authkeys, haresources) as Heartbeat would, then lint it')
  .option('--config-dir <dir>', 'directory holding ha.cf, authkeys and haresources', '/etc/ha.d')
  .option('--node <name>', 'check as this node (default: /etc/ha.d/nodeinfo or uname -n)')
  .option('--compare <dir>', "a peer's copy of the configuration to compare haresources and authkeys against")
  .option('--json', 'print the result as JSON')
  .action(async (opts: { configDir: string; node?: string; compare?: string; json?: boolean }) => {
    const { runCheck } = await import('./check.js');
    process.exitCode = await runCheck(opts);
  });

async function main(): Promise<void> {
  const { registerLab } = await import('../../lab/cli.js');
  registerLab(program);
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its message; keep its exit code (0 for --help/--version) but map errors to 2.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (isVigilError(e)) {
      process.stderr.write(`vigil: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

await main();
