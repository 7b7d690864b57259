import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../../src/util/version.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

// package.json is where a release number is written; the copies elsewhere must follow it.
test('every copy of the version agrees with package.json', async () => {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version, 'src/util/version.ts VERSION, the one the code uses');
  for (const page of await readdir(join(REPO, 'man'))) {
    const th = (await readFile(join(REPO, 'man', page), 'utf8')).split('\n')[0] ?? '';
    assert.ok(th.includes(`"Vigil ${pkg.version}"`), `man/${page}: ${th}`);
  }
});
