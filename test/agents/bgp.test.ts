import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BIRD_EXPORT_FUNCTION, BIRD_PROTOCOL, renderBirdInclude } from '../../src/agents/bgp.js';

const run = promisify(execFile);

const ROUTES = [
  { vip: '10.99.0.2', dev: 'lo', med: 20, communities: [] },
  { vip: '10.99.0.1', dev: 'dummy0', med: 10, communities: [[65000, 1] as const, [65000, 2] as const] },
  { vip: 'fd99:0:0:0:0:0:0:1', dev: 'lo', med: 10, communities: [[65000, 6] as const] },
];

test('BIRD include: one direct protocol on the VIPs interfaces, MED and communities per VIP', () => {
  const text = renderBirdInclude(ROUTES, 'linux1');
  assert.match(
    text,
    new RegExp(`protocol direct ${BIRD_PROTOCOL} \\{\\n  ipv4;\\n  ipv6;\\n  interface "dummy0", "lo";`),
  );
  assert.match(
    text,
    /if net = 10\.99\.0\.1\/32 then \{ bgp_med = 10; bgp_community\.add\(\(65000,1\)\); bgp_community\.add\(\(65000,2\)\); return true; \}/,
  );
  assert.match(text, /if net = 10\.99\.0\.2\/32 then \{ bgp_med = 20; return true; \}/);
  // An IPv6 VIP is announced as a /128, with the same MED and communities as an IPv4 one.
  assert.match(
    text,
    /if net = fd99:0:0:0:0:0:0:1\/128 then \{ bgp_med = 10; bgp_community\.add\(\(65000,6\)\); return true; \}/,
  );
  // Sorted: the file, and so `birdc configure`, changes only when haresources does.
  assert.ok(text.indexOf('10.99.0.1/32') < text.indexOf('10.99.0.2/32'));
  assert.equal(renderBirdInclude([...ROUTES].reverse(), 'linux1'), text);
  // Nothing to announce: still a valid include (bird.conf names the function), exporting nothing.
  assert.match(renderBirdInclude([], 'linux1'), /interface "lo";[\s\S]*return false;\n\}/);
});

test('BIRD 2 accepts the include inside a bird.conf that exports with it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bird-'));
  try {
    for (const routes of [ROUTES, []]) {
      await writeFile(join(dir, 'vigil.conf'), renderBirdInclude(routes, 'linux1'));
      await writeFile(
        join(dir, 'bird.conf'),
        [
          'router id 10.20.1.10;',
          'protocol device {}',
          `include "${dir}/vigil.conf";`,
          'protocol bgp uplink {',
          '  local 10.20.1.10 as 65001; neighbor 10.20.1.1 as 65000;',
          `  ipv4 { import none; export where ${BIRD_EXPORT_FUNCTION}(); };`,
          '}',
          'protocol bgp uplink6 {',
          '  local fd20:1::10 as 65001; neighbor fd20:1::1 as 65000;',
          `  ipv6 { import none; export where ${BIRD_EXPORT_FUNCTION}(); };`,
          '}',
          '',
        ].join('\n'),
      );
      // -p: parse the configuration and exit.
      const r = await run('bird', ['-p', '-c', join(dir, 'bird.conf')]).catch(
        (e: unknown) => e as NodeJS.ErrnoException & { stderr?: string },
      );
      if ('code' in r && r.code === 'ENOENT') {
        t.skip('bird (Debian bird2) is not installed');
        return;
      }
      assert.ok(!('code' in r) || r.code === undefined, `bird -p: ${JSON.stringify(r)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
