/**
 * ha.cf's whole-line directives (the rest of the line goes to one parser: ucast, mcast, ping_group, stonith,
 * apiauth, respawn...) and the media that take one device or address per token (bcast, serial, ping).
 */
import {
  type DirectiveSpec,
  type LineHandler,
  type OptionHandler,
  addMedium,
  addPing,
  validInterfaceName,
} from './hacf-builder.js';
import { isIPv4, isMulticastIPv4, parseInteger } from './values.js';
import { canonicalIPv6, ipv6Special, isLinkLocalIPv6, isMulticastIPv6, mcast6GroupProblem } from '../util/inet.js';

function list(apply: OptionHandler): DirectiveSpec {
  return { form: 'option', scalar: false, apply };
}

function line(apply: LineHandler): DirectiveSpec {
  return { form: 'line', apply };
}

// ------------------------------------------------------------------------------------------------ media

export const bcast: DirectiveSpec = list((b, v, bad, c) => {
  if (c.directive === 'udp')
    c.warn('VIGIL_WARN_HEARTBEAT', "WARNING: directive 'udp' replaced by 'bcast'", 'write bcast');
  if (!validInterfaceName(v)) {
    bad(`${c.directive}: invalid interface name [${v}]`);
    return;
  }
  addMedium(b, { kind: 'bcast', dev: v, port: b.udpport, origin: c.origin }, c.err);
});

export const ping: DirectiveSpec = list((b, v, bad, c) => {
  if (b.pingNodes.some((p) => p.name === v)) {
    c.warn('VIGIL_WARN_REPEATED', `ping node ${v} is listed twice`);
    return;
  }
  if (c.directive === 'ping6') {
    // Heartbeat's ping6 plugin takes numeric IPv6 only (inet_pton); the node keeps the name as written.
    const canonical = canonicalIPv6(v);
    if (canonical === undefined || isMulticastIPv6(canonical) || ipv6Special(canonical) === 'unspecified') {
      bad(`ping6: [${v}] is not a unicast IPv6 address`);
      return;
    }
    if (isLinkLocalIPv6(canonical)) {
      // A ping6 line names no interface, and a link-local address means nothing without one.
      bad(
        `ping6: [${v}] is link-local, which needs an interface a ping6 line cannot name: ping a global or ULA address`,
      );
      return;
    }
    addPing(b, { name: v, addresses: [canonical], group: false, origin: c.origin }, c.err);
    return;
  }
  if (!isIPv4(v)) {
    if (canonicalIPv6(v) !== undefined) {
      bad(`ping: [${v}] is an IPv6 address: write ping6 ${v}`);
      return;
    }
    c.warn('VIGIL_WARN_RESOLVE', `ping node [${v}] is a host name, resolved once at start`, 'use the IP address');
  }
  addPing(b, { name: v, addresses: [v], group: false, origin: c.origin }, c.err);
});

export const ucast: DirectiveSpec = line((b, toks, c) => {
  const [dev, peer, ...extra] = toks;
  if (dev === undefined) {
    c.err('VIGIL_ERR_CFG_VALUE', 'ucast: missing interface (ucast <dev> <peer-ip>)');
    return;
  }
  if (!validInterfaceName(dev.text)) {
    c.err('VIGIL_ERR_CFG_VALUE', `ucast: invalid interface name [${dev.text}]`, dev.column);
    return;
  }
  if (peer === undefined) {
    c.err('VIGIL_ERR_CFG_VALUE', `ucast: [${dev.text}] missing target IP address/hostname`);
    return;
  }
  if (extra.length > 0) {
    c.warn(
      'VIGIL_WARN_IGNORED',
      `ucast takes one peer; ${extra.map((t) => t.text).join(' ')} ignored, as Heartbeat does`,
      'write one ucast line per peer',
    );
  }
  if (!isIPv4(peer.text)) {
    c.warn(
      'VIGIL_WARN_RESOLVE',
      `ucast peer [${peer.text}] is a host name, resolved once at start`,
      'use the IP address: a DNS failure at boot would leave this link down',
    );
  }
  addMedium(b, { kind: 'ucast', dev: dev.text, peer: peer.text, port: b.udpport, origin: c.origin }, c.err);
});

