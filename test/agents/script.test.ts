import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { statusTextSaysRunning } from '../../src/agents/agent.js';
import { ScriptAgent, locateScript } from '../../src/agents/script.js';
import { isVigilError } from '../../src/util/errors.js';

test('status is judged by stdout text exactly as Heartbeat ResourceManager does', () => {
  const cases: [string, boolean][] = [
    ['squid is running...', true],
    ['apache2 is Running', true],
    ['OK', true],
    ['squid is not running', false],
    ['Squid is NOT Running', false],
    ['not running', false],
    ['status: stopped', false],
    ['', false],
    // `*[Nn][Oo][Tt]\ *[Rr]unning*` needs a space right after "not".
    ['nothing running here', true],
    ['notrunning', true],
  ];
  for (const [text, running] of cases) assert.equal(statusTextSaysRunning(text), running, text);
});

async function scriptDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-script-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('locateScript takes resource.d first, then init.d, and needs the execute bit', async (t) => {
  const base = await scriptDir(t);
  const rd = join(base, 'resource.d');
  const initd = join(base, 'init.d');
  await Promise.all([
    import('node:fs/promises').then((f) => f.mkdir(rd)),
    import('node:fs/promises').then((f) => f.mkdir(initd)),
  ]);
  await writeFile(join(initd, 'svc'), '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(await locateScript('svc', [rd, initd]), join(initd, 'svc'));
  await writeFile(join(rd, 'svc'), '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(await locateScript('svc', [rd, initd]), join(rd, 'svc'));
  await writeFile(join(rd, 'noexec'), '#!/bin/sh\n', { mode: 0o644 });
  await assert.rejects(
    locateScript('noexec', [rd, initd]),
    (e) =>
      isVigilError(e) && e.code === 'VIGIL_ERR_RSC_SCRIPT' && /Cannot locate resource script noexec/.test(e.message),
  );
  await assert.rejects(
    locateScript('../init.d/svc', [rd]),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_RSC_SCRIPT',
  );
});

test('ScriptAgent passes the arguments then the operation, and reads status from stdout', async (t) => {
  const dir = await scriptDir(t);
  const log = join(dir, 'calls');
  const path = join(dir, 'svc');
  await writeFile(
    path,
    `#!/bin/sh\necho "$@" >> ${log}\ncase "$3" in status) [ -f ${dir}/on ] && echo "svc is running" || echo "svc is not running";; start) touch ${dir}/on;; stop) rm -f ${dir}/on;; esac\n`,
  );
  await chmod(path, 0o755);
  const agent = new ScriptAgent('svc::a::b', path, ['a', 'b'], { env: process.env, timeoutMs: 5000 });
  assert.equal((await agent.status()).running, false);
  assert.deepEqual(await agent.start(), { ok: true, rc: 0, detail: '' });
  assert.equal((await agent.status()).running, true);
  assert.equal((await agent.stop()).ok, true);
  const { readFile } = await import('node:fs/promises');
  assert.equal(await readFile(log, 'utf8'), 'a b status\na b start\na b status\na b stop\n');
});

test('a failing script reports its return code in Heartbeat wording', async (t) => {
  const dir = await scriptDir(t);
  const path = join(dir, 'bad');
  await writeFile(path, '#!/bin/sh\nexit 3\n', { mode: 0o755 });
  const r = await new ScriptAgent('bad', path, [], { env: process.env, timeoutMs: 5000 }).start();
  assert.deepEqual(r, { ok: false, rc: 3, detail: `Return code 3 from ${path}` });
});

test('a hung script is killed with its whole process group and counts as failed', async (t) => {
  const dir = await scriptDir(t);
  const path = join(dir, 'hang');
  const pidfile = join(dir, 'child.pid');
  // The script forks a grandchild that would outlive a plain kill of the script itself.
  await writeFile(path, `#!/bin/sh\nsleep 300 &\necho $! > ${pidfile}\nwait\n`, { mode: 0o755 });
  const r = await new ScriptAgent('hang', path, [], { env: process.env, timeoutMs: 300 }).start();
  assert.equal(r.ok, false);
  assert.match(r.detail, /timed out after 300 ms/);
  const { readFile } = await import('node:fs/promises');
  const child = Number((await readFile(pidfile, 'utf8')).trim());
  await new Promise((res) => setTimeout(res, 100));
  // Gone, or a zombie waiting for a reaper (in a container PID 1 may never reap it): either way not running.
  const state = await readFile(`/proc/${child}/stat`, 'utf8').then(
    (s) => s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3),
    () => 'gone',
  );
  assert.ok(state === 'gone' || state === 'Z', `the grandchild must be killed too (state ${state})`);
});
