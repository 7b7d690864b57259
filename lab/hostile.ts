/**
 * The hostile-network scenario (`vigil lab run hostile`): a healthy two-node tutorial cluster (linux1 holds the VIP)
 * under a flood of hostile packets on its heartbeat port, from the client host, with the client prober running.
 *
 * 1. The cluster starts with authkeys `auth 1`, `1 sha1 <key>`, `2 crc` (a second, weak key line makes the key-index
 *    rules matter), and settles.
 * 2. The client records the segment's heartbeat traffic, linux2's daemon is restarted (its generation rises), the
 *    client records again: authentic packets of an old generation, and of the current ones.
 * 3. A packet file is built from them (lab/hostile-packets.ts: replays, flipped bytes, garbage up to 64 KB, text,
 *    wrong-key and crc forgeries, zlib bombs) and the C sender (bench/flood-sender.c, `file` mode) cycles through it
 *    for `seconds` at `pps` to the segment's broadcast address: every packet reaches both nodes.
 * 4. The cluster is watched during the flood and for deadtime + 10 s after it (an accepted forgery can make a node
 *    drop its peer's real packets, which only shows a deadtime later).
 *
 * The verdict, per criterion: each daemon still runs with the same processes (not restarted), the VIP stayed on
 * linux1 (no takeover by linux2), the client's longest outage is at most 1 s, no node declared a peer dead, and no
 * foreign node appears in `cl_status listnodes` on either node.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { VigilError } from '../src/util/errors.js';
import { classifyHeartbeatLine } from './drivers/common.js';
import { driverFor } from './drivers/index.js';
import type { Driver, Impl } from './drivers/types.js';
import { nowMs, runCmd, sleep, waitFor } from './exec.js';
import {
  buildMix,
  CLASS_TEXT,
  DEFAULT_MIX,
  encodePacketFile,
  HOSTILE_CLASSES,
  type HostileClass,
  identities,
  mixSummary,
  parseCaptured,
} from './hostile-packets.js';
import { type LabEvent, LogFollower, watchAddresses, type LineProcess } from './monitor.js';
import { Prober } from './prober.js';
import { dualActiveMs, macOf, tutorialSpec, waitConverged } from './scenario.js';
import { clkTck, parseStatPpid, type ProcSample, sampleProc, UsageMeter, vipHolders, withDescendants } from './soak.js';
import { CLIENT_IP, IFACE, Lab, ROUTER_IP, VIP } from './topology.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SENDER_C = `${REPO}bench/flood-sender.c`;
const CAPTURE_JS = `${REPO}dist/bench/flood-sender.js`;
const VIGIL_JS = `${REPO}dist/src/cli/vigil.js`;
const VIGIL_CL_STATUS = `${REPO}dist/src/cli/cl_status.js`;
const HB_CL_STATUS = '/usr/bin/cl_status';
const BROADCAST = '192.168.1.255';
const HB_PORT = 694;
/** A node name the cluster does not have; forgeries claim to come from it. */
export const FOREIGN_NODE = 'mallory';
export const MAX_OUTAGE_MS = 1000;

export interface HostileOptions {
  impl: Impl;
  keepaliveMs: number;
  deadtimeMs: number;
  prefix: string;
  /** Packets per second sent (each reaches both nodes). */
  pps: number;
  seconds: number;
  /** Classes in the mix (default all, in DEFAULT_MIX proportions). */
  classes?: readonly HostileClass[];
  /** What one bomb may ask a receiver to inflate at most (MiB): the bound keeps the lab machine alive. */
  maxBombMiB?: number;
  seed?: number;
  /** Vigil only: `vigil_detector` in ha.cf. */
  vigilDetector?: 'deadtime' | 'adaptive';
  keep?: boolean;
  onPhase?: (phase: string) => void;
}

export interface LogCounts {
  dead: number;
  late: number;
  restart: number;
  replay: number;
  bad_node: number;
  takeover: number;
  release: number;
  errors: number;
  lines: number;
  /** The first few lines of each notable kind, as written. */
  samples: string[];
}

