import { errorMessage } from '../util/errors.js';
import type { OpResult, ResourceAgent, StatusResult } from '../agents/agent.js';
import { BgpAgent, BirdSpeaker, type BirdRoute } from '../agents/bgp.js';
import { DnsUpdateAgent, type DnsUpdateContext } from '../agents/dnsupdate.js';
import { bgpMedFor } from '../config/geo-resources.js';
import { createMailToAgent, type MailToAgent, type MailToContext } from '../agents/mailto.js';
import { IpAddrAgent, ON_BEAT_DUE_FRACTION, defaultLeaseSec, type VipPolicy } from '../agents/ipaddr.js';
import { locateAgent } from '../agents/lookup.js';
import { OcfAgent } from '../agents/ocf.js';
import { ScriptAgent, type ScriptObserver } from '../agents/script.js';
import { SystemdAgent } from '../agents/systemd.js';
import type { CompiledConfig, Resource, ResourceGroup } from '../config/types.js';
import { IP_AGENTS } from '../config/haresources.js';
import type { ArpAnnouncer } from '../os/garp.js';
import type { AddressManager } from '../os/ip.js';
import type { Logger } from '../obs/log.js';
import { GroupRunner, type ReleaseOutcome } from '../resources/group.js';
import { join } from 'node:path';

/** vigil_quorum etcd: what the resource layer needs to know of the etcd lease of each group. */
export interface QuorumHooks {
  /** The monotonic instant by which the group's VIP must be gone (undefined: no cap). */
  readonly vipDeadline: (group: string) => number | undefined;
  /** The fencing token (etcd revision of the group's key) while this node owns it. */
  readonly fencingToken: (group: string) => number | undefined;
}

export interface ResourceManagerDeps {
  readonly config: CompiledConfig;
  readonly logger: Logger;
  readonly addresses: AddressManager;
  readonly arp: ArpAnnouncer;
}

interface ScriptOptions {
  /** The resource group the script belongs to (its environment is the group's own). */
  readonly group: string;
  /** Where resource.d is (and, beside it, init.d and the OCF agents are looked up). */
  readonly configDir: string;
  readonly env: NodeJS.ProcessEnv;
  /** Per script call (`vigil_script_timeout`; Heartbeat has none: a hung script must not hang failover). */
  readonly timeoutMs: number;
  readonly observer: ScriptObserver;
}

/** What the VIP lease directive resolves to for this cluster. */
export function vipPolicy(config: CompiledConfig): VipPolicy {
  const h = config.hacf;
  const lease = h.vigil.vipLease;
  const leaseSec =
    lease === 'off' ? undefined : lease === 'auto' ? defaultLeaseSec(h.deadtimeMs, h.keepaliveMs) : Number(lease);
  // Renew four times per lease: three renewals in a row can be late (a stalled loop) before the kernel drops the
  // VIP. No faster than that: every renewal is a wake-up of an otherwise idle daemon.
  const renewIntervalMs = leaseSec === undefined ? 1000 : Math.max(200, Math.min(2500, (leaseSec * 1000) / 4));
  // On the heartbeat a renewal goes out at the first beat 3/4 of the interval after the last: at keepalive 1 s and
  // a 7 s lease, every 2 s. Only while that still renews three times per lease; else on a timer of its own.
  const k = h.keepaliveMs;
  const onBeatEvery = Math.ceil((renewIntervalMs * ON_BEAT_DUE_FRACTION) / k) * k;
  const onBeat = leaseSec === undefined || onBeatEvery * 3 <= leaseSec * 1000;
  return {
    leaseSec,
    renewIntervalMs,
    garpCount: 10,
    garpIntervalMs: 500,
    garpRefreshMs: h.vigil.garpRefreshMs,
    onBeat,
  };
}

/**
 * `MailTo::addr[::subject]`. A Heartbeat admin's MailTo is resource-agents' script, which pipes to `mail` (the
 * local MTA): that stays so, untouched, unless ha.cf names one of the `vigil_mail_*` directives — the admin then
 * asked for Vigil's own SMTP client (relay, language, templates), which needs no local MTA at all.
 */
function builtinMail(config: CompiledConfig): boolean {
  const raw = config.hacf.raw;
  return ['vigil_mail_relay', 'vigil_mail_lang', 'vigil_mail_templates'].some((k) => raw[k] !== undefined);
}

