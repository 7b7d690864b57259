/**
 * `/metrics` in Prometheus' text format. Every value is read at scrape time from what the daemon already keeps
 * (the status snapshot, DaemonStats' counters, the runtime monitor): nothing is computed per packet for it, and an
 * idle daemon that is never scraped pays nothing but the counters' additions.
 *
 * prom-client does the exposition (names, HELP/TYPE lines, label escaping, number formatting); the metrics are
 * registered as collectors that produce their values when asked, rather than prom-client's own Counter/Histogram
 * objects, because the numbers live in the daemon whether or not this module is loaded (the HTTP server is off by
 * default and can be turned on by a reload). prom-client's default process metrics are not used: they start an
 * event-loop-delay monitor of their own (a timer, CPU and RSS), and the daemon measures that already.
 */
import { createRequire } from 'node:module';
import type { Registry as RegistryClass } from 'prom-client';
import type { StatusSnapshot } from '../control/protocol.js';
import { sep, type DaemonStats, type Histogram, type LabeledCounter } from '../obs/stats.js';
import { DROP_REASONS } from '../wire/protocol.js';

/**
 * Only prom-client's registry (the exposition), not its index: the index also loads its Counter/Histogram/Summary
 * classes, the default process metrics, cluster aggregation and the Pushgateway client (http, https, url), which
 * measured 8 MB of RSS in a bare process against 0.6 MB for the registry alone (bench/RESULTS.md, HTTP server).
 */
const Registry = createRequire(import.meta.url)('prom-client/lib/registry.js') as typeof RegistryClass;
type Registry = RegistryClass;

export interface MetricsSource {
  readonly snapshot: () => StatusSnapshot;
  readonly stats: DaemonStats;
  /** ipfail (undefined when off): ping nodes seen here and by the peer, and give-ups so far. */
  readonly ipfail: () => { local: number | undefined; peer: number | undefined; standbys: number } | undefined;
  /** SSE clients connected now. */
  readonly streams: () => number;
  readonly nodeVersion: string;
  readonly wallNow: () => number;
}

type Labels = Readonly<Record<string, string>>;
interface Value {
  readonly value: number;
  readonly labels?: Labels;
  readonly metricName?: string;
}
type Kind = 'gauge' | 'counter' | 'histogram';

const GROUP_STATES = ['held', 'acquiring', 'releasing', 'released', 'failed'] as const;
const PEER_STATUSES = ['init', 'up', 'active', 'dead'] as const;

function histogramValues(name: string, h: Histogram, labels: Labels = {}): Value[] {
  const cum = h.cumulative();
  const out: Value[] = h.bounds.map((b, i) => ({
    metricName: `${name}_bucket`,
    labels: { ...labels, le: String(b) },
    value: cum[i] ?? 0,
  }));
  out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  out.push({ metricName: `${name}_sum`, labels, value: h.sum });
  out.push({ metricName: `${name}_count`, labels, value: h.count });
  return out;
}

function counterValues(c: LabeledCounter, names: readonly string[]): Value[] {
  return c.entries().map(([k, value]) => {
    const parts = k.split(sep);
    const labels: Record<string, string> = {};
    names.forEach((n, i) => (labels[n] = parts[i] ?? ''));
    return { labels, value };
  });
}

