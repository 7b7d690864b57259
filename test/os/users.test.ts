import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { isExecutable, userExistsOnHost } from '../../src/os/users.js';

test('users are looked up through NSS (id -u)', async () => {
  assert.equal(await userExistsOnHost(userInfo().username), true);
  assert.equal(await userExistsOnHost('vigilcfg-no-such-user'), false);
  assert.equal(await userExistsOnHost('-u'), false);
  assert.equal(await userExistsOnHost(''), false);
});

test('executables: regular files with the x bit only', async () => {
  assert.equal(await isExecutable(process.execPath), true);
  assert.equal(await isExecutable('/'), false);
  assert.equal(await isExecutable('/nonexistent/vigilcfg'), false);
});