/** Whether a haresources resource runs a script (found by Heartbeat's lookup) rather than a built-in agent. */
export function runsScript(config: CompiledConfig, r: Resource): boolean {
  if (r.type === 'MailTo' && builtinMail(config)) return false;
  if (r.dns !== undefined || r.bgp !== undefined) return false;
  return !(IP_AGENTS.has(r.type) && r.ip !== undefined);
}

/** The environment Heartbeat gives resource scripts (HA_* from ha.cf, `env` lines as HA_N=V). */
export function scriptEnv(config: CompiledConfig): NodeJS.ProcessEnv {
  const h = config.hacf;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HA_DIR: config.configDir,
    HA_FUNCS: join(config.configDir, 'shellfuncs'),
    HA_CURHOST: h.localNode,
    HA_LOGFACILITY: h.logfacility ?? 'none',
    HA_DATEFMT: '%Y/%m/%d_%T ',
    HA_NICEFAILBACK: h.niceFailback ? 'yes' : 'no',
    HA_debug: String(h.debug),
    HA_LOGD: h.useLogd ? 'yes' : 'no',
  };
  if (h.logfile !== undefined) env.HA_LOGFILE = h.logfile;
  if (h.debugfile !== undefined) env.HA_DEBUGLOG = h.debugfile;
  for (const [k, v] of Object.entries(h.env)) env[`HA_${k}`] = v;
  return env;
}

/**
 * Carries out what the cluster engine decides: one GroupRunner per haresources line, operations on a group
 * strictly one after another (an acquire and a release of the same group must never overlap).
 */
export class ResourceManager {
  private readonly runners = new Map<string, GroupRunner>();
  /** Runners of groups a reload changed: they take over at the group's next start (the old one stops it). */
  private readonly pending = new Map<string, GroupRunner>();
  /** Runners of groups a reload removed: kept until their group is stopped here. */
  private readonly retired = new Map<string, GroupRunner>();
  private readonly agentsOf = new Map<GroupRunner, ResourceAgent[]>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** One per BIRD (include file and control socket) the bgp resources name. */
  private readonly speakers = new Map<string, BirdSpeaker>();
  private lostHandler: (group: string, why: string) => void = () => undefined;
  /** vigil_quorum etcd (set by the node): the VIP deadline and the fencing token of each group. */
  private quorum: QuorumHooks | undefined;
  /** Each group's script environment: one object per group, so that its fencing token can be set per call. */
  private readonly envOf = new Map<string, NodeJS.ProcessEnv>();
  policy: VipPolicy;
  private deps: ResourceManagerDeps;

  constructor(deps: ResourceManagerDeps) {
    this.deps = deps;
    this.policy = vipPolicy(deps.config);
    this.refreshSpeakers();
    for (const g of deps.config.groups) this.runners.set(g.key, this.makeRunner(g));
  }

