import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { analyzeConfig, compileConfig, type ConfigSources } from '../../src/config/compile.js';
import { defaultHaCf } from '../../src/config/heartbeat-defaults.js';
import type { CompiledConfig } from '../../src/config/types.js';
import { tutorialGroup } from '../helpers/config.js';
import { VigilErrors } from '../../src/util/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = `${root}examples/tutorial`;

async function tutorial(): Promise<ConfigSources> {
  const [hacf, authkeys, haresources] = await Promise.all(
    ['ha.cf', 'authkeys', 'haresources'].map((f) => readFile(`${dir}/${f}`, 'utf8')),
  );
  return {
    configDir: dir,
    localNode: 'linux1',
    hacf: { file: `${dir}/ha.cf`, text: hacf! },
    authkeys: { file: `${dir}/authkeys`, text: authkeys!, mode: 0o600 },
    haresources: { file: `${dir}/haresources`, text: haresources! },
  };
}

test('the tutorial example compiles to the expected object', async () => {
  const { config, warnings } = compileConfig(await tutorial());
  const hacfFile = `${dir}/ha.cf`;
  const o = (line: number) => ({ file: hacfFile, line });
  const expected: CompiledConfig = {
    configDir: dir,
    hacf: {
      // Heartbeat's defaults for what the tutorial does not set, then what it does.
      ...defaultHaCf({ nodes: ['linux1', 'linux2'], localNode: 'linux1' }),
      media: [{ kind: 'bcast', dev: 'eth1', port: 694, origin: o(14) }],
      pingNodes: [{ name: '192.168.1.1', addresses: ['192.168.1.1'], group: false, origin: o(16) }],
      keepaliveMs: 1000,
      deadtimeMs: 10000,
      warntimeMs: 5000,
      initdeadMs: 20000,
      deadpingMs: 10000,
      autoFailback: 'on',
      niceFailback: true,
      logfile: '/var/log/heartbeat.log',
      logfacility: 'daemon',
      useLogd: false,
      raw: {
        logfile: '/var/log/heartbeat.log',
        logfacility: 'daemon',
        node: 'linux2',
        keepalive: '1',
        deadtime: '10',
        bcast: 'eth1',
        ping: '192.168.1.1',
        auto_failback: 'yes',
      },
      origins: {
        logfile: o(2),
        logfacility: o(4),
        node: o(6),
        keepalive: o(10),
        deadtime: o(12),
        bcast: o(14),
        ping: o(16),
        auto_failback: o(18),
      },
    },
    authkeys: {
      active: 1,
      keys: new Map([
        [1, { index: 1, method: 'sha1', key: 'MaClefSecrete', origin: { file: `${dir}/authkeys`, line: 2 } }],
      ]),
    },
    groups: [tutorialGroup(`${dir}/haresources`)],
  };
  assert.deepStrictEqual(config, expected);
  assert.deepEqual(warnings, []);
});

test('errors of all three files are reported together, in file order', async () => {
  const src = await tutorial();
  const r = analyzeConfig({
    ...src,
    hacf: { ...src.hacf, text: `${src.hacf.text}bogus 1\n` },
    authkeys: { ...src.authkeys, mode: 0o644 },
    haresources: { ...src.haresources, text: 'linux9 10.0.0.1\n' },
  });
  assert.equal(r.config, undefined);
  assert.deepEqual(
    r.errors.map((e) => e.code),
    ['VIGIL_ERR_CFG_DIRECTIVE', 'VIGIL_ERR_AUTH_PERMS', 'VIGIL_ERR_RSC_NODE'],
  );
  assert.throws(
    () => compileConfig({ ...src, authkeys: { ...src.authkeys, mode: 0o644 } }),
    (e: unknown) =>
      e instanceof VigilErrors && /Bad permissions on keyfile \[.*authkeys\], 600 recommended\./.test(e.message),
  );
});

test('the local node is checked (as --node or uname -n would give it)', async () => {
  const src = await tutorial();
  const r = analyzeConfig({ ...src, localNode: 'LINUX2' });
  assert.equal(r.config?.hacf.localNode, 'linux2');
  const bad = analyzeConfig({ ...src, localNode: 'vm' });
  assert.match(bad.errors[0]?.message ?? '', /^Current node \[vm\] not in configuration!/);
});