/** A registry whose collectors read `src` at each scrape. One per HTTP server. */
export function buildRegistry(src: MetricsSource): Registry {
  const reg = new Registry();
  // One snapshot per scrape, shared by every collector of that scrape.
  let cached: { snap: StatusSnapshot; at: number } | undefined;
  const snap = (): StatusSnapshot => {
    const now = src.wallNow();
    if (cached === undefined || now - cached.at > 100) cached = { snap: src.snapshot(), at: now };
    return cached.snap;
  };
  const add = (name: string, help: string, type: Kind, values: () => Value[]): void => {
    const metric = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: () => Promise.resolve({ name, help, type, aggregator: 'sum', values: values() }),
    };
    reg.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  };
  const histogram = (name: string, help: string, h: Histogram): void => {
    add(name, help, 'histogram', () => histogramValues(name, h));
  };
  const st = src.stats;
  const secs = (ms: number): number => ms / 1000;

  add('vigil_build_info', 'Vigil version and Node.js version (always 1).', 'gauge', () => [
    { labels: { version: snap().version, nodejs: src.nodeVersion, node: snap().node }, value: 1 },
  ]);
  add('vigil_generation', "This node's Heartbeat generation (bumped at every start).", 'gauge', () => [
    { value: snap().generation },
  ]);

  // ---- peers and links
  const peers = (): StatusSnapshot['nodes'] => snap().nodes.filter((n) => n.name !== snap().node);
  add('vigil_peer_up', 'A peer (or ping node) is alive as this node sees it (1) or declared dead (0).', 'gauge', () =>
    peers().map((n) => ({ labels: { peer: n.name, type: n.type }, value: n.status === 'dead' ? 0 : 1 })),
  );
  add(
    'vigil_peer_status',
    "A peer's current status word (init, up, active, dead): 1 for the current one.",
    'gauge',
    () =>
      peers()
        .filter((n) => n.type === 'normal')
        .flatMap((n) =>
          PEER_STATUSES.map((s) => ({ labels: { peer: n.name, status: s }, value: n.status === s ? 1 : 0 })),
        ),
  );
  add('vigil_link_up', "A medium's link to a peer is up (1) or dead (0).", 'gauge', () =>
    peers()
      .filter((n) => n.type === 'normal')
      .flatMap((n) =>
        n.links.map((l) => ({ labels: { peer: n.name, link: l.name }, value: l.status === 'up' ? 1 : 0 })),
      ),
  );
  add(
    'vigil_peer_last_heartbeat_age_seconds',
    "Seconds since the peer's last status (heartbeat) was heard.",
    'gauge',
    () => {
      const now = src.wallNow();
      return peers()
        .filter((n) => n.lastHeard !== undefined && n.type === 'normal')
        .map((n) => ({ labels: { peer: n.name }, value: secs(Math.max(0, now - (n.lastHeard ?? now))) }));
    },
  );
  // What the failure detector learnt of each peer (absent for a peer it has no window for).
  type Detector = NonNullable<StatusSnapshot['nodes'][number]['detector']>;
  const detector = (name: string, help: string, value: (d: Detector) => number): void => {
    add(name, help, 'gauge', () =>
      peers().flatMap((n) =>
        n.detector === undefined ? [] : [{ labels: { peer: n.name }, value: value(n.detector) }],
      ),
    );
  };
  detector(
    'vigil_peer_detector_limit_seconds',
    'Silence after which the peer is declared dead: deadtime, or the adaptive detector limit under it.',
    (d) => secs(d.limitMs),
  );
  detector(
    'vigil_peer_heartbeat_interval_mean_seconds',
    "Mean of the peer's heartbeat inter-arrival times (detector window).",
    (d) => secs(d.meanMs),
  );
  detector(
    'vigil_peer_heartbeat_interval_stddev_seconds',
    "Standard deviation of the peer's heartbeat inter-arrival times (detector window).",
    (d) => secs(d.stddevMs),
  );
  detector('vigil_peer_heartbeat_interval_samples', 'Inter-arrival samples in the detector window.', (d) => d.samples);
  add('vigil_link_changes_total', 'Links going up or dead, by peer, link and new status.', 'counter', () =>
    counterValues(st.linkChanges, ['peer', 'link', 'status']),
  );

  // ---- groups
  add(
    'vigil_group_held',
    'This node holds the group (1) or not (0): the sum over the cluster must be 1.',
    'gauge',
    () =>
      snap().groups.map((g) => ({
        labels: { group: g.key },
        value: g.holder === snap().node && g.state === 'held' ? 1 : 0,
      })),
  );
  add(
    'vigil_group_holder',
    'The node holding the group as this node knows it (1; absent when nobody holds it).',
    'gauge',
    () =>
      snap().groups.flatMap((g) =>
        g.holder === undefined ? [] : [{ labels: { group: g.key, holder: g.holder }, value: 1 }],
      ),
  );
  add('vigil_group_state', "The group's state as seen from this node: 1 for the current one.", 'gauge', () =>
    snap().groups.flatMap((g) =>
      GROUP_STATES.map((s) => ({ labels: { group: g.key, state: s }, value: g.state === s ? 1 : 0 })),
    ),
  );
  add('vigil_group_last_move_seconds', "Seconds since the group's holder or state last changed.", 'gauge', () => {
    const now = src.wallNow();
    return snap().groups.map((g) => ({ labels: { group: g.key }, value: secs(Math.max(0, now - g.since)) }));
  });
  add(
    'vigil_group_failures',
    'Failures of the group since the last vigil cleanup (starts, losses, health checks).',
    'gauge',
    () => snap().groups.map((g) => ({ labels: { group: g.key }, value: g.failCount })),
  );
  add(
    'vigil_group_eligible',
    'This node may run the group (0: a health check ruled it out until vigil cleanup).',
    'gauge',
    () => snap().groups.map((g) => ({ labels: { group: g.key }, value: g.eligible ? 1 : 0 })),
  );
  add('vigil_group_preferred', 'This node is the preferred node of the group in haresources.', 'gauge', () =>
    snap().groups.map((g) => ({ labels: { group: g.key }, value: g.preferred === snap().node ? 1 : 0 })),
  );
  add('vigil_transitions_total', 'Group state changes on this node, by group and reason.', 'counter', () =>
    counterValues(st.transitions, ['group', 'reason']),
  );
  histogram(
    'vigil_takeover_duration_seconds',
    'Time from starting to acquire a group to holding it.',
    st.takeoverSeconds,
  );
  histogram(
    'vigil_handover_duration_seconds',
    'Time from starting to release a group to having released it.',
    st.handoverSeconds,
  );
  add(
    'vigil_health_check_up',
    'A health check of a group held here passes (1) or not (0); idle checks are absent.',
    'gauge',
    () =>
      snap().groups.flatMap((g) =>
        g.checks
          .filter((c) => c.state !== 'idle')
          .map((c) => ({ labels: { group: g.key, check: c.id }, value: c.state === 'up' ? 1 : 0 })),
      ),
  );
  add('vigil_health_checks_total', 'Health check runs, by result.', 'counter', () =>
    counterValues(st.healthChecks, ['result']),
  );

  // ---- packets
  add(
    'vigil_packets_received_total',
    'Packets accepted by the wire layer (authentic, new, for this node).',
    'counter',
    () => [{ value: snap().wire?.accepted ?? 0 }],
  );
  add('vigil_packets_dropped_total', 'Packets dropped by the wire layer, by reason.', 'counter', () => {
    const w = snap().wire ?? {};
    return DROP_REASONS.map((r) => ({ labels: { reason: r }, value: w[r] ?? 0 }));
  });
  add('vigil_packets_sent_total', 'Packets handed to the media (one per medium per message).', 'counter', () => [
    { value: st.packetsSent },
  ]);
  add(
    'vigil_retransmissions_total',
    'Retransmissions: requested from peers (gaps seen) and served to them.',
    'counter',
    () => [
      { labels: { direction: 'requested' }, value: st.wireEvents.get('rexmit_request') },
      { labels: { direction: 'served' }, value: st.wireEvents.get('rexmit_served') },
    ],
  );
  add('vigil_lost_packet_events_total', 'Gaps in a peer sequence (lost packets) noticed.', 'counter', () => [
    { value: st.wireEvents.get('lost_packets') },
  ]);

  // ---- resources, fencing, ipfail
  add('vigil_lease_renewals_total', 'VIP lease renewals that succeeded.', 'counter', () => [
    { value: st.leaseRenewals },
  ]);
  add(
    'vigil_lease_renewal_failures_total',
    'VIP lease renewals that failed (address gone, lease expired, error).',
    'counter',
    () => [{ value: st.leaseFailures }],
  );
  add('vigil_garp_sent_total', 'Gratuitous ARP pairs sent (takeover bursts and refreshes).', 'counter', () => [
    { value: st.garpSent },
  ]);
  add('vigil_garp_failures_total', 'Gratuitous ARP announcements that failed.', 'counter', () => [
    { value: st.garpFailures },
  ]);
  add('vigil_stonith_attempts_total', 'STONITH reset attempts, by result (ok, failed, cancelled).', 'counter', () =>
    counterValues(st.stonith, ['result']),
  );
  add('vigil_stonith_pending', 'STONITH resets this node is waiting for (a takeover waits for each).', 'gauge', () => [
    { value: snap().fencing.length },
  ]);
  // vigil_quorum etcd: no series without it.
  add('vigil_quorum_reachable', 'vigil_quorum etcd: etcd answers this node (1) or not (0).', 'gauge', () => {
    const q = snap().quorum;
    return q === undefined ? [] : [{ value: q.reachable ? 1 : 0 }];
  });
  add(
    'vigil_quorum_renewal_seconds',
    'vigil_quorum etcd: round trip of the etcd lease keep-alives that renewed a lease.',
    'histogram',
    () => (snap().quorum === undefined ? [] : histogramValues('vigil_quorum_renewal_seconds', st.quorumRenewSeconds)),
  );
  add(
    'vigil_quorum_renewals_total',
    'vigil_quorum etcd: etcd lease keep-alives, by result (renewed, gone, failed).',
    'counter',
    () => (snap().quorum === undefined ? [] : counterValues(st.quorumRenewals, ['result'])),
  );
  add(
    'vigil_quorum_key_owner',
    'vigil_quorum etcd: the node owning the group\'s key as last known (owner="" when the key is free).',
    'gauge',
    () =>
      (snap().quorum?.keys ?? []).flatMap((k) =>
        k.owner === undefined ? [] : [{ labels: { group: k.group, owner: k.owner ?? '' }, value: 1 }],
      ),
  );
  add(
    'vigil_quorum_fencing_token',
    "vigil_quorum etcd: this node's fencing token for a group whose key it owns (the key's creation revision).",
    'gauge',
    () =>
      (snap().quorum?.keys ?? []).flatMap((k) =>
        k.token === undefined ? [] : [{ labels: { group: k.group }, value: k.token }],
      ),
  );
  add('vigil_ipfail_ping_nodes', 'ipfail: ping nodes seen alive, here (local) and by the peer.', 'gauge', () => {
    const ip = src.ipfail();
    if (ip === undefined) return [];
    return [
      ...(ip.local === undefined ? [] : [{ labels: { side: 'local' }, value: ip.local }]),
      ...(ip.peer === undefined ? [] : [{ labels: { side: 'peer' }, value: ip.peer }]),
    ];
  });
  add('vigil_ipfail_standbys_total', 'ipfail gave this node’s groups away (fewer ping nodes here).', 'counter', () => {
    const ip = src.ipfail();
    return ip === undefined ? [] : [{ value: ip.standbys }];
  });
  add('vigil_notify_runs_total', 'vigil_notify program runs.', 'counter', () => [{ value: st.notifyRuns }]);
  add('vigil_notify_failures_total', 'vigil_notify runs that failed or timed out.', 'counter', () => [
    { value: st.notifyFailures },
  ]);
  add('vigil_notify_dropped_total', 'Notify events dropped (queue full, no FIFO reader).', 'counter', () => [
    { value: st.notifyDropped },
  ]);

  add(
    'vigil_history_lost_total',
    'Transitions not written to the history journal (disk errors, a stalled disk).',
    'counter',
    () => [{ value: st.historyLost }],
  );
  add('vigil_journald_dropped_total', 'Log lines and events journald did not take (busy or gone).', 'counter', () => [
    { value: st.journaldDropped },
  ]);

  // ---- the process
  histogram('vigil_timer_lateness_seconds', "How late the liveness check's timer ran.", st.lateness);
  histogram('vigil_gc_pause_seconds', 'Garbage collection pauses.', st.gcPause);
  add(
    'vigil_local_stalls_total',
    'Liveness checks that ran so late that peer deadlines were extended.',
    'counter',
    () => [{ value: snap().runtime?.stalls ?? 0 }],
  );
  add('vigil_realtime', 'The daemon runs with a realtime scheduling policy.', 'gauge', () => [
    { value: snap().runtime?.realtime === true ? 1 : 0 },
  ]);
  add('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', () => [
    { value: snap().runtime?.rssBytes ?? process.memoryUsage.rss() },
  ]);
  add('process_cpu_seconds_total', 'User and system CPU time spent in seconds.', 'counter', () => {
    const c = process.cpuUsage();
    return [{ value: (c.user + c.system) / 1e6 }];
  });
  add('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds.', 'gauge', () => [
    { value: Math.floor(snap().startedAt / 1000) },
  ]);
  add('vigil_http_event_streams', 'Clients connected to /api/v1/events.', 'gauge', () => [{ value: src.streams() }]);
  return reg;
}
