/**
 * An /etc/init.d LSB script as a haresources resource, in a two-node Vigil cluster in the lab: Heartbeat's lookup
 * (/etc/ha.d/resource.d first, then /etc/init.d), status judged by the text the script prints (not its exit code),
 * and failed stops retried 1 s apart.
 *
 * The scripts are written by the test into a private directory that each lab host bind-mounts over /etc/init.d
 * inside its own mount namespace (with a copy of the machine's scripts beside them): the machine's real
 * /etc/init.d is never written to. The "service" is a `sleep` with a pid file in the host's own /run.
 *
 * Timing: keepalive 200 ms, deadtime 2 s; the bounds are 10x or more what each step needs (2 shared cores).
 */
import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { mustRun } from '../../lab/exec.js';
import { cleanup, IFACE, Lab, VIP } from '../../lab/topology.js';
import { leftovers, needRoot } from './helpers.js';
import { groupOn, killAll, logOf, logShows, startVigil, vigil, vrtPrefix, writeCluster } from './rsc-lab.js';

/**
 * An LSB init script whose status exit codes are deliberately the wrong way round (3 while running, 0 while
 * stopped): a daemon that judged status by exit code would start it twice or never. Every call is recorded with
 * the script's own path, its arguments and HA_CURHOST. `/run/NAME.stopfail` holds how many stops fail next.
 */
function lsbScript(name: string): string {
  return `#!/bin/sh
### BEGIN INIT INFO
# Provides:          ${name}
# Short-Description: a service written by Vigil's lab test
### END INIT INFO
PIDFILE=/run/${name}.pid
echo "$0 $*|HA_CURHOST=$HA_CURHOST" >> /run/${name}.calls
running() { [ -f $PIDFILE ] && kill -0 "$(cat $PIDFILE)" 2>/dev/null; }
case "$1" in
  start)
    running && exit 0
    setsid sleep 100000 </dev/null >/dev/null 2>&1 &
    echo $! > $PIDFILE
    ;;
  stop)
    n=$(cat /run/${name}.stopfail 2>/dev/null || echo 0)
    if [ "$n" -gt 0 ]; then
      echo $((n - 1)) > /run/${name}.stopfail
      echo "${name}: device busy" >&2
      exit 1
    fi
    running && kill "$(cat $PIDFILE)"
    rm -f $PIDFILE
    ;;
  status)
    if running; then echo "${name} is running"; exit 3; else echo "${name} is not running"; exit 0; fi
    ;;
  *) echo "Usage: $0 {start|stop|status}"; exit 2 ;;
esac
exit 0
`;
}

