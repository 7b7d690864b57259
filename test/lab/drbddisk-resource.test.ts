/**
 * `drbddisk::r0` through drbd-utils' real script (/etc/ha.d/resource.d/drbddisk) under a Vigil cluster in the lab.
 *
 * Why no real replication: DRBD is a kernel module, and this machine has none (no /lib/modules, no /proc/drbd, and
 * a container could not load one). So these tests cover what Vigil owns: how it calls the script (arguments,
 * start/stop/status, environment), how it reads the script's status text, and what it does when the start fails
 * the way it fails on a server without DRBD ("Failed to modprobe drbd"). Each lab host gets its own /etc/drbd.conf
 * defining r0 for linux1 and linux2 (bind-mounted inside the host's mount namespace; the machine's file is untouched).
 *
 * Timing: keepalive 200 ms, deadtime 2 s; drbddisk itself retries `drbdadm primary` 6 times 1 s apart before it
 * gives up, and Vigil (like Heartbeat) hands the group to the peer 30 s after a failed start; the bounds below are
 * several times those.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { mustRun, nowMs, sleep, waitFor } from '../../lab/exec.js';
import { cleanup, IFACE, Lab, VIP } from '../../lab/topology.js';
import { leftovers, needRoot } from './helpers.js';
import * as rsc from './rsc-lab.js';

const DRBDDISK = '/etc/ha.d/resource.d/drbddisk';

function drbdConf(lab: Lab): string {
  return [
    'resource r0 {',
    '  device /dev/drbd0;',
    '  disk /dev/vrt-no-such-disk;',
    '  meta-disk internal;',
    ...lab.nodes.map((n) => `  on ${n} { address ${lab.host(n).ip}:7789; }`),
    '}',
    '',
  ].join('\n');
}

/** Gives every node its own /etc/drbd.conf (and, when `defaults` is set, its own /etc/default/drbd). */
async function privateDrbdFiles(lab: Lab, defaults?: (host: string) => string): Promise<void> {
  for (const n of lab.nodes) {
    // The same directory as the host sees it (the lab's own paths under /run are hidden inside the host).
    const inside = '/var/lib/heartbeat/vrt-etc';
    const dir = lab.hostPath(n, inside);
    await mkdir(dir, { recursive: true });
    await writeFile(`${dir}/drbd.conf`, drbdConf(lab));
    const cmds = [`mount --bind ${inside}/drbd.conf /etc/drbd.conf`];
    if (defaults !== undefined) {
      // /etc/default/drbd does not exist on the machine, and a bind mount needs a target: the host gets a private
      // copy of the whole /etc/default with the file added.
      await mustRun('cp', ['-a', '/etc/default', `${dir}/default`]);
      await writeFile(`${dir}/default/drbd`, defaults(n));
      cmds.push(`mount --bind ${inside}/default /etc/default`);
    }
    await mustRun('nsenter', [...lab.enterArgs(n), 'sh', '-c', cmds.join(' && ')]);
  }
}

