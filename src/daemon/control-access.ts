import { type AccessPolicy, describeReadRule, readAuthSpec } from '../control/access.js';
import type { ControlAccess } from '../control/server.js';
import type { HaCf } from '../config/types.js';
import { socketPeer } from '../os/peercred.js';
import { resolveIds } from '../os/users.js';

/**
 * The control socket's access policy from ha.cf's apiauth lines: reads for root and the users and groups of
 * `apiauth cl_status` (else `anon`, else Heartbeat's default group haclient), changes for root and the daemon's
 * own uid. Names are resolved once, here (NSS may be slow or remote: never on a request).
 */
export async function controlAccess(
  h: Pick<HaCf, 'apiauth'>,
  warn: (text: string) => void,
  euid = process.geteuid?.() ?? 0,
): Promise<ControlAccess> {
  const spec = readAuthSpec(h.apiauth);
  const [users, groups] = await Promise.all([resolveIds('user', spec.uids), resolveIds('group', spec.gids)]);
  for (const n of users.unknown) warn(`${spec.source}: no user ${n} on this host: it gets no status access`);
  for (const n of groups.unknown) warn(`${spec.source}: no group ${n} on this host: it gives no status access`);
  const policy: AccessPolicy = {
    adminUids: new Set([0, euid]),
    readUids: new Set(users.ids),
    readGids: new Set(groups.ids),
    readRule: describeReadRule(spec),
  };
  return { policy, peer: socketPeer };
}
