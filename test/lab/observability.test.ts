/**
 * Monitoring end to end in the lab: two Vigil nodes with `vigil_http` on their own addresses, a notify hook,
 * journald's native protocol to a real systemd-journald inside linux2, and the dashboard in a real headless
 * Chromium (Debian's, driven by playwright-core) running in linux2's network namespace.
 *
 * - `promtool check metrics` passes on what both daemons really serve;
 * - the holder is powered off: the dashboard on linux2 shows linux2 as the holder within 2 s of the takeover (the
 *   transition's own time), then a screenshot for the README (docs/dashboard.png);
 * - the notify hook ran for the takeover with the documented arguments; `vigil history` shows it with its reason,
 *   also after a restart; `vigil explain` says why linux2 holds the group;
 * - journald got the transition with GROUP/EVENT/NODE fields and Heartbeat's lines under SYSLOG_IDENTIFIER=heartbeat.
 *
 * Lab prefix `obs`. Chromium is killed by PID at the end, its profile is a fresh directory of its own.
 */
import assert from 'node:assert/strict';
import { access, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { pidsByCmdline } from '../../lab/drivers/common.js';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { runCmd, sleep, waitFor } from '../../lab/exec.js';
import { powerOff } from '../../lab/faults.js';
import { IFACE, Lab, VIP, cleanup, nodeIp } from '../../lab/topology.js';
import { leftovers, needRoot } from './helpers.js';

const PREFIX = 'obs';
const VIGIL_JS = fileURLToPath(new URL('../../src/cli/vigil.js', import.meta.url));
// The README's screenshot is refreshed only on request: a test run must not rewrite tracked files.
const SCREENSHOT =
  process.env.VIGIL_UPDATE_SCREENSHOT === '1'
    ? fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url))
    : join(tmpdir(), `vigil-dashboard-${process.pid}.png`);
const LOG = '/var/log/heartbeat.log';
const GROUP = `IPaddr::${VIP}/24/${IFACE}`;
const PORT = 9100;
const CHROMIUM = '/usr/bin/chromium';

function hacf(node: number): string {
  return [
    `logfile ${LOG}`,
    'logfacility daemon',
    'keepalive 100ms',
    'deadtime 1',
    'warntime 500ms',
    'initdead 3',
    `bcast ${IFACE}`,
    'auto_failback off',
    'node linux1',
    'node linux2',
    'vigil_detector adaptive',
    `vigil_http ${nodeIp(node)}:${PORT}`,
    'vigil_notify /etc/ha.d/notify.sh',
    'vigil_journald on',
    '',
  ].join('\n');
}

const NOTIFY = `#!/bin/sh
echo "$1|$2|$3|$4|$5|$6|$VIGIL_CAUSE|$VIGIL_PEER" >> /var/log/notify.log
`;

async function missing(t: TestContext): Promise<boolean> {
  const need: [string, string][] = [
    ['/usr/bin/promtool', 'promtool (Debian package prometheus)'],
    [CHROMIUM, 'chromium (Debian package chromium)'],
    ['/lib/systemd/systemd-journald', 'systemd-journald (Debian package systemd)'],
  ];
  for (const [path, what] of need) {
    if (
      await access(path).then(
        () => false,
        () => true,
      )
    ) {
      t.skip(`needs ${what}: scripts/ensure-deps.sh installs it`);
      return true;
    }
  }
  try {
    await import('playwright-core');
  } catch {
    t.skip('needs the npm package playwright-core (npm ci)');
    return true;
  }
  return false;
}

function vigil(lab: Lab, host: string, args: string[]) {
  return lab.exec(host, process.execPath, [VIGIL_JS, ...args], { timeoutMs: 30_000 });
}

