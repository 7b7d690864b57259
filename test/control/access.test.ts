import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type AccessPolicy,
  type PeerCreds,
  authorize,
  commandClass,
  describeReadRule,
  readAuthSpec,
} from '../../src/control/access.js';
import type { ControlRequest } from '../../src/control/protocol.js';

const ALL: ControlRequest['cmd'][] = [
  'status',
  'standby',
  'takeover',
  'reload',
  'debug',
  'shutdown',
  'cleanup',
  'fence-ack',
];
const ADMIN = ALL.filter((c) => c !== 'status');

const HACLIENT = 106;
const policy: AccessPolicy = {
  adminUids: new Set([0, 4242]),
  readUids: new Set([1001]),
  readGids: new Set([HACLIENT]),
  readRule: describeReadRule(readAuthSpec([])),
};
const creds = (uid: number, gid: number, groups?: number[]): PeerCreds => ({ pid: 77, uid, gid, groups });

test('only status reads; every other command changes the cluster', () => {
  assert.deepEqual(
    ALL.filter((c) => commandClass(c) === 'read'),
    ['status'],
  );
});

test('root and the daemon’s own uid may do anything', () => {
  for (const cmd of ALL) {
    assert.deepEqual(authorize(policy, creds(0, 0), cmd), { allow: true }, cmd);
    assert.deepEqual(authorize(policy, creds(4242, 4242), cmd), { allow: true }, cmd);
  }
});

test('reads: an apiauth uid, the primary gid or a supplementary group; changes: never for them', () => {
  for (const c of [creds(1001, 1001, []), creds(1002, HACLIENT, []), creds(1003, 1003, [27, HACLIENT])]) {
    assert.deepEqual(authorize(policy, c, 'status'), { allow: true });
    for (const cmd of ADMIN) {
      const d = authorize(policy, c, cmd);
      assert.equal(d.allow, false, cmd);
      assert.match(d.message, new RegExp(`^permission denied: ${cmd} changes the cluster and needs root`));
    }
  }
  // Groups unknown (no SO_PEERGROUPS): the primary gid still counts, as in Heartbeat.
  assert.deepEqual(authorize(policy, creds(1002, HACLIENT, undefined), 'status'), { allow: true });
});

test('a stranger is refused with what it would take, and who it was', () => {
  const d = authorize(policy, creds(1004, 1004, [27]), 'status');
  assert.equal(d.allow, false);
  assert.match(d.message, /^permission denied: reading the cluster status needs root or a member of group haclient/);
  assert.match(d.message, /Heartbeat's default/);
  assert.match(d.message, /uid 1004 \(gid 1004, groups 27, pid 77\)/);
});

test('no credentials: everything refused, root included (the server falls back to a root-only socket instead)', () => {
  for (const cmd of ALL) {
    const d = authorize(policy, undefined, cmd);
    assert.equal(d.allow, false);
    assert.match(d.message, /^permission denied: the daemon cannot verify who is asking/);
  }
});

test('apiauth: cl_status first, then anon, else gid=haclient; default is not consulted', () => {
  const origin = { file: '/etc/ha.d/ha.cf', line: 12 };
  assert.deepEqual(readAuthSpec([]), {
    uids: [],
    gids: ['haclient'],
    source: "Heartbeat's default (apiauth cl_status gid=haclient)",
  });
  assert.deepEqual(readAuthSpec([{ client: 'default', uids: ['x'], gids: [] }]).gids, ['haclient']);
  const anon = { client: 'anon', uids: ['nagios'], gids: [], origin };
  assert.deepEqual(readAuthSpec([anon]), { uids: ['nagios'], gids: [], source: '/etc/ha.d/ha.cf:12 (apiauth anon)' });
  const cl = { client: 'cl_status', uids: [], gids: ['monitor', 'haclient'], origin: { ...origin, line: 13 } };
  assert.equal(readAuthSpec([anon, cl]).source, '/etc/ha.d/ha.cf:13 (apiauth cl_status)');
  assert.equal(
    describeReadRule(readAuthSpec([anon, cl])),
    'root or a member of group monitor or haclient, as /etc/ha.d/ha.cf:13 (apiauth cl_status)',
  );
  assert.equal(
    describeReadRule({ uids: ['nagios', 'prom'], gids: ['haclient'], source: 'x' }),
    'root, users nagios, prom or a member of group haclient, as x',
  );
});
