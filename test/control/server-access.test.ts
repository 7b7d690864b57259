/**
 * The control socket's access control for real: a ControlServer with the daemon's policy on a temporary path, and the
 * real tools (cl_status, hb_standby, vigil) run as root, as nobody, and as nobody in a group created for the test
 * (setpriv sets the credentials the kernel then reports through SO_PEERCRED / SO_PEERGROUPS). Needs root.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ControlRequest } from '../../src/control/protocol.js';
import { ControlServer } from '../../src/control/server.js';
import { statusSnapshot } from '../helpers/status-snapshot.js';
import { controlAccess } from '../../src/daemon/control-access.js';

const run = promisify(execFile);
const cliDir = fileURLToPath(new URL('../../src/cli/', import.meta.url));
const NOBODY = 65534;

const snapshot = statusSnapshot({
  nodes: [{ name: 'linux1', type: 'normal', status: 'active', links: [], lastHeard: 0, clients: {} }],
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a CLI tool with the given credentials (undefined: as root, unchanged). */
function tool(socket: string, as: string[] | undefined, name: string, args: string[]): Promise<Result> {
  const argv = [process.execPath, join(cliDir, `${name}.js`), ...args];
  const [file, ...rest] = as === undefined ? argv : ['setpriv', ...as, '--', ...argv];
  return new Promise((resolve) => {
    execFile(
      file!,
      rest,
      { env: { PATH: process.env.PATH, VIGIL_CONTROL_SOCKET: socket }, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : Number(err.code), stdout, stderr });
      },
    );
  });
}

async function setup(t: TestContext): Promise<{ dir: string; group: string; gid: number } | undefined> {
  if (process.getuid?.() !== 0) {
    t.skip('needs root (creates a group, runs tools as another user)');
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'vigil-acs-'));
  // nobody must reach the socket inside.
  await chmod(dir, 0o755);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const group = `vigil-acs-${process.pid}`;
  await run('groupadd', [group]);
  t.after(async () => {
    await run('groupdel', [group]);
  });
  const { stdout } = await run('getent', ['group', group]);
  return { dir, group, gid: Number(stdout.split(':')[2]) };
}

function server(path: string, access: Awaited<ReturnType<typeof controlAccess>> | undefined, seen: string[]) {
  return new ControlServer({
    path,
    ...(access === undefined ? {} : { access }),
    log: (_level, text) => void seen.push(text),
    handler: (req: ControlRequest) =>
      Promise.resolve(req.cmd === 'status' ? snapshot : { accepted: true, cmd: req.cmd }),
  });
}

