/**
 * An in-memory AddressManager for tests of the layers above (resources, daemon): same contract as the iproute2 one,
 * leases expire on the injected clock (checked on every call, as if the kernel had removed them on time).
 */
import type { Clock } from '../util/clock.js';
import { VigilError } from '../util/errors.js';
import { canonicalIPv6, isLinkLocalIPv6, type AddressFamily } from '../util/inet.js';
import { validateIfName } from './libc.js';
import {
  broadcastOf,
  ListedAddresses,
  validateAddress,
  validateLabel,
  type AddAddressOptions,
  type AddressInfo,
  type AddressManager,
  type RenewResult,
} from './ip.js';

interface Entry {
  info: AddressInfo;
  /** Clock ms at which the lease runs out; undefined = forever. */
  expiresAt: number | undefined;
}

export class MemoryAddressManager extends ListedAddresses implements AddressManager {
  private entries: Entry[] = [];
  /**
   * Every mutating call, in order, for assertions: `add 10.0.0.50/24 eth1 eth1:0 30`, `add 2001:db8::50/64 eth1 - 30
   * nodad`, `renew ...`, `remove ...`.
   */
  readonly log: string[] = [];
  /** How many times the addresses were listed (a dump, on the real manager): the hot paths must not need one. */
  lists = 0;

  /** `devices`: interface name → its fixed addresses (`10.0.0.1/24`, `2001:db8::1/64`, `fe80::1/64`). */
  constructor(
    private readonly clock: Clock,
    devices: Readonly<Record<string, readonly string[]>> = {},
  ) {
    super();
    for (const [device, cidrs] of Object.entries(devices)) {
      for (const cidr of cidrs) {
        const [written = '', p = ''] = cidr.split('/');
        const address = canonicalIPv6(written) ?? written;
        const prefixLength = Number(p);
        this.entries.push({
          info: this.info(address, prefixLength, device, device, broadcastOf(address, prefixLength), undefined),
          expiresAt: undefined,
        });
      }
    }
  }

  private info(
    address: string,
    prefixLength: number,
    device: string,
    label: string,
    broadcast: string | undefined,
    lifetimeSec: number | undefined,
  ): AddressInfo {
    const family = validateAddress(address);
    return {
      address,
      family,
      prefixLength,
      device,
      label,
      broadcast,
      secondary:
        family === 4 &&
        this.entries.some(
          (e) => e.info.family === 4 && e.info.device === device && e.info.prefixLength === prefixLength,
        ),
      dynamic: lifetimeSec !== undefined,
      scope: family === 6 && isLinkLocalIPv6(address) ? 'link' : 'global',
      tentative: false,
      dadFailed: false,
      validLifetimeSec: lifetimeSec,
      preferredLifetimeSec: lifetimeSec,
    };
  }

  private expire(): void {
    const now = this.clock.now();
    this.entries = this.entries.filter((e) => e.expiresAt === undefined || e.expiresAt > now);
  }

  private current(e: Entry): AddressInfo {
    if (e.expiresAt === undefined) return e.info;
    const left = Math.ceil((e.expiresAt - this.clock.now()) / 1000);
    return { ...e.info, validLifetimeSec: left, preferredLifetimeSec: left };
  }

  list(device?: string, family?: AddressFamily): Promise<AddressInfo[]> {
    this.lists++;
    this.expire();
    return Promise.resolve(
      this.entries
        .filter(
          (e) => (device === undefined || e.info.device === device) && (family ?? e.info.family) === e.info.family,
        )
        .map((e) => this.current(e)),
    );
  }

  add(opts: AddAddressOptions): Promise<void> {
    const family = validateAddress(opts.address);
    validateIfName(opts.device);
    if (opts.label !== undefined) validateLabel(opts.label, opts.device);
    if (family === 6 && opts.label !== undefined) {
      return Promise.reject(new VigilError('VIGIL_ERR_ADDR_INVALID', `${opts.address}: IPv6 addresses have no label`));
    }
    this.expire();
    if (this.entries.some((e) => e.info.address === opts.address && e.info.device === opts.device)) {
      return Promise.reject(new VigilError('VIGIL_ERR_ADDR_EXISTS', `${opts.address} is already on ${opts.device}`));
    }
    const brd =
      opts.broadcast === 'none' || family === 6
        ? undefined
        : opts.broadcast === undefined || opts.broadcast === '+'
          ? broadcastOf(opts.address, opts.prefixLength)
          : opts.broadcast;
    const info = this.info(
      opts.address,
      opts.prefixLength,
      opts.device,
      opts.label ?? opts.device,
      brd,
      opts.lifetimeSec,
    );
    this.entries.push({
      info,
      expiresAt: opts.lifetimeSec === undefined ? undefined : this.clock.now() + opts.lifetimeSec * 1000,
    });
    this.log.push(
      `add ${opts.address}/${opts.prefixLength} ${opts.device} ${opts.label ?? '-'} ${opts.lifetimeSec ?? 'forever'}${family === 6 && opts.nodad === true ? ' nodad' : ''}`,
    );
    return Promise.resolve();
  }

  renew(address: string, device: string, lifetimeSec: number, prefixLength?: number): Promise<RenewResult> {
    this.expire();
    const e = this.entries.find((x) => x.info.address === address && x.info.device === device);
    this.log.push(`renew ${address} ${device} ${lifetimeSec}${prefixLength === undefined ? '' : ` /${prefixLength}`}`);
    if (e === undefined) return Promise.resolve('absent');
    e.expiresAt = this.clock.now() + lifetimeSec * 1000;
    e.info = { ...e.info, dynamic: true };
    return Promise.resolve('renewed');
  }

  /** As the kernel does, an IPv6 address given with another prefix length than its own is not found. */
  remove(address: string, device: string, prefixLength?: number): Promise<boolean> {
    this.expire();
    const before = this.entries.length;
    this.entries = this.entries.filter(
      (x) =>
        !(
          x.info.address === address &&
          x.info.device === device &&
          (x.info.family === 4 || prefixLength === undefined || x.info.prefixLength === prefixLength)
        ),
    );
    this.log.push(`remove ${address} ${device}${prefixLength === undefined ? '' : ` /${prefixLength}`}`);
    return Promise.resolve(this.entries.length < before);
  }
}