export const mcast: DirectiveSpec = line((b, toks, c) => {
  const [dev, group, port, ttl, loop, ...extra] = toks;
  const { err } = c;
  if (dev === undefined) {
    err('VIGIL_ERR_CFG_VALUE', 'mcast: missing interface (mcast <dev> <group> <port> <ttl> <loop>)');
    return;
  }
  const name = dev.text;
  if (!validInterfaceName(name)) {
    err('VIGIL_ERR_CFG_VALUE', `mcast: invalid interface name [${name}]`, dev.column);
    return;
  }
  // Messages as the mcast plugin logs them [verified: "mcast [lo] bad ttl [5]", "mcast [lo] missing loop"].
  if (group === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing mcast address`);
    return;
  }
  if (!isMulticastIPv4(group.text)) {
    err(
      'VIGIL_ERR_CFG_VALUE',
      `mcast [${name}] bad addr [${group.text}] (a multicast group is 224.0.0.0–239.255.255.255)`,
      group.column,
    );
    return;
  }
  if (port === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing port`);
    return;
  }
  const portNum = parseInteger(port.text, 1, 65535);
  if (portNum === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] bad port [${port.text}]`, port.column);
    return;
  }
  if (ttl === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing ttl`);
    return;
  }
  const ttlNum = parseInteger(ttl.text, 0, 4);
  if (ttlNum === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] bad ttl [${ttl.text}] (0 to 4)`, ttl.column);
    return;
  }
  if (loop === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] missing loop`);
    return;
  }
  if (loop.text !== '0' && loop.text !== '1') {
    err('VIGIL_ERR_CFG_VALUE', `mcast [${name}] bad loop [${loop.text}] (0 or 1)`, loop.column);
    return;
  }
  if (extra.length > 0) c.warn('VIGIL_WARN_IGNORED', `mcast: extra fields ignored`, 'mcast takes 5 fields');
  addMedium(
    b,
    {
      kind: 'mcast',
      dev: name,
      group: group.text,
      port: portNum,
      ttl: ttlNum,
      loop: loop.text === '1',
      origin: c.origin,
    },
    err,
  );
});

/**
 * `ucast6 dev peer` (Heartbeat's ucast6 plugin; messages as it logs them). The peer may carry its zone (`fe80::2%eth1`),
 * which must then be the device; link-local peers are reached through the device anyway.
 */
export const ucast6: DirectiveSpec = line((b, toks, c) => {
  const [dev, peer, ...extra] = toks;
  if (dev === undefined) {
    c.err('VIGIL_ERR_CFG_VALUE', 'ucast6 statement without device (ucast6 <dev> <peer-ipv6>)');
    return;
  }
  if (!validInterfaceName(dev.text)) {
    c.err('VIGIL_ERR_CFG_VALUE', `ucast6 device [${dev.text}] is invalid`, dev.column);
    return;
  }
  if (peer === undefined) {
    c.err('VIGIL_ERR_CFG_VALUE', `ucast6 [${dev.text}] missing ucast6 address`);
    return;
  }
  const [addr = '', zone, ...zones] = peer.text.split('%');
  const canonical = canonicalIPv6(addr);
  const special = canonical === undefined ? undefined : ipv6Special(canonical);
  let why: string | undefined;
  if (canonical === undefined) why = 'not an IPv6 address (ucast takes IPv4)';
  else if (isMulticastIPv6(canonical)) why = 'a multicast address (use mcast6)';
  else if (special === 'unspecified' || special === 'loopback') why = `the ${special} address`;
  else if (zones.length > 0 || (zone !== undefined && zone !== dev.text))
    why = `its zone must be the device ${dev.text}`;
  if (canonical === undefined || why !== undefined) {
    c.err('VIGIL_ERR_CFG_VALUE', `ucast6 [${dev.text}] bad addr [${peer.text}]: ${why ?? ''}`, peer.column);
    return;
  }
  if (extra.length > 0) {
    c.warn(
      'VIGIL_WARN_IGNORED',
      `ucast6 takes one peer; ${extra.map((t) => t.text).join(' ')} ignored, as Heartbeat does`,
      'write one ucast6 line per peer',
    );
  }
  addMedium(b, { kind: 'ucast6', dev: dev.text, peer: canonical, port: b.udpport, origin: c.origin }, c.err);
});

