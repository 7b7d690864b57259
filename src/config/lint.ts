import { analyzeAuthkeys } from './authkeys.js';
import { analyzeHaresources, heartbeatSplit } from './haresources.js';
import type { AuthKeys, CompiledConfig, Resource, ResourceGroup } from './types.js';
import { VIGIL_DIRECTIVES, autoVipLeaseSec } from './vigil-directives.js';
import { type ConfigWarning, warning } from './warnings.js';
import { ipv4InSubnet } from './values.js';
import {
  addressFamily,
  expandedIPv6,
  ipv6InSubnet,
  ipv6Network,
  isLikelyHostIPv6,
  isLinkLocalIPv6,
  parseIPv6,
} from '../util/inet.js';

/** An interface of this host as `ip -json addr show` reports it (src/os/interfaces.ts). */
export interface HostInterface {
  readonly name: string;
  readonly up: boolean;
  readonly ipv4: readonly { readonly address: string; readonly prefixlen: number }[];
  /** Undefined = not known (IPv6 lints skipped); empty = IPv6 is off on the interface (not even a link-local). */
  readonly ipv6?: readonly { readonly address: string; readonly prefixlen: number; readonly scope: string }[];
}

/** What the lints know about this host and its peers; every part is optional (a missing part skips its lints). */
export interface LintContext {
  readonly interfaces?: readonly HostInterface[] | undefined;
  /** The name this host has without --node (nodeinfo or uname -n), and where it came from. */
  readonly hostName?: { readonly name: string; readonly source: string } | undefined;
  /** A peer's copies of the files (from --compare DIR); a file that is absent there is undefined. */
  readonly peer?:
    | {
        readonly dir: string;
        readonly authkeys: { readonly file: string; readonly text: string } | undefined;
        readonly haresources: { readonly file: string; readonly text: string } | undefined;
      }
    | undefined;
  /**
   * respawn/failfast checks on this host, keyed by the client's argv[0] and user:
   * `userExists` undefined = could not tell.
   */
  readonly respawn?:
    ReadonlyMap<string, { readonly userExists: boolean | undefined; readonly executable: boolean }> | undefined;
  /** Resource script lookup: type → path found, or undefined when no executable script exists. */
  readonly scripts?: ReadonlyMap<string, string | undefined> | undefined;
}

/** Ratio below which deadtime leaves too few missed heartbeats before a peer is declared dead. */
export const MIN_DEADTIME_KEEPALIVE_RATIO = 4;

