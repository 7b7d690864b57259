/**
 * Arguments of the two cross-site resources, parsed where haresources is parsed so that `vigil check` reports their
 * mistakes at file:line, and the agents get them typed:
 *
 *   dnsupdate::<zone>::<name>::<addresses>[::<ttl>][::server=<ip[@port]>,...][::key=<file>][::stop=keep|delete][::timeout=<s>]
 *   bgp::<vip>[::med=<node>:<n>,...][::community=<asn>:<n>,...][::dev=<ifname>][::socket=<birdc socket>][::include=<file>]
 *
 * `<addresses>` is `node=address,node=address` (each site its own address: haresources stays identical on every
 * node), or one address for every node. Options are `name=value`, in any order after the positional arguments.
 */
import { isIPv4, parseInteger } from './values.js';

export type DnsRecordType = 'A' | 'AAAA';

export interface DnsServerSpec {
  readonly address: string;
  readonly port: number;
}

export interface DnsUpdateSpec {
  /** The zone, lowercase, without the trailing dot (`geo.test`). */
  readonly zone: string;
  /** The owner name, absolute, lowercase, without the trailing dot (`www.geo.test`). */
  readonly name: string;
  /**
   * Per node (lowercase name) the addresses it publishes, at most one per family; the key `*` holds an address
   * given without a node (every node publishes it).
   */
  readonly addresses: Readonly<Record<string, readonly string[]>>;
  /** Record types this resource owns (those of any node's address): each is replaced as a whole on start. */
  readonly types: readonly DnsRecordType[];
  readonly ttl: number;
  readonly servers: readonly DnsServerSpec[];
  /** undefined = `<config dir>/dnsupdate.key`. */
  readonly keyFile: string | undefined;
  /** keep: the record stays (the next holder overwrites it); delete: removed if it still points here. */
  readonly stop: 'keep' | 'delete';
  /** Bound of one start, stop or status, ms. */
  readonly timeoutMs: number;
}

export interface BgpSpec {
  /** The routed VIP, announced as a /32 (IPv4) or a /128 (IPv6, written without `::` in haresources). */
  readonly vip: string;
  /** MED per node (lowercase); a node not listed: 0 on the group's preferred node, 100 elsewhere. */
  readonly med: Readonly<Record<string, number>>;
  /** Standard communities (asn, value) every node adds. */
  readonly communities: readonly (readonly [number, number])[];
  /** Where the VIP is put (the route BIRD's `direct` protocol exports). */
  readonly dev: string;
  /** BIRD's control socket. */
  readonly socket: string;
  /** The file Vigil writes for bird.conf to include. */
  readonly include: string;
}

export const DNS_DEFAULTS = { ttl: 30, timeoutMs: 5000, port: 53, keyFileName: 'dnsupdate.key' } as const;
export const BGP_DEFAULTS = {
  dev: 'lo',
  socket: '/run/bird/bird.ctl',
  include: '/etc/bird/vigil.conf',
  preferredMed: 0,
  otherMed: 100,
} as const;
export const GEO_LIMITS = { servers: 8, addresses: 32, communities: 16, nameLength: 253, label: 63 } as const;