test('reads for root and apiauth’s group (primary or supplementary); changes for root only', async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const path = join(env.dir, 'control.sock');
  const logs: string[] = [];
  const warnings: string[] = [];
  const access = await controlAccess(
    {
      apiauth: [
        { client: 'cl_status', uids: [], gids: [env.group, 'no-such-group-acs'], origin: { file: 'ha.cf', line: 3 } },
      ],
    },
    (w) => void warnings.push(w),
  );
  assert.deepEqual(warnings, [
    'ha.cf:3 (apiauth cl_status): no group no-such-group-acs on this host: it gives no status access',
  ]);
  const srv = server(path, access, logs);
  await srv.listen();
  t.after(() => srv.close());
  assert.equal(srv.checksPeers, true);
  assert.equal((await stat(path)).mode & 0o777, 0o666, 'anyone may connect: the credentials are the gate');

  // root: everything.
  const rootRsc = await tool(path, undefined, 'cl_status', ['rscstatus']);
  assert.deepEqual([rootRsc.code, rootRsc.stdout], [0, 'all\n']);
  const rootStandby = await tool(path, undefined, 'hb_standby', []);
  assert.equal(rootStandby.code, 0, rootStandby.stderr);

  // nobody, in no group: every read refused, with the group it needs; never "stopped".
  const nobody = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  const hb = await tool(path, nobody, 'cl_status', ['hbstatus']);
  assert.equal(hb.code, 1);
  assert.equal(hb.stdout, '', 'no "Heartbeat is stopped on this machine."');
  assert.match(
    hb.stderr,
    new RegExp(`permission denied: reading the cluster status needs root or a member of group ${env.group}`),
  );
  const rsc = await tool(path, nobody, 'cl_status', ['rscstatus']);
  assert.equal(rsc.code, 1);
  assert.match(rsc.stderr, /Cannot signon with heartbeat[\s\S]*REASON: permission denied/);
  const st = await tool(path, nobody, 'vigil', ['status']);
  assert.equal(st.code, 4, st.stderr);
  assert.match(st.stderr, /permission denied/);
  const sb = await tool(path, nobody, 'hb_standby', []);
  assert.equal(sb.code, 1);
  assert.match(sb.stderr, /permission denied: standby changes the cluster and needs root/);
  assert.ok(
    logs.some((l) => /^control: standby refused to uid 65534 \(pid \d+\): not root$/.test(l)),
    logs.join('\n'),
  );

  // nobody with the group as a supplementary group, then as its primary group: reads yes, changes no.
  for (const as of [
    [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, `--groups=${env.gid}`],
    [`--reuid=${NOBODY}`, `--regid=${env.gid}`, '--clear-groups'],
  ]) {
    const ok = await tool(path, as, 'cl_status', ['rscstatus']);
    assert.deepEqual([ok.code, ok.stdout], [0, 'all\n'], ok.stderr);
    const up = await tool(path, as, 'cl_status', ['hbstatus']);
    assert.deepEqual([up.code, up.stdout], [0, 'Heartbeat is running on this machine.\n']);
    const tk = await tool(path, as, 'hb_takeover', []);
    assert.equal(tk.code, 1);
    assert.match(tk.stderr, /permission denied: takeover changes the cluster and needs root/);
    const cu = await tool(path, as, 'vigil', ['cleanup']);
    assert.equal(cu.code, 4);
    assert.match(cu.stderr, /permission denied: cleanup/);
  }
});

test('apiauth uid=: that user reads; without it the default group haclient is named', async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const path = join(env.dir, 'control.sock');
  const srv = server(
    path,
    await controlAccess(
      { apiauth: [{ client: 'anon', uids: [String(NOBODY)], gids: [], origin: { file: 'ha.cf', line: 9 } }] },
      () => undefined,
    ),
    [],
  );
  await srv.listen();
  t.after(() => srv.close());
  const as = [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  assert.equal((await tool(path, as, 'cl_status', ['rscstatus'])).stdout, 'all\n');
  await srv.close();

  const srv2 = server(path, await controlAccess({ apiauth: [] }, () => undefined), []);
  await srv2.listen();
  t.after(() => srv2.close());
  const r = await tool(path, as, 'cl_status', ['hbstatus']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /needs root or a member of group haclient, as Heartbeat's default/);
});

test('a root-only socket (no peer checks) is "permission denied" for others, never "not running"', async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const path = join(env.dir, 'control.sock');
  const logs: string[] = [];
  // Peer credentials unreadable: the server keeps the socket 0600 and checks nothing, rather than refusing root.
  const access = { ...(await controlAccess({ apiauth: [] }, () => undefined)), peer: () => undefined };
  const srv = server(path, access, logs);
  await srv.listen();
  t.after(() => srv.close());
  assert.equal(srv.checksPeers, false);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.match(logs.join('\n'), /peer credentials \(SO_PEERCRED\) cannot be read.*stays root-only \(mode 0600\)/);
  assert.equal((await tool(path, undefined, 'cl_status', ['rscstatus'])).stdout, 'all\n');

  const as = [`--reuid=${NOBODY}`, `--regid=${env.gid}`, '--clear-groups'];
  const hb = await tool(path, as, 'cl_status', ['hbstatus']);
  assert.equal(hb.code, 1);
  assert.equal(hb.stdout, '');
  assert.match(hb.stderr, /permission denied: cannot connect to .*control\.sock: the socket is root-only/);
  const st = await tool(path, as, 'vigil', ['status']);
  assert.equal(st.code, 4);
  assert.match(st.stderr, /permission denied/);
  const sb = await tool(path, as, 'hb_standby', []);
  assert.equal(sb.code, 1);
  assert.match(sb.stderr, /permission denied/);
  assert.doesNotMatch(sb.stderr, /not running/);
});
