/**
 * Cross-site resources in a whole configuration: haresources errors at file:line, the lint of `vigil check`, and the
 * TSIG key file rules (strict modes: missing, readable by others, malformed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeConfig } from '../../src/config/compile.js';
import { lintConfig } from '../../src/config/lint.js';
import type { CompiledConfig } from '../../src/config/types.js';
import { checkStrictModes } from '../../src/daemon/strict-modes.js';
import { runsScript } from '../../src/daemon/resources.js';
import { compileTexts } from '../helpers/config.js';
import { bindKeyText } from '../../lab/dns-servers.js';

const DIR = '/etc/ha.d';
const HACF =
  'node linux1 linux2\nucast eth1 10.20.2.10\nucast eth1 10.20.1.10\nauto_failback on\nkeepalive 1\ndeadtime 10\n';
const DNS = 'dnsupdate::geo.test::www::linux1=10.20.1.10,linux2=10.20.2.10::30::server=10.20.0.53';

function compile(haresources: string, hacf = HACF, dir = DIR): CompiledConfig {
  return compileTexts({ dir, hacf, haresources });
}

test('a dnsupdate or bgp mistake is a haresources error at file:line:column', () => {
  const r = analyzeConfig({
    configDir: DIR,
    localNode: 'linux1',
    hacf: { file: `${DIR}/ha.cf`, text: HACF },
    authkeys: { file: `${DIR}/authkeys`, text: 'auth 1\n1 sha1 k\n', mode: 0o600 },
    haresources: { file: `${DIR}/haresources`, text: `linux1 ${DNS}\nlinux2 bgp::10.99.0.1::med=x\n` },
  });
  assert.equal(r.config, undefined);
  assert.equal(r.errors.length, 1);
  assert.equal(
    r.errors[0]?.format(),
    '/etc/ha.d/haresources:2:8: bgp: med= takes node:value pairs (value 0-4294967295), got [x]',
  );
});

test('the built-ins run no script: no "Cannot locate resource script", no strict-mode lookup', () => {
  const c = compile(`linux1 ${DNS} bgp::10.99.0.1\n`);
  for (const r of c.groups[0]!.resources) assert.equal(runsScript(c, r), false, r.spec);
});

test('geo lint: a node without an address, a long TTL, equal MEDs, a WAN-unsafe deadtime or detector', () => {
  assert.deepEqual(lintConfig(compile(`linux1 ${DNS} bgp::10.99.0.1\n`)), []);
  const missing = lintConfig(compile('linux1 dnsupdate::geo.test::www::linux1=10.20.1.10::server=10.20.0.53\n'));
  assert.equal(missing.length, 1);
  assert.match(missing[0]!.message, /node linux2 has no address in dnsupdate, so it cannot take group .* over/);
  assert.equal(missing[0]!.location?.line, 1);
  const ttl = lintConfig(compile(`linux1 ${DNS.replace('::30::', '::3600::')}\n`));
  assert.match(ttl[0]?.message ?? '', /TTL 3600 s: resolvers and clients may keep the old site's address/);
  const med = lintConfig(compile('linux1 bgp::10.99.0.1::med=linux1:5,linux2:5\n'));
  assert.match(med[0]?.message ?? '', /every node announces MED 5/);
  const fast = lintConfig(
    compile(
      `linux1 ${DNS}\n`,
      HACF.replace('keepalive 1\ndeadtime 10', 'keepalive 100ms\ndeadtime 1\nvigil_detector adaptive'),
    ),
  );
  const geo = fast.filter((w) => w.code === 'VIGIL_WARN_GEO').map((w) => w.message);
  assert.equal(geo.length, 2, geo.join('\n'));
  assert.match(geo[0]!, /deadtime 1000 ms with a cross-site resource/);
  assert.match(geo[1]!, /vigil_detector adaptive with a cross-site resource/);
  // Without a cross-site resource, the same timings say nothing about WANs.
  assert.ok(
    !lintConfig(
      compile('linux1 10.20.1.50\n', HACF.replace('keepalive 1\ndeadtime 10', 'keepalive 100ms\ndeadtime 1')),
    ).some((w) => w.code === 'VIGIL_WARN_GEO'),
  );
});

test('TSIG key file: missing, readable by others, malformed: errors as root, warnings otherwise', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-geo-key-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const c = compile(`linux1 ${DNS}\n`, HACF, dir);
  const key = join(dir, 'dnsupdate.key');
  const keyErrors = async (euid: number): Promise<string[]> => {
    const r = await checkStrictModes(dir, c, euid);
    return euid === 0
      ? r.errors.filter((e) => e.code === 'VIGIL_ERR_DNS_KEY').map((e) => e.format())
      : r.warnings.filter((w) => w.code === 'VIGIL_WARN_DNS_KEY').map((w) => w.message);
  };
  const missing = await keyErrors(0);
  assert.equal(missing.length, 1);
  assert.match(
    missing[0]!,
    new RegExp(`haresources:1: TSIG key file ${key} is missing: create it with .tsig-keygen -a hmac-sha256`),
  );
  assert.equal((await keyErrors(12345)).length, 1, 'another user gets a warning');

  await writeFile(key, bindKeyText(), { mode: 0o644 });
  await chmod(key, 0o644);
  const open = await keyErrors(0);
  assert.equal(open.length, 1);
  assert.match(open[0]!, /readable by group and others \(mode 0644\).*chmod 600/);

  await chmod(key, 0o600);
  assert.deepEqual(await keyErrors(0), []);
  await writeFile(key, 'not a key\n');
  assert.match((await keyErrors(0))[0] ?? '', /no key found/);
});