/** Everything Heartbeat lets through but admins get wrong. Pure: the host facts come in `ctx`. */
export function lintConfig(config: CompiledConfig, ctx: LintContext = {}): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const h = config.hacf;
  const hacfFile = Object.values(h.origins)[0]?.file ?? `${config.configDir}/ha.cf`;
  const at = (directive: string): { file: string; line?: number } => {
    const o = h.origins[directive];
    return o === undefined ? { file: hacfFile } : { file: o.file, line: o.line };
  };

  // Timings.
  if (h.warntimeMs >= h.deadtimeMs) {
    out.push(
      warning(
        'VIGIL_WARN_TIMING',
        `warntime (${h.warntimeMs} ms) is not below deadtime (${h.deadtimeMs} ms): no "Late heartbeat" warning ever comes before a node is declared dead`,
        at('warntime'),
        'set warntime to about half of deadtime',
      ),
    );
  } else if (h.warntimeMs <= h.keepaliveMs) {
    out.push(
      warning(
        'VIGIL_WARN_TIMING',
        `warntime (${h.warntimeMs} ms) is not above keepalive (${h.keepaliveMs} ms): every heartbeat would be "late"`,
        at('warntime'),
        'set warntime to several keepalive intervals',
      ),
    );
  }
  if (h.deadtimeMs < MIN_DEADTIME_KEEPALIVE_RATIO * h.keepaliveMs) {
    out.push(
      warning(
        'VIGIL_WARN_TIMING',
        `deadtime (${h.deadtimeMs} ms) is less than ${MIN_DEADTIME_KEEPALIVE_RATIO}×keepalive (${h.keepaliveMs} ms): two or three lost packets make a live peer "dead" and both nodes take the resources`,
        at('deadtime'),
        `keep deadtime at least ${MIN_DEADTIME_KEEPALIVE_RATIO}× keepalive (Heartbeat's defaults: keepalive 1, deadtime 30)`,
      ),
    );
  }

  // Interfaces named by media and by IP resources.
  const ifaces = ctx.interfaces;
  if (ifaces !== undefined) {
    const byName = new Map(ifaces.map((i) => [i.name, i]));
    for (const m of h.media) {
      if (m.kind === 'serial') continue;
      const iface = byName.get(m.dev);
      const where = { file: m.origin.file, line: m.origin.line };
      if (iface !== undefined && (m.kind === 'ucast6' || m.kind === 'mcast6') && iface.ipv6?.length === 0) {
        out.push(ipv6Off(m.dev, `${m.kind} cannot carry heartbeats`, where));
      }
      if (iface === undefined) {
        out.push(
          warning(
            'VIGIL_WARN_INTERFACE',
            `interface ${m.dev} (${m.kind}) is absent on this host`,
            where,
            `this host has ${ifaces.map((i) => i.name).join(', ') || 'no interfaces'}; interface names must match on each node (or use per-node ha.cf)`,
          ),
        );
      } else if (!iface.up) {
        out.push(
          warning('VIGIL_WARN_INTERFACE', `interface ${m.dev} (${m.kind}) is down`, where, `ip link set ${m.dev} up`),
        );
      }
    }
    for (const g of config.groups) {
      for (const r of g.resources) {
        if (r.ip === undefined) continue;
        const where = { file: g.origin.file, line: g.origin.line };
        const ip = r.ip;
        if (ip.nic !== undefined && !byName.has(ip.nic)) {
          out.push(
            warning(
              'VIGIL_WARN_INTERFACE',
              `interface ${ip.nic} of ${r.spec} is absent on this host`,
              where,
              'name an interface this host has, or leave the NIC out to let the agent find it',
            ),
          );
          continue;
        }
        const candidates = ifaces.filter((i) => i.name !== 'lo' && (ip.nic === undefined || i.name === ip.nic));
        if (addressFamily(ip.address) === 6) {
          out.push(...lintIPv6Vip(r, candidates, where));
          continue;
        }
        const inSubnet = candidates.some((i) =>
          i.ipv4.some((a) => a.address !== ip.address && ipv4InSubnet(ip.address, a.address, a.prefixlen)),
        );
        if (!inSubnet) {
          out.push(
            warning(
              'VIGIL_WARN_VIP_SUBNET',
              `virtual IP ${ip.address} (${r.spec}) lies in no subnet of ${ip.nic === undefined ? 'any interface of this host' : `interface ${ip.nic}`}: the agent cannot pick an interface${ip.cidr === undefined ? ' or a netmask' : ''}`,
              where,
              ip.nic === undefined
                ? `give the interface and prefix explicitly (${r.type}::${ip.address}/24/eth0) or add an address in that subnet to the NIC`
                : `add an address in that subnet to ${ip.nic}`,
            ),
          );
        }
      }
    }
  }

  // haresources: `::` inside IPv6 addresses, read by Heartbeat and Vigil.
  for (const g of config.groups) {
    for (const r of g.resources) out.push(...lintSplit(r, { file: g.origin.file, line: g.origin.line }));
  }

  // Authentication.
  for (const k of config.authkeys.keys.values()) {
    const where = { file: k.origin.file, line: k.origin.line };
    const active = k.index === config.authkeys.active;
    if (k.method === 'crc') {
      out.push(
        active
          ? warning(
              'VIGIL_WARN_AUTH_WEAK',
              `key ${k.index} uses crc (the active key): an integrity check, not authentication; anyone on the network can forge heartbeats`,
              where,
              'use sha1 with a long random key (or sha256 when every node runs Vigil)',
            )
          : warning(
              'VIGIL_WARN_AUTH_WEAK',
              `key ${k.index} uses crc and is not the active key: Vigil ignores packets signed with it (anyone could forge them; Heartbeat would believe them)`,
              where,
              'remove the crc line; to roll keys, list the new sha1 key under another index on every node first',
            ),
      );
    } else if (k.method === 'sha256' || k.method === 'sha512') {
      out.push(
        warning(
          'VIGIL_WARN_AUTH_VIGIL_ONLY',
          `key ${k.index} uses ${k.method}, a Vigil-only method: Heartbeat peers cannot verify ${active ? 'this node’s packets' : 'packets signed with it'}`,
          where,
          'use sha1 while any node still runs Heartbeat',
        ),
      );
    }
  }

  // Node names.
  const host = ctx.hostName;
  if (host !== undefined && host.name.toLowerCase() !== h.localNode && !h.nodes.includes(host.name.toLowerCase())) {
    out.push(
      warning(
        'VIGIL_WARN_NODE_NAME',
        `this host is ${host.name.toLowerCase()} (${host.source}), which matches no node line; checked as ${h.localNode} only because of --node`,
        { file: hacfFile },
        'Heartbeat names a node by `uname -n` or /etc/ha.d/nodeinfo: make one of them match a node line',
      ),
    );
  }

  // Vigil-only directives.
  for (const name of Object.keys(VIGIL_DIRECTIVES)) {
    if (h.origins[name] !== undefined) {
      out.push(
        warning(
          'VIGIL_WARN_VIGIL_ONLY',
          `${name} is a Vigil-only directive: Heartbeat refuses to start with this ha.cf`,
          at(name),
          'fine when every node runs Vigil',
        ),
      );
    }
  }

  // No VIP lease: what it costs when the daemon dies without cleaning up.
  if (h.vigil.vipLease === 'off' && config.groups.some((g) => g.resources.some((r) => r.ip !== undefined))) {
    out.push(
      warning(
        'VIGIL_WARN_VIP_LEASE',
        `vigil_vip_lease off: a daemon killed (kill -9, OOM) or frozen while holding a VIP keeps it; once the peer takes ` +
          `over (deadtime ${h.deadtimeMs} ms later) two hosts hold the address and answer ARP for it, until the dead ` +
          `daemon is started again (it removes leftovers), the frozen one thaws and gives the group up, or someone ` +
          `deletes the address by hand`,
        at('vigil_vip_lease'),
        `use auto (${autoVipLeaseSec(h.deadtimeMs, h.keepaliveMs)} s here): the kernel drops a dead daemon's VIP before the peer takes over`,
      ),
    );
  }

  out.push(...lintGeo(config));

  // The HTTP server has no authentication: it belongs on localhost or a management network.
  const listen = h.vigil.httpListen;
  if (listen !== '' && /^(0\.0\.0\.0|\[::\]|\[::0\]):/.test(listen)) {
    out.push(
      warning(
        'VIGIL_WARN_HTTP_ANY',
        `vigil_http ${listen} listens on every address of this host: the status API, the event stream and the dashboard are read-only but unauthenticated, and show the cluster's layout to anyone who reaches the port`,
        at('vigil_http'),
        `bind it to 127.0.0.1 (a local Prometheus or an SSH tunnel) or to a management address: vigil_http 127.0.0.1:${listen.slice(listen.lastIndexOf(':') + 1)}`,
      ),
    );
  }

  // Resource scripts.
  if (ctx.scripts !== undefined) {
    const reported = new Set<string>();
    for (const g of config.groups) {
      for (const r of g.resources) {
        // The IP agents are built in: no script is run for them.
        if (r.ip !== undefined) continue;
        if (reported.has(r.type) || !ctx.scripts.has(r.type) || ctx.scripts.get(r.type) !== undefined) continue;
        reported.add(r.type);
        out.push(
          warning(
            'VIGIL_WARN_SCRIPT',
            `Cannot locate resource script ${r.type}`,
            { file: g.origin.file, line: g.origin.line },
            `put an executable ${r.type} in resource.d or /etc/init.d, install its OCF agent (resource-agents ships nginx, apache, Filesystem…), or name a unit: systemd:${r.type}`,
          ),
        );
      }
    }
  }

  // respawn/failfast clients: heartbeat refuses to start when the user is unknown or the command is not
  // executable ("Invalid uid [x] specified for client child", "Client child command [x] is not executable").
  if (ctx.respawn !== undefined) {
    for (const r of h.respawn) {
      const facts = ctx.respawn.get(respawnKey(r.user, r.argv[0] ?? ''));
      if (facts === undefined) continue;
      const where = { file: r.origin.file, line: r.origin.line };
      if (facts.userExists === false) {
        out.push(
          warning(
            'VIGIL_WARN_RESPAWN',
            `Invalid uid [${r.user}] specified for client child`,
            where,
            'heartbeat refuses to start on this host: create the user or fix the name',
          ),
        );
      }
      // Vigil has ipfail built in (the respawn line only turns it on): a host without Heartbeat has no binary.
      const builtIn = (r.argv[0] ?? '').endsWith('/ipfail') || r.argv[0] === 'ipfail';
      if (!facts.executable && !builtIn) {
        out.push(
          warning(
            'VIGIL_WARN_RESPAWN',
            `Client child command [${r.argv[0] ?? ''}] is not executable`,
            where,
            'heartbeat refuses to start on this host: install the program or fix the path',
          ),
        );
      }
    }
  }

  // The etcd quorum (docs/quorum.md).
  const v = h.vigil;
  if (v.quorum === 'etcd' && v.quorumEndpoints.length === 1) {
    out.push(
      warning(
        'VIGIL_WARN_QUORUM',
        `one etcd endpoint (${v.quorumEndpoints[0] ?? ''}): while it is down nothing is taken over` +
          (v.quorumLoss === 'release' ? ', and holders give their groups up' : ''),
        at('vigil_quorum_endpoints'),
        'a single witness is fine for a pair (docs/quorum.md); list every member of a 3- or 5-member etcd to survive losing one',
      ),
    );
  }
  if (ctx.peer !== undefined) out.push(...comparePeer(config, ctx.peer));
  return out;
}

