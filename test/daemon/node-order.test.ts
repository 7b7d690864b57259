import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heartbeatNodeOrder } from '../../src/daemon/node-order.js';

test('Heartbeat lists nodes in the reverse of their ha.cf lines, ping nodes interleaved (seen on the real daemon)', () => {
  // The case recorded on real Heartbeat 3.0.6 (3 nodes): it listed linux1, 192.168.1.1, linux3, linux2.
  assert.deepEqual(heartbeatNodeOrder('keepalive 1\nnode linux2\nnode linux3\nping 192.168.1.1\nnode Linux1\n'), [
    'linux1',
    '192.168.1.1',
    'linux3',
    'linux2',
  ]);
  // The tutorial: nodes first, then the ping node; comments, continuations and ping_group names.
  assert.deepEqual(
    heartbeatNodeOrder(
      'node linux1 # first\nnode linux2\n#node old\nping 10.0.0.1 \\\n 10.0.0.2\nping_group g 10.0.0.3\n',
    ),
    ['g', '10.0.0.2', '10.0.0.1', 'linux2', 'linux1'],
  );
});
