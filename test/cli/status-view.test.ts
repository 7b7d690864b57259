import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderStatus } from '../../src/cli/status-view.js';
import { statusSnapshot } from '../helpers/status-snapshot.js';

const now = Date.UTC(2026, 10, 26, 12, 0, 0);
/** linux1, pid 42, generation 9, up for `upMs` at `now`. */
const running = (upMs: number) => ({ pid: 42, startedAt: now - upMs, generation: 9 });

test('vigil status shows each node with its links and each group with holder and since when', () => {
  const snap = statusSnapshot({
    ...running(3_723_000),
    nodes: [
      {
        name: 'linux1',
        type: 'normal',
        status: 'active',
        links: [{ name: 'eth1', status: 'up' }],
        lastHeard: now,
        clients: {},
      },
      {
        name: 'linux2',
        type: 'normal',
        status: 'dead',
        links: [{ name: 'eth1', status: 'dead' }],
        lastHeard: now - 12_000,
        clients: {},
      },
    ],
    groups: [
      {
        key: '192.168.1.50',
        preferred: 'linux1',
        resources: ['IPaddr::192.168.1.50'],
        holder: 'linux1',
        state: 'held',
        since: now - 65_000,
        failCount: 2,
        lastFailure: 'apache: Return code 1',
        eligible: true,
        ineligibleReason: undefined,
        checks: [],
      },
    ],
    transitions: [{ at: now - 65_000, text: 'Taking over resource group 192.168.1.50' }],
  });
  const out = renderStatus(snap, now);
  assert.match(out, /^vigil OK \[pid 42\] is running on linux1 \[linux1\]\.\.\. .*generation 9, up 1h02m/);
  assert.match(out, /linux2 +normal +dead +eth1 dead +last heard 12s ago/);
  assert.match(
    out,
    /192\.168\.1\.50 +held on linux1 since .* \(1m05s\) +preferred linux1 +failures 2 \(last: apache: Return code 1\)/,
  );
  assert.match(out, /Taking over resource group 192\.168\.1\.50/);
  assert.doesNotMatch(out, /NOT ELIGIBLE|STONITH/);
});

test('vigil status shows health checks, a ruling against this node and a STONITH wait', () => {
  const snap = statusSnapshot({
    ...running(60_000),
    autoFailback: 'off',
    rscstatus: 'none',
    groups: [
      {
        key: '10.0.0.50',
        preferred: 'linux1',
        resources: ['10.0.0.50', 'websvc'],
        holder: 'linux2',
        state: 'held',
        since: now - 5_000,
        failCount: 2,
        lastFailure: 'health check web: exit code 2: connection refused',
        eligible: false,
        ineligibleReason: 'health check web still failing after 1 restart(s): exit code 2: connection refused',
        checks: [
          {
            id: 'web',
            target: 'command /usr/local/bin/check-web',
            state: 'failed',
            failCount: 2,
            restarts: 1,
            maxRestarts: 1,
            lastFailure: { at: now - 6_000, detail: 'exit code 2: connection refused' },
          },
        ],
      },
    ],
    fencing: [{ node: 'linux3', device: 'Meatware STONITH device', awaitingOperator: true }],
  });
  const out = renderStatus(snap, now);
  assert.match(out, /failures 2 \(last: health check web: exit code 2: connection refused\)/);
  assert.match(
    out,
    /NOT ELIGIBLE here: health check web still failing after 1 restart\(s\).*vigil cleanup 10\.0\.0\.50/,
  );
  assert.match(out, /check web +failed +fails 2 +restarts 1\/1 +command \/usr\/local\/bin\/check-web/);
  assert.match(out, /STONITH: waiting for the operator to confirm the reset of linux3 \(vigil fence-ack linux3\)/);
});
