/**
 * Resources by their OCF name and systemd units as resources, with real services, in a two-node Vigil cluster:
 * `nginx::configfile=...` runs resource-agents' own OCF nginx agent (no nginx script in resource.d or init.d), and
 * `systemd:nginx` runs Debian's own nginx.service through a real systemd (see systemd-lab.ts). The client fetches
 * pages through the VIP; hb_standby moves the group and both services really stop on one node and start on the other.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { mustRun, waitFor } from '../../lab/exec.js';
import { cleanup, IFACE, Lab, VIP } from '../../lab/topology.js';
import { leftovers, needRoot } from './helpers.js';
import { killAll, logShows, logTails, missing, startVigil, vigil, vipHolders, writeCluster } from './rsc-lab.js';
import { removeServiceManagerCgroups, startServiceManager } from './systemd-lab.js';

const PREFIX = 'pkg';
const VIGIL_JS = fileURLToPath(new URL('../../../dist/src/cli/vigil.js', import.meta.url));
const NGINX_AGENT = '/usr/lib/ocf/resource.d/heartbeat/nginx';

function ocfNginxConf(): string {
  return `worker_processes 1;
pid /run/ocf-nginx/nginx.pid;
error_log /run/ocf-nginx/error.log;
events { worker_connections 64; }
http {
  access_log /run/ocf-nginx/access.log;
  server { listen 8081; root /run/ocf-nginx/www; }
}
`;
}

/** Is the nginx whose master pid is in `pidfile` (a host path) running on `host`? */
async function nginxRuns(lab: Lab, host: string, pidfile: string): Promise<boolean> {
  const r = await lab.sh(host, `kill -0 "$(cat ${pidfile} 2>/dev/null)" 2>/dev/null`);
  return r.code === 0;
}

async function unitState(lab: Lab, host: string): Promise<string> {
  return (await lab.exec(host, 'systemctl', ['is-active', 'nginx.service'])).stdout.trim();
}

async function servedBy(lab: Lab, host: string, timeoutMs: number): Promise<void> {
  let last = '';
  try {
    await waitFor(`both nginx on ${host} only, through the VIP`, timeoutMs, async () => {
      const where: string[] = [];
      for (const n of lab.nodes) {
        const ocf = await nginxRuns(lab, n, '/run/ocf-nginx/nginx.pid');
        const unit = await unitState(lab, n);
        where.push(`${n}: ocf ${ocf ? 'up' : 'down'}, unit ${unit}`);
        if ((n === host) !== (ocf && unit === 'active')) return undefined;
        if (n !== host && (ocf || unit === 'active')) return undefined;
      }
      last = where.join('; ');
      const vip = await vipHolders(lab);
      if (vip.length !== 1 || vip[0] !== host) return undefined;
      const page = await lab.exec('client', 'curl', ['-s', '-m', '3', `http://${VIP}:8081/`]);
      if (page.stdout.trim() !== `ocf nginx on ${host}`) return undefined;
      const unitPage = await lab.exec('client', 'curl', [
        '-s',
        '-m',
        '3',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `http://${VIP}/`,
      ]);
      return unitPage.stdout === '200' ? true : undefined;
    });
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)} (last: ${last})${await logTails(lab)}`, {
      cause: e,
    });
  }
}

test('OCF agents by name and systemd units as resources: real nginx started, moved and stopped', async (t) => {
  if (!needRoot(t)) return;
  const absent = await missing([NGINX_AGENT, '/usr/sbin/nginx', '/lib/systemd/systemd', '/usr/bin/curl']);
  if (absent !== undefined) {
    t.skip(`${absent} is missing (apt-get install resource-agents nginx-light systemd curl)`);
    return;
  }
  let lab: Lab | undefined;
  await cleanup(PREFIX);
  try {
    lab = await Lab.up({ prefix: PREFIX, nodes: 2 });
    for (const n of lab.nodes) {
      // The host's own /etc/init.d without nginx's init script: a bare `nginx` must reach the OCF agent.
      const inside = '/var/lib/heartbeat/pkg-init.d';
      await mustRun('cp', ['-a', '/etc/init.d', lab.hostPath(n, inside)]);
      await mustRun('rm', ['-f', lab.hostPath(n, `${inside}/nginx`)]);
      await mustRun('nsenter', [...lab.enterArgs(n), 'mount', '--bind', inside, '/etc/init.d']);
      await mkdir(lab.hostPath(n, '/run/ocf-nginx/www'), { recursive: true });
      await writeFile(lab.hostPath(n, '/run/ocf-nginx/nginx.conf'), ocfNginxConf());
      await writeFile(lab.hostPath(n, '/run/ocf-nginx/www/index.html'), `ocf nginx on ${n}\n`);
      await mkdir(lab.hostPath(n, '/var/log/nginx'), { recursive: true });
      await startServiceManager(lab, n);
      // Debian's own unit, as the package installs it.
      await writeFile(
        lab.hostPath(n, '/run/systemd/user/nginx.service'),
        await readFile('/lib/systemd/system/nginx.service'),
      );
      await lab.mustExec(n, 'systemctl', ['daemon-reload']);
    }
    await writeCluster(lab, {
      haresources: `linux1 IPaddr::${VIP}/24/${IFACE} nginx::configfile=/run/ocf-nginx/nginx.conf systemd:nginx\n`,
      autoFailback: true,
    });
    const check = await lab.exec('linux1', process.execPath, [VIGIL_JS, 'check']);
    assert.doesNotMatch(check.stdout + check.stderr, /Cannot locate resource script/, check.stdout + check.stderr);

    await Promise.all([startVigil(lab, 'linux1'), startVigil(lab, 'linux2')]);
    await servedBy(lab, 'linux1', 90_000);
    await logShows(lab, 'linux1', /Running \/usr\/lib\/ocf\/resource\.d\/heartbeat\/nginx start/, 5000);
    await logShows(lab, 'linux1', /Running systemctl start nginx\.service/, 5000);

    // hb_standby: both services stop on linux1 (the unit through systemctl stop) and start on linux2.
    await vigil.standby(lab, 'linux1');
    await servedBy(lab, 'linux2', 90_000);
    await logShows(lab, 'linux1', /Running systemctl stop nginx\.service/, 5000);
    const access = await readFile(lab.hostPath('linux2', '/var/log/nginx/access.log'), 'utf8');
    assert.match(access, /GET \/ HTTP/, "the unit's nginx on linux2 served the client");

    // auto_failback brings the group home after the standby; then a graceful stop leaves nothing running.
    await vigil.standby(lab, 'linux2');
    await servedBy(lab, 'linux1', 90_000);
    await vigil.stop(lab, 'linux1');
    await servedBy(lab, 'linux2', 90_000);
    await vigil.stop(lab, 'linux2');
    for (const n of lab.nodes) {
      assert.equal(await nginxRuns(lab, n, '/run/ocf-nginx/nginx.pid'), false, `ocf nginx left on ${n}`);
      assert.notEqual(await unitState(lab, n), 'active', `nginx.service left active on ${n}`);
    }
  } finally {
    if (lab !== undefined) await killAll(lab);
    await cleanup(PREFIX);
    if (lab !== undefined) await removeServiceManagerCgroups(lab);
  }
  assert.deepEqual(await leftovers(PREFIX), []);
});
