import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileConfig } from '../../src/config/compile.js';
import { diffConfig } from '../../src/config/diff.js';
import type { CompiledConfig } from '../../src/config/types.js';

const DIR = '/etc/ha.d';
const HACF = 'keepalive 1\ndeadtime 10\nbcast eth1\nauto_failback on\nnode linux1 linux2\n';
const RSC = 'linux1 IPaddr::192.168.1.50/24/eth1\n';

function compile(hacf = HACF, haresources = RSC, authkeys = 'auth 1\n1 sha1 k\n'): CompiledConfig {
  return compileConfig({
    configDir: DIR,
    localNode: 'linux1',
    hacf: { file: `${DIR}/ha.cf`, text: hacf },
    authkeys: { file: `${DIR}/authkeys`, text: authkeys, mode: 0o600 },
    haresources: { file: `${DIR}/haresources`, text: haresources },
  }).config;
}

test('the same files: no change', () => {
  assert.deepEqual(diffConfig(compile(), compile()).changes, []);
});

test('timings, media, nodes, ping nodes, groups and keys are applied in place, each in its area', () => {
  const b = compile(
    'keepalive 200ms\ndeadtime 2\nbcast eth1\nucast eth1 192.168.1.31\nping 192.168.1.1\nauto_failback off\n' +
      'node linux1 linux2 linux3\nvigil_detector adaptive\n',
    `${RSC}linux2 IPaddr::192.168.1.51/24/eth1\n`,
    'auth 2\n1 sha1 k\n2 sha1 other\n',
  );
  const d = diffConfig(compile(), b);
  assert.deepEqual(d.needRestart, []);
  const areas = new Map(d.changes.map((c) => [c.text, c.area]));
  assert.equal(areas.get('keepalive 1000 ms → 200 ms'), 'timing');
  assert.equal(areas.get('deadtime 10000 ms → 2000 ms'), 'timing');
  assert.equal(areas.get('auto_failback on → off'), 'failback');
  assert.equal(areas.get('authkeys'), 'auth');
  assert.equal(areas.get('vigil_detector deadtime → adaptive'), 'detector');
  assert.ok([...areas].some(([t, a]) => t.startsWith('bcast/ucast/mcast/ucast6/mcast6 ') && a === 'media'));
  assert.ok([...areas].some(([t, a]) => t.startsWith('node ') && a === 'nodes'));
  assert.ok([...areas].some(([t, a]) => t.startsWith('ping/ping_group ') && a === 'ping'));
  assert.deepEqual(d.groups, { added: ['IPaddr::192.168.1.51/24/eth1'], removed: [], changed: [], moved: [] });
});

test('groups: removed, resources changed, preferred node changed', () => {
  const a = compile(HACF, `${RSC}linux2 IPaddr::192.168.1.51/24/eth1\nlinux1 IPaddr::192.168.1.52/24/eth1 apache\n`);
  const b = compile(HACF, `linux2 IPaddr::192.168.1.50/24/eth1\nlinux1 IPaddr::192.168.1.52/24/eth1 nginx\n`);
  const d = diffConfig(a, b);
  assert.deepEqual(d.groups, {
    added: [],
    removed: ['IPaddr::192.168.1.51/24/eth1'],
    changed: ['IPaddr::192.168.1.52/24/eth1'],
    moved: ['IPaddr::192.168.1.50/24/eth1'],
  });
});

test('what needs a restart says why; legacy and on/off are different protocols; the lease cannot be turned off in place', () => {
  const d = diffConfig(
    compile(),
    compile(`${HACF.replace('auto_failback on', 'auto_failback legacy')}realtime off\nvigil_vip_lease off\n`),
  );
  const why = new Map(d.needRestart.map((c) => [c.text.split(' ')[0], c.restartWhy]));
  assert.match(why.get('auto_failback') ?? '', /legacy speaks another protocol/);
  assert.match(why.get('realtime') ?? '', /scheduling policy/);
  assert.match(why.get('vigil_vip_lease') ?? '', /turning the VIP lease on or off/);
  // A lease that changes length (auto → 5 s) is applied in place.
  assert.deepEqual(diffConfig(compile(), compile(`${HACF}vigil_vip_lease 5\n`)).needRestart, []);
});
