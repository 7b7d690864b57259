/**
 * The npm package as a user gets it: `npm pack` (prepack builds), then `npm install -g` of that tarball into a
 * temporary prefix, and every bin run from there. Dependencies come from npm's cache when `npm ci` filled it
 * (--prefer-offline), else from the registry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCmd } from '../../lab/exec.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface PackJson {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

test('npm pack → npm install -g into a temporary prefix: every bin works', { timeout: 600_000 }, async (t) => {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
    version: string;
    bin: Record<string, string>;
  };
  const dir = await mkdtemp(join(tmpdir(), 'vigil-npm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  const pack = await runCmd('npm', ['pack', '--json', '--pack-destination', dir], { timeoutMs: 300_000 });
  assert.equal(pack.code, 0, pack.stderr);
  const info = (JSON.parse(pack.stdout) as PackJson[])[0]!;
  assert.equal(info.filename, `vigil-ha-${pkg.version}.tgz`);
  const files = info.files.map((f) => f.path);
  // What runs, and nothing else: no tests, benchmarks, result folders or source maps (lab/cts/results.js is code).
  for (const bad of files.filter((f) => /^(test|bench|dist\/test|dist\/bench)\/|\.map$|\.ts$|(^|\/)results\//.test(f)))
    assert.fail(`the package carries ${bad}`);
  const needs = [
    ...['dist/src/cli/vigil.js', 'dist/src/cli/heartbeat.js', 'dist/lab/cli.js', 'contrib/vigil.service'],
    // The HTTP server serves the dashboard from the package's own dashboard/ (src/http/server.ts).
    ...['dashboard/index.html', 'dashboard/app.js', 'dashboard/style.css'],
  ];
  for (const need of needs) assert.ok(files.includes(need), `the package lacks ${need}`);
  for (const m of ['man/vigil.8', 'man/cl_status.1', 'man/hb_standby.1', 'man/hb_takeover.1', 'man/vigil-ha.cf.5'])
    assert.ok(files.includes(m), `the package lacks ${m}`);

  const prefix = join(dir, 'prefix');
  const install = await runCmd(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir, info.filename)],
    { timeoutMs: 300_000 },
  );
  assert.equal(install.code, 0, install.stderr);

  const env = { ...process.env, VIGIL_PIDFILE: join(dir, 'vigil.pid'), VIGIL_CONTROL_SOCKET: join(dir, 'ctl.sock') };
  const bin = (name: string): string => join(prefix, 'bin', name);
  for (const name of Object.keys(pkg.bin)) {
    const r = await runCmd(bin(name), name === 'vigil' ? ['--version'] : [], { env, timeoutMs: 30_000 });
    assert.ok(!r.stderr.includes('ERR_MODULE_NOT_FOUND'), `${name}: ${r.stderr}`);
    if (name === 'vigil') assert.equal(r.stdout.trim(), pkg.version);
    else assert.match(r.stdout + r.stderr, /heartbeat|Heartbeat|Usage|usage/, `${name} ran: ${r.stdout}${r.stderr}`);
  }

  // `vigil check` on the tutorial files shipped in the package, copied as an admin would.
  const etc = join(dir, 'ha.d');
  await mkdir(etc);
  const examples = join(prefix, 'lib', 'node_modules', 'vigil-ha', 'examples', 'tutorial');
  for (const f of ['ha.cf', 'authkeys', 'haresources']) await copyFile(join(examples, f), join(etc, f));
  await chmod(join(etc, 'authkeys'), 0o600);
  const check = await runCmd(bin('vigil'), ['check', '--config-dir', etc, '--node', 'linux1'], { env });
  assert.equal(check.code, 0, check.stdout + check.stderr);

  // The Heartbeat-compatible entry the .deb installs as /usr/lib/heartbeat/heartbeat.
  const hb = join(prefix, 'lib', 'node_modules', 'vigil-ha', 'bin', 'heartbeat.js');
  const s = await runCmd(hb, ['-s'], { env });
  assert.equal(s.stdout, 'heartbeat is stopped. No process\n');
  assert.equal(s.code, 3);
  t.diagnostic(`tarball ${info.size} bytes, unpacked ${info.unpackedSize} bytes, ${files.length} files`);
});