async function calls(lab: Lab, host: string, name: string): Promise<string[]> {
  const text = await readFile(lab.hostPath(host, `/run/${name}.calls`), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

async function serviceRuns(lab: Lab, host: string, name: string): Promise<boolean> {
  const r = await lab.sh(host, `kill -0 "$(cat /run/${name}.pid 2>/dev/null)" 2>/dev/null`);
  return r.code === 0;
}

async function runningOn(lab: Lab, host: string, timeoutMs: number): Promise<void> {
  await groupOn(
    lab,
    host,
    timeoutMs,
    'services',
    async (n) => (await serviceRuns(lab, n, 'vrtsvc')) && (await serviceRuns(lab, n, 'vrtboth')),
  );
}

test('an /etc/init.d LSB script as a resource: found after resource.d, status read from its text, failed stops retried', async (t) => {
  if (!needRoot(t)) return;
  const prefix = vrtPrefix('l');
  let lab: Lab | undefined;
  try {
    lab = await Lab.up({ prefix, nodes: 2 });
    for (const n of lab.nodes) {
      // The host's private /etc/init.d: the machine's scripts plus ours, bind-mounted inside the host only.
      const inside = '/var/lib/heartbeat/vrt-init.d';
      const dir = lab.hostPath(n, inside);
      await mustRun('cp', ['-a', '/etc/init.d', dir]);
      for (const s of ['vrtsvc', 'vrtboth']) {
        await writeFile(`${dir}/${s}`, lsbScript(s));
        await chmod(`${dir}/${s}`, 0o755);
      }
      // vrtboth also exists in the host's /etc/ha.d/resource.d, which Heartbeat searches first.
      await writeFile(lab.hostPath(n, '/etc/ha.d/resource.d/vrtboth'), lsbScript('vrtboth'));
      await chmod(lab.hostPath(n, '/etc/ha.d/resource.d/vrtboth'), 0o755);
      await mustRun('nsenter', [...lab.enterArgs(n), 'mount', '--bind', inside, '/etc/init.d']);
    }
    // linux1's first two stops of vrtsvc fail ("device busy") with the service still running.
    await writeFile(lab.hostPath('linux1', '/run/vrtsvc.stopfail'), '2\n');
    await writeCluster(lab, { haresources: `linux1 IPaddr::${VIP}/24/${IFACE} vrtsvc vrtboth\n`, autoFailback: false });

    await Promise.all([startVigil(lab, 'linux1'), startVigil(lab, 'linux2')]);
    await runningOn(lab, 'linux1', 60_000);
    const c1 = await calls(lab, 'linux1', 'vrtsvc');
    // The lookup: /etc/init.d for vrtsvc, /etc/ha.d/resource.d for vrtboth; called as `<script> start|status`.
    assert.ok(c1.length > 0 && c1.every((l) => l.startsWith('/etc/init.d/vrtsvc ')), c1.join('\n'));
    const both = await calls(lab, 'linux1', 'vrtboth');
    assert.ok(both.length > 0 && both.every((l) => /^\/etc\/ha\.d\/+resource\.d\/vrtboth /.test(l)), both.join('\n'));
    // Status said "vrtsvc is not running" with exit 0: Vigil read the text and started it (once).
    const ops = c1.map((l) => l.split('|')[0]!.split(' ').slice(1).join(' '));
    const firstStart = ops.indexOf('start');
    assert.ok(firstStart > 0 && ops[firstStart - 1] === 'status', ops.join('; '));
    assert.equal(ops.filter((o) => o === 'start').length, 1, ops.join('; '));
    assert.ok(
      c1.every((l) => l.endsWith('|HA_CURHOST=linux1')),
      c1.join('\n'),
    );
    await logShows(lab, 'linux1', /Running \/etc\/init\.d\/vrtsvc start/, 5000);
    // linux2 only asked for status (its start-up check that nothing runs), never started anything.
    const ops2 = (await calls(lab, 'linux2', 'vrtsvc')).map((l) => l.split('|')[0]!.split(' ').slice(1).join(' '));
    assert.deepEqual([...new Set(ops2)], ['status'], ops2.join('; '));

    // Graceful stop of linux1: vrtboth stops first (right to left), vrtsvc's stop fails twice and is retried.
    await vigil.stop(lab, 'linux1');
    await runningOn(lab, 'linux2', 60_000);
    const log1 = await logOf(lab, 'linux1');
    assert.equal((log1.match(/Retrying failed stop operation \[vrtsvc\]/g) ?? []).length, 2, log1);
    assert.match(log1, /vrtsvc stop: vrtsvc: device busy/, log1);
    assert.doesNotMatch(log1, /Reboot required|not LSB-compliant/, log1);
    const stops = (await calls(lab, 'linux1', 'vrtsvc')).filter((l) => l.startsWith('/etc/init.d/vrtsvc stop|'));
    assert.equal(stops.length, 3, 'two failed stops, then the one that worked');
    assert.equal(await serviceRuns(lab, 'linux1', 'vrtsvc'), false);
    const order = log1
      .split('\n')
      .filter((l) => /Running \/etc\/.*(vrtsvc|vrtboth) stop/.test(l))
      .map((l) => (l.includes('vrtboth') ? 'vrtboth' : 'vrtsvc'));
    assert.deepEqual(order.slice(0, 2), ['vrtboth', 'vrtsvc'], 'stopped right to left');
  } finally {
    if (lab !== undefined) await killAll(lab);
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});
