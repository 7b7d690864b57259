/**
 * IPv6 in the lab (issue 20): Vigil moving an IPv6-only group (an IPv6-only cluster: mcast6 heartbeats, a ping6
 * node) and a dual-stack group, measured by the client's probers as the IPv4 scenarios are; and a mixed cluster
 * with the real Heartbeat 3.0.6 over ucast6 and over mcast6. The CI slice: a few minutes. Needs root.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HA_LOGFILE } from '../../lab/drivers/common.js';
import { HeartbeatDriver } from '../../lab/drivers/heartbeat.js';
import type { Driver } from '../../lab/drivers/types.js';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { runCmd, waitFor } from '../../lab/exec.js';
import { runScenario, type Family, type ScenarioName, type ScenarioResult } from '../../lab/scenario.js';
import { cleanup, IFACE, Lab, ROUTER_IP6, VIP6 } from '../../lab/topology.js';
import { expandedIPv6 } from '../../src/util/inet.js';
import { killDaemons, leftovers, needRoot } from './helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CL_STATUS_JS = `${REPO}dist/src/cli/cl_status.js`;
const HB_STANDBY_JS = `${REPO}dist/src/cli/hb_standby.js`;
const hb = new HeartbeatDriver();
const vigil = new VigilDriver();

function explain(r: ScenarioResult): string {
  const lines = r.events
    .filter((e) => !e.kind.startsWith('vip_renew'))
    .map((e) => `${Math.round(e.rel_ms)} ${e.source} ${e.kind} ${e.detail.slice(0, 120)}`);
  return `${JSON.stringify({ ...r, events: undefined })}\n${lines.join('\n')}`;
}

async function scenario(t: TestContext, scenarioName: ScenarioName, family: Family): Promise<ScenarioResult> {
  const r = await runScenario({
    impl: 'vigil',
    scenario: scenarioName,
    keepaliveMs: 100,
    deadtimeMs: 500,
    nodes: 2,
    prefix: 'v6b',
    family,
    vigilDetector: 'adaptive',
  });
  const why = explain(r);
  assert.equal(r.error, null, why);
  assert.equal(r.converged, true, why);
  assert.deepEqual(r.holders_after, ['linux2'], why);
  assert.equal(r.audit?.ok, true, why);
  assert.equal(r.vips.length, family === 'dual' ? 2 : 1, why);
  for (const v of r.vips) {
    // Bounds are generous (2 shared cores): what matters is that nothing hangs on neighbour discovery or DAD.
    assert.ok(v.outage_ms !== null && v.outage_ms < 3000, `${v.vip}: outage ${v.outage_ms}\n${why}`);
    assert.equal(v.dual_active_ms, 0, `${v.vip}: two holders\n${why}`);
    assert.equal(v.client_mac_ok, true, why);
    // The client's neighbour cache follows within one probe of the VIP's add (the advertisement did it): its first
    // reply from the new holder comes within two probe intervals.
    assert.equal(v.neigh_ok, true, `${v.vip}: first reply ${v.first_reply_ms} ms after the add\n${why}`);
  }
  t.diagnostic(
    `${scenarioName} ${family}: ${r.vips.map((v) => `${v.vip} outage ${v.outage_ms} ms (probe ${v.probe_ms}), switch ${v.switch_gap_ms} ms, first reply ${v.first_reply_ms} ms after the add`).join('; ')}`,
  );
  return r;
}

test('Vigil moves an IPv6-only group and a dual-stack group; the client follows each move at once', async (t) => {
  if (!needRoot(t)) return;
  await scenario(t, 'stop', 'v6');
  await scenario(t, 'poweroff', 'v6');
  const dual = await scenario(t, 'standby', 'dual');
  // One group: the IPv4 and the IPv6 VIP leave linux1 and arrive on linux2 together.
  const [v4, v6] = dual.vips;
  assert.ok(v4 !== undefined && v6 !== undefined && v4.takeover_ms !== null && v6.takeover_ms !== null);
  assert.ok(Math.abs(v4.takeover_ms - v6.takeover_ms) < 1000, explain(dual));
  assert.deepEqual(await leftovers('v6b'), []);
});

// ------------------------------------------------------------------------------------------ with Heartbeat 3.0.6

async function logOf(lab: Lab, host: string): Promise<string> {
  return readFile(lab.hostPath(host, HA_LOGFILE), 'utf8').catch(() => '');
}

async function logShows(lab: Lab, host: string, re: RegExp, timeoutMs: number): Promise<void> {
  try {
    await waitFor(`${host} log: ${re.source}`, timeoutMs, async () =>
      re.test(await logOf(lab, host)) ? true : undefined,
    );
  } catch (e) {
    const tail = (await logOf(lab, host)).split('\n').slice(-25).join('\n');
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- ${host} log tail ---\n${tail}`, { cause: e });
  }
}

async function holders6(lab: Lab): Promise<string[]> {
  const out: string[] = [];
  for (const n of lab.nodes) {
    const r = await runCmd('ip', ['-n', lab.netns(n), '-6', '-o', 'addr', 'show', 'dev', IFACE]);
    if (r.stdout.includes(` ${VIP6}/`)) out.push(n);
  }
  return out;
}

/** The IPv6 VIP on `expected` only, answering the client from there, in the client's neighbour cache. */
async function held6By(lab: Lab, expected: string, timeoutMs: number): Promise<void> {
  const mac = (await runCmd('ip', ['-n', lab.netns(expected), '-j', 'link', 'show', IFACE])).stdout;
  const want = (JSON.parse(mac) as { address?: string }[])[0]?.address ?? '?';
  let last = '';
  await waitFor(`${VIP6} on ${expected} only`, timeoutMs, async () => {
    const h = await holders6(lab);
    last = `holders [${h.join(', ')}]`;
    if (h.length !== 1 || h[0] !== expected) return undefined;
    const p = await runCmd('ip', ['netns', 'exec', lab.netns('client'), 'ping', '-6', '-c1', '-W1', VIP6]);
    if (p.code !== 0) return undefined;
    const n = await runCmd('ip', ['-n', lab.netns('client'), '-6', 'neigh', 'show', VIP6]);
    last += `, client neigh ${n.stdout.trim()}`;
    return n.stdout.includes(want) ? true : undefined;
  }).catch(async (e: unknown) => {
    const tails: string[] = [];
    for (const n of lab.nodes) tails.push(`--- ${n} ---\n${(await logOf(lab, n)).split('\n').slice(-30).join('\n')}`);
    throw new Error(`${e instanceof Error ? e.message : String(e)} (last: ${last})\n${tails.join('\n')}`, { cause: e });
  });
}