/** GET from inside a host (the namespaces have no route to the root namespace). */
async function fetchIn(lab: Lab, host: string, url: string): Promise<string> {
  const r = await lab.exec(
    host,
    process.execPath,
    [
      '-e',
      `fetch(${JSON.stringify(url)}).then(async (r) => { if (!r.ok) process.exit(2); process.stdout.write(await r.text()); })`,
    ],
    { timeoutMs: 20_000 },
  );
  assert.equal(r.code, 0, `GET ${url} on ${host}: ${r.stderr}`);
  return r.stdout;
}

async function holds(lab: Lab, host: string): Promise<boolean> {
  const r = await runCmd('ip', ['-n', lab.netns(host), '-o', '-4', 'addr', 'show', 'dev', IFACE]);
  return r.stdout.includes(` ${VIP}/`);
}

test('monitoring: promtool passes on real /metrics; the dashboard shows the new holder within 2 s of a takeover; notify, history, explain, journald', async (t) => {
  if (!needRoot(t) || (await missing(t))) return;
  await cleanup(PREFIX);
  let lab: Lab | undefined;
  let journald: ChildProcess | undefined;
  let browserPids: number[] = [];
  const profile = await mkdtemp(join(tmpdir(), 'vigil-obs-chromium-'));
  const wrapper = join(profile, 'chromium-in-linux2.sh');
  let passed = false;
  try {
    lab = await Lab.up({ prefix: PREFIX, nodes: 2 });
    const l = lab;
    for (const [i, n] of lab.nodes.entries()) {
      await lab.resetRun(n);
      await writeFile(lab.hostPath(n, '/etc/ha.d/ha.cf'), hacf(i + 1), { mode: 0o644 });
      await writeFile(lab.hostPath(n, '/etc/ha.d/authkeys'), 'auth 1\n1 sha1 ObsSecret\n', { mode: 0o600 });
      await chmod(lab.hostPath(n, '/etc/ha.d/authkeys'), 0o600);
      await writeFile(lab.hostPath(n, '/etc/ha.d/haresources'), `linux1 ${GROUP}\n`, { mode: 0o644 });
      await writeFile(lab.hostPath(n, '/etc/ha.d/notify.sh'), NOTIFY, { mode: 0o755 });
      await chmod(lab.hostPath(n, '/etc/ha.d/notify.sh'), 0o755);
    }

    // A real journald in linux2: it needs a cgroup hierarchy, mounted in linux2's own mount namespace only.
    const mounted = await lab.sh('linux2', 'mount -t cgroup2 none /sys/fs/cgroup');
    assert.equal(mounted.code, 0, mounted.stderr);
    journald = lab.spawn('linux2', '/lib/systemd/systemd-journald', [], { stdio: 'ignore' });
    await waitFor(
      'journald in linux2',
      10_000,
      async () =>
        (await access(lab?.hostPath('linux2', '/run/systemd/journal/socket') ?? '').then(
          () => true,
          () => undefined,
        )) ?? undefined,
    );

    const driver = new VigilDriver();
    for (const n of lab.nodes) await driver.start(lab, n);
    await waitFor('linux1 to hold the VIP', 60_000, async () => ((await holds(l, 'linux1')) ? true : undefined));
    const url2 = `http://${nodeIp(2)}:${PORT}`;
    await waitFor('the HTTP server of linux2', 20_000, async () =>
      (
        await lab?.exec('linux2', process.execPath, [
          '-e',
          `fetch('${url2}/api/v1').then((r) => process.exit(r.ok ? 0 : 1))`,
        ])
      )?.code === 0
        ? true
        : undefined,
    );

    // 1. promtool on what each daemon really serves.
    for (const [i, n] of lab.nodes.entries()) {
      const body = await fetchIn(lab, n, `http://${nodeIp(i + 1)}:${PORT}/metrics`);
      const check = await runCmd('promtool', ['check', 'metrics'], { input: body, timeoutMs: 20_000 });
      assert.equal(check.code, 0, `promtool on ${n}: ${check.stdout}${check.stderr}`);
      assert.match(
        body,
        new RegExp(`^vigil_group_held\\{group="${GROUP.replaceAll('.', '\\.')}"\\} ${n === 'linux1' ? 1 : 0}$`, 'm'),
      );
      assert.match(body, /^vigil_peer_up\{peer="linux[12]",type="normal"\} 1$/m);
    }
    const status = JSON.parse(await fetchIn(lab, 'linux2', `${url2}/api/v1/status`)) as {
      protocol: number;
      node: string;
    };
    assert.equal(status.protocol, 1);
    assert.equal(status.node, 'linux2');

    // 2. The dashboard in Chromium, inside linux2's network namespace.
    await writeFile(wrapper, `#!/bin/sh\nexec nsenter --net=/run/netns/${lab.netns('linux2')} ${CHROMIUM} "$@"\n`, {
      mode: 0o755,
    });
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    browserPids = await pidsByCmdline(lab, 'linux2', (argv) => /chromium/.test(argv[0] ?? ''));
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
      await page.goto(`${url2}/`);
      const holderCell = page.locator(`tr[data-group="${GROUP}"] td.holder`);
      await waitFor('the dashboard to show linux1 as holder', 20_000, async () =>
        (await holderCell.textContent()) === 'linux1' ? true : undefined,
      );
      await waitFor('the live badge', 20_000, async () =>
        (await page.locator('#live').textContent()) === 'live' ? true : undefined,
      );
      await sleep(8000); // heartbeat samples for the chart

      const cut = await powerOff(lab, 'linux1');
      // Runs in the page (a function: the dashboard's CSP rightly refuses strings to eval).
      type Doc = { querySelector(sel: string): { textContent: string | null } | null };
      await page.waitForFunction(
        (g: string) =>
          (globalThis as unknown as { document: Doc }).document.querySelector(`tr[data-group="${g}"] td.holder`)
            ?.textContent === 'linux2',
        GROUP,
        { timeout: 30_000, polling: 20 },
      );
      const seen = Date.now();
      const hist = JSON.parse(
        await fetchIn(lab, 'linux2', `${url2}/api/v1/history?group=${encodeURIComponent(GROUP)}`),
      ) as {
        at: number;
        to: string;
        reason: string;
      }[];
      const held = hist.filter((e) => e.to === 'held' && e.reason === 'takeover').at(-1);
      assert.ok(held !== undefined, JSON.stringify(hist));
      const lag = seen - held.at;
      t.diagnostic(`power cut → takeover complete ${held.at - cut} ms; takeover → dashboard ${lag} ms`);
      assert.ok(lag < 2000, `the dashboard showed the new holder ${lag} ms after the takeover`);
      assert.match((await page.locator('#timeline').textContent()) ?? '', /takeover from linux1/);
      await sleep(3000); // the chart shows linux1 going silent
      await mkdir(join(SCREENSHOT, '..'), { recursive: true });
      const png = await page.screenshot({ path: SCREENSHOT, fullPage: true });
      assert.ok(png.length > 10_000, `a screenshot of ${png.length} bytes`);
      if (process.env.VIGIL_UPDATE_SCREENSHOT !== '1') await rm(SCREENSHOT, { force: true });
    } finally {
      await browser.close().catch(() => undefined);
    }

    // 3. The notify hook ran for the takeover with the documented arguments.
    const notified = await readFile(lab.hostPath('linux2', '/var/log/notify.log'), 'utf8');
    assert.match(
      notified,
      new RegExp(
        `^${GROUP.replaceAll('.', '\\.')}\\|held\\|acquiring\\|linux2\\|takeover\\|\\d{4}-\\d\\d-\\d\\dT[^|]+Z\\|acquireDone [^|]+\\|linux1$`,
        'm',
      ),
    );

    // 4. History and explain, over the control socket; the history survives a restart.
    const h1 = await vigil(lab, 'linux2', ['history', '--group', GROUP]);
    assert.equal(h1.code, 0, h1.stderr);
    assert.match(
      h1.stdout,
      /none → acquiring {2}takeover from linux1 {2}\(nodeDead linux1\)\n.*acquiring → held {2}takeover from linux1 in \d+ ms {2}\(acquireDone /,
    );
    const ex = await vigil(lab, 'linux2', ['explain']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.match(
      ex.stdout,
      new RegExp(`^${GROUP.replaceAll('.', '\\.')}: held here since .* \\(takeover linux1\\)$`, 'm'),
    );
    assert.match(ex.stdout, /peer linux1 +dead/);
    // A reload moves the HTTP server to its new port in place.
    await writeFile(lab.hostPath('linux2', '/etc/ha.d/ha.cf'), hacf(2).replace(`:${PORT}`, `:${PORT + 1}`), {
      mode: 0o644,
    });
    const rl = await vigil(lab, 'linux2', ['reload']);
    assert.equal(rl.code, 0, rl.stdout + rl.stderr);
    assert.match(rl.stdout, new RegExp(`vigil_http ${nodeIp(2).replaceAll('.', '\\.')}:${PORT} → .*:${PORT + 1}`));
    assert.match(await fetchIn(lab, 'linux2', `http://${nodeIp(2)}:${PORT + 1}/api/v1`), /"version": 1/);
    const old = await lab.exec('linux2', process.execPath, [
      '-e',
      `fetch('${url2}/api/v1').then(() => process.exit(0), () => process.exit(3))`,
    ]);
    assert.equal(old.code, 3, 'the old port is closed');
    await driver.stop(lab, 'linux2');
    const h2 = await vigil(lab, 'linux2', ['history', '--json', '--since', '1h']);
    assert.equal(h2.code, 0, h2.stderr);
    assert.ok(
      h2.stdout.split('\n').some((x) => x.includes('"reason":"takeover"') && x.includes('"to":"held"')),
      h2.stdout,
    );

    // 5. journald kept the fields.
    const jq = async (...match: string[]): Promise<Record<string, string>[]> => {
      const r = await lab?.exec('linux2', 'journalctl', ['--no-pager', '-o', 'json', ...match], { timeoutMs: 20_000 });
      return (r?.stdout ?? '')
        .split('\n')
        .filter((x) => x !== '')
        .map((x) => JSON.parse(x) as Record<string, string>);
    };
    const tr = await jq(`GROUP=${GROUP}`, 'EVENT=transition');
    assert.ok(
      tr.some(
        (e) =>
          e.SYSLOG_IDENTIFIER === 'vigil' &&
          e.NODE === 'linux2' &&
          e.REASON === 'takeover' &&
          e.STATE === 'held' &&
          e.PRIORITY === '5',
      ),
      JSON.stringify(tr.slice(-3)),
    );
    const hb = await jq('SYSLOG_IDENTIFIER=heartbeat', 'NODE=linux2');
    assert.ok(
      hb.some((e) => /^info: Taking over resource group /.test(e.MESSAGE ?? '') && e.GROUP === GROUP),
      JSON.stringify(hb.slice(-5)),
    );
    assert.ok(
      hb.some((e) => e.MESSAGE === 'WARN: node linux1: is dead' || /node linux1: is dead/.test(e.MESSAGE ?? '')),
    );
    passed = true;
  } finally {
    for (const pid of browserPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (journald?.pid !== undefined) journald.kill('SIGTERM');
    if (lab !== undefined && !passed) {
      for (const n of lab.nodes) {
        const text = await readFile(lab.hostPath(n, LOG), 'utf8').catch(() => '');
        for (const line of text.split('\n').slice(-30)) t.diagnostic(`${n}| ${line}`);
      }
    }
    await cleanup(PREFIX);
    await rm(profile, { recursive: true, force: true });
    assert.deepEqual(await leftovers(PREFIX), [], 'the lab is torn down');
  }
});
