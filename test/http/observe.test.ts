/**
 * The observability surface without root: two nodes on the in-memory network (test/helpers/memory-node.ts),
 * their event bus and counters, `vigil explain`, and the HTTP server on 127.0.0.1 over the surviving node's real
 * snapshot: /metrics (checked by promtool when installed), /api/v1/status, the SSE stream, the dashboard, and the
 * limits (read-only methods, no bodies, stream cap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HEADERS_TIMEOUT_MS,
  HttpServer,
  MAX_CONNECTIONS,
  MAX_HEADER_BYTES,
  MAX_STREAMS,
  type HttpDeps,
} from '../../src/http/server.js';
import { EventBus, type TransitionEvent, type VigilEvent } from '../../src/obs/events.js';
import { DaemonStats } from '../../src/obs/stats.js';
import { MemoryNetwork } from '../../src/transport/memory.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { MEMORY_GROUP, MEMORY_HACF, memoryConfig, memoryHost, runFor } from '../helpers/memory-node.js';

const GROUP = MEMORY_GROUP;

/** A node of the in-memory pair with its own event bus (every event kept in `seen`) and counters. */
function host(net: MemoryNetwork, clock: SimulatedClock, name: string, n: number) {
  const events = new EventBus();
  const stats = new DaemonStats();
  const seen: VigilEvent[] = [];
  events.on((e) => seen.push(e));
  const config = memoryConfig(name, MEMORY_HACF + 'vigil_detector adaptive\n');
  const { node } = memoryHost(net, clock, name, n, { config, extra: { events, stats } });
  return { node, events, stats, seen };
}

/** linux1 and linux2 started and settled: linux1 holds the group. */
async function startedPair() {
  const clock = new SimulatedClock();
  const net = new MemoryNetwork();
  const a = host(net, clock, 'linux1', 1);
  const b = host(net, clock, 'linux2', 2);
  await a.node.start();
  await b.node.start();
  await runFor(clock, 12_000);
  return { clock, a, b };
}

type Host = ReturnType<typeof host>;

/** An HTTP server on 127.0.0.1 (any free port) over one node's real snapshot, counters and event bus. */
async function serve(h: Host, clock: SimulatedClock, ipfail: HttpDeps['ipfail'] = () => undefined) {
  const server = new HttpServer({
    snapshot: () => h.node.snapshot(),
    stats: h.stats,
    events: h.events,
    ipfail,
    streams: () => 0,
    nodeVersion: process.version,
    wallNow: () => clock.wallNow(),
    history: () => Promise.resolve([]),
    log: () => undefined,
  });
  await server.listen('127.0.0.1', 0);
  return { server, port: Number(server.address.split(':').pop()) };
}

const transitionsOf = (xs: readonly VigilEvent[]): TransitionEvent[] =>
  xs.flatMap((e) => (e.type === 'transition' ? [e] : []));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, opts: { method?: string; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = opts.body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(opts.body)) };
    const req = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Opens an event stream and collects its events until closed. */
function stream(port: number, path = '/api/v1/events') {
  const events: { event: string; data: string }[] = [];
  let status = 0;
  let buf = '';
  let close = (): void => undefined;
  const opened = new Promise<void>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev !== undefined && data !== undefined) events.push({ event: ev, data });
        }
      });
      res.on('error', () => undefined);
      resolve();
    });
    req.on('error', reject);
    close = () => req.destroy();
    req.end();
  });
  return {
    events,
    opened,
    status: () => status,
    close: () => {
      close();
    },
  };
}

