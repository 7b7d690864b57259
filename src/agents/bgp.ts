/**
 * `bgp`: a routed VIP announced to a router by BIRD 2 on this node while the group is held here.
 *
 * How Vigil drives BIRD: the VIP is put on a local interface (`lo` by default) as a /32 (IPv4) or a /128 (IPv6,
 * `nodad`), over netlink and with the same kernel lease as IPaddr's VIPs; BIRD's `direct` protocol (an ipv4 and an
 * ipv6 channel) sees the address appear (a netlink event, no polling) and exports it over BGP through
 * `vigil_export()`, which sets this node's MED and communities; removing the address withdraws the route at once. Both live in one file Vigil writes for bird.conf to include
 * (`/etc/bird/vigil.conf`), rewritten, followed by `birdc configure`, only when haresources changes it.
 *
 * Why this way and not a static route added by `birdc configure` on every move (or GoBGP's API, or ExaBGP's
 * pipe): the takeover path spawns nothing and parses no configuration, and the announcement lives exactly as long
 * as the address: a daemon killed with -9 or frozen past its lease loses the address to the kernel, and BIRD then
 * withdraws the route by itself. A static route would stay announced for ever after a crash.
 */
import { readFile } from 'node:fs/promises';
import type { BgpSpec } from '../config/geo-resources.js';
import type { AddressManager } from '../os/ip.js';
import { writeFileAtomic } from '../os/atomic-file.js';
import { runProgram } from '../os/spawn.js';
import { VigilError, errorMessage } from '../util/errors.js';
import type { OpResult, ResourceAgent, StatusResult } from './agent.js';
import { IpAddrAgent, type VipPolicy } from './ipaddr.js';

/** BIRD's protocol and function names in the include file. */
export const BIRD_PROTOCOL = 'vigil_vips';
export const BIRD_EXPORT_FUNCTION = 'vigil_export';
const BIRDC_TIMEOUT_MS = 5000;
const NETWORK_NOT_FOUND = /^\s*Network not found\s*$/m;
/** How long start waits for BIRD to pick the new address up (it takes a netlink event, milliseconds). */
const ANNOUNCE_WAIT_MS = 2000;

/** One VIP as this node announces it. */
export interface BirdRoute {
  /** IPv4 or IPv6 (any notation BIRD reads): announced as a /32 or a /128. */
  readonly vip: string;
  readonly dev: string;
  readonly med: number;
  readonly communities: readonly (readonly [number, number])[];
}

/** The host prefix a VIP is announced as: `/32` for IPv4, `/128` for IPv6. */
export function hostPrefixLength(vip: string): 32 | 128 {
  return vip.includes(':') ? 128 : 32;
}

/**
 * The include file: the direct protocol on the VIPs' interfaces and the export function (pure). Both channels are
 * always there, so the file does not change shape when an IPv6 VIP is added: an ipv6 channel with no IPv6 session to
 * export to costs BIRD nothing. `net = <prefix>` compares the network type first, so an IPv4 route never matches an
 * IPv6 line (BIRD raises no runtime error on the mixed comparison).
 */
export function renderBirdInclude(routes: readonly BirdRoute[], node: string): string {
  const devs = [...new Set(routes.map((r) => r.dev))].sort();
  const lines = [
    `# Written by Vigil for node ${node} from haresources: do not edit (it is rewritten when haresources changes).`,
    '# In bird.conf: include this file, and export with it towards the router, e.g.',
    `#   protocol bgp uplink { local as 65001; neighbor 10.20.1.1 as 65000; ipv4 { import none; export where ${BIRD_EXPORT_FUNCTION}(); }; }`,
    `#   (IPv6 VIPs: the same on a session with an ipv6 channel)`,
    `# A VIP is announced while Vigil holds it here (the /32 or /128 is then on ${devs.join(', ') || 'lo'}).`,
    `protocol direct ${BIRD_PROTOCOL} {`,
    '  ipv4;',
    '  ipv6;',
    `  interface ${(devs.length === 0 ? ['lo'] : devs).map((d) => `"${d}"`).join(', ')};`,
    '}',
    '',
    `function ${BIRD_EXPORT_FUNCTION}() {`,
    `  if proto != "${BIRD_PROTOCOL}" then return false;`,
  ];
  for (const r of [...routes].sort((a, b) => a.vip.localeCompare(b.vip))) {
    const set = [`bgp_med = ${r.med};`, ...r.communities.map(([a, b]) => `bgp_community.add((${a},${b}));`)];
    lines.push(`  if net = ${r.vip}/${hostPrefixLength(r.vip)} then { ${set.join(' ')} return true; }`);
  }
  lines.push('  return false;', '}', '');
  return lines.join('\n');
}

