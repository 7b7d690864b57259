import { runFailure, runProgram } from './spawn.js';
import { VigilError } from '../util/errors.js';

/** An interface with its addresses (the subset of `ip -json addr show` the lints need). */
export interface InterfaceInfo {
  readonly name: string;
  readonly up: boolean;
  readonly ipv4: readonly { readonly address: string; readonly prefixlen: number }[];
  /** IPv6 addresses with their scope (`link` for fe80::/10); none at all when IPv6 is disabled on the interface. */
  readonly ipv6: readonly { readonly address: string; readonly prefixlen: number; readonly scope: string }[];
}

/** Bound on `ip`'s output: a host with thousands of addresses still fits; a runaway process does not. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

/** Parses `ip -json addr show` output; throws VIGIL_ERR_OS_COMMAND when it is not what iproute2 prints. */
export function parseIpAddrJson(json: string): InterfaceInfo[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new VigilError('VIGIL_ERR_OS_COMMAND', 'ip -json addr show: output is not JSON', undefined, { cause: e });
  }
  if (!Array.isArray(data)) throw new VigilError('VIGIL_ERR_OS_COMMAND', 'ip -json addr show: expected a JSON array');
  const out: InterfaceInfo[] = [];
  for (const entry of data as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as { ifname?: unknown; flags?: unknown; addr_info?: unknown };
    if (typeof e.ifname !== 'string') continue;
    const flags = Array.isArray(e.flags) ? (e.flags as unknown[]) : [];
    const ipv4: { address: string; prefixlen: number }[] = [];
    const ipv6: { address: string; prefixlen: number; scope: string }[] = [];
    for (const a of Array.isArray(e.addr_info) ? (e.addr_info as unknown[]) : []) {
      if (typeof a !== 'object' || a === null) continue;
      const ai = a as { family?: unknown; local?: unknown; prefixlen?: unknown; scope?: unknown };
      if (typeof ai.local !== 'string' || typeof ai.prefixlen !== 'number') continue;
      if (ai.family === 'inet') ipv4.push({ address: ai.local, prefixlen: ai.prefixlen });
      else if (ai.family === 'inet6') {
        ipv6.push({ address: ai.local, prefixlen: ai.prefixlen, scope: typeof ai.scope === 'string' ? ai.scope : '' });
      }
    }
    out.push({ name: e.ifname, up: flags.includes('UP'), ipv4, ipv6 });
  }
  return out;
}

/** This host's interfaces and IPv4 subnets, through iproute2 (`ip -json addr show`). */
export async function listInterfaces(ipCommand = 'ip'): Promise<InterfaceInfo[]> {
  const r = await runProgram(ipCommand, ['-json', 'addr', 'show'], {
    timeoutMs: TIMEOUT_MS,
    killGraceMs: 500,
    maxOutputBytes: MAX_OUTPUT_BYTES,
  });
  const failure = r.truncated ? `output larger than ${MAX_OUTPUT_BYTES} bytes` : runFailure(r);
  if (failure !== '') {
    const said = r.stderr.trim();
    throw new VigilError(
      'VIGIL_ERR_OS_COMMAND',
      `${ipCommand} -json addr show failed: ${failure}${said === '' ? '' : `: ${said}`}`,
    );
  }
  return parseIpAddrJson(r.stdout);
}
