/**
 * The geo lab's client: every `interval` ms it finds the service's address (a fixed routed VIP, or a name asked of
 * the client's caching resolver, as an application's stub resolver would) and sends one UDP probe to the echo there.
 * Prints JSON lines on stdout, on the lab's clock (performance.timeOrigin + performance.now(), as nowMs()):
 *   {"k":"dns","t":…,"addr":"10.20.1.10","ttl":4}    when the resolver's answer changes
 *   {"k":"echo","t":…,"seq":12,"from":"linux1","addr":"10.20.1.10"}
 * Usage: node geo-prober.js fixed <ip> <port> <interval> | dns <name> <resolver> <port> <interval> (fixed: IPv4 or IPv6)
 */
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

const [mode = '', target = '', a3 = '', a4 = '', a5 = ''] = process.argv.slice(2);
const resolver = mode === 'dns' ? a3 : '';
const port = Number(mode === 'dns' ? a4 : a3);
const interval = Number(mode === 'dns' ? a5 : a4);
const now = (): number => performance.timeOrigin + performance.now();
const out = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const echo = createSocket(mode === 'fixed' && target.includes(':') ? 'udp6' : 'udp4');
echo.on('message', (msg) => {
  const [from = '', seq = ''] = msg.toString().split(' ');
  out({ k: 'echo', t: now(), seq: Number(seq), from });
});
echo.bind(0);

let addr = mode === 'fixed' ? target : '';
let lastDns = '';
let qid = 0;
const dnsSock = createSocket('udp4');
dnsSock.on('message', (msg) => {
  try {
    const p = dnsPacket.decode(msg);
    const a = (p.answers ?? []).find((x) => x.type === 'A');
    const next = a?.type === 'A' ? a.data : '';
    const ttl = a?.type === 'A' ? (a.ttl ?? 0) : 0;
    const rcode = (p.flags ?? 0) & 0xf;
    addr = next;
    const key = `${next}/${rcode}`;
    if (key !== lastDns) out({ k: 'dns', t: now(), addr: next, ttl, rcode });
    lastDns = key;
  } catch {
    /* not a DNS answer */
  }
});
if (mode === 'dns') dnsSock.bind(0);

let seq = 0;
setInterval(() => {
  if (mode === 'dns') {
    qid = (qid + 1) & 0xffff;
    const q = dnsPacket.encode({
      type: 'query',
      id: qid,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: target }],
    });
    dnsSock.send(q, 53, resolver);
  }
  seq++;
  if (addr !== '') echo.send(String(seq), port, addr);
}, interval);
