import { VigilError, VigilErrors } from '../util/errors.js';
import type { IpResourceArgs, Resource, ResourceGroup } from './types.js';
import { type ConfigWarning, warning } from './warnings.js';
import { WHITESPACE, isIPv4, netmaskToPrefix, parseInteger, tokenize } from './values.js';
import { canonicalIPv6, ipv6Special, isLinkLocalIPv6, isMulticastIPv6 } from '../util/inet.js';

export interface ParseHaresourcesOptions {
  /** Path shown in messages (normally /etc/ha.d/haresources). */
  readonly file: string;
  /** Nodes from ha.cf (lowercased); a group naming another node is `Bad nodename in haresources`. */
  readonly nodes: readonly string[];
}

export interface HaresourcesAnalysis {
  readonly groups: readonly ResourceGroup[];
  readonly errors: readonly VigilError[];
  readonly warnings: readonly ConfigWarning[];
}

export const HARESOURCES_LIMITS = { lineLength: 5120, groups: 1000, resourcesPerGroup: 100 } as const;

export function parseHaresources(
  text: string,
  options: ParseHaresourcesOptions,
): { groups: readonly ResourceGroup[]; warnings: readonly ConfigWarning[] } {
  const r = analyzeHaresources(text, options);
  if (r.errors.length > 0) throw new VigilErrors(r.errors);
  return { groups: r.groups, warnings: r.warnings };
}

/**
 * ResourceManager's `canonname`: a token matching the shell glob `[0-9]*.[0-9]*.[0-9]*.[0-9]*` is
 * shorthand for `IPaddr::<token>` (the glob's `*` matches anything, so `10.0.0.1/24/eth0` matches too).
 */
export function isBareIpShorthand(token: string): boolean {
  return /^[0-9].*\.[0-9].*\.[0-9].*\.[0-9].*$/s.test(token);
}

/** The built-in IP agents: Heartbeat's IPaddr and IPaddr2 (IPv4 and IPv6 here), and its IPv6addr (IPv6 only). */
export const IP_AGENTS: ReadonlySet<string> = new Set(['IPaddr', 'IPaddr2', 'IPv6addr']);

/**
 * Parses `ip[/cidr[/nic][/broadcast]]` (IPv4: a third field starting with a digit is the broadcast address) or
 * `ipv6[/prefix[/nic]]`. An IPv6 address is kept in its canonical text (`2001:db8::50`, what `ip` prints), however
 * it was written. `agent` narrows what it accepts (IPv6addr takes IPv6 only).
 */
export function parseIpArgument(arg: string, agent = 'IPaddr'): IpResourceArgs | string {
  const fields = arg.split('/');
  const [address = '', cidrText, third, fourth, ...more] = fields;
  if (isIPv4(address)) {
    if (agent === 'IPv6addr') return `IPv6addr takes an IPv6 address, not [${address}] (use IPaddr or IPaddr2)`;
    return parseIPv4Argument(arg, address, cidrText, third, fourth, more);
  }
  const v6 = canonicalIPv6(address);
  if (v6 === undefined) {
    return agent === 'IPv6addr'
      ? `invalid IPv6 address [${address}]`
      : `invalid address [${address}]: an IPv4 address (192.168.1.50) or an IPv6 address (2001:db8::50)`;
  }
  const special = ipv6Special(v6);
  if (special !== undefined) return `[${address}] is the ${special} address, not a service address`;
  if (isMulticastIPv6(v6)) return `[${address}] is a multicast address, not a service address`;
  if (fourth !== undefined || more.length > 0) return `too many fields in [${arg}]: ipv6[/prefix[/nic]]`;
  let cidr: number | undefined;
  if (cidrText !== undefined && cidrText !== '') {
    cidr = parseInteger(cidrText, 1, 128);
    if (cidr === undefined) return `invalid prefix length [${cidrText}] in [${arg}]: 1–128`;
  }
  let nic: string | undefined;
  if (third !== undefined && third !== '') {
    if (/^[0-9]/.test(third)) return `IPv6 has no broadcast address: [${third}] in [${arg}] (ipv6[/prefix[/nic]])`;
    nic = third;
  }
  if (nic !== undefined && (nic.length > 15 || /\s/.test(nic))) return `invalid interface name [${nic}] in [${arg}]`;
  if (nic === undefined && isLinkLocalIPv6(v6)) {
    return `the link-local address ${v6} is valid on one link only: name its interface (${v6}/64/eth1)`;
  }
  return { address: v6, cidr, nic, broadcast: undefined };
}

