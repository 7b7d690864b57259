/**
 * The Debian package "installed" in one lab host: the lab's hosts share the machine's root filesystem, so the
 * .deb's files are laid over the host's own view instead, inside its mount namespace only:
 *   - /usr: an overlay of the unpacked package over the machine's /usr, with Debian's heartbeat daemon hidden as
 *     `apt install ./vigil.deb` removes it (Conflicts). /usr/sbin/vigil, /usr/bin/cl_status, hb_standby,
 *     hb_takeover, /usr/lib/heartbeat/heartbeat and /usr/share/heartbeat/hb_standby are then the package's, running
 *     on its own Node.js in /usr/lib/vigil/node;
 *   - /etc/init.d: the host's copy of the machine's scripts, with the package's `vigil` and without `heartbeat`;
 *   - /etc/ha.d/ha.cf.sample, as the package ships it (the host's /etc/ha.d is its own already).
 * Nothing outside the host changes. Unpack once per run with unpackDeb(); the directory must be outside /run (each
 * host has its own /run) — under the machine's /tmp, for instance.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { VigilError } from '../src/util/errors.js';
import { mustRun } from './exec.js';
import type { Lab } from './topology.js';

/** Where in the host its private /etc/init.d lives (the host's own /var/lib/heartbeat). */
const HOST_INITD = '/var/lib/heartbeat/pkg-init.d';

/** dpkg-deb -x the package into `dir`, with the whiteouts that hide Debian's heartbeat beside it. */
export async function unpackDeb(deb: string, dir: string): Promise<void> {
  if (dir.startsWith('/run/'))
    throw new VigilError('VIGIL_ERR_LAB', `${dir}: a lab host cannot see the machine's /run`);
  await mustRun('dpkg-deb', ['-x', deb, dir]);
  // An overlay whiteout is a 0/0 character device: what removing Debian's heartbeat takes from /usr.
  const gone = `${dir}.heartbeat-removed`;
  await mkdir(`${gone}/usr/libexec`, { recursive: true });
  await mkdir(`${gone}/usr/bin`, { recursive: true });
  for (const p of ['usr/libexec/heartbeat', 'usr/bin/cl_respawn']) {
    const exists = await stat(`${gone}/${p}`).then(
      () => true,
      () => false,
    );
    if (!exists) await mustRun('mknod', [`${gone}/${p}`, 'c', '0', '0']);
  }
}

/** The package's files over `host`'s view (see the top of this file). */
export async function installPackage(lab: Lab, host: string, dir: string): Promise<void> {
  const initd = lab.hostPath(host, HOST_INITD);
  await mustRun('rm', ['-rf', initd]);
  await mustRun('cp', ['-a', '/etc/init.d', initd]);
  await mustRun('rm', ['-f', `${initd}/heartbeat`]);
  await copyFile(`${dir}/etc/init.d/vigil`, `${initd}/vigil`);
  await copyFile(`${dir}/etc/ha.d/ha.cf.sample`, lab.hostPath(host, '/etc/ha.d/ha.cf.sample'));
  const lower = `${dir}/usr:${dir}.heartbeat-removed/usr:/usr`;
  const r = await lab.sh(
    host,
    `mount -t overlay vigil-usr -o ro,lowerdir=${lower} /usr && mount --bind ${HOST_INITD} /etc/init.d`,
  );
  if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `installing the package on ${host}: ${r.stderr.trim()}`);
}

/** Back to the machine's files (Heartbeat's among them). */
export async function removePackage(lab: Lab, host: string): Promise<void> {
  // /usr lazily, as dpkg replaces files under running programs: what still has a file open keeps it.
  const r = await lab.sh(host, 'umount /etc/init.d && umount -l /usr');
  if (r.code !== 0) throw new VigilError('VIGIL_ERR_LAB', `removing the package from ${host}: ${r.stderr.trim()}`);
}
