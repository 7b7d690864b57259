/**
 * Issue 6 in the lab, with real Vigil daemons in network namespaces: STONITH gating (a command plugin that fails
 * until the test allows it, and meatware confirmed with `vigil fence-ack`), a health-checked service behind the VIP
 * that fails over when it dies, and MailTo mail received by a real SMTP server (aiosmtpd).
 *
 * Timing: keepalive 200 ms, deadtime 2 s, initdead 4 s. Bounds are generous on purpose: the machine has 2 cores
 * shared with other test runs, and every step below starts processes (python3, curl, resource scripts) that can
 * take a second each under load. What is asserted strictly is ORDER (no VIP before the reset succeeded), not speed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VigilDriver } from '../../lab/drivers/vigil.js';
import { nowMs, runCmd, sleep, waitFor } from '../../lab/exec.js';
import { powerOff } from '../../lab/faults.js';
import { CLIENT_IP, IFACE, Lab, VIP, cleanup } from '../../lab/topology.js';
import type { StatusSnapshot } from '../../src/control/protocol.js';
import { leftovers, needRoot } from './helpers.js';

const VIGIL_JS = fileURLToPath(new URL('../../src/cli/vigil.js', import.meta.url));
const GROUP = `IPaddr::${VIP}/24/${IFACE}`;
const LOG = '/var/log/heartbeat.log';
const PY = '/usr/bin/python3';

/** Short and ours (the brief's `vop`), plus the pid so that two runs never share a lab. */
function prefix(tag: string): string {
  return `vop${tag}${(process.pid % 1296).toString(36)}`.slice(0, 8);
}

interface FileSpec {
  readonly text: string;
  readonly mode?: number;
}

async function bringUp(
  pfx: string,
  o: { hacf: readonly string[]; haresources: string; files?: Readonly<Record<string, FileSpec>>; start: string[] },
): Promise<{ lab: Lab; driver: VigilDriver }> {
  const lab = await Lab.up({ prefix: pfx, nodes: 2 });
  const driver = new VigilDriver();
  const hacf = [
    `logfile ${LOG}`,
    'keepalive 200ms',
    'deadtime 2',
    'warntime 1',
    'initdead 4',
    `bcast ${IFACE}`,
    'auto_failback off',
    'node linux1',
    'node linux2',
    ...o.hacf,
    '',
  ].join('\n');
  for (const n of lab.nodes) {
    await lab.resetRun(n);
    await writeFile(lab.hostPath(n, '/etc/ha.d/ha.cf'), hacf);
    await writeFile(lab.hostPath(n, '/etc/ha.d/authkeys'), 'auth 1\n1 sha1 MaClefSecrete\n', { mode: 0o600 });
    await chmod(lab.hostPath(n, '/etc/ha.d/authkeys'), 0o600);
    await writeFile(lab.hostPath(n, '/etc/ha.d/haresources'), o.haresources);
    for (const [path, f] of Object.entries(o.files ?? {})) {
      const real = lab.hostPath(n, path.replaceAll('@HOST@', n));
      await mkdir(join(real, '..'), { recursive: true });
      await writeFile(real, f.text.replaceAll('@HOST@', n));
      await chmod(real, f.mode ?? 0o644);
    }
  }
  for (const n of o.start) await driver.start(lab, n);
  return { lab, driver };
}

async function holds(lab: Lab, host: string): Promise<boolean> {
  const r = await runCmd('ip', ['-n', lab.netns(host), '-o', '-4', 'addr', 'show', 'dev', IFACE]);
  return r.stdout.includes(` ${VIP}/`);
}

function logOf(lab: Lab, host: string): Promise<string> {
  return readFile(lab.hostPath(host, LOG), 'utf8').catch(() => '');
}

async function waitLog(lab: Lab, host: string, re: RegExp, ms: number): Promise<void> {
  await waitFor(`${host} to log ${re}`, ms, async () => (re.test(await logOf(lab, host)) ? true : undefined), 100);
}

function vigil(lab: Lab, host: string, args: string[]) {
  return lab.exec(host, process.execPath, [VIGIL_JS, ...args], { timeoutMs: 30_000 });
}

async function status(lab: Lab, host: string): Promise<StatusSnapshot> {
  const r = await vigil(lab, host, ['status', '--json']);
  assert.equal(r.code, 0, `vigil status on ${host}: ${r.stderr}`);
  return JSON.parse(r.stdout) as StatusSnapshot;
}

