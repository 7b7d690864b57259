import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseHaCf } from '../../src/config/hacf.js';
import {
  CLUSTER_GLUE_STONITH,
  ClusterGlueStonith,
  CommandStonith,
  FencingCoordinator,
  MeatwareStonith,
  NullStonith,
  createStonithDevice,
  type FenceResult,
  type ResetOutcome,
  type StonithDevice,
} from '../../src/agents/stonith.js';
import { SimulatedClock } from '../../src/util/clock.js';
import { VigilError, isVigilError } from '../../src/util/errors.js';

type Line = [string, string];
const logger = (): { lines: Line[]; log: (l: 'info' | 'WARN' | 'ERROR' | 'CRIT', t: string) => void } => {
  const lines: Line[] = [];
  return { lines, log: (l, t) => lines.push([l, t]) };
};

/** Lets promise continuations run (the coordinator awaits between steps). */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

/** Fails the first `failures` attempts, then succeeds. */
class Flaky implements StonithDevice {
  readonly type = 'flaky';
  readonly deviceId = 'flaky test device';
  calls = 0;
  constructor(private failures: number) {}
  reset(): Promise<ResetOutcome> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      return Promise.resolve({ ok: false, detail: 'power switch did not answer' });
    }
    return Promise.resolve({ ok: true });
  }
}

function track(p: Promise<FenceResult>): { result: FenceResult | undefined } {
  const box: { result: FenceResult | undefined } = { result: undefined };
  void p.then((r) => {
    box.result = r;
  });
  return box;
}

test('null device: one attempt, Heartbeat lines', async () => {
  const clock = new SimulatedClock();
  const { lines, log } = logger();
  const c = new FencingCoordinator(new NullStonith(), { scheduler: clock, log });
  assert.deepEqual(await c.fence('node2'), { ok: true, attempts: 1 });
  assert.deepEqual(lines, [
    ['info', 'Resetting node node2 with [null STONITH device]'],
    ['info', 'node node2 now reset.'],
  ]);
});

test('no success, no result: retries every 5 s with "STONITH of X failed.  Retrying..." until the device succeeds', async () => {
  const clock = new SimulatedClock();
  const { lines, log } = logger();
  const dev = new Flaky(2);
  const c = new FencingCoordinator(dev, { scheduler: clock, log });
  const box = track(c.fence('node2'));
  await settle();
  assert.equal(dev.calls, 1);
  assert.equal(box.result, undefined);
  assert.deepEqual(c.inProgress(), [{ node: 'node2', attempts: 1 }]);
  clock.advance(4999);
  await settle();
  assert.equal(dev.calls, 1, 'no retry before 5 s');
  clock.advance(1);
  await settle();
  assert.equal(dev.calls, 2);
  assert.equal(box.result, undefined, 'still not reset: the takeover must keep waiting');
  clock.advance(5000);
  await settle();
  assert.deepEqual(box.result, { ok: true, attempts: 3 });
  assert.deepEqual(c.inProgress(), []);
  assert.deepEqual(lines, [
    ['info', 'Resetting node node2 with [flaky test device]'],
    ['ERROR', 'power switch did not answer'],
    ['ERROR', 'STONITH of node2 failed.  Retrying...'],
    ['info', 'Resetting node node2 with [flaky test device]'],
    ['ERROR', 'power switch did not answer'],
    ['ERROR', 'STONITH of node2 failed.  Retrying...'],
    ['info', 'Resetting node node2 with [flaky test device]'],
    ['info', 'node node2 now reset.'],
  ]);
});

test('bounded: gives up after maxAttempts with a CRIT line; cancel stops a fencing in its wait', async () => {
  const clock = new SimulatedClock();
  const { lines, log } = logger();
  const c = new FencingCoordinator(new Flaky(100), { scheduler: clock, log, maxAttempts: 3 });
  const box = track(c.fence('node2'));
  for (let i = 0; i < 3; i++) {
    await settle();
    clock.advance(5000);
  }
  await settle();
  assert.deepEqual(box.result, { ok: false, reason: 'exhausted', attempts: 3 });
  assert.match(lines.at(-1)?.[1] ?? '', /^STONITH of node2 failed 3 times: giving up/);
  assert.equal(lines.at(-1)?.[0], 'CRIT');

  const dev = new Flaky(100);
  const c2 = new FencingCoordinator(dev, { scheduler: clock, log });
  const p1 = c2.fence('node3');
  assert.equal(c2.fence('node3'), p1, 'one fencing per node');
  await settle();
  assert.equal(c2.cancel('node3'), true);
  assert.deepEqual(await p1, { ok: false, reason: 'cancelled', attempts: 1 });
  clock.advance(60_000);
  await settle();
  assert.equal(dev.calls, 1, 'no attempt after cancel');
  assert.equal(c2.cancel('node3'), false);
});