async function until(what: string, ms: number, fn: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('transitions, peers and links reach the event bus with their reasons; counters and move durations follow; explain says why', async () => {
  const { clock, a, b } = await startedPair();
  const initial = transitionsOf(a.seen);
  assert.deepEqual(
    initial.map((e) => [e.from, e.to, e.reason]),
    [
      ['none', 'acquiring', 'initial'],
      ['acquiring', 'held', 'initial'],
    ],
  );
  const held = initial[1];
  assert.ok(typeof held?.durationMs === 'number', JSON.stringify(held));
  assert.equal(a.stats.takeoverSeconds.count, 1);
  assert.ok(b.seen.some((e) => e.type === 'peer' && e.peer === 'linux1' && e.change === 'alive'));
  assert.ok(b.seen.some((e) => e.type === 'link' && e.peer === 'linux1' && e.status === 'up'));
  assert.ok(a.stats.packetsSent > 100, String(a.stats.packetsSent));

  const ea = a.node.explain(GROUP);
  assert.match(ea.groups[0]?.verdict ?? '', /^held here since .* \(initial\)$/);
  const eb = b.node.explain();
  assert.equal(eb.groups[0]?.verdict, 'held by linux1, its preferred node');
  assert.ok(eb.groups[0].factors.some((f) => f.name === 'peer linux1' && /alive.*holds it/.test(f.value)));
  assert.throws(() => b.node.explain('nope'), /no resource group \[nope\]/);

  // The detector learnt linux1's heartbeat: the snapshot carries it for the dashboard and the metrics.
  const d = b.node.snapshot().nodes.find((n) => n.name === 'linux1')?.detector;
  assert.ok(
    d !== undefined && d.samples >= 10 && Math.abs(d.meanMs - 100) < 20 && d.limitMs <= 1000,
    JSON.stringify(d),
  );

  a.node.close();
  await runFor(clock, 2000);
  const tb = transitionsOf(b.seen);
  assert.deepEqual(
    tb.map((e) => [e.to, e.reason, e.peer]),
    [
      ['acquiring', 'takeover', 'linux1'],
      ['held', 'takeover', 'linux1'],
    ],
  );
  assert.ok(b.seen.some((e) => e.type === 'peer' && e.peer === 'linux1' && e.change === 'dead'));
  assert.equal(b.stats.transitions.get(`${GROUP}\u0000takeover`), 2);
  assert.match(b.node.explain().groups[0]?.verdict ?? '', /^held here since .* \(takeover linux1\)$/);
  b.node.close();
});

test('HTTP: /metrics, /api/v1/status, the event stream, the dashboard, and the limits', async (t) => {
  const { clock, a, b } = await startedPair();
  const { server, port } = await serve(b, clock);
  try {
    const m = await get(port, '/metrics');
    assert.equal(m.status, 200);
    assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.match(m.body, /^vigil_group_held\{group="IPaddr::10\.0\.0\.50\/24\/eth1"\} 0$/m);
    assert.match(m.body, /^vigil_group_holder\{group="IPaddr::10\.0\.0\.50\/24\/eth1",holder="linux1"\} 1$/m);
    assert.match(m.body, /^vigil_peer_up\{peer="linux1",type="normal"\} 1$/m);
    assert.match(m.body, /^vigil_link_up\{peer="linux1",link="eth1"\} 1$/m);
    assert.match(m.body, /^vigil_peer_detector_limit_seconds\{peer="linux1"\} 0\.\d+$/m);
    assert.match(m.body, /^vigil_packets_received_total \d+$/m);
    assert.match(m.body, /^vigil_takeover_duration_seconds_bucket\{le="\+Inf"\} 0$/m);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: m.body, encoding: 'utf8' });
    if (promtool.error === undefined) assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
    else t.diagnostic('promtool not installed: exposition not checked by it here (the lab test does)');

    const s = await get(port, '/api/v1/status');
    assert.equal(s.status, 200);
    assert.equal(s.body, JSON.stringify(b.node.snapshot(), null, 2) + '\n');
    assert.equal(s.headers['x-content-type-options'], 'nosniff');

    const page = await get(port, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<script src="app\.js"><\/script>/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.equal((await get(port, '/app.js')).status, 200);
    assert.equal((await get(port, '/style.css')).status, 200);

    assert.equal((await get(port, '/api/v1/status', { method: 'POST' })).status, 405);
    assert.equal((await get(port, '/api/v1/status', { method: 'DELETE' })).status, 405);
    assert.equal((await get(port, '/metrics', { method: 'GET', body: 'x' })).status, 413);
    assert.equal((await get(port, '/etc/passwd')).status, 404);
    assert.equal((await get(port, '/../../etc/passwd')).status, 404);
    assert.equal((await get(port, '/' + 'a'.repeat(3000))).status, 414);

    // The stream: a hello, then the takeover as it happens, with its reason; log lines at the level asked.
    const s1 = stream(port, '/api/v1/events?level=WARN');
    await s1.opened;
    await until('hello', 5000, () => s1.events.some((e) => e.event === 'hello'));
    assert.equal(server.streamCount, 1);
    b.events.publish({ type: 'log', at: 1, level: 'info', text: 'not wanted' });
    b.events.publish({ type: 'log', at: 2, level: 'ERROR', text: 'wanted' });
    a.node.close();
    await runFor(clock, 2000);
    await until('the takeover on the stream', 5000, () =>
      s1.events.some((e) => e.event === 'transition' && e.data.includes('"to":"held"')),
    );
    const tr = s1.events.find((e) => e.event === 'transition');
    assert.ok(tr !== undefined);
    const first = JSON.parse(tr.data) as Record<string, unknown>;
    assert.equal(first.v, 1);
    assert.equal(first.reason, 'takeover');
    assert.equal(first.group, GROUP);
    assert.ok(s1.events.some((e) => e.event === 'peer' && e.data.includes('"change":"dead"')));
    const logs = s1.events.filter((e) => e.event === 'log').map((e) => e.data);
    assert.equal(logs.length, 1, logs.join('\n'));
    assert.match(logs[0] ?? '', /"text":"wanted"/);

    // No more than MAX_STREAMS at once; the rest are told to come back later.
    const more = [];
    for (let i = 1; i < MAX_STREAMS; i++) more.push(stream(port));
    await Promise.all(more.map((x) => x.opened));
    await until('all streams', 5000, () => server.streamCount === MAX_STREAMS);
    const over = await get(port, '/api/v1/events');
    assert.equal(over.status, 503);
    for (const x of [s1, ...more]) x.close();
    await until('streams closed', 5000, () => server.streamCount === 0);
    assert.equal(b.events.size, 1, 'the server stops listening to the bus when no stream is left');
  } finally {
    await server.close();
    b.node.close();
  }
});

