import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { type FatalDeps, type HeldVip, fatalHandler } from '../../src/daemon/fatal.js';
import { createNetns, netnsUnavailable } from '../helpers/netns.js';

const A: HeldVip = { address: '192.168.1.50', device: 'eth1' };
const B: HeldVip = { address: '192.168.1.51', device: 'eth1' };

/** Fake deps recording what happened, in order. */
function recorder(over: Partial<FatalDeps> = {}) {
  const events: string[] = [];
  let exited: (code: number) => void = () => undefined;
  const exit = new Promise<number>((resolve) => {
    exited = resolve;
  });
  let hardExited: (code: number) => void = () => undefined;
  const hard = new Promise<number>((resolve) => {
    hardExited = resolve;
  });
  const deps: FatalDeps = {
    log: (t) => void events.push(`log ${t.split('\n')[0] ?? ''}`),
    heldVips: () => {
      events.push('heldVips');
      return [A, B];
    },
    removeVip: (v) => {
      events.push(`remove ${v.address}`);
      return v === A ? Promise.resolve(true) : Promise.reject(new Error('RTNETLINK answers: Operation not permitted'));
    },
    stop: () => void events.push('stop'),
    exit: (code) => {
      events.push(`exit ${code}`);
      exited(code);
    },
    hardExit: (code) => {
      events.push(`hardExit ${code}`);
      hardExited(code);
    },
    vipTimeoutMs: 200,
    hardExitMs: 400,
    ...over,
  };
  return { deps, events, exit, hard };
}

test('held VIPs are listed, the node stopped, the VIPs removed, then exit 70', async () => {
  const r = recorder();
  const h = fatalHandler(r.deps);
  h.handle('uncaught exception', new Error('boom'));
  assert.equal(await r.exit, 70);
  h.dispose();
  assert.deepEqual(r.events, [
    'log internal error (uncaught exception), exiting: Error: boom',
    'heldVips',
    'stop',
    'remove 192.168.1.50',
    'remove 192.168.1.51',
    'log virtual IP 192.168.1.50 on eth1 removed before exiting',
    'log virtual IP 192.168.1.51 on eth1 not removed: RTNETLINK answers: Operation not permitted before exiting',
    'exit 70',
  ]);
  // Disposed: no hard exit after the orderly one.
  await new Promise((res) => setTimeout(res, 500));
  assert.ok(!r.events.includes('hardExit 70'));
});

test('a removal that hangs is given up after the bound; later errors are logged, not acted on', async () => {
  const r = recorder({ removeVip: () => new Promise<boolean>(() => undefined), hardExitMs: 5000 });
  const h = fatalHandler(r.deps);
  const t0 = performance.now();
  h.handle('unhandled rejection', 'a reason');
  h.handle('uncaught exception', new Error('again'));
  assert.equal(await r.exit, 70);
  const took = performance.now() - t0;
  h.dispose();
  assert.ok(took >= 150 && took < 2000, `gave up after ${took} ms`);
  assert.ok(r.events.includes('log virtual IP 192.168.1.50 on eth1 not removed within 200 ms before exiting'));
  assert.ok(r.events.includes('log uncaught exception while exiting: Error: again'));
  assert.equal(r.events.filter((e) => e === 'stop').length, 1);
});

test('an orderly exit that never completes ends in a hard exit', async () => {
  const r = recorder({
    exit: () => undefined,
    stop: () => {
      throw new Error('stop failed');
    },
  });
  const h = fatalHandler(r.deps);
  h.handle('uncaught exception', new Error('boom'));
  assert.equal(await r.hard, 70);
  assert.ok(r.events.includes('log stopping: Error: stop failed'));
  assert.ok(r.events.includes('log exit did not complete within 400 ms: exiting now'));
});

/** A process with the handlers installed whose timer throws: what the real daemon does with a bug in a callback. */
function child(removal: 'ok' | 'hang', exit: 'orderly' | 'hang'): Promise<{ code: number | null; stdout: string }> {
  const fatal = new URL('../../src/daemon/fatal.js', import.meta.url).href;
  const script = `
    import { installFatalHandlers } from ${JSON.stringify(fatal)};
    const keepAlive = setInterval(() => {}, 1000);
    installFatalHandlers({
      log: (t) => console.log('LOG', t.split('\\n')[0]),
      heldVips: () => [{ address: '10.9.9.9', device: 'eth9' }],
      removeVip: (v) => ${removal === 'ok' ? "(console.log('REMOVED', v.address), Promise.resolve(true))" : 'new Promise(() => {})'},
      stop: () => console.log('STOPPED'),
      exit: (code) => { ${exit === 'orderly' ? 'clearInterval(keepAlive); process.exit(code);' : ''} },
      hardExit: (code) => process.exit(code),
      vipTimeoutMs: 300,
      hardExitMs: 1500,
    });
    setTimeout(() => { throw new Error('bug in a timer'); }, 20);
  `;
  return new Promise((resolve) => {
    const p = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 }, (_e, stdout) => {
      resolve({ code: p.exitCode, stdout });
    });
  });
}