export type BirdLog = (level: 'info' | 'WARN' | 'ERROR', text: string) => void;

/** One BIRD instance (control socket) and the include file Vigil keeps for it. */
export class BirdSpeaker {
  private routes: readonly BirdRoute[] = [];
  /** What the file held when we last made sure BIRD had read it. */
  private configured: string | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    readonly include: string,
    readonly socket: string,
    private readonly node: string,
    private readonly log: BirdLog,
  ) {}

  setRoutes(routes: readonly BirdRoute[]): void {
    this.routes = routes;
  }

  /**
   * `birdc -s socket <args>`, bounded. Throws VIGIL_ERR_BGP with what birdc said, except for an answer matching
   * `answer` (a reply BIRD gives as an error that the caller reads as a result, whatever birdc's exit status).
   */
  async birdc(args: readonly string[], answer?: RegExp): Promise<string> {
    const r = await runProgram('birdc', ['-s', this.socket, ...args], { timeoutMs: BIRDC_TIMEOUT_MS });
    const out = `${r.stdout}${r.stderr}`.trim();
    if (r.spawnError !== undefined)
      throw new VigilError('VIGIL_ERR_BGP', `cannot run birdc: ${r.spawnError} (install bird2)`);
    if (r.timedOut)
      throw new VigilError('VIGIL_ERR_BGP', `birdc ${args.join(' ')}: no answer within ${BIRDC_TIMEOUT_MS} ms`);
    if (answer?.test(out) === true) return out;
    if (r.code !== 0 || /Unable to connect|Connection refused|No such file/i.test(out)) {
      throw new VigilError('VIGIL_ERR_BGP', `BIRD at ${this.socket} does not answer: ${lastLine(out)}`);
    }
    return out;
  }

  /** Writes the include file if it differs and has BIRD read it (at most one at a time). */
  ensureConfigured(): Promise<void> {
    this.pending ??= this.configure().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async configure(): Promise<void> {
    const text = renderBirdInclude(this.routes, this.node);
    if (this.configured === text) return;
    const onDisk = await readFile(this.include, 'utf8').catch(() => undefined);
    if (onDisk !== text) {
      await writeFileAtomic(this.include, text, { mode: 0o644 });
      this.log('info', `bgp: wrote ${this.include} (${this.routes.length} VIP${this.routes.length === 1 ? '' : 's'})`);
    }
    const out = await this.birdc(['configure']);
    if (/error|not found|Unknown|syntax/i.test(out.replace(/^BIRD [^\n]*ready\.\n?/, ''))) {
      throw new VigilError('VIGIL_ERR_BGP', `BIRD refused its configuration with ${this.include}: ${lastLine(out)}`);
    }
    this.configured = text;
  }

  /**
   * Whether BIRD holds the VIP's route from Vigil's direct protocol (and so exports it). BIRD prints IPv6 networks in
   * its own canonical form (`fd99::1/128` for `fd99:0:0:0:0:0:0:1`): the route is recognised by its protocol tag.
   */
  async hasRoute(vip: string): Promise<boolean> {
    // "Network not found": BIRD has not seen the address yet (start polls until it has), not a failure.
    const out = await this.birdc(
      ['show', 'route', `${vip}/${hostPrefixLength(vip)}`, 'protocol', BIRD_PROTOCOL],
      NETWORK_NOT_FOUND,
    );
    if (NETWORK_NOT_FOUND.test(out)) return false;
    if (/syntax error|No such protocol|not found/i.test(out)) {
      throw new VigilError(
        'VIGIL_ERR_BGP',
        `BIRD has no protocol ${BIRD_PROTOCOL}: add \`include "${this.include}";\` to bird.conf (${lastLine(out)})`,
      );
    }
    return out.includes(`[${BIRD_PROTOCOL} `);
  }
}

function lastLine(s: string): string {
  return (
    s
      .split('\n')
      .filter((l) => l.trim() !== '')
      .at(-1) ?? '(nothing)'
  );
}

