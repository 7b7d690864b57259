/**
 * cl_status, hb_standby and hb_takeover compared with the real tools: a cluster of two real Heartbeat 3.0.6 nodes
 * is put through a series of situations in the lab and the real /usr/bin/cl_status (and the real hb_standby /
 * hb_takeover scripts) are run in each; their output and exit codes are recorded live on every run, never copied
 * into the test. A Vigil cluster, in a second lab run side by side, goes through the same situations with the
 * same /etc/ha.d files, and Vigil's tools must print the same and exit the same, except where DELIBERATE below
 * says why not (hb_standby / hb_takeover with no daemon running).
 *
 * Situations: both nodes up (each holds its own group: `local`), after `hb_standby` (one holds `none`, the other
 * `all`), after `hb_takeover`, after `hb_standby local` while holding all (both hold the other's group:
 * `foreign`), and with the peer powered off (`dead`, `all`), plus the tools on a node with no daemon.
 *
 * What is compared: stdout exactly; the exit code exactly; stderr with the time stamp, host name and pid of the
 * `Mon DD HH:MM:SS host cl_status: [pid]:` prefix masked. Heartbeat's own "transition" states are not compared:
 * when they show up is a race in both implementations.
 *
 * Timing: keepalive 200 ms, deadtime 2 s (Heartbeat is happy with them in the lab); every situation is recorded
 * once the VIPs are where they belong, 3 s more have passed (Heartbeat's ping node status needs a round of its
 * 1 s pings) and no live node answers `rscstatus` with `transition` (the real Heartbeat sometimes stays there for
 * seconds after the VIPs moved). Bounds are generous: 2 shared cores. The file took 124-153 s here.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HA_LOGFILE } from '../../lab/drivers/common.js';
import { HeartbeatDriver } from '../../lab/drivers/heartbeat.js';
import type { Driver } from '../../lab/drivers/types.js';
import { runCmd, sleep, waitFor } from '../../lab/exec.js';
import * as faults from '../../lab/faults.js';
import { cleanup, IFACE, Lab, ROUTER_IP } from '../../lab/topology.js';
import { leftovers, needRoot } from './helpers.js';
import { DEBUGFILE, logOf, missing, vigil, vrtPrefix, writeCluster } from './rsc-lab.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const hb = new HeartbeatDriver();
const VIP1 = '192.168.1.50';
const VIP2 = '192.168.1.51';
const REAL = {
  cl_status: '/usr/bin/cl_status',
  hb_standby: '/usr/share/heartbeat/hb_standby',
  hb_takeover: '/usr/share/heartbeat/hb_takeover',
} as const;
type Tool = keyof typeof REAL;
type Impl = 'heartbeat' | 'vigil';

interface Out {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/**
 * Masks what differs between any two runs: time stamp, host name and pid of a tool's log prefix, hb_standby's
 * `date` stamp, and the tool's path (the real scripts print their `$0`).
 */
function normalize(s: string): string {
  return s
    .replace(/^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d (?=Going standby)/gm, '<date> ')
    .replace(/^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ (\S+): \[\d+\]: /gm, '<stamp> $1: [pid]: ')
    .replace(/\/usr\/share\/heartbeat\/(hb_standby|hb_takeover)/g, '$1')
    .replace(/\S*\/dist\/src\/cli\/(hb_standby|hb_takeover|cl_status)\.js/g, '$1');
}

async function run(lab: Lab, host: string, impl: Impl, tool: Tool, args: readonly string[]): Promise<Out> {
  const r =
    impl === 'heartbeat'
      ? await lab.exec(host, REAL[tool], args, { timeoutMs: 30_000 })
      : await lab.exec(host, process.execPath, [`${REPO}dist/src/cli/${tool}.js`, ...args], { timeoutMs: 30_000 });
  return { stdout: normalize(r.stdout), stderr: normalize(r.stderr), code: r.code };
}

