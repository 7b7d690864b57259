import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { CompiledConfig, MediumConfig } from '../config/types.js';
import type { ControlRequest, StandbyWhich } from '../control/protocol.js';
import { ControlServer } from '../control/server.js';
import { controlAccess } from './control-access.js';
import { installFatalHandlers } from './fatal.js';
import { ALL_LEVELS, FileSink, Logger, NON_DEBUG_LEVELS, type LogLevel, type LogSink } from '../obs/log.js';
import { SyslogSink, facilityCode } from '../obs/syslog.js';
import { realScheduler } from '../os/clock.js';
import { realArpAnnouncer } from '../os/garp.js';
import { loadIdentity } from '../os/identity.js';
import { PeerFloors } from './peer-floors.js';
import { mediumKey, reload as reloadConfig, type ReloadResult } from './reload.js';
import { IpCommandAddressManager } from '../os/ip.js';
import { IcmpPinger } from '../os/icmp-pinger.js';
import { Pinger } from '../os/pinger.js';
import { isRealtime, makeRealtime, makeThreadsRealtime } from '../os/realtime.js';
import { HeapTrimmer, exposeGc } from '../obs/heap-trim.js';
import { RuntimeMonitor } from '../obs/runtime.js';
import { SdNotify } from '../os/sdnotify.js';
import { createMedium, type Medium } from '../transport/index.js';
import { VigilError, isVigilError, errorMessage } from '../util/errors.js';
import { loadConfig } from './load.js';
import { heartbeatNodeOrder } from './node-order.js';
import { VigilNode } from './node.js';
import { VERSION } from '../util/version.js';
import { DEFAULT_PIDFILE, claimPidfile, releasePidfile } from './pidfile.js';
import { ResourceManager, scriptEnv } from './resources.js';
import { Fencer } from './fencing.js';
import { createStonithDevice } from '../agents/stonith.js';
import { realCheckRunner } from '../resources/health.js';
import { buildQuorumClient } from '../quorum/build.js';
import { EventBus } from '../obs/events.js';
import { DaemonStats } from '../obs/stats.js';
import { HistoryJournal, readHistory, tailHistory } from '../obs/history.js';
import { JournaldSink, underJournald } from '../obs/journald.js';
import { Notifier, type NotifySettings } from './notify.js';
import type { AddressManager } from '../os/ip.js';
import type { ArpAnnouncer } from '../os/garp.js';
import { listenAddress } from '../config/vigil-directives.js';
import type { HttpServer } from '../http/server.js';

export interface RunOptions {
  readonly configDir: string;
  readonly node?: string;
  readonly pidfile?: string;
  readonly controlSocket: string;
  /** Also write log lines to stderr (foreground use). */
  readonly stderr: boolean;
}

