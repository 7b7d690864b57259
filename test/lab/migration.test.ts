/**
 * The rolling migration an admin does on a live pair, and the way back, with a client pinging the VIP throughout
 * (200 probes/s, every gap measured from a capture in the client's namespace).
 *
 * Both nodes start on the real Heartbeat 3.0.6 with the tutorial files (examples/tutorial: keepalive 1 s, deadtime
 * 10 s, bcast eth1, ping node, auto_failback; the VIP's interface written out, see prepare()). Then, one node at a time: stop Heartbeat on the standby node, install
 * Vigil there and start it, let it join the mixed cluster; `hb_standby` the other node; replace it the same way; the
 * group fails back to its home node (auto_failback). Then the same back to Heartbeat.
 *
 * "Install" is the Debian package's own files: build/vigil_*.deb unpacked (dpkg-deb -x) and laid over the host's
 * /usr in its mount namespace as an overlay, with Heartbeat's daemon hidden as `apt remove heartbeat` would remove
 * it, and the package's init script in the host's /etc/init.d; Vigil is started and stopped by that init script and
 * runs on the package's own Node.js 24. Removing the overlay is the way back. Needs `npm run package` first.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HEARTBEAT_BIN, HeartbeatDriver } from '../../lab/drivers/heartbeat.js';
import { serviceEnv } from '../../lab/drivers/common.js';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { mustRun, nowMs, runCmd, waitFor } from '../../lab/exec.js';
import { installPackage, removePackage, unpackDeb } from '../../lab/package-install.js';
import { Prober, type Gap } from '../../lab/prober.js';
import { vipHolders } from '../../lab/soak.js';
import { cleanup, IFACE, Lab, VIP } from '../../lab/topology.js';
import { leftovers, needRoot } from './helpers.js';

const PREFIX = 'mig';
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TUTORIAL_LOG = '/var/log/heartbeat.log';
const hb = new HeartbeatDriver();
const vigil = new VigilDriver();

/** vigil-prev: the previous release (scripts/previous-release.sh), run from its source build on the machine's node. */
type Impl = 'heartbeat' | 'vigil' | 'vigil-prev';

interface Step {
  readonly what: string;
  readonly from: number;
  readonly to: number;
}

async function builtDeb(): Promise<string | undefined> {
  const pkg = JSON.parse(await readFile(`${REPO}package.json`, 'utf8')) as { version: string };
  const files = await readdir(`${REPO}build`).catch(() => [] as string[]);
  const name = files.find((f) => f.startsWith(`vigil_${pkg.version.replace(/-/g, '~')}_`) && f.endsWith('.deb'));
  return name === undefined ? undefined : `${REPO}build/${name}`;
}

class Migration {
  readonly impl = new Map<string, Impl>();
  readonly steps: Step[] = [];

  constructor(
    readonly lab: Lab,
    private readonly debRoot: string,
    private readonly prevDir?: string,
  ) {}

  private prev(tool: string): string {
    if (this.prevDir === undefined) throw new Error('no previous release');
    return `${this.prevDir}/dist/src/cli/${tool}.js`;
  }

