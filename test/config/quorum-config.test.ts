/** vigil_quorum* and vigil_group_nodes: parsed, defaulted, and refused with a clear error when wrong. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeConfig } from '../../src/config/compile.js';
import { diffConfig } from '../../src/config/diff.js';
import { lintConfig } from '../../src/config/lint.js';

function analyze(extra: string, haresources = 'linux1 192.168.1.50\nlinux2 192.168.1.51\n') {
  return analyzeConfig({
    configDir: '/etc/ha.d',
    localNode: 'linux1',
    hacf: {
      file: '/etc/ha.d/ha.cf',
      text: `keepalive 1\ndeadtime 10\nbcast eth1\nauto_failback on\nnode linux1\nnode linux2\nnode linux3\n${extra}`,
    },
    authkeys: { file: '/etc/ha.d/authkeys', text: 'auth 1\n1 sha1 secret\n', mode: 0o600 },
    haresources: { file: '/etc/ha.d/haresources', text: haresources },
  });
}

test('defaults: no quorum, release on loss, 5 s TTL, /vigil', () => {
  const r = analyze('');
  assert.deepEqual(r.errors, []);
  assert.ok(r.config);
  const v = r.config.hacf.vigil;
  assert.equal(v.quorum, 'none');
  assert.equal(v.quorumLoss, 'release');
  assert.equal(v.quorumTtlMs, 5000);
  assert.equal(v.quorumPrefix, '/vigil');
  assert.deepEqual(v.quorumEndpoints, []);
  assert.deepEqual(v.groupNodes, []);
});

test('a full etcd setup with TLS', () => {
  const r = analyze(
    [
      'vigil_quorum etcd',
      'vigil_quorum_endpoints https://10.0.0.1:2379 https://10.0.0.2:2379',
      'vigil_quorum_endpoints https://ETCD3.example:2379/',
      'vigil_quorum_prefix /vigil/tutorial/',
      'vigil_quorum_ca /etc/vigil/etcd-ca.pem',
      'vigil_quorum_cert /etc/vigil/client.pem',
      'vigil_quorum_key /etc/vigil/client-key.pem',
      'vigil_quorum_ttl 7',
      'vigil_quorum_loss keep',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  assert.ok(r.config);
  const v = r.config.hacf.vigil;
  assert.equal(v.quorum, 'etcd');
  assert.deepEqual(v.quorumEndpoints, ['https://10.0.0.1:2379', 'https://10.0.0.2:2379', 'https://etcd3.example:2379']);
  assert.equal(v.quorumPrefix, '/vigil/tutorial');
  assert.equal(v.quorumTtlMs, 7000);
  assert.equal(v.quorumLoss, 'keep');
});

test('refused: etcd without endpoints, with the VIP lease off, a bad URL, a TTL out of range, half a key pair', () => {
  const msg = (extra: string) =>
    analyze(extra)
      .errors.map((e) => e.message)
      .join('\n');
  assert.match(msg('vigil_quorum etcd\n'), /needs vigil_quorum_endpoints/);
  assert.match(
    msg('vigil_quorum etcd\nvigil_quorum_endpoints http://a:2379\nvigil_vip_lease off\n'),
    /vigil_vip_lease off/,
  );
  assert.match(msg('vigil_quorum_endpoints etcd:2379\n'), /Invalid vigil_quorum_endpoints \[etcd:2379\]/);
  assert.match(msg('vigil_quorum_ttl 3\n'), /Invalid vigil_quorum_ttl \[3\].*4 to 60/);
  assert.match(msg('vigil_quorum_cert /etc/c.pem\n'), /go together/);
  assert.match(msg('vigil_quorum_ca /etc/ca.pem\nvigil_quorum_endpoints http://a:2379\n'), /use https/);
  assert.match(msg('vigil_quorum raft\n'), /none or etcd/);
  assert.match(msg('vigil_quorum_loss maybe\n'), /release or keep/);
});

test('vigil_group_nodes: the order per group; it must name a group, known nodes, and start with the preferred one', () => {
  const ok = analyze('vigil_group_nodes 192.168.1.50 linux1 linux3 linux2\n');
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(
    ok.config?.hacf.vigil.groupNodes.map((g) => [g.group, g.nodes]),
    [['192.168.1.50', ['linux1', 'linux3', 'linux2']]],
  );
  const msg = (extra: string) =>
    analyze(extra)
      .errors.map((e) => e.message)
      .join('\n');
  assert.match(msg('vigil_group_nodes 10.9.9.9 linux1\n'), /no such resource group/);
  assert.match(msg('vigil_group_nodes 192.168.1.50 linux1 linux9\n'), /linux9 not declared/);
  assert.match(
    msg('vigil_group_nodes 192.168.1.50 linux2 linux1\n'),
    /must start with the group's haresources node, linux1/,
  );
  assert.match(msg('vigil_group_nodes 192.168.1.50 linux1 linux1\n'), /listed twice/);
  assert.match(msg('vigil_group_nodes 192.168.1.50\n'), /takes a group and its nodes/);
  assert.match(
    msg('vigil_group_nodes 192.168.1.50 linux1\nvigil_group_nodes 192.168.1.50 linux1 linux2\n'),
    /listed twice/,
  );
});

test('reload: group lists apply in place; the quorum settings need a restart', () => {
  const a = analyze('').config;
  const b = analyze('vigil_group_nodes 192.168.1.50 linux1 linux3\n').config;
  const c = analyze('vigil_quorum etcd\nvigil_quorum_endpoints http://a:2379\n').config;
  assert.ok(a !== undefined && b !== undefined && c !== undefined);
  const d1 = diffConfig(a, b);
  assert.equal(d1.needRestart.length, 0);
  assert.equal(d1.changes[0]?.area, 'groups');
  const d2 = diffConfig(a, c);
  assert.ok(d2.needRestart.some((x) => x.text.startsWith('vigil_quorum ')));
});

test('vigil check: one etcd endpoint is pointed out (fine for a witness, not for surviving its loss)', () => {
  const one = analyze('vigil_quorum etcd\nvigil_quorum_endpoints http://witness:2379\n').config;
  const three = analyze('vigil_quorum etcd\nvigil_quorum_endpoints http://a:2379 http://b:2379 http://c:2379\n').config;
  assert.ok(one !== undefined && three !== undefined);
  const w = lintConfig(one).filter((x) => x.code === 'VIGIL_WARN_QUORUM');
  assert.equal(w.length, 1);
  assert.match(w[0]?.message ?? '', /one etcd endpoint .*holders give their groups up/);
  assert.equal(lintConfig(three).filter((x) => x.code === 'VIGIL_WARN_QUORUM').length, 0);
});
