/**
 * IPv6 (and family-neutral) address text, pure: the config layer checks addresses with it, the OS layer builds
 * sockaddrs and netlink messages from it, the lab compares what `ip` prints with it. No zone (`%eth1`) here: a
 * zone names an interface, which callers carry separately.
 */

/** 16 bytes of an IPv6 address, or undefined. Strict: hex groups of 1–4 digits, at most one `::`, an embedded dotted
 *  IPv4 only as the last 32 bits, no zone, no brackets. */
export function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let v4: number[] | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const dotted = text.slice(lastColon + 1);
    const parts = dotted.split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) {
      return undefined;
    }
    v4 = parts.map(Number);
    // `::1.2.3.4` keeps its `::`; `a:b:...:1.2.3.4` loses the colon before the dotted part.
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const double = head.indexOf('::');
  if (double !== head.lastIndexOf('::')) return undefined;
  const groupsWanted = v4 === undefined ? 8 : 6;
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (double < 0) {
    const g = toGroups(head);
    if (g?.length !== groupsWanted) return undefined;
    groups = g;
  } else {
    const left = toGroups(head.slice(0, double));
    const right = toGroups(head.slice(double + 2));
    if (left === undefined || right === undefined) return undefined;
    // `::` stands for at least one group of zeros.
    const missing = groupsWanted - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (v4 !== undefined) v4.forEach((b, i) => (out[12 + i] = b));
  return out;
}

export function isIPv6(text: string): boolean {
  return parseIPv6(text) !== undefined;
}

/**
 * The text glibc's inet_ntop (and so `ip`, `ping`, the kernel's own messages) gives for an address: lowercase, the
 * longest run of two or more zero groups as `::` (the first on a tie), and the last 32 bits dotted for the
 * IPv4-compatible and IPv4-mapped forms. Vigil compares addresses in this form only.
 */
export function formatIPv6(b: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((b[offset + 2 * i] ?? 0) << 8) | (b[offset + 2 * i + 1] ?? 0));
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i > 0) out += ':';
    // glibc: an encapsulated IPv4 address (::a.b.c.d, ::ffff:a.b.c.d) ends in dotted form.
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${b[offset + 12] ?? 0}.${b[offset + 13] ?? 0}.${b[offset + 14] ?? 0}.${b[offset + 15] ?? 0}`;
      return out;
    }
    out += (words[i] ?? 0).toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** The canonical text of an IPv6 address, or undefined when `text` is not one. */
export function canonicalIPv6(text: string): string | undefined {
  const b = parseIPv6(text);
  return b === undefined ? undefined : formatIPv6(b);
}

/** Every group written out, no `::` (`2001:db8::50` → `2001:db8:0:0:0:0:0:50`): the form Heartbeat's haresources
 *  can carry, since ResourceManager splits arguments at every `::`. */
export function expandedIPv6(text: string): string | undefined {
  const b = parseIPv6(text);
  if (b === undefined) return undefined;
  const out: string[] = [];
  for (let i = 0; i < 8; i++) out.push((((b[2 * i] ?? 0) << 8) | (b[2 * i + 1] ?? 0)).toString(16));
  return out.join(':');
}

/** Whether `a` lies in `net/prefixLength` (both IPv6). */
export function ipv6InSubnet(a: string, net: string, prefixLength: number): boolean {
  const x = parseIPv6(a);
  const y = parseIPv6(net);
  if (x === undefined || y === undefined) return false;
  let bits = Math.max(0, Math.min(128, prefixLength));
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((x[i] ?? 0) & mask) !== ((y[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** fe80::/10: valid on one link only, so it always needs its interface. */
export function isLinkLocalIPv6(text: string): boolean {
  const b = parseIPv6(text);
  return b !== undefined && b[0] === 0xfe && ((b[1] ?? 0) & 0xc0) === 0x80;
}

export function isMulticastIPv6(text: string): boolean {
  return parseIPv6(text)?.[0] === 0xff;
}

/** ::, ::1, and the IPv4-mapped ::ffff:0:0/96: addresses that cannot be a service address or a unicast peer. */
export function ipv6Special(text: string): 'unspecified' | 'loopback' | 'ipv4-mapped' | undefined {
  const b = parseIPv6(text);
  if (b === undefined) return undefined;
  const zeros = (from: number, to: number): boolean => b.slice(from, to).every((x) => x === 0);
  if (zeros(0, 16)) return 'unspecified';
  if (zeros(0, 15) && b[15] === 1) return 'loopback';
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return 'ipv4-mapped';
  return undefined;
}

/**
 * Heartbeat's mcast6 rule for a heartbeat group (lib/plugins/HBcomm/mcast6.c is_valid_mcast6_addr): ff00::/8, no
 * flag but "transient" (0x10), scope link (2), admin (4), site (5) or organization (8) local, not all-zero after
 * the first two bytes. Why, or undefined when the group is fine.
 */
export function mcast6GroupProblem(text: string): string | undefined {
  const b = parseIPv6(text);
  if (b === undefined) return 'not an IPv6 address';
  if (b[0] !== 0xff) return 'not a multicast address (ff00::/8)';
  const flags = (b[1] ?? 0) & 0xf0;
  if ((flags & 0xe0) !== 0) return 'only the transient flag (ff1x) may be set';
  const scope = (b[1] ?? 0) & 0x0f;
  if (![2, 4, 5, 8].includes(scope)) {
    return `scope ${scope.toString(16)} is not link (2), admin (4), site (5) or organization (8) local`;
  }
  if (b.slice(2).every((x) => x === 0)) return 'the group id is reserved (all zeros)';
  return undefined;
}

export type AddressFamily = 4 | 6;

/** 4 for a dotted quad, 6 for an IPv6 address, undefined otherwise. */
export function addressFamily(text: string): AddressFamily | undefined {
  if (/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(text)) {
    return text.split('.').every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255) ? 4 : undefined;
  }
  return isIPv6(text) ? 6 : undefined;
}

/** The network of `address/prefixLength` in canonical text (`2001:db8::50`, 64 → `2001:db8::`). */
export function ipv6Network(address: string, prefixLength: number): string | undefined {
  const b = parseIPv6(address);
  if (b === undefined) return undefined;
  let bits = Math.max(0, Math.min(128, prefixLength));
  for (let i = 0; i < 16; i++, bits -= 8) {
    const keep = bits >= 8 ? 0xff : bits <= 0 ? 0 : (0xff << (8 - bits)) & 0xff;
    b[i] = (b[i] ?? 0) & keep;
  }
  return formatIPv6(b);
}

/** Global unicast (2000::/3), unique local (fc00::/7) or link-local: what a service address usually is. */
export function isLikelyHostIPv6(text: string): boolean {
  const b = parseIPv6(text);
  if (b === undefined) return false;
  const first = b[0] ?? 0;
  return (first & 0xe0) === 0x20 || (first & 0xfe) === 0xfc || isLinkLocalIPv6(text);
}
