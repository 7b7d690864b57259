/**
 * `npm run demo`: the Heartbeat tutorial cluster in the lab, narrated live. linux1 holds the VIP while the client
 * pings it; linux1 loses power; linux2 takes over; linux1 comes back and takes the VIP back (auto_failback on).
 * A status line updates in place on a terminal; without a terminal every step is a plain line.
 */
import { driverFor } from './drivers/index.js';
import type { LabEvent } from './monitor.js';
import { table } from './report.js';
import { runScenario } from './scenario.js';
import { assertRoot, VIP } from './topology.js';

export async function runDemo(o: {
  prefix: string;
  impl: string;
  keepalive: number;
  deadtime: number;
}): Promise<number> {
  await assertRoot();
  const driver = driverFor(o.impl);
  await driver.checkAvailable();
  const tty = process.stdout.isTTY;
  const start = Date.now();
  let status = '';
  let holders = new Set<string>();
  const say = (line: string): void => {
    const stamp = `[${((Date.now() - start) / 1000).toFixed(1).padStart(5)} s]`;
    if (tty) process.stdout.write(`\r\x1b[K${stamp} ${line}\n`);
    else process.stdout.write(`${stamp} ${line}\n`);
    redraw();
  };
  const redraw = (): void => {
    if (!tty) return;
    const who = holders.size === 0 ? 'nobody' : [...holders].join(' + ');
    process.stdout.write(
      `\r\x1b[K  ... ${status} | VIP ${VIP} on ${who} | ${((Date.now() - start) / 1000).toFixed(1)} s`,
    );
  };
  const ticker = tty ? setInterval(redraw, 200) : undefined;
  let faultAt: number | undefined;
  let recoverAt: number | undefined;
  let primed = false;
  const onEvent = (e: LabEvent, rel: number | undefined): void => {
    if (e.kind === 'vip_add') holders.add(e.source);
    if (e.kind === 'vip_del') holders.delete(e.source);
    holders = new Set(holders);
    if (e.kind === 'fault') {
      faultAt = e.t;
      say(`linux1 loses power (link down, processes gone): the client's pings go unanswered`);
    } else if (e.kind === 'recover') {
      recoverAt = e.t;
      say(`linux1 powers back on and ${o.impl} starts`);
    } else if (e.kind === 'vip_add' && e.source !== 'linux1' && faultAt !== undefined && recoverAt === undefined) {
      say(`${e.source} takes over ${VIP}: ${((e.t - faultAt) / 1000).toFixed(2)} s after the power cut`);
    } else if (e.kind === 'vip_add' && e.source === 'linux1' && recoverAt !== undefined) {
      say(`failback: ${VIP} back on linux1 ${((e.t - recoverAt) / 1000).toFixed(2)} s after power-on`);
    } else if (e.kind === 'vip_add' && e.source === 'linux1' && !primed) {
      primed = true;
      say(`linux1 holds ${VIP}; the client pings it 200 times a second`);
    } else if (e.kind === 'log_dead' && rel !== undefined && e.source !== 'linux1' && recoverAt === undefined) {
      say(`${e.source}: ${e.detail.replace(/^.*?(info|WARN|CRIT|ERROR): /, '')}`);
    }
  };
  say(
    `Heartbeat tutorial cluster with ${o.impl}: linux1 192.168.1.29, linux2 192.168.1.30, VIP ${VIP}, keepalive ${o.keepalive} ms, deadtime ${o.deadtime} ms`,
  );
  const r = await runScenario({
    impl: driver.impl,
    scenario: 'failback',
    keepaliveMs: o.keepalive,
    deadtimeMs: o.deadtime,
    nodes: 2,
    prefix: o.prefix,
    autoFailback: true,
    onEvent,
    onPhase: (p) => {
      status = p;
      if (!tty) process.stdout.write(`[${((Date.now() - start) / 1000).toFixed(1).padStart(5)} s] ${p}\n`);
      redraw();
    },
  });
  if (ticker !== undefined) clearInterval(ticker);
  if (tty) process.stdout.write('\r\x1b[K');
  const v = (x: number | null): string => (x === null ? '-' : `${(x / 1000).toFixed(2)} s`);
  process.stdout.write('\nSummary\n');
  process.stdout.write(
    table(
      ['step', 'measured'],
      [
        ['implementation', `${r.impl} (keepalive ${r.keepalive_ms} ms, deadtime ${r.deadtime_ms} ms)`],
        ['failure detected (survivor log)', v(r.detect_ms)],
        ['takeover: VIP up on linux2', v(r.takeover_ms)],
        ['longest client outage', v(r.outage_ms)],
        ['failback: VIP back on linux1 after power-on', v(r.failback_ms)],
        ['client outage during failback', v(r.failback_outage_ms)],
        ['time two nodes held the VIP', v(r.dual_active_ms)],
        ['holder at the end', r.holders_after.join(', ') || 'none'],
        ["client's ARP entry on the holder", String(r.client_mac_ok)],
        ['converged', String(r.converged)],
      ],
    ),
  );
  if (r.error !== null) process.stdout.write(`error: ${r.error}\n`);
  const ok = r.error === null && r.converged && r.holders_after.length === 1 && r.holders_after[0] === 'linux1';
  process.stdout.write(ok ? 'demo OK (lab torn down)\n' : 'demo FAILED (lab torn down)\n');
  return ok ? 0 : 1;
}