test('HTTP: the dashboard files come from the given directory (a missing one is a 404); a failing view is a 500', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-dash-'));
  writeFileSync(join(dir, 'index.html'), '<p>hi</p>');
  const server = new HttpServer({
    snapshot: () => {
      throw new Error('unused');
    },
    stats: new DaemonStats(),
    events: new EventBus(),
    ipfail: () => undefined,
    streams: () => 0,
    nodeVersion: process.version,
    wallNow: () => Date.now(),
    history: () => Promise.resolve([]),
    dashboardDir: dir,
    log: () => undefined,
  });
  await server.listen('127.0.0.1', 0);
  const port = Number(server.address.split(':').pop());
  try {
    assert.equal((await get(port, '/')).body, '<p>hi</p>');
    assert.equal((await get(port, '/app.js')).status, 404);
    // A view that cannot be built is this request's problem, never an uncaught exception in the daemon.
    const broken = await get(port, '/api/v1/status');
    assert.equal(broken.status, 500);
    assert.match(broken.body, /internal error: unused/);
    assert.equal((await get(port, '/metrics')).status, 500);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true });
  }
});

test('metrics: every series the monitoring issue names, read from the snapshot and the counters at scrape time', async () => {
  const { clock, a, b } = await startedPair();
  // A handover (hb_standby on the holder), then a power cut of the new holder: linux1 has moved the group both ways.
  a.node.command({ op: 'standby', which: 'all' });
  await runFor(clock, 3000);
  b.node.close();
  await runFor(clock, 2000);
  // What main.ts counts around the node (VIP leases, GARP) and what the node counts on real scripts (health checks,
  // STONITH) or the runtime (GC pauses): bumped here, so each series must show exactly this. Timer lateness is the
  // node's own: its liveness timer runs late by up to a simulated step.
  a.stats.leaseRenewals += 7;
  a.stats.leaseFailures += 1;
  a.stats.garpSent += 3;
  a.stats.healthChecks.inc('ok', 5);
  a.stats.healthChecks.inc('failed');
  a.stats.stonith.inc('ok');
  a.stats.wireEvents.inc('rexmit_request', 2);
  a.stats.gcPause.observe(0.0015);
  a.stats.historyLost += 4;
  a.stats.journaldDropped += 6;
  const { server, port } = await serve(a, clock, () => ({ local: 2, peer: 1, standbys: 1 }));
  try {
    const m = (await get(port, '/metrics')).body;
    const G = 'group="IPaddr::10\\.0\\.0\\.50/24/eth1"';
    const want: [string, RegExp][] = [
      // per peer: status and links, heartbeat age, the detector's limit, inter-arrival mean and spread
      ['peer up', /^vigil_peer_up\{peer="linux2",type="normal"\} 0$/m],
      ['peer status', /^vigil_peer_status\{peer="linux2",status="dead"\} 1$/m],
      ['link per medium', /^vigil_link_up\{peer="linux2",link="eth1"\} 0$/m],
      ['heartbeat age', /^vigil_peer_last_heartbeat_age_seconds\{peer="linux2"\} [12](\.\d+)?$/m],
      ['detector limit', /^vigil_peer_detector_limit_seconds\{peer="linux2"\} 0\.\d+$/m],
      ['interval mean', /^vigil_peer_heartbeat_interval_mean_seconds\{peer="linux2"\} 0\.(09|1)\d*$/m],
      ['interval spread', /^vigil_peer_heartbeat_interval_stddev_seconds\{peer="linux2"\} \d/m],
      // per group: holder, state, last move, fail count, eligibility
      ['held here', new RegExp(`^vigil_group_held\\{${G}\\} 1$`, 'm')],
      ['holder', new RegExp(`^vigil_group_holder\\{${G},holder="linux1"\\} 1$`, 'm')],
      ['state', new RegExp(`^vigil_group_state\\{${G},state="held"\\} 1$`, 'm')],
      ['last move', new RegExp(`^vigil_group_last_move_seconds\\{${G}\\} [12](\\.\\d+)?$`, 'm')],
      ['fail count', new RegExp(`^vigil_group_failures\\{${G}\\} 0$`, 'm')],
      ['eligible', new RegExp(`^vigil_group_eligible\\{${G}\\} 1$`, 'm')],
      // transitions by group and reason; move durations
      ['transitions', new RegExp(`^vigil_transitions_total\\{${G},reason="standby"\\} 2$`, 'm')],
      ['transitions', new RegExp(`^vigil_transitions_total\\{${G},reason="takeover"\\} 2$`, 'm')],
      ['takeovers', /^vigil_takeover_duration_seconds_count 2$/m],
      ['handovers', /^vigil_handover_duration_seconds_count 1$/m],
      ['handover buckets', /^vigil_handover_duration_seconds_bucket\{le="\+Inf"\} 1$/m],
      // packets
      ['received', /^vigil_packets_received_total [1-9]\d+$/m],
      ['sent', /^vigil_packets_sent_total [1-9]\d+$/m],
      ['dropped by reason', /^vigil_packets_dropped_total\{reason="[a-z_]+"\} \d+$/m],
      ['retransmissions', /^vigil_retransmissions_total\{direction="requested"\} 2$/m],
      ['retransmissions', /^vigil_retransmissions_total\{direction="served"\} \d+$/m],
      // leases and GARP
      ['lease renewals', /^vigil_lease_renewals_total 7$/m],
      ['lease failures', /^vigil_lease_renewal_failures_total 1$/m],
      ['garp', /^vigil_garp_sent_total 3$/m],
      // health, STONITH, ipfail
      ['health ok', /^vigil_health_checks_total\{result="ok"\} 5$/m],
      ['health failed', /^vigil_health_checks_total\{result="failed"\} 1$/m],
      ['stonith', /^vigil_stonith_attempts_total\{result="ok"\} 1$/m],
      ['stonith pending', /^vigil_stonith_pending 0$/m],
      ['ipfail local', /^vigil_ipfail_ping_nodes\{side="local"\} 2$/m],
      ['ipfail peer', /^vigil_ipfail_ping_nodes\{side="peer"\} 1$/m],
      ['ipfail standbys', /^vigil_ipfail_standbys_total 1$/m],
      // the process
      ['timer lateness', /^vigil_timer_lateness_seconds_count [1-9]\d*$/m],
      ['gc pause', /^vigil_gc_pause_seconds_bucket\{le="0\.002"\} 1$/m],
      ['rss', /^process_resident_memory_bytes [1-9]\d+$/m],
      ['cpu', /^process_cpu_seconds_total \d/m],
      ['history lost', /^vigil_history_lost_total 4$/m],
      ['journald dropped', /^vigil_journald_dropped_total 6$/m],
      ['build info', /^vigil_build_info\{version="[^"]+",nodejs="v\d+[^"]*",node="linux1"\} 1$/m],
    ];
    const missing = want.filter(([, re]) => !re.test(m)).map(([what, re]) => `${what}: ${String(re)}`);
    assert.deepEqual(missing, [], m);
  } finally {
    await server.close();
    a.node.close();
  }
});

