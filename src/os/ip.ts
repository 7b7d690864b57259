/**
 * IPv4 and IPv6 address management through iproute2 (`ip -json`, `ip addr add|change|del`), run through runProgram (no shell, bounded by a deadline).
 * Inside the daemon's own namespace every operation goes over rtnetlink instead (src/os/netlink.ts): a spawn costs
 * milliseconds of event-loop time on a quiet host and ~100 ms on a loaded one, which a takeover cannot afford.
 *
 * The VIP lease: an address added with `lifetimeSec` gets `valid_lft N preferred_lft N`; the kernel deletes it by
 * itself when that runs out (about 1 s granularity), so a daemon that dies without cleaning up stops holding the VIP.
 * `renew` pushes the lifetime forward. One kernel quirk shapes `renew`: IPv4 RTM_NEWADDR ignores the absence of
 * NLM_F_CREATE, so `ip addr change` on an address that has just expired silently adds it back (without its label).
 * A node that was frozen past its lease must not resurrect the VIP that way. Over netlink the renewal cannot create
 * an address at all (netlink.ts encodeRenew). Through `ip`, renew first checks that the address is still there, and
 * if the lifetime could have run out while the renew itself was in progress (a stall between the check and the
 * change), checks again afterwards and removes a resurrected address (see `renew`). IPv6 behaves the same way
 * (RTM_NEWADDR creates a missing address whatever the flags say), and the same defences apply.
 *
 * IPv6 differences the callers see: no labels and no broadcast; an address is removed by address *and* prefix length
 * (pass the prefix to `remove`, or it costs a dump to learn it); `nodad` adds it usable at once, without Duplicate
 * Address Detection.
 */
import { formatIPv4, interfaceIndex, parseIPv4, validateIfName, MAX_IFNAME } from './libc.js';
import { netlinkAddAddress, netlinkDelAddress, netlinkListAddresses, netlinkRenewAddress } from './netlink.js';
import { runFailure, runProgram } from './spawn.js';
import { VigilError } from '../util/errors.js';
import { addressFamily, ipv6InSubnet, isLinkLocalIPv6, type AddressFamily } from '../util/inet.js';

export interface AddressInfo {
  /** IPv4 dotted quad or canonical IPv6 text. */
  readonly address: string;
  readonly family: AddressFamily;
  readonly prefixLength: number;
  readonly device: string;
  /** The label (`eth1:0`); the device name when the address has no label of its own (always, for IPv6). */
  readonly label: string;
  readonly broadcast: string | undefined;
  readonly secondary: boolean;
  /** True for an address with a finite lifetime (a lease). */
  readonly dynamic: boolean;
  /** `global`, `link` (IPv6 fe80::/10, or an IPv4 address so scoped), `host` (loopback). */
  readonly scope: 'global' | 'link' | 'host';
  /** IPv6: Duplicate Address Detection still running (the address does not answer yet). */
  readonly tentative: boolean;
  /** IPv6: Duplicate Address Detection found another holder; the address is unusable. */
  readonly dadFailed: boolean;
  /** Seconds left as the kernel reports them (whole seconds); undefined = forever. */
  readonly validLifetimeSec: number | undefined;
  readonly preferredLifetimeSec: number | undefined;
}

export interface AddAddressOptions {
  readonly address: string;
  readonly prefixLength: number;
  readonly device: string;
  /** `eth1:0` style label (must start with the device name); omitted → none. */
  readonly label?: string;
  /** Broadcast address; default `+` (derived from the prefix), `none` for no broadcast. */
  readonly broadcast?: string;
  /** Lease in whole seconds (valid_lft = preferred_lft); omitted → forever. */
  readonly lifetimeSec?: number;
  /** IPv6: add without Duplicate Address Detection (usable at once). Ignored for IPv4. */
  readonly nodad?: boolean;
}

/** The interface whose subnet holds an address (what IPaddr's findif does when no NIC is given). */
export interface NicMatch {
  readonly device: string;
  readonly prefixLength: number;
  readonly broadcast: string | undefined;
  /** The interface address whose subnet matched. */
  readonly localAddress: string;
}