/** A WAN reroute or a burst of loss shorter than this must not move a group to the other site. */
export const GEO_MIN_DEADTIME_MS = 2000;
/** Past this TTL, clients may keep a dead site's address for minutes. */
export const GEO_MAX_TTL = 300;

/** dnsupdate and bgp: what makes a cross-site move misfire (see the README's "Failover across sites"). */
function lintGeo(config: CompiledConfig): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const h = config.hacf;
  let geo = false;
  for (const g of config.groups) {
    const where = { file: g.origin.file, line: g.origin.line };
    for (const r of g.resources) {
      if (r.dns !== undefined) {
        geo = true;
        const named = Object.keys(r.dns.addresses);
        if (!named.includes('*')) {
          for (const n of h.nodes.filter((x) => !named.includes(x))) {
            out.push(
              warning(
                'VIGIL_WARN_GEO',
                `${r.dns.name}: node ${n} has no address in ${r.type}, so it cannot take group ${g.key} over (its start fails)`,
                where,
                `add ${n}=<its site's address>`,
              ),
            );
          }
        }
        if (r.dns.ttl > GEO_MAX_TTL) {
          out.push(
            warning(
              'VIGIL_WARN_GEO',
              `${r.dns.name}: TTL ${r.dns.ttl} s: resolvers and clients may keep the old site's address that long after a failover`,
              where,
              'a TTL of 30-60 s; clients still see the old address for up to the TTL',
            ),
          );
        }
      }
      if (r.bgp !== undefined) {
        geo = true;
        const meds = new Set(Object.values(r.bgp.med));
        if (Object.keys(r.bgp.med).length >= 2 && meds.size === 1) {
          out.push(
            warning(
              'VIGIL_WARN_GEO',
              `${r.bgp.vip}: every node announces MED ${[...meds][0] ?? ''}: when both sites announce (a split brain) the router picks one by chance`,
              where,
              'give the preferred node the lowest MED',
            ),
          );
        }
      }
    }
  }
  if (geo && h.deadtimeMs < GEO_MIN_DEADTIME_MS) {
    out.push(
      warning(
        'VIGIL_WARN_GEO',
        `deadtime ${h.deadtimeMs} ms with a cross-site resource: a WAN reroute or a burst of loss that long makes each site declare the other dead, and both publish themselves (no witness breaks the tie)`,
        h.origins.deadtime === undefined
          ? { file: Object.values(h.origins)[0]?.file ?? 'ha.cf' }
          : { file: h.origins.deadtime.file, line: h.origins.deadtime.line },
        `keep deadtime at least ${GEO_MIN_DEADTIME_MS} ms across a WAN, with vigil_detector deadtime`,
      ),
    );
  }
  if (geo && h.vigil.detector === 'adaptive') {
    out.push(
      warning(
        'VIGIL_WARN_GEO',
        'vigil_detector adaptive with a cross-site resource: it declares a peer dead after 3 missed heartbeats on a steady link, shorter than a WAN reroute',
        h.origins.vigil_detector === undefined
          ? { file: Object.values(h.origins)[0]?.file ?? 'ha.cf' }
          : { file: h.origins.vigil_detector.file, line: h.origins.vigil_detector.line },
        'use vigil_detector deadtime across a WAN',
      ),
    );
  }
  return out;
}

