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
    .option('--etcd <n>', 'etcd member hosts (0-5), etcd1 = .61...; started with the lab', int('--etcd'), 0)
    .action(async (o: CommonOpts & { nodes: number; etcd: number }) => {
      const { Lab } = await import('./topology.js');
      const l = await Lab.up({ prefix: o.prefix, nodes: o.nodes, etcd: o.etcd });
      if (o.etcd > 0) {
        const { startEtcdCluster } = await import('./etcd.js');
        await startEtcdCluster(l, l.nodes[0] ?? 'router');
      }
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
  registerSoak(lab, prefixOpt, int);
}

function registerSoak(lab: Command, prefixOpt: () => Option, int: (n: string) => (v: string) => number): void {
  lab
    .command('soak')
    .description(
      "false-failover soak: a healthy cluster under CPU burners and periodic standby freezes; counts every VIP move, dual-active, dead declaration and client gap, and samples the daemons' RSS and CPU (--burners 0 --freeze-every 0: idle measurement)",
    )
    .addOption(prefixOpt())
    .requiredOption('--impl <impl>', 'vigil | heartbeat | keepalived')
    .option('--keepalive <ms>', 'keepalive / advert interval, ms', int('--keepalive'), 100)
    .option('--deadtime <ms>', 'deadtime, ms', int('--deadtime'), 500)
    .option('--seconds <s>', 'how long to watch the settled cluster', int('--seconds'), 600)
    .option(
      '--warmup <s>',
      'run the settled cluster this long before watching (idle: skip start-up)',
      int('--warmup'),
      0,
    )
    .option('--burners <n>', 'busy-loop processes per node (normal priority)', int('--burners'), 2)
    .option('--freeze-every <ms>', 'period of the standby freezes (0: none)', int('--freeze-every'), 10_000)
    .option('--freeze-ms <ms>', 'length of each standby freeze (SIGSTOP ... SIGCONT)', int('--freeze-ms'), 300)
    .option('--gap-ms <ms>', 'client gaps longer than this count as outages', int('--gap-ms'), 200)
    .option('--quorum', 'Vigil only: vigil_quorum etcd against a 3-member etcd, one member restarted in turn')
    .option(
      '--etcd-restart-every <ms>',
      'with --quorum: kill -9 one etcd member (round robin) this often',
      int('--etcd-restart-every'),
      60_000,
    )
    .option('--etcd-down-ms <ms>', 'with --quorum: how long the killed member stays down', int('--etcd-down-ms'), 5000)
    .option(
      '--detector <kind>',
      'Vigil only: vigil_detector deadtime | adaptive (default: the directive default, deadtime)',
    )
    .option('--json', 'print the result as JSON (one object)')
    .action(
      async (
        o: CommonOpts & {
          impl: string;
          keepalive: number;
          deadtime: number;
          seconds: number;
          warmup: number;
          burners: number;
          freezeEvery: number;
          freezeMs: number;
          gapMs: number;
          json?: boolean;
          detector?: string;
          quorum?: boolean;
          etcdRestartEvery: number;
          etcdDownMs: number;
        },
      ) => {
        const { runSoak } = await import('./soak.js');
        const { isImpl } = await import('./drivers/index.js');
        const { assertRoot } = await import('./topology.js');
        if (!isImpl(o.impl)) throw new VigilError('VIGIL_ERR_USAGE', `--impl must be vigil, heartbeat or keepalived`);
        if (o.burners > 16) throw new VigilError('VIGIL_ERR_USAGE', '--burners: at most 16 per node');
        if (o.detector !== undefined && o.detector !== 'deadtime' && o.detector !== 'adaptive') {
          throw new VigilError('VIGIL_ERR_USAGE', `--detector must be deadtime or adaptive, got '${o.detector}'`);
        }
        await assertRoot();
        const quiet = o.json === true;
        const r = await runSoak({
          impl: o.impl,
          keepaliveMs: o.keepalive,
          deadtimeMs: o.deadtime,
          prefix: o.prefix,
          durationMs: o.seconds * 1000,
          warmupMs: o.warmup * 1000,
          burnersPerNode: o.burners,
          freezeEveryMs: o.freezeEvery,
          freezeMs: o.freezeMs,
          gapThresholdMs: o.gapMs,
          ...(o.detector !== undefined ? { vigilDetector: o.detector } : {}),
          ...(o.quorum === true ? { quorum: { restartEveryMs: o.etcdRestartEvery, downMs: o.etcdDownMs } } : {}),
          onPhase: quiet ? undefined : (p) => process.stderr.write(`# ${p}\n`),
        });
        if (quiet) process.stdout.write(JSON.stringify(r) + '\n');
        else process.stdout.write(JSON.stringify({ ...r, events: r.events.slice(0, 50) }, null, 2) + '\n');
        process.exitCode = r.error !== null ? 1 : 0;
      },
    );
}

function registerLabMore(lab: Command, prefixOpt: () => Option, int: (n: string) => (v: string) => number): void {
  lab
    .command('start')
    .description('configure and start an implementation on every node (tutorial cluster: linux1 preferred)')
    .addOption(prefixOpt())
    .requiredOption('--impl <impl>', 'vigil | heartbeat | keepalived')
    .option('--keepalive <ms>', 'keepalive / advert interval, ms', int('--keepalive'), 1000)
    .option('--deadtime <ms>', 'deadtime, ms', int('--deadtime'), 10000)
    .option('--no-auto-failback', 'auto_failback off (keepalived: nopreempt)')
    .action(async (o: CommonOpts & { impl: string; keepalive: number; deadtime: number; autoFailback: boolean }) => {
      const { Lab, VIP, VIP_CIDR, IFACE, ROUTER_IP } = await import('./topology.js');
      const { driverFor } = await import('./drivers/index.js');
      const l = await Lab.open(o.prefix);
      const d = driverFor(o.impl);
      await d.checkAvailable();
      await d.configure(l, {
        nodes: l.nodes,
        primary: 'linux1',
        vip: VIP,
        cidr: VIP_CIDR,
        iface: IFACE,
        keepaliveMs: o.keepalive,
        deadtimeMs: o.deadtime,
        autoFailback: o.autoFailback,
        pingIp: ROUTER_IP,
        authKey: 'MaClefSecrete',
      });
      l.state.impl = d.impl;
      await l.saveState();
      for (const n of l.nodes) await d.start(l, n);
      process.stdout.write(`${d.impl} started on ${l.nodes.join(', ')}\n`);
    });

  lab
    .command('fault')
    .description(
      'inject a fault: kill | freeze | poweroff | poweron | linkdown | linkup | partition | heal | stop | start',
    )
    .addOption(prefixOpt())
    .argument('<verb>')
    .argument('<host>')
    .option('--ms <ms>', 'freeze duration', int('--ms'), 5000)
    .option('--impl <impl>', 'daemon the fault acts on (default: the one started in the lab)')
    .action(async (verb: string, host: string, o: CommonOpts & { ms: number; impl?: string }) => {
      const { Lab } = await import('./topology.js');
      const { driverFor } = await import('./drivers/index.js');
      const f = await import('./faults.js');
      const l = await Lab.open(o.prefix);
      l.host(host);
      const impl = o.impl ?? l.state.impl;
      const drv = () => {
        if (impl === undefined)
          throw new VigilError('VIGIL_ERR_USAGE', 'no implementation started in this lab: pass --impl');
        return driverFor(impl);
      };
      let t: number;
      switch (verb) {
        case 'kill':
          t = await f.killDaemon(l, drv(), host);
          break;
        case 'freeze': {
          const r = await f.freezeDaemon(l, drv(), host, o.ms);
          t = r.t;
          await r.resumed;
          break;
        }
        case 'poweroff':
          t = await f.powerOff(l, host);
          break;
        case 'poweron':
          t = await f.powerOn(l, host, impl === undefined ? undefined : driverFor(impl));
          break;
        case 'linkdown':
          t = await f.linkDown(l, host);
          break;
        case 'linkup':
          t = await f.linkUp(l, host);
          break;
        case 'partition':
          t = await f.partition(l, host);
          break;
        case 'heal':
          t = await f.heal(l, host);
          break;
        case 'isolate':
          t = await f.isolate(l, host);
          break;
        case 'stop':
          t = await f.stopDaemon(l, drv(), host);
          break;
        case 'start':
          t = await f.startDaemon(l, drv(), host);
          break;
        default:
          throw new VigilError('VIGIL_ERR_USAGE', `unknown fault '${verb}' (${f.FAULT_VERBS.join(', ')})`);
      }
      process.stdout.write(`${verb} ${host} at ${new Date(t).toISOString()}\n`);
    });

  lab
    .command('run')
    .description(
      'run one scenario on a fresh lab and print its result: kill | freeze | poweroff | partition | stop | failback | standby | hostile | geo-dns | geo-bgp',
    )
    .addOption(prefixOpt())
    .argument('<scenario>')
    .requiredOption('--impl <impl>', 'vigil | heartbeat | keepalived')
    .option('--keepalive <ms>', 'keepalive / advert interval, ms', int('--keepalive'), 1000)
    .option('--deadtime <ms>', 'deadtime, ms', int('--deadtime'), 10000)
    .option('--nodes <n>', 'number of cluster nodes (2-16)', int('--nodes'), 2)
    .option('--no-auto-failback', 'auto_failback off (keepalived: nopreempt)')
    .option('--keep', 'leave the lab up afterwards')
    .option(
      '--detector <kind>',
      'Vigil only: vigil_detector deadtime | adaptive (default: the directive default, deadtime)',
    )
    .option('--json', 'print the result as JSON (one object)')
    .option('--fault <f>', 'geo-dns, geo-bgp: poweroff | standby | partition', 'poweroff')
    .option('--ttl <s>', "geo-dns: the record's TTL, s", int('--ttl'), 5)
    .option('--loss <permille>', 'geo-dns, geo-bgp: random loss in the router, per mille', int('--loss'), 0)
    .option(
      '--quorum',
      'Vigil only: vigil_quorum etcd against a 3-member etcd on three more lab hosts (geo-*: one etcd in a witness site)',
    )
    .option(
      '--family <f>',
      'the group: v4 (the tutorial), v6 (IPv6 only: VIP, mcast6, ping6) or dual (both VIPs); geo-bgp: v4 or v6 (the /128)',
      'v4',
    )
    .option('--probe6-ms <ms>', 'the IPv6 prober interval (default 10)', int('--probe6-ms'))
    .option('--pps <n>', 'hostile: packets per second of the flood (each reaches both nodes)', int('--pps'), 5000)
    .option('--flood-seconds <s>', 'hostile: how long the flood lasts', int('--flood-seconds'), 20)
    .option('--classes <list>', 'hostile: comma-separated packet classes of the mix (default: all)')
    .option('--max-bomb-mib <n>', 'hostile: what one zlib bomb may ask to inflate, MiB', int('--max-bomb-mib'), 64)
    .action(
      async (
        scenario: string,
        o: CommonOpts & {
          impl: string;
          keepalive: number;
          deadtime: number;
          nodes: number;
          autoFailback: boolean;
          keep?: boolean;
          json?: boolean;
          detector?: string;
          quorum?: boolean;
          family: string;
          probe6Ms?: number;
          pps: number;
          floodSeconds: number;
          classes?: string;
          maxBombMib: number;
          fault: string;
          ttl: number;
          loss: number;
        },
      ) => {
        if (scenario === 'geo-dns' || scenario === 'geo-bgp') {
          await runGeoCli(scenario, o);
          return;
        }
        if (scenario === 'hostile') {
          if (o.detector !== undefined && o.detector !== 'deadtime' && o.detector !== 'adaptive')
            throw new VigilError('VIGIL_ERR_USAGE', `--detector must be deadtime or adaptive, got '${o.detector}'`);
          await runHostileCli({ ...o, detector: o.detector });
          return;
        }
        const { runScenario, ALL_SCENARIOS: SCENARIOS, FAMILIES } = await import('./scenario.js');
        const { isImpl } = await import('./drivers/index.js');
        const { assertRoot, checkNodes } = await import('./topology.js');
        if (!(SCENARIOS as readonly string[]).includes(scenario)) {
          throw new VigilError('VIGIL_ERR_USAGE', `unknown scenario '${scenario}' (${SCENARIOS.join(', ')})`);
        }
        if (!isImpl(o.impl)) throw new VigilError('VIGIL_ERR_USAGE', `--impl must be vigil, heartbeat or keepalived`);
        checkNodes(o.nodes);
        const family = FAMILIES.find((f) => f === o.family);
        if (family === undefined) throw new VigilError('VIGIL_ERR_USAGE', `--family must be ${FAMILIES.join(', ')}`);
        if (o.detector !== undefined && o.detector !== 'deadtime' && o.detector !== 'adaptive') {
          throw new VigilError('VIGIL_ERR_USAGE', `--detector must be deadtime or adaptive, got '${o.detector}'`);
        }
        await assertRoot();
        const quiet = o.json === true;
        const r = await runScenario({
          impl: o.impl,
          scenario: scenario as (typeof SCENARIOS)[number],
          keepaliveMs: o.keepalive,
          deadtimeMs: o.deadtime,
          nodes: o.nodes,
          prefix: o.prefix,
          autoFailback: o.autoFailback,
          keep: o.keep === true,
          quorum: o.quorum === true,
          ...(o.detector !== undefined ? { vigilDetector: o.detector } : {}),
          family,
          ...(o.probe6Ms !== undefined ? { probe6Ms: o.probe6Ms } : {}),
          onPhase: quiet ? undefined : (p) => process.stderr.write(`# ${p}\n`),
        });
        if (quiet) process.stdout.write(JSON.stringify(r) + '\n');
        else {
          const { formatResult } = await import('./report.js');
          process.stdout.write(formatResult(r));
        }
        process.exitCode = r.error !== null ? 1 : 0;
      },
    );

  lab
    .command('demo')
    .description('the narrated tutorial demo: linux1 powered off, linux2 takes over, linux1 back, failback')
    .addOption(prefixOpt())
    .option('--impl <impl>', 'vigil | heartbeat | keepalived', 'vigil')
    .option('--keepalive <ms>', 'keepalive, ms', int('--keepalive'), 1000)
    .option('--deadtime <ms>', 'deadtime, ms', int('--deadtime'), 10000)
    .action(async (o: CommonOpts & { impl: string; keepalive: number; deadtime: number }) => {
      const { runDemo } = await import('./demo.js');
      process.exitCode = await runDemo(o);
    });
}

async function runGeoCli(
  scenario: 'geo-dns' | 'geo-bgp',
  o: CommonOpts & { impl: string; keepalive: number; deadtime: number; keep?: boolean; json?: boolean } & {
    fault: string;
    ttl: number;
    loss: number;
    family: string;
    quorum?: boolean;
  },
): Promise<void> {
  const { runGeoScenario, GEO_FAULTS } = await import('./scenario-geo.js');
  const { assertRoot } = await import('./topology.js');
  if (o.impl !== 'vigil') throw new VigilError('VIGIL_ERR_USAGE', `${scenario} runs Vigil only (--impl vigil)`);
  const fault = GEO_FAULTS.find((f) => f === o.fault);
  if (fault === undefined) throw new VigilError('VIGIL_ERR_USAGE', `--fault must be ${GEO_FAULTS.join(', ')}`);
  if (o.family !== 'v4' && !(o.family === 'v6' && scenario === 'geo-bgp'))
    throw new VigilError('VIGIL_ERR_USAGE', `${scenario} takes --family v4${scenario === 'geo-bgp' ? ' or v6' : ''}`);
  await assertRoot();
  const quiet = o.json === true;
  const r = await runGeoScenario({
    scenario,
    fault,
    keepaliveMs: o.keepalive,
    deadtimeMs: o.deadtime,
    prefix: o.prefix,
    ttlSec: o.ttl,
    lossPermille: o.loss,
    family: o.family === 'v6' ? 6 : 4,
    witness: o.quorum === true,
    keep: o.keep === true,
    onPhase: quiet ? undefined : (p) => process.stderr.write(`# ${p}\n`),
  });
  if (quiet) process.stdout.write(JSON.stringify(r) + '\n');
  else {
    const { events, ...numbers } = r;
    for (const e of events)
      process.stdout.write(`${e.rel_ms.toFixed(1).padStart(9)} ms  ${e.source.padEnd(7)} ${e.kind}: ${e.detail}\n`);
    for (const [k, v] of Object.entries(numbers)) process.stdout.write(`${k}: ${JSON.stringify(v)}\n`);
  }
  process.exitCode = r.error !== null || !r.converged ? 1 : 0;
}

async function runHostileCli(o: {
  prefix: string;
  impl: string;
  keepalive: number;
  deadtime: number;
  nodes: number;
  keep?: boolean;
  json?: boolean;
  pps: number;
  floodSeconds: number;
  classes?: string;
  maxBombMib: number;
  detector?: 'deadtime' | 'adaptive';
}): Promise<void> {
  const { runHostile, formatHostile } = await import('./hostile.js');
  const { HOSTILE_CLASSES, isHostileClass } = await import('./hostile-packets.js');
  const { assertRoot } = await import('./topology.js');
  if (o.impl !== 'vigil' && o.impl !== 'heartbeat')
    throw new VigilError('VIGIL_ERR_USAGE', 'hostile: --impl must be vigil or heartbeat');
  if (o.nodes !== 2) throw new VigilError('VIGIL_ERR_USAGE', 'hostile: the tutorial cluster has 2 nodes');
  const classes = o.classes?.split(',').map((c) => c.trim());
  for (const c of classes ?? []) {
    if (!isHostileClass(c))
      throw new VigilError('VIGIL_ERR_USAGE', `--classes: unknown class '${c}' (${HOSTILE_CLASSES.join(', ')})`);
  }
  await assertRoot();
  const quiet = o.json === true;
  const r = await runHostile({
    impl: o.impl,
    keepaliveMs: o.keepalive,
    deadtimeMs: o.deadtime,
    prefix: o.prefix,
    pps: o.pps,
    seconds: o.floodSeconds,
    ...(classes !== undefined ? { classes: classes.filter(isHostileClass) } : {}),
    maxBombMiB: o.maxBombMib,
    ...(o.detector !== undefined ? { vigilDetector: o.detector } : {}),
    keep: o.keep === true,
    onPhase: quiet ? undefined : (p) => process.stderr.write(`# ${p}\n`),
  });
  process.stdout.write(quiet ? JSON.stringify(r) + '\n' : formatHostile(r));
  // 0: every criterion passed; 1: some failed; 2: the run itself failed.
  process.exitCode = r.error !== null ? 2 : r.pass ? 0 : 1;
}
