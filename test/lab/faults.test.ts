import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { HeartbeatDriver } from '../../lab/drivers/heartbeat.js';
import { sleep, waitFor } from '../../lab/exec.js';
import * as faults from '../../lab/faults.js';
import { cleanup, IFACE, Lab, ROUTER_IP, VIP } from '../../lab/topology.js';
import { leftovers, needRoot, uniquePrefix } from './helpers.js';

async function reaches(lab: Lab, from: string, ip: string): Promise<boolean> {
  return (await lab.exec(from, 'ping', ['-c1', '-W1', ip])).code === 0;
}

test('network faults: partition, heal, link down/up, power off/on', async (t) => {
  if (!needRoot(t)) return;
  const prefix = uniquePrefix('nflt');
  const lab = await Lab.up({ prefix, nodes: 2 });
  try {
    const [l1, l2] = ['192.168.1.29', '192.168.1.30'];
    assert.ok(await reaches(lab, 'linux1', l2));

    await faults.partition(lab, 'linux1');
    assert.equal(await reaches(lab, 'linux1', l2), false, 'linux1 must not reach linux2');
    assert.equal(await reaches(lab, 'linux2', l1), false, 'linux2 must not reach linux1');
    assert.ok(await reaches(lab, 'client', l1), 'the client reaches linux1');
    assert.ok(await reaches(lab, 'client', l2), 'the client reaches linux2');
    assert.ok(await reaches(lab, 'linux1', ROUTER_IP), 'linux1 reaches the router');
    assert.ok(await reaches(lab, 'linux2', ROUTER_IP), 'linux2 reaches the router');
    await faults.heal(lab);
    assert.ok(await reaches(lab, 'linux1', l2), 'healed');

    await faults.linkDown(lab, 'linux2');
    assert.equal(await reaches(lab, 'client', l2), false);
    const carrier = await lab.mustExec('linux2', 'cat', [`/sys/class/net/${IFACE}/carrier`]);
    assert.equal(carrier.trim(), '0', 'the node sees its link down');
    await faults.linkUp(lab, 'linux2');
    await waitFor('linux2 back', 5000, async () => ((await reaches(lab, 'client', l2)) ? true : undefined));

    // Power off: a process of the host dies, the VIP it held vanishes, nothing answers; power on boots it clean.
    await lab.mustExec('linux1', 'ip', ['addr', 'add', `${VIP}/24`, 'dev', IFACE]);
    await lab.exec('linux1', 'sh', ['-c', 'echo stale > /run/stale; setsid sleep 1000 </dev/null >/dev/null 2>&1 &']);
    assert.ok((await lab.hostPids('linux1')).length > 0);
    await faults.powerOff(lab, 'linux1');
    assert.equal((await lab.hostPids('linux1')).length, 0, 'no process survives a power cut');
    assert.equal(await reaches(lab, 'client', l1), false);
    assert.equal(await reaches(lab, 'client', VIP), false);
    await faults.powerOn(lab, 'linux1');
    await waitFor('linux1 back', 5000, async () => ((await reaches(lab, 'client', l1)) ? true : undefined));
    assert.equal(await reaches(lab, 'client', VIP), false, 'the VIP did not come back by itself');
    assert.notEqual((await lab.exec('linux1', 'cat', ['/run/stale'])).code, 0, '/run is empty after boot');
  } finally {
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});

test('daemon faults on the real Heartbeat: kill -9, freeze, graceful stop, start', async (t) => {
  if (!needRoot(t)) return;
  const prefix = uniquePrefix('dflt');
  const lab = await Lab.up({ prefix, nodes: 2 });
  const hb = new HeartbeatDriver();
  try {
    await hb.configure(lab, {
      nodes: lab.nodes,
      primary: 'linux1',
      vip: VIP,
      cidr: 24,
      iface: IFACE,
      keepaliveMs: 100,
      deadtimeMs: 500,
      autoFailback: true,
      pingIp: ROUTER_IP,
      authKey: 'MaClefSecrete',
    });
    for (const n of lab.nodes) await faults.startDaemon(lab, hb, n);
    // Let the cluster settle (linux1 holds the VIP) so that stop/start below are not racing a takeover, and the
    // process tree is Heartbeat's steady one: the master and its media children. Until then it also forks
    // short-lived ones (the resource manager, its scripts), which come and go on a loaded machine.
    await waitFor('VIP on linux1', 90_000, async () => {
      const r = await lab.exec('linux1', 'ip', ['-4', '-o', 'addr', 'show', 'dev', IFACE]);
      return r.stdout.includes(` ${VIP}/`) ? true : undefined;
    });
    let last: number[] = [];
    const before = await waitFor('master + media children on linux1, the same twice 1 s apart', 60_000, async () => {
      const now = await hb.daemonPids(lab, 'linux1');
      const steady = now.length >= 3 && now.join(' ') === last.join(' ');
      last = now;
      if (!steady) await sleep(1000);
      return steady ? now : undefined;
    });

    // freeze (shorter than deadtime, so nobody fails over): every heartbeat process stopped (state T), then running.
    const f = await faults.freezeDaemon(lab, hb, 'linux1', 300);
    await sleep(100);
    for (const pid of before) {
      const st = await readFile(`/proc/${pid}/stat`, 'utf8');
      assert.match(st.split(') ')[1] ?? '', /^T/, `pid ${pid} should be stopped`);
    }
    await f.resumed;
    await sleep(100);
    for (const pid of before) {
      const st = await readFile(`/proc/${pid}/stat`, 'utf8');
      assert.doesNotMatch(st.split(') ')[1] ?? '', /^T/, `pid ${pid} should run again`);
    }

    // graceful stop on linux2: it exits and logs its shutdown; then it starts again.
    await faults.stopDaemon(lab, hb, 'linux2');
    assert.equal((await hb.daemonPids(lab, 'linux2')).length, 0);
    const log = await readFile(lab.hostPath('linux2', hb.logPath), 'utf8');
    assert.match(log, /Heartbeat shutdown complete/);
    await faults.startDaemon(lab, hb, 'linux2');
    assert.ok((await hb.daemonPids(lab, 'linux2')).length > 0);

    // kill -9: all of its processes, at once.
    await faults.killDaemon(lab, hb, 'linux1');
    await waitFor('heartbeat gone on linux1', 5000, async () =>
      (await hb.daemonPids(lab, 'linux1')).length === 0 ? true : undefined,
    );
  } finally {
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});
