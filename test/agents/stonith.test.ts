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
  MeatwareStonith,
  NullStonith,
  createStonithDevice,
  type ResetOutcome,
} from '../../src/agents/stonith.js';
import { VigilError, isVigilError } from '../../src/util/errors.js';

type Line = [string, string];
const logger = (): { lines: Line[]; log: (l: 'info' | 'WARN' | 'ERROR' | 'CRIT', t: string) => void } => {
  const lines: Line[] = [];
  return { lines, log: (l, t) => lines.push([l, t]) };
};

test('meatware: waits for the operator acknowledgement and only for the right node; a cancel ends the wait', async () => {
  const { lines, log } = logger();
  const dev = new MeatwareStonith(log);
  assert.equal(dev.acknowledge('node2'), false, 'an ack before any request changes nothing');
  let result: ResetOutcome | undefined;
  const p = dev.reset('node2', new AbortController().signal).then((r) => (result = r));
  // No timeout of its own: a human must confirm (the engine's 5 s retries join this same wait).
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(result, undefined);
  assert.deepEqual(dev.pending(), ['node2']);
  assert.equal(dev.acknowledge('node9'), false);
  assert.equal(dev.acknowledge('node2'), true);
  await p;
  assert.deepEqual(result, { ok: true });
  assert.deepEqual(lines, [
    ['CRIT', 'OPERATOR INTERVENTION REQUIRED to reset node2.'],
    ['CRIT', 'Run "vigil fence-ack node2" AFTER power-cycling the machine.'],
    ['info', 'node Meatware-reset: node2'],
  ]);
  const abort = new AbortController();
  const p3 = dev.reset('node3', abort.signal);
  abort.abort();
  assert.deepEqual(await p3, { ok: false, detail: 'cancelled' });
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
  // A generous timeout where the script must finish (a loaded CI host can take 500 ms to start a shell).
  const d = new CommandStonith([script, '--user', 'admin'], { timeoutMs: 10_000 });
  const signal = new AbortController().signal;
  assert.deepEqual(await d.reset('node2', signal), { ok: true });
  const bad = await d.reset('node-bad', signal);
  assert.match('detail' in bad ? bad.detail : '', /exit code 3: IPMI: no answer$/);
  const t0 = Date.now();
  const short = new CommandStonith([script, '--user', 'admin'], { timeoutMs: 500 });
  const hang = await short.reset('node-hang', signal);
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