type Where = { file: string; line?: number };

function ipv6Off(dev: string, what: string, where: Where): ConfigWarning {
  return warning(
    'VIGIL_WARN_IPV6',
    `interface ${dev} has no IPv6 address, not even a link-local one: IPv6 is off there and ${what}`,
    where,
    `sysctl -w net.ipv6.conf.${dev}.disable_ipv6=0 (and in /etc/sysctl.d to keep it)`,
  );
}

/** An IPv6 VIP against the interfaces that could hold it: IPv6 on, a subnet holding it, the same prefix length. */
function lintIPv6Vip(r: Resource, candidates: readonly HostInterface[], where: Where): ConfigWarning[] {
  const ip = r.ip;
  if (ip === undefined) return [];
  const known = candidates.filter((i) => i.ipv6 !== undefined);
  if (known.length === 0) return [];
  const on = known.filter((i) => (i.ipv6 ?? []).length > 0);
  if (on.length === 0) {
    return [
      ipv6Off(
        ip.nic ?? known.map((i) => i.name).join(', '),
        `the virtual IP ${ip.address} (${r.spec}) cannot be added`,
        where,
      ),
    ];
  }
  if (isLinkLocalIPv6(ip.address)) {
    return ip.cidr !== undefined && ip.cidr !== 64
      ? [
          warning(
            'VIGIL_WARN_IPV6',
            `link-local virtual IP ${ip.address}/${ip.cidr} (${r.spec}): link-local addresses live in fe80::/64`,
            where,
            `write ${ip.address}/64/${ip.nic ?? 'eth1'}`,
          ),
        ]
      : [];
  }
  let best: { dev: string; address: string; prefixlen: number } | undefined;
  for (const i of on) {
    for (const a of i.ipv6 ?? []) {
      // A link-local or a /128 (another VIP, a loopback-style address) says nothing about the subnet.
      if (a.scope === 'link' || a.prefixlen >= 128 || a.address === ip.address) continue;
      if (!ipv6InSubnet(ip.address, a.address, a.prefixlen)) continue;
      if (best === undefined || a.prefixlen > best.prefixlen) best = { dev: i.name, ...a };
    }
  }
  if (best === undefined) {
    return [
      warning(
        'VIGIL_WARN_VIP_SUBNET',
        `virtual IP ${ip.address} (${r.spec}) lies in no IPv6 subnet of ${ip.nic === undefined ? 'any interface of this host' : `interface ${ip.nic}`}: the agent cannot pick an interface${ip.cidr === undefined ? ' or a prefix length' : ''}, and clients on the link have no route to it`,
        where,
        ip.nic === undefined
          ? `give the interface and prefix explicitly (${r.type}::${ip.address}/64/eth1) or add an address in that subnet to the NIC`
          : `add an address in that subnet to ${ip.nic} (the node's own, e.g. ${ipv6Network(ip.address, 64) ?? ''}1/64)`,
      ),
    ];
  }
  if (ip.cidr !== undefined && ip.cidr !== best.prefixlen && ip.cidr !== 128) {
    const net = `${ipv6Network(best.address, best.prefixlen) ?? best.address}/${best.prefixlen}`;
    return [
      warning(
        'VIGIL_WARN_IPV6',
        `virtual IP ${ip.address}/${ip.cidr} (${r.spec}) lies in ${net} on ${best.dev} but has another prefix length: ` +
          `its own prefix route (${ipv6Network(ip.address, ip.cidr) ?? ''}/${ip.cidr}) ${ip.cidr < best.prefixlen ? 'claims more of the network than the link holds' : 'leaves the rest of the link unreachable from it'} while it is held`,
        where,
        `use /${best.prefixlen} (the link's prefix), or /128 for an address with no route of its own`,
      ),
    ];
  }
  return [];
}