/** `mcast6 dev group port hops loop` (Heartbeat's mcast6 plugin; its rules for the group, hops ≤ 4, loop 0/1). */
export const mcast6: DirectiveSpec = line((b, toks, c) => {
  const [dev, group, port, hops, loop, ...extra] = toks;
  const { err } = c;
  if (dev === undefined) {
    err('VIGIL_ERR_CFG_VALUE', 'mcast6 statement without device (mcast6 <dev> <group> <port> <hops> <loop>)');
    return;
  }
  const name = dev.text;
  if (!validInterfaceName(name)) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 device [${name}] is invalid`, dev.column);
    return;
  }
  if (group === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] missing mcast6 address`);
    return;
  }
  const problem = mcast6GroupProblem(group.text);
  if (problem !== undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] bad addr [${group.text}]: ${problem}`, group.column);
    return;
  }
  if (port === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] missing port`);
    return;
  }
  const portNum = parseInteger(port.text, 1, 65535);
  if (portNum === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] bad port [${port.text}] (a number, 1–65535)`, port.column);
    return;
  }
  if (hops === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] missing hops`);
    return;
  }
  const hopsNum = parseInteger(hops.text, 0, 4);
  if (hopsNum === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] bad hops [${hops.text}] (0 to 4)`, hops.column);
    return;
  }
  if (loop === undefined) {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] missing loop`);
    return;
  }
  if (loop.text !== '0' && loop.text !== '1') {
    err('VIGIL_ERR_CFG_VALUE', `mcast6 [${name}] bad loop [${loop.text}] (0 or 1)`, loop.column);
    return;
  }
  if (extra.length > 0) c.warn('VIGIL_WARN_IGNORED', 'mcast6: extra fields ignored', 'mcast6 takes 5 fields');
  addMedium(
    b,
    {
      kind: 'mcast6',
      dev: name,
      group: canonicalIPv6(group.text) ?? group.text,
      port: portNum,
      hops: hopsNum,
      loop: loop.text === '1',
      origin: c.origin,
    },
    err,
  );
});

/** A ping group member: IPv6 addresses in canonical text (what replies come from), the rest as written. */
function member(text: string): string {
  return canonicalIPv6(text) ?? text;
}

export const pingGroup: DirectiveSpec = line((b, toks, c) => {
  const [name, ...addrs] = toks;
  if (name === undefined || addrs.length === 0) {
    c.err('VIGIL_ERR_CFG_VALUE', 'ping_group needs a name and at least one address: ping_group <name> <ip>...');
    return;
  }
  const existing = b.pingNodes.findIndex((p) => p.name === name.text);
  const prior = b.pingNodes[existing];
  if (prior !== undefined) {
    c.warn(
      'VIGIL_WARN_REPEATED',
      `ping_group ${name.text} is defined again (line ${prior.origin.line}); addresses merged`,
      'list every address of a group on one line',
    );
    b.pingNodes[existing] = { ...prior, addresses: [...prior.addresses, ...addrs.map((t) => member(t.text))] };
    return;
  }
  if (addrs.some((t) => canonicalIPv6(t.text) !== undefined)) {
    c.warn(
      'VIGIL_WARN_RSC_HEARTBEAT',
      `ping_group ${name.text} has IPv6 members: Vigil probes them, Heartbeat's ping_group plugin is IPv4-only`,
      'fine when every node runs Vigil; with Heartbeat nodes use one ping6 line per IPv6 address',
    );
  }
  addPing(b, { name: name.text, addresses: addrs.map((t) => member(t.text)), group: true, origin: c.origin }, c.err);
});