function parseIPv4Argument(
  arg: string,
  address: string,
  cidrText: string | undefined,
  third: string | undefined,
  fourth: string | undefined,
  more: readonly string[],
): IpResourceArgs | string {
  if (more.length > 0) return `too many fields in [${arg}]: ip[/cidr[/nic][/broadcast]]`;
  let cidr: number | undefined;
  if (cidrText !== undefined && cidrText !== '') {
    cidr = cidrText.includes('.') ? netmaskToPrefix(cidrText) : parseInteger(cidrText, 1, 32);
    if (cidr === undefined)
      return `invalid netmask [${cidrText}] in [${arg}]: a prefix length 1–32 (or a dotted netmask)`;
  }
  let nic: string | undefined;
  let broadcast: string | undefined;
  if (third !== undefined && third !== '') {
    if (/^[0-9]/.test(third)) broadcast = third;
    else nic = third;
  }
  if (fourth !== undefined && fourth !== '') {
    if (broadcast !== undefined) return `two broadcast addresses in [${arg}]`;
    broadcast = fourth;
  }
  if (nic !== undefined && (nic.length > 15 || /\s/.test(nic))) return `invalid interface name [${nic}] in [${arg}]`;
  if (broadcast !== undefined && !isIPv4(broadcast)) return `invalid broadcast address [${broadcast}] in [${arg}]`;
  return { address, cidr, nic, broadcast };
}

/** A token that is a whole IPv6 address spec on its own (`2001:db8::50/64/eth1`), which Heartbeat does not expand. */
function isBareIPv6Spec(token: string): boolean {
  const r = parseIpArgument(token, 'IPv6addr');
  return typeof r !== 'string';
}

/**
 * Heartbeat's ResourceManager reading of a resource token: the script is what comes before the first `::`, the
 * arguments are the rest split at every `::` (`sed 's%::% %g'` and the shell's word splitting, so empty ones vanish).
 */
export function heartbeatSplit(spec: string): { script: string; args: string[] } {
  const canonical = isBareIpShorthand(spec) ? `IPaddr::${spec}` : spec;
  const [script = '', ...raw] = canonical.split('::');
  return { script, args: raw.filter((a) => a !== '') };
}

/**
 * One resource token → Resource, or an error message. Arguments are split at `::` as Heartbeat does, with one
 * exception: for the IP agents, when everything after `TYPE::` is one IPv6 address spec (`IPaddr2::2001:db8::50/64/eth1`),
 * it is that address, not the pieces Heartbeat would cut it into (`2001:db8` and `50/64/eth1`, which no IP agent can
 * take). Heartbeat users write IPv6 addresses without `::` (`2001:db8:0:0:0:0:0:50`), which reads the same in both.
 * `vigil check` warns where the two readings differ (lint.ts).
 */
export function parseResource(spec: string): Resource | string {
  if (spec.includes(':') && isBareIPv6Spec(spec)) {
    const script = spec.split('::')[0] ?? '';
    return `a bare IPv6 address is not an IP resource (Heartbeat would look for a script named [${script}]): write IPaddr2::${spec} or IPv6addr::${spec}`;
  }
  const { script: type, args } = heartbeatSplit(spec);
  if (type === '') return `resource [${spec}] has no script name before "::"`;
  // The name becomes a path under resource.d and init.d: never let it climb out.
  if (type.includes('/') || type.startsWith('.')) return `invalid resource script name [${type}]`;
  if (!IP_AGENTS.has(type)) return { spec, type, args, ip: undefined };
  const first = args[0];
  if (first === undefined) return `${type} needs an address: ${type}::ip[/cidr[/nic][/broadcast]]`;
  const canonical = isBareIpShorthand(spec) ? `IPaddr::${spec}` : spec;
  const rest = canonical.slice(type.length + 2);
  const whole = rest.includes('::') ? parseIpArgument(rest, type) : undefined;
  if (whole !== undefined && typeof whole !== 'string') return { spec, type, args: [rest], ip: whole };
  const parsed = parseIpArgument(first, type);
  if (typeof parsed !== 'string') return { spec, type, args, ip: parsed };
  // Both readings failed: the message of the one the admin meant (an IPv6 address has a colon before any `/`).
  const meantIPv6 = typeof whole === 'string' && (rest.split('/')[0] ?? '').includes(':');
  return `${type}: ${meantIPv6 ? whole : parsed}`;
}

