import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VigilError, VigilErrors, isVigilError } from '../../src/util/errors.js';

test('VigilError formats file:line:column before the message', () => {
  const e = new VigilError('VIGIL_ERR_CFG_DIRECTIVE', 'bad', { file: '/etc/ha.d/ha.cf', line: 3, column: 7 });
  assert.equal(e.format(), '/etc/ha.d/ha.cf:3:7: bad');
  assert.equal(e.code, 'VIGIL_ERR_CFG_DIRECTIVE');
});

test('VigilErrors carries every error and the first code', () => {
  const a = new VigilError('VIGIL_ERR_CFG_VALUE', 'a', { file: 'f', line: 1 });
  const b = new VigilError('VIGIL_ERR_CFG_DIRECTIVE', 'b', { file: 'f', line: 2 });
  const all = new VigilErrors([a, b]);
  assert.equal(all.code, 'VIGIL_ERR_CFG_VALUE');
  assert.equal(all.message, 'f:1: a\nf:2: b');
  assert.ok(isVigilError(all));
  assert.throws(() => new VigilErrors([]));
});
