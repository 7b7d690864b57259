import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { analyzeAuthkeys, parseAuthkeys } from '../../src/config/authkeys.js';
import { analyzeConfig } from '../../src/config/compile.js';
import { analyzeHaCf, parseHaCf } from '../../src/config/hacf.js';
import { analyzeHaresources, parseHaresources } from '../../src/config/haresources.js';
import { VigilError, VigilErrors } from '../../src/util/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const RUNS = 1000;

async function fixture(dir: string): Promise<{ hacf: string; authkeys: string; haresources: string }> {
  const read = (f: string) => readFile(`${root}${dir}/${f}`, 'utf8');
  return { hacf: await read('ha.cf'), authkeys: await read('authkeys'), haresources: await read('haresources') };
}

/** Only VigilError/VigilErrors may leave a parser; anything else (TypeError, RangeError…) is a bug. */
function onlyVigilErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof VigilErrors) {
      assert.ok(e.errors.length > 0);
      for (const x of e.errors)
        assert.ok(x instanceof VigilError && x.location !== undefined, 'every error has a file');
      return;
    }
    throw e;
  }
}

function checkAll(hacf: string, authkeys: string, haresources: string, mode: number): void {
  onlyVigilErrors(() => parseHaCf(hacf, { file: 'ha.cf', localNode: 'alpha' }));
  onlyVigilErrors(() => parseAuthkeys(authkeys, { file: 'authkeys', mode }));
  onlyVigilErrors(() => parseHaresources(haresources, { file: 'haresources', nodes: ['alpha', 'beta'] }));
  // The analyzers never throw at all, and a config exists exactly when there is no error.
  const r = analyzeConfig({
    configDir: '/x',
    localNode: 'alpha',
    hacf: { file: 'ha.cf', text: hacf },
    authkeys: { file: 'authkeys', text: authkeys, mode },
    haresources: { file: 'haresources', text: haresources },
  });
  assert.equal(r.config === undefined, r.errors.length > 0);
  if (r.config !== undefined) {
    const h = r.config.hacf;
    assert.ok(h.nodes.includes(h.localNode));
    assert.ok(h.deadtimeMs > 2 * h.keepaliveMs);
    assert.ok(h.initdeadMs >= h.deadtimeMs);
    assert.ok(r.config.authkeys.keys.has(r.config.authkeys.active));
    for (const g of r.config.groups) assert.ok(h.nodes.includes(g.node));
  }
}

const bytesAsText = fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b).toString('utf8'));

test('arbitrary bytes never throw anything but VigilErrors', () => {
  fc.assert(
    fc.property(bytesAsText, bytesAsText, bytesAsText, fc.integer({ min: 0, max: 0o777 }), (a, b, c, mode) => {
      checkAll(a, b, c, mode);
    }),
    { numRuns: RUNS },
  );
});

// Pieces that matter to the tokenizers and parsers, to reach deeper than random bytes do.
const INTERESTING = [
  '#',
  '\\',
  '\\\n',
  '\n',
  '\r\n',
  ' ',
  '\t',
  ',',
  '::',
  '/',
  '=',
  '.',
  '0',
  '1',
  '9',
  '-1',
  '2s',
  'ms',
  'us',
  '255',
  '999999999999999999999',
  'auth',
  'auth 1',
  'node',
  'bcast',
  'ucast',
  'mcast',
  'ping_group',
  'udpport',
  'keepalive',
  'deadtime',
  'initdead',
  'stonith_host',
  'apiauth',
  'env',
  '__proto__',
  'constructor',
  'IPaddr::',
  'IPaddr2::1.2.3.4/',
  '10.0.0.1',
  'sha1',
  'crc',
  'vigil_state_dir',
  '\u00e9',
  '\uFFFD',
  '\0',
];

const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...INTERESTING), fc.string({ maxLength: 8 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ kind: fc.constant('dupline' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swaplines' as const), at: fc.nat(), other: fc.nat() }),
);

interface Mutation {
  readonly kind: 'insert' | 'delete' | 'dupline' | 'swaplines';
  readonly at: number;
  readonly text?: string;
  readonly len?: number;
  readonly other?: number;
}

function mutate(text: string, muts: readonly Mutation[]): string {
  let t = text;
  for (const m of muts) {
    const at = t.length === 0 ? 0 : m.at % (t.length + 1);
    if (m.kind === 'insert') t = t.slice(0, at) + (m.text ?? '') + t.slice(at);
    else if (m.kind === 'delete') t = t.slice(0, at) + t.slice(at + (m.len ?? 1));
    else {
      const lines = t.split('\n');
      const i = m.at % lines.length;
      if (m.kind === 'dupline') lines.splice(i, 0, lines[i] ?? '');
      else {
        const j = (m.other ?? 0) % lines.length;
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      }
      t = lines.join('\n');
    }
  }
  return t;
}

test('mutations of valid files never throw anything but VigilErrors', async () => {
  const full = await fixture('test/fixtures/config/full');
  const muts = fc.array(mutation, { minLength: 1, maxLength: 6 });
  fc.assert(
    fc.property(muts, muts, muts, (m1, m2, m3) => {
      checkAll(mutate(full.hacf, m1), mutate(full.authkeys, m2), mutate(full.haresources, m3), 0o600);
    }),
    { numRuns: RUNS },
  );
});

test('the full fixture itself is valid', async () => {
  const full = await fixture('test/fixtures/config/full');
  const r = analyzeConfig({
    configDir: '/x',
    localNode: 'alpha',
    hacf: { file: 'ha.cf', text: full.hacf },
    authkeys: { file: 'authkeys', text: full.authkeys, mode: 0o600 },
    haresources: { file: 'haresources', text: full.haresources },
  });
  assert.deepEqual(
    r.errors.map((e) => e.format()),
    [],
  );
  assert.equal(r.config?.groups.length, 2);
  assert.equal(r.config.hacf.media.length, 3);
  assert.equal(r.config.hacf.pingNodes.length, 2);
});

test('timings: valid exactly when deadtime > 2 × keepalive (and initdead, if set, ≥ deadtime)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 100_000 }),
      fc.option(fc.integer({ min: 1, max: 200_000 }), { nil: undefined }),
      (k, d, i) => {
        const text = `node alpha\nbcast eth0\nauto_failback on\nkeepalive ${k}ms\ndeadtime ${d}ms\n${i === undefined ? '' : `initdead ${i}ms\n`}`;
        const r = analyzeHaCf(text, { file: 'ha.cf', localNode: 'alpha' });
        const expectValid = d > 2 * k && (i === undefined || i >= d);
        assert.equal(r.errors.length === 0, expectValid, `${text} → ${r.errors.map((e) => e.message).join('; ')}`);
        if (expectValid) {
          assert.equal(r.hacf.keepaliveMs, k);
          assert.equal(r.hacf.deadtimeMs, d);
          assert.ok(r.hacf.initdeadMs >= d);
          assert.equal(r.hacf.warntimeMs, Math.floor(d / 2));
        }
      },
    ),
    { numRuns: RUNS },
  );
});

test('analyzers never throw, even on huge or odd input', () => {
  const huge = `${'node a\n'.repeat(5_000)}${'x'.repeat(100_000)}\n`;
  assert.doesNotThrow(() => analyzeHaCf(huge, { file: 'f', localNode: 'a' }));
  assert.doesNotThrow(() => analyzeAuthkeys(huge, { file: 'f', mode: 0o600 }));
  assert.doesNotThrow(() => analyzeHaresources(`a ${'\\\n'.repeat(50_000)}`, { file: 'f', nodes: ['a'] }));
});
