import { Command, CommanderError } from 'commander';
import { isVigilError } from '../util/errors.js';
import { VERSION } from '../util/version.js';

/** Bytes of bytecode per V8 profiler tick in the daemon (V8's default: 67584). */
const V8_INTERRUPT_BUDGET = 8192;

// Subcommands import their modules lazily: `vigil status` must not pay for the lab or the config compiler.
const program = new Command();
program
  .name('vigil')
  .description('High-availability failover for Linux servers (a successor of Linux-HA Heartbeat 3)')
  .version(VERSION)
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

program
  .command('run')
  .description('run the daemon in the foreground (like heartbeat -f)')
  .option('--config-dir <dir>', 'directory holding ha.cf, authkeys and haresources', '/etc/ha.d')
  .option('--node <name>', 'run as this node (default: /etc/ha.d/nodeinfo or uname -n)')
  .option('--pidfile <path>', 'pid file', process.env.VIGIL_PIDFILE ?? '/var/run/vigil.pid')
  .option('--stderr', 'also write log lines to stderr')
  .action(async (opts: { configDir: string; node?: string; pidfile: string; stderr?: boolean }) => {
    // V8 optimises a function once about 200 kB of its bytecode has run (3 ticks of a 66 kB interrupt budget).
    // A busy server gets there in seconds; an idle daemon, whose heartbeat path runs a few times a second, takes
    // hours, and until then every wake-up runs in the slower baseline tier. With an 8 kB budget the heartbeat path
    // is optimised within its first minutes (idle CPU: see bench/RESULTS.md). Set before the daemon's modules
    // load, because a function takes its budget when its feedback is allocated. A budget given to node wins.
    // V8 12 and later (Node 22, and the Node 24 the .deb ships) tier up on invocation counts instead, reaching the
    // heartbeat path after a few hundred calls, and reject this flag.
    const v8Major = Number(process.versions.v8.split('.')[0]);
    if (v8Major <= 11 && !process.execArgv.some((a) => a.startsWith('--interrupt-budget'))) {
      const { setFlagsFromString } = await import('node:v8');
      setFlagsFromString(`--interrupt-budget=${V8_INTERRUPT_BUDGET}`);
    }
    const { runDaemon } = await import('../daemon/main.js');
    const { controlSocketPath } = await import('../control/client.js');
    process.exitCode = await runDaemon({
      configDir: opts.configDir,
      ...(opts.node !== undefined ? { node: opts.node } : {}),
      pidfile: opts.pidfile,
      controlSocket: controlSocketPath(),
      stderr: opts.stderr === true,
    });
    // Sockets, pingers and timers are closed; anything left (a stuck child) must not keep a stopped daemon alive.
    process.exit();
  });

program
  .command('start')
  .description('start the daemon in the background (like /etc/init.d/heartbeat start) and wait until it answers')
  .option('--config-dir <dir>', 'directory holding ha.cf, authkeys and haresources', '/etc/ha.d')
  .option('--timeout <seconds>', 'how long to wait for the daemon to answer', '30')
  .action(async (opts: { configDir: string; timeout: string }) => {
    const { startCommand } = await import('./daemonctl.js');
    process.exitCode = await startCommand(opts);
  });

program
  .command('status')
  .description('show nodes, links, resource groups and who holds what since when')
  .option('--json', 'print the daemon snapshot as JSON')
  .option('--watch', 'refresh every second in a terminal')
  .action(async (opts: { json?: boolean; watch?: boolean }) => {
    const { statusCommand } = await import('./daemonctl.js');
    process.exitCode = await statusCommand(opts);
  });

program
  .command('stop')
  .description('stop the daemon gracefully: its resource groups are handed over to the peer')
  .option('--timeout <seconds>', 'how long to wait for the daemon to exit', '120')
  .action(async (opts: { timeout: string }) => {
    const { stopCommand } = await import('./daemonctl.js');
    process.exitCode = await stopCommand(opts);
  });

program
  .command('reload')
  .description('re-read the configuration (SIGHUP); a bad new configuration is refused and the old one kept')
  .action(async () => {
    const { reloadCommand } = await import('./daemonctl.js');
    process.exitCode = await reloadCommand();
  });

for (const [name, cmd] of [
  ['standby', 'hb_standby'],
  ['takeover', 'hb_takeover'],
] as const) {
  program
    .command(`${name} [which]`)
    .description(`alias of ${cmd} [all|local|foreign|failback]`)
    .action(async (which: string | undefined) => {
      const { standbyTool } = await import('./standby-tool.js');
      process.exitCode = await standbyTool(cmd, which === undefined ? [] : [which]);
    });
}

program
  .command('cleanup [group]')
  .description('clear fail counts, last failures and health-check rulings (of one group, or all): eligible again')
  .action(async (group: string | undefined) => {
    const { cleanupCommand } = await import('./daemonctl.js');
    process.exitCode = await cleanupCommand(group);
  });

program
  .command('fence-ack <node>')
  .description('confirm that NODE was power-cycled by hand (meatware STONITH; Heartbeat: meatclient -c NODE)')
  .action(async (node: string) => {
    const { fenceAckCommand } = await import('./daemonctl.js');
    process.exitCode = await fenceAckCommand(node);
  });

program
  .command('history')
  .description('group transitions from the persistent journal, oldest first, with their reasons')
  .option('--since <when>', 'from this time: ISO 8601, ms since the epoch, or back from now (90s, 15m, 2h, 7d)')
  .option('--group <key>', 'only this resource group')
  .option('--limit <n>', 'at most this many (the newest)', '1000')
  .option('--json', 'one JSON object per line')
  .option('--state-dir <dir>', 'where the journal is when no daemon runs', '/var/lib/heartbeat')
  .action(async (opts: { since?: string; group?: string; limit?: string; json?: boolean; stateDir?: string }) => {
    const { historyCommand } = await import('./observe.js');
    process.exitCode = await historyCommand(opts);
  });

program
  .command('explain [group]')
  .description('why this node holds, or does not hold, each resource group (or one)')
  .option('--json', 'print the explanation as JSON')
  .action(async (group: string | undefined, opts: { json?: boolean }) => {
    const { explainCommand } = await import('./observe.js');
    process.exitCode = await explainCommand(group, opts);
  });

async function main(): Promise<void> {
  // The daemon does not carry the lab's command tree (its options and commander objects stay resident for good).
  if (process.argv[2] !== 'run') {
    const { registerLab } = await import('../../lab/cli.js');
    registerLab(program);
  }
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