/** Every sub-command of reference §6, good and bad parameters, asked on one node. */
const MATRIX: readonly (readonly string[])[] = [
  [],
  ['bogus'],
  ['hbstatus'],
  ['listnodes'],
  ['listnodes', '-n'],
  ['listnodes', '-p'],
  ['nodestatus', 'linux1'],
  ['nodestatus', 'linux2'],
  ['nodestatus', ROUTER_IP],
  ['nodestatus', 'nosuchnode'],
  ['nodestatus'],
  ['nodetype', 'linux2'],
  ['nodetype', ROUTER_IP],
  ['nodetype', 'nosuchnode'],
  ['nodetype'],
  ['listhblinks', 'linux2'],
  ['listhblinks', ROUTER_IP],
  ['listhblinks', 'nosuchnode'],
  ['listhblinks'],
  ['hblinkstatus', 'linux2', IFACE],
  ['hblinkstatus', ROUTER_IP, ROUTER_IP],
  ['hblinkstatus', 'linux2', 'eth9'],
  ['hblinkstatus', 'linux2'],
  ['clientstatus', 'linux2', 'ipfail'],
  ['clientstatus', 'linux2'],
  ['clientstatus', 'nosuchnode', 'ipfail'],
  ['hblinkstatus', 'nosuchnode', IFACE],
  ['hbparameter', '-p', 'keepalive'],
  ['hbparameter', '-p', 'deadtime'],
  ['hbparameter', '-p', 'initdead'],
  ['hbparameter', '-p', 'auto_failback'],
  ['hbparameter', '-p', 'nosuchparameter'],
  ['hbparameter'],
  ['rscstatus'],
  ['rscstatus', '-m'],
  ['nodeweight', 'linux2'],
  ['nodesite', 'linux2'],
  ['nodeweight', 'nosuchnode'],
  ['nodesite', 'nosuchnode'],
  ['nodeweight'],
  ['nodesite'],
];
/** The rows whose answer depends on the peer's state (the rest were asked with both nodes up). */
const PEER_ROWS = MATRIX.filter(
  (a) =>
    (['listnodes', 'rscstatus'].includes(a[0] ?? '') ||
      (a.length > 1 && ['nodestatus', 'listhblinks', 'hblinkstatus', 'clientstatus'].includes(a[0] ?? ''))) &&
    !a.includes('nosuchnode'),
);
const RSC: readonly (readonly string[])[] = [
  ['rscstatus'],
  ['rscstatus', '-m'],
  ['nodestatus', 'linux1'],
  ['nodestatus', 'linux2'],
  ['listnodes'],
];

async function holders(lab: Lab, vip: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of lab.nodes) {
    const r = await runCmd('ip', ['-n', lab.netns(n), '-4', '-o', 'addr', 'show', 'dev', IFACE]);
    if (r.stdout.includes(` ${vip}/`)) out.push(n);
  }
  return out;
}

async function placed(lab: Lab, impl: Impl, want: Record<string, string>, live = lab.nodes): Promise<void> {
  let last = '';
  try {
    await waitFor(`${impl}: VIPs at ${JSON.stringify(want)}`, 60_000, async () => {
      const got: Record<string, string> = {};
      for (const vip of Object.keys(want)) got[vip] = (await holders(lab, vip)).join('+');
      last = JSON.stringify(got);
      return Object.keys(want).every((v) => got[v] === want[v]) ? true : undefined;
    });
    // Ping node rounds and the end of the standby hand-shake (see the header); then every live node must have
    // left `transition` (the real Heartbeat sometimes stays there for seconds after the VIPs moved).
    await sleep(3000);
    await waitFor(
      `${impl}: rscstatus out of transition`,
      30_000,
      async () => {
        const words: string[] = [];
        for (const n of live) words.push((await run(lab, n, impl, 'cl_status', ['rscstatus'])).stdout.trim());
        last = `rscstatus ${words.join(', ')}`;
        return words.includes('transition') ? undefined : true;
      },
      500,
    );
  } catch (e) {
    let tails = '';
    for (const n of lab.nodes) tails += `\n--- ${n} ---\n${(await logOf(lab, n)).split('\n').slice(-25).join('\n')}`;
    throw new Error(`${e instanceof Error ? e.message : String(e)} (last ${last})${tails}`, { cause: e });
  }
}

