import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli/vigil.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function vigil(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A private copy of a fixture directory; git does not keep mode 600, so the copy sets it. */
async function copyOf(src: string, authkeysMode = 0o600): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigilcfg-cli-'));
  await cp(join(root, src), dir, { recursive: true });
  await chmod(join(dir, 'authkeys'), authkeysMode);
  return dir;
}

test('the tutorial: prints the cluster and exits 0', async () => {
  const dir = await copyOf('examples/tutorial');
  try {
    const r = await vigil('check', '--config-dir', dir, '--node', 'linux1');
    assert.equal(r.code, 0, r.stderr);
    for (const re of [
      /nodes\s+linux1 \(this node\), linux2/,
      /keepalive\s+1000 ms/,
      /deadtime\s+10000 ms/,
      /warntime\s+5000 ms/,
      /initdead\s+20000 ms/,
      /bcast eth1 on udp 694/,
      /ping node\s+192\.168\.1\.1/,
      /auto_failback\s+on/,
      /group linux1: IPaddr 192\.168\.1\.50/,
    ]) {
      assert.match(r.stdout, re);
    }
    assert.ok(!r.stdout.includes('MaClefSecrete'));
    // Warnings (this host has no eth1) go to stderr as file:line: warning: ...
    for (const line of r.stderr
      .trim()
      .split('\n')
      .filter((l) => l !== '')) {
      assert.match(line, /^(\S+?(:\d+)?: )?warning: /);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('authkeys at mode 644: exits 1 with heartbeat message', async () => {
  const dir = await copyOf('examples/tutorial', 0o644);
  try {
    const r = await vigil('check', '--config-dir', dir, '--node', 'linux1');
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`Bad permissions on keyfile [${dir}/authkeys], 600 recommended.`), r.stderr);
    assert.equal(r.stdout, '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--json: a machine-readable result without the keys', async () => {
  const dir = await copyOf('examples/tutorial');
  try {
    const r = await vigil('check', '--config-dir', dir, '--node', 'LINUX1', '--json');
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      valid: boolean;
      localNode: string;
      errors: unknown[];
      warnings: { code: string }[];
      config: { hacf: { deadtimeMs: number }; authkeys: { active: number; keys: { method: string }[] } };
    };
    assert.equal(doc.valid, true);
    assert.equal(doc.localNode, 'linux1');
    assert.deepEqual(doc.errors, []);
    assert.equal(doc.config.hacf.deadtimeMs, 10000);
    assert.deepEqual(
      doc.config.authkeys.keys.map((k) => k.method),
      ['sha1'],
    );
    assert.ok(!r.stdout.includes('MaClefSecrete'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('every error of every file, as file:line on stderr, exit 1', async () => {
  const dir = await copyOf('test/fixtures/config/broken');
  try {
    const r = await vigil('check', '--config-dir', dir, '--node', 'linux1');
    assert.equal(r.code, 1);
    const expected = [
      `${dir}/ha.cf:3:11: Invalid keepalive time [2s]`,
      `${dir}/ha.cf:5:9: invalid port [0] specified.`,
      `${dir}/ha.cf:6:1: Illegal directive [frobnicate] in ${dir}/ha.cf`,
      `${dir}/ha.cf:7:26: mcast [eth0] bad ttl [9]`,
      `${dir}/authkeys:3:3: Invalid authtype [rot13]`,
      `${dir}/authkeys:1: Auth Key [3] not found in keyfile [${dir}/authkeys]`,
      `${dir}/haresources:2:1: Bad nodename in ${dir}/haresources [linux3]`,
      `${dir}/haresources:3:8: duplicate resource group key [10.0.0.1]`,
    ];
    for (const e of expected) assert.ok(r.stderr.includes(e), `missing ${e} in\n${r.stderr}`);
    assert.match(r.stderr, /vigil check: 8 errors in /);
    const json = await vigil('check', '--config-dir', dir, '--node', 'linux1', '--json');
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.stdout) as { valid: boolean; errors: { code: string; line: number }[]; config: null };
    assert.equal(doc.valid, false);
    assert.equal(doc.errors.length, 8);
    assert.equal(doc.config, null);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--compare: a peer with another haresources and authkeys is warned about', async () => {
  const dir = await copyOf('examples/tutorial');
  const peer = await copyOf('examples/tutorial');
  try {
    await writeFile(join(peer, 'haresources'), 'linux1 192.168.1.51\n');
    await writeFile(join(peer, 'authkeys'), 'auth 1\n1 sha1 AutreClef\n');
    const r = await vigil('check', '--config-dir', dir, '--node', 'linux1', '--compare', peer);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /haresources:1: warning: haresources differs from the peer's copy/);
    assert.match(r.stderr, /authkeys: warning: authkeys differs from the peer's copy/);
    assert.ok(!r.stderr.includes('AutreClef') && !r.stderr.includes('MaClefSecrete'));
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(peer, { recursive: true, force: true });
  }
});

test('a node name that is not configured: exit 1 with heartbeat message', async () => {
  const dir = await copyOf('examples/tutorial');
  try {
    const r = await vigil('check', '--config-dir', dir, '--node', 'linux3');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ha\.cf: Current node \[linux3\] not in configuration!/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing configuration directory: exit 1, every file named', async () => {
  const r = await vigil('check', '--config-dir', '/nonexistent/vigilcfg', '--node', 'linux1');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot open config file \[\/nonexistent\/vigilcfg\/ha\.cf\]/);
  assert.match(r.stderr, /Cannot open keyfile \[\/nonexistent\/vigilcfg\/authkeys\]/);
  assert.match(r.stderr, /Cannot open resources file \[\/nonexistent\/vigilcfg\/haresources\]/);
});

test('usage errors exit 2', async () => {
  assert.equal((await vigil('check', '--bogus')).code, 2);
  assert.equal((await vigil('check', '--node', '')).code, 2);
  assert.equal((await vigil('check', '--node', 'a b')).code, 2);
  const r = await vigil('check', '--compare', '/nonexistent/vigilcfg');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--compare \/nonexistent\/vigilcfg: not a directory/);
});

test('the full fixture: every kind of medium and group in the summary; no secret in any output', async () => {
  const dir = await copyOf('test/fixtures/config/full');
  try {
    const r = await vigil('check', '--config-dir', dir, '--node', 'alpha');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ucast eth2 to 10\.0\.2\.2 on udp 694/);
    assert.match(r.stdout, /mcast eth3 group 225\.0\.0\.1 on udp 694, ttl 1, loop off/);
    assert.match(r.stdout, /routers \(any of 10\.0\.0\.1 10\.0\.0\.2\)/);
    assert.match(r.stdout, /group alpha: IPaddr2 10\.0\.1\.100\/24\/eth1, Filesystem \/dev\/drbd0 \/srv ext4, apache/);
    assert.match(r.stdout, /stonith\s+external\/ipmi \(stonith_host \*\)/);
    assert.match(r.stderr, /ha\.cf:36: warning: vigil_state_dir is a Vigil-only directive/);
    const json = await vigil('check', '--config-dir', dir, '--node', 'alpha', '--json');
    assert.equal(json.code, 0, json.stderr);
    for (const out of [r.stdout, r.stderr, json.stdout, json.stderr]) {
      // The stonith password ("secret") and both authkeys keys.
      assert.ok(!/secret|Str0ngKey|oldkey/.test(out), out);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('IPv6: an IPv6-only cluster checks out with its media and addresses; ping nodes alone are refused', async () => {
  const dir = await copyOf('examples/tutorial');
  try {
    await writeFile(
      join(dir, 'ha.cf'),
      'node linux1 linux2\nauto_failback on\nkeepalive 1\ndeadtime 10\nmcast6 eth1 ff02::694 694 1 0\nucast6 eth1 fe80::30\nping6 2001:db8:1::1\n',
    );
    await writeFile(join(dir, 'haresources'), 'linux1 IPaddr2::2001:db8:1::50/64/eth1 IPv6addr::fe80::50/64/eth1\n');
    const r = await vigil('check', '--config-dir', dir, '--node', 'linux1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mcast6 eth1 group ff02::694 on udp 694, hops 1, loop off/);
    assert.match(r.stdout, /ucast6 eth1 to fe80::30 on udp 694/);
    assert.match(r.stdout, /ping node\s+2001:db8:1::1/);
    assert.match(r.stdout, /group linux1: IPaddr2 2001:db8:1::50\/64\/eth1, IPv6addr fe80::50\/64\/eth1/);
    assert.match(r.stderr, /haresources:1: warning: IPaddr2::2001:db8:1::50\/64\/eth1: Vigil reads one IPv6 address/);

    await writeFile(join(dir, 'ha.cf'), 'node linux1 linux2\nauto_failback on\nping 192.168.1.1\n');
    const refused = await vigil('check', '--config-dir', dir, '--node', 'linux1');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /ha\.cf: No usable heartbeat medium: only ping nodes are defined/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