/** GARP or an unsolicited NA on a loopback address reaches nobody: the router learns the VIP from BGP. */
const NO_ARP = { announce: () => Promise.resolve({ method: 'packet' as const, pairsSent: 0 }) };

export interface BgpAgentDeps {
  readonly addresses: AddressManager;
  readonly policy: VipPolicy;
  readonly speaker: BirdSpeaker;
  readonly med: number;
  readonly log: BirdLog;
  readonly onLost: (spec: string, why: string) => void;
}

export class BgpAgent implements ResourceAgent {
  /** The VIP on `dev`, with the lease, renewals and loss detection of IPaddr's (IPv6: IPv6addr's, nodad). */
  readonly address: IpAddrAgent;
  /** `vip/32` or `vip/128`, as logged. */
  private readonly prefix: string;

  constructor(
    readonly spec: string,
    readonly bgp: BgpSpec,
    private deps: BgpAgentDeps,
  ) {
    const v6 = hostPrefixLength(bgp.vip) === 128;
    this.prefix = `${bgp.vip}/${v6 ? 128 : 32}`;
    this.address = new IpAddrAgent(
      spec,
      v6 ? 'IPv6addr' : 'IPaddr2',
      { address: bgp.vip, cidr: v6 ? 128 : 32, nic: bgp.dev, broadcast: undefined },
      {
        addresses: deps.addresses,
        arp: NO_ARP,
        policy: deps.policy,
        log: (level, text) => {
          deps.log(level === 'CRIT' ? 'ERROR' : level, text);
        },
        onLost: deps.onLost,
      },
    );
  }

  setPolicy(policy: VipPolicy): void {
    this.deps = { ...this.deps, policy };
    this.address.setPolicy(policy);
  }

  private describe(): string {
    const c = this.bgp.communities.map(([a, b]) => `(${a},${b})`).join(' ');
    return `MED ${this.deps.med}${c === '' ? '' : `, communities ${c}`}`;
  }

  async start(): Promise<OpResult> {
    const t0 = performance.now();
    try {
      await this.deps.speaker.ensureConfigured();
    } catch (e) {
      return { ok: false, rc: 1, detail: `bgp ${this.bgp.vip}: ${errorMessage(e)}` };
    }
    const added = await this.address.start();
    if (!added.ok) return added;
    const addedMs = performance.now() - t0;
    // BIRD exports the route as soon as it sees the address; the check only confirms BIRD is there to do it.
    const deadline = t0 + ANNOUNCE_WAIT_MS;
    try {
      while (!(await this.deps.speaker.hasRoute(this.bgp.vip))) {
        if (performance.now() > deadline) {
          throw new VigilError(
            'VIGIL_ERR_BGP',
            `BIRD did not pick ${this.prefix} up on ${this.bgp.dev} within ${ANNOUNCE_WAIT_MS} ms (protocol ${BIRD_PROTOCOL})`,
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch (e) {
      return { ok: false, rc: 1, detail: `bgp ${this.bgp.vip}: ${errorMessage(e)}` };
    }
    this.deps.log(
      'info',
      `bgp: ${this.prefix} announced through BIRD (${this.describe()}): address on ${this.bgp.dev} in ${addedMs.toFixed(1)} ms, in BIRD's table ${(performance.now() - t0).toFixed(1)} ms after start`,
    );
    return { ok: true, rc: 0, detail: '' };
  }

  async stop(): Promise<OpResult> {
    const r = await this.address.stop();
    if (r.ok) this.deps.log('info', `bgp: ${this.prefix} withdrawn (address removed from ${this.bgp.dev})`);
    return r;
  }

  async status(): Promise<StatusResult> {
    const addr = await this.address.status();
    if (!addr.running) return { running: false, text: `${this.bgp.vip} is not running (not on ${this.bgp.dev})` };
    try {
      await this.deps.speaker.ensureConfigured();
      return (await this.deps.speaker.hasRoute(this.bgp.vip))
        ? { running: true, text: `${this.bgp.vip} is running: on ${this.bgp.dev} and announced by BIRD` }
        : { running: false, text: `${this.bgp.vip} is on ${this.bgp.dev} but not in BIRD's table: not running` };
    } catch (e) {
      return { running: false, text: `${this.bgp.vip}: not running: ${errorMessage(e)}` };
    }
  }
}