/** One implementation through every situation; the result maps `situation | host | tool args` to what it printed. */
async function situations(lab: Lab, impl: Impl): Promise<Map<string, Out>> {
  const d: Driver = impl === 'heartbeat' ? hb : vigil;
  const rec = new Map<string, Out>();
  const ask = async (situation: string, host: string, tool: Tool, args: readonly string[]): Promise<void> => {
    rec.set(`${situation} | ${host} | ${tool} ${args.join(' ')}`.trim(), await run(lab, host, impl, tool, args));
  };
  const matrix = async (situation: string, host: string, rows: readonly (readonly string[])[]): Promise<void> => {
    for (const args of rows) await ask(situation, host, 'cl_status', args);
  };
  for (const n of lab.nodes) {
    for (const p of [HA_LOGFILE, DEBUGFILE]) await rm(lab.hostPath(n, p), { force: true });
    await lab.resetRun(n);
  }
  await writeCluster(lab, {
    haresources: `linux1 IPaddr::${VIP1}/24/${IFACE}\nlinux2 IPaddr::${VIP2}/24/${IFACE}\n`,
    autoFailback: true,
    // Heartbeat pings once a second whatever keepalive is: a deadping under 3 s makes the ping node flap.
    extra: [`ping ${ROUTER_IP}`, 'deadping 3'],
  });
  try {
    // No daemon yet: what the tools say on a node where Heartbeat is stopped.
    await ask('stopped', 'linux1', 'cl_status', ['hbstatus']);
    await ask('stopped', 'linux1', 'cl_status', ['rscstatus']);
    await ask('stopped', 'linux1', 'cl_status', ['bogus']);
    await ask('stopped', 'linux1', 'hb_standby', ['bogus']);
    await ask('stopped', 'linux1', 'hb_standby', ['all', 'local']);
    await ask('stopped', 'linux1', 'hb_takeover', ['bogus']);
    await ask('stopped', 'linux1', 'hb_standby', ['--help']);
    await ask('stopped', 'linux1', 'hb_takeover', ['--help']);
    await ask('stopped', 'linux1', 'hb_standby', []);
    await ask('stopped', 'linux1', 'hb_takeover', ['all']);
    await ask('stopped', 'linux1', 'cl_status', ['listnodes']);

    await Promise.all([d.start(lab, 'linux1'), d.start(lab, 'linux2')]);
    await placed(lab, impl, { [VIP1]: 'linux1', [VIP2]: 'linux2' });
    await matrix('both up', 'linux1', MATRIX);
    await matrix('both up', 'linux2', RSC);

    await ask('standby', 'linux1', 'hb_standby', []);
    await placed(lab, impl, { [VIP1]: 'linux2', [VIP2]: 'linux2' });
    await matrix('after hb_standby on linux1', 'linux1', RSC);
    await matrix('after hb_standby on linux1', 'linux2', RSC);

    await ask('takeover', 'linux1', 'hb_takeover', ['all']);
    await placed(lab, impl, { [VIP1]: 'linux1', [VIP2]: 'linux1' });
    await matrix('after hb_takeover all on linux1', 'linux1', RSC);
    await matrix('after hb_takeover all on linux1', 'linux2', RSC);

    await ask('standby local', 'linux1', 'hb_standby', ['local']);
    await placed(lab, impl, { [VIP1]: 'linux2', [VIP2]: 'linux1' });
    await matrix('after hb_standby local on linux1 holding all', 'linux1', RSC);
    await matrix('after hb_standby local on linux1 holding all', 'linux2', RSC);

    await faults.powerOff(lab, 'linux2');
    await placed(lab, impl, { [VIP1]: 'linux1', [VIP2]: 'linux1' }, ['linux1']);
    await matrix('linux2 powered off', 'linux1', PEER_ROWS);
    await ask('linux2 powered off', 'linux2', 'cl_status', ['hbstatus']);
  } finally {
    for (const n of lab.nodes) {
      for (const pid of await d.daemonPids(lab, n)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await sleep(300);
    for (const n of lab.nodes) {
      for (const vip of [VIP1, VIP2])
        await runCmd('ip', ['-n', lab.netns(n), 'addr', 'del', `${vip}/24`, 'dev', IFACE]);
    }
    await faults.powerOn(lab, 'linux2');
  }
  return rec;
}

/**
 * Where Vigil answers differently on purpose. The real hb_standby / hb_takeover send their message through
 * `ha_clustermsg` and ignore its failure: with Heartbeat stopped they "succeed" (exit 0) and nothing happens.
 * An operator who runs hb_standby before maintenance must learn that it did nothing, so Vigil says so and exits 1.
 */
const NOT_RUNNING = (tool: string) => (v: Out) =>
  v.code === 1 && v.stderr.includes(`${tool}: [pid]: ERROR: Heartbeat is not running on this machine.`);
const DELIBERATE = new Map<string, { real: Out; vigil: (v: Out) => boolean; why: string }>([
  [
    'stopped | linux1 | hb_standby',
    {
      real: { stdout: '', stderr: '<date> Going standby [all].\n', code: 0 },
      vigil: NOT_RUNNING('hb_standby'),
      why: 'with no daemon the real one exits 0 having done nothing; Vigil reports it and exits 1',
    },
  ],
  [
    'stopped | linux1 | hb_takeover all',
    {
      real: { stdout: '', stderr: '', code: 0 },
      vigil: NOT_RUNNING('hb_takeover'),
      why: 'with no daemon the real one exits 0 having done nothing; Vigil reports it and exits 1',
    },
  ],
]);

function show(o: Out | undefined): string {
  return o === undefined
    ? '(not recorded)'
    : `exit ${o.code}\n${o.stdout}${o.stderr === '' ? '' : `[stderr] ${o.stderr}`}`;
}

test('cl_status, hb_standby, hb_takeover: Vigil prints and exits as the real Heartbeat 3.0.6 tools in the same situations', async (t: TestContext) => {
  if (!needRoot(t)) return;
  const absent = await missing([REAL.cl_status, REAL.hb_standby, REAL.hb_takeover, '/usr/libexec/heartbeat/heartbeat']);
  if (absent !== undefined) {
    t.skip(`needs ${absent} (Debian package heartbeat)`);
    return;
  }
  // One lab per implementation, run side by side: the two clusters share nothing (own namespaces, own bridge).
  const prefixes = { heartbeat: vrtPrefix('h'), vigil: vrtPrefix('v') } as const;
  const record = async (impl: Impl): Promise<Map<string, Out>> => {
    try {
      return await situations(await Lab.up({ prefix: prefixes[impl], nodes: 2 }), impl);
    } finally {
      await cleanup(prefixes[impl]);
    }
  };
  // allSettled: a failure on one side must not end the test while the other lab still runs.
  const [r1, r2] = await Promise.allSettled([record('heartbeat'), record('vigil')]);
  if (r1.status === 'rejected') throw r1.reason;
  if (r2.status === 'rejected') throw r2.reason;
  const [real, ours] = [r1.value, r2.value];
  for (const p of Object.values(prefixes)) assert.deepEqual(await leftovers(p), []);

  const diffs: string[] = [];
  for (const [k, r] of real) {
    const v = ours.get(k);
    const deliberate = DELIBERATE.get(k);
    if (deliberate !== undefined) {
      // Still recorded from the real tool every run: if Heartbeat's answer ever changes, this says so.
      t.diagnostic(`${k} → real ${JSON.stringify(r)}; Vigil differs on purpose: ${deliberate.why}`);
      assert.deepEqual(r, deliberate.real, `the real tool's answer changed: ${k}`);
      assert.ok(v !== undefined && deliberate.vigil(v), `${k}: Vigil printed ${show(v)}`);
      continue;
    }
    t.diagnostic(`${k} → ${JSON.stringify(r)}`);
    if (v === undefined || v.stdout !== r.stdout || v.code !== r.code || v.stderr !== r.stderr)
      diffs.push(
        `${k}\n  Heartbeat: ${show(r).replace(/\n/g, '\n    ')}\n  Vigil:     ${show(v).replace(/\n/g, '\n    ')}`,
      );
  }
  assert.equal(ours.size, real.size);
  assert.deepEqual(diffs, [], `${diffs.length} differences:\n${diffs.join('\n')}`);
});
