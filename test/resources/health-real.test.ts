import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScriptAgent } from '../../src/agents/script.js';
import { GroupRunner } from '../../src/resources/group.js';
import { HealthMonitor, parseHealthCheck, realCheckRunner } from '../../src/resources/health.js';
import type { Scheduler, TimerHandle } from '../../src/util/clock.js';

/** Real time for the integration test (the daemon brings its own). */
class RealScheduler implements Scheduler {
  private next = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.next++;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        fn();
      }, ms),
    );
    return { id };
  }
  clearTimeout(h: TimerHandle): void {
    clearTimeout(this.timers.get(h.id));
    this.timers.delete(h.id);
  }
}

const SERVICE = `#!/bin/sh
# A Heartbeat-style resource script: <statedir> start|stop|status; the "service" is a sleep.
D=$1
case $2 in
  start) sleep 1000 >/dev/null 2>&1 & echo $! > "$D/pid"; exit 0;;
  stop) [ -f "$D/pid" ] && kill "$(cat "$D/pid")" 2>/dev/null; rm -f "$D/pid"; exit 0;;
  status) if [ -f "$D/pid" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null; then echo "svc is running"; else echo "svc is not running"; fi; exit 0;;
esac
exit 1
`;

async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('real service: killed → restarted in place by its real script; killed again → handed over', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-rsc-health-'));
  const script = join(dir, 'svc');
  await writeFile(script, SERVICE, { mode: 0o755 });
  const agent = new ScriptAgent('svc', script, [dir], { env: process.env, timeoutMs: 10_000 });
  const group = new GroupRunner('node1', 'svc', [agent], {
    log: () => undefined,
    stopRetries: 0,
    stopRetryDelayMs: 0,
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  });
  const pid = async (): Promise<number> => Number((await readFile(join(dir, 'pid'), 'utf8').catch(() => '0')).trim());
  t.after(async () => {
    await group.release();
    const p = await pid();
    if (p > 0 && alive(p)) process.kill(p, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const events: string[] = [];
  const spec = parseHealthCheck('svc interval=200ms timeout=5 fall=2 rise=1 restarts=1 grace=200ms resource svc');
  const monitor = new HealthMonitor([spec], {
    scheduler: new RealScheduler(),
    runCheck: realCheckRunner((g, r) => (g === 'svc' && r === 'svc' ? agent : undefined)),
    actions: {
      log: () => undefined,
      restartGroup: async (g) => {
        events.push(`restart ${g}`);
        return (await group.release()).ok && (await group.acquire()).ok;
      },
      handOver: (g) => {
        events.push(`handover ${g}`);
        void group.release();
      },
    },
  });
  t.after(() => {
    monitor.stopAll();
  });

  assert.deepEqual(await group.acquire(), { ok: true });
  monitor.groupStarted('svc');
  const first = await pid();
  assert.ok(first > 0 && alive(first));
  await until('a first good check', () => monitor.snapshot()[0]?.lastCheck?.ok === true, 10_000);

  process.kill(first, 'SIGKILL');
  // Generous bound on a shared 2-core machine: detection is fall × interval = 0.4 s plus script runs.
  const restartedMs = await until(
    'the restart in place',
    async () => {
      const p = await pid();
      return p > 0 && p !== first && alive(p);
    },
    15_000,
  );
  assert.deepEqual(events, ['restart svc']);
  const snap = monitor.snapshot()[0];
  assert.equal(snap?.failCount, 1);
  assert.match(snap.lastFailure?.detail ?? '', /status says not running: svc is not running/);
  await until('up again after rise=1', () => monitor.snapshot()[0]?.state === 'up', 10_000);

  process.kill(await pid(), 'SIGKILL');
  const handedMs = await until('the handover', () => events.includes('handover svc'), 15_000);
  assert.deepEqual(events, ['restart svc', 'handover svc']);
  assert.equal(monitor.isEligible('svc'), false);
  t.diagnostic(`kill → restarted: ${restartedMs} ms; kill → handover: ${handedMs} ms`);
});

test('a hung check command is killed with its process group at the timeout', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-rsc-health-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pid');
  const spec = parseHealthCheck('g timeout=300ms command /bin/true');
  // ha.cf lines split on spaces, so the shell snippets below go in as argv directly.
  const hung = {
    ...spec,
    target: { kind: 'command' as const, argv: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`] },
  };
  const run = realCheckRunner(() => undefined);
  const t0 = Date.now();
  const r = await run(hung);
  assert.deepEqual(r, { ok: false, detail: 'timed out after 300 ms and was killed' });
  assert.ok(Date.now() - t0 < 10_000);
  const p = Number((await readFile(pidFile, 'utf8')).trim());
  await until('the hung check to be gone', () => !alive(p), 5000);
  const fail = {
    ...spec,
    target: { kind: 'command' as const, argv: ['/bin/sh', '-c', 'echo "CRITICAL - port 22 refused"; exit 2'] },
  };
  assert.deepEqual(await run(fail), { ok: false, detail: 'exit code 2: CRITICAL - port 22 refused' });
  const ok = { ...spec, target: { kind: 'command' as const, argv: ['/bin/true'] } };
  assert.deepEqual(await run(ok), { ok: true });
  assert.deepEqual(await run({ ...spec, target: { kind: 'resource', resource: 'x' } }), {
    ok: false,
    detail: 'no resource x in group g',
  });
});