test('a real process: an exception thrown from a timer removes the VIP and exits 70; a hung exit still ends', async () => {
  const ok = await child('ok', 'orderly');
  assert.equal(ok.code, 70, ok.stdout);
  assert.match(
    ok.stdout,
    /LOG internal error \(uncaught exception\), exiting: Error: bug in a timer\nSTOPPED\nREMOVED 10\.9\.9\.9\n/,
  );
  const hung = await child('hang', 'hang');
  assert.equal(hung.code, 70, hung.stdout);
  assert.match(hung.stdout, /not removed within 300 ms[\s\S]*exit did not complete within 1500 ms/);
});

test('in a network namespace: the real resource manager’s held VIP is gone over netlink when the process exits 70', async (t) => {
  const why = await netnsUnavailable();
  if (why !== undefined) {
    t.skip(why);
    return;
  }
  const fx = await createNetns(
    'vfatal',
    ['h'],
    [{ name: 'l1', members: [{ host: 'h', ifname: 'eth1', cidr: '10.76.1.1/24' }] }],
  );
  t.after(() => fx.cleanup());
  const mod = (p: string): string => JSON.stringify(new URL(`../../src/${p}`, import.meta.url).href);
  const script = `
    import { ResourceManager } from ${mod('daemon/resources.js')};
    import { IpCommandAddressManager } from ${mod('os/ip.js')};
    import { simConfig } from ${mod('sim/config.js')};
    import { Logger } from ${mod('obs/log.js')};
    import { installFatalHandlers } from ${mod('daemon/fatal.js')};
    const spec = 'IPaddr::10.76.1.50/24/eth1';
    const base = simConfig({ nodes: ['linux1', 'linux2'], localNode: 'linux1', groups: [] });
    const config = { ...base, groups: [{ key: spec, node: 'linux1', origin: { file: 'haresources', line: 1 },
      resources: [{ spec, type: 'IPaddr', args: ['10.76.1.50/24/eth1'],
        ip: { address: '10.76.1.50', cidr: 24, nic: 'eth1', broadcast: undefined } }] }] };
    const rm = new ResourceManager({ config, logger: new Logger({ node: 'linux1', pid: 1, tag: 'heartbeat', sinks: [] }),
      addresses: new IpCommandAddressManager(), arp: { announce: () => Promise.resolve({ method: 'packet', pairsSent: 0 }) },
      onGroupLost: () => undefined });
    if (!(await rm.acquire(spec))) process.exit(3);
    console.log('HELD', JSON.stringify(rm.heldVips()));
    installFatalHandlers({ log: (t) => console.log('LOG', t.split('\\n')[0]), heldVips: () => rm.heldVips(),
      removeVip: (v) => rm.removeVip(v), stop: () => rm.dispose(), exit: (c) => process.exit(c),
      hardExit: (c) => process.exit(c) });
    setTimeout(() => { throw new Error('bug in a timer'); }, 50);
  `;
  const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const p = execFile(
      'ip',
      ['netns', 'exec', fx.ns('h'), process.execPath, '--input-type=module', '-e', script],
      { timeout: 30_000 },
      (_e, stdout) => {
        resolve({ code: p.exitCode, stdout });
      },
    );
  });
  assert.match(r.stdout, /HELD \[\{"address":"10\.76\.1\.50","device":"eth1"\}\]/);
  assert.equal(r.code, 70, r.stdout);
  assert.match(r.stdout, /virtual IP 10\.76\.1\.50 on eth1 removed before exiting/);
  // Gone now, not when its lease (7 s at deadtime 10 s) runs out.
  const shown = await fx.exec('h', ['ip', '-4', 'addr', 'show', 'dev', 'eth1']);
  assert.doesNotMatch(shown.stdout, /10\.76\.1\.50/);
});
