/**
 * `vigil reload` end to end in the lab: a new group and new timings applied in place while the VIP that did not
 * change stays where it is (watched every 50 ms from the holder's own address list); a bad file refused with its
 * file:line and the running configuration kept; a change that needs a restart named with its reason; and a reload
 * of the Vigil node of a mixed cluster with a real Heartbeat 3.0.6 peer, which must not notice anything.
 *
 * Timing: keepalive 200 ms, deadtime 2 s. Bounds are generous (2 shared cores); what is asserted strictly is that
 * the unchanged VIP never left its node.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HeartbeatDriver } from '../../lab/drivers/heartbeat.js';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { runCmd, sleep, waitFor } from '../../lab/exec.js';
import { IFACE, Lab, VIP, cleanup } from '../../lab/topology.js';
import { leftovers, needRoot, uniquePrefix } from './helpers.js';

const VIGIL_JS = fileURLToPath(new URL('../../src/cli/vigil.js', import.meta.url));
const LOG = '/var/log/heartbeat.log';
const VIP2 = '192.168.1.51';

function hacf(extra: readonly string[] = [], keepalive = '200ms'): string {
  return [
    `logfile ${LOG}`,
    `keepalive ${keepalive}`,
    'deadtime 2',
    'warntime 1',
    'initdead 4',
    `bcast ${IFACE}`,
    'auto_failback on',
    'node linux1',
    'node linux2',
    ...extra,
    '',
  ].join('\n');
}

async function writeFiles(lab: Lab, host: string, ha: string, rsc: string): Promise<void> {
  await writeFile(lab.hostPath(host, '/etc/ha.d/ha.cf'), ha, { mode: 0o644 });
  await writeFile(lab.hostPath(host, '/etc/ha.d/authkeys'), 'auth 1\n1 sha1 MaClefSecrete\n', { mode: 0o600 });
  await writeFile(lab.hostPath(host, '/etc/ha.d/haresources'), rsc, { mode: 0o644 });
}

async function holds(lab: Lab, host: string, ip: string): Promise<boolean> {
  const r = await runCmd('ip', ['-n', lab.netns(host), '-o', '-4', 'addr', 'show', 'dev', IFACE]);
  return r.stdout.includes(` ${ip}/`);
}

/** Samples the VIP on `host` every 50 ms; counts the samples where it was missing. */
function watchStays(lab: Lab, host: string, ip: string): { stop: () => Promise<{ samples: number; missing: number }> } {
  let running = true;
  let samples = 0;
  let missing = 0;
  const loop = (async () => {
    while (running) {
      samples++;
      if (!(await holds(lab, host, ip))) missing++;
      await sleep(50);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { samples, missing };
    },
  };
}

function vigil(lab: Lab, host: string, args: string[]) {
  return lab.exec(host, process.execPath, [VIGIL_JS, ...args], { timeoutMs: 60_000 });
}

const logOf = (lab: Lab, host: string): Promise<string> => readFile(lab.hostPath(host, LOG), 'utf8').catch(() => '');

async function teardown(t: TestContext, pfx: string, lab: Lab | undefined, passed: boolean): Promise<void> {
  if (lab !== undefined && !passed) {
    for (const n of lab.nodes)
      for (const line of (await logOf(lab, n)).split('\n').slice(-40)) t.diagnostic(`${n}| ${line}`);
  }
  await cleanup(pfx);
  assert.deepEqual(await leftovers(pfx), [], 'the lab is torn down');
}

test('vigil reload: new group and timings in place, the unchanged VIP never moves; bad files refused; restart-only changes named', async (t) => {
  if (!needRoot(t)) return;
  const pfx = uniquePrefix('rld');
  let lab: Lab | undefined;
  let passed = false;
  try {
    lab = await Lab.up({ prefix: pfx, nodes: 2 });
    const driver = new VigilDriver();
    const rsc1 = `linux1 IPaddr::${VIP}/24/${IFACE}\n`;
    for (const n of lab.nodes) {
      await lab.resetRun(n);
      await writeFiles(lab, n, hacf(), rsc1);
    }
    for (const n of lab.nodes) await driver.start(lab, n);
    const l = lab;
    await waitFor('linux1 to hold the VIP', 60_000, async () => ((await holds(l, 'linux1', VIP)) ? true : undefined));
    await sleep(1000);

    // 1. A second group (preferred by linux2) and a faster heartbeat, on both nodes.
    const watch = watchStays(lab, 'linux1', VIP);
    const rsc2 = `${rsc1}linux2 IPaddr::${VIP2}/24/${IFACE}\n`;
    for (const n of lab.nodes) await writeFiles(lab, n, hacf([], '100ms'), rsc2);
    for (const n of lab.nodes) {
      const r = await vigil(lab, n, ['reload']);
      assert.equal(r.code, 0, `${n}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^Configuration reloaded: \d+ change\(s\) applied:/m);
      assert.match(r.stdout, /keepalive 200 ms → 100 ms/);
      assert.match(r.stdout, new RegExp(`group IPaddr::${VIP2.replaceAll('.', '\\.')}/24/${IFACE} added`));
    }
    await waitFor('linux2 to hold the new VIP', 30_000, async () =>
      (await holds(l, 'linux2', VIP2)) ? true : undefined,
    );
    await sleep(1500);
    const w = await watch.stop();
    assert.equal(w.missing, 0, `the unchanged VIP was missing from linux1 in ${w.missing} of ${w.samples} samples`);
    assert.equal(await holds(lab, 'linux2', VIP), false);
    const s1 = JSON.parse((await vigil(lab, 'linux1', ['status', '--json'])).stdout) as {
      parameters: Record<string, string>;
      nodes: { name: string; status: string }[];
    };
    assert.equal(s1.parameters.keepalive, '100ms');
    assert.equal(s1.nodes.find((x) => x.name === 'linux2')?.status, 'active');
    assert.doesNotMatch(await logOf(lab, 'linux1'), /node linux2: is dead|Late heartbeat/);

    // 2. A broken ha.cf: refused with file:line, the running configuration kept.
    await writeFiles(lab, 'linux1', `${hacf([], '100ms')}keepalive banana\n`, rsc2);
    const bad = await vigil(lab, 'linux1', ['reload']);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /Configuration refused; the running one is kept:/);
    assert.match(bad.stderr, /\/etc\/ha\.d\/ha\.cf:\d+/);
    assert.equal(await holds(lab, 'linux1', VIP), true);

    // 3. A change that needs a restart: named, with the reason, nothing applied.
    await writeFiles(lab, 'linux1', hacf(['realtime off'], '100ms'), rsc2);
    const rt = await vigil(lab, 'linux1', ['reload']);
    assert.equal(rt.code, 2, rt.stdout + rt.stderr);
    assert.match(rt.stderr, /need a restart/);
    assert.match(rt.stderr, /realtime .*: the scheduling policy is set when the daemon starts/);

    // 4. The group removed again on both: linux2 releases it; linux1's VIP still untouched.
    const watch2 = watchStays(lab, 'linux1', VIP);
    for (const n of lab.nodes) await writeFiles(lab, n, hacf([], '100ms'), rsc1);
    for (const n of lab.nodes) assert.equal((await vigil(lab, n, ['reload'])).code, 0);
    await waitFor('linux2 to release the removed VIP', 30_000, async () =>
      (await holds(l, 'linux2', VIP2)) ? undefined : true,
    );
    const w2 = await watch2.stop();
    assert.equal(w2.missing, 0, `the unchanged VIP was missing in ${w2.missing} of ${w2.samples} samples`);
    t.diagnostic(`unchanged VIP sampled ${w.samples + w2.samples} times during reloads, never missing`);
    passed = true;
  } finally {
    await teardown(t, pfx, lab, passed);
  }
});

test('vigil reload in a mixed cluster: the real Heartbeat 3.0.6 peer notices nothing', async (t) => {
  if (!needRoot(t)) return;
  const hb = new HeartbeatDriver();
  await hb.checkAvailable();
  const pfx = uniquePrefix('rldh');
  let lab: Lab | undefined;
  let passed = false;
  try {
    lab = await Lab.up({ prefix: pfx, nodes: 2 });
    const vg = new VigilDriver();
    const rsc = `linux1 IPaddr::${VIP}/24/${IFACE}\n`;
    for (const n of lab.nodes) {
      await lab.resetRun(n);
      await rm(lab.hostPath(n, LOG), { force: true });
      await writeFiles(lab, n, hacf(), rsc);
    }
    await Promise.all([vg.start(lab, 'linux1'), hb.start(lab, 'linux2')]);
    const l = lab;
    await waitFor('linux1 (Vigil) to hold the VIP', 60_000, async () =>
      (await holds(l, 'linux1', VIP)) ? true : undefined,
    );
    await waitFor('Heartbeat to see linux1 active', 30_000, async () =>
      /Status update for node linux1: status active/.test(await logOf(l, 'linux2')) ? true : undefined,
    );
    const hbBefore = (await logOf(lab, 'linux2')).length;
    const watch = watchStays(lab, 'linux1', VIP);
    // Timings Heartbeat tolerates as they are (its own stay), a ping node, a health-check-free detector change.
    await writeFiles(lab, 'linux1', hacf(['deadtime 3', 'ping 192.168.1.1', 'vigil_detector adaptive']), rsc);
    const r = await vigil(lab, 'linux1', ['reload']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /deadtime 2000 ms → 3000 ms/);
    await sleep(5000);
    const w = await watch.stop();
    assert.equal(w.missing, 0, `the VIP was missing from linux1 in ${w.missing} of ${w.samples} samples`);
    const hbLog = (await logOf(lab, 'linux2')).slice(hbBefore);
    assert.doesNotMatch(hbLog, /node linux1: is dead|Late heartbeat|Invalid authentication|lost a lot/);
    assert.doesNotMatch(await logOf(lab, 'linux1'), /node linux2: is dead/);
    passed = true;
  } finally {
    await teardown(t, pfx, lab, passed);
  }
});
