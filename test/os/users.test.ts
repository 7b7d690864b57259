import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { isExecutable, resolveIds, userExistsOnHost } from '../../src/os/users.js';

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

test('apiauth names resolve to ids through NSS in one call; numbers pass through; unknown and odd names are returned', async () => {
  const me = userInfo();
  const u = await resolveIds('user', [me.username, '4242', 'vigilcfg-no-such-user', '-x']);
  assert.deepEqual(u.ids.sort(), [me.uid, 4242].sort());
  assert.deepEqual(u.unknown, ['-x', 'vigilcfg-no-such-user']);
  const g = await resolveIds('group', ['root', 'vigilcfg-no-such-group']);
  assert.deepEqual(g, { ids: [0], unknown: ['vigilcfg-no-such-group'] });
  assert.deepEqual(await resolveIds('group', []), { ids: [], unknown: [] });
});