/**
 * - `renewed`: the lifetime was pushed forward.
 * - `absent`: the address was not there (expired, or removed by someone else); nothing was changed.
 * - `expired`: the lifetime may have run out while renewing (the process stalled between check and change): the
 *   address was removed to be sure it is not held past its lease.
 */
export type RenewResult = 'renewed' | 'absent' | 'expired';

export interface AddressManager {
  /** Adds the address; VIGIL_ERR_ADDR_EXISTS if it is already on the device. */
  add(opts: AddAddressOptions): Promise<void>;
  /**
   * Sets the lease of an existing address to `lifetimeSec` from now (see RenewResult). `prefixLength`, when the
   * caller knows it, saves looking it up.
   */
  renew(address: string, device: string, lifetimeSec: number, prefixLength?: number): Promise<RenewResult>;
  /**
   * Removes the address from the device; false when it was not there. `prefixLength`, when the caller knows it,
   * saves a dump for an IPv6 address (removed by address and prefix).
   */
  remove(address: string, device: string, prefixLength?: number): Promise<boolean>;
  /** Addresses of one device or of all; of one family (4 or 6) or of both (undefined). */
  list(device?: string, family?: AddressFamily): Promise<AddressInfo[]>;
  /** Where the address is configured, if anywhere. */
  find(address: string): Promise<AddressInfo | undefined>;
  /** The non-loopback interface with the longest-prefix subnet holding `address`. */
  findNic(address: string): Promise<NicMatch | undefined>;
  /** The first free `<device>:<n>` label. */
  nextLabel(device: string): Promise<string>;
}

/** Bound on what one `ip` command may print (a host with thousands of addresses fits). */
const MAX_IP_OUTPUT = 4 * 1024 * 1024;

export interface IpCommandOptions {
  /** Path of the `ip` binary; default `ip` from PATH. */
  readonly ipPath?: string;
  /** Run every command in this named network namespace (`ip -n`): for the lab and tests. */
  readonly netns?: string;
  /** Kill `ip` after this long; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Monotonic ms clock (renew measures its own duration); default performance.now. */
  readonly now?: () => number;
  /**
   * List, add, remove and renew over rtnetlink (src/os/netlink.ts) instead of spawning `ip`. Default: on, unless
   * `netns` is set (a netlink socket lives in the caller's namespace). Falls back to `ip` for good if netlink is
   * unusable (no koffi).
   */
  readonly netlink?: boolean;
}

const FOREVER = 4294967295;
const MAX_LIFETIME = FOREVER - 1;

