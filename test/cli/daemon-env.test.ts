import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DAEMON_ENV, daemonEnv } from '../../src/cli/daemon-env.js';

const UNIT = fileURLToPath(new URL('../../../contrib/vigil.service', import.meta.url));

test('contrib/vigil.service starts the daemon with DAEMON_ENV', async () => {
  const env = new Map<string, string>();
  for (const line of (await readFile(UNIT, 'utf8')).split('\n')) {
    const m = /^Environment=([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m !== null) env.set(m[1]!, m[2]!);
  }
  assert.ok(Object.keys(DAEMON_ENV).length > 0);
  for (const [k, v] of Object.entries(DAEMON_ENV)) assert.equal(env.get(k), v, `Environment=${k}=${v} in the unit`);
});

test("daemonEnv adds DAEMON_ENV under the caller's environment", () => {
  assert.deepEqual(daemonEnv({ PATH: '/bin' }), { ...DAEMON_ENV, PATH: '/bin' });
  assert.equal(daemonEnv({ MALLOC_ARENA_MAX: '4' }).MALLOC_ARENA_MAX, '4', "an admin's own setting wins");
});
