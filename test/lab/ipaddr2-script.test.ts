import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScriptAgent, locateScript } from '../../src/agents/script.js';
import { GroupRunner } from '../../src/resources/group.js';

const run = promisify(execFile);

async function whyNot(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  try {
    await run('ip', ['-V']);
  } catch {
    return 'needs iproute2';
  }
  try {
    await access('/etc/ha.d/resource.d/IPaddr2');
  } catch {
    return 'needs resource-agents (/etc/ha.d/resource.d/IPaddr2)';
  }
  return undefined;
}

async function addresses(ns: string): Promise<string[]> {
  const { stdout } = await run('ip', ['-n', ns, '-j', 'addr', 'show', 'dev', 'eth1']);
  const links = JSON.parse(stdout) as { addr_info: { local: string; prefixlen: number }[] }[];
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

/**
 * Heartbeat's calling convention with the real Debian IPaddr2 wrapper: `IPaddr2 <ip/cidr/nic> start|stop|status`,
 * status judged by its text. The script runs inside a private namespace (`ip netns exec NS script args op`), with
 * a veth peer namespace acting as a client that must reach the address. Nothing leaves the two namespaces.
 */
test('real IPaddr2 via ScriptAgent in a private namespace: start adds the VIP (a peer reaches it), stop removes it', async (t) => {
  const why = await whyNot();
  if (why !== undefined) {
    t.skip(why);
    return;
  }
  const tag = `vrsc${process.pid}`;
  const nsA = `${tag}-a`;
  const nsB = `${tag}-b`;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-rsc-ipaddr2-'));
  t.after(async () => {
    await run('ip', ['netns', 'del', nsA]).catch(() => undefined);
    await run('ip', ['netns', 'del', nsB]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  const sh = async (...args: string[]): Promise<void> => {
    await run('ip', args);
  };
  await sh('netns', 'add', nsA);
  await sh('netns', 'add', nsB);
  const va = `${tag}a`.slice(0, 15);
  const vb = `${tag}b`.slice(0, 15);
  await sh('link', 'add', va, 'type', 'veth', 'peer', 'name', vb);
  await sh('link', 'set', va, 'netns', nsA);
  await sh('link', 'set', vb, 'netns', nsB);
  for (const [ns, dev, ip] of [
    [nsA, va, '10.251.7.1/24'],
    [nsB, vb, '10.251.7.2/24'],
  ] as const) {
    await sh('-n', ns, 'link', 'set', dev, 'name', 'eth1');
    await sh('-n', ns, 'addr', 'add', ip, 'dev', 'eth1');
    await sh('-n', ns, 'link', 'set', 'eth1', 'up');
    await sh('-n', ns, 'link', 'set', 'lo', 'up');
  }

  const script = await locateScript('IPaddr2');
  const vip = '10.251.7.50';
  const agent = new ScriptAgent(
    `IPaddr2::${vip}/24/eth1`,
    '/usr/bin/env',
    ['ip', 'netns', 'exec', nsA, script, `${vip}/24/eth1`],
    {
      // HA_RSCTMP: IPaddr2 keeps its send_arp pid file there; private to this test.
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HA_RSCTMP: dir },
      timeoutMs: 60_000,
    },
  );
  const lines: string[] = [];
  const group = new GroupRunner('node1', `IPaddr2::${vip}/24/eth1`, [agent], {
    log: (l, text) => lines.push(`${l}: ${text}`),
    stopRetries: 2,
    stopRetryDelayMs: 1000,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  });

  const before = await agent.status();
  assert.equal(before.running, false, before.text);
  assert.match(before.text, /Resource is stopped/);
  assert.deepEqual(await group.acquire(), { ok: true });
  assert.ok((await addresses(nsA)).includes(`${vip}/24`));
  const during = await agent.status();
  assert.equal(during.running, true, during.text);
  assert.match(during.text, /Running OK/);
  // The client namespace reaches the VIP through the veth: the address really works, not just exists.
  await run('ip', ['netns', 'exec', nsB, 'ping', '-c', '1', '-W', '5', vip]);
  // A second acquire skips the running resource (Heartbeat's "status says running → no start").
  assert.deepEqual(await group.acquire(), { ok: true });
  assert.equal((await addresses(nsA)).filter((a) => a.startsWith(vip)).length, 1);

  assert.deepEqual(await group.release(), { ok: true });
  assert.ok(!(await addresses(nsA)).includes(`${vip}/24`));
  const after = await agent.status();
  assert.equal(after.running, false, after.text);
  // Stop when stopped succeeds (LSB), so a second release is clean.
  assert.deepEqual(await group.release(), { ok: true });
  assert.deepEqual(
    lines.filter((l) => !l.startsWith('info: ')),
    [],
  );
});
