/**
 * Strict modes on real files: a configuration directory in a temporary directory with a resource script, a
 * health-check command and a STONITH command, then modes and owners changed one at a time. Owner changes need root.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzeConfig } from '../../src/config/compile.js';
import type { CompiledConfig } from '../../src/config/types.js';
import { loadConfig } from '../../src/daemon/load.js';
import { checkStrictModes } from '../../src/daemon/strict-modes.js';
import { readConfigDir } from '../../src/os/config-files.js';
import { VigilErrors } from '../../src/util/errors.js';

const tutorial = fileURLToPath(new URL('../../../examples/tutorial', import.meta.url));
const isRoot = process.geteuid?.() === 0;

/** The tutorial with a script resource, a health check and a STONITH command, modes as a umask-022 clone gives. */
async function fixture(t: TestContext): Promise<{ dir: string; bin: string }> {
  const base = await mkdtemp(join(tmpdir(), 'vigil-strict-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  await chmod(base, 0o755);
  const dir = join(base, 'ha.d');
  const bin = join(base, 'bin');
  await cp(tutorial, dir, { recursive: true });
  await chmod(dir, 0o755);
  for (const f of ['ha.cf', 'haresources']) await chmod(join(dir, f), 0o644);
  await chmod(join(dir, 'authkeys'), 0o600);
  await mkdir(join(dir, 'resource.d'), { mode: 0o755 });
  await mkdir(bin, { mode: 0o755 });
  await writeFile(join(dir, 'resource.d', 'websvc'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  for (const s of ['check.sh', 'fence.sh']) await writeFile(join(bin, s), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  await writeFile(join(dir, 'haresources'), 'linux1 192.168.1.50 websvc\n');
  await writeFile(
    join(dir, 'ha.cf'),
    'keepalive 1\ndeadtime 10\nbcast eth1\nnode linux1\nnode linux2\nauto_failback on\n' +
      `vigil_health_check 192.168.1.50 id=web command ${bin}/check.sh\n` +
      `stonith_host * command ${bin}/fence.sh\n`,
  );
  return { dir, bin };
}

async function compiled(dir: string): Promise<CompiledConfig> {
  const { files } = await readConfigDir(dir);
  const r = analyzeConfig({
    configDir: dir,
    localNode: 'linux1',
    hacf: files.hacf!,
    authkeys: files.authkeys!,
    haresources: files.haresources!,
  });
  assert.deepEqual(
    r.errors.map((e) => e.format()),
    [],
  );
  return r.config!;
}

const texts = async (dir: string, euid = 0): Promise<string[]> =>
  (await checkStrictModes(dir, await compiled(dir), euid)).errors.map((e) => e.format());

test('modes as a umask-022 checkout or package leaves them pass', async (t) => {
  const { dir } = await fixture(t);
  assert.deepEqual(await texts(dir), []);
});

test('a writable script, health check, STONITH command or directory is refused at the line that runs it', async (t) => {
  const { dir, bin } = await fixture(t);
  await chmod(join(dir, 'resource.d', 'websvc'), 0o775);
  await chmod(join(bin, 'check.sh'), 0o757);
  await chmod(join(dir, 'ha.cf'), 0o664);
  assert.deepEqual(await texts(dir), [
    `${dir}/ha.cf: writable by group (mode 0664); Vigil reads it as root: fix with \`chmod go-w ${dir}/ha.cf\``,
    `${dir}/haresources:1: ${dir}/resource.d/websvc is writable by group (mode 0775); it is the resource script of websvc (haresources line 1), which Vigil runs as root: fix with \`chmod go-w ${dir}/resource.d/websvc\``,
    `${dir}/ha.cf:7: ${bin}/check.sh is writable by others (mode 0757); it is the health check web, which Vigil runs as root: fix with \`chmod go-w ${bin}/check.sh\``,
  ]);
  await chmod(join(dir, 'resource.d', 'websvc'), 0o755);
  await chmod(join(bin, 'check.sh'), 0o755);
  await chmod(join(dir, 'ha.cf'), 0o644);
  // A writable directory makes the script in it replaceable.
  await chmod(bin, 0o777);
  assert.deepEqual(await texts(dir), [
    `${dir}/ha.cf:7: ${bin} is writable by group and others (mode 0777), so ${bin}/check.sh in it can be replaced; it is the health check web, which Vigil runs as root: fix with \`chmod go-w ${bin}\``,
  ]);
  await chmod(bin, 0o755);
  await chmod(join(dir, 'resource.d'), 0o775);
  assert.deepEqual(await texts(dir), [
    `${dir}/resource.d: writable by group (mode 0775); it holds the resource scripts: fix with \`chmod go-w ${dir}/resource.d\``,
  ]);
});

test('not root: the same findings are warnings, and files of the current user are fine', async (t) => {
  const { dir } = await fixture(t);
  await chmod(join(dir, 'haresources'), 0o666);
  const r = await checkStrictModes(dir, await compiled(dir), 4321);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.warnings.map((w) => [w.code, w.location?.file, w.hint]),
    [['VIGIL_WARN_PERMS', `${dir}/haresources`, `chmod go-w ${dir}/haresources (Vigil refuses this when run as root)`]],
  );
});

test('owners: root only as root; the daemon refuses to load such a directory, every problem at once', async (t) => {
  if (!isRoot) {
    t.skip('needs root (chown)');
    return;
  }
  const { dir, bin } = await fixture(t);
  await chown(join(dir, 'authkeys'), 65534, 0);
  await chown(join(bin, 'fence.sh'), 65534, 0);
  await chmod(dir, 0o775);
  assert.deepEqual(await texts(dir), [
    `${dir}: writable by group (mode 0775); it is the configuration directory: fix with \`chmod go-w ${dir}\``,
    `${dir}/authkeys: owned by uid 65534, not root; Vigil reads it as root: fix with \`chown root ${dir}/authkeys\``,
    `${dir}/ha.cf:8: ${bin}/fence.sh is owned by uid 65534, not root; it is the STONITH command, which Vigil runs as root: fix with \`chown root ${bin}/fence.sh\``,
  ]);
  // The same files run by uid 65534 (a developer's own checkout): its own files pass, the mode still warns.
  const asUser = await checkStrictModes(dir, await compiled(dir), 65534);
  assert.deepEqual(
    asUser.warnings.map((w) => w.message),
    [`writable by group (mode 0775); it is the configuration directory`],
  );
  await assert.rejects(loadConfig(dir, 'linux1'), (e) => {
    assert.ok(e instanceof VigilErrors);
    assert.deepEqual(
      e.errors.map((x) => x.code),
      ['VIGIL_ERR_CFG_PERMS', 'VIGIL_ERR_CFG_PERMS', 'VIGIL_ERR_CFG_PERMS'],
    );
    return true;
  });
  await chown(join(dir, 'authkeys'), 0, 0);
  await chown(join(bin, 'fence.sh'), 0, 0);
  await chmod(dir, 0o755);
  assert.equal((await loadConfig(dir, 'linux1')).config.hacf.localNode, 'linux1');
});
