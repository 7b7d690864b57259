import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartBars, escapeXml, outageChart } from '../../bench/lib/svg.js';
import { fixture, record } from './fixture.js';

/**
 * Minimal well-formedness check (the standard library has no XML parser): one root, every tag closed in order,
 * attributes quoted, no raw '<' or stray '&' in text or attribute values.
 */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  let roots = 0;
  const tokens = body.split(/(<[^>]*>)/);
  for (const tok of tokens) {
    if (tok.startsWith('<')) {
      const close = /^<\/([\w:-]+)\s*>$/.exec(tok);
      if (close !== null) {
        assert.equal(stack.pop(), close[1], `closing ${tok}`);
        continue;
      }
      const open = /^<([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(tok);
      assert.ok(open !== null, `malformed tag ${tok}`);
      for (const v of open[2]!.matchAll(/="([^"]*)"/g)) assert.doesNotMatch(v[1]!, /&(?!(amp|lt|gt|quot|apos);)/);
      if (stack.length === 0) roots++;
      if (open[3] !== '/') stack.push(open[1]!);
    } else {
      assert.doesNotMatch(tok, /[<>]|&(?!(amp|lt|gt|quot|apos);)/, `text ${tok}`);
      if (stack.length === 0) assert.equal(tok.trim(), '', 'text outside the root');
    }
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(roots, 1, 'one root element');
}

function bars(svg: string): { profile: string; scenario: string; impl: string; median: number; height: number }[] {
  return [...svg.matchAll(/<rect class="bar"[^>]*>/g)].map((m) => {
    const a = (k: string): string => new RegExp(`${k}="([^"]*)"`).exec(m[0])![1]!;
    return {
      profile: a('data-profile'),
      scenario: a('data-scenario'),
      impl: a('data-impl'),
      median: Number(a('data-median-ms')),
      height: Number(a('height')),
    };
  });
}

test('the chart is well-formed SVG with one bar per cell that has a median, on a log scale', () => {
  const svg = outageChart(fixture());
  assertWellFormed(svg);
  assert.match(svg, /<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const b = bars(svg);
  // poweroff: vigil + keepalived at fast and fastest (4); standby: vigil fast (median of 8 and 12).
  assert.equal(b.length, 5);
  const get = (p: string, s: string, i: string) => b.find((x) => x.profile === p && x.scenario === s && x.impl === i)!;
  assert.equal(get('fast', 'poweroff', 'vigil').median, 310);
  assert.equal(get('fast', 'poweroff', 'keepalived').median, 350);
  assert.equal(get('fast', 'standby', 'vigil').median, 10);
  assert.equal(get('fastest', 'poweroff', 'vigil').median, 70);
  // Log scale: heights grow with the median, and equal ratios give equal height differences.
  const h = (m: number) => b.find((x) => x.median === m)!.height;
  assert.ok(h(10) < h(70) && h(70) < h(310) && h(310) < h(350));
  const perDecade = (h(310) - h(70)) / Math.log10(310 / 70);
  assert.ok(Math.abs((h(70) - h(10)) / Math.log10(70 / 10) - perDecade) < 1.5);
  // One panel per profile present; keepalived standby is marked unsupported, not drawn.
  assert.equal([...svg.matchAll(/<g class="panel"/g)].length, 2);
  assert.match(svg, /<text class="na"[^>]*data-impl="keepalived" data-scenario="standby">n\/s</);
});

test('the chart escapes text and copes with no data and with zero medians', () => {
  assert.equal(escapeXml(`a<b & "c" 'd'>`), 'a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;');
  const empty = outageChart([]);
  assertWellFormed(empty);
  assert.match(empty, /no results yet/);
  const zero = outageChart([
    record('keepalived', 'fast', 'failback', 1, 0),
    record('vigil', 'fast', 'failback', 1, 5000),
  ]);
  assertWellFormed(zero);
  assert.equal(bars(zero).length, 2);
  assert.ok(bars(zero).every((x) => x.height >= 1));
  assert.equal(chartBars([record('vigil', 'tutorial', 'kill', 1, null)])[0]!.medianMs, undefined);
});
