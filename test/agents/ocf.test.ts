import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentWhere, locateAgent, parseOcfName } from '../../src/agents/lookup.js';
import { OcfAgent } from '../../src/agents/ocf.js';
import { HEARTBEAT_WRAPPERS, ocfCall } from '../../src/agents/ocf-params.js';
import { unitName } from '../../src/agents/systemd.js';
import { isVigilError } from '../../src/util/errors.js';

test("a bare name keeps Heartbeat's wrapper order and instance name", () => {
  assert.deepEqual(ocfCall('Filesystem', ['/dev/sdb1', '/data', 'ext4'], false), {
    params: { device: '/dev/sdb1', directory: '/data', fstype: 'ext4' },
    instance: 'Filesystem_/dev/sdb1',
  });
  assert.deepEqual(ocfCall('Filesystem', ['srv:/x', '/x', 'nfs', 'ro,uid=1'], false), {
    params: { device: 'srv:/x', directory: '/x', fstype: 'nfs', options: 'ro,uid=1' },
    instance: 'Filesystem_srv:/x',
  });
  assert.deepEqual(ocfCall('apache', [], false), { params: {}, instance: 'apache_' });
  assert.deepEqual(ocfCall('apache', ['/etc/apache2/apache2.conf'], false), {
    params: { configfile: '/etc/apache2/apache2.conf' },
    instance: 'apache_/etc/apache2/apache2.conf',
  });
  assert.deepEqual(ocfCall('MailTo', ['ops@example.com', 'Web'], false), {
    params: { email: 'ops@example.com', subject: 'Web' },
    instance: 'MailTo',
  });
  assert.deepEqual(ocfCall('Delay', [], false), { params: { startdelay: '10' }, instance: 'Delay_10' });
  assert.deepEqual(ocfCall('IPv6addr', ['2001:db8::1/64/eth0'], false), {
    params: { ipv6addr: '2001:db8::1', cidr_netmask: '64', nic: 'eth0' },
    instance: 'IPv6addr_2001:db8::1/64/eth0',
  });
  assert.deepEqual(ocfCall('portblock', ['tcp', '80', 'block'], false), {
    params: { protocol: 'tcp', portno: '80', action: 'block' },
    instance: 'portblock_tcp_80_block',
  });
  assert.match(ocfCall('Filesystem', ['/dev/sdb1'], false) as string, /Filesystem takes 2 to 4 arguments/);
  assert.match(ocfCall('Xinetd', [], false) as string, /Xinetd takes 1 argument/);
  // Every Heartbeat 3.0.6 wrapper but the built-in IPaddr/IPaddr2 (and OCF, its generic conf-file wrapper).
  assert.equal(HEARTBEAT_WRAPPERS.size, 19);
});

test('other agents and the explicit ocf: form take name=value parameters', () => {
  assert.deepEqual(ocfCall('nginx', [], false), { params: {}, instance: 'nginx' });
  assert.deepEqual(ocfCall('nginx', ['configfile=/etc/nginx/x.conf', 'port=8080'], false), {
    params: { configfile: '/etc/nginx/x.conf', port: '8080' },
    instance: 'nginx__etc_nginx_x.conf_8080',
  });
  assert.deepEqual(ocfCall('Filesystem', ['device=/dev/sdb1', 'directory=/d', 'fstype=ext4'], true), {
    params: { device: '/dev/sdb1', directory: '/d', fstype: 'ext4' },
    instance: 'Filesystem__dev_sdb1__d_ext4',
  });
  assert.match(ocfCall('nginx', ['/etc/nginx/x.conf'], false) as string, /nginx takes name=value parameters/);
  assert.match(ocfCall('pgsql', ['=x'], true) as string, /name=value/);
  assert.match(ocfCall('pgsql', ['a=b\nc'], true) as string, /spans lines/);
  assert.deepEqual(parseOcfName('ocf:heartbeat:nginx'), { provider: 'heartbeat', agent: 'nginx' });
  assert.equal(parseOcfName('nginx'), undefined);
  assert.match(parseOcfName('ocf:heartbeat') as string, /ocf:<provider>:<agent>/);
  assert.match(parseOcfName('ocf:../x:y') as string, /invalid OCF agent name/);
  assert.equal(unitName('squid'), 'squid.service');
  assert.equal(unitName('getty@tty1.service'), 'getty@tty1.service');
  assert.equal(unitName('--force'), undefined);
  assert.equal(unitName('a b'), undefined);
});

async function exe(path: string, text = '#!/bin/sh\nexit 0\n'): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o755);
}