async function stopAll(lab: Lab, drivers: Record<string, Driver>): Promise<void> {
  await killDaemons(lab, drivers, `${VIP6}/64`);
  for (const n of lab.nodes) await rm(lab.hostPath(n, HA_LOGFILE), { force: true });
}

test('mixed cluster over IPv6: Vigil and the real Heartbeat 3.0.6 over ucast6 and over mcast6, an IPv6 group moved both ways', async (t) => {
  if (!needRoot(t)) return;
  await hb.checkAvailable();
  const lab = await Lab.up({ prefix: 'v6c', nodes: 2 });
  try {
    for (const media of ['ucast6', 'mcast6'] as const) {
      const lines =
        media === 'ucast6'
          ? lab.nodes.map((n) => `ucast6 ${IFACE} ${lab.host(n).ip6}`)
          : [`mcast6 ${IFACE} ff02::694:1 694 1 0`];
      const hacf = [
        `logfile ${HA_LOGFILE}`,
        'keepalive 200ms',
        'deadtime 2',
        'initdead 4',
        ...lines,
        'auto_failback off',
        ...lab.nodes.map((n) => `node ${n}`),
        '',
      ].join('\n');
      // Heartbeat's haresources cannot carry `::` (its ResourceManager splits there): every group written out.
      const haresources = `linux1 IPv6addr::${expandedIPv6(VIP6) ?? VIP6}/64/${IFACE}\n`;
      for (const n of lab.nodes) {
        // A ping6 node on the Vigil side only. On Heartbeat's, its ping6 plugin's echo replies fool the IPv6addr
        // agent's monitor (it takes any echo reply for the VIP's: seen here, a VIP reported running while absent),
        // and Heartbeat then never starts the group.
        await writeFile(lab.hostPath(n, '/etc/ha.d/ha.cf'), n === 'linux2' ? `${hacf}ping6 ${ROUTER_IP6}\n` : hacf);
        await writeFile(lab.hostPath(n, '/etc/ha.d/authkeys'), 'auth 1\n1 sha1 MaClefSecrete\n', { mode: 0o600 });
        await writeFile(lab.hostPath(n, '/etc/ha.d/haresources'), haresources);
      }
      const drivers: Record<string, Driver> = { linux1: hb, linux2: vigil };
      try {
        await Promise.all([hb.start(lab, 'linux1'), vigil.start(lab, 'linux2')]);
        // Links per medium as with IPv4: each side logs the other's link on eth1, Vigil sees Heartbeat active.
        await logShows(lab, 'linux1', /Link linux2:eth1 up\./, 40_000);
        await logShows(lab, 'linux2', /Link linux1:eth1 up\./, 40_000);
        await logShows(lab, 'linux1', /Status update for node linux2: status active/, 40_000);
        await waitFor('Vigil to see linux1 active', 40_000, async () => {
          const r = await lab.exec('linux2', process.execPath, [CL_STATUS_JS, 'nodestatus', 'linux1']);
          return r.stdout.trim() === 'active' ? true : undefined;
        });
        // A ping node starts dead (as in Heartbeat) and turns `ping` at its first echo reply, which can come after
        // the peer is seen when the router's address is still in DAD or the machine is loaded: wait for it.
        let pingLast = '';
        await waitFor("Vigil's ping6 node to answer", 40_000, async () => {
          const r = await lab.exec('linux2', process.execPath, [CL_STATUS_JS, 'nodestatus', ROUTER_IP6]);
          pingLast = `${r.stdout}${r.stderr}`.trim();
          return pingLast === 'ping' ? true : undefined;
        }).catch((e: unknown) => {
          throw new Error(`Vigil's ping6 node: ${pingLast}`, { cause: e });
        });
        await held6By(lab, 'linux1', 60_000);
        if (media === 'ucast6') {
          // Heartbeat hands the group to Vigil, and Vigil hands it back (hb_standby on each side).
          const r = await lab.exec('linux1', '/usr/share/heartbeat/hb_standby', ['all'], { timeoutMs: 30_000 });
          assert.equal(r.code, 0, r.stderr);
          await held6By(lab, 'linux2', 60_000);
          const v = await lab.exec('linux2', process.execPath, [HB_STANDBY_JS, 'all'], { timeoutMs: 30_000 });
          assert.equal(v.code, 0, v.stderr);
          await held6By(lab, 'linux1', 60_000);
        }
        for (const n of lab.nodes) {
          assert.doesNotMatch(await logOf(lab, n), /Invalid authentication|Bad packet|not supported by this Vigil/);
        }
        t.diagnostic(
          `${media}: both sides up; ${media === 'ucast6' ? 'the IPv6 group moved both ways' : 'links only'}`,
        );
      } finally {
        await stopAll(lab, drivers);
      }
    }
  } finally {
    await cleanup('v6c');
  }
  assert.deepEqual(await leftovers('v6c'), []);
});