export interface HostileNode {
  host: string;
  pids_before: number[];
  pids_after: number[];
  /** Still running with exactly the processes it had before the flood. */
  up: boolean;
  restarted: boolean;
  /** When a process of the daemon was first seen missing (ms after the flood started; 1 s sampling), or null. */
  gone_after_ms: number | null;
  rss_kb_before: number;
  rss_kb_after: number;
  rss_kb_max: number;
  cpu_ms: number;
  cpu_pct: number;
  listnodes: string[] | null;
  foreign_nodes: string[];
  log: LogCounts;
  /** Vigil: the wire layer's counters (accepted and drops by reason) gained during the run, when the daemon reports them. */
  wire: Record<string, number> | null;
  /**
   * The node's kernel, from the flood's start to the end: UDP datagrams delivered to sockets, dropped because a
   * socket's receive buffer was full (the daemon did not read fast enough: real heartbeats are lost with them),
   * other UDP input errors, failed IP reassemblies.
   */
  kernel: Record<keyof typeof KERNEL_COUNTERS, number>;
  notes: string[];
}

export interface Criteria {
  daemons_up: boolean;
  vip_stayed: boolean;
  outage_ok: boolean;
  no_dead_peer: boolean;
  /** null when cl_status could not answer on some node. */
  no_foreign_node: boolean | null;
}

export interface HostileResult {
  impl: Impl;
  scenario: 'hostile';
  keepalive_ms: number;
  deadtime_ms: number;
  /** Vigil's `vigil_detector` when set; null otherwise. */
  detector: string | null;
  /** The classes of the mix when not all of them. */
  classes: string[] | null;
  started_at: string;
  flood: {
    target: string;
    port: number;
    pps_target: number;
    seconds_target: number;
    sent: number;
    errors: number;
    seconds: number;
    pps_achieved: number;
    mbit_per_s: number;
    last_errno: number;
    per_class: Record<string, { sent: number; errors: number }>;
    file: { records: number; per_class: Record<string, { packets: number; bytes: number }> };
    max_bomb_bytes: number;
  } | null;
  captured: {
    before_restart: number;
    current: number;
    generations_before: Record<string, number>;
    generations_now: Record<string, number>;
  } | null;
  observe_ms: number;
  /** The machine's 1-minute load average when the flood started and when it ended (the lab shares it). */
  loadavg: [number, number] | null;
  nodes: HostileNode[];
  holders_before: string[];
  holders_after: string[];
  /** VIP additions / removals on any node from the start of the flood to the end. */
  vip_events: string[];
  dual_active_ms: number | null;
  outage_ms: number | null;
  /** Client gaps over 200 ms from the start of the flood to the end. */
  gaps_over_200ms: number;
  criteria: Criteria;
  pass: boolean;
  notes: string[];
  error: string | null;
}

function blank(o: HostileOptions): HostileResult {
  return {
    impl: o.impl,
    scenario: 'hostile',
    keepalive_ms: o.keepaliveMs,
    deadtime_ms: o.deadtimeMs,
    detector: o.vigilDetector ?? null,
    classes: o.classes === undefined || o.classes.length === HOSTILE_CLASSES.length ? null : [...o.classes],
    started_at: new Date().toISOString(),
    flood: null,
    captured: null,
    observe_ms: 0,
    loadavg: null,
    nodes: [],
    holders_before: [],
    holders_after: [],
    vip_events: [],
    dual_active_ms: null,
    outage_ms: null,
    gaps_over_200ms: 0,
    criteria: {
      daemons_up: false,
      vip_stayed: false,
      outage_ok: false,
      no_dead_peer: false,
      no_foreign_node: null,
    },
    pass: false,
    notes: [],
    error: null,
  };
}

/** `cl_status` as an operator runs it on the host: the real one for Heartbeat, Vigil's own for Vigil. */
export async function clStatus(
  lab: Lab,
  impl: Impl,
  host: string,
  args: readonly string[],
): Promise<{ stdout: string; code: number }> {
  const r =
    impl === 'heartbeat'
      ? await lab.exec(host, HB_CL_STATUS, args, { timeoutMs: 30_000 })
      : await lab.exec(host, process.execPath, [VIGIL_CL_STATUS, ...args], { timeoutMs: 30_000 });
  return { stdout: r.stdout, code: r.code };
}