/**
 * Reads haresources as Heartbeat (config.c) and ResourceManager do: `#` comments, a trailing `\` joins the
 * next line, the first word is the node (lowercased; must be in ha.cf), the rest are resources, and the first
 * resource is the group key, unique in the file.
 */
export function analyzeHaresources(text: string, options: ParseHaresourcesOptions): HaresourcesAnalysis {
  const file = options.file;
  const errors: VigilError[] = [];
  const warnings: ConfigWarning[] = [];
  const groups: ResourceGroup[] = [];
  const keys = new Map<string, number>();
  const lines = text.split('\n');

  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    const at = (column?: number): { file: string; line: number; column?: number } =>
      column === undefined ? { file, line: startLine } : { file, line: startLine, column };
    // Join continuation lines; each piece loses its comment. Columns are only exact on the first piece.
    let logical = '';
    let piece = (lines[i] ?? '').replace(/\r$/, '');
    for (;;) {
      const continued = /\\[ \t]*$/.test(piece);
      const body = continued ? piece.replace(/\\[ \t]*$/, '') : piece;
      const hash = body.indexOf('#');
      logical += (hash >= 0 ? body.slice(0, hash) : body) + ' ';
      if (!continued || i + 1 >= lines.length) break;
      i++;
      piece = (lines[i] ?? '').replace(/\r$/, '');
    }
    if (logical.length > HARESOURCES_LIMITS.lineLength) {
      errors.push(
        new VigilError('VIGIL_ERR_CFG_LIMIT', `line longer than ${HARESOURCES_LIMITS.lineLength} characters`, at()),
      );
      continue;
    }
    const toks = tokenize(logical, WHITESPACE);
    const [nodeTok, ...resourceToks] = toks;
    if (nodeTok === undefined) continue;
    const node = nodeTok.text.toLowerCase();
    if (!options.nodes.includes(node)) {
      // Heartbeat's message [verified: "Bad nodename in /etc/ha.d//haresources [linux3]"].
      errors.push(
        new VigilError('VIGIL_ERR_RSC_NODE', `Bad nodename in ${file} [${nodeTok.text}]`, at(nodeTok.column)),
      );
      continue;
    }
    if (resourceToks.length === 0) {
      // Heartbeat starts with such a line [verified]; it defines nothing.
      warnings.push(
        warning(
          'VIGIL_WARN_EMPTY',
          `node ${node} is given no resources: line ignored`,
          at(),
          'list resources after the node name',
        ),
      );
      continue;
    }
    if (resourceToks.length > HARESOURCES_LIMITS.resourcesPerGroup) {
      errors.push(
        new VigilError(
          'VIGIL_ERR_CFG_LIMIT',
          `more than ${HARESOURCES_LIMITS.resourcesPerGroup} resources in one group`,
          at(),
        ),
      );
      continue;
    }
    const resources: Resource[] = [];
    let ok = true;
    for (const t of resourceToks) {
      const r = parseResource(t.text);
      if (typeof r === 'string') {
        errors.push(new VigilError('VIGIL_ERR_RSC_SYNTAX', r, at(t.column)));
        ok = false;
      } else {
        resources.push(r);
      }
    }
    const keyTok = resourceToks[0];
    if (!ok || keyTok === undefined) continue;
    const firstLine = keys.get(keyTok.text);
    if (firstLine !== undefined) {
      errors.push(
        new VigilError(
          'VIGIL_ERR_RSC_DUPLICATE',
          `duplicate resource group key [${keyTok.text}] (first used at line ${firstLine}): the first resource of each line must be unique`,
          at(keyTok.column),
        ),
      );
      continue;
    }
    if (groups.length >= HARESOURCES_LIMITS.groups) {
      errors.push(
        new VigilError('VIGIL_ERR_CFG_LIMIT', `more than ${HARESOURCES_LIMITS.groups} resource groups`, at()),
      );
      continue;
    }
    keys.set(keyTok.text, startLine);
    groups.push({ key: keyTok.text, node, resources, origin: { file, line: startLine } });
  }
  return { groups, errors, warnings };
}
