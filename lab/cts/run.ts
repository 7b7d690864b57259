/**
 * One CTS campaign (`npm run cts`): a fresh two-node lab, Heartbeat's own Cluster Test Suite (Debian's
 * /usr/share/heartbeat/cts, ported to Python 3 by lab/cts/cts-py3.patch and nothing else) run from the lab's client
 * host as its exerciser against Heartbeat 3.0.6, Vigil, or one of each; its results read back per test.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { VigilError } from '../../src/util/errors.js';
import { mustRun, runCmd, sleep } from '../exec.js';
import { assertRoot, CLIENT_IP, Lab, labHosts, nodeName } from '../topology.js';
import {
  CLEAN_ENV,
  CTS_LOG,
  CtsHost,
  FILES,
  HEARTBEAT_BIN,
  INSIDE,
  makeSshMaterial,
  REPO,
  SYSLOG_FACILITY,
  type HostImpl,
  type PowerEvent,
} from './host.js';
import { ctsMessage, excerptFor, parseCtsMessages, tabulate, type Iteration, type TestRow } from './results.js';

export const CTS_DIR = '/usr/share/heartbeat/cts';
export const PATCH = `${REPO}lab/cts/cts-py3.patch`;
export const CTS_IMPLS = ['heartbeat', 'vigil', 'mixed'] as const;
export type CtsImpl = (typeof CTS_IMPLS)[number];

/** ha.cf timings: the fastest CTS's CM_hb tolerates with room to spare (its DeadTime is 30 s, StartTime 90 s). */
export const TIMINGS = { keepalive: 1, warntime: 5, deadtime: 10, initdead: 20 } as const;
export const VIPS = ['192.168.1.50', '192.168.1.51'] as const;
export const BOOT_DELAY_MS = 2 * TIMINGS.deadtime * 1000;

/** Heartbeat 2's pingargs for Linux: the arguments of one ping that gives up after 2 s. */
export const PINGARGS = [
  '',
  '# vigil lab cts: resource.d/IPaddr monitor needs this function of the old Heartbeat shell library',
  'pingargs() {',
  '  echo "-n -q -c 1 -w 2 $1"',
  '}',
  '',
].join('\n');

export interface CampaignOptions {
  readonly impl: CtsImpl;
  readonly iterations: number;
  readonly seed: string;
  readonly prefix: string;
  /** CTS's stderr, line by line, as it comes */
  readonly onLine?: (line: string) => void;
  /** Where CTS's stderr and the exerciser's log are kept (default: a temporary directory, removed) */
  readonly keepDir?: string;
  /** Stop CTS when it has said nothing for this long */
  readonly silenceLimitMs?: number;
  /** CTS's --choose: run this test only */
  readonly choose?: string;
  /**
   * Stop CTS after this long (a campaign that has to end by a given time); the test it was running then is cut
   * short and counted neither way (`cutShort`).
   */
  readonly timeLimitMs?: number;
}

export interface CampaignResult {
  readonly impl: CtsImpl;
  readonly seed: string;
  readonly iterations: number;
  readonly nodes: Readonly<Record<string, HostImpl>>;
  readonly startedAt: string;
  readonly seconds: number;
  readonly haCf: string;
  readonly haresources: string;
  readonly cts: {
    readonly files: Record<string, string>;
    readonly ported: Record<string, string>;
    readonly patch: string;
    readonly args: string[];
  };
  readonly exitCode: number | null;
  readonly ctsCompleted: boolean;
  readonly fatal: string[];
  readonly overall: string | undefined;
  readonly perTestCts: Record<string, string>;
  readonly setup: { readonly badNews: string[]; readonly auditFailures: string[] };
  readonly power: PowerEvent[];
  readonly rows: TestRow[];
  readonly runs: Iteration[];
  /** the iteration CTS was stopped in (the lab's time or silence limit, or a signal): not in `runs` or `rows` */
  readonly cutShort?: Iteration;
}

