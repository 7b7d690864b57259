import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scriptOutputLines } from '../../src/daemon/resources.js';

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
