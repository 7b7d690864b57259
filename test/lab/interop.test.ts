/**
 * Live interoperability with the real Heartbeat 3.0.6 (issues 4 and 5): one node runs Vigil, the other the real
 * daemon, with the same /etc/ha.d files. Each test builds one lab and reuses it for all its cases (the CI budget is
 * tight). Timing bounds are generous on purpose: the machine has 2 shared cores and Heartbeat's own start-up
 * negotiation waits up to 10 s when both nodes start together.
 */
import { vipHolders } from '../../lab/soak.js';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HA_LOGFILE } from '../../lab/drivers/common.js';
import { HeartbeatDriver } from '../../lab/drivers/heartbeat.js';
import type { Driver } from '../../lab/drivers/types.js';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { nowMs, runCmd, sleep, spawnCmd, waitFor } from '../../lab/exec.js';
import * as faults from '../../lab/faults.js';
import { cleanup, IFACE, Lab, VIP } from '../../lab/topology.js';
import { decodePacket, getString } from '../../src/wire/index.js';
import { killDaemons, leftovers, needRoot, uniquePrefix } from './helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CL_STATUS_JS = `${REPO}dist/src/cli/cl_status.js`;
const DEBUGFILE = '/var/log/ha-debug';
const KEYS = { sha1: 'MaClefSecrete', md5: 'UneAutreClef', crc: '' } as const;
type AuthMethod = keyof typeof KEYS;
type MediaKind = 'bcast' | 'ucast' | 'mcast';

const hb = new HeartbeatDriver();
const vigil = new VigilDriver();

interface Files {
  readonly media: MediaKind;
  readonly auth: AuthMethod;
  readonly keepalive: string;
  readonly deadtime: string;
  readonly initdead: string;
  /** The haresources line, or none (the link tests need no resource, so no resource script runs mid-kill). */
  readonly resources: boolean;
}

/** Identical files on both nodes, as an admin migrating one node at a time would have them. */
async function writeHaFiles(lab: Lab, f: Files): Promise<void> {
  const media =
    f.media === 'bcast'
      ? [`bcast ${IFACE}`]
      : f.media === 'mcast'
        ? [`mcast ${IFACE} 225.0.0.1 694 1 0`]
        : // One line per peer; a node ignores the line naming its own address, so the files stay identical.
          lab.nodes.map((n) => `ucast ${IFACE} ${lab.host(n).ip}`);
  const hacf = [
    `logfile ${HA_LOGFILE}`,
    `debugfile ${DEBUGFILE}`,
    'debug 1',
    `keepalive ${f.keepalive}`,
    `deadtime ${f.deadtime}`,
    `initdead ${f.initdead}`,
    ...media,
    'auto_failback on',
    ...lab.nodes.map((n) => `node ${n}`),
    '',
  ].join('\n');
  const key = KEYS[f.auth];
  const authkeys = `auth 3\n3 ${f.auth}${key === '' ? '' : ` ${key}`}\n`;
  for (const n of lab.nodes) {
    await writeFile(lab.hostPath(n, '/etc/ha.d/ha.cf'), hacf);
    await writeFile(lab.hostPath(n, '/etc/ha.d/authkeys'), authkeys, { mode: 0o600 });
    await writeFile(
      lab.hostPath(n, '/etc/ha.d/haresources'),
      f.resources ? `linux1 IPaddr::${VIP}/24/${IFACE}\n` : '# none\n',
    );
  }
}

async function logOf(lab: Lab, host: string, path = HA_LOGFILE): Promise<string> {
  return readFile(lab.hostPath(host, path), 'utf8').catch(() => '');
}

async function resetLogs(lab: Lab): Promise<void> {
  for (const n of lab.nodes) for (const p of [HA_LOGFILE, DEBUGFILE]) await rm(lab.hostPath(n, p), { force: true });
}

