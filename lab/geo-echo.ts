/**
 * The geo lab's stand-in for a service: a UDP echo on each site's node that answers with its host name, so the
 * client's prober knows which site it reached (`node geo-echo.js <port>`, run inside a lab host).
 */
import { createSocket } from 'node:dgram';
import { hostname } from 'node:os';

const port = Number(process.argv[2] ?? '7');
const name = hostname();
// Dual stack: IPv4 probes arrive as ::ffff:a.b.c.d and are answered the same way.
const sock = createSocket({ type: 'udp6', ipv6Only: false });
sock.on('message', (msg, rinfo) => {
  sock.send(Buffer.concat([Buffer.from(`${name} `), msg.subarray(0, 64)]), rinfo.port, rinfo.address);
});
sock.bind(port, '::');
