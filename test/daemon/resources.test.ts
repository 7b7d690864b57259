import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CompiledConfig, Resource } from '../../src/config/types.js';
import { ResourceManager, scriptOutputLines, vipPolicy } from '../../src/daemon/resources.js';
import { Logger } from '../../src/obs/log.js';
import type { ArpAnnouncer } from '../../src/os/garp.js';
import type { AddressManager } from '../../src/os/ip.js';
import { simConfig } from '../../src/sim/config.js';

/** A config with script resources only (no VIP: address and ARP managers are never called). */
function config(dir: string, resources: Resource[], raw: Record<string, string> = {}): CompiledConfig {
  const base = simConfig({ nodes: ['linux1', 'linux2'], localNode: 'linux1', groups: [] });
  return {
    ...base,
    configDir: dir,
    hacf: {
      ...base.hacf,
      raw,
      vigil: { ...base.hacf.vigil, rscStateDir: join(dir, 'rsctmp'), mailRelay: '127.0.0.1:1' },
    },
    groups: [{ key: resources[0]!.spec, node: 'linux1', resources, origin: { file: 'haresources', line: 1 } }],
  };
}

function manager(c: CompiledConfig, lines: string[]): ResourceManager {
  const logger = new Logger({
    node: 'linux1',
    pid: 1,
    tag: 'heartbeat',
    sinks: [{ write: (_l, line) => void lines.push(line), close: () => Promise.resolve() }],
  });
  return new ResourceManager({
    config: c,
    logger,
    addresses: {} as AddressManager,
    arp: {} as ArpAnnouncer,
  });
}

/** A Heartbeat-style script that records each call, so the order of operations can be checked. */
async function recordingScript(dir: string, name: string, record: string): Promise<void> {
  await mkdir(join(dir, 'resource.d'), { recursive: true });
  await writeFile(
    join(dir, 'resource.d', name),
    `#!/bin/sh\nlast=""; for a in "$@"; do last="$a"; done\necho "$last" >> ${record}\n` +
      `case "$last" in start) touch ${record}.on; sleep 0.2;; stop) rm -f ${record}.on;; status) [ -e ${record}.on ] && echo running || echo stopped;; esac\nexit 0\n`,
    { mode: 0o755 },
  );
}

test('restart in place is one step of the group queue: a release ordered meanwhile runs after it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vop-rm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rec = join(dir, 'calls');
  await recordingScript(dir, 'svc', rec);
  const rm1 = manager(config(dir, [{ spec: 'svc', type: 'svc', args: [], ip: undefined }]), []);
  assert.equal(await rm1.acquire('svc'), true);
  await writeFile(rec, '');
  const restarted = rm1.restart('svc');
  const released = rm1.release('svc');
  assert.equal(await restarted, true);
  assert.deepEqual(await released, { ok: true });
  const ops = (await readFile(rec, 'utf8')).split('\n').filter((l) => l !== '' && l !== 'status');
  assert.deepEqual(ops, ['stop', 'start', 'stop'], 'the release has the last word');
  assert.ok(rm1.findAgent('svc', 'svc') !== undefined);
  assert.equal(rm1.findAgent('svc', 'nope'), undefined);
  assert.equal(rm1.findAgent('nogroup', 'svc'), undefined);
});

test('MailTo: the resource-agents script unless ha.cf names a vigil_mail_* directive, then the built-in', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vop-mt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rec = join(dir, 'calls');
  // Stands in for /etc/ha.d/resource.d/MailTo (the real one needs `mail` and an MTA; its own tests cover it).
  await recordingScript(dir, 'MailTo', rec);
  const mail: Resource = {
    spec: 'MailTo::ops@example.com::Web',
    type: 'MailTo',
    args: ['ops@example.com', 'Web'],
    ip: undefined,
  };
  const script = manager(config(dir, [mail]), []);
  assert.equal(await script.acquire(mail.spec), true);
  assert.match(await readFile(rec, 'utf8'), /start/);

  // With vigil_mail_relay: Vigil's SMTP client. The relay (127.0.0.1:1) refuses: the mail is lost, loudly, and
  // the start still succeeds (a dead relay must never block a failover), marked in the state dir.
  await writeFile(rec, '');
  const lines: string[] = [];
  const builtin = manager(config(dir, [mail], { vigil_mail_relay: '127.0.0.1:1' }), lines);
  assert.equal(await builtin.acquire(mail.spec), true);
  assert.equal(await readFile(rec, 'utf8'), '', 'the script was not run');
  assert.ok(
    lines.some((l) => /ERROR: MailTo: start notice for MailTo::ops@example.com::Web not sent/.test(l)),
    lines.join(''),
  );
  assert.equal((await readdir(join(dir, 'rsctmp'))).length, 1);
  assert.deepEqual(await builtin.release(mail.spec), { ok: true });
  assert.equal((await readdir(join(dir, 'rsctmp'))).length, 0);
});

test('a built-in MailTo with a bad address fails its start, and its stop succeeds (nothing ran)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vop-mb-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bad: Resource = { spec: 'MailTo::not an address', type: 'MailTo', args: ['not an address'], ip: undefined };
  const lines: string[] = [];
  const m = manager(config(dir, [bad], { vigil_mail_lang: 'fr' }), lines);
  assert.equal(await m.acquire(bad.spec), false);
  assert.ok(
    lines.some((l) => l.includes('invalid email address')),
    lines.join(''),
  );
});

test('a failed script`s output for the log: stdout then stderr, blank lines dropped, bounded', () => {
  assert.deepEqual(scriptOutputLines('out 1\n\nout 2\n', 'Failed to modprobe drbd\n'), [
    'out 1',
    'out 2',
    'Failed to modprobe drbd',
  ]);
  const many = Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n');
  const lines = scriptOutputLines(many, 'x'.repeat(1000));
  assert.equal(lines.length, 21);
  assert.equal(lines[0], '(31 earlier lines not shown)');
  assert.equal(lines[1], 'line 31');
  assert.equal(lines[20], `${'x'.repeat(400)}...`);
});

test('the VIP lease rides on the heartbeat only while that still renews it three times per lease', () => {
  const at = (keepaliveMs: number, deadtimeMs: number) =>
    vipPolicy(simConfig({ nodes: ['a', 'b'], localNode: 'a', groups: [], keepaliveMs, deadtimeMs }));
  // Tutorial: lease 7 s, renewal due every 1.75 s, on the beat every 2 s.
  assert.deepEqual(
    [at(1000, 10_000).leaseSec, at(1000, 10_000).renewIntervalMs, at(1000, 10_000).onBeat],
    [7, 1750, true],
  );
  assert.equal(at(100, 500).onBeat, true, 'lease 2 s, renewed every 400 ms');
  assert.equal(at(2000, 30_000).onBeat, true);
  assert.equal(at(5000, 10_000).onBeat, false, 'a beat every 5 s would renew a 7 s lease 1.4 times');
});