/** Polls the VIP holders until `stop()`; returns the samples that saw it on two nodes. */
function watchVip(lab: Lab): { stop: () => Promise<string[]> } {
  let stopped = false;
  const doubles: string[] = [];
  const loop = (async () => {
    while (!stopped) {
      const h = await rsc.vipHolders(lab);
      if (h.length > 1) doubles.push(`${new Date().toISOString()} ${h.join(',')}`);
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return doubles;
    },
  };
}

test('drbddisk::r0 with the real drbdadm and no DRBD kernel module: the start fails, the group is given up cleanly and logged with the script output', async (t) => {
  if (!needRoot(t)) return;
  const absent = await rsc.missing([DRBDDISK, '/sbin/drbdadm']);
  if (absent !== undefined) {
    t.skip(`needs ${absent} (Debian package drbd-utils)`);
    return;
  }
  const prefix = rsc.vrtPrefix('d');
  let lab: Lab | undefined;
  let watch: { stop: () => Promise<string[]> } | undefined;
  try {
    lab = await Lab.up({ prefix, nodes: 2 });
    await privateDrbdFiles(lab);
    await rsc.writeCluster(lab, {
      haresources: `linux1 IPaddr::${VIP}/24/${IFACE} drbddisk::r0\n`,
      autoFailback: true,
    });
    watch = watchVip(lab);
    const t0 = nowMs();
    await Promise.all([rsc.startVigil(lab, 'linux1'), rsc.startVigil(lab, 'linux2')]);

    // linux1 starts the group left to right: the VIP, then drbddisk, whose `drbdadm primary r0` cannot work here.
    await rsc.logShows(lab, 'linux1', /Running \/etc\/ha\.d\/+resource\.d\/drbddisk r0 start/, 60_000);
    await rsc.logShows(lab, 'linux1', /Giving up resources due to failure of drbddisk::r0/, 60_000);
    const log1 = await rsc.logOf(lab, 'linux1');
    assert.match(log1, /ERROR: Return code 1 from \/etc\/ha\.d\/+resource\.d\/drbddisk/, log1);
    // What drbdadm said is in the main log, next to the failure (Heartbeat keeps it in the debug log only).
    assert.match(
      log1,
      /ERROR: \/etc\/ha\.d\/+resource\.d\/drbddisk start: .*(modprobe drbd|drbdsetup primary r0)/,
      log1,
    );
    // The group was released again, right to left: drbddisk stop, then the VIP.
    await rsc.logShows(lab, 'linux1', /Running \/etc\/ha\.d\/+resource\.d\/drbddisk r0 stop/, 30_000);
    await waitFor('the VIP gone from linux1 after the failed start', 30_000, async () =>
      (await rsc.vipHolders(lab!)).includes('linux1') ? undefined : true,
    );
    t.diagnostic(`linux1 gave the group up ${Math.round(nowMs() - t0)} ms after start-up`);

    // Heartbeat's answer to a failed start is to go standby 30 s later, so the peer tries: linux2 fails the same
    // way and gives up too. The cluster ends with nobody holding the VIP, both daemons alive, no reboot.
    await rsc.logShows(lab, 'linux2', /Giving up resources due to failure of drbddisk::r0/, 90_000);
    await waitFor('the VIP gone from linux2 after its failed start', 30_000, async () =>
      (await rsc.vipHolders(lab!)).length === 0 ? true : undefined,
    );
    const doubles = await watch.stop();
    watch = undefined;
    assert.deepEqual(doubles, [], `the VIP was on both nodes${await rsc.logTails(lab)}`);
    for (const n of lab.nodes) {
      assert.ok((await rsc.vigil.daemonPids(lab, n)).length > 0, `Vigil still runs on ${n}`);
      assert.doesNotMatch(
        await rsc.logOf(lab, n),
        /Reboot required|not LSB-compliant/,
        `${n}${await rsc.logTails(lab)}`,
      );
    }
    // status of an r0 that is not Primary reads "stopped (Unconfigured)": not running.
    const st = await lab.exec('linux1', DRBDDISK, ['r0', 'status']);
    assert.equal(st.stdout.trim(), 'stopped (Unconfigured)');
  } finally {
    await watch?.stop();
    if (lab !== undefined) await rsc.killAll(lab);
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});

/**
 * A recording stand-in for drbdadm (drbddisk reads DRBDADM from /etc/default/drbd, which it documents for this):
 * the real drbddisk script runs, and the stand-in plays the kernel's part, keeping r0's role in a file of the host
 * and logging every call with its arguments and the HA_* environment the script inherited from Vigil.
 */
function recorder(host: string): string {
  return [
    '#!/bin/sh',
    'calls=/run/vrt-drbdadm.calls',
    `echo "args=$*|HA_CURHOST=$HA_CURHOST|HA_DIR=$HA_DIR|HA_FUNCS=$HA_FUNCS|HA_LOGFILE=$HA_LOGFILE|HA_DEBUGLOG=$HA_DEBUGLOG|HA_NICEFAILBACK=$HA_NICEFAILBACK|HA_LOGFACILITY=$HA_LOGFACILITY" >> $calls`,
    'state=/run/vrt-drbd-r0.role',
    'case "$1" in',
    '  primary) echo Primary > $state ;;',
    '  secondary) echo Secondary > $state ;;',
    '  role) r=$(cat $state 2>/dev/null || echo Secondary); echo "$r/Unknown" ;;',
    '  sh-dev) echo /dev/drbd0 ;;',
    '  *) echo "unexpected drbdadm call on ' + host + ': $*" >&2; exit 2 ;;',
    'esac',
    '',
  ].join('\n');
}

async function role(lab: Lab, host: string): Promise<string> {
  return (await readFile(lab.hostPath(host, '/run/vrt-drbd-r0.role'), 'utf8').catch(() => 'Secondary\n')).trim();
}

async function calls(lab: Lab, host: string): Promise<string[]> {
  const text = await readFile(lab.hostPath(host, '/run/vrt-drbdadm.calls'), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

test('drbddisk::r0 calling convention: Vigil runs the real script with `r0 start|stop|status` and Heartbeat`s environment, and reads its status text', async (t) => {
  if (!needRoot(t)) return;
  const absent = await rsc.missing([DRBDDISK]);
  if (absent !== undefined) {
    t.skip(`needs ${absent} (Debian package drbd-utils)`);
    return;
  }
  const prefix = rsc.vrtPrefix('c');
  let lab: Lab | undefined;
  try {
    lab = await Lab.up({ prefix, nodes: 2 });
    for (const n of lab.nodes) {
      // In the host's own /run, which its mount namespace shows at /run.
      await writeFile(lab.hostPath(n, '/run/vrt-drbdadm'), recorder(n), { mode: 0o755 });
    }
    await privateDrbdFiles(lab, () => 'DRBDADM=/run/vrt-drbdadm\n');
    await rsc.writeCluster(lab, {
      haresources: `linux1 IPaddr::${VIP}/24/${IFACE} drbddisk::r0\n`,
      autoFailback: false,
    });
    await Promise.all([rsc.startVigil(lab, 'linux1'), rsc.startVigil(lab, 'linux2')]);
    await waitFor('r0 Primary on linux1', 60_000, async () =>
      (await role(lab!, 'linux1')) === 'Primary' ? true : undefined,
    );
    await rsc.logShows(lab, 'linux1', /Running \/etc\/ha\.d\/+resource\.d\/drbddisk r0 start/, 10_000);
    assert.equal(await role(lab, 'linux2'), 'Secondary');

    // The calls drbddisk made for Vigil: `role r0` for Vigil's status check, then `primary r0` for start.
    const c1 = await calls(lab, 'linux1');
    const args1 = c1.map((l) => /^args=([^|]*)/.exec(l)?.[1]);
    const firstPrimary = args1.indexOf('primary r0');
    assert.ok(firstPrimary > 0, `status before start: ${args1.join('; ')}`);
    assert.equal(args1[firstPrimary - 1], 'role r0', args1.join('; '));
    // The environment reached the script (and from it, drbdadm) as Heartbeat sets it.
    const env = c1[firstPrimary] ?? '';
    for (const kv of [
      'HA_CURHOST=linux1',
      'HA_DIR=/etc/ha.d',
      'HA_FUNCS=/etc/ha.d/shellfuncs',
      'HA_LOGFILE=/var/log/heartbeat.log',
      'HA_DEBUGLOG=/var/log/ha-debug',
      'HA_NICEFAILBACK=yes',
    ])
      assert.ok(env.includes(`|${kv}|`) || env.endsWith(`|${kv}`), `${kv} missing in: ${env}`);

    // Status text: the real script says "running (Primary)" on linux1, "stopped (Secondary)" on linux2.
    assert.equal((await lab.exec('linux1', DRBDDISK, ['r0', 'status'])).stdout.trim(), 'running (Primary)');
    assert.equal((await lab.exec('linux2', DRBDDISK, ['r0', 'status'])).stdout.trim(), 'stopped (Secondary)');

    // Graceful stop of linux1: drbddisk stop (`secondary r0`) on linux1 before linux2 promotes.
    await rsc.vigil.stop(lab, 'linux1');
    await waitFor('r0 Primary on linux2', 30_000, async () =>
      (await role(lab!, 'linux2')) === 'Primary' ? true : undefined,
    );
    assert.equal(await role(lab, 'linux1'), 'Secondary');
    assert.ok((await calls(lab, 'linux1')).some((l) => l.startsWith('args=secondary r0|')));
    const h = await rsc.vipHolders(lab);
    assert.deepEqual(h, ['linux2'], await rsc.logTails(lab));
    for (const n of lab.nodes)
      assert.doesNotMatch(await rsc.logOf(lab, n), /ERROR|CRIT/, `${n} logged an error${await rsc.logTails(lab)}`);
    for (const n of lab.nodes)
      assert.deepEqual(
        (await calls(lab, n)).filter((l) => !/^args=(role|primary|secondary|sh-dev) r0\|/.test(l)),
        [],
        `${n}: drbddisk called drbdadm only for r0`,
      );
  } finally {
    if (lab !== undefined) await rsc.killAll(lab);
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});
