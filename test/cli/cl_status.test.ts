import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ControlRequest } from '../../src/control/protocol.js';
import { statusSnapshot } from '../helpers/status-snapshot.js';
import { ControlServer } from '../../src/control/server.js';

const cliDir = fileURLToPath(new URL('../../src/cli/', import.meta.url));

function run(tool: string, args: string[], socket: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(cliDir, `${tool}.js`), ...args],
      { env: { ...process.env, VIGIL_CONTROL_SOCKET: socket } },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

const snapshot = statusSnapshot({
  generation: 7,
  nodes: [
    {
      name: 'linux1',
      type: 'normal',
      status: 'active',
      links: [{ name: 'eth1', status: 'up' }],
      lastHeard: 0,
      clients: {},
    },
    {
      name: 'linux2',
      type: 'normal',
      status: 'dead',
      links: [{ name: 'eth1', status: 'dead' }],
      lastHeard: 0,
      clients: {},
    },
    {
      name: '192.168.1.1',
      type: 'ping',
      status: 'ping',
      links: [{ name: '192.168.1.1', status: 'up' }],
      lastHeard: 0,
      clients: {},
    },
  ],
  parameters: { keepalive: '1', deadtime: '10' },
  // ha.cf: node linux1, node linux2, ping 192.168.1.1 → Heartbeat lists them the other way round.
  listOrder: ['192.168.1.1', 'linux2', 'linux1'],
});

test('cl_status against a daemon: output and exit codes of Heartbeat 3.0.6', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-cls-'));
  const sock = join(dir, 'control.sock');
  const seen: ControlRequest[] = [];
  const server = new ControlServer({
    path: sock,
    handler: (req) => {
      seen.push(req);
      return Promise.resolve(req.cmd === 'status' ? snapshot : null);
    },
  });
  await server.listen();
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const cases: [string[], number, string][] = [
    [['hbstatus'], 0, 'Heartbeat is running on this machine.\n'],
    [['listnodes'], 0, '192.168.1.1\nlinux2\nlinux1\n'],
    [['listnodes', '-n'], 0, 'linux2\nlinux1\n'],
    [['listnodes', '-p'], 0, '192.168.1.1\n'],
    [['nodestatus', 'linux1'], 0, 'active\n'],
    [['nodestatus', 'LINUX2'], 1, 'dead\n'],
    [['nodestatus', '192.168.1.1'], 0, 'ping\n'],
    [['nodetype', '192.168.1.1'], 0, 'ping\n'],
    [['listhblinks', 'linux2'], 0, '\teth1\n'],
    [['hblinkstatus', 'linux1', 'eth1'], 0, 'up\n'],
    [['hblinkstatus', 'linux2', 'eth1'], 1, 'dead\n'],
    [['rscstatus'], 0, 'all\n'],
    [['rscstatus', '-m'], 0, 'This node is holding all resources.\n'],
    [['hbparameter', '-p', 'deadtime'], 0, '10\n'],
    [['clientstatus', 'linux2', 'ipfail'], 1, 'offline\n'],
    // Errors as the real cl_status reports them (recorded live in test/lab/cl-status-compare.test.ts).
    [['nodestatus'], 11, ''],
    [['nodestatus', 'nosuch'], 11, ''],
    [['hblinkstatus', 'linux2', 'eth9'], 13, ''],
    [['hbparameter'], 11, ''],
    [['hbparameter', '-p', 'nosuch'], 1, ''],
  ];
  for (const [args, code, stdout] of cases) {
    const r = await run('cl_status', args, sock);
    assert.equal(r.stdout, stdout, args.join(' '));
    assert.equal(r.code, code, args.join(' '));
  }
  assert.equal((await run('cl_status', ['nodestatus'], sock)).stderr, 'Not enough parameters.\n');
  assert.equal((await run('cl_status', ['nodetype', 'x'], sock)).stderr, 'Error. May be due to incorrect node name\n');
  assert.match(
    (await run('cl_status', ['listhblinks', 'x'], sock)).stderr,
    /ERROR: Cannot start heartbeat link interface walk\.\n.*ERROR: REASON: EINVAL\n$/,
  );
  const bad = await run('cl_status', ['bogus'], sock);
  assert.equal(bad.code, 11);
  assert.match(bad.stderr, /cl_status: \[\d+\]: ERROR: bogus: invalid sub-command\.\n$/);

  const sb = await run('hb_standby', ['failback'], sock);
  assert.equal(sb.code, 0);
  assert.equal(sb.stdout, '');
  // Not a terminal: `date "+%b %d %T "` first, as Heartbeat's ha_log writes it.
  assert.match(sb.stderr, /^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d Going standby \[foreign\]\.\n$/);
  const tk = await run('hb_takeover', [], sock);
  assert.equal(tk.code, 0);
  assert.deepEqual(seen.slice(-2), [
    { cmd: 'standby', which: 'foreign' },
    { cmd: 'takeover', which: 'all' },
  ]);
  const wrong = await run('hb_standby', ['half'], sock);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /wrong resources\(half\)/);
});

test('cl_status with no daemon: Heartbeat\'s "stopped" answers', async () => {
  const sock = join(tmpdir(), `vigil-none-${process.pid}.sock`);
  const st = await run('cl_status', ['hbstatus'], sock);
  assert.deepEqual([st.code, st.stdout], [1, 'Heartbeat is stopped on this machine.\n']);
  const ln = await run('cl_status', ['listnodes'], sock);
  assert.equal(ln.code, 1);
  assert.match(ln.stderr, /ERROR: Cannot signon with heartbeat\n/);
  const usage = await run('cl_status', [], sock);
  assert.equal(usage.code, 0);
  assert.match(usage.stdout, /^Usage: cl_status <sub-command>/);
});