/** The family of an IPv4 or (canonical) IPv6 address; VIGIL_ERR_ADDR_INVALID for anything else. */
export function validateAddress(address: string): AddressFamily {
  const f = addressFamily(address);
  if (f === undefined) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv4 or IPv6 address: ${address}`);
  return f;
}

function ipv4Bytes(address: string): Buffer {
  const b = parseIPv4(address);
  if (b === undefined) throw new VigilError('VIGIL_ERR_ADDR_INVALID', `not an IPv4 address: ${address}`);
  return b;
}

function validatePrefix(p: number, family: AddressFamily = 4): void {
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(p) || p < 0 || p > max)
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `bad prefix length ${p}`);
}

function validateLifetime(s: number): void {
  if (!Number.isInteger(s) || s < 1 || s > MAX_LIFETIME) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `bad lifetime ${s} s (whole seconds, at least 1)`);
  }
}

export function validateLabel(label: string, device: string): void {
  validateIfName(label);
  if (label !== device && !label.startsWith(`${device}:`)) {
    throw new VigilError('VIGIL_ERR_ADDR_INVALID', `label ${label} must be ${device} or start with ${device}:`);
  }
}

/** True when `address` lies in `net/prefixLength` (both of one family). */
export function inSubnet(address: string, net: string, prefixLength: number): boolean {
  const family = validateAddress(address);
  if (validateAddress(net) !== family) return false;
  if (family === 6) return ipv6InSubnet(address, net, prefixLength);
  const a = ipv4Bytes(address).readUInt32BE(0);
  const n = ipv4Bytes(net).readUInt32BE(0);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return (a & mask) >>> 0 === (n & mask) >>> 0;
}

/** The broadcast address of `address/prefixLength`, undefined for /31 and /32. */
export function broadcastOf(address: string, prefixLength: number): string | undefined {
  if (prefixLength >= 31 || validateAddress(address) === 6) return undefined;
  const a = ipv4Bytes(address).readUInt32BE(0);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const b = Buffer.alloc(4);
  b.writeUInt32BE((a | ~mask) >>> 0, 0);
  return formatIPv4(b);
}

interface RawAddrInfo {
  family?: unknown;
  local?: unknown;
  prefixlen?: unknown;
  broadcast?: unknown;
  label?: unknown;
  secondary?: unknown;
  dynamic?: unknown;
  scope?: unknown;
  valid_life_time?: unknown;
  preferred_life_time?: unknown;
  tentative?: unknown;
  dadfailed?: unknown;
}

function lifetime(v: unknown): number | undefined {
  return typeof v === 'number' && v !== FOREVER ? v : undefined;
}

/** Parses `ip -json [-4|-6] addr show` output. Exported for tests. */
export function parseIpAddrJson(text: string): AddressInfo[] {
  let data: unknown;
  try {
    data = JSON.parse(text === '' ? '[]' : text);
  } catch (e) {
    throw new VigilError('VIGIL_ERR_OS_COMMAND', `ip -json addr: unparsable output: ${String(e)}`);
  }
  if (!Array.isArray(data)) throw new VigilError('VIGIL_ERR_OS_COMMAND', 'ip -json addr: not a JSON array');
  const out: AddressInfo[] = [];
  for (const link of data as unknown[]) {
    if (typeof link !== 'object' || link === null) continue;
    const l = link as { ifname?: unknown; addr_info?: unknown };
    if (typeof l.ifname !== 'string' || !Array.isArray(l.addr_info)) continue;
    for (const ai of l.addr_info as RawAddrInfo[]) {
      if (typeof ai.local !== 'string' || typeof ai.prefixlen !== 'number') continue;
      if (ai.family !== 'inet' && ai.family !== 'inet6') continue;
      out.push({
        address: ai.local,
        family: ai.family === 'inet' ? 4 : 6,
        prefixLength: ai.prefixlen,
        device: l.ifname,
        label: typeof ai.label === 'string' ? ai.label : l.ifname,
        broadcast: typeof ai.broadcast === 'string' ? ai.broadcast : undefined,
        secondary: ai.secondary === true,
        dynamic: ai.dynamic === true,
        scope: ai.scope === 'link' ? 'link' : ai.scope === 'host' ? 'host' : 'global',
        tentative: ai.tentative === true,
        dadFailed: ai.dadfailed === true,
        validLifetimeSec: lifetime(ai.valid_life_time),
        preferredLifetimeSec: lifetime(ai.preferred_life_time),
      });
    }
  }
  return out;
}

/**
 * Picks the NIC for `address` among configured addresses of its family (longest prefix wins; lo never matches, nor do
 * host-wide addresses: IPv4 /32, IPv6 /128, and IPv6 link-local ones, which every interface has).
 */
export function pickNic(address: string, addrs: readonly AddressInfo[]): NicMatch | undefined {
  const family = validateAddress(address);
  let best: AddressInfo | undefined;
  for (const a of addrs) {
    if (a.family !== family || a.device === 'lo' || a.scope === 'host') continue;
    if (family === 4 && (a.prefixLength >= 32 || a.address.startsWith('127.'))) continue;
    if (family === 6 && (a.prefixLength >= 128 || a.scope === 'link' || isLinkLocalIPv6(a.address))) continue;
    if (!inSubnet(address, a.address, a.prefixLength)) continue;
    if (
      best === undefined ||
      a.prefixLength > best.prefixLength ||
      (a.prefixLength === best.prefixLength && best.secondary && !a.secondary)
    ) {
      best = a;
    }
  }
  if (best === undefined) return undefined;
  return {
    device: best.device,
    prefixLength: best.prefixLength,
    broadcast: family === 4 ? (best.broadcast ?? broadcastOf(best.address, best.prefixLength)) : undefined,
    localAddress: best.address,
  };
}

/** The first `<device>:<n>` not among `used`. */
export function firstFreeLabel(device: string, used: Iterable<string>): string {
  const taken = new Set(used);
  for (let n = 0; n < 1_000_000; n++) {
    const label = `${device}:${n}`;
    if (label.length > MAX_IFNAME) {
      throw new VigilError(
        'VIGIL_ERR_ADDR_INVALID',
        `no room for a ${device}:<n> label (labels are at most ${MAX_IFNAME} characters)`,
      );
    }
    if (!taken.has(label)) return label;
  }
  throw new VigilError('VIGIL_ERR_ADDR_INVALID', `no free label on ${device}`);
}

/** The real AddressManager: iproute2. */
/** What any address manager derives from its own listing: lookups by address and the next free label. */
export abstract class ListedAddresses {
  abstract list(device?: string, family?: AddressFamily): Promise<AddressInfo[]>;

  async find(address: string): Promise<AddressInfo | undefined> {
    return (await this.list(undefined, validateAddress(address))).find((a) => a.address === address);
  }

  async findNic(address: string): Promise<NicMatch | undefined> {
    return pickNic(address, await this.list(undefined, validateAddress(address)));
  }

  /** Labels (eth1:0) are IPv4's: IPv6 addresses have none. */
  async nextLabel(device: string): Promise<string> {
    validateIfName(device);
    return firstFreeLabel(
      device,
      (await this.list(device, 4)).map((a) => a.label),
    );
  }
}

export class IpCommandAddressManager extends ListedAddresses implements AddressManager {
  private readonly ipPath: string;
  private readonly prefixArgs: readonly string[];
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private netlink: boolean;

  constructor(options: IpCommandOptions = {}) {
    super();
    this.ipPath = options.ipPath ?? 'ip';
    if (options.netns !== undefined && !/^[A-Za-z0-9_.-]+$/.test(options.netns)) {
      throw new VigilError('VIGIL_ERR_USAGE', `bad netns name ${options.netns}`);
    }
    this.prefixArgs = options.netns === undefined ? [] : ['-n', options.netns];
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.now = options.now ?? (() => performance.now());
    this.netlink = options.netlink ?? options.netns === undefined;
    if (this.netlink && options.netns !== undefined) {
      throw new VigilError('VIGIL_ERR_USAGE', 'netlink and netns cannot be combined');
    }
  }

  /** Runs `fn` over netlink; on a libc/koffi failure switches to `ip` for good and returns undefined. */
  private async viaNetlink<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (!this.netlink) return undefined;
    try {
      return await fn();
    } catch (e) {
      if (e instanceof VigilError && (e.code === 'VIGIL_ERR_FFI' || e.code === 'VIGIL_ERR_SOCKET')) {
        this.netlink = false;
        return undefined;
      }
      throw e;
    }
  }

  /** Runs ip; resolves with stdout, or rejects with VIGIL_ERR_OS_COMMAND carrying ip's stderr. */
  private async run(args: readonly string[]): Promise<string> {
    const argv = [...this.prefixArgs, ...args];
    const r = await runProgram(this.ipPath, argv, {
      timeoutMs: this.timeoutMs,
      // ip is a leaf program: SIGTERM ends it unless it is stuck in the kernel, where no grace helps.
      killGraceMs: 500,
      maxOutputBytes: MAX_IP_OUTPUT,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const failure = r.truncated ? `output larger than ${MAX_IP_OUTPUT} bytes` : runFailure(r);
    if (failure === '') return r.stdout;
    const text = r.stderr.trim() || failure;
    const e = new VigilError('VIGIL_ERR_OS_COMMAND', `${this.ipPath} ${argv.join(' ')}: ${text}`);
    throw Object.assign(e, { stderr: text });
  }

  async list(device?: string, family?: AddressFamily): Promise<AddressInfo[]> {
    if (device !== undefined) validateIfName(device);
    const fast = await this.viaNetlink(async () => {
      if (device !== undefined && interfaceIndex(device) === 0) {
        throw new VigilError('VIGIL_ERR_OS_COMMAND', `Device "${device}" does not exist.`);
      }
      const all = await netlinkListAddresses(family ?? 'both');
      return device === undefined ? all : all.filter((a) => a.device === device);
    });
    if (fast !== undefined) return fast;
    const args = ['-json', ...(family === undefined ? [] : [`-${family}`]), 'addr', 'show'];
    if (device !== undefined) args.push('dev', device);
    return parseIpAddrJson(await this.run(args));
  }

  private async findOn(address: string, device: string): Promise<AddressInfo | undefined> {
    return (await this.list(device, validateAddress(address))).find((a) => a.address === address);
  }

  async add(opts: AddAddressOptions): Promise<void> {
    const family = validateAddress(opts.address);
    validatePrefix(opts.prefixLength, family);
    validateIfName(opts.device);
    if (family === 6 && (opts.label !== undefined || (opts.broadcast !== undefined && opts.broadcast !== 'none'))) {
      throw new VigilError('VIGIL_ERR_ADDR_INVALID', `${opts.address}: IPv6 addresses have no label and no broadcast`);
    }
    const args = ['addr', 'add', `${opts.address}/${opts.prefixLength}`];
    const brd = opts.broadcast ?? (family === 4 ? '+' : 'none');
    if (brd !== 'none') {
      if (brd !== '+') validateAddress(brd);
      if (brd !== '+' || opts.prefixLength < 31) args.push('brd', brd);
    }
    args.push('dev', opts.device);
    if (opts.label !== undefined) {
      validateLabel(opts.label, opts.device);
      args.push('label', opts.label);
    }
    const nodad = family === 6 && opts.nodad === true;
    if (nodad) args.push('nodad');
    if (opts.lifetimeSec !== undefined) {
      validateLifetime(opts.lifetimeSec);
      args.push('valid_lft', String(opts.lifetimeSec), 'preferred_lft', String(opts.lifetimeSec));
    }
    const fast = await this.viaNetlink(async () => {
      const ifindex = interfaceIndex(opts.device);
      if (ifindex === 0) throw new VigilError('VIGIL_ERR_OS_COMMAND', `Device "${opts.device}" does not exist.`);
      const broadcast = brd === 'none' ? undefined : brd === '+' ? broadcastOf(opts.address, opts.prefixLength) : brd;
      await netlinkAddAddress({
        address: opts.address,
        prefixLength: opts.prefixLength,
        ifindex,
        ...(opts.label !== undefined ? { label: opts.label } : {}),
        ...(broadcast !== undefined ? { broadcast } : {}),
        ...(opts.lifetimeSec !== undefined ? { lifetimeSec: opts.lifetimeSec } : {}),
        ...(nodad ? { nodad } : {}),
      });
      return true;
    });
    if (fast !== undefined) return;
    try {
      await this.run(args);
    } catch (e) {
      // Messages differ between kernel versions ("File exists", "Address already assigned"): ask instead.
      if ((await this.findOn(opts.address, opts.device).catch(() => undefined)) !== undefined) {
        throw new VigilError('VIGIL_ERR_ADDR_EXISTS', `${opts.address} is already on ${opts.device}`, undefined, {
          cause: e,
        });
      }
      throw e;
    }
  }

  async renew(address: string, device: string, lifetimeSec: number, prefixLength?: number): Promise<RenewResult> {
    const family = validateAddress(address);
    validateIfName(device);
    validateLifetime(lifetimeSec);
    if (prefixLength !== undefined) validatePrefix(prefixLength, family);
    const fast = await this.viaNetlink(() => this.renewOverNetlink(address, device, lifetimeSec, prefixLength));
    if (fast !== undefined) return fast;
    const t0 = this.now();
    const before = await this.findOn(address, device);
    if (before === undefined) return 'absent';
    await this.run([
      'addr',
      'change',
      `${address}/${before.prefixLength}`,
      'dev',
      device,
      'valid_lft',
      String(lifetimeSec),
      'preferred_lft',
      String(lifetimeSec),
    ]);
    const elapsed = this.now() - t0;
    // The kernel reports whole seconds, truncating the time spent: the real remainder may be up to 1 s shorter.
    if (before.validLifetimeSec === undefined || elapsed < (before.validLifetimeSec - 1) * 1000) return 'renewed';
    // The lease could have run out between the check and the change, in which case `change` re-created the
    // address: a re-created one has lost its label and broadcast. When the original had neither, we cannot tell,
    // and removing is the safe side (a short outage beats two holders).
    const afterwards = await this.findOn(address, device);
    const distinguishable = before.label !== device || before.broadcast !== undefined;
    if (
      afterwards !== undefined &&
      distinguishable &&
      afterwards.label === before.label &&
      afterwards.broadcast === before.broadcast
    ) {
      return 'renewed';
    }
    if (afterwards !== undefined) await this.remove(address, device);
    return 'expired';
  }

  /**
   * One request when the prefix length is known (the holder's every renewal): the kernel checks and renews in one
   * step and never re-creates the address (netlink.ts encodeRenew), so there is no 'expired' case here. Without
   * the prefix, or when the kernel refuses, a dump tells an absent address from one readdressed by hand.
   */
  private async renewOverNetlink(
    address: string,
    device: string,
    lifetimeSec: number,
    prefixLength: number | undefined,
  ): Promise<RenewResult> {
    const ifindex = interfaceIndex(device);
    if (ifindex === 0) throw new VigilError('VIGIL_ERR_OS_COMMAND', `Device "${device}" does not exist.`);
    if (prefixLength !== undefined) {
      if ((await netlinkRenewAddress(address, prefixLength, ifindex, lifetimeSec)) === 'renewed') return 'renewed';
    }
    const here = async (): Promise<AddressInfo | undefined> =>
      (await netlinkListAddresses(validateAddress(address))).find((a) => a.address === address && a.device === device);
    const found = await here();
    if (found === undefined) return 'absent';
    if ((await netlinkRenewAddress(address, found.prefixLength, ifindex, lifetimeSec)) === 'renewed') return 'renewed';
    // Listed, then refused: it vanished in between, or the kernel refuses for a reason of its own.
    if ((await here()) === undefined) return 'absent';
    throw new VigilError(
      'VIGIL_ERR_OS_COMMAND',
      `rtnetlink: lease renewal of ${address}/${found.prefixLength} on ${device} refused (EINVAL)`,
    );
  }

  async remove(address: string, device: string, prefixLength?: number): Promise<boolean> {
    const family = validateAddress(address);
    validateIfName(device);
    if (prefixLength !== undefined) validatePrefix(prefixLength, family);
    // Over netlink an IPv4 removal matches on the address alone (netlink.ts encodeDelAddr): no dump first. IPv6
    // matches the prefix length too: without it from the caller, one dump to learn it.
    const fast = await this.viaNetlink(async () => {
      const ifindex = interfaceIndex(device);
      if (ifindex === 0) throw new VigilError('VIGIL_ERR_OS_COMMAND', `Device "${device}" does not exist.`);
      if (family === 4) return await netlinkDelAddress(address, ifindex);
      const prefix =
        prefixLength ??
        (await netlinkListAddresses(6)).find((a) => a.address === address && a.device === device)?.prefixLength;
      if (prefix === undefined) return false;
      if (await netlinkDelAddress(address, ifindex, prefix)) return true;
      // Known to the caller with another prefix (readdressed by hand): the dump knows better.
      if (prefixLength === undefined) return false;
      const actual = (await netlinkListAddresses(6)).find((a) => a.address === address && a.device === device);
      return actual !== undefined && actual.prefixLength !== prefix
        ? await netlinkDelAddress(address, ifindex, actual.prefixLength)
        : false;
    });
    if (fast !== undefined) return fast;
    const found = await this.findOn(address, device);
    if (found === undefined) return false;
    try {
      await this.run(['addr', 'del', `${address}/${found.prefixLength}`, 'dev', device]);
    } catch (e) {
      // Gone in between (an expiring lease): that is what we wanted.
      if ((await this.findOn(address, device)) === undefined) return false;
      throw e;
    }
    return true;
  }
}