/** Waits until `re` appears in the host's log (or debug log); the failure message shows the log's tail. */
async function logShows(lab: Lab, host: string, re: RegExp, timeoutMs: number, path = HA_LOGFILE): Promise<string> {
  try {
    return await waitFor(`${host} log: ${re.source}`, timeoutMs, async () => {
      const m = re.exec(await logOf(lab, host, path));
      return m === null ? undefined : m[0];
    });
  } catch (e) {
    const tail = (await logOf(lab, host, path)).split('\n').slice(-25).join('\n');
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- ${host}:${path} tail ---\n${tail}`, {
      cause: e,
    });
  }
}

/** Starts the daemon; when it does not come up, the error carries what it printed and the end of its log. */
async function startOrExplain(lab: Lab, d: Driver, host: string): Promise<void> {
  try {
    await d.start(lab, host);
  } catch (e) {
    const out = await logOf(lab, host, d.impl === 'heartbeat' ? '/var/log/heartbeat.start' : '/var/log/vigil.start');
    const tail = (await logOf(lab, host)).split('\n').slice(-15).join('\n');
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- output ---\n${out}\n--- log ---\n${tail}`, {
      cause: e,
    });
  }
}

async function vigilSees(lab: Lab, host: string, peer: string): Promise<string> {
  const r = await lab.exec(host, process.execPath, [CL_STATUS_JS, 'nodestatus', peer], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

async function macOf(lab: Lab, host: string): Promise<string> {
  const r = await runCmd('ip', ['-n', lab.netns(host), 'link', 'show', IFACE]);
  return /link\/ether (\S+)/.exec(r.stdout)?.[1] ?? '?';
}

/** Exactly one holder, `expected`, and the client reaches the VIP at that holder's MAC. */
async function converged(lab: Lab, expected: string, timeoutMs: number): Promise<number> {
  const t0 = nowMs();
  const mac = await macOf(lab, expected);
  let last = '';
  try {
    await waitFor(`the VIP on ${expected} only, reached by the client`, timeoutMs, async () => {
      const h = await vipHolders(lab);
      last = `holders [${h.join(', ')}]`;
      if (h.length !== 1 || h[0] !== expected) return undefined;
      const p = await runCmd('ip', ['netns', 'exec', lab.netns('client'), 'ping', '-c1', '-W1', VIP]);
      if (p.code !== 0) {
        last += ', no ping reply';
        return undefined;
      }
      const n = await runCmd('ip', ['-n', lab.netns('client'), 'neigh', 'show', VIP]);
      last += `, client neigh ${n.stdout.trim()}`;
      return n.stdout.includes(mac) ? true : undefined;
    });
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (last: ${last})`, { cause: e });
  }
  return nowMs() - t0;
}

/** Captures Heartbeat's UDP traffic at a switch port, to list the message types actually exchanged. */
class Capture {
  private readonly proc: ChildProcess;
  constructor(
    lab: Lab,
    port: string,
    private readonly file: string,
  ) {
    this.proc = spawnCmd('ip', ['netns', 'exec', lab.switchNs, 'tcpdump', '-i', port, '-U', '-s0', '-w', file, 'udp'], {
      stdio: 'ignore',
    });
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGINT');
      await Promise.race([done, sleep(5000)]);
    }
  }
  /** `src: t, t, ...` per sender, from every datagram that decodes. */
  async types(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    const buf = await readFile(this.file).catch(() => Buffer.alloc(0));
    if (buf.length < 24) return out;
    for (let off = 24; off + 16 <= buf.length;) {
      const len = buf.readUInt32LE(off + 8);
      const frame = buf.subarray(off + 16, off + 16 + len);
      off += 16 + len;
      if (frame.length < 42 || frame.readUInt16BE(12) !== 0x0800) continue;
      const ihl = ((frame[14] ?? 0x45) & 0x0f) * 4;
      // Fragments (large messages) are skipped: the first fragment alone does not decode.
      if ((frame.readUInt16BE(20) & 0x3fff) !== 0 || frame[23] !== 17) continue;
      const r = decodePacket(frame.subarray(14 + ihl + 8));
      if (!r.ok) continue;
      const src = getString(r.packet.message, 'src') ?? '?';
      const t = getString(r.packet.message, 't') ?? '?';
      let s = out.get(src);
      if (s === undefined) out.set(src, (s = new Set()));
      s.add(t);
    }
    return out;
  }
}

function reportTypes(t: TestContext, what: string, types: Map<string, Set<string>>): void {
  for (const [src, s] of [...types].sort())
    t.diagnostic(`${what}: message types sent by ${src}: ${[...s].sort().join(', ')}`);
}

test('mixed cluster: a Vigil node and a real Heartbeat 3.0.6 node see each other (bcast/ucast/mcast, sha1/md5/crc)', async (t) => {
  if (!needRoot(t)) return;
  await hb.checkAvailable();
  const prefix = uniquePrefix('iolk');
  const lab = await Lab.up({ prefix, nodes: 2 });
  const cap = new Capture(lab, 'linux2', `${lab.dir}/links.pcap`);
  try {
    const cases: { media: MediaKind; auth: AuthMethod; vigilOn: string }[] = [
      { media: 'bcast', auth: 'sha1', vigilOn: 'linux1' },
      { media: 'ucast', auth: 'sha1', vigilOn: 'linux2' },
      { media: 'mcast', auth: 'sha1', vigilOn: 'linux1' },
      { media: 'bcast', auth: 'md5', vigilOn: 'linux2' },
      { media: 'bcast', auth: 'crc', vigilOn: 'linux1' },
      { media: 'ucast', auth: 'md5', vigilOn: 'linux1' },
      { media: 'mcast', auth: 'crc', vigilOn: 'linux2' },
    ];
    for (const c of cases) {
      const hbOn = c.vigilOn === 'linux1' ? 'linux2' : 'linux1';
      const drivers: Record<string, Driver> = { [c.vigilOn]: vigil, [hbOn]: hb };
      const label = `${c.media}/${c.auth}, Vigil on ${c.vigilOn}`;
      await resetLogs(lab);
      await writeHaFiles(lab, {
        media: c.media,
        auth: c.auth,
        keepalive: '200ms',
        deadtime: '2',
        initdead: '4',
        resources: false,
      });
      const t0 = nowMs();
      await Promise.all([startOrExplain(lab, hb, hbOn), startOrExplain(lab, vigil, c.vigilOn)]);
      try {
        await checkLinks(lab, c.vigilOn, hbOn, label, t0, t);
      } catch (e) {
        // Both sides' logs, so a failure says which side did not hear the other.
        const vlog = (await logOf(lab, c.vigilOn)).split('\n').slice(-20).join('\n');
        throw new Error(
          `${label}: ${e instanceof Error ? e.message : String(e)}\n--- Vigil (${c.vigilOn}) ---\n${vlog}`,
          {
            cause: e,
          },
        );
      } finally {
        await killDaemons(lab, drivers, `${VIP}/24`);
      }
    }
  } finally {
    await cap.stop();
    reportTypes(t, 'link tests', await cap.types());
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});

async function checkLinks(
  lab: Lab,
  vigilOn: string,
  hbOn: string,
  label: string,
  t0: number,
  t: TestContext,
): Promise<void> {
  // What issue 4 asks: the real node logs the Vigil node's link and status; Vigil sees the real node active.
  // The real node's view of the Vigil node.
  await logShows(lab, hbOn, new RegExp(`Link ${vigilOn}:${IFACE} up\\.`), 30_000);
  await logShows(lab, hbOn, new RegExp(`Status update for node ${vigilOn}: status (up|active)`), 30_000);
  // Vigil's view of the real node: its log and cl_status over the control socket.
  await logShows(lab, vigilOn, new RegExp(`Link ${hbOn}:${IFACE} up\\.`), 30_000);
  await waitFor(`Vigil on ${vigilOn} to see ${hbOn} active`, 30_000, async () =>
    (await vigilSees(lab, vigilOn, hbOn)) === 'active' ? true : undefined,
  );
  await logShows(lab, hbOn, new RegExp(`Status update for node ${vigilOn}: status active`), 30_000);
  const hbLog = await logOf(lab, hbOn);
  assert.doesNotMatch(hbLog, /Invalid authentication|Bad packet|lost a lot of packets/, `${label}: ${hbOn}`);
  assert.doesNotMatch(await logOf(lab, vigilOn), /Invalid authentication|Bad packet/, `${label}: Vigil`);
  t.diagnostic(`${label}: both sides up and active after ${nowMs() - t0} ms`);
}

/** `11:(0)t=st`: the first field of a netstring `t=status` packet, right after `###\n`. */
const STATUS_PREFIX = `0x${Buffer.from('11:(0)t=st').toString('hex')}`;

/** Drops exactly one Heartbeat status datagram from `from` to `to` at the switch (an nft limit whose bucket holds one packet: the first one only). */
async function dropOne(lab: Lab, from: string, to: string): Promise<void> {
  const table = 'vigil_interop_drop';
  const ruleset = faults.nftTable('bridge', table, [
    ...faults.nftChain(
      'forward',
      [
        // Only a `t=status` (netstring `###\n11:(0)t=status,`): it is sequenced, so the next one reveals the gap; an
        // unsequenced NS_ackmsg dropped instead would go unnoticed.
        `    iifname "${from}" oifname "${to}" ether type ip udp dport 694 @th,96,80 ${STATUS_PREFIX} limit rate 1/hour burst 1 packets counter drop`,
      ],
      -10,
    ),
  ]);
  const r = await runCmd('ip', ['netns', 'exec', lab.switchNs, 'nft', '-f', '-'], { input: ruleset });
  assert.equal(r.code, 0, `nft: ${r.stderr}`);
  // Keepalive is 200 ms: one packet is caught well within a second; then the table goes.
  await sleep(1000);
  await runCmd('ip', ['netns', 'exec', lab.switchNs, 'nft', 'delete', 'table', 'bridge', table]);
}

test('mixed cluster: start-up, takeover, failback, graceful handover and retransmission with the real Heartbeat', async (t) => {
  if (!needRoot(t)) return;
  await hb.checkAvailable();
  const prefix = uniquePrefix('iotk');
  const lab = await Lab.up({ prefix, nodes: 2 });
  const cap = new Capture(lab, 'linux2', `${lab.dir}/takeover.pcap`);
  const numbers: string[] = [];
  const types = new Map<string, Set<string>>();
  try {
    for (const vigilOn of ['linux1', 'linux2']) {
      const hbOn = vigilOn === 'linux1' ? 'linux2' : 'linux1';
      const drivers: Record<string, Driver> = { [vigilOn]: vigil, [hbOn]: hb };
      const d1 = drivers.linux1 ?? vigil;
      const d2 = drivers.linux2 ?? hb;
      const tag = `linux1=${d1.impl} linux2=${d2.impl}`;
      await resetLogs(lab);
      await writeHaFiles(lab, {
        media: 'bcast',
        auth: 'sha1',
        keepalive: '200ms',
        deadtime: '2',
        initdead: '4',
        resources: true,
      });
      try {
        // Start-up negotiation: both start together; linux1, the preferred node, ends up holding the VIP.
        let t0 = nowMs();
        await Promise.all([startOrExplain(lab, d1, 'linux1'), startOrExplain(lab, d2, 'linux2')]);
        await converged(lab, 'linux1', 60_000);
        numbers.push(`${tag}: start-up → VIP on linux1 in ${nowMs() - t0} ms`);
        await logShows(lab, 'linux1', /Initial resource acquisition complete/, 10_000);
        await logShows(lab, 'linux2', /Initial resource acquisition complete/, 30_000);

        if (vigilOn === 'linux1') {
          // Retransmission, both ways: the receiver asks, the sender serves, the gap closes.
          await dropOne(lab, 'linux1', 'linux2'); // Vigil → Heartbeat
          await logShows(lab, 'linux2', /\d+ lost packet\(s\) for \[linux1\]/, 10_000);
          await logShows(lab, 'linux2', /No pkts missing from linux1!/, 10_000);
          await logShows(lab, 'linux1', /Retransmitting pkt \d+/, 10_000, DEBUGFILE);
          await dropOne(lab, 'linux2', 'linux1'); // Heartbeat → Vigil
          await logShows(lab, 'linux1', /\d+ lost packet\(s\) for \[linux2\]/, 10_000);
          await logShows(lab, 'linux1', /No pkts missing from linux2!/, 10_000);
          await logShows(lab, 'linux2', /Retransmitting pkt \d+/, 10_000, DEBUGFILE);
          numbers.push(`${tag}: rexmit requested and served both ways`);
        }

        // Power cut of the holder: the other node takes over after deadtime.
        t0 = await faults.powerOff(lab, 'linux1');
        await converged(lab, 'linux2', 30_000);
        numbers.push(`${tag}: poweroff linux1 → VIP on linux2 after ${nowMs() - t0} ms (deadtime 2 s)`);

        // Back on (the daemon starts at boot): auto_failback returns the VIP to linux1.
        t0 = await faults.powerOn(lab, 'linux1', d1);
        await converged(lab, 'linux1', 60_000);
        numbers.push(`${tag}: poweron linux1 → failback to linux1 after ${nowMs() - t0} ms`);
        await sleep(1000);

        // Graceful stop of the holder: it hands the VIP over at once, no deadtime wait.
        t0 = nowMs();
        const stopping = d1.stop(lab, 'linux1');
        await converged(lab, 'linux2', 30_000);
        numbers.push(`${tag}: graceful stop of linux1 → VIP on linux2 after ${nowMs() - t0} ms`);
        await stopping;
        await logShows(lab, 'linux2', /Received shutdown notice from 'linux1'/, 10_000);

        // And back once more: linux1 restarts, the running node hands the VIP back (auto_failback).
        t0 = nowMs();
        await startOrExplain(lab, d1, 'linux1');
        await converged(lab, 'linux1', 60_000);
        numbers.push(`${tag}: restart linux1 → failback after ${nowMs() - t0} ms`);
        // Vigil keeps what it heard of its peer across its own restarts (replay protection): the real peer's live
        // packets, same generation or a new one, are never taken for replays.
        const floorsFile = await readFile(lab.hostPath(vigilOn, '/var/lib/heartbeat/vigil_peer_generations'), 'utf8');
        assert.match(floorsFile, new RegExp(`^${hbOn} \\d+ \\d+ [0-9a-f]{32}$`, 'm'), floorsFile);
        assert.doesNotMatch(
          await logOf(lab, vigilOn),
          /attempted replay attack/,
          `${tag}: live packets taken for replays`,
        );

        // Graceful stop of the non-holder changes nothing for the client.
        await d2.stop(lab, 'linux2');
        await logShows(lab, 'linux1', /Received shutdown notice from 'linux2'/, 10_000);
        await converged(lab, 'linux1', 10_000);
        for (const n of lab.nodes)
          assert.doesNotMatch(await logOf(lab, n), /returning after partition/, `${tag}: ${n} saw a partition`);
      } finally {
        await killDaemons(lab, drivers, `${VIP}/24`);
      }
    }
  } finally {
    await cap.stop();
    for (const n of numbers) t.diagnostic(n);
    for (const [k, v] of await cap.types()) types.set(k, v);
    reportTypes(t, 'takeover tests', types);
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
  // Both implementations, on both nodes, spoke every part of the protocol these scenarios need (checked on the wire).
  for (const n of ['linux1', 'linux2']) {
    const sent = types.get(n) ?? new Set<string>();
    for (const ty of ['status', 'starting', 'resource', 'ask_resources', 'shutdone', 'NS_rexmit', 'NS_ackmsg'])
      assert.ok(sent.has(ty), `${n} never sent t=${ty} on the wire (sent: ${[...sent].join(', ')})`);
  }
});