test('HTTP limits: an oversized header is answered 400, trickled headers are cut off, connections beyond the cap are refused', async () => {
  const clock = new SimulatedClock();
  const a = host(new MemoryNetwork(), clock, 'linux1', 1);
  const { server, port } = await serve(a, clock);
  const socks: Socket[] = [];
  try {
    const big = connect(port, '127.0.0.1');
    socks.push(big);
    let reply = '';
    big.setEncoding('utf8');
    big.on('data', (c: string) => (reply += c));
    big.on('error', () => undefined);
    await once(big, 'connect');
    big.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`);
    await once(big, 'close');
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.equal((await get(port, '/api/v1')).status, 200, 'the server still answers');
    // Headers trickled in and never finished are cut off after HEADERS_TIMEOUT_MS.
    const slow = connect(port, '127.0.0.1');
    socks.push(slow);
    slow.on('error', () => undefined);
    slow.resume(); // read the server's answer and its FIN
    await once(slow, 'connect');
    const opened = Date.now();
    slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    await until(
      'the slow client cut off',
      HEADERS_TIMEOUT_MS + 10_000,
      () => slow.destroyed || slow.readyState === 'closed',
    );
    assert.ok(Date.now() - opened >= HEADERS_TIMEOUT_MS - 100, `cut off after ${Date.now() - opened} ms`);
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const s = connect(port, '127.0.0.1');
      socks.push(s);
      await once(s, 'connect');
    }
    // Node closes a connection over maxConnections as soon as it is accepted.
    const over = connect(port, '127.0.0.1');
    socks.push(over);
    over.on('error', () => undefined);
    await until('the extra connection closed', 10_000, () => over.destroyed || over.readyState === 'closed');
  } finally {
    for (const s of socks) s.destroy();
    await server.close();
    a.node.close();
  }
});
