/**
 * Runs inside the lab's client namespace: floods a node's heartbeat port at a fixed rate for a fixed time.
 * Usage: node flood-sender.js <garbage|replay|capture> <target-ip> <port> <pps> <seconds> [capture-file]
 * `replay` first listens for one real broadcast packet from a cluster node and then sends that exact packet again
 * and again (an authentic packet with an old seqno: a replay). Bounded in rate and time; loopback/lab only.
 * `capture-all <own-ip> <port> <ms> 0 <file>` records every datagram heard on the port for `ms` (the cluster's
 * broadcasts), except our own, as JSON lines `{"from": ip, "b64": bytes}`: the hostile scenario's replays.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [mode = 'garbage', target = '', portText = '694', ppsText = '50000', secondsText = '10'] = process.argv.slice(2);
const port = Number(portText);
const pps = Math.min(100_000, Number(ppsText));
const seconds = Math.min(60, Number(secondsText));
if (!/^192\.168\.1\.\d+$/.test(target))
  throw new Error('the flood only targets lab addresses (192.168.1.x inside the lab)');

async function capture(): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    s.on('message', (m, r) => {
      if (r.address !== target && m.subarray(0, 4).toString() === '###\n' && m.includes('t=status')) {
        s.close();
        resolve(m);
      }
    });
    s.bind(port);
  });
}

if (mode === 'capture-all') {
  const { writeFile } = await import('node:fs/promises');
  const ms = Math.min(60_000, Number(ppsText));
  const lines: string[] = [];
  const s = createSocket({ type: 'udp4', reuseAddr: true });
  s.on('message', (m, r) => {
    if (r.address !== target && lines.length < 100_000)
      lines.push(JSON.stringify({ from: r.address, b64: m.toString('base64') }));
  });
  await new Promise<void>((resolve) => s.bind(port, resolve));
  await new Promise((r) => setTimeout(r, ms));
  s.close();
  await writeFile(process.argv[7] ?? '/tmp/vigil-capture.jsonl', lines.join('\n') + '\n');
  process.stdout.write(JSON.stringify({ mode, captured: lines.length }) + '\n');
  process.exit(0);
}

if (mode === 'capture') {
  // One real packet to a file, for the C sender's replay mode.
  const { writeFile } = await import('node:fs/promises');
  await writeFile(process.argv[7] ?? '/tmp/vigil-flood-packet', await capture());
  process.exit(0);
}
const payload = mode === 'replay' ? await capture() : undefined;
const sock = createSocket('udp4');
let sent = 0;
let errors = 0;
const start = performance.now();
const end = start + seconds * 1000;
// Send in 1 ms slices so the rate stays even instead of bursting once per timer tick.
await new Promise<void>((resolve) => {
  const tick = (): void => {
    const now = performance.now();
    if (now >= end) {
      resolve();
      return;
    }
    const due = Math.floor(((now - start) / 1000) * pps);
    while (sent < due) {
      const buf = payload ?? randomBytes(64 + (sent % 256));
      sock.send(buf, port, target, (e) => {
        if (e) errors++;
      });
      sent++;
    }
    setImmediate(tick);
  };
  tick();
});
await new Promise((r) => setTimeout(r, 200));
sock.close();
process.stdout.write(JSON.stringify({ mode, sent, errors, seconds: (performance.now() - start) / 1000 }) + '\n');
