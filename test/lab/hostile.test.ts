/**
 * The hostile-network scenario, short: a Vigil cluster at keepalive 100 ms / deadtime 1000 ms flooded for 3 s at
 * 2,000 packets/s with the whole mix (replays of the current and of an old generation, flipped bytes, garbage up to
 * 64 KB, text, wrong-key and crc forgeries, zlib bombs), then watched for deadtime + 10 s.
 *
 * What must hold: both daemons run with the processes they had (nothing crashed or restarted), the VIP stays on
 * linux1 (linux2 never takes it: a forgery that gets through makes the nodes drop each other's real heartbeats and
 * declare each other dead a deadtime after the flood), and no foreign node shows in `cl_status listnodes`.
 *
 * The scenario waits for the cluster to settle with 120 s bounds (two shared cores); the watch after the flood is a
 * window by design: "nothing moved" has no event to wait for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runHostile, type HostileResult } from '../../lab/hostile.js';
import { cleanup } from '../../lab/topology.js';
import { leftovers, needRoot } from './helpers.js';

const PREFIX = 'hos2';

function explain(r: HostileResult): string {
  return JSON.stringify(
    {
      criteria: r.criteria,
      error: r.error,
      flood: r.flood === null ? null : { sent: r.flood.sent, pps: r.flood.pps_achieved },
      holders_after: r.holders_after,
      vip_events: r.vip_events,
      outage_ms: r.outage_ms,
      nodes: r.nodes.map((n) => ({
        host: n.host,
        pids: `${n.pids_before.join(',')} -> ${n.pids_after.join(',')}`,
        listnodes: n.listnodes,
        wire: n.wire,
        dead: n.log.dead,
        restart: n.log.restart,
        samples: n.log.samples,
      })),
      notes: r.notes,
    },
    null,
    1,
  );
}

test(
  'vigil under a short hostile flood: daemons up, VIP stays on linux1, no foreign node',
  { timeout: 420_000 },
  async (t) => {
    if (!needRoot(t)) return;
    try {
      const r = await runHostile({
        impl: 'vigil',
        keepaliveMs: 100,
        deadtimeMs: 1000,
        prefix: PREFIX,
        pps: 2000,
        seconds: 3,
      });
      t.diagnostic(
        `flood ${r.flood?.sent ?? 0} packets at ${r.flood?.pps_achieved ?? 0}/s; criteria ${JSON.stringify(r.criteria)}`,
      );
      assert.equal(r.error, null, explain(r));
      assert.ok(r.flood !== null && r.flood.sent >= 2000 * 3 * 0.5, `the flood ran: ${explain(r)}`);
      assert.equal(r.criteria.daemons_up, true, `a daemon died or restarted: ${explain(r)}`);
      assert.equal(r.criteria.vip_stayed, true, `the VIP left linux1: ${explain(r)}`);
      assert.equal(r.criteria.no_foreign_node, true, `a foreign node is listed: ${explain(r)}`);
    } finally {
      await cleanup(PREFIX);
    }
    assert.deepEqual(await leftovers(PREFIX), []);
  },
);
