/**
 * The prober's sender: ICMP echo requests to the VIP at a fixed rate, nothing else (tcpdump in the client records
 * the replies). Replaces `ping -i 0.005`: below a 10 ms interval iputils ping busy-waits, a whole core at 100 %,
 * and run realtime (as the prober must be, above the daemons) the kernel's RT throttling stops it for 50 ms every
 * second: a client gap the cluster never caused, and one core fewer for the daemons under test.
 *
 * Usage: node probe-sender.js VIP INTERVAL_MS (runs until killed). Needs CAP_NET_RAW (the lab runs as root). An IPv6
 * VIP gets ICMPv6 echo requests (the kernel fills their checksum).
 */
import { IPPROTO_ICMPV6, openRawIPv4Socket, openRawIPv6Socket, sendToIPv4, sendToIPv6 } from '../src/os/libc.js';
import { IPPROTO_ICMP, echo6Request, echoRequest } from '../src/os/icmp-pinger.js';
import { addressFamily } from '../src/util/inet.js';

function main(): void {
  const [vip, intervalText] = process.argv.slice(2);
  const intervalMs = Number(intervalText);
  if (vip === undefined || !(intervalMs >= 1)) {
    process.stderr.write('usage: probe-sender VIP INTERVAL_MS\n');
    process.exit(2);
  }
  const v6 = addressFamily(vip) === 6;
  const fd = v6 ? openRawIPv6Socket(IPPROTO_ICMPV6) : openRawIPv4Socket(IPPROTO_ICMP);
  const id = process.pid;
  let seq = 0;
  // On a fixed grid, so a late timer does not shift every later probe; after a stall of our own, the grid
  // restarts from now instead of sending the missed probes in a burst.
  let start = performance.now();
  let n = 0;
  const tick = (): void => {
    try {
      if (v6) sendToIPv6(fd, echo6Request(id, seq), vip);
      else sendToIPv4(fd, echoRequest(id, seq), vip);
    } catch {
      // No route yet, or the VIP's neighbour entry is unresolved: the next probe tries again, the gap shows.
    }
    seq++;
    n++;
    const now = performance.now();
    if (start + n * intervalMs < now - intervalMs) {
      start = now;
      n = 0;
    }
    setTimeout(tick, Math.max(0, start + n * intervalMs - now));
  };
  tick();
}

if (import.meta.url === `file://${process.argv[1]}`) main();