test('meatware: waits for the operator acknowledgement and only for the right node', async () => {
  const clock = new SimulatedClock();
  const { lines, log } = logger();
  const dev = new MeatwareStonith(log);
  const c = new FencingCoordinator(dev, { scheduler: clock, log });
  assert.equal(c.acknowledge('node2'), false, 'an ack before any request changes nothing');
  const box = track(c.fence('node2'));
  await settle();
  clock.advance(3_600_000);
  await settle();
  assert.equal(box.result, undefined, 'no timeout: a human must confirm');
  assert.deepEqual(dev.pending(), ['node2']);
  assert.equal(c.acknowledge('node9'), false);
  assert.equal(c.acknowledge('node2'), true);
  await settle();
  assert.deepEqual(box.result, { ok: true, attempts: 1 });
  assert.deepEqual(lines, [
    ['info', 'Resetting node node2 with [Meatware STONITH device]'],
    ['CRIT', 'OPERATOR INTERVENTION REQUIRED to reset node2.'],
    ['CRIT', 'Run "vigil fence-ack node2" AFTER power-cycling the machine.'],
    ['info', 'node Meatware-reset: node2'],
    ['info', 'node node2 now reset.'],
  ]);
  const p = c.fence('node3');
  await settle();
  c.cancelAll();
  assert.deepEqual(await p, { ok: false, reason: 'cancelled', attempts: 1 });
  assert.deepEqual(dev.pending(), []);
});

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-rsc-stonith-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('command device runs the real program with the node name (appended or as %n); failure and hang fail', async (t) => {
  const dir = await tmp(t);
  const script = join(dir, 'fence');
  const out = join(dir, 'out');
  await writeFile(
    script,
    `#!/bin/sh\necho "$* node=$VIGIL_STONITH_NODE action=$VIGIL_STONITH_ACTION" >> ${out}\n` +
      `case "$*" in *node-bad*) echo 'IPMI: no answer' >&2; exit 3;; *node-hang*) sleep 60;; esac\nexit 0\n`,
    { mode: 0o755 },
  );
  const d = new CommandStonith([script, '--user', 'admin'], { timeoutMs: 500 });
  const signal = new AbortController().signal;
  assert.deepEqual(await d.reset('node2', signal), { ok: true });
  const bad = await d.reset('node-bad', signal);
  assert.match('detail' in bad ? bad.detail : '', /exit code 3: IPMI: no answer$/);
  const t0 = Date.now();
  const hang = await d.reset('node-hang', signal);
  assert.match(hang.ok ? '' : hang.detail, /timed out after 500 ms and was killed/);
  assert.ok(Date.now() - t0 < 10_000);
  const tpl = new CommandStonith([script, '--host=%n.ipmi', '--cycle'], { timeoutMs: 5000 });
  assert.deepEqual(await tpl.reset('node4', signal), { ok: true });
  const lines = (await readFile(out, 'utf8')).trim().split('\n');
  assert.deepEqual(lines, [
    '--user admin node2 node=node2 action=reset',
    '--user admin node-bad node=node-bad action=reset',
    '--user admin node-hang node=node-hang action=reset',
    '--host=node4.ipmi --cycle node=node4 action=reset',
  ]);
  assert.throws(() => new CommandStonith(['fence'], { timeoutMs: 1 }), /absolute program path/);
});

const BASE = 'node node1 node2\nbcast eth1\nauto_failback on\n';
const stonithOf = (text: string): NonNullable<ReturnType<typeof parseHaCf>['hacf']['stonith']> => {
  const s = parseHaCf(BASE + text, { file: '/etc/ha.d/ha.cf', localNode: 'node1' }).hacf.stonith;
  assert.ok(s);
  return s;
};