export function nodeImpls(impl: CtsImpl, nodes: readonly string[]): Record<string, HostImpl> {
  const out: Record<string, HostImpl> = {};
  nodes.forEach((n, i) => {
    out[n] = impl === 'mixed' ? (i === 0 ? 'heartbeat' : 'vigil') : impl;
  });
  return out;
}

export function haCf(nodes: readonly string[]): string {
  return [
    '# written by vigil lab cts',
    `logfacility ${SYSLOG_FACILITY}`,
    `keepalive ${TIMINGS.keepalive}`,
    `warntime ${TIMINGS.warntime}`,
    `deadtime ${TIMINGS.deadtime}`,
    `initdead ${TIMINGS.initdead}`,
    'udpport 694',
    'bcast eth1',
    'auto_failback on',
    // Heartbeat's realtime setup raises RLIMIT_MEMLOCK to unlimited and logs `ERROR: Cannot lock ourselves into
    // memory` when it may not: this machine withholds CAP_SYS_RESOURCE from root, so every start would be BadNews.
    'realtime off',
    ...nodes.map((n) => `node ${n}`),
    '',
  ].join('\n');
}

/** One resource group per node, so that both directions of every move are audited. */
export function haresources(nodes: readonly string[]): string {
  return nodes
    .slice(0, VIPS.length)
    .map((n, i) => `${n} IPaddr::${VIPS[i] ?? ''}/24/eth1`)
    .join('\n')
    .concat('\n');
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Checks that this machine can run a campaign; a clear message when it cannot. */
export async function checkCtsAvailable(impl: CtsImpl): Promise<void> {
  await assertRoot();
  const need: [string, string][] = [
    [`${CTS_DIR}/CTSlab.py`, "Debian's heartbeat package (CTS)"],
    ['/usr/bin/python3', 'python3'],
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/usr/bin/ssh', 'openssh-client'],
    ['/usr/sbin/atd', 'at'],
    ['/usr/sbin/rsyslogd', 'rsyslog'],
    ['/usr/bin/patch', 'patch'],
    ['/usr/sbin/stonith', 'cluster-glue (stonith)'],
  ];
  if (impl !== 'vigil') need.push([HEARTBEAT_BIN, "Debian's heartbeat package"]);
  for (const [path, pkg] of need) {
    const r = await runCmd('test', [path.endsWith('.py') ? '-r' : '-x', path]);
    if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `CTS lab needs ${path} (install ${pkg})`);
  }
  if (impl !== 'heartbeat') {
    const r = await runCmd(process.execPath, [`${REPO}dist/src/cli/heartbeat.js`, '-V']);
    if (r.code !== 0)
      throw new VigilError('VIGIL_ERR_LAB', `Vigil's heartbeat entry does not run (build first): ${r.stderr.trim()}`);
  }
}

/** The ported CTS in `dir`: the shipped files, the patch applied, the lab's runner beside them. */
export async function preparePortedCts(dir: string): Promise<Record<string, string>> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const f of (await readdir(CTS_DIR)).sort()) {
    if (f === '__pycache__') continue;
    await copyFile(`${CTS_DIR}/${f}`, `${dir}/${f}`);
    files[f] = await sha256(`${CTS_DIR}/${f}`);
  }
  await mustRun('patch', ['-p1', '--forward', '--no-backup-if-mismatch', '-s', '-d', dir, '-i', PATCH]);
  await copyFile(`${FILES}/cts-run.py`, `${dir}/cts-run.py`);
  return files;
}

export interface CtsLab {
  readonly lab: Lab;
  readonly hosts: CtsHost[];
  readonly exerciser: CtsHost;
  readonly impls: Record<string, HostImpl>;
  readonly haCf: string;
  readonly haresources: string;
  /** sha256 of the shipped CTS files */
  readonly files: Record<string, string>;
  /** sha256 of the ported files (after the patch) */
  readonly ported: Record<string, string>;
  down(): Promise<void>;
}