async function listNodes(lab: Lab, impl: Impl, host: string): Promise<string[] | null> {
  const r = await clStatus(lab, impl, host, ['listnodes']);
  if (r.code !== 0) return null;
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

async function bothActive(lab: Lab, impl: Impl): Promise<true | undefined> {
  const a = await clStatus(lab, impl, 'linux1', ['nodestatus', 'linux2']);
  const b = await clStatus(lab, impl, 'linux2', ['nodestatus', 'linux1']);
  return a.stdout.trim() === 'active' && b.stdout.trim() === 'active' ? true : undefined;
}

async function loadavg(): Promise<number> {
  return Number((await readFile('/proc/loadavg', 'utf8').catch(() => '')).split(' ')[0]);
}

/** The kernel's UDP and IP counters of a host's network namespace (`/proc/net/snmp`, read from inside it). */
async function snmp(lab: Lab, host: string): Promise<Record<string, number>> {
  const r = await runCmd('nsenter', [`--net=/run/netns/${lab.netns(host)}`, 'cat', '/proc/net/snmp']);
  return parseSnmp(r.stdout);
}

/** `Proto: names...` / `Proto: values...` line pairs → `{ 'Udp.InDatagrams': n, ... }`. */
export function parseSnmp(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = lines[i]?.split(/\s+/) ?? [];
    const values = lines[i + 1]?.split(/\s+/) ?? [];
    const proto = names[0];
    if (proto === undefined || !proto.endsWith(':') || values[0] !== proto || /^\d/.test(names[1] ?? '')) continue;
    for (let k = 1; k < names.length; k++) {
      const v = Number(values[k]);
      if (Number.isFinite(v)) out[`${proto.slice(0, -1)}.${names[k] ?? ''}`] = v;
    }
    i++;
  }
  return out;
}

const KERNEL_COUNTERS = {
  udp_in: 'Udp.InDatagrams',
  udp_rcvbuf_errors: 'Udp.RcvbufErrors',
  udp_in_errors: 'Udp.InErrors',
  ip_reasm_fails: 'Ip.ReasmFails',
} as const;

/** Vigil's `status --json` wire counters, when the daemon reports them. */
async function wireCounters(lab: Lab, impl: Impl, host: string): Promise<Record<string, number> | null> {
  if (impl !== 'vigil') return null;
  const r = await lab.exec(host, process.execPath, [VIGIL_JS, 'status', '--json'], { timeoutMs: 30_000 });
  if (r.code !== 0) return null;
  try {
    const j = JSON.parse(r.stdout) as { wire?: Record<string, number> };
    return j.wire ?? null;
  } catch {
    return null;
  }
}

const LATE_RE = /Late heartbeat: Node (?!\d+\.\d+\.\d+\.\d+:)/;

/**
 * Counts the log lines that matter here (Heartbeat's text; Vigil writes the same lines) as they arrive: Heartbeat
 * writes hundreds of thousands of lines under the flood, too many to keep.
 */
export class LogCounter {
  private readonly c: LogCounts = {
    dead: 0,
    late: 0,
    restart: 0,
    replay: 0,
    bad_node: 0,
    takeover: 0,
    release: 0,
    errors: 0,
    lines: 0,
    samples: [],
  };
  private readonly seen = new Map<string, number>();

  private sample(kind: string, line: string): void {
    const n = this.seen.get(kind) ?? 0;
    if (n < 3) this.c.samples.push(line.slice(0, 400));
    this.seen.set(kind, n + 1);
  }

  add(line: string): void {
    const c = this.c;
    c.lines++;
    const kind = classifyHeartbeatLine(line);
    if (kind === 'dead') {
      c.dead++;
      this.sample('dead', line);
    } else if (kind === 'takeover') {
      c.takeover++;
      this.sample('takeover', line);
    } else if (kind === 'release') {
      c.release++;
      this.sample('release', line);
    }
    if (LATE_RE.test(line)) {
      c.late++;
      this.sample('late', line);
    }
    if (line.includes('Heartbeat restart on node')) {
      c.restart++;
      this.sample('restart', line);
    }
    if (line.includes('attempted replay attack')) {
      c.replay++;
      this.sample('replay', line);
    }
    if (line.includes('bad node [')) {
      c.bad_node++;
      this.sample('bad_node', line);
    }
    if (/\b(ERROR|CRIT):/.test(line)) {
      c.errors++;
      if (line.includes('CRIT:')) this.sample('crit', line);
      else if (kind === undefined) this.sample('error', line);
    }
  }

  result(): LogCounts {
    return { ...this.c, samples: [...this.c.samples] };
  }
}

export function countLog(lines: readonly string[]): LogCounts {
  const c = new LogCounter();
  for (const l of lines) c.add(l);
  return c.result();
}