  private makeRunner(g: ResourceGroup): GroupRunner {
    const agents = g.resources.map((r) => this.agentFor(g, r));
    const runner = new GroupRunner(g.node, g.key, agents, {
      log: (level, text) => {
        this.deps.logger.script(level, text);
      },
      stopRetries: 10,
      stopRetryDelayMs: 1000,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
    this.agentsOf.set(runner, agents);
    return runner;
  }

  /** The IP agents that may hold an address: those of current runners and of removed groups still stopping. */
  private ipAgentsOf(runners: Iterable<GroupRunner>): IpAddrAgent[] {
    const out: IpAddrAgent[] = [];
    for (const r of runners) {
      for (const a of this.agentsOf.get(r) ?? []) {
        if (a instanceof IpAddrAgent) out.push(a);
        else if (a instanceof BgpAgent) out.push(a.address);
      }
    }
    return out;
  }

  private get ipAgents(): IpAddrAgent[] {
    return this.ipAgentsOf([...this.runners.values(), ...this.retired.values()]);
  }

  /**
   * A reload. Unchanged groups keep their runners; their agents take the new settings (VIP lease, ARP refresh,
   * script environment and timeout, mail settings) at their next call. A changed group gets a new runner at its
   * next start, so that the old one stops what it started; a removed one keeps its runner until it is stopped.
   */
  reconfigure(
    config: CompiledConfig,
    groups: {
      readonly added: readonly string[];
      readonly removed: readonly string[];
      readonly changed: readonly string[];
    },
  ): void {
    this.deps = { ...this.deps, config };
    this.policy = vipPolicy(config);
    this.refreshSpeakers();
    const byKey = new Map(config.groups.map((g) => [g.key, g]));
    for (const [runner, agents] of this.agentsOf) {
      if (!this.isLive(runner)) continue;
      for (const a of agents) {
        if (a instanceof IpAddrAgent || a instanceof BgpAgent) a.setPolicy(this.policy);
        else if (a instanceof LazyScriptAgent) a.reconfigure(this.scriptOptions(a.group));
        else if (a instanceof LazyMailToAgent) a.reconfigure(this.mailContext(a.group));
        else if (a instanceof DnsUpdateAgent) a.reconfigure(this.dnsContext());
      }
    }
    for (const k of groups.added) {
      const g = byKey.get(k);
      if (g !== undefined) this.runners.set(k, this.makeRunner(g));
    }
    for (const k of groups.changed) {
      const g = byKey.get(k);
      if (g !== undefined) this.pending.set(k, this.makeRunner(g));
    }
    for (const k of groups.removed) {
      const r = this.runners.get(k);
      this.runners.delete(k);
      this.pending.delete(k);
      if (r !== undefined) this.retired.set(k, r);
    }
  }

  private isLive(r: GroupRunner): boolean {
    for (const x of this.runners.values()) if (x === r) return true;
    for (const x of this.retired.values()) if (x === r) return true;
    return false;
  }

  private speakerKey(include: string, socket: string): string {
    return `${include}\0${socket}`;
  }

  /**
   * Every BIRD's include file lists the VIPs of every group that names it, whoever holds them now. Written (and
   * BIRD reconfigured) at start-up and on reload, so that a takeover finds it done; a BIRD not up yet is tried again
   * by the first start or status.
   */
  private refreshSpeakers(): void {
    const h = this.deps.config.hacf;
    const routes = new Map<string, BirdRoute[]>();
    for (const g of this.deps.config.groups) {
      for (const r of g.resources) {
        if (r.bgp === undefined) continue;
        const key = this.speakerKey(r.bgp.include, r.bgp.socket);
        if (!this.speakers.has(key)) {
          this.speakers.set(
            key,
            new BirdSpeaker(r.bgp.include, r.bgp.socket, h.localNode, (level, text) => {
              this.deps.logger.script(level, text);
            }),
          );
        }
        const list = routes.get(key) ?? [];
        list.push({
          vip: r.bgp.vip,
          dev: r.bgp.dev,
          med: bgpMedFor(r.bgp, h.localNode, g.node),
          communities: r.bgp.communities,
        });
        routes.set(key, list);
      }
    }
    for (const [key, s] of this.speakers) {
      s.setRoutes(routes.get(key) ?? []);
      if (!routes.has(key)) continue;
      s.ensureConfigured().catch((e: unknown) => {
        this.deps.logger.script('WARN', `bgp: ${errorMessage(e)}`);
      });
    }
  }

  private agentFor(g: ResourceGroup, r: Resource): ResourceAgent {
    if (r.dns !== undefined) return new DnsUpdateAgent(r.spec, r.dns, this.dnsContext());
    if (r.bgp !== undefined) {
      const speaker = this.speakers.get(this.speakerKey(r.bgp.include, r.bgp.socket));
      if (speaker === undefined) throw new Error(`no BIRD speaker for ${r.spec}`);
      return new BgpAgent(r.spec, r.bgp, {
        addresses: this.deps.addresses,
        policy: this.policy,
        speaker,
        med: bgpMedFor(r.bgp, this.deps.config.hacf.localNode, g.node),
        log: (level, text) => {
          this.deps.logger.script(level, text);
        },
        onLost: (_spec, why) => {
          this.lostHandler(g.key, why);
        },
      });
    }
    if (r.type === 'MailTo' && builtinMail(this.deps.config))
      return new LazyMailToAgent(r, g.key, this.mailContext(g.key));
    if (IP_AGENTS.has(r.type) && r.ip !== undefined) {
      const kind = r.type === 'IPaddr' ? 'IPaddr' : r.type === 'IPv6addr' ? 'IPv6addr' : 'IPaddr2';
      return new IpAddrAgent(r.spec, kind, r.ip, {
        addresses: this.deps.addresses,
        arp: this.deps.arp,
        policy: this.policy,
        log: (level, text) => {
          this.deps.logger.log(level, text);
        },
        onLost: (_spec, why) => {
          this.lostHandler(g.key, why);
        },
        leaseCap: () => this.quorum?.vipDeadline(g.key),
      });
    }
    return new LazyScriptAgent(r, this.scriptOptions(g.key));
  }

  /** vigil_quorum etcd: the node's hooks (VIP deadlines, fencing tokens). */
  setQuorum(hooks: QuorumHooks): void {
    this.quorum = hooks;
  }

  /** Before each operation of a group: its scripts see VIGIL_FENCING_TOKEN while this node owns its etcd key. */
  private stampToken(group: string): void {
    const env = this.envOf.get(group);
    if (env === undefined) return;
    const token = this.quorum?.fencingToken(group);
    if (token === undefined) delete env.VIGIL_FENCING_TOKEN;
    else env.VIGIL_FENCING_TOKEN = String(token);
  }

  private dnsContext(): DnsUpdateContext {
    return {
      node: this.deps.config.hacf.localNode,
      configDir: this.deps.config.configDir,
      log: (level, text) => {
        this.deps.logger.script(level, text);
      },
    };
  }

  private mailContext(group: string): MailToContext {
    const h = this.deps.config.hacf;
    return {
      node: h.localNode,
      vigil: h.vigil,
      onMailSent: (op, res) => {
        this.deps.logger.script(
          'info',
          `MailTo: ${op} notice for ${group} accepted for ${res.accepted.join(', ')} (${res.reply.trim()})`,
        );
        for (const x of res.rejected) this.deps.logger.script('ERROR', `MailTo: ${x.address} refused: ${x.reply}`);
      },
      onMailError: (op, e) => {
        // A dead relay never blocks a failover (as with Heartbeat's MailTo): said loudly, then carried on.
        this.deps.logger.script('ERROR', `MailTo: ${op} notice for ${group} not sent: ${e.message}`);
      },
    };
  }

  private scriptOptions(group: string): ScriptOptions {
    const env = scriptEnv(this.deps.config);
    this.envOf.set(group, env);
    return {
      group,
      configDir: this.deps.config.configDir,
      env,
      timeoutMs: this.deps.config.hacf.vigil.scriptTimeoutMs,
      observer: {
        running: (path, args, op) => {
          this.deps.logger.script('info', `Running ${path} ${[...args, op].join(' ')}`);
        },
        finished: (path, _args, op, res) => {
          const failed = op !== 'status' && (res.code !== 0 || res.timedOut);
          if (!failed) {
            const err = res.stderr.trim();
            if (err !== '') this.deps.logger.script('debug', `${path} ${op} stderr: ${err}`);
            return;
          }
          // Heartbeat sends a script's stderr to the debug log only, so "Return code 1" is all an operator sees of
          // a failed start; Vigil puts what the script said in the main log, where the failure is.
          for (const l of scriptOutputLines(res.stdout, res.stderr))
            this.deps.logger.script('ERROR', `${path} ${op}: ${l}`);
        },
      },
    };
  }

  private serial<T>(group: string, op: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(group) ?? Promise.resolve();
    const next = prev.then(op, op);
    this.chains.set(
      group,
      next.catch(() => undefined),
    );
    return next;
  }

  private runner(group: string): GroupRunner {
    const r = this.runners.get(group) ?? this.retired.get(group);
    if (r === undefined) throw new Error(`unknown resource group ${group}`);
    return r;
  }

  acquire(group: string): Promise<boolean> {
    return this.serial(group, async () => {
      // A reload changed the group: the old runner stopped it; from this start on, the new one runs it.
      const next = this.pending.get(group);
      if (next !== undefined) {
        const old = this.runners.get(group);
        if (old !== undefined) this.drop(old);
        this.runners.set(group, next);
        this.pending.delete(group);
      }
      this.stampToken(group);
      return (await this.runner(group).acquire()).ok;
    });
  }

  release(group: string): Promise<ReleaseOutcome> {
    return this.serial(group, async () => {
      this.stampToken(group);
      const out = await this.runner(group).release();
      // A removed group is gone once stopped here.
      const r = this.retired.get(group);
      if (out.ok && r !== undefined) {
        this.retired.delete(group);
        this.drop(r);
      }
      return out;
    });
  }

  private drop(r: GroupRunner): void {
    for (const a of this.agentsOf.get(r) ?? []) {
      if (a instanceof IpAddrAgent) a.dispose();
      else if (a instanceof BgpAgent) a.address.dispose();
    }
    this.agentsOf.delete(r);
  }

  /**
   * Restart in place (health checks): stop then start as ONE step of the group's queue, so that a release the
   * engine orders meanwhile runs after it and always has the last word.
   */
  restart(group: string): Promise<boolean> {
    return this.serial(group, async () => {
      const runner = this.runner(group);
      this.stampToken(group);
      const rel = await runner.release();
      if (!rel.ok) return false;
      return (await runner.acquire()).ok;
    });
  }

  /** The agent a `resource NAME` health check watches: by spec as written, else by agent type. */
  findAgent(group: string, name: string): ResourceAgent | undefined {
    const g = this.deps.config.groups.find((x) => x.key === group);
    const runner = this.runners.get(group);
    if (g === undefined || runner === undefined) return undefined;
    const i = g.resources.findIndex((r) => r.spec === name);
    const j = i >= 0 ? i : g.resources.findIndex((r) => r.type === name);
    return j >= 0 ? runner.agents[j] : undefined;
  }

  /**
   * Heartbeat's `ResourceManager verifyallidle` only warns about resources running before the daemon decided
   * anything; Vigil stops them (after a crash or kill -9 the VIP may still be configured here while the peer
   * holds the group), then lets the engine decide from a clean slate.
   */
  async cleanupAtStart(): Promise<void> {
    for (const [key, runner] of this.runners) {
      const st = await runner.status();
      if (st.running.length === 0) continue;
      for (const r of st.running) this.deps.logger.crit(`Resource ${r} is active, and should not be!`);
      this.deps.logger.info(`Releasing resource group ${key} left running before start-up.`);
      await this.release(key);
    }
  }

  /** Who hears that a held group lost a member by itself (the VIP's lease ran out while we were stalled). */
  onGroupLost(handler: (group: string, why: string) => void): void {
    this.lostHandler = handler;
  }

  /** A gratuitous ARP burst for every VIP held here, or for those of `group` (a peer came back from behind a partition). */
  reannounce(group?: string): void {
    const runner = group === undefined ? undefined : (this.runners.get(group) ?? this.retired.get(group));
    for (const a of group === undefined ? this.ipAgents : runner === undefined ? [] : this.ipAgentsOf([runner]))
      a.reannounce();
    // The peer held the group behind a partition and may have pointed the name at its own site: point it back
    // (a compare-and-swap from whatever it serves now), in the group's queue so that a release comes after it.
    if (group === undefined || runner === undefined) return;
    const dns = (this.agentsOf.get(runner) ?? []).filter((a) => a instanceof DnsUpdateAgent);
    if (dns.length === 0) return;
    void this.serial(group, async () => {
      for (const a of dns) {
        this.deps.logger.script(
          'info',
          `dnsupdate: ${a.dns.name}: publishing this node's address again (the peer held ${group} too)`,
        );
        const r = await a.start();
        if (!r.ok) this.deps.logger.script('ERROR', r.detail);
      }
    });
  }

  /** vigil_quorum etcd: a group's etcd lease was renewed: its VIPs get a lifetime up to the new deadline now. */
  refreshLease(group: string): void {
    const runner = this.runners.get(group) ?? this.retired.get(group);
    if (runner !== undefined) for (const a of this.ipAgentsOf([runner])) a.renewNow();
  }

  /** The daemon's heartbeat: held VIPs renew their leases and refresh ARP on it (VipPolicy.onBeat). */
  tick(): void {
    for (const a of this.ipAgents) a.tick();
  }

  /** Synchronous and cheap (no `ip` call): reports every held VIP whose lease surely ran out (see IpAddrAgent). */
  checkLeases(): void {
    for (const a of this.ipAgents) a.checkLease();
  }

  dispose(): void {
    for (const a of this.ipAgents) a.dispose();
  }

  /** The VIPs held here now, captured before dispose() forgets them (daemon/fatal.ts). */
  heldVips(): { readonly address: string; readonly device: string; readonly prefixLength?: number }[] {
    return this.ipAgents.flatMap((a) => a.heldAt() ?? []);
  }

  /** Removes one VIP directly (netlink), bypassing its agent: for the fatal-error path only. */
  removeVip(v: {
    readonly address: string;
    readonly device: string;
    readonly prefixLength?: number;
  }): Promise<boolean> {
    return this.deps.addresses.remove(v.address, v.device, v.prefixLength);
  }
}

/** Bounded: a chatty script must not flood the log. */
const MAX_OUTPUT_LINES = 20;
const MAX_OUTPUT_LINE = 400;

/** The last lines a failed script printed (stdout then stderr), for the log. */
export function scriptOutputLines(stdout: string, stderr: string): string[] {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  const tail = lines
    .slice(-MAX_OUTPUT_LINES)
    .map((l) => (l.length > MAX_OUTPUT_LINE ? `${l.slice(0, MAX_OUTPUT_LINE)}...` : l));
  if (lines.length > MAX_OUTPUT_LINES) tail.unshift(`(${lines.length - MAX_OUTPUT_LINES} earlier lines not shown)`);
  return tail;
}

/**
 * A resource that finds its agent at first use (a script, an OCF agent or a systemd unit; see agents/lookup.ts):
 * a missing one fails the start, not the daemon.
 */
class LazyScriptAgent implements ResourceAgent {
  readonly spec: string;
  get group(): string {
    return this.o.group;
  }
  private agent: ResourceAgent | undefined;
  constructor(
    private readonly r: Resource,
    private o: ScriptOptions,
  ) {
    this.spec = r.spec;
  }
  /** A reload: the next call looks the agent up again, with the new environment and timeout. */
  reconfigure(o: ScriptOptions): void {
    this.o = o;
    this.agent = undefined;
  }
  private async get(): Promise<ResourceAgent> {
    if (this.agent !== undefined) return this.agent;
    const loc = await locateAgent(this.r.type, this.r.args, this.o.configDir);
    const opts = { env: this.o.env, timeoutMs: this.o.timeoutMs, observer: this.o.observer };
    switch (loc.kind) {
      case 'script':
        this.agent = new ScriptAgent(this.r.spec, loc.path, this.r.args, opts);
        break;
      case 'ocf':
        this.agent = new OcfAgent(this.r.spec, loc.path, loc.provider, loc.agent, loc.call, opts);
        break;
      case 'systemd':
        this.agent = new SystemdAgent(this.r.spec, loc.unit, opts);
        break;
    }
    return this.agent;
  }
  async start() {
    try {
      return await (await this.get()).start();
    } catch (e) {
      return { ok: false, rc: null, detail: errorMessage(e) };
    }
  }
  async stop() {
    try {
      return await (await this.get()).stop();
    } catch (e) {
      return { ok: false, rc: null, detail: errorMessage(e) };
    }
  }
  async status() {
    try {
      return await (await this.get()).status();
    } catch (e) {
      return { running: false, text: errorMessage(e) };
    }
  }
}

/** The built-in MailTo, created at first use: a bad address or template fails that start, not the daemon. */
class LazyMailToAgent implements ResourceAgent {
  readonly spec: string;
  private agent: Promise<MailToAgent> | undefined;
  constructor(
    private readonly r: Resource,
    readonly group: string,
    private ctx: MailToContext,
  ) {
    this.spec = r.spec;
  }
  /** A reload: the next notice is sent with the new relay, language and templates. */
  reconfigure(ctx: MailToContext): void {
    this.ctx = ctx;
    this.agent = undefined;
  }
  private get(): Promise<MailToAgent> {
    this.agent ??= createMailToAgent(this.r, this.group, this.ctx);
    return this.agent;
  }
  async start(): Promise<OpResult> {
    try {
      return await (await this.get()).start();
    } catch (e) {
      return { ok: false, rc: null, detail: errorMessage(e) };
    }
  }
  async stop(): Promise<OpResult> {
    try {
      return await (await this.get()).stop();
    } catch (e) {
      // Never started (bad configuration): nothing to stop.
      return { ok: true, rc: 0, detail: errorMessage(e) };
    }
  }
  async status(): Promise<StatusResult> {
    try {
      return await (await this.get()).status();
    } catch (e) {
      return { running: false, text: errorMessage(e) };
    }
  }
}
