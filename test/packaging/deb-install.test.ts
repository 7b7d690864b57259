/**
 * The Debian package on a Debian 12 root made from Debian's own packages (scripts/debian-root.sh, cached in
 * /var/cache/vigil-ci): installed with apt over Debian's heartbeat and beside Debian's nodejs 18, run, checked with
 * the tutorial files, its man page read, its unit verified by systemd-analyze, then heartbeat purged, nodejs
 * removed and Vigil purged. The root is never changed: each step mounts an overlay of it (its changes kept in a
 * temporary directory), inside fresh mount, PID and network namespaces, so nothing started there can reach the
 * machine's network or outlive the step. Needs `npm run package` first (CI runs it); skipped without it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCmd, type RunResult } from '../../lab/exec.js';
import { isRoot } from '../lab/helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function builtDeb(): Promise<string | undefined> {
  const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
  const files = await readdir(join(REPO, 'build')).catch(() => [] as string[]);
  const name = files.find((f) => f.startsWith(`vigil_${pkg.version.replace(/-/g, '~')}_`) && f.endsWith('.deb'));
  return name === undefined ? undefined : join(REPO, 'build', name);
}

/** Runs `script` (sh) chrooted in an overlay of `lower` whose changes go to `state`. */
function inRoot(lower: string, state: string, script: string, timeoutMs = 300_000): Promise<RunResult> {
  const outer = `set -e
mkdir -p ${state}/upper ${state}/work ${state}/merged
mount -t overlay overlay -o lowerdir=${lower},upperdir=${state}/upper,workdir=${state}/work ${state}/merged
R=${state}/merged
mount -t proc proc $R/proc
mount --rbind /dev $R/dev
mount -t tmpfs tmpfs $R/run
mount --bind ${state}/files $R/mnt
ip link set lo up
exec chroot $R /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 /bin/sh -c "$1"`;
  return runCmd(
    'unshare',
    ['--mount', '--net', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', outer, 'sh', script],
    { timeoutMs },
  );
}

function ok(r: RunResult, what: string): string {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test(
  'the .deb on Debian 12: apt install over heartbeat, run, check, man, systemd-analyze, purge',
  { timeout: 1_800_000 },
  async (t) => {
    if (!isRoot) {
      t.skip('needs root (chroot, overlay mounts, namespaces)');
      return;
    }
    const deb = await builtDeb();
    if (deb === undefined) {
      t.skip('no build/vigil_<version>_<arch>.deb: run `npm run package` first');
      return;
    }
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const rootr = await runCmd('bash', [join(REPO, 'scripts/debian-root.sh')], { timeoutMs: 1_500_000 });
    assert.equal(rootr.code, 0, `scripts/debian-root.sh: ${rootr.stderr}`);
    const lower = rootr.stdout.trim();

    const state = await mkdtemp(join(tmpdir(), 'vigil-deb-'));
    t.after(() => rm(state, { recursive: true, force: true }));
    await mkdir(join(state, 'files'));
    await copyFile(deb, join(state, 'files', 'vigil.deb'));
    for (const f of ['ha.cf', 'authkeys', 'haresources'])
      await copyFile(join(REPO, 'examples/tutorial', f), join(state, 'files', f));
    const run = (script: string, timeoutMs?: number): Promise<RunResult> => inRoot(lower, state, script, timeoutMs);

    // The server as found: Debian's heartbeat and nodejs 18 installed.
    const before = ok(
      await run(`dpkg-query -W -f '\${Package} \${db:Status-Status}\\n' heartbeat nodejs; node --version`),
      'the root',
    );
    assert.match(before, /heartbeat installed/);
    assert.match(before, /nodejs installed/);
    assert.match(before, /^v18\./m);

    // apt installs it from the file, removing heartbeat (Conflicts), with what the root has: no network here.
    const t0 = Date.now();
    const inst = ok(
      await run('apt-get install -y --no-install-recommends -o Dpkg::Use-Pty=0 /mnt/vigil.deb 2>&1'),
      'apt-get install',
    );
    const installMs = Date.now() - t0;
    assert.match(inst, /The following packages will be REMOVED:\s+heartbeat/);
    // In a chroot invoke-rc.d starts nothing; run the init script as a booting system would. Not configured yet (no
    // /etc/ha.d/ha.cf): it says so, starts nothing and succeeds.
    const init = await run('/etc/init.d/vigil start 2>&1; echo "rc=$?"');
    assert.match(init.stdout, /ha\.cf does not exist, not starting[\s\S]*rc=0$/m, init.stdout);

    const after = ok(
      await run(`dpkg-query -W -f '\${Package} \${db:Status-Status}\\n' heartbeat vigil
dpkg -S /usr/bin/cl_status /usr/lib/heartbeat/heartbeat /usr/share/heartbeat/hb_standby
vigil --version
/usr/lib/vigil/node/bin/node -e "await import('/usr/lib/vigil/app/dist/src/daemon/main.js'); await import('/usr/lib/vigil/app/dist/src/os/libc.js'); console.log('daemon modules load')" --input-type=module
node --version
/usr/lib/vigil/node/bin/node --version
ls /etc/ha.d`),
      'after install',
    );
    assert.match(after, /heartbeat config-files/, 'heartbeat removed, its configuration kept');
    assert.match(after, /vigil installed/);
    assert.match(after, /^vigil: \/usr\/bin\/cl_status$/m);
    assert.match(after, /^vigil: \/usr\/lib\/heartbeat\/heartbeat$/m);
    assert.match(after, new RegExp(`^${pkg.version.replace(/\./g, '\\.')}$`, 'm'), 'vigil --version');
    assert.match(after, /^daemon modules load$/m, 'every module of the daemon, koffi with its native part, loads');
    assert.match(after, /^v18\./m, "Debian's node untouched");
    assert.match(after, /^v24\./m, "Vigil's own runtime");
    assert.match(after, /^ha\.cf\.sample$/m);

    // Man pages, the unit, the Heartbeat-compatible entry, completion.
    const man = ok(
      await run('man -P cat vigil 2>/dev/null | head -5; man -w cl_status hb_standby hb_takeover vigil-ha.cf'),
      'man',
    );
    assert.match(man, /vigil\s+-\s+high-availability\s+failover\s+daemon/);
    assert.match(man, /\/usr\/share\/man\/man1\/cl_status\.1\.gz/);
    assert.match(man, /\/usr\/share\/man\/man5\/vigil-ha\.cf\.5\.gz/);
    const verify = await run('systemd-analyze verify /lib/systemd/system/vigil.service 2>&1; echo "rc=$?"');
    assert.match(verify.stdout, /rc=0$/m, verify.stdout);
    assert.doesNotMatch(verify.stdout, /vigil\.service:/, verify.stdout);
    const compat = await run(
      '/usr/lib/heartbeat/heartbeat -s; echo "rc=$?"; /usr/share/heartbeat/hb_standby; echo "rc=$?"',
    );
    assert.match(compat.stdout, /^heartbeat is stopped\. No process\nrc=3$/m);
    assert.match(compat.stdout + compat.stderr, /Heartbeat is not running on this machine/);
    const compl = ok(
      await run(
        `bash -c '. /usr/share/bash-completion/completions/vigil; COMP_WORDS=(vigil st); COMP_CWORD=1; _vigil; echo "\${COMPREPLY[*]}"'`,
      ),
      'completion',
    );
    assert.equal(compl.trim(), 'start stop status standby');

    // The admin's configuration (the tutorial, with resources Heartbeat reached through its resource.d wrappers).
    // With heartbeat purged, those wrappers are gone; Vigil finds the same agents by their OCF names.
    const check = await run(`dpkg --purge heartbeat >/dev/null
cp /mnt/ha.cf /mnt/authkeys /etc/ha.d/ && chmod 600 /etc/ha.d/authkeys
echo 'linux1 192.168.1.50 Filesystem::/dev/sdb1::/data::ext4 apache nginx MailTo::ops@example.com' > /etc/ha.d/haresources
ls /etc/ha.d/resource.d | wc -l
vigil check --node linux1; echo "rc=$?"`);
    assert.match(check.stdout, /^0$/m, 'no resource.d wrappers left');
    assert.match(check.stdout, /rc=0$/m, check.stdout + check.stderr);
    assert.doesNotMatch(check.stdout + check.stderr, /Cannot locate resource script/);

    // Debian's nodejs gone too: Vigil never needed it.
    ok(
      await run(
        'dpkg --purge nodejs >/dev/null 2>&1 || dpkg --remove nodejs >/dev/null; ! command -v node; vigil --version',
      ),
      'without nodejs',
    );

    // Purge: the admin's /etc/ha.d stays; everything Vigil installed goes.
    const purge = ok(
      await run(`dpkg --purge vigil >/dev/null
ls /etc/ha.d
for f in /usr/sbin/vigil /usr/bin/cl_status /lib/systemd/system/vigil.service /etc/ha.d/ha.cf.sample /usr/lib/vigil; do [ -e $f ] && echo "left: $f"; done; true`),
      'purge',
    );
    assert.match(purge, /^authkeys$/m);
    assert.match(purge, /^ha\.cf$/m);
    assert.match(purge, /^haresources$/m);
    assert.doesNotMatch(purge, /left:/);
    t.diagnostic(`apt-get install of the .deb: ${installMs} ms (package ${deb})`);
  },
);