/** The judgement, from the measurements (pure: unit-tested). */
export function judge(r: HostileResult): Criteria {
  const listed = r.nodes.map((n) => n.listnodes);
  return {
    daemons_up: r.nodes.length > 0 && r.nodes.every((n) => n.up && !n.restarted),
    vip_stayed:
      r.holders_after.length === 1 &&
      r.holders_after[0] === 'linux1' &&
      !r.vip_events.some((e) => e.startsWith('linux1 vip_del') || e.startsWith('linux2 vip_add')),
    outage_ok: r.outage_ms !== null && r.outage_ms <= MAX_OUTAGE_MS,
    no_dead_peer: r.nodes.length > 0 && r.nodes.every((n) => n.log.dead === 0),
    no_foreign_node: listed.some((l) => l === null) ? null : r.nodes.every((n) => n.foreign_nodes.length === 0),
  };
}

async function capture(lab: Lab, ms: number, file: string): Promise<Buffer[]> {
  const r = await lab.exec(
    'client',
    process.execPath,
    [CAPTURE_JS, 'capture-all', CLIENT_IP, String(HB_PORT), String(ms), '0', file],
    { timeoutMs: ms + 30_000 },
  );
  if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `capture in the client failed: ${r.stderr.trim()}`);
  const text = await readFile(file, 'utf8');
  await rm(file, { force: true });
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Buffer.from((JSON.parse(l) as { b64: string }).b64, 'base64'));
}

/** The daemon's processes as they are for a while: a PID present in only one of three samples (a script being forked) is not one of them. */
async function steadyPids(lab: Lab, driver: Driver, host: string): Promise<number[]> {
  const samples: Set<number>[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(new Set(await driver.daemonPids(lab, host)));
    if (i < 2) await sleep(300);
  }
  const all = new Set(samples.flatMap((s) => [...s]));
  return [...all].filter((p) => samples.filter((s) => s.has(p)).length >= 2).sort((a, b) => a - b);
}

async function sampleNode(lab: Lab, driver: Driver, host: string): Promise<Map<number, ProcSample>> {
  const parentOf = new Map<number, number>();
  for (const pid of await lab.hostPids(host)) {
    const ppid = parseStatPpid(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''));
    if (ppid !== undefined) parentOf.set(pid, ppid);
  }
  const m = new Map<number, ProcSample>();
  for (const pid of withDescendants(await driver.daemonPids(lab, host), parentOf)) {
    const s = await sampleProc(pid);
    if (s !== undefined) m.set(pid, s);
  }
  return m;
}

function rssOf(m: ReadonlyMap<number, ProcSample>): number {
  let kb = 0;
  for (const s of m.values()) kb += s.rssKb;
  return kb;
}

function diff(
  after: Record<string, number> | null,
  before: Record<string, number> | null,
): Record<string, number> | null {
  if (after === null) return null;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) out[k] = v - (before?.[k] ?? 0);
  return out;
}

function kernelDelta(
  after: Record<string, number>,
  before: Record<string, number>,
): Record<keyof typeof KERNEL_COUNTERS, number> {
  const out = {} as Record<keyof typeof KERNEL_COUNTERS, number>;
  for (const [k, name] of Object.entries(KERNEL_COUNTERS) as [keyof typeof KERNEL_COUNTERS, string][])
    out[k] = (after[name] ?? 0) - (before[name] ?? 0);
  return out;
}

