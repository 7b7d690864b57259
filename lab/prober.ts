/**
 * The client prober: ICMP echo to the VIP from the client host, 200 probes/s (probe-sender.ts, no reply awaited),
 * with every echo reply and every ARP frame captured by tcpdump in the client's namespace (-tt: kernel capture
 * timestamps, µs). From the capture: every gap between consecutive replies, and the source MAC of every reply
 * (two MACs interleaving = two hosts answering for the VIP). An IPv6 VIP is probed with ICMPv6 echo (every 10 ms by
 * default, next to the IPv4 prober's 5 ms) and its neighbour advertisements are captured in place of ARP.
 */
import { fileURLToPath } from 'node:url';
import { VigilError } from '../src/util/errors.js';
import { nowMs, sleep } from './exec.js';
import { LineProcess, type LabEvent } from './monitor.js';

export const PROBE_INTERVAL_MS = 5;
/** The IPv6 prober's default interval (beside the IPv4 one: 300 probes/s from the client in all). */
export const PROBE6_INTERVAL_MS = 10;
const SENDER = fileURLToPath(new URL('./probe-sender.js', import.meta.url));

export interface Reply {
  t: number;
  mac: string;
  seq: number;
}

export interface Gap {
  /** Time of the last reply before the gap. */
  from: number;
  to: number;
  ms: number;
}

export class Prober {
  readonly replies: Reply[] = [];
  readonly arp: LabEvent[] = [];
  private tcpdump: LineProcess | undefined;
  private ping: LineProcess | undefined;
  private readonly stderr: string[] = [];
  startedAt = 0;
  stoppedAt = 0;

  /** Probe spacing, ms. */
  readonly intervalMs: number;
  private readonly v6: boolean;

  constructor(
    private readonly clientNetns: string,
    private readonly iface: string,
    readonly vip: string,
    intervalMs?: number,
  ) {
    this.v6 = vip.includes(':');
    this.intervalMs = intervalMs ?? (this.v6 ? PROBE6_INTERVAL_MS : PROBE_INTERVAL_MS);
  }

  async start(): Promise<void> {
    let listening = false;
    const nsArgs = [`--net=/run/netns/${this.clientNetns}`, '--'];
    this.tcpdump = new LineProcess(
      'nsenter',
      [
        ...nsArgs,
        'tcpdump',
        '-i',
        this.iface,
        '-n',
        '-e',
        '-tt',
        '-l',
        '--immediate-mode',
        '-B',
        '4096',
        this.v6
          ? // ICMPv6 type right after a plain IPv6 header: 129 echo reply, 136 neighbour advertisement.
            `icmp6 and ((ip6[40] == 129 and src host ${this.vip}) or ip6[40] == 136)`
          : `(icmp[icmptype] == icmp-echoreply and src host ${this.vip}) or arp`,
      ],
      (line) => {
        this.onCapture(line);
      },
      (l) => {
        if (l.includes('listening on')) listening = true;
        else this.stderr.push(l);
      },
    );
    const deadline = nowMs() + 10_000;
    while (!listening) {
      if (nowMs() > deadline)
        throw new VigilError('VIGIL_ERR_LAB', `tcpdump did not start in the client: ${this.stderr.join(' ')}`);
      await sleep(20);
    }
    this.startedAt = nowMs();
    this.ping = new LineProcess(
      'nsenter',
      // Realtime and above the daemons it measures (Vigil and Heartbeat run SCHED_RR 1): on a busy host a
      // normal-priority sender skips probes and reports gaps of 50-700 ms that are the prober's own, not an outage.
      // Not iputils ping: see probe-sender.ts (it busy-waits below 10 ms and RT throttling pauses it every second).
      [...nsArgs, 'chrt', '-f', '10', process.execPath, SENDER, this.vip, String(this.intervalMs)],
      () => undefined,
      (l) => this.stderr.push(l),
    );
  }

  private onCapture(line: string): void {
    const m = /^(\d+\.\d+) ([0-9a-f:]{17}) > ([0-9a-f:]{17}), ethertype (\S+) .*?: (.*)$/.exec(line);
    if (m === null) return;
    const t = Number(m[1]) * 1000;
    const mac = m[2]!;
    const body = m[5]!;
    if (m[4] === 'IPv4' || (m[4] === 'IPv6' && body.includes('echo reply'))) {
      const s = /seq (\d+)/.exec(body);
      this.replies.push({ t, mac, seq: s === null ? -1 : Number(s[1]) });
      return;
    }
    if (m[4] === 'IPv6') {
      // Neighbour advertisements for the VIP: to all-nodes, an announcement (unsolicited); to the client, an answer.
      if (!body.includes(`neighbor advertisement, tgt is ${this.vip},`)) return;
      const kind = body.includes(' > ff02::1: ') ? 'garp' : 'arp_reply';
      this.arp.push({ t, source: 'client', kind, detail: `${mac} ${body}` });
      return;
    }
    // Gratuitous ARP for the VIP (request "who-has VIP tell VIP", or a broadcast reply "VIP is-at"): who claims
    // it, when. A unicast reply is just an answer to the client's own request.
    const broadcast = m[3] === 'ff:ff:ff:ff:ff:ff';
    if (
      body.includes(`who-has ${this.vip} tell ${this.vip}`) ||
      (broadcast && body.includes(`Reply ${this.vip} is-at`))
    ) {
      this.arp.push({ t, source: 'client', kind: 'garp', detail: `${mac} ${body}` });
    } else if (body.includes(`Reply ${this.vip} is-at`)) {
      this.arp.push({ t, source: 'client', kind: 'arp_reply', detail: `${mac} ${body}` });
    }
  }

  async stop(): Promise<void> {
    this.stoppedAt = nowMs();
    await this.ping?.stop();
    // Let the capture drain the last replies.
    await sleep(100);
    await this.tcpdump?.stop();
  }

  /** Replies seen in [from, to]. */
  between(from: number, to: number): Reply[] {
    return this.replies.filter((r) => r.t >= from && r.t <= to);
  }

  /** Every gap longer than `minMs` between consecutive replies within [from, to] (edges count as gaps too). */
  gaps(from: number, to: number, minMs = 3 * this.intervalMs): Gap[] {
    const rs = this.between(from, to);
    const out: Gap[] = [];
    let prev = from;
    for (const r of rs) {
      if (r.t - prev > minMs) out.push({ from: prev, to: r.t, ms: r.t - prev });
      prev = r.t;
    }
    if (to - prev > minMs) out.push({ from: prev, to, ms: to - prev });
    return out;
  }

  longestGap(from: number, to: number): Gap | undefined {
    let best: Gap | undefined;
    for (const g of this.gaps(from, to, 0)) if (best === undefined || g.ms > best.ms) best = g;
    return best;
  }

  /** MAC changes of the replies: who answered, from when. */
  macChanges(from: number, to: number): LabEvent[] {
    const out: LabEvent[] = [];
    let cur = '';
    for (const r of this.between(from, to)) {
      if (r.mac !== cur) {
        out.push({ t: r.t, source: 'client', kind: 'reply_mac', detail: r.mac });
        cur = r.mac;
      }
    }
    return out;
  }

  /** The MACs answering in the last `windowMs` before `at`. */
  recentMacs(at: number, windowMs: number): Set<string> {
    return new Set(this.between(at - windowMs, at).map((r) => r.mac));
  }
}