test('lookup order: resource.d, init.d, then the OCF agent; ocf: and systemd: forms', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'vigil-ocf-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const cfg = join(base, 'ha.d');
  const ocf = join(base, 'ocf');
  await mkdir(join(cfg, 'resource.d'), { recursive: true });
  await mkdir(join(ocf, 'resource.d', 'heartbeat'), { recursive: true });
  await mkdir(join(ocf, 'resource.d', 'acme'), { recursive: true });
  await exe(join(ocf, 'resource.d', 'heartbeat', 'webby'));
  await exe(join(ocf, 'resource.d', 'heartbeat', 'Filesystem'));
  await exe(join(ocf, 'resource.d', 'acme', 'thing'));

  const loc = await locateAgent('webby', ['configfile=/x'], cfg, ocf);
  assert.equal(loc.kind, 'ocf');
  assert.equal(loc.path, join(ocf, 'resource.d', 'heartbeat', 'webby'));

  // A script of the same name in resource.d wins, as under Heartbeat (its wrapper was there).
  await exe(join(cfg, 'resource.d', 'webby'));
  assert.deepEqual(await locateAgent('webby', [], cfg, ocf), {
    kind: 'script',
    path: join(cfg, 'resource.d', 'webby'),
  });

  const acme = await locateAgent('ocf:acme:thing', ['a=1'], cfg, ocf);
  assert.equal(acme.kind === 'ocf' && acme.provider, 'acme');
  assert.deepEqual(await locateAgent('systemd:squid', [], cfg, ocf), { kind: 'systemd', unit: 'squid.service' });

  await assert.rejects(locateAgent('nosuch', [], cfg, ocf), (e) => {
    return isVigilError(e) && e.code === 'VIGIL_ERR_RSC_SCRIPT' && e.message === 'Cannot locate resource script nosuch';
  });
  await assert.rejects(locateAgent('ocf:heartbeat:Filesystem', ['/dev/x'], cfg, ocf), (e) => {
    return isVigilError(e) && e.code === 'VIGIL_ERR_RSC_ARGS';
  });
  await assert.rejects(locateAgent('systemd:squid', ['x'], cfg, ocf), (e) => {
    return isVigilError(e) && e.code === 'VIGIL_ERR_RSC_ARGS';
  });
  await assert.rejects(locateAgent('ocf:acme:none', [], cfg, ocf), (e) => {
    return isVigilError(e) && e.code === 'VIGIL_ERR_RSC_SCRIPT';
  });

  // vigil check's view: found (even when arguments are not known yet), or not.
  assert.equal(
    await agentWhere('ocf:heartbeat:Filesystem', cfg, ocf),
    join(ocf, 'resource.d', 'heartbeat', 'Filesystem'),
  );
  assert.equal(await agentWhere('webby', cfg, ocf), join(cfg, 'resource.d', 'webby'));
  assert.equal(await agentWhere('systemd:squid', cfg, ocf), 'systemd:squid.service');
  assert.equal(await agentWhere('nosuch', cfg, ocf), undefined);
});

const DUMMY = '/usr/lib/ocf/resource.d/heartbeat/Dummy';

test("resource-agents' own Dummy agent, run with OCF's convention: start, monitor, stop", async (t) => {
  try {
    await access(DUMMY);
  } catch {
    t.skip(`${DUMMY} is missing (apt-get install resource-agents)`);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'vigil-dummy-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const state = join(dir, 'dummy.state');
  const loc = await locateAgent('ocf:heartbeat:Dummy', [`state=${state}`], '/nonexistent/ha.d');
  assert.equal(loc.kind, 'ocf');
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HA_RSCTMP: dir };
  const agent = new OcfAgent('ocf:heartbeat:Dummy', loc.path, loc.provider, loc.agent, loc.call, {
    env,
    timeoutMs: 20_000,
  });
  assert.equal(agent.environment().OCF_RESKEY_state, state);
  assert.equal(agent.environment().OCF_ROOT, '/usr/lib/ocf');
  assert.deepEqual(await agent.status(), { running: false, text: 'Dummy is not running' });
  assert.deepEqual(await agent.start(), { ok: true, rc: 0, detail: '' });
  await access(state);
  assert.deepEqual(await agent.status(), { running: true, text: 'Dummy Running OK' });
  assert.deepEqual(await agent.stop(), { ok: true, rc: 0, detail: '' });
  assert.equal((await agent.status()).running, false);
  await assert.rejects(readFile(state));
});
