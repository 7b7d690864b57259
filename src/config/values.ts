/**
 * Value syntax shared by the three Heartbeat files, as Heartbeat 3.0.6 reads it.
 * Pure functions: `undefined` means "invalid", callers word the error (they know the directive and line).
 */

/** A token and its 1-based column in the original line, for error locations. */
export interface Token {
  readonly text: string;
  readonly column: number;
}

/**
 * Splits `text` on any character of `separators`, dropping empty pieces (Heartbeat's strspn/strcspn loop).
 * `offset` is the 0-based position of `text` in its line.
 */
export function tokenize(text: string, separators: string, offset = 0): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && separators.includes(text.charAt(i))) i++;
    const start = i;
    while (i < text.length && !separators.includes(text.charAt(i))) i++;
    if (i > start) out.push({ text: text.slice(start, i), column: offset + start + 1 });
  }
  return out;
}

/** Whitespace as C's isspace() sees it: a CR from a file edited on Windows is whitespace, not part of a token. */
export const WHITESPACE = ' \t\r\n\f\v';
/** Option directives split their value on these (config.c: `", \t"`); CR added for CRLF files. */
export const OPTION_SEPARATORS = ', \t\r\n\f\v';

/**
 * Heartbeat's get_msec(): a decimal number, no unit = seconds, `ms`/`msec` = milliseconds, `us`/`usec` =
 * microseconds (case-insensitive), rounded to the nearest ms. Any other suffix, including `s`, is invalid
 * [verified: `keepalive 2s` stops heartbeat 3.0.6 with "configuration error"].
 * Stricter than the C code in one way: `1.2.3` (which atof() reads as 1.2) is rejected.
 */
export function parseTimeMs(text: string): number | undefined {
  const m = /^([0-9]*\.?[0-9]*)[ \t]*([a-zA-Z]*)$/.exec(text.trim());
  if (m === null) return undefined;
  const num = m[1] ?? '';
  const unit = (m[2] ?? '').toLowerCase();
  if (!/[0-9]/.test(num)) return undefined;
  const value = Number(num);
  if (!Number.isFinite(value)) return undefined;
  let ms: number;
  if (unit === '') ms = value * 1000;
  else if (unit === 'ms' || unit === 'msec') ms = value;
  else if (unit === 'us' || unit === 'usec') ms = value / 1000;
  else return undefined;
  // get_msec adds 0.5 and truncates.
  const rounded = Math.floor(ms + 0.5);
  return Number.isSafeInteger(rounded) ? rounded : undefined;
}

/** cl_str_to_boolean(): true/on/yes/y/1 and false/off/no/n/0, case-insensitive. */
export function parseBoolean(text: string): boolean | undefined {
  switch (text.toLowerCase()) {
    case 'true':
    case 'on':
    case 'yes':
    case 'y':
    case '1':
      return true;
    case 'false':
    case 'off':
    case 'no':
    case 'n':
    case '0':
      return false;
    default:
      return undefined;
  }
}

/** A plain decimal integer within [min, max]. Heartbeat uses atoi() (so `abc` is 0); Vigil says it is wrong. */
export function parseInteger(text: string, min: number, max: number): number | undefined {
  if (!/^[0-9]{1,15}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/** Dotted-quad IPv4 address, each part 0–255 without leading zeros ambiguity (`010` is rejected). */
export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  return parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function ipv4ToInt(text: string): number {
  const parts = text.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

/** Whether `ip` lies in `network/prefixlen`. */
export function ipv4InSubnet(ip: string, network: string, prefixlen: number): boolean {
  if (prefixlen <= 0) return true;
  const mask = prefixlen >= 32 ? 0xffffffff : (0xffffffff << (32 - prefixlen)) >>> 0;
  return (ipv4ToInt(ip) & mask) >>> 0 === (ipv4ToInt(network) & mask) >>> 0;
}

/** Prefix length of a dotted netmask (`255.255.255.0` → 24), or undefined if the mask is not contiguous. */
export function netmaskToPrefix(mask: string): number | undefined {
  if (!isIPv4(mask)) return undefined;
  const n = ipv4ToInt(mask);
  const inverted = ~n >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return undefined;
  let bits = 0;
  for (let v = n; v !== 0; v = (v << 1) >>> 0) bits++;
  return bits;
}

export function isMulticastIPv4(text: string): boolean {
  if (!isIPv4(text)) return false;
  const first = Number(text.split('.')[0]);
  return first >= 224 && first <= 239;
}
