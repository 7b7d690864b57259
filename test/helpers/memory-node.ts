/**
 * The daemon's node without root: a real VigilNode (real packets, signed and sequenced) on the in-memory network,
 * a simulated clock, VIPs on an in-memory address manager. Only sockets, `ip` and ARP are fakes. Shared by the node
 * tests and the observability tests.
 */
import { compileConfig } from '../../src/config/compile.js';
import type { CompiledConfig } from '../../src/config/types.js';
import { ResourceManager } from '../../src/daemon/resources.js';
import { VigilNode } from '../../src/daemon/node.js';
import { Logger } from '../../src/obs/log.js';
import { MemoryAddressManager } from '../../src/os/address-memory.js';
import type { ArpAnnouncer } from '../../src/os/garp.js';
import type { MemoryNetwork } from '../../src/transport/memory.js';
import type { SimulatedClock } from '../../src/util/clock.js';

export const MEMORY_DIR = '/etc/ha.d';
export const MEMORY_KEYS = 'auth 1\n1 sha1 secret\n';
/** linux1 and linux2 on one broadcast medium, 100 ms heartbeats, 1 s deadtime; no lease or GARP timers. */
export const MEMORY_HACF =
  'keepalive 100ms\ndeadtime 1\nwarntime 500ms\ninitdead 2\nbcast eth1\nauto_failback on\n' +
  'vigil_vip_lease off\nvigil_garp_refresh 0\nnode linux1 linux2\n';
export const MEMORY_GROUP = 'IPaddr::10.0.0.50/24/eth1';

export function memoryConfig(
  local: string,
  hacf = MEMORY_HACF,
  haresources = `linux1 ${MEMORY_GROUP}\n`,
): CompiledConfig {
  return compileConfig({
    configDir: MEMORY_DIR,
    localNode: local,
    hacf: { file: `${MEMORY_DIR}/ha.cf`, text: hacf },
    authkeys: { file: `${MEMORY_DIR}/authkeys`, text: MEMORY_KEYS, mode: 0o600 },
    haresources: { file: `${MEMORY_DIR}/haresources`, text: haresources },
  }).config;
}

const noArp: ArpAnnouncer = { announce: () => Promise.resolve({ method: 'packet', pairsSent: 0 }) };

export interface MemoryHost {
  readonly name: string;
  readonly node: VigilNode;
  readonly ips: MemoryAddressManager;
  /** Every log line's text (debug level 1 on). */
  readonly lines: string[];
  /** What reached the node's fatal handler. */
  readonly fatal: unknown[];
}

/** Node `name` as the n-th host of the segment (10.0.0.n on eth1, uuid filled with n, generation 100 + n). */
export function memoryHost(
  net: MemoryNetwork,
  clock: SimulatedClock,
  name: string,
  n: number,
  o: { config?: CompiledConfig; extra?: Partial<ConstructorParameters<typeof VigilNode>[0]> } = {},
): MemoryHost {
  const config = o.config ?? memoryConfig(name);
  const lines: string[] = [];
  const logger = new Logger({
    node: name,
    pid: n,
    tag: 'heartbeat',
    now: () => new Date(clock.wallNow()),
    sinks: [{ write: (_l, _line, text) => void lines.push(text), close: () => Promise.resolve() }],
  });
  logger.debugLevel = 1;
  const ips = new MemoryAddressManager(clock, { eth1: [`10.0.0.${n}/24`] });
  const resources = new ResourceManager({ config, logger, addresses: ips, arp: noArp });
  const fatal: unknown[] = [];
  const node = new VigilNode({
    config,
    logger,
    uuid: new Uint8Array(16).fill(n),
    generation: 100 + n,
    media: [net.medium({ segment: 'lan', address: `10.0.0.${n}`, device: 'eth1' })],
    resources,
    scheduler: clock,
    loadavg: () => '0.00 0.00 0.00 1/1 1',
    random: () => 0.5,
    onStopped: () => undefined,
    onFatal: (e) => fatal.push(e),
    ...o.extra,
  });
  return { name, node, ips, lines, fatal };
}

/** Advance simulated time in small steps, letting deliveries and promise chains run between them. */
export async function runFor(clock: SimulatedClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advance(10);
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  }
}