// ------------------------------------------------------------------------------------------------ other whole-line

export const stonith: DirectiveSpec = line((b, toks, c) => {
  const [type, cfg] = toks;
  if (type === undefined || cfg === undefined) {
    c.err('VIGIL_ERR_CFG_VALUE', 'stonith needs a device type and its configuration file: stonith <type> <file>');
    return;
  }
  b.stonith = { directive: 'stonith', type: type.text, params: [cfg.text], host: undefined, origin: c.origin };
});

export const stonithHost: DirectiveSpec = line((b, toks, c) => {
  const [host, type, ...params] = toks;
  if (host === undefined) {
    c.err('VIGIL_ERR_CFG_VALUE', 'No Stonith hostname argument given');
    return;
  }
  if (type === undefined) {
    // [verified] heartbeat's message for `stonith_host *`.
    c.err('VIGIL_ERR_CFG_VALUE', 'No Stonith type given (stonith_host <host|*> <type> <params...>)');
    return;
  }
  const h = host.text.toLowerCase();
  if (h === '*' || c.localNode === undefined || h === c.localNode) {
    b.stonithHost = {
      directive: 'stonith_host',
      type: type.text,
      params: params.map((t) => t.text),
      host: h,
      origin: c.origin,
    };
  }
});

export const apiauth: DirectiveSpec = line((b, toks, c) => {
  const [client, ...kv] = toks;
  const uids: string[] = [];
  const gids: string[] = [];
  let ok = client !== undefined && kv.length > 0;
  for (const t of kv) {
    const m = /^(uid|gid)=(.+)$/.exec(t.text);
    if (m === null) ok = false;
    else (m[1] === 'uid' ? uids : gids).push(...(m[2] ?? '').split(',').filter((s) => s !== ''));
  }
  if (!ok || client === undefined) {
    c.err(
      'VIGIL_ERR_CFG_VALUE',
      `Invalid apiauth directive [${c.rest.trim()}]: apiauth client [uid=uidlist] [gid=gidlist], one or the other must be specified`,
    );
    return;
  }
  if (b.apiauth.some((a) => a.client === client.text)) {
    c.err('VIGIL_ERR_CFG_VALUE', `Duplicate apiauth directive for API client ${client.text}`, client.column);
    return;
  }
  b.apiauth.push({ client: client.text, uids, gids, origin: c.origin });
});

export const respawn: DirectiveSpec = line((b, toks, c) => {
  const [user, cmd, ...args] = toks;
  if (user === undefined || cmd === undefined) {
    c.err(
      'VIGIL_ERR_CFG_VALUE',
      `${c.directive} needs a user and an absolute command: ${c.directive} <user> </path args>`,
    );
    return;
  }
  if (!cmd.text.startsWith('/')) {
    c.err('VIGIL_ERR_CFG_VALUE', `Client child command [${cmd.text}] is not full pathname`, cmd.column);
    return;
  }
  b.respawn.push({
    user: user.text,
    argv: [cmd.text, ...args.map((t) => t.text)],
    failfast: c.directive === 'failfast',
    origin: c.origin,
  });
});

export const serial: DirectiveSpec = list((b, v, bad, c) => {
  if (!v.startsWith('/')) bad(`serial: [${v}] is not a device path (e.g. /dev/ttyS0)`);
  else addMedium(b, { kind: 'serial', tty: v, baud: b.baud, origin: c.origin }, c.err);
});
