/**
 * A real systemd service manager inside a lab host, for tests of `systemd:<unit>` resources. The machine's own
 * PID 1 is not systemd, so each host runs `systemd --user` as root with XDG_RUNTIME_DIR=/run: its private socket is
 * then /run/systemd/private, exactly where root's plain `systemctl` looks, and /run/systemd/user is one of its unit
 * directories. /run is the host's own (the lab bind-mounts it per host), so each host has its own manager and units.
 * Each manager starts in a cgroup of its own (name=systemd and the unified hierarchy), so two hosts' units never
 * share a cgroup, and a stop on one host never kills the other's processes.
 */
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../lab/exec.js';
import type { Lab } from '../../lab/topology.js';

const CGROUP_ROOTS = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'];

function cgroupName(lab: Lab, host: string): string {
  return `vigil-lab-${lab.prefix}-${host}`;
}

/** Starts the manager in `host` and waits until systemctl reaches it. */
export async function startServiceManager(lab: Lab, host: string): Promise<void> {
  const cg = cgroupName(lab, host);
  // The host mounts a sysfs of its own (for its interfaces), without the cgroup hierarchies: mount the machine's
  // name=systemd and unified hierarchies there again (the same hierarchies, so the root namespace sees them too).
  const joinCg = CGROUP_ROOTS.map((r) => `mkdir -p ${r}/${cg} && echo $$ > ${r}/${cg}/cgroup.procs`).join(' && ');
  const mountCg =
    'mountpoint -q /sys/fs/cgroup/unified || (mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup && ' +
    'mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified && ' +
    'mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd && ' +
    'mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified)';
  const r = await lab.sh(
    host,
    `(${mountCg}) && ` +
      `mkdir -p /run/systemd/system /run/systemd/user && ` +
      `${joinCg} && (exec env -i XDG_RUNTIME_DIR=/run PATH=/usr/sbin:/usr/bin:/sbin:/bin setsid /lib/systemd/systemd ` +
      `--user </dev/null >/var/log/systemd-user.log 2>&1 &)`,
  );
  if (r.code !== 0) throw new Error(`cannot start a service manager on ${host}: ${r.stderr}`);
  await waitFor(`systemd on ${host}`, 30_000, async () => {
    const s = await lab.exec(host, 'systemctl', ['show', '-p', 'Version', '--value']);
    return s.code === 0 && s.stdout.trim() !== '' ? true : undefined;
  });
}

/** Removes the managers' cgroups once the lab's processes are gone (cleanup() kills them by PID). */
export async function removeServiceManagerCgroups(lab: Lab): Promise<void> {
  for (const host of lab.nodes) {
    for (const root of CGROUP_ROOTS) {
      const top = join(root, cgroupName(lab, host));
      const dirs: string[] = [];
      const walk = async (d: string): Promise<void> => {
        dirs.push(d);
        for (const e of await readdir(d, { withFileTypes: true }).catch(() => []))
          if (e.isDirectory()) await walk(join(d, e.name));
      };
      await walk(top);
      for (const d of dirs.reverse()) await rmdir(d).catch(() => undefined);
    }
  }
}