/** A fresh lab with every host booted and the ported CTS on the exerciser, ready to run. */
export async function setUpCtsLab(impl: CtsImpl, prefix: string): Promise<CtsLab> {
  await checkCtsAvailable(impl);
  const lab = await Lab.up({ prefix, nodes: 2 });
  const hosts: CtsHost[] = [];
  const down = async (): Promise<void> => {
    for (const h of hosts) await h.shutdown().catch(() => undefined);
    await lab.down().catch(() => undefined);
  };
  try {
    const nodes = lab.nodes;
    const impls = nodeImpls(impl, nodes);
    const hostsFile = ['127.0.0.1 localhost', ...labHosts(nodes.length).map((h) => `${h.ip} ${h.name}`), ''].join('\n');
    const ssh = await makeSshMaterial(`${lab.dir}/keys`, nodes);
    const exerciser = new CtsHost(lab, 'client', 'exerciser', undefined);
    hosts.push(exerciser);
    // A reset node stays off for twice the deadtime, as a real machine's reboot outlasts it: its peer must declare
    // it dead (CTS's Stonith test waits for that) before it boots.
    for (const n of nodes) hosts.push(new CtsHost(lab, n, 'node', impls[n], BOOT_DELAY_MS));
    const nodeList = nodes.map((n) => ({ name: n, ip: lab.host(n).ip }));
    for (const h of hosts) await h.prepare(hostsFile, ssh, nodeList);

    const cf = haCf(nodes);
    const rsc = haresources(nodes);
    for (const h of ['client', ...nodes]) {
      await writeFile(lab.hostPath(h, '/etc/ha.d/ha.cf'), cf);
      await writeFile(lab.hostPath(h, '/etc/ha.d/haresources'), rsc);
      await writeFile(lab.hostPath(h, '/etc/ha.d/authkeys'), 'auth 1\n1 sha1 cts-lab-key\n', { mode: 0o600 });
    }
    await writeFile(lab.hostPath('client', CTS_LOG), '');
    // CTS checks that each IP resource answers by running resource.d/IPaddr's monitor on the exerciser; it calls
    // pingargs, a function of Heartbeat's old shell library that Debian's resource-agents no longer has (without it
    // the monitor pings nothing and every audit fails). The exerciser's copy of the library gets it back.
    await appendFile(lab.hostPath('client', '/etc/ha.d/shellfuncs'), PINGARGS);

    // The exerciser first: its rsyslog has to be listening when the nodes' start forwarding.
    for (const h of hosts) await h.boot(false);
    const ctsDir = `${exerciser.dir}/cts`;
    const files = await preparePortedCts(ctsDir);
    const ported: Record<string, string> = {};
    for (const f of (await readdir(ctsDir)).sort()) if (f.endsWith('.py')) ported[f] = await sha256(`${ctsDir}/${f}`);
    return { lab, hosts, exerciser, impls, haCf: cf, haresources: rsc, files, ported, down };
  } catch (e) {
    await down();
    throw e;
  }
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  if (!Number.isInteger(o.iterations) || o.iterations < 1 || o.iterations > 10_000)
    throw new VigilError('VIGIL_ERR_USAGE', `--iterations must be 1..10000, got ${o.iterations}`);
  const t0 = Date.now();
  const cl = await setUpCtsLab(o.impl, o.prefix);
  const { lab, hosts, exerciser, impls } = cl;
  const nodes = lab.nodes;
  try {
    const args = [
      `${INSIDE}/cts/cts-run.py`,
      '-D',
      '/etc/ha.d',
      '-L',
      CTS_LOG,
      '--facility',
      SYSLOG_FACILITY,
      '--seed',
      o.seed,
      ...(o.choose !== undefined ? ['--choose', o.choose] : []),
      String(o.iterations),
    ];
    const keep = o.keepDir ?? `${lab.dir}/out`;
    await mkdir(keep, { recursive: true });
    const stderrFile = `${keep}/cts-stderr.log`;
    const out = createWriteStream(stderrFile);
    const enter = await exerciser.enter();
    const cm = o.impl === 'heartbeat' ? 'heartbeat' : 'vigil';
    const vigilNodes = nodes.filter((n) => impls[n] === 'vigil').join(' ');
    const child = spawn(
      'nsenter',
      [
        ...enter,
        'env',
        '-i',
        `PATH=${CLEAN_ENV.PATH ?? ''}`,
        'LANG=C.UTF-8',
        'HOME=/root',
        `CTS_CM=${cm}`,
        `CTS_VIGIL_NODES=${vigilNodes}`,
        'sh',
        '-c',
        `cd ${INSIDE}/cts && exec /usr/bin/python3 -u "$@"`,
        'cts',
        ...args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const messages: string[] = [];
    let lastOutput = Date.now();
    const onLine = (line: string): void => {
      lastOutput = Date.now();
      out.write(`${line}\n`);
      const m = ctsMessage(line);
      if (m !== undefined) messages.push(m);
      o.onLine?.(line);
    };
    createInterface({ input: child.stderr }).on('line', onLine);
    createInterface({ input: child.stdout }).on('line', onLine);
    const limit = o.silenceLimitMs ?? 45 * 60_000;
    const started = Date.now();
    const stop = { byLab: false };
    const exitCode = await new Promise<number | null>((resolve) => {
      const watchdog = setInterval(() => {
        const silent = Date.now() - lastOutput > limit;
        const late = o.timeLimitMs !== undefined && Date.now() - started > o.timeLimitMs;
        if ((silent || late) && !stop.byLab) {
          onLine(
            silent
              ? `vigil lab cts: CTS said nothing for ${Math.round(limit / 60_000)} min; stopping it`
              : `vigil lab cts: time limit of ${Math.round((o.timeLimitMs ?? 0) / 60_000)} min reached; stopping CTS`,
          );
          stop.byLab = true;
          child.kill('SIGKILL');
        }
      }, 10_000);
      child.on('exit', (code) => {
        clearInterval(watchdog);
        resolve(code);
      });
    });
    await new Promise<void>((res) => out.end(res));
    // Let the last forwarded lines land before the log is read.
    await sleep(1000);
    const logText = await readFile(lab.hostPath('client', CTS_LOG), 'latin1');
    await writeFile(`${keep}/ha-log`, logText, 'latin1');
    const logLines = logText.split('\n');
    const parsed = parseCtsMessages(messages);
    // The test CTS was in when it was stopped (by the lab's limits, or by a signal from anyone) has no verdict.
    const killed = stop.byLab || exitCode === null;
    const cutShort = killed && !parsed.summary.completed ? parsed.iterations.pop() : undefined;
    for (const it of parsed.iterations) {
      if (it.testFailed || it.badNews.length > 0 || it.auditFailures.length > 0) it.excerpt = excerptFor(logLines, it);
    }
    const power = hosts.flatMap((h) => h.power);
    return {
      impl: o.impl,
      seed: o.seed,
      iterations: o.iterations,
      nodes: impls,
      startedAt: new Date(t0).toISOString(),
      seconds: Math.round((Date.now() - t0) / 1000),
      haCf: cl.haCf,
      haresources: cl.haresources,
      cts: { files: cl.files, ported: cl.ported, patch: await sha256(PATCH), args: args.slice(1) },
      exitCode,
      ctsCompleted: parsed.summary.completed,
      fatal: parsed.summary.fatal,
      overall: parsed.summary.overall,
      perTestCts: parsed.summary.perTest,
      setup: { badNews: parsed.setup.badNews, auditFailures: parsed.setup.auditFailures },
      power,
      rows: tabulate(parsed.iterations),
      runs: parsed.iterations,
      ...(cutShort !== undefined ? { cutShort } : {}),
    };
  } finally {
    await cl.down();
  }
}

/** The lab's client address, for messages. */
export const EXERCISER = `client (${CLIENT_IP})`;
export { nodeName };