test('devices from ha.cf: stonith_host params, stonith cfgfile, unknown types', async (t) => {
  const dir = await tmp(t);
  const { log } = logger();
  const ctx = { log, timeoutMs: 5000 };
  const cmd = await createStonithDevice(stonithOf('stonith_host * command /usr/local/sbin/fence-ipmi -H %n\n'), ctx);
  assert.ok(cmd instanceof CommandStonith);
  assert.deepEqual(cmd.commandFor('node2'), ['/usr/local/sbin/fence-ipmi', '-H', 'node2']);
  const nul = await createStonithDevice(stonithOf('stonith_host node1 null node2\n'), ctx);
  assert.ok(nul instanceof NullStonith);
  const sig = new AbortController().signal;
  assert.deepEqual(await nul.reset('node2', sig), { ok: true });
  assert.deepEqual(await nul.reset('node3', sig), {
    ok: false,
    detail: 'Device null STONITH device cannot reset host node3.',
  });
  const cfg = join(dir, 'meat.cfg');
  await writeFile(cfg, '# hosts a human can power-cycle\n\nnode1 node2\n');
  const meat = await createStonithDevice(stonithOf(`stonith meatware ${cfg}\n`), ctx);
  assert.ok(meat instanceof MeatwareStonith);
  assert.deepEqual(await meat.reset('node3', sig), {
    ok: false,
    detail: 'Device Meatware STONITH device cannot reset host node3.',
  });
  await assert.rejects(
    createStonithDevice(stonithOf(`stonith meatware ${join(dir, 'missing')}\n`), ctx),
    (e) =>
      e instanceof VigilError &&
      e.code === 'VIGIL_ERR_STONITH_CONFIG' &&
      /Invalid Stonith config file/.test(e.message) &&
      e.location?.line === 4,
  );
  await assert.rejects(
    createStonithDevice(stonithOf('stonith_host * command\n'), ctx),
    (e) => isVigilError(e) && /no command given/.test(e.message),
  );
  await assert.rejects(
    createStonithDevice(stonithOf('stonith_host * ../../bin/sh x\n'), ctx),
    (e) => isVigilError(e) && /Invalid Stonith type \[\.\.\/\.\.\/bin\/sh\]/.test(e.message),
  );
  await assert.rejects(
    createStonithDevice(stonithOf('stonith_host * external/ipmi x\n'), { ...ctx, stonithTool: join(dir, 'none') }),
    (e) => isVigilError(e) && /other types need cluster-glue/.test(e.message),
  );
});

test("other types run through cluster-glue's real stonith tool (the plugins Heartbeat loads)", async (t) => {
  try {
    await access(CLUSTER_GLUE_STONITH);
  } catch {
    t.skip('needs cluster-glue (/usr/sbin/stonith)');
    return;
  }
  const { log } = logger();
  const dev = await createStonithDevice(stonithOf('stonith_host * external/ssh node2\n'), { log, timeoutMs: 5000 });
  assert.ok(dev instanceof ClusterGlueStonith);
  assert.deepEqual(dev.argsFor('node2'), ['-t', 'external/ssh', '-p', 'node2', '-T', 'reset', 'node2']);
  const sig = new AbortController().signal;
  // cluster-glue's own null plugin: a real plugin load and reset, exit 0.
  const glueNull = new ClusterGlueStonith('null', { params: 'node1 node2' }, { timeoutMs: 10_000 });
  assert.deepEqual(await glueNull.reset('node2', sig), { ok: true });
  const bogus = new ClusterGlueStonith('no-such-plugin', { params: 'x' }, { timeoutMs: 10_000 });
  const r = await bogus.reset('node2', sig);
  assert.equal(r.ok, false);
  // cluster-glue's meatware waits on a FIFO forever: our timeout kills it with its process group.
  const meat = new ClusterGlueStonith('meatware', { params: 'node2' }, { timeoutMs: 1000 });
  const m = await meat.reset('node2', sig);
  assert.match(m.ok ? '' : m.detail, /timed out after 1000 ms/);
});