  /** The previous release, started the way its from-source install starts (`vigil start`). */
  async startPrev(host: string): Promise<void> {
    const r = await this.lab.sh(host, `${serviceEnv()} ${process.execPath} ${this.prev('vigil')} start`, {
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 0, `previous vigil start on ${host}: ${r.stdout}${r.stderr}`);
    this.impl.set(host, 'vigil-prev');
  }

  /** What answers Heartbeat's tools on `host`: the package's (on PATH, over /usr) or the previous release's. */
  private tool(host: string, name: string): [string, string[]] {
    return this.impl.get(host) === 'vigil-prev' ? [process.execPath, [this.prev(name)]] : [name, []];
  }

  async tail(host: string): Promise<string> {
    const log = await readFile(this.lab.hostPath(host, TUTORIAL_LOG), 'utf8').catch(() => '');
    return log.split('\n').slice(-25).join('\n');
  }

  async step(what: string, run: () => Promise<void>): Promise<void> {
    const from = nowMs();
    try {
      await run();
    } catch (e) {
      let tails = '';
      for (const n of this.lab.nodes) tails += `\n--- ${n} (${this.impl.get(n) ?? '?'}) ---\n${await this.tail(n)}`;
      throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}${tails}`, { cause: e });
    }
    this.steps.push({ what, from, to: nowMs() });
  }

  /** The tutorial files on every node. */
  async prepare(): Promise<void> {
    for (const n of this.lab.nodes) {
      for (const f of ['ha.cf', 'authkeys'])
        await copyFile(`${REPO}examples/tutorial/${f}`, this.lab.hostPath(n, `/etc/ha.d/${f}`));
      // The tutorial's `linux1 192.168.1.50` with the interface spelled out: Debian 12's resource-agents IPaddr,
      // which the real Heartbeat runs, defaults nic to eth0 and then refuses the eth1 it finds.
      await writeFile(this.lab.hostPath(n, '/etc/ha.d/haresources'), `linux1 IPaddr::${VIP}/24/${IFACE}\n`);
    }
    for (const n of this.lab.nodes) await mustRun('chmod', ['600', this.lab.hostPath(n, '/etc/ha.d/authkeys')]);
  }

  async startHeartbeat(host: string): Promise<void> {
    await hb.start(this.lab, host);
    this.impl.set(host, 'heartbeat');
  }

  /** `apt install ./vigil.deb` on `host`, as far as that host can see (lab/package-install.ts). */
  async installVigil(host: string): Promise<void> {
    await installPackage(this.lab, host, this.debRoot);
    const v = await this.lab.exec(host, '/usr/sbin/vigil', ['--version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(await this.lab.sh(host, `test -e ${HEARTBEAT_BIN}`).then((x) => x.code), 1, 'heartbeat removed');
  }

  async uninstallVigil(host: string): Promise<void> {
    await removePackage(this.lab, host);
  }

  /** The package's init script, as the postinst's invoke-rc.d (or a boot) runs it, with a service manager's env. */
  async startVigil(host: string): Promise<void> {
    const r = await this.lab.sh(host, `${serviceEnv()} /etc/init.d/vigil start`, { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `/etc/init.d/vigil start on ${host}: ${r.stdout}${r.stderr}`);
    this.impl.set(host, 'vigil');
  }

  async stopVigil(host: string): Promise<void> {
    const r = await this.lab.sh(host, `${serviceEnv()} /etc/init.d/vigil stop`, { timeoutMs: 200_000 });
    assert.equal(r.code, 0, `/etc/init.d/vigil stop on ${host}: ${r.stdout}${r.stderr}`);
    await waitFor(`vigil gone on ${host}`, 30_000, async () =>
      (await vigil.daemonPids(this.lab, host)).length === 0 ? true : undefined,
    );
  }

  async stop(host: string): Promise<void> {
    const impl = this.impl.get(host);
    if (impl === 'vigil') await this.stopVigil(host);
    else if (impl === 'vigil-prev') {
      const r = await this.lab.sh(host, `${serviceEnv()} ${process.execPath} ${this.prev('vigil')} stop`, {
        timeoutMs: 200_000,
      });
      assert.equal(r.code, 0, `previous vigil stop on ${host}: ${r.stdout}${r.stderr}`);
    } else await hb.stop(this.lab, host);
    this.impl.delete(host);
  }

  /** Heartbeat's own hb_standby path on either implementation (Vigil's package puts its tool there). */
  async standby(host: string): Promise<void> {
    const [cmd, pre] =
      this.impl.get(host) === 'vigil-prev' ? this.tool(host, 'hb_standby') : ['/usr/share/heartbeat/hb_standby', []];
    const r = await this.lab.exec(host, cmd, [...pre, 'all'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `hb_standby on ${host}: ${r.stdout}${r.stderr}`);
  }

  /** Both nodes see each other as active (through each node's own cl_status). */
  async joined(timeoutMs: number): Promise<void> {
    const [a, b] = this.lab.nodes as [string, string];
    await waitFor('both nodes to see each other', timeoutMs, async () => {
      for (const [me, peer] of [
        [a, b],
        [b, a],
      ] as const) {
        const [cmd, pre] = this.tool(me, 'cl_status');
        const r = await this.lab.exec(me, cmd, [...pre, 'nodestatus', peer], { timeoutMs: 10_000 });
        if (r.stdout.trim() !== 'active') return undefined;
      }
      return true;
    });
  }

  async holds(host: string, timeoutMs: number): Promise<void> {
    await waitFor(`the VIP on ${host} alone`, timeoutMs, async () => {
      const h = await vipHolders(this.lab);
      return h.length === 1 && h[0] === host ? true : undefined;
    });
  }
}

interface Leg {
  readonly gaps: Gap[];
  readonly longest: Gap | undefined;
  readonly totalMs: number;
}

function outages(prober: Prober, from: number, to: number): Leg {
  const gaps = prober.gaps(from, to);
  const longest = prober.longestGap(from, to);
  return { gaps, longest, totalMs: gaps.reduce((s, g) => s + g.ms, 0) };
}

function describe(leg: Leg, steps: readonly Step[]): string {
  const at = (g: Gap): string => steps.find((s) => g.from >= s.from - 1000 && g.from <= s.to)?.what ?? '?';
  return leg.gaps.map((g) => `${Math.round(g.ms)} ms during "${at(g)}"`).join('; ') || 'no gap';
}

async function migrate(t: TestContext, m: Migration, prober: Prober, to: Impl): Promise<Leg> {
  const [home, other] = m.lab.nodes as [string, string];
  const startImpls = m.lab.nodes.map((n) => m.impl.get(n) ?? '?');
  const from = nowMs();
  const replace = async (host: string): Promise<void> => {
    const was = m.impl.get(host);
    await m.step(`stop ${was ?? '?'} on ${host}`, () => m.stop(host));
    if (to === 'vigil') {
      await m.step(`${was === 'vigil-prev' ? 'upgrade' : 'install'} Vigil on ${host}`, () => m.installVigil(host));
      await m.step(`start Vigil on ${host}`, () => m.startVigil(host));
    } else {
      await m.step(`remove Vigil from ${host}`, () => m.uninstallVigil(host));
      await m.step(`start Heartbeat on ${host}`, () => m.startHeartbeat(host));
    }
  };
  // The standby node first: it holds nothing, so nothing moves.
  await replace(other);
  await m.step(`${other} joins the mixed cluster`, () => m.joined(120_000));
  await m.step(`the VIP stays on ${home}`, () => m.holds(home, 10_000));
  // Move the group to the replaced node, replace the other one, and let auto_failback bring the group home.
  await m.step(`hb_standby on ${home}`, async () => {
    await m.standby(home);
    await m.holds(other, 60_000);
  });
  await replace(home);
  await m.step(`${home} joins, the group fails back`, async () => {
    await m.joined(120_000);
    await m.holds(home, 120_000);
  });
  // A quiet moment of the finished cluster: nothing moves.
  await m.step('settle', () => new Promise((r) => setTimeout(r, 5000)));
  const leg = outages(prober, from, nowMs());
  t.diagnostic(
    `to ${to} (from ${[...new Set(startImpls)].join('+')}): ${leg.gaps.length} outages, ${Math.round(leg.totalMs)} ms in all, longest ` +
      `${leg.longest === undefined ? 0 : Math.round(leg.longest.ms)} ms (${describe(leg, m.steps)})`,
  );
  for (const n of m.lab.nodes) assert.equal(m.impl.get(n), to);
  return leg;
}

/**
 * Both legs start alike: a two-node lab, the .deb unpacked, `first` ('heartbeat' or 'previous') started on both nodes
 * with linux1 holding the VIP and a client pinging it; then `body`. Everything is torn down whatever happens.
 */
async function onLivePair(
  deb: string,
  first: 'heartbeat' | 'previous',
  prevDir: string | undefined,
  body: (lab: Lab, m: Migration, prober: Prober) => Promise<void>,
): Promise<void> {
  await cleanup(PREFIX);
  const work = await mkdtemp(join(tmpdir(), 'vigil-mig-'));
  let prober: Prober | undefined;
  try {
    const lab = await Lab.up({ prefix: PREFIX, nodes: 2 });
    const debRoot = join(work, 'deb-root');
    await unpackDeb(deb, debRoot);
    const m = new Migration(lab, debRoot, prevDir);
    await m.prepare();
    const title = first === 'heartbeat' ? 'Heartbeat' : 'the previous release';
    await m.step(`start ${title} on both nodes`, async () => {
      await Promise.all(lab.nodes.map((n) => (first === 'heartbeat' ? m.startHeartbeat(n) : m.startPrev(n))));
      await m.joined(120_000);
      await m.holds('linux1', 120_000);
    });
    const p = new Prober(lab.netns('client'), IFACE, VIP);
    prober = p;
    await p.start();
    await waitFor('the client to get replies', 20_000, () => Promise.resolve(p.replies.length > 20 ? true : undefined));
    await body(lab, m, p);
  } finally {
    await prober?.stop().catch(() => undefined);
    await cleanup(PREFIX);
    await rm(work, { recursive: true, force: true });
  }
  assert.deepEqual(await leftovers(PREFIX), []);
}

test('rolling migration of a live Heartbeat pair to Vigil (the .deb), and back', { timeout: 1_200_000 }, async (t) => {
  if (!needRoot(t)) return;
  const deb = await builtDeb();
  if (deb === undefined) {
    t.skip('no build/vigil_<version>_<arch>.deb: run `npm run package` first');
    return;
  }
  try {
    await hb.checkAvailable();
  } catch (e) {
    t.skip(e instanceof Error ? e.message : String(e));
    return;
  }
  await onLivePair(deb, 'heartbeat', undefined, async (lab, m, prober) => {
    const forward = await migrate(t, m, prober, 'vigil');
    // The daemons run on the package's own runtime.
    for (const n of lab.nodes) {
      const pids = await vigil.daemonPids(lab, n);
      assert.equal(pids.length, 1, `one vigil on ${n}`);
      const exe = await runCmd('readlink', [`/proc/${pids[0]!}/exe`]);
      assert.match(exe.stdout, /\/usr\/lib\/vigil\/node\/bin\/node/, `${n} runs ${exe.stdout}`);
    }
    const back = await migrate(t, m, prober, 'heartbeat');
    await prober.stop();

    // No planned step may cost a deadtime (10 s): that would mean a node was declared dead mid-migration.
    for (const [name, leg] of [
      ['to Vigil', forward],
      ['back to Heartbeat', back],
    ] as const) {
      assert.ok(leg.longest === undefined || leg.longest.ms < 10_000, `${name}: ${describe(leg, m.steps)}`);
    }
  });
});

test(
  'rolling upgrade from the previous release to this one (the .deb): one cluster throughout',
  { timeout: 900_000 },
  async (t) => {
    if (!needRoot(t)) return;
    const deb = await builtDeb();
    if (deb === undefined) {
      t.skip('no build/vigil_<version>_<arch>.deb: run `npm run package` first');
      return;
    }
    const prev = await runCmd('bash', [`${REPO}scripts/previous-release.sh`], { timeoutMs: 600_000 });
    if (prev.code === 2) {
      t.skip(prev.stderr.trim());
      return;
    }
    assert.equal(prev.code, 0, `scripts/previous-release.sh: ${prev.stderr}`);
    await onLivePair(deb, 'previous', prev.stdout.trim(), async (_lab, m, prober) => {
      // migrate() checks at each step that the two versions see each other as active: one cluster.
      const leg = await migrate(t, m, prober, 'vigil');
      await prober.stop();
      assert.ok(leg.longest === undefined || leg.longest.ms < 10_000, describe(leg, m.steps));
    });
  },
);
