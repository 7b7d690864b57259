import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCmd } from '../../lab/exec.js';
import { cleanup, Lab } from '../../lab/topology.js';
import { leftovers, needRoot, uniquePrefix } from './helpers.js';

test('lab up builds isolated hosts and down leaves nothing behind', async (t) => {
  if (!needRoot(t)) return;
  const prefix = uniquePrefix('topo');
  await cleanup(prefix);
  const lab = await Lab.up({ prefix, nodes: 3 });
  try {
    assert.deepEqual(lab.nodes, ['linux1', 'linux2', 'linux3']);
    // Own hostname, own interface eth1 with the tutorial address, no route out of the lab subnet.
    const l1 = await lab.mustExec('linux1', 'sh', ['-c', 'hostname; ip -4 -o addr show dev eth1; ip route']);
    assert.match(l1, /^linux1\n/);
    assert.match(l1, /inet 192\.168\.1\.29\/24/);
    assert.doesNotMatch(l1, /default/);
    // Per-host directories: a file written in linux1's /etc/ha.d and /var/log is not in linux2's, nor in the root's.
    await lab.mustExec('linux1', 'sh', [
      '-c',
      'echo one > /etc/ha.d/probe-file; echo one > /var/log/probe-file; echo one > /var/run/probe-file',
    ]);
    const l2 = await lab.exec('linux2', 'sh', ['-c', 'cat /etc/ha.d/probe-file /var/log/probe-file /run/probe-file']);
    assert.notEqual(l2.code, 0);
    const root = await runCmd('sh', ['-c', 'cat /etc/ha.d/probe-file']);
    assert.notEqual(root.code, 0);
    assert.ok((await lab.mustExec('linux1', 'ls', ['/etc/ha.d/resource.d'])).includes('IPaddr'));
    // The switch connects every host: the client reaches linux3, linux1 reaches the router.
    await lab.mustExec('client', 'ping', ['-c1', '-W2', '192.168.1.31']);
    await lab.mustExec('linux1', 'ping', ['-c1', '-W2', '192.168.1.1']);
    // Nothing in the root namespace got a lab address.
    const rootAddrs = await runCmd('ip', ['-4', '-o', 'addr']);
    assert.doesNotMatch(rootAddrs.stdout, /192\.168\.1\.(1|29|30|31|100)\//);

    // A crashed run: `up` again without `down`, with a process left running in a host; it is cleaned away.
    await lab.exec('linux2', 'sh', ['-c', 'setsid sleep 1000 </dev/null >/dev/null 2>&1 &']);
    const again = await Lab.up({ prefix, nodes: 2 });
    assert.deepEqual(again.nodes, ['linux1', 'linux2']);
    assert.equal((await again.pids('linux2')).length, 0);
  } finally {
    await cleanup(prefix);
  }
  assert.deepEqual(await leftovers(prefix), []);
});