class StderrSink implements LogSink {
  write(_level: LogLevel, line: string): void {
    process.stderr.write(line);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Where log lines go for this configuration: logfile, debugfile, syslog (and stderr in the foreground). Syslog is
 * journald's native protocol when `journald` says so (vigil_journald: on, or auto under systemd).
 */
export function buildSinks(
  config: CompiledConfig,
  stderr: boolean,
  journald = false,
  stats?: DaemonStats,
): { sinks: LogSink[]; files: FileSink[]; journal?: JournaldSink } {
  const h = config.hacf;
  const sinks: LogSink[] = [];
  const files: FileSink[] = [];
  if (h.logfile !== undefined && h.logfile !== '/dev/null') files.push(new FileSink(h.logfile, NON_DEBUG_LEVELS));
  if (h.debugfile !== undefined && h.debugfile !== '/dev/null') files.push(new FileSink(h.debugfile, ALL_LEVELS));
  sinks.push(...files);
  // No logfile, debugfile or logfacility: Heartbeat implies use_logd (syslog through ha_logd); Vigil logs to syslog.
  const facility = h.logfacility ?? (h.logfile === undefined && h.debugfile === undefined ? 'daemon' : undefined);
  const code = facility === undefined || facility === 'none' ? undefined : facilityCode(facility);
  let journal: JournaldSink | undefined;
  if (code !== undefined && journald) {
    const keys = config.groups.map((g) => g.key);
    journal = new JournaldSink({
      node: h.localNode,
      facility: code,
      groups: () => keys,
      ...(stats === undefined ? {} : { stats }),
    });
    sinks.push(journal);
  } else if (code !== undefined) sinks.push(new SyslogSink(code, hostname()));
  if (stderr) sinks.push(new StderrSink());
  return journal === undefined ? { sinks, files } : { sinks, files, journal };
}

/** vigil_journald: on, off, or auto = started by systemd with journald listening. */
async function wantJournald(config: CompiledConfig): Promise<boolean> {
  const j = config.hacf.vigil.journald;
  return j === 'on' || (j === 'auto' && (await underJournald()));
}

async function buildLogger(
  config: CompiledConfig,
  stderr: boolean,
  stats: DaemonStats,
): Promise<{ logger: Logger; sinks: FileSink[]; journal: JournaldSink | undefined }> {
  const h = config.hacf;
  const { sinks, files, journal } = buildSinks(config, stderr, await wantJournald(config), stats);
  const logger = new Logger({ node: h.localNode, pid: process.pid, tag: 'heartbeat', sinks });
  logger.debugLevel = h.debug;
  return { logger, sinks: files, journal };
}

/** Counts lease renewals (and failures) on their way to the kernel, for /metrics; every other call is untouched. */
function countingAddresses<T extends AddressManager>(inner: T, stats: DaemonStats): T {
  const renew = inner.renew.bind(inner);
  inner.renew = async (...a) => {
    try {
      const r = await renew(...a);
      if (r === 'renewed') stats.leaseRenewals++;
      else stats.leaseFailures++;
      return r;
    } catch (e) {
      stats.leaseFailures++;
      throw e;
    }
  };
  return inner;
}

function countingArp(inner: ArpAnnouncer, stats: DaemonStats): ArpAnnouncer {
  return {
    announce: async (o) => {
      try {
        const r = await inner.announce(o);
        stats.garpSent += r.pairsSent;
        return r;
      } catch (e) {
        stats.garpFailures++;
        throw e;
      }
    },
  };
}

function notifySettings(c: CompiledConfig): NotifySettings {
  const v = c.hacf.vigil;
  return { program: v.notifyProgram, timeoutMs: v.notifyTimeoutMs, fifo: v.notifyFifo, env: scriptEnv(c) };
}

/**
 * The /proc/loadavg line for `ld`, refreshed every 5 s by a timer and never read on the heartbeat path itself. Read
 * synchronously: procfs answers from memory without a lock, and an async read would cost five threadpool hops
 * (open, stat, read, read, close), and an idle daemon's CPU is mostly such wake-ups.
 */
function loadavgReader(): { get: () => string; stop: () => void } {
  let line = '0.00 0.00 0.00 1/1 1';
  const refresh = (): void => {
    try {
      // eslint-disable-next-line no-restricted-syntax -- procfs, from memory, no lock: see above
      line = readFileSync('/proc/loadavg', 'utf8').trim();
    } catch {
      // No procfs (a container without it): keep the last line.
    }
  };
  refresh();
  const t = setInterval(refresh, 5000);
  t.unref();
  return {
    get: () => line,
    stop: () => {
      clearInterval(t);
    },
  };
}

export interface PingerSet {
  tick(): void;
  close(): void;
}

/**
 * The ping nodes' probes: raw ICMP from the daemon, riding on the heartbeat's wake-up (IcmpPinger); one iputils
 * `ping` child per address (Pinger) only when no raw socket can be had (no CAP_NET_RAW, no koffi).
 */
export function startPingers(
  h: CompiledConfig['hacf'],
  logger: Logger,
  onReply: (pingNode: string) => void,
): PingerSet {
  const nodesOf = new Map<string, string[]>();
  for (const p of h.pingNodes) for (const a of p.addresses) nodesOf.set(a, [...(nodesOf.get(a) ?? []), p.name]);
  if (nodesOf.size === 0) return { tick: () => undefined, close: () => undefined };
  const replied = (address: string): void => {
    for (const n of nodesOf.get(address) ?? []) onReply(n);
  };
  const onError = (text: string): void => {
    logger.error(text);
  };
  const icmp = new IcmpPinger({ addresses: [...nodesOf.keys()], intervalMs: h.keepaliveMs, onReply: replied, onError });
  try {
    icmp.open();
    return {
      tick: () => {
        icmp.tick();
      },
      close: () => {
        icmp.close();
      },
    };
  } catch (e) {
    logger.warn(`cannot probe ping nodes over a raw ICMP socket (${errorMessage(e)}): running ping`);
  }
  const children = [...nodesOf.keys()].map(
    (address) => new Pinger({ address, intervalMs: h.keepaliveMs, onReply: replied, onError }),
  );
  for (const c of children) c.start();
  return {
    tick: () => undefined,
    close: () => {
      for (const c of children) c.close();
    },
  };
}

export function buildMedia(config: CompiledConfig, logger: Logger): Medium[] {
  const media: Medium[] = [];
  for (const m of config.hacf.media) {
    if (m.kind !== 'serial') {
      // The heartbeat goes out every keepalive whatever the medium's state: the device checks ride on it.
      media.push(createMedium(m, { deviceWatch: 'sends' }));
    } else {
      logger.warn(`${m.kind} media are not supported by this Vigil build: ${m.origin.file}:${m.origin.line} ignored`);
    }
  }
  return media;
}

/** `vigil run`: the daemon in the foreground, like `heartbeat -f`. Resolves with the exit code. */
export async function runDaemon(opts: RunOptions): Promise<number> {
  // Without a SIGUSR1 handler Node opens its inspector on 127.0.0.1:9229 — a root shell. Install it first.
  const early = (): void => undefined;
  process.on('SIGUSR1', early);

  let loaded;
  try {
    loaded = await loadConfig(opts.configDir, opts.node);
  } catch (e) {
    if (!isVigilError(e)) throw e;
    process.stderr.write(e.message + '\n');
    process.stderr.write('Configuration error, heartbeat not started.\n');
    return 6; // LSB: program is not configured
  }
  let config = loaded.config;
  const stats = new DaemonStats();
  const built = await buildLogger(config, opts.stderr, stats);
  const logger = built.logger;
  let fileSinks = built.sinks;
  const events = new EventBus();
  // The journal gets the events as structured records (GROUP=, EVENT=); a reload may swap the sink.
  const journal: { current: JournaldSink | undefined } = { current: built.journal };
  events.on((e) => {
    if (e.type !== 'log') journal.current?.event(e);
  });
  // Log lines become events only while someone follows the event stream.
  const httpRef: { current?: HttpServer } = {};
  logger.tap = (level, text) => {
    if ((httpRef.current?.streamCount ?? 0) > 0) events.publish({ type: 'log', at: Date.now(), level, text });
  };
  for (const w of loaded.warnings) logger.warn(w.message);
  const pidfile = opts.pidfile ?? DEFAULT_PIDFILE;
  try {
    await claimPidfile(pidfile);
  } catch (e) {
    logger.error(errorMessage(e));
    await logger.close();
    return 1;
  }
  logger.info(`Configuration validated. Starting heartbeat 3.0.6 (Vigil ${VERSION})`);
  const h = config.hacf;
  let identity;
  try {
    identity = await loadIdentity({
      stateDir: h.vigil.stateDir,
      nodeName: h.localNode,
      uuidFrom: h.uuidfrom,
      hbgenmethod: h.hbgenmethod,
    });
  } catch (e) {
    // hb_uuid or hb_generation unusable (corrupt, at its ceiling, disk full): say so where admins look.
    logger.error(errorMessage(e));
    logger.error('Cannot get/increment generation number, heartbeat not started.');
    await releasePidfile(pidfile);
    await logger.close();
    return 1;
  }
  for (const l of identity.log) logger.log(l.level === 'warn' ? 'WARN' : 'info', l.text);
  logger.info(`Heartbeat generation: ${identity.generation}`);
  const floors = new PeerFloors(h.vigil.stateDir, logger);
  const peerFloors = await floors.load();

  const makeFencer = async (c: CompiledConfig): Promise<Fencer | undefined> => {
    if (c.hacf.stonith === undefined) return undefined;
    const device = await createStonithDevice(c.hacf.stonith, {
      log: (level, text) => {
        logger.log(level, text);
      },
      timeoutMs: c.hacf.vigil.stonithTimeoutMs,
      env: scriptEnv(c),
    });
    logger.info(`STONITH device: ${device.deviceId}`);
    return new Fencer(device);
  };
  let fencer: Fencer | undefined;
  try {
    fencer = await makeFencer(config);
  } catch (e) {
    logger.error(errorMessage(e));
    logger.error('Configuration error, heartbeat not started.');
    await releasePidfile(pidfile);
    await logger.close();
    return 6;
  }

  if (h.realtime) {
    const rt = makeRealtime(h.rtprio);
    if (rt.ok) {
      logger.info(rt.text);
      logger.debug(`realtime policy applied to ${await makeThreadsRealtime(h.rtprio)} helper threads`);
    } else logger.warn(rt.text);
  }

  const runtime = new RuntimeMonitor(
    () => {
      try {
        return isRealtime();
      } catch {
        return false;
      }
    },
    (ms, kind) => {
      logger.warn(`${kind} garbage collection paused Vigil for ${Math.round(ms)} ms`);
    },
    Math.max(50, Math.floor(h.warntimeMs / 4)),
    (ms) => {
      stats.gcPause.observe(ms / 1000);
    },
  );
  runtime.start();
  const gc = exposeGc();
  const heapTrim = gc === undefined ? undefined : new HeapTrimmer(gc);
  if (heapTrim === undefined) logger.debug('heap trimming unavailable: V8 refused --expose-gc');
  heapTrim?.start();

  const loadavg = loadavgReader();
  const sd = new SdNotify();
  const resources = new ResourceManager({
    config,
    logger,
    addresses: countingAddresses(new IpCommandAddressManager(), stats),
    arp: countingArp(realArpAnnouncer, stats),
  });
  await resources.cleanupAtStart();

  let exitCode = 0;
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  // A daemon in an unknown state (a broken invariant, an exception anywhere: packet path, timers, promises) must not
  // keep its VIPs: stop, remove them (bounded), exit 70; never hang. One policy on every path.
  const fatalNode: { current?: VigilNode } = {};
  const fatal = installFatalHandlers({
    log: (text) => {
      logger.crit(text);
    },
    heldVips: () => resources.heldVips(),
    removeVip: (v) => resources.removeVip(v),
    stop: () => {
      fatalNode.current?.close();
    },
    exit: (code) => {
      exitCode = code;
      resolveExit(code);
    },
    hardExit: (code) => process.exit(code),
  });

  const buildMediaMap = (lines: readonly MediumConfig[]): Map<string, Medium> => {
    const out = new Map<string, Medium>();
    for (const m of lines) {
      const built = buildMedia({ ...config, hacf: { ...config.hacf, media: [m] } }, logger)[0];
      if (built !== undefined) out.set(mediumKey(m), built);
    }
    return out;
  };
  const mediaByKey = buildMediaMap(config.hacf.media);
  // vigil_quorum etcd: the client is built (PEM files read) before anything can be acquired.
  let quorum;
  try {
    quorum = await buildQuorumClient(config);
    if (quorum !== undefined)
      logger.info(`Group ownership arbitrated by etcd at ${config.hacf.vigil.quorumEndpoints.join(' ')}`);
  } catch (e) {
    logger.error(errorMessage(e));
    logger.error('Configuration error, heartbeat not started.');
    fatal.uninstall();
    await releasePidfile(pidfile);
    await logger.close();
    return 6;
  }
  // Set once the node has started; the node's beat drives it from then on.
  const pingers: { current?: PingerSet } = {};
  // The persistent history: every transition appended; the last ones seed `vigil status` after a restart.
  const history = new HistoryJournal(
    h.vigil.stateDir,
    h.vigil.historyBytes,
    (text) => {
      logger.warn(text);
    },
    stats,
  );
  const pastTransitions = await tailHistory(h.vigil.stateDir, 50).catch(() => []);
  events.on((e) => {
    if (e.type !== 'transition') return;
    const { type: _t, ...rest } = e;
    history.append({ v: 1, ...rest });
  });
  const notifier = new Notifier(
    notifySettings(config),
    (level, text) => {
      logger.log(level, text);
    },
    stats,
  );
  events.on((e) => {
    if (e.type === 'transition') notifier.transition(e);
  });

  const theNode = new VigilNode({
    config,
    events,
    stats,
    pastTransitions,
    // An unreadable ha.cf here only changes the order `cl_status listnodes` prints (it was read a moment ago).
    nodeListOrder: heartbeatNodeOrder(await readFile(join(config.configDir, 'ha.cf'), 'utf8').catch(() => '')),
    logger,
    uuid: identity.uuid,
    generation: identity.generation,
    media: [...mediaByKey.values()],
    resources,
    scheduler: realScheduler,
    loadavg: loadavg.get,
    fencer,
    ...(quorum === undefined ? {} : { quorum }),
    runCheck: realCheckRunner((group, name) => resources.findAgent(group, name), scriptEnv(config)),
    runtime,
    onStopped: (reason) => {
      logger.debug(`stopped: ${reason}`);
      resolveExit(exitCode);
    },
    onBeat: () => {
      pingers.current?.tick();
      resources.tick();
    },
    onFatal: (e) => {
      fatal.handle('broken invariant', e);
    },
    peerFloors,
    onPeerGeneration: () => {
      floors.generationRose();
    },
  });
  fatalNode.current = theNode;
  floors.start(() => ({ progress: theNode.peerProgress(), uuidOf: (n) => theNode.wire.uuidOf(n) }));
  try {
    await theNode.start();
  } catch (e) {
    logger.error(`Cannot start: ${errorMessage(e)}`);
    theNode.close();
    fatal.uninstall();
    await releasePidfile(pidfile);
    await logger.close();
    return 1;
  }

  pingers.current = startPingers(h, logger, (name) => {
    theNode.pingReply(name);
  });

  // The read-only HTTP server (vigil_http): loaded only when configured, so a daemon without it pays nothing.
  let httpListen = '';
  const applyHttp = async (c: CompiledConfig): Promise<void> => {
    const want = c.hacf.vigil.httpListen;
    if (want === httpListen && (want === '') === (httpRef.current === undefined)) return;
    await httpRef.current?.close();
    httpRef.current = undefined;
    httpListen = want;
    if (want === '') return;
    const { HttpServer } = await import('../http/server.js');
    const server = new HttpServer({
      snapshot: () => theNode.snapshot(),
      stats,
      events,
      ipfail: () => {
        const v = theNode.core.ipfailView();
        return v === undefined ? undefined : { local: v.local, peer: v.peer, standbys: theNode.core.ipfailStandbys };
      },
      streams: () => 0,
      nodeVersion: process.version,
      wallNow: () => Date.now(),
      history: (q) => readHistory(config.hacf.vigil.stateDir, q),
      log: (level, text) => {
        logger.log(level, text);
      },
    });
    const { host, port } = listenAddress(want);
    try {
      await server.listen(host, port);
      httpRef.current = server;
      logger.info(`HTTP status server listening on ${server.address} (/metrics, /api/v1/status, /api/v1/events, /)`);
    } catch (e) {
      // A taken port or a missing address must not stop the cluster: said loudly, retried at the next reload.
      httpListen = '';
      logger.error(`vigil_http ${want}: cannot listen: ${errorMessage(e)}`);
    }
  };
  await applyHttp(config);

  // One reload at a time (a SIGHUP and `vigil reload` together): each sees the configuration the last one left.
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = (): Promise<ReloadResult> => {
    const r = reloading.then(() => reloadOnce());
    reloading = r.catch(() => undefined);
    return r;
  };
  const reloadOnce = (): Promise<ReloadResult> =>
    reloadConfig({
      logger,
      node: theNode,
      load: async () => (await loadConfig(opts.configDir, opts.node)).config,
      current: () => config,
      setCurrent: (c) => {
        config = c;
      },
      media: mediaByKey,
      buildMedia: buildMediaMap,
      makeFencer,
      currentFencer: () => fencer,
      resetLogging: async (c) => {
        const next = buildSinks(c, opts.stderr, await wantJournald(c), stats);
        fileSinks = next.files;
        journal.current = next.journal;
        logger.debugLevel = c.hacf.debug;
        await logger.setSinks(next.sinks);
      },
      restartPingers: (c) => {
        pingers.current?.close();
        pingers.current = startPingers(c.hacf, logger, (name) => {
          theNode.pingReply(name);
        });
      },
      reopenLogs: () => {
        for (const f of fileSinks) void f.reopen();
      },
      applyHttp,
      applyNotify: (c) => {
        notifier.configure(notifySettings(c));
      },
      applyHistory: (c) => {
        history.configure(c.hacf.vigil.stateDir, c.hacf.vigil.historyBytes);
      },
    });

  const control = new ControlServer({
    path: opts.controlSocket,
    access: await controlAccess(h, (text) => {
      logger.warn(text);
    }),
    log: (level, text) => {
      logger.log(level === 'warn' ? 'WARN' : 'info', text);
    },
    handler: async (req: ControlRequest) => {
      switch (req.cmd) {
        case 'status':
          return theNode.snapshot();
        case 'standby':
        case 'takeover': {
          if (!config.hacf.niceFailback) {
            throw new VigilError(
              'VIGIL_ERR_CONTROL_REFUSED',
              'Standby mode only implemented when nice_failback on (auto_failback on or off)',
            );
          }
          const which: StandbyWhich = req.which;
          theNode.command({ op: req.cmd, which });
          return { accepted: true };
        }
        case 'reload':
          return await reload();
        case 'debug':
          logger.debugLevel = Math.max(0, Math.min(255, logger.debugLevel + req.delta));
          return { debug: logger.debugLevel };
        case 'shutdown':
          void theNode.shutdown('control request');
          return { accepted: true };
        case 'cleanup':
          return { cleared: theNode.cleanup(req.group) };
        case 'fence-ack':
          theNode.fenceAck(req.node);
          return { acknowledged: req.node };
        case 'history':
          await history.flush();
          return await readHistory(config.hacf.vigil.stateDir, {
            limit: req.limit ?? 1000,
            ...(req.since === undefined ? {} : { since: req.since }),
            ...(req.group === undefined ? {} : { group: req.group }),
          });
        case 'explain':
          return theNode.explain(req.group);
      }
    },
  });
  try {
    await control.listen();
  } catch (e) {
    logger.error(`control socket ${opts.controlSocket} unavailable: ${errorMessage(e)}`);
  }

  const onTerm = (sig: string): void => {
    sd.send('STOPPING=1');
    void theNode.shutdown(sig);
  };
  process.on('SIGTERM', () => {
    onTerm('SIGTERM');
  });
  process.on('SIGINT', () => {
    onTerm('SIGINT');
  });
  process.on('SIGHUP', () => {
    logger.info('Received SIGHUP: reloading configuration.');
    void reload();
  });
  process.off('SIGUSR1', early);
  process.on('SIGUSR1', () => {
    logger.debugLevel = Math.min(255, logger.debugLevel + 1);
    logger.info(`debug now set to ${logger.debugLevel}`);
  });
  process.on('SIGUSR2', () => {
    logger.debugLevel = Math.max(0, logger.debugLevel - 1);
    logger.info(`debug now set to ${logger.debugLevel}`);
  });
  sd.send(`READY=1\nSTATUS=${h.localNode}: running, generation ${identity.generation}\nMAINPID=${process.pid}`);

  const code = await exited;
  await httpRef.current?.close();
  await notifier.idle(2000);
  await notifier.close();
  await history.flush();
  await floors.stop();
  pingers.current.close();
  loadavg.stop();
  runtime.stop();
  heapTrim?.stop();
  sd.close();
  await control.close();
  await releasePidfile(pidfile);
  await logger.close();
  fatal.uninstall();
  return code;
}