/**
 * `::` in haresources. Heartbeat's ResourceManager splits a resource's arguments at every `::`, which cuts a
 * compressed IPv6 address in two. For the IP agents Vigil reads the whole address (see parseResource), so the two
 * daemons read the same line differently; for a script both pass it the pieces, which is rarely what was meant.
 */
function lintSplit(r: Resource, where: Where): ConfigWarning[] {
  const hb = heartbeatSplit(r.spec);
  if (r.ip !== undefined) {
    const out: ConfigWarning[] = [];
    const written = r.args[0] ?? '';
    if (r.args.length === 1 && hb.args.join(' ') !== written) {
      const addressText = written.split('/')[0] ?? '';
      const portable = `${expandedIPv6(addressText) ?? addressText}${written.slice(addressText.length)}`;
      out.push(
        warning(
          'VIGIL_WARN_RSC_SPLIT',
          `${r.spec}: Vigil reads one IPv6 address (${r.ip.address}${r.ip.cidr === undefined ? '' : `/${r.ip.cidr}`}${r.ip.nic === undefined ? '' : ` on ${r.ip.nic}`}); Heartbeat splits arguments at every "::" and would run ${r.type} with ${hb.args.map((a) => `[${a}]`).join(' ')}`,
          where,
          `fine when every node runs Vigil; in a cluster with Heartbeat nodes write ${r.type}::${portable}, which both read alike`,
        ),
      );
    }
    if (r.type === 'IPaddr' && addressFamily(r.ip.address) === 6) {
      out.push(
        warning(
          'VIGIL_WARN_RSC_HEARTBEAT',
          `${r.spec}: Vigil's IPaddr takes IPv6 addresses, Heartbeat's (resource-agents' IPaddr) is IPv4-only: a Heartbeat node could not take this group`,
          where,
          'use IPaddr2 or IPv6addr, which Heartbeat runs with IPv6 addresses too',
        ),
      );
    }
    return out;
  }
  // A script: does a run of its arguments make an IPv6 address cut at `::`?
  const a = hb.args;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const joined = a.slice(i, j + 1).join('::');
      const addressText = joined.split('/')[0] ?? '';
      if (parseIPv6(addressText) === undefined || !isLikelyHostIPv6(addressText)) continue;
      return [
        warning(
          'VIGIL_WARN_RSC_SPLIT',
          `${r.spec}: the arguments ${a
            .slice(i, j + 1)
            .map((x) => `[${x}]`)
            .join(
              ' ',
            )} look like the IPv6 address ${addressText} cut at "::": Heartbeat and Vigil both pass ${r.type} ${j - i + 1} separate arguments there`,
          where,
          `write the address without "::" (${expandedIPv6(addressText) ?? addressText}), which no one splits`,
        ),
      ];
    }
  }
  return [];
}

