import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ancestors, judgeStat } from '../../src/os/file-trust.js';

const ROOT = new Set([0]);
const file = (mode: number, uid = 0) => ({ mode: 0o100000 | mode, uid, isDirectory: false });
const dir = (mode: number, uid = 0) => ({ mode: 0o40000 | mode, uid, isDirectory: true });

test('a fresh clone under umask 022 (0644 files, 0755 directories, root-owned) passes', () => {
  assert.deepEqual(judgeStat('/etc/ha.d/ha.cf', file(0o644), ROOT), []);
  assert.deepEqual(judgeStat('/etc/ha.d/authkeys', file(0o600), ROOT), []);
  assert.deepEqual(judgeStat('/etc/ha.d/resource.d/x', file(0o755), ROOT), []);
  assert.deepEqual(judgeStat('/etc/ha.d', dir(0o755), ROOT), []);
});

test('group or other write bits are refused, with the chmod that fixes them', () => {
  assert.deepEqual(judgeStat('/etc/ha.d/ha.cf', file(0o664), ROOT), [
    {
      path: '/etc/ha.d/ha.cf',
      kind: 'writable',
      text: 'writable by group (mode 0664)',
      fix: 'chmod go-w /etc/ha.d/ha.cf',
    },
  ]);
  assert.equal(judgeStat('/x', file(0o646), ROOT)[0]?.text, 'writable by others (mode 0646)');
  assert.equal(judgeStat('/x', dir(0o777), ROOT)[0]?.text, 'writable by group and others (mode 0777)');
  // A sticky directory (/tmp) cannot have our root-owned entries replaced; its owner still counts.
  assert.deepEqual(judgeStat('/tmp', dir(0o1777), ROOT), []);
  assert.deepEqual(
    judgeStat('/tmp/x', dir(0o1777, 1000), ROOT).map((p) => p.kind),
    ['owner'],
  );
  // The sticky bit means nothing on a file.
  assert.deepEqual(
    judgeStat('/x', file(0o1666), ROOT).map((p) => p.kind),
    ['writable'],
  );
});

test('owners: root, plus the current user when that is who runs the check', () => {
  assert.deepEqual(judgeStat('/etc/ha.d/authkeys', file(0o600, 1000), ROOT), [
    {
      path: '/etc/ha.d/authkeys',
      kind: 'owner',
      text: 'owned by uid 1000, not root',
      fix: 'chown root /etc/ha.d/authkeys',
    },
  ]);
  assert.deepEqual(judgeStat('/home/dev/tutorial/ha.cf', file(0o644, 1000), new Set([0, 1000])), []);
  assert.equal(judgeStat("/a b/it's", file(0o666), ROOT)[0]?.fix, "chmod go-w '/a b/it'\\''s'");
});

test('the directories above a path, up to but not including /', () => {
  assert.deepEqual(ancestors('/etc/ha.d/resource.d/apache'), ['/etc/ha.d/resource.d', '/etc/ha.d', '/etc']);
  assert.deepEqual(ancestors('/etc'), []);
  assert.deepEqual(ancestors('/'), []);
});