/** Without node:net (the config layer does no I/O): the eight-group form, or `::` compressed, no zone index. */
export function isIPv6(text: string): boolean {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return false;
  let t = text;
  let groupsFromV4 = 0;
  const lastColon = t.lastIndexOf(':');
  if (t.includes('.')) {
    if (!isIPv4(t.slice(lastColon + 1))) return false;
    t = `${t.slice(0, lastColon + 1)}0:0`;
    groupsFromV4 = 0;
  }
  const halves = t.split('::');
  if (halves.length > 2) return false;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const parts = halves.flatMap(groups);
  if (!parts.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  const n = parts.length + groupsFromV4;
  return halves.length === 2 ? n <= 7 : n === 8;
}

/** A host name in presentation form → lowercase without the trailing dot, or an error. `@` is not handled here. */
function checkDomain(text: string, what: string): string {
  const t = text.endsWith('.') ? text.slice(0, -1) : text;
  if (t === '' || t.length > GEO_LIMITS.nameLength)
    return `!${what} [${text}] must be a domain name of 1-253 characters`;
  for (const l of t.split('.')) {
    if (l === '' || l.length > GEO_LIMITS.label || !/^[A-Za-z0-9_*-]+$/.test(l) || l.startsWith('-')) {
      return `!${what} [${text}]: each label 1-63 letters, digits, '-' or '_'`;
    }
  }
  return t.toLowerCase();
}

function splitOptions(
  args: readonly string[],
  what: string,
): { positional: string[]; options: Map<string, string> } | string {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (const a of args) {
    const eq = a.indexOf('=');
    // `linux1=192.0.2.1,...` is an address list, not an option: options are known words.
    const key = eq > 0 ? a.slice(0, eq) : '';
    if (eq > 0 && OPTION_NAMES.has(key)) {
      if (options.has(key)) return `${what}: option ${key}= given twice`;
      options.set(key, a.slice(eq + 1));
    } else {
      if (options.size > 0)
        return `${what}: [${a}] comes after the name=value options; give positional arguments first`;
      positional.push(a);
    }
  }
  return { positional, options };
}

const OPTION_NAMES: ReadonlySet<string> = new Set([
  'server',
  'key',
  'stop',
  'timeout',
  'ttl',
  'med',
  'community',
  'dev',
  'socket',
  'include',
]);

function unknownOptions(options: Map<string, string>, allowed: readonly string[], what: string): string | undefined {
  for (const k of options.keys()) {
    if (!allowed.includes(k)) return `${what}: option ${k}= does not apply (options: ${allowed.join(', ')})`;
  }
  return undefined;
}

const IPV6_HINT =
  "an IPv6 address must be written without '::' (haresources splits arguments on '::'): 2001:db8:0:0:0:0:0:10";

/** `dnsupdate` arguments → the spec, or an error message (without the `dnsupdate:` prefix). */
export function parseDnsUpdate(args: readonly string[]): DnsUpdateSpec | string {
  const what = 'dnsupdate';
  const usage = `${what}::<zone>::<name>::<node>=<address>,...[::<ttl>]::server=<ip>[,<ip>...][::key=<file>][::stop=keep|delete][::timeout=<s>]`;
  const split = splitOptions(args, what);
  if (typeof split === 'string') return split;
  const { positional, options } = split;
  const bad = unknownOptions(options, ['server', 'key', 'stop', 'timeout', 'ttl'], what);
  if (bad !== undefined) return bad;
  const [zoneText, nameText, addrText, ttlText, ...extra] = positional;
  if (zoneText === undefined || nameText === undefined || addrText === undefined) return `usage: ${usage}`;
  if (extra.length > 0) {
    return extra.some((x) => /^[0-9a-fA-F]{1,4}(\/|,|$)/.test(x))
      ? `${what}: too many arguments (${IPV6_HINT})`
      : `${what}: too many arguments [${extra.join('::')}]; usage: ${usage}`;
  }
  const zone = checkDomain(zoneText, 'zone');
  if (zone.startsWith('!')) return `${what}: ${zone.slice(1)}`;
  let name: string;
  if (nameText === '@') name = zone;
  else if (nameText.endsWith('.')) {
    const n = checkDomain(nameText, 'name');
    if (n.startsWith('!')) return `${what}: ${n.slice(1)}`;
    if (n !== zone && !n.endsWith(`.${zone}`)) return `${what}: name [${nameText}] is not in zone ${zone}`;
    name = n;
  } else {
    const n = checkDomain(`${nameText}.${zone}`, 'name');
    if (n.startsWith('!')) return `${what}: ${n.slice(1)}`;
    name = n;
  }

  const addresses: Record<string, string[]> = {};
  const types = new Set<DnsRecordType>();
  const items = addrText.split(',').filter((s) => s !== '');
  if (items.length === 0) return `${what}: no address given; usage: ${usage}`;
  if (items.length > GEO_LIMITS.addresses) return `${what}: more than ${GEO_LIMITS.addresses} addresses`;
  for (const item of items) {
    const eq = item.indexOf('=');
    const node = eq > 0 ? item.slice(0, eq).toLowerCase() : '*';
    const addr = eq > 0 ? item.slice(eq + 1) : item;
    const type: DnsRecordType | undefined = isIPv4(addr) ? 'A' : isIPv6(addr) ? 'AAAA' : undefined;
    if (type === undefined) {
      return /^[0-9a-fA-F]{1,4}(:[0-9a-fA-F]{0,4})*$/.test(addr)
        ? `${what}: invalid address [${addr}] (${IPV6_HINT})`
        : `${what}: invalid address [${addr}]: give node=address (IPv4, or IPv6 without '::')`;
    }
    if (!/^(\*|[a-z0-9][a-z0-9._-]*)$/.test(node)) return `${what}: invalid node name [${node}] in [${item}]`;
    const list = (addresses[node] ??= []);
    if (list.some((a) => (isIPv4(a) ? 'A' : 'AAAA') === type)) {
      return `${what}: ${node === '*' ? 'every node' : `node ${node}`} has two ${type} addresses; one per family`;
    }
    list.push(type === 'AAAA' ? addr.toLowerCase() : addr);
    types.add(type);
  }
  if (addresses['*'] !== undefined && Object.keys(addresses).length > 1) {
    return `${what}: give either one address for every node or node=address for each node, not both`;
  }

  let ttl: number = DNS_DEFAULTS.ttl;
  const ttlArg = ttlText ?? options.get('ttl');
  if (ttlText !== undefined && options.has('ttl')) return `${what}: the TTL is given twice`;
  if (ttlArg !== undefined) {
    const v = parseInteger(ttlArg, 0, 86_400);
    if (v === undefined) return `${what}: invalid TTL [${ttlArg}]: whole seconds 0-86400`;
    ttl = v;
  }

  const serverText = options.get('server');
  if (serverText === undefined || serverText === '') {
    return `${what}: no primary given: add ::server=<ip>[@port][,<ip>...] (the zone's primary servers)`;
  }
  const servers: DnsServerSpec[] = [];
  for (const s of serverText.split(',').filter((x) => x !== '')) {
    const at = s.lastIndexOf('@');
    const host = at >= 0 ? s.slice(0, at) : s;
    const port = at >= 0 ? parseInteger(s.slice(at + 1), 1, 65_535) : DNS_DEFAULTS.port;
    if (port === undefined) return `${what}: invalid port in server [${s}]: 1-65535`;
    if (!isIPv4(host) && !isIPv6(host)) return `${what}: server [${s}] must be an IP address (ip or ip@port)`;
    if (servers.some((x) => x.address === host && x.port === port)) return `${what}: server ${s} listed twice`;
    servers.push({ address: host, port });
  }
  if (servers.length > GEO_LIMITS.servers) return `${what}: more than ${GEO_LIMITS.servers} servers`;

  const key = options.get('key');
  if (key !== undefined && !key.startsWith('/')) return `${what}: key= needs an absolute path, got [${key}]`;
  const stop = options.get('stop') ?? 'keep';
  if (stop !== 'keep' && stop !== 'delete') return `${what}: stop= is keep or delete, got [${stop}]`;
  let timeoutMs: number = DNS_DEFAULTS.timeoutMs;
  const t = options.get('timeout');
  if (t !== undefined) {
    const v = parseInteger(t, 1, 60);
    if (v === undefined) return `${what}: invalid timeout [${t}]: whole seconds 1-60`;
    timeoutMs = v * 1000;
  }
  return {
    zone,
    name,
    addresses,
    types: (['A', 'AAAA'] as const).filter((x) => types.has(x)),
    ttl,
    servers,
    keyFile: key,
    stop,
    timeoutMs,
  };
}

/** The addresses `node` publishes, or undefined when the resource names other nodes but not this one. */
export function dnsAddressesFor(spec: DnsUpdateSpec, node: string): readonly string[] | undefined {
  return spec.addresses[node.toLowerCase()] ?? spec.addresses['*'];
}

/** `bgp` arguments → the spec, or an error message. */
export function parseBgp(args: readonly string[]): BgpSpec | string {
  const what = 'bgp';
  const usage = `${what}::<vip>[::med=<node>:<n>,...][::community=<asn>:<n>,...][::dev=<ifname>][::socket=<path>][::include=<path>]`;
  const split = splitOptions(args, what);
  if (typeof split === 'string') return split;
  const { positional, options } = split;
  const bad = unknownOptions(options, ['med', 'community', 'dev', 'socket', 'include'], what);
  if (bad !== undefined) return bad;
  const [vipText, ...extra] = positional;
  if (vipText === undefined) return `usage: ${usage}`;
  // `bgp::fd99::1` arrives as [fd99, 1]: say why rather than "too many arguments".
  if (extra.length > 0 && /^[0-9a-f:]+$/i.test(vipText) && /^[0-9a-f:/]+$/i.test(extra[0] ?? ''))
    return `${what}: ${IPV6_HINT}`;
  if (extra.length > 0) return `${what}: too many arguments [${extra.join('::')}]; usage: ${usage}`;
  const v6 = vipText.includes(':');
  const host = v6 ? '/128' : '/32';
  const vip = vipText.endsWith(host) ? vipText.slice(0, -host.length) : vipText;
  if (v6 ? !isIPv6(vip) : !isIPv4(vip)) {
    return v6
      ? `${what}: [${vipText}] is not an IPv6 address (the VIP is announced as a /128)`
      : `${what}: [${vipText}] is not an IPv4 address (the VIP is announced as a /32)`;
  }

  const med: Record<string, number> = {};
  for (const item of (options.get('med') ?? '').split(',').filter((s) => s !== '')) {
    const m = /^([a-z0-9][a-z0-9._-]*):(\d{1,10})$/i.exec(item);
    const v = m === null ? undefined : parseInteger(m[2] ?? '', 0, 4_294_967_295);
    if (m === null || v === undefined)
      return `${what}: med= takes node:value pairs (value 0-4294967295), got [${item}]`;
    const node = (m[1] ?? '').toLowerCase();
    if (med[node] !== undefined) return `${what}: med= names ${node} twice`;
    med[node] = v;
  }
  const communities: [number, number][] = [];
  for (const item of (options.get('community') ?? '').split(',').filter((s) => s !== '')) {
    const m = /^(\d{1,5}):(\d{1,5})$/.exec(item);
    const a = m === null ? undefined : parseInteger(m[1] ?? '', 0, 65_535);
    const b = m === null ? undefined : parseInteger(m[2] ?? '', 0, 65_535);
    if (a === undefined || b === undefined)
      return `${what}: community= takes asn:value pairs (0-65535 each), got [${item}]`;
    communities.push([a, b]);
  }
  if (communities.length > GEO_LIMITS.communities) return `${what}: more than ${GEO_LIMITS.communities} communities`;
  const dev = options.get('dev') ?? BGP_DEFAULTS.dev;
  if (!/^[A-Za-z0-9_.:-]{1,15}$/.test(dev)) return `${what}: invalid interface name [${dev}]`;
  const socket = options.get('socket') ?? BGP_DEFAULTS.socket;
  const include = options.get('include') ?? BGP_DEFAULTS.include;
  for (const [k, v] of [
    ['socket', socket],
    ['include', include],
  ] as const) {
    if (!v.startsWith('/') || /["\s\\]/.test(v))
      return `${what}: ${k}= needs an absolute path without quotes or spaces`;
  }
  return { vip, med, communities, dev, socket, include };
}

/** The MED `node` announces `spec`'s VIP with; `preferred` is the group's haresources node. */
export function bgpMedFor(spec: BgpSpec, node: string, preferred: string): number {
  return spec.med[node] ?? (node === preferred ? BGP_DEFAULTS.preferredMed : BGP_DEFAULTS.otherMed);
}
