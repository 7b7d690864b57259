import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ipv4InSubnet,
  isIPv4,
  isMulticastIPv4,
  netmaskToPrefix,
  parseBoolean,
  parseInteger,
  parseTimeMs,
  tokenize,
} from '../../src/config/values.js';

test('times: seconds by default, ms/msec/us/usec, rounded to whole ms (get_msec)', () => {
  assert.equal(parseTimeMs('1'), 1000);
  assert.equal(parseTimeMs('1.5'), 1500);
  assert.equal(parseTimeMs('.5'), 500);
  assert.equal(parseTimeMs('1500ms'), 1500);
  assert.equal(parseTimeMs('1500msec'), 1500);
  assert.equal(parseTimeMs('1500MS'), 1500);
  assert.equal(parseTimeMs('2500us'), 3); // 2.5 ms + 0.5, truncated
  assert.equal(parseTimeMs('2400usec'), 2);
  assert.equal(parseTimeMs('0.0004'), 0);
});

test('times: 2s and other suffixes are invalid, as in heartbeat 3.0.6', () => {
  // [verified] `keepalive 2s` stops heartbeat 3.0.6 with "Heartbeat not started: configuration error."
  for (const bad of ['2s', '2sec', '2 s', 'ms', '', '.', '-1', '1.2.3', 'abc', '1m', '1h', '1e3']) {
    assert.equal(parseTimeMs(bad), undefined, bad);
  }
});

test('booleans: cl_str_to_boolean words, case-insensitive', () => {
  for (const t of ['true', 'on', 'yes', 'y', '1', 'TRUE', 'On', 'Y']) assert.equal(parseBoolean(t), true, t);
  for (const f of ['false', 'off', 'no', 'n', '0', 'OFF', 'No']) assert.equal(parseBoolean(f), false, f);
  for (const x of ['maybe', '', '2', 'enable']) assert.equal(parseBoolean(x), undefined, x);
});

test('integers are decimal and bounded', () => {
  assert.equal(parseInteger('694', 1, 65535), 694);
  assert.equal(parseInteger('0', 1, 65535), undefined);
  assert.equal(parseInteger('70000', 1, 65535), undefined);
  assert.equal(parseInteger('12a', 0, 100), undefined);
  assert.equal(parseInteger('-1', -5, 5), undefined);
});

test('tokenize splits on the separator set and keeps 1-based columns', () => {
  assert.deepEqual(tokenize('a, b\tc', ', \t'), [
    { text: 'a', column: 1 },
    { text: 'b', column: 4 },
    { text: 'c', column: 6 },
  ]);
  assert.deepEqual(tokenize(' x', ' ', 10), [{ text: 'x', column: 12 }]);
  assert.deepEqual(tokenize('', ' '), []);
});

test('IPv4 helpers', () => {
  assert.ok(isIPv4('192.168.1.50'));
  for (const bad of ['192.168.1', '256.1.1.1', '1.2.3.4.5', '01.2.3.4', 'a.b.c.d', '']) assert.ok(!isIPv4(bad), bad);
  assert.ok(isMulticastIPv4('225.0.0.1'));
  assert.ok(!isMulticastIPv4('10.0.0.1'));
  assert.equal(netmaskToPrefix('255.255.255.0'), 24);
  assert.equal(netmaskToPrefix('255.255.255.255'), 32);
  assert.equal(netmaskToPrefix('0.0.0.0'), 0);
  assert.equal(netmaskToPrefix('255.0.255.0'), undefined);
  assert.ok(ipv4InSubnet('192.168.1.50', '192.168.1.10', 24));
  assert.ok(!ipv4InSubnet('192.168.2.50', '192.168.1.10', 24));
  assert.ok(ipv4InSubnet('10.1.2.3', '10.9.9.9', 8));
  assert.ok(ipv4InSubnet('10.0.0.1', '10.0.0.1', 32));
});