/** Watches the VIP on `host` every 100 ms until stopped; says whether it was ever seen there. */
function watchVip(lab: Lab, host: string): { stop: () => Promise<boolean> } {
  let seen = false;
  let running = true;
  const loop = (async () => {
    while (running) {
      if (await holds(lab, host)) seen = true;
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** Tears the lab down; on failure first prints the end of each node's log (the story behind the assertion). */
async function teardown(t: TestContext, pfx: string, lab: Lab | undefined, passed: boolean): Promise<void> {
  if (lab !== undefined && (!passed || process.env.VIGIL_LAB_LOGS !== undefined)) {
    for (const n of lab.nodes)
      for (const line of (await logOf(lab, n)).split('\n').slice(-40)) t.diagnostic(`${n}| ${line}`);
  }
  await cleanup(pfx);
  assert.deepEqual(await leftovers(pfx), [], 'the lab is torn down');
}

/** Both daemons up, linux1 holds the group and linux2 knows it (it must, to fence linux1 before taking it). */
async function linux1Holds(lab: Lab): Promise<void> {
  await waitFor('linux1 to hold the VIP', 30_000, async () => ((await holds(lab, 'linux1')) ? true : undefined), 100);
  await waitFor('linux2 to see linux1 holding the group', 30_000, async () => {
    const s = await status(lab, 'linux2');
    return s.groups[0]?.holder === 'linux1' ? true : undefined;
  });
}

const FENCE_SH = `#!/bin/sh
# A fence device that cannot reach its target until /etc/ha.d/fence-ok exists. Records every call.
echo "$(date +%s.%N) $*" >> /var/log/fence-calls
if [ ! -e /etc/ha.d/fence-ok ]; then echo "fence: power switch unreachable" >&2; exit 1; fi
exit 0
`;

test('STONITH command plugin: no takeover while the reset fails; it retries every 5 s; takeover once it succeeds', async (t) => {
  if (!needRoot(t)) return;
  const pfx = prefix('st');
  let lab: Lab | undefined;
  let passed = false;
  try {
    ({ lab } = await bringUp(pfx, {
      hacf: ['stonith_host * command /etc/ha.d/fence.sh', 'vigil_stonith_timeout 5'],
      haresources: `linux1 ${GROUP}\n`,
      files: { '/etc/ha.d/fence.sh': { text: FENCE_SH, mode: 0o755 } },
      start: ['linux1', 'linux2'],
    }));
    await linux1Holds(lab);
    const watch = watchVip(lab, 'linux2');
    const cut = await powerOff(lab, 'linux1');
    // Two failed attempts, 5 s apart (Heartbeat's retry): deadtime 2 s + 5 s + slack for the loaded machine.
    const calls = lab.hostPath('linux2', '/var/log/fence-calls');
    await waitFor('two fencing attempts on linux2', 30_000, async () => {
      const n = (await readFile(calls, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '').length;
      return n >= 2 ? n : undefined;
    });
    await sleep(500);
    const heldWhileFailing = await watch.stop();
    assert.equal(heldWhileFailing, false, 'linux2 must not hold the VIP while the reset of linux1 fails');
    assert.equal(await holds(lab, 'linux2'), false);
    const allow = nowMs();
    await writeFile(lab.hostPath('linux2', '/etc/ha.d/fence-ok'), '');
    // The next attempt is at most 5 s away; then the takeover itself.
    await waitFor('linux2 to hold the VIP after the reset', 20_000, async () =>
      (await holds(lab!, 'linux2')) ? true : undefined,
    );
    const took = nowMs();
    t.diagnostic(
      `power-off → VIP on linux2: ${Math.round(took - cut)} ms; reset allowed → VIP: ${Math.round(took - allow)} ms`,
    );

    const log = await logOf(lab, 'linux2');
    const at = (s: string): number => log.indexOf(s);
    const resetting = at('Resetting node linux1 with [command STONITH device /etc/ha.d/fence.sh]');
    const retrying = at('STONITH of linux1 failed.  Retrying...');
    const reset = at('node linux1 now reset.');
    const takeover = at(`Taking over resource group ${GROUP}`);
    assert.ok(resetting >= 0, 'Resetting node ... with [device]');
    assert.ok(retrying > resetting, 'STONITH of linux1 failed.  Retrying...');
    assert.match(log, /ERROR: \/etc\/ha\.d\/fence\.sh: exit code 1: fence: power switch unreachable/);
    assert.ok(reset > retrying, 'node linux1 now reset.');
    assert.ok(takeover > reset, 'the takeover comes after the reset');
    const lines = (await readFile(calls, 'utf8')).split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 3, `attempts: ${lines.length}`);
    for (const l of lines) assert.match(l, / linux1$/, 'the command gets the node name as its last argument');
    // Retries are Heartbeat's 5 s apart (allow the machine its stalls).
    const times = lines.map((l) => Number(l.split(' ')[0]));
    for (let i = 1; i < times.length; i++) {
      const dt = times[i]! - times[i - 1]!;
      assert.ok(dt > 4.5 && dt < 9, `gap between attempts ${dt.toFixed(2)} s`);
    }
    const ping = await lab.exec('client', 'ping', ['-c', '1', '-W', '2', VIP]);
    assert.equal(ping.code, 0, `the client reaches the VIP on linux2 (from ${CLIENT_IP})`);
    passed = true;
  } finally {
    await teardown(t, pfx, lab, passed);
  }
});

test('STONITH meatware: takeover waits for `vigil fence-ack NODE`', async (t) => {
  if (!needRoot(t)) return;
  const pfx = prefix('mw');
  let lab: Lab | undefined;
  let passed = false;
  try {
    ({ lab } = await bringUp(pfx, {
      hacf: ['stonith_host * meatware'],
      haresources: `linux1 ${GROUP}\n`,
      start: ['linux1', 'linux2'],
    }));
    await linux1Holds(lab);
    const watch = watchVip(lab, 'linux2');
    await powerOff(lab, 'linux1');
    await waitLog(lab, 'linux2', /CRIT: OPERATOR INTERVENTION REQUIRED to reset linux1\./, 20_000);
    assert.match(await logOf(lab, 'linux2'), /Run "vigil fence-ack linux1" AFTER power-cycling the machine\./);
    const s = await status(lab, 'linux2');
    assert.deepEqual(s.fencing, [{ node: 'linux1', device: 'Meatware STONITH device', awaitingOperator: true }]);
    const text = await vigil(lab, 'linux2', ['status']);
    assert.match(
      text.stdout,
      /STONITH: waiting for the operator to confirm the reset of linux1 \(vigil fence-ack linux1\)/,
    );
    // Longer than one engine retry period (5 s): nothing moves without the operator.
    await sleep(6000);
    assert.equal(await watch.stop(), false, 'no VIP on linux2 before the confirmation');
    const wrong = await vigil(lab, 'linux2', ['fence-ack', 'linux9']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /no reset of linux9 is waiting for a confirmation/);
    const ack = await vigil(lab, 'linux2', ['fence-ack', 'linux1']);
    assert.equal(ack.code, 0, ack.stderr);
    assert.match(ack.stdout, /Reset of linux1 confirmed/);
    await waitFor('linux2 to hold the VIP after the confirmation', 15_000, async () =>
      (await holds(lab!, 'linux2')) ? true : undefined,
    );
    const log = await logOf(lab, 'linux2');
    assert.ok(log.indexOf('node Meatware-reset: linux1') < log.indexOf('node linux1 now reset.'));
    assert.ok(log.indexOf('node linux1 now reset.') < log.indexOf(`Taking over resource group ${GROUP}`));
    assert.deepEqual((await status(lab, 'linux2')).fencing, []);
    passed = true;
  } finally {
    await teardown(t, pfx, lab, passed);
  }
});

// An LSB-style script for a real web service (python3's http.server), and a check command against it.
const WEBSVC = `#!/bin/sh
PIDF=/var/run/websvc.pid
up() { curl -sf -m 1 -o /dev/null http://127.0.0.1:8080/host.txt; }
case "$1" in
start)
  if [ -f $PIDF ] && kill -0 "$(cat $PIDF)" 2>/dev/null; then exit 0; fi
  setsid ${PY} -m http.server 8080 --bind 0.0.0.0 --directory /var/lib/heartbeat/www \\
    </dev/null >>/var/log/websvc.log 2>&1 &
  echo $! > $PIDF
  i=0; while [ $i -lt 100 ]; do up && exit 0; sleep 0.1; i=$((i+1)); done
  exit 1;;
stop)
  if [ -f $PIDF ]; then kill "$(cat $PIDF)" 2>/dev/null; rm -f $PIDF; fi
  exit 0;;
status)
  if [ -f $PIDF ] && kill -0 "$(cat $PIDF)" 2>/dev/null; then echo "websvc is running"; else echo "websvc is stopped"; fi
  exit 0;;
esac
exit 0
`;
const CHECK_WEB = `#!/bin/sh
exec curl -sf -m 1 -o /dev/null http://127.0.0.1:8080/host.txt
`;

async function fetchViaVip(lab: Lab): Promise<string | undefined> {
  const r = await lab.exec('client', 'curl', ['-s', '-m', '1', `http://${VIP}:8080/host.txt`], { timeoutMs: 5000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

async function killService(lab: Lab, host: string): Promise<void> {
  const pid = Number((await readFile(lab.hostPath(host, '/var/run/websvc.pid'), 'utf8')).trim());
  assert.ok(pid > 1);
  process.kill(pid, 'SIGKILL');
}

test('health check: a dead service is restarted in place, then (still failing) the group moves to linux2', async (t) => {
  if (!needRoot(t)) return;
  const pfx = prefix('hc');
  let lab: Lab | undefined;
  let passed = false;
  try {
    ({ lab } = await bringUp(pfx, {
      hacf: [
        `vigil_health_check ${GROUP} id=web interval=500ms timeout=2 fall=2 rise=1 restarts=1 grace=1 command /etc/ha.d/check-web.sh`,
      ],
      haresources: `linux1 ${GROUP} websvc\n`,
      files: {
        '/etc/ha.d/resource.d/websvc': { text: WEBSVC, mode: 0o755 },
        '/etc/ha.d/check-web.sh': { text: CHECK_WEB, mode: 0o755 },
        '/var/lib/heartbeat/www/host.txt': { text: '@HOST@\n' },
      },
      start: ['linux1', 'linux2'],
    }));
    await linux1Holds(lab);
    await waitFor('the client to reach the service on linux1', 20_000, async () =>
      (await fetchViaVip(lab!)) === 'linux1' ? true : undefined,
    );
    const checkState = async (host: string) => (await status(lab!, host)).groups[0]?.checks[0]?.state;
    await waitFor('the check to be up on linux1', 20_000, async () =>
      (await checkState('linux1')) === 'up' ? true : undefined,
    );
    const watch = watchVip(lab, 'linux2');

    // First death: restarted in place (restarts=1); the VIP stays on linux1.
    await killService(lab, 'linux1');
    await waitLog(lab, 'linux1', /restarting the group in place \(1\/1\)/, 20_000);
    await waitFor('the service back on linux1', 20_000, async () =>
      (await fetchViaVip(lab!)) === 'linux1' ? true : undefined,
    );
    await waitFor('the check up again on linux1', 20_000, async () =>
      (await checkState('linux1')) === 'up' ? true : undefined,
    );
    assert.equal(await watch.stop(), false, 'a restart in place does not move the VIP');

    // Second death: restarts exhausted → linux1 is not eligible and hands the group (VIP included) to linux2.
    // Expected ~3 s (2 failed checks 0.5 s apart, stop, standby exchange, start on linux2); bounded at 20 s for
    // the shared 2-core machine where each python3/curl start can take a second.
    const killed = nowMs();
    await killService(lab, 'linux1');
    await waitFor('the client to reach the service on linux2 through the VIP', 20_000, async () =>
      (await fetchViaVip(lab!)) === 'linux2' ? true : undefined,
    );
    const moved = nowMs() - killed;
    t.diagnostic(`service killed → served by linux2 through the VIP: ${Math.round(moved)} ms`);
    assert.ok(await holds(lab, 'linux2'));
    assert.equal(await holds(lab, 'linux1'), false);
    const log1 = await logOf(lab, 'linux1');
    assert.match(log1, /Health check \[web\] of group .* failed \(1\/2\)/);
    assert.match(log1, /Handing resource group\(s\) .* to linux2 \(not eligible here\)\./);

    const s1 = await status(lab, 'linux1');
    const g1 = s1.groups[0]!;
    assert.equal(g1.holder, 'linux2');
    assert.equal(g1.eligible, false);
    assert.ok(g1.failCount >= 2, `failCount ${g1.failCount}`);
    assert.match(g1.lastFailure ?? '', /^health check web: exit code \d+/);
    assert.equal(g1.checks[0]?.state, 'failed');
    assert.match((await vigil(lab, 'linux1', ['status'])).stdout, /NOT ELIGIBLE here: health check web still failing/);
    // The check now runs where the group is.
    await waitFor('the check up on linux2', 20_000, async () =>
      (await checkState('linux2')) === 'up' ? true : undefined,
    );

    const clean = await vigil(lab, 'linux1', ['cleanup']);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /Cleaned up: /);
    const s2 = await status(lab, 'linux1');
    const g2 = s2.groups[0]!;
    assert.equal(g2.failCount, 0);
    assert.equal(g2.lastFailure, undefined);
    assert.equal(g2.eligible, true);
    const bad = await vigil(lab, 'linux1', ['cleanup', 'nosuchgroup']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no resource group \[nosuchgroup\]/);
    passed = true;
  } finally {
    await teardown(t, pfx, lab, passed);
  }
});

/** Minimal RFC 2047 / base64 decoding of what Vigil's SMTP client writes. */
function decodeMail(raw: string): { subject: string; body: string; headers: string } {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const subj = /^Subject: (.*)$/m.exec(unfolded)?.[1] ?? '';
  const subject = subj
    .replace(/\?= =\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([^?]*)\?=/g, (_m, b: string) => Buffer.from(b, 'base64').toString('utf8'));
  const b = rest.join('\n\n');
  const body = /Content-Transfer-Encoding: base64/i.test(head)
    ? Buffer.from(b.replace(/\s+/g, ''), 'base64').toString('utf8')
    : b;
  return { subject, body, headers: head };
}

test('MailTo from the daemon: takeover and release mails in French reach a real SMTP server', async (t) => {
  if (!needRoot(t)) return;
  const check = await runCmd(PY, ['-c', 'import aiosmtpd']);
  if (check.code !== 0) {
    t.skip('needs python3 aiosmtpd (apt install python3-aiosmtpd)');
    return;
  }
  const pfx = prefix('ml');
  let lab: Lab | undefined;
  let passed = false;
  let smtp: ChildProcess | undefined;
  const maildir = await mkdtemp(join(tmpdir(), 'vop-mail-'));
  try {
    for (const d of ['cur', 'new', 'tmp']) await mkdir(join(maildir, d));
    ({ lab } = await bringUp(pfx, {
      hacf: ['vigil_mail_relay 127.0.0.1:2525', 'vigil_mail_lang fr'],
      haresources: `linux1 ${GROUP} MailTo::ops@example.com::Grappe-web\n`,
      start: [],
    }));
    // The SMTP server lives in linux1's namespace: the daemon's 127.0.0.1 is that namespace's loopback.
    smtp = lab.spawn('linux1', PY, [
      '-m',
      'aiosmtpd',
      '-n',
      '-l',
      '127.0.0.1:2525',
      '-c',
      'aiosmtpd.handlers.Mailbox',
      maildir,
    ]);
    await waitFor('the SMTP server to listen', 20_000, async () => {
      const r = await lab!.exec('linux1', PY, [
        '-c',
        "import socket; socket.create_connection(('127.0.0.1', 2525), 1)",
      ]);
      return r.code === 0 ? true : undefined;
    });
    const driver = new VigilDriver();
    await driver.start(lab, 'linux1');
    // Alone, linux1 waits initdead (4 s) for linux2, then takes its group: the takeover mail.
    const mails = async (): Promise<string[]> => (await readdir(join(maildir, 'new'))).sort();
    await waitFor('the takeover mail', 30_000, async () => ((await mails()).length >= 1 ? true : undefined), 200);
    const first = decodeMail(await readFile(join(maildir, 'new', (await mails())[0]!), 'utf8'));
    assert.match(first.subject, /^Grappe-web : reprise en cours le .* sur linux1$/);
    assert.match(first.body, /Groupe de ressources : IPaddr::192\.168\.1\.50\/24\/eth1/);
    assert.match(first.body, /Nœud : linux1/);
    assert.match(first.body, /Action : reprise \(démarrage\)/);
    assert.match(first.headers, /^To: ops@example\.com$/m);
    assert.match(first.headers, /^From: root@linux1$/m);
    await waitLog(lab, 'linux1', /MailTo: start notice for .* accepted for ops@example\.com/, 5000);
    // A graceful stop releases the group: the release mail.
    await driver.stop(lab, 'linux1');
    await waitFor('the release mail', 20_000, async () => ((await mails()).length >= 2 ? true : undefined), 200);
    const all = await Promise.all(
      (await mails()).map(async (f) => decodeMail(await readFile(join(maildir, 'new', f), 'utf8'))),
    );
    const release = all.find((m) => m.subject.includes('ressources déplacées'));
    assert.ok(release !== undefined, JSON.stringify(all.map((m) => m.subject)));
    assert.match(release.subject, /^Grappe-web : ressources déplacées le .* depuis linux1$/);
    assert.match(release.body, /Action : libération \(arrêt\)/);
    passed = true;
  } finally {
    if (smtp?.pid !== undefined) smtp.kill('SIGTERM');
    await teardown(t, pfx, lab, passed);
    await rm(maildir, { recursive: true, force: true });
  }
});