/** Key of LintContext.respawn. */
export function respawnKey(user: string, command: string): string {
  return `${user}\0${command}`;
}

function describeGroup(g: ResourceGroup): string {
  return `${g.node} ${g.resources.map((r) => r.spec).join(' ')}`;
}

function describeKeys(a: AuthKeys): string[] {
  const lines = [`auth ${a.active}`];
  for (const k of [...a.keys.values()].sort((x, y) => x.index - y.index)) lines.push(`${k.index} ${k.method} ${k.key}`);
  return lines;
}

function comparePeer(config: CompiledConfig, peer: NonNullable<LintContext['peer']>): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const ourRsc = config.groups[0]?.origin.file ?? `${config.configDir}/haresources`;
  if (peer.haresources === undefined) {
    out.push(warning('VIGIL_WARN_PEER_DIFFERS', `the peer copy has no haresources (${peer.dir})`, { file: ourRsc }));
  } else {
    const theirs = analyzeHaresources(peer.haresources.text, { file: peer.haresources.file, nodes: config.hacf.nodes });
    const first = theirs.errors[0];
    if (first !== undefined) {
      out.push(
        warning(
          'VIGIL_WARN_PEER_DIFFERS',
          `the peer's haresources is invalid here: ${first.format()}`,
          { file: ourRsc },
          'haresources must be identical on all nodes',
        ),
      );
    } else {
      const a = config.groups.map(describeGroup);
      const b = theirs.groups.map(describeGroup);
      const n = Math.max(a.length, b.length);
      for (let i = 0; i < n; i++) {
        if (a[i] === b[i]) continue;
        const ours = config.groups[i];
        const their = theirs.groups[i];
        out.push(
          warning(
            'VIGIL_WARN_PEER_DIFFERS',
            `haresources differs from the peer's copy: group ${i + 1} is [${a[i] ?? 'absent'}] here and [${b[i] ?? 'absent'}] in ${peer.haresources.file}${their === undefined ? '' : `:${their.origin.line}`}`,
            ours === undefined ? { file: ourRsc } : { file: ours.origin.file, line: ours.origin.line },
            'haresources must be identical on all nodes: copy one file everywhere',
          ),
        );
        break;
      }
    }
  }
  const ourAuth = [...config.authkeys.keys.values()][0]?.origin.file ?? `${config.configDir}/authkeys`;
  if (peer.authkeys === undefined) {
    out.push(warning('VIGIL_WARN_PEER_DIFFERS', `the peer copy has no authkeys (${peer.dir})`, { file: ourAuth }));
  } else {
    const theirs = analyzeAuthkeys(peer.authkeys.text, { file: peer.authkeys.file, mode: undefined });
    if (theirs.authkeys === undefined) {
      out.push(
        warning(
          'VIGIL_WARN_PEER_DIFFERS',
          `the peer's authkeys is invalid: ${theirs.errors[0]?.format() ?? 'no key selected'}`,
          { file: ourAuth },
        ),
      );
    } else {
      const a = describeKeys(config.authkeys);
      const b = describeKeys(theirs.authkeys);
      if (a.join('\n') !== b.join('\n')) {
        // Never print the keys themselves.
        const which =
          a[0] !== b[0] ? `the active key (auth ${config.authkeys.active} here, ${b[0] ?? ''} there)` : 'the key lines';
        out.push(
          warning(
            'VIGIL_WARN_PEER_DIFFERS',
            `authkeys differs from the peer's copy in ${which}: the nodes will drop each other's packets`,
            { file: ourAuth },
            'authkeys must be identical on all nodes (mode 600)',
          ),
        );
      }
    }
  }
  return out;
}
