/**
 * The seeded CI slice of `npm run fuzz`: every target of fuzz/targets with a fixed seed, two thousand inputs each (a
 * thousand for the two that talk over real sockets), in-process. A crash fails that target's test with its replay
 * coordinates; a generator that stopped reaching deep (every input refused at its first byte) fails too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type TargetReport, runTarget } from '../../fuzz/engine.js';
import { TARGETS } from '../../fuzz/targets/index.js';

const SEED = 20261128;

/** What "deep" means per target: an outcome only a well-formed input reaches, and how often it must (at least). */
const DEEP: Readonly<Record<string, { readonly label: RegExp; readonly share: number }>> = {
  'wire-decode': { label: /^ok:/, share: 0.1 },
  'wire-receive': { label: /^accepted:/, share: 0.01 },
  hacf: { label: /^ok$/, share: 0.01 },
  haresources: { label: /^ok$/, share: 0.03 },
  authkeys: { label: /^ok$/, share: 0.01 },
  'control-request': { label: /^ok:/, share: 0.05 },
  'control-client': { label: /^resolved:ok$/, share: 0.1 },
  'smtp-reply': { label: /^sent:/, share: 0.1 },
};

function describeCrashes(r: TargetReport): string {
  return r.crashes
    .map(
      (c) =>
        `${c.signature} (${c.count} inputs)\n  ${c.message.slice(0, 300)}\n` +
        `  replay: npm run fuzz -- --only ${r.target} --replay ${c.seed}:${c.path}\n  minimal: ${c.minimal.slice(0, 1500)}`,
    )
    .join('\n');
}

for (const target of TARGETS) {
  test(`fuzz slice: ${target.name}, seed ${SEED}`, async () => {
    const runs = target.kind === 'async' ? 1000 : 2000;
    const r = await runTarget(target, { runs, seed: SEED, shrinkMs: 1000 });
    assert.equal(r.runs, runs);
    assert.equal(r.crashes.length, 0, `${target.name}: ${target.about}\n${describeCrashes(r)}`);
    const deep = DEEP[target.name];
    assert.ok(deep !== undefined, `no depth expectation for ${target.name}`);
    const reached = Object.entries(r.outcomes)
      .filter(([label]) => deep.label.test(label))
      .reduce((n, [, c]) => n + c, 0);
    assert.ok(
      reached >= deep.share * runs,
      `${target.name}: only ${reached} of ${runs} inputs reached ${String(deep.label)}: ${JSON.stringify(r.outcomes)}`,
    );
  });
}
