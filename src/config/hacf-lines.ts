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

export const ping: DirectiveSpec = list((b, v, _bad, c) => {
  if (b.pingNodes.some((p) => p.name === v)) {
    c.warn('VIGIL_WARN_REPEATED', `ping node ${v} is listed twice`);
    return;
  }
  if (c.directive === 'ping' && !isIPv4(v)) {
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

export const inet6: DirectiveSpec = line((b, toks, c) => {
  if (toks.length < 2) {
    c.err('VIGIL_ERR_CFG_VALUE', `${c.directive}: missing arguments (interface and address)`);
    return;
  }
  const kind = c.directive === 'ucast6' ? 'ucast6' : 'mcast6';
  addMedium(b, { kind, args: toks.map((t) => t.text), port: b.udpport, origin: c.origin }, c.err);
});

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
    b.pingNodes[existing] = { ...prior, addresses: [...prior.addresses, ...addrs.map((t) => t.text)] };
    return;
  }
  addPing(b, { name: name.text, addresses: addrs.map((t) => t.text), group: true, origin: c.origin }, c.err);
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