export async function runHostile(o: HostileOptions): Promise<HostileResult> {
  if (o.impl === 'keepalived')
    throw new VigilError(
      'VIGIL_ERR_USAGE',
      'hostile: keepalived does not speak the Heartbeat protocol (vigil, heartbeat)',
    );
  if (o.deadtimeMs <= 2 * o.keepaliveMs)
    throw new VigilError('VIGIL_ERR_USAGE', `deadtime (${o.deadtimeMs} ms) must be more than twice keepalive`);
  if (!(o.pps > 0 && o.pps <= 200_000)) throw new VigilError('VIGIL_ERR_USAGE', '--pps: 1 to 200000');
  if (!(o.seconds > 0 && o.seconds <= 60)) throw new VigilError('VIGIL_ERR_USAGE', '--flood-seconds: 1 to 60');
  const driver = driverFor(o.impl);
  await driver.checkAvailable();
  const phase = (p: string): void => o.onPhase?.(p);
  const result = blank(o);
  const tag = `${o.prefix}-${process.pid}`;
  const sender = `/tmp/vigil-hostile-sender-${tag}`;
  const packetFile = `/tmp/vigil-hostile-packets-${tag}`;
  const cc = await runCmd('cc', ['-O2', '-o', sender, SENDER_C], { timeoutMs: 60_000 });
  if (cc.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `cannot compile the flood sender: ${cc.stderr.trim()}`);

  phase('building the lab (2 nodes)');
  const lab = await Lab.up({ prefix: o.prefix, nodes: 2 });
  lab.state.impl = o.impl;
  await lab.saveState();
  const spec = { ...tutorialSpec(2, o.keepaliveMs, o.deadtimeMs, true, o.vigilDetector), authExtra: ['2 crc'] };
  const events: LabEvent[] = [];
  const addrEvents: LabEvent[] = [];
  const counters = new Map<string, LogCounter>(lab.nodes.map((n) => [n, new LogCounter()]));
  // Log lines count from the flood's start (set then).
  let countFrom = Infinity;
  const watchers: LineProcess[] = [];
  const followers: LogFollower[] = [];
  const prober = new Prober(lab.netns('client'), IFACE, VIP);
  let sampling = false;
  let samplingDone: Promise<void> = Promise.resolve();
  try {
    await driver.configure(lab, spec);
    for (const n of lab.nodes) {
      watchers.push(
        watchAddresses(lab.netns(n), n, IFACE, VIP, (e) => {
          addrEvents.push(e);
          events.push(e);
        }),
      );
      const f = new LogFollower(lab.hostPath(n, driver.logPath), (line, t) => {
        if (t >= countFrom) counters.get(n)?.add(line);
        const kind = driver.classify(line);
        if (kind !== undefined) events.push({ t, source: n, kind: `log_${kind}`, detail: line });
      });
      await f.start();
      followers.push(f);
    }
    await prober.start();
    const macs = new Map<string, string>();
    for (const n of lab.nodes) macs.set(await macOf(lab, n), n);

    phase(`starting ${o.impl} on ${lab.nodes.join(', ')} (authkeys: 1 sha1, 2 crc)`);
    for (const n of lab.nodes) await driver.start(lab, n);
    phase('waiting for linux1 to hold the VIP and both nodes to see each other active');
    await waitConverged(lab, prober, macs, 120_000, 'linux1', { stableMs: 1500, events });
    await waitFor('both nodes active in cl_status', 120_000, () => bothActive(lab, o.impl), 500);

    const captureMs = Math.max(3000, 5 * o.keepaliveMs);
    phase(`recording the segment for ${captureMs} ms, restarting linux2, recording again`);
    const before = parseCaptured(await capture(lab, captureMs, `${packetFile}.cap1`));
    await driver.stop(lab, 'linux2');
    await driver.start(lab, 'linux2');
    await waitConverged(lab, prober, macs, 120_000, 'linux1', { stableMs: 1500, events });
    await waitFor('both nodes active again after the restart', 120_000, () => bothActive(lab, o.impl), 500);
    const now = parseCaptured(await capture(lab, captureMs, `${packetFile}.cap2`));
    const ids = identities(now);
    const idsBefore = identities(before);
    result.captured = {
      before_restart: before.length,
      current: now.length,
      generations_before: Object.fromEntries(idsBefore.map((i) => [i.name, i.generation])),
      generations_now: Object.fromEntries(ids.map((i) => [i.name, i.generation])),
    };
    const genNow = new Map(ids.map((i) => [i.name, i.generation]));
    const oldGeneration = before.filter(
      (c) => c.info.generation !== undefined && c.info.generation < (genNow.get(c.info.src) ?? 0),
    );
    const current = [
      ...now,
      ...before.filter((c) => c.info.generation !== undefined && c.info.generation === genNow.get(c.info.src)),
    ];
    if (oldGeneration.length === 0) result.notes.push('no packet of an older generation was captured');
    if (ids.length < 2) result.notes.push(`captures show only ${ids.map((i) => i.name).join(', ') || 'no node'}`);

    const chosen = new Set(o.classes ?? HOSTILE_CLASSES);
    const mix = Object.fromEntries(HOSTILE_CLASSES.map((c) => [c, chosen.has(c) ? DEFAULT_MIX[c] : 0])) as Record<
      HostileClass,
      number
    >;
    const maxBombBytes = (o.maxBombMiB ?? 64) * 1024 * 1024;
    const packets = buildMix({
      current,
      oldGeneration,
      nodes: ids,
      foreignName: FOREIGN_NODE,
      deadtimeMs: o.deadtimeMs,
      seed: o.seed ?? 1,
      mix,
      cycles: Math.min(100, Math.max(10, Math.round(o.pps / 100))),
      maxBombBytes,
    });
    if (packets.length === 0) throw new VigilError('VIGIL_ERR_LAB', 'no packet to send (empty mix)');
    await writeFile(packetFile, encodePacketFile(packets));
    const fileSummary = mixSummary(packets);

    // Before: processes, usage, counters, the log from here on.
    const pidsBefore = new Map<string, number[]>();
    for (const n of lab.nodes) pidsBefore.set(n, await steadyPids(lab, driver, n));
    const msPerTick = 1000 / (await clkTck());
    const meters = new Map(lab.nodes.map((n) => [n, new UsageMeter(n, msPerTick)]));
    const rssBefore = new Map<string, number>();
    for (const n of lab.nodes) {
      const s = await sampleNode(lab, driver, n);
      rssBefore.set(n, rssOf(s));
      meters.get(n)?.add(s);
    }
    const wireBefore = new Map<string, Record<string, number> | null>();
    for (const n of lab.nodes) wireBefore.set(n, await wireCounters(lab, o.impl, n));
    const snmpBefore = new Map<string, Record<string, number>>();
    for (const n of lab.nodes) snmpBefore.set(n, await snmp(lab, n));
    result.holders_before = await vipHolders(lab);

    phase(
      `flood: ${o.pps} packets/s for ${o.seconds} s to ${BROADCAST}:${HB_PORT} from the client (${packets.length} packets cycled)`,
    );
    const floodFrom = nowMs();
    countFrom = floodFrom;
    sampling = true;
    const goneAt = new Map<string, number>();
    samplingDone = (async () => {
      while (sampling) {
        await sleep(1000);
        for (const n of lab.nodes) {
          const m = await sampleNode(lab, driver, n);
          meters.get(n)?.add(m);
          if (!goneAt.has(n) && (pidsBefore.get(n) ?? []).some((p) => !m.has(p))) goneAt.set(n, nowMs() - floodFrom);
        }
      }
    })();
    const loadFrom = await loadavg();
    // SCHED_FIFO 5: above both daemons (each runs SCHED_RR 1, as Heartbeat does) and below the prober (FIFO 10).
    // The sender shares the victims' two cores; at normal priority a daemon spinning on bombs at real-time priority
    // would throttle it to a fifth of its rate, which an attacker on a host of its own would not see.
    const sent = await lab.exec(
      'client',
      'chrt',
      ['-f', '5', sender, 'file', BROADCAST, String(HB_PORT), String(o.pps), String(o.seconds), packetFile],
      {
        timeoutMs: (o.seconds + 60) * 1000,
      },
    );
    const floodTo = nowMs();
    result.loadavg = [loadFrom, await loadavg()];
    const s = JSON.parse(sent.stdout.trim().split('\n').pop() ?? '{}') as {
      sent?: number;
      errors?: number;
      seconds?: number;
      bytes?: number;
      pps?: number;
      last_errno?: number;
      per_class?: Record<string, [number, number]>;
    };
    if (s.sent === undefined) throw new VigilError('VIGIL_ERR_LAB', `flood sender failed: ${sent.stderr.trim()}`);
    result.flood = {
      target: BROADCAST,
      port: HB_PORT,
      pps_target: o.pps,
      seconds_target: o.seconds,
      sent: s.sent,
      errors: s.errors ?? 0,
      seconds: s.seconds ?? 0,
      pps_achieved: Math.round(s.pps ?? 0),
      mbit_per_s: Math.round(((s.bytes ?? 0) * 8) / (s.seconds ?? 1) / 1e5) / 10,
      last_errno: s.last_errno ?? 0,
      per_class: Object.fromEntries(
        Object.entries(s.per_class ?? {}).map(([k, [n, e]]) => [
          HOSTILE_CLASSES[Number(k)] ?? k,
          { sent: n, errors: e },
        ]),
      ),
      file: { records: packets.length, per_class: fileSummary },
      max_bomb_bytes: maxBombBytes,
    };

    result.observe_ms = o.deadtimeMs + 10_000;
    phase(`flood over (${result.flood.pps_achieved} packets/s achieved); watching for ${result.observe_ms} ms more`);
    await sleep(result.observe_ms);
    sampling = false;
    await samplingDone;
    const end = nowMs();

    phase('collecting: processes, cl_status listnodes, counters, logs');
    for (const n of lab.nodes) {
      const pidsAfter = await steadyPids(lab, driver, n);
      const was = pidsBefore.get(n) ?? [];
      const last = await sampleNode(lab, driver, n);
      meters.get(n)?.add(last);
      const use = meters.get(n)?.result(end - floodFrom);
      const listed = await listNodes(lab, o.impl, n);
      const known = new Set([...lab.nodes, ROUTER_IP]);
      const same = was.length > 0 && was.length === pidsAfter.length && was.every((p) => pidsAfter.includes(p));
      const node: HostileNode = {
        host: n,
        pids_before: was,
        pids_after: pidsAfter,
        up: pidsAfter.length > 0,
        restarted: !same,
        gone_after_ms: goneAt.has(n) ? Math.round(goneAt.get(n) ?? 0) : null,
        rss_kb_before: rssBefore.get(n) ?? 0,
        rss_kb_after: rssOf(last),
        rss_kb_max: use?.rss_kb_max ?? 0,
        cpu_ms: use?.cpu_ms ?? 0,
        cpu_pct: use?.cpu_pct ?? 0,
        listnodes: listed,
        foreign_nodes: listed === null ? [] : listed.filter((x) => !known.has(x)),
        log: counters.get(n)?.result() ?? countLog([]),
        wire: diff(await wireCounters(lab, o.impl, n), wireBefore.get(n) ?? null),
        kernel: kernelDelta(await snmp(lab, n), snmpBefore.get(n) ?? {}),
        notes: [],
      };
      if (listed === null) node.notes.push('cl_status listnodes failed');
      if (o.impl === 'vigil' && node.wire === null) node.notes.push('no wire counters in `vigil status --json`');
      result.nodes.push(node);
    }
    result.holders_after = await vipHolders(lab);
    result.vip_events = addrEvents
      .filter((e) => e.t >= floodFrom && (e.kind === 'vip_add' || e.kind === 'vip_del'))
      .map((e) => `${e.source} ${e.kind} at ${Math.round(e.t - floodFrom)} ms`);
    result.dual_active_ms = Math.round(dualActiveMs(addrEvents, new Set(result.holders_before), floodFrom, end));
    await prober.stop();
    const gap = prober.longestGap(floodFrom, end);
    result.outage_ms = gap === undefined ? null : Math.round(gap.ms);
    result.gaps_over_200ms = prober.gaps(floodFrom, end, 200).length;
    if (floodTo - floodFrom > (o.seconds + 5) * 1000)
      result.notes.push(`the sender ran ${Math.round(floodTo - floodFrom)} ms for ${o.seconds} s`);
    result.criteria = judge(result);
    result.pass = Object.values(result.criteria).every((v) => v === true);
    return result;
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    return result;
  } finally {
    sampling = false;
    await samplingDone.catch(() => undefined);
    await prober.stop().catch(() => undefined);
    for (const w of watchers) await w.stop();
    for (const f of followers) await f.stop();
    await rm(sender, { force: true });
    await rm(packetFile, { force: true });
    if (o.keep !== true) {
      phase('tearing the lab down');
      await lab.down();
    }
  }
}

