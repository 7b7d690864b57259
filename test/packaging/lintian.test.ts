/**
 * lintian on the built .deb: no error and no warning. The overrides the package keeps are in
 * packaging/deb/lintian-overrides, each with its reason. Needs `npm run package` first (CI runs it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCmd } from '../../lab/exec.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

test('lintian finds no error and no warning in the .deb', { timeout: 900_000 }, async (t) => {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const files = await readdir(join(REPO, 'build')).catch(() => [] as string[]);
  const deb = files.find((f) => f.startsWith(`vigil_${pkg.version.replace(/-/g, '~')}_`) && f.endsWith('.deb'));
  if (deb === undefined) {
    t.skip('no build/vigil_<version>_<arch>.deb: run `npm run package` first');
    return;
  }
  try {
    await access('/usr/bin/lintian');
  } catch {
    t.skip('lintian is not installed (apt-get install lintian)');
    return;
  }
  const r = await runCmd(
    'lintian',
    ['--tag-display-limit', '0', '--display-level', '>=warning', join(REPO, 'build', deb)],
    {
      timeoutMs: 800_000,
    },
  );
  const findings = r.stdout.split('\n').filter((l) => /^[EW]: /.test(l));
  assert.deepEqual(findings, [], r.stdout + r.stderr);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});
