import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageVersion } from '../../src/cli/version.js';
import { VERSION } from '../../src/daemon/node.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

// package.json is where a release number is written; the copies elsewhere must follow it.
test('every copy of the version agrees with package.json', async () => {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(await packageVersion(), pkg.version, 'src/cli/version.ts reads the shipped package.json');
  assert.equal(VERSION, pkg.version, 'src/daemon/node.ts VERSION');
  const cli = await readFile(join(REPO, 'src/cli/vigil.ts'), 'utf8');
  assert.match(
    cli,
    new RegExp(`\\.version\\('${pkg.version.replace(/\./g, '\\.')}'\\)`),
    'src/cli/vigil.ts .version()',
  );
  for (const page of await readdir(join(REPO, 'man'))) {
    const th = (await readFile(join(REPO, 'man', page), 'utf8')).split('\n')[0] ?? '';
    assert.ok(th.includes(`"Vigil ${pkg.version}"`), `man/${page}: ${th}`);
  }
});