function yesNo(v: boolean | null): string {
  return v === null ? 'UNKNOWN' : v ? 'PASS' : 'FAIL';
}

function kb(n: number): string {
  return `${(n / 1024).toFixed(1)} MiB`;
}

/** The human report: flood, per-node table, criteria. */
export function formatHostile(r: HostileResult): string {
  const out: string[] = [
    `${r.impl} hostile  keepalive ${r.keepalive_ms} ms, deadtime ${r.deadtime_ms} ms${r.detector !== null ? `, detector ${r.detector}` : ''}  (${r.started_at})`,
    `  mix: ${r.classes === null ? 'every class' : r.classes.join(', ')}`,
  ];
  if (r.flood !== null) {
    const f = r.flood;
    out.push(
      `  flood: ${f.sent} packets in ${f.seconds.toFixed(1)} s to ${f.target}:${f.port} = ${f.pps_achieved} packets/s achieved` +
        ` (target ${f.pps_target}), ${f.mbit_per_s} Mbit/s, ${f.errors} send errors${f.errors > 0 ? ` (last errno ${f.last_errno})` : ''}`,
    );
    out.push(
      `  mix sent: ${Object.entries(f.per_class)
        .map(([k, v]) => `${k} ${v.sent}`)
        .join(', ')}`,
    );
    out.push(
      `  bombs ask at most ${kb(f.max_bomb_bytes / 1024)} of inflation each; load average ${r.loadavg?.join(' -> ') ?? '-'}`,
    );
  }
  if (r.captured !== null)
    out.push(
      `  replays: ${r.captured.before_restart} packets recorded before linux2's restart (generations ${JSON.stringify(r.captured.generations_before)}), ${r.captured.current} after (${JSON.stringify(r.captured.generations_now)})`,
    );
  out.push('');
  const head = [
    'node',
    'processes',
    'RSS before -> after (max)',
    'CPU',
    'is dead',
    'late',
    'restart',
    'replay',
    'bad node',
    'listnodes',
  ];
  const rows = r.nodes.map((n) => [
    n.host,
    `${n.restarted ? 'CHANGED' : 'same'} ${n.pids_before.join(',')} -> ${n.pids_after.join(',') || 'none'}` +
      (n.gone_after_ms === null ? '' : ` (one gone at ${(n.gone_after_ms / 1000).toFixed(0)} s)`),
    `${kb(n.rss_kb_before)} -> ${kb(n.rss_kb_after)} (${kb(n.rss_kb_max)})`,
    `${Math.round(n.cpu_ms)} ms (${n.cpu_pct.toFixed(0)} %)`,
    String(n.log.dead),
    String(n.log.late),
    String(n.log.restart),
    String(n.log.replay),
    String(n.log.bad_node),
    n.listnodes === null ? 'failed' : n.listnodes.join(' '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const fmt = (row: readonly string[]): string =>
    '  ' +
    row
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  out.push(fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt));
  for (const n of r.nodes) {
    const k = n.kernel;
    out.push(
      `  ${n.host} kernel: ${k.udp_in} UDP datagrams delivered, ${k.udp_rcvbuf_errors} dropped on a full receive buffer, ${k.udp_in_errors} input errors, ${k.ip_reasm_fails} failed reassemblies`,
    );
    if (n.wire !== null)
      out.push(
        `  ${n.host} wire: ${Object.entries(n.wire)
          .filter(([, v]) => v !== 0)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    for (const s of n.log.samples.slice(0, 12)) out.push(`  ${n.host} log: ${s.slice(0, 160)}`);
    for (const x of n.notes) out.push(`  ${n.host} note: ${x}`);
  }
  out.push('');
  out.push(
    `  VIP holders before ${r.holders_before.join(',') || 'none'}, after ${r.holders_after.join(',') || 'none'}; dual-active ${r.dual_active_ms ?? '-'} ms`,
  );
  if (r.vip_events.length > 0) out.push(`  VIP moves: ${r.vip_events.join('; ')}`);
  out.push(`  client: longest outage ${r.outage_ms ?? '-'} ms, ${r.gaps_over_200ms} gaps over 200 ms`);
  out.push('');
  const c = r.criteria;
  out.push(`  ${yesNo(c.daemons_up)}  daemons up, same processes (not restarted)`);
  out.push(`  ${yesNo(c.vip_stayed)}  VIP stayed on linux1 (no takeover by linux2)`);
  out.push(`  ${yesNo(c.outage_ok)}  longest client outage <= ${MAX_OUTAGE_MS} ms`);
  out.push(`  ${yesNo(c.no_dead_peer)}  no peer declared dead`);
  out.push(`  ${yesNo(c.no_foreign_node)}  no foreign node in cl_status listnodes`);
  out.push(`  verdict: ${r.error !== null ? 'ERROR' : r.pass ? 'PASS' : 'FAIL'}`);
  if (r.error !== null) out.push(`  ERROR: ${r.error}`);
  for (const n of r.notes) out.push(`  note: ${n}`);
  return out.join('\n') + '\n';
}

/** Class descriptions for the report's legend. */
export function mixLegend(): string[] {
  return HOSTILE_CLASSES.map((c) => `${c} (${DEFAULT_MIX[c]} %): ${CLASS_TEXT[c]}`);
}
