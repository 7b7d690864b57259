/**
 * Hostile-input benchmark (issue 4): a two-node Vigil cluster in the lab; from the client host, 10 s of garbage and
 * then 10 s of replayed authentic packets at 50k packets/s against linux1's heartbeat port. Measures linux1's own
 * heartbeats as the client sees them on the wire (they are broadcast on the lab segment): the longest gap between
 * two of them must stay below warntime, and linux2 must raise no false alarm (Late heartbeat, is dead).
 * Usage (root): node dist/bench/flood.js [pps] [seconds] [keepalive_ms] [deadtime_ms]
 */
import { fileURLToPath } from 'node:url';
import { driverFor } from '../lab/drivers/index.js';
import { runCmd, spawnCmd, sleep } from '../lab/exec.js';
import { cleanup, CLIENT_IP, IFACE, Lab, nodeIp, VIP } from '../lab/topology.js';
import { tutorialSpec } from '../lab/scenario.js';

const [ppsText = '50000', secondsText = '10', kaText = '100', dtText = '1000'] = process.argv.slice(2);
const pps = Number(ppsText);
const seconds = Number(secondsText);
const keepaliveMs = Number(kaText);
const deadtimeMs = Number(dtText);
const warntimeMs = deadtimeMs / 2;
const prefix = 'vflood';
const sender = fileURLToPath(new URL('./flood-sender.js', import.meta.url));
const senderC = fileURLToPath(new URL('../../bench/flood-sender.c', import.meta.url));
const fastSender = `/tmp/vigil-flood-sender-${process.pid}`;
const packetFile = `/tmp/vigil-flood-packet-${process.pid}`;

interface Phase {
  name: string;
  from: number;
  to: number;
  sent?: { sent: number; errors: number; seconds: number };
}

// A C sender reaches 50k packets/s where one Node process on a busy core does not; Node is the fallback.
const cc = await runCmd('cc', ['-O2', '-o', fastSender, senderC], { timeoutMs: 60_000 });
const useC = cc.code === 0;
const lab = await Lab.up({ prefix, nodes: 2 });
const beats: number[] = [];
try {
  const driver = driverFor('vigil');
  await driver.configure(lab, tutorialSpec(2, keepaliveMs, deadtimeMs, true, undefined));
  for (const n of ['linux1', 'linux2']) await driver.start(lab, n);
  await sleep(Math.max(5000, deadtimeMs * 3));
  // linux1's heartbeats as they leave it: tcpdump in the client (same broadcast domain), kernel timestamps.
  const dump = spawnCmd('ip', [
    'netns',
    'exec',
    lab.netns('client'),
    'tcpdump',
    '-l',
    '-n',
    '-tt',
    '-i',
    IFACE,
    `udp port 694 and src host ${nodeIp(1)} and not dst host ${nodeIp(1)}`,
  ]);
  dump.stdout?.setEncoding('utf8');
  let buf = '';
  dump.stdout?.on('data', (s: string) => {
    buf += s;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const t = Number(line.split(' ')[0]);
      if (Number.isFinite(t)) beats.push(t * 1000);
    }
  });
  await sleep(2000);
  const phases: Phase[] = [];
  const quiet: Phase = { name: 'quiet', from: Date.now(), to: 0 };
  await sleep(seconds * 1000);
  quiet.to = Date.now();
  phases.push(quiet);
  for (const mode of ['garbage', 'replay']) {
    const p: Phase = { name: mode, from: Date.now(), to: 0 };
    if (useC && mode === 'replay') {
      await lab.exec('client', process.execPath, [sender, 'capture', nodeIp(1), '694', '0', '0', packetFile], {
        timeoutMs: 30_000,
      });
    }
    const argv = [mode, nodeIp(1), '694', String(pps), String(seconds), ...(mode === 'replay' ? [packetFile] : [])];
    const r = useC
      ? await lab.exec('client', fastSender, argv, { timeoutMs: (seconds + 30) * 1000 })
      : await lab.exec('client', process.execPath, [sender, ...argv.slice(0, 5)], { timeoutMs: (seconds + 30) * 1000 });
    p.to = Date.now();
    p.sent = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Phase['sent'];
    phases.push(p);
    await sleep(2000);
  }
  dump.kill('SIGTERM');
  const log2 = (await lab.exec('linux2', 'cat', ['/var/log/heartbeat.log'])).stdout;
  const log1 = (await lab.exec('linux1', 'cat', ['/var/log/heartbeat.log'])).stdout;
  const rows = phases.map((p) => {
    const inPhase = beats.filter((t) => t >= p.from && t <= p.to);
    let maxGap = 0;
    for (let i = 1; i < inPhase.length; i++) maxGap = Math.max(maxGap, inPhase[i]! - inPhase[i - 1]!);
    const rate = p.sent === undefined ? '-' : `${Math.round(p.sent.sent / p.sent.seconds)}`;
    return `| ${p.name} | ${rate} | ${inPhase.length} | ${maxGap.toFixed(0)} | ${warntimeMs} |`;
  });
  const late = (log2.match(/Late heartbeat: Node linux1/g) ?? []).length;
  const dead = (log2.match(/node linux1: is dead/g) ?? []).length;
  const holders = (await lab.exec('linux1', 'ip', ['-o', 'addr', 'show', 'dev', IFACE])).stdout.includes(` ${VIP}/`);
  process.stdout.write(
    [
      `Flood of linux1 (${nodeIp(1)}:694) from the client (${CLIENT_IP}), ${pps} packets/s for ${seconds} s per phase (${useC ? 'C' : 'Node'} sender);`,
      `keepalive ${keepaliveMs} ms, deadtime ${deadtimeMs} ms, warntime ${warntimeMs} ms.`,
      '',
      '| phase | packets/s sent | linux1 heartbeats seen | longest gap between them (ms) | warntime (ms) |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      `linux2 log: ${late} "Late heartbeat" and ${dead} "is dead" lines for linux1; linux1 still holds the VIP: ${holders}.`,
      `linux1 log lines mentioning drops: ${(log1.match(/drop|replay/gi) ?? []).length}.`,
      ...log2.split('\n').filter((l) => /Late heartbeat|is dead|stall/.test(l)),
      '',
    ].join('\n'),
  );
} finally {
  await cleanup(prefix);
  await runCmd('rm', ['-f', fastSender, packetFile]);
}
