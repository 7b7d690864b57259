import { access, readFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import type { StonithConfig } from '../config/types.js';
import { runProgram, type RunResult } from '../os/spawn.js';
import { VigilError } from '../util/errors.js';

/** What one reset attempt produced. */
export type ResetOutcome = { readonly ok: true } | { readonly ok: false; readonly detail: string };

/**
 * A fencing device. `reset` resolves (never rejects) once the node is known to be off or the attempt failed;
 * `signal` aborts a pending attempt (the fencing was cancelled: the node came back, or we shut down).
 */
export interface StonithDevice {
  /** Plugin type as written in ha.cf (`command`, `meatware`, `null`, or a cluster-glue type such as `external/ipmi`). */
  readonly type: string;
  /** The `[...]` of `Resetting node X with [...]`: Heartbeat prints the plugin's device id there. */
  readonly deviceId: string;
  reset(node: string, signal: AbortSignal): Promise<ResetOutcome>;
}

export type StonithLog = (level: 'info' | 'WARN' | 'ERROR' | 'CRIT', text: string) => void;

/** `null`: always succeeds. Heartbeat's test device; its `hostlist` (params) limits the nodes it "resets". */
export class NullStonith implements StonithDevice {
  readonly type = 'null';
  readonly deviceId = 'null STONITH device';
  constructor(private readonly hostlist: readonly string[] = []) {}
  reset(node: string, _signal?: AbortSignal): Promise<ResetOutcome> {
    if (this.hostlist.length > 0 && !this.hostlist.includes(node)) {
      return Promise.resolve({ ok: false, detail: `Device ${this.deviceId} cannot reset host ${node}.` });
    }
    return Promise.resolve({ ok: true });
  }
}

/**
 * `meatware`: a human power-cycles the node and confirms with `vigil fence-ack NODE` (Heartbeat: `meatclient -c NODE`).
 * An attempt waits for the confirmation; nothing else can make it succeed.
 */
export class MeatwareStonith implements StonithDevice {
  readonly type = 'meatware';
  readonly deviceId = 'Meatware STONITH device';
  private readonly waiting = new Map<string, () => void>();
  constructor(
    private readonly log: StonithLog,
    private readonly hostlist: readonly string[] = [],
  ) {}

  reset(node: string, signal: AbortSignal): Promise<ResetOutcome> {
    if (this.hostlist.length > 0 && !this.hostlist.includes(node)) {
      return Promise.resolve({ ok: false, detail: `Device ${this.deviceId} cannot reset host ${node}.` });
    }
    if (signal.aborted) return Promise.resolve({ ok: false, detail: 'cancelled' });
    this.log('CRIT', `OPERATOR INTERVENTION REQUIRED to reset ${node}.`);
    this.log('CRIT', `Run "vigil fence-ack ${node}" AFTER power-cycling the machine.`);
    return new Promise((resolve) => {
      const done = (r: ResetOutcome): void => {
        this.waiting.delete(node);
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      const onAbort = (): void => {
        done({ ok: false, detail: 'cancelled' });
      };
      signal.addEventListener('abort', onAbort);
      this.waiting.set(node, () => {
        done({ ok: true });
      });
    });
  }

  /** The operator's confirmation. False when no reset of `node` is waiting (an early or mistyped ack changes nothing). */
  acknowledge(node: string): boolean {
    const fn = this.waiting.get(node);
    if (fn === undefined) return false;
    this.log('info', `node Meatware-reset: ${node}`);
    fn();
    return true;
  }

  /** Nodes waiting for an operator, for `vigil status`. */
  pending(): string[] {
    return [...this.waiting.keys()];
  }
}

export interface CommandStonithOptions {
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly observer?: (argv: readonly string[], r: RunResult) => void;
}

/**
 * `command`: runs a configured program with the node's name, the shape of cluster-glue's external/ssh and
 * IPMI wrappers: `stonith_host * command /usr/local/sbin/fence-ipmi --user admin` resets node2 by running
 * `/usr/local/sbin/fence-ipmi --user admin node2` (or, when an argument contains `%n`, with `%n` replaced by the
 * name instead of appended). Exit 0 = the node is off. A hung command is killed with its process group.
 */
export class CommandStonith implements StonithDevice {
  readonly type = 'command';
  readonly deviceId: string;
  constructor(
    readonly argv: readonly string[],
    private readonly opts: CommandStonithOptions,
  ) {
    const prog = argv[0];
    if (prog?.startsWith('/') !== true) {
      throw new VigilError('VIGIL_ERR_STONITH_CONFIG', 'STONITH command: needs an absolute program path');
    }
    this.deviceId = `command STONITH device ${prog}`;
  }

  commandFor(node: string): string[] {
    const templated = this.argv.some((a) => a.includes('%n'));
    return templated ? this.argv.map((a) => a.replaceAll('%n', node)) : [...this.argv, node];
  }

  async reset(node: string, signal: AbortSignal): Promise<ResetOutcome> {
    if (signal.aborted) return { ok: false, detail: 'cancelled' };
    const argv = this.commandFor(node);
    const [file, ...args] = argv as [string, ...string[]];
    const r = await runProgram(file, args, {
      timeoutMs: this.opts.timeoutMs,
      env: { ...(this.opts.env ?? process.env), VIGIL_STONITH_NODE: node, VIGIL_STONITH_ACTION: 'reset' },
    });
    this.opts.observer?.(argv, r);
    return outcomeOf(r, file, this.opts.timeoutMs);
  }
}

/**
 * Any other type goes to cluster-glue's `stonith` tool (Debian package cluster-glue), which loads the very plugins
 * Heartbeat loads (external/ssh, external/ipmi, apcsmart, riloe, …) with the same parameters:
 * `stonith -t TYPE -p "PARAMS" -T reset NODE` for `stonith_host`, `-F CFGFILE` for `stonith`.
 */
export class ClusterGlueStonith implements StonithDevice {
  readonly deviceId: string;
  constructor(
    readonly type: string,
    private readonly config: { readonly params: string } | { readonly file: string },
    private readonly opts: CommandStonithOptions & { readonly stonithTool?: string },
  ) {
    this.deviceId = `${type} STONITH device`;
  }

  argsFor(node: string): string[] {
    const cfg = 'file' in this.config ? ['-F', this.config.file] : ['-p', this.config.params];
    return ['-t', this.type, ...cfg, '-T', 'reset', node];
  }

  async reset(node: string, signal: AbortSignal): Promise<ResetOutcome> {
    if (signal.aborted) return { ok: false, detail: 'cancelled' };
    const tool = this.opts.stonithTool ?? CLUSTER_GLUE_STONITH;
    const args = this.argsFor(node);
    const r = await runProgram(tool, args, { timeoutMs: this.opts.timeoutMs, env: this.opts.env });
    this.opts.observer?.([tool, ...args], r);
    return outcomeOf(r, tool, this.opts.timeoutMs);
  }
}

export const CLUSTER_GLUE_STONITH = '/usr/sbin/stonith';

function outcomeOf(r: RunResult, file: string, timeoutMs: number): ResetOutcome {
  if (r.spawnError !== undefined) return { ok: false, detail: `cannot run ${file}: ${r.spawnError}` };
  if (r.timedOut) return { ok: false, detail: `${file} timed out after ${timeoutMs} ms and was killed` };
  if (r.code === 0) return { ok: true };
  const why = r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `exit code ${r.code}`;
  const err = r.stderr.trim().split('\n').slice(-3).join(' / ');
  return { ok: false, detail: `${file}: ${why}${err === '' ? '' : `: ${err}`}` };
}

export interface DeviceContext {
  readonly log: StonithLog;
  /** Per attempt, for command and cluster-glue devices. */
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly stonithTool?: string;
}

/**
 * The device HaCf.stonith describes. `stonith <type> <cfgfile>`: for command, meatware and null the file holds
 * the parameters (first line that is not blank or a `#` comment, as cluster-glue's -F reads it); other types get
 * the file through `stonith -F`. `stonith_host <host|*> <type> <params...>`: the params directly.
 */
export async function createStonithDevice(cfg: StonithConfig, ctx: DeviceContext): Promise<StonithDevice> {
  const where = `${cfg.origin.file}:${cfg.origin.line}`;
  const fail = (msg: string): VigilError =>
    new VigilError('VIGIL_ERR_STONITH_CONFIG', msg, { file: cfg.origin.file, line: cfg.origin.line });
  let params: readonly string[] = cfg.params;
  const builtin = cfg.type === 'command' || cfg.type === 'meatware' || cfg.type === 'null';
  if (cfg.directive === 'stonith' && builtin) {
    const file = cfg.params[0] ?? '';
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw fail(`Invalid Stonith config file [${file}]: ${(e as Error).message}`);
    }
    const line = text.split('\n').find((l) => l.trim() !== '' && !l.trimStart().startsWith('#')) ?? '';
    params = line
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '');
  }
  // `hostlist=a b` / `hostlist="a b"` (cluster-glue name=value style) and bare host names both mean the host list.
  const hostlist = (): string[] =>
    params
      .join(' ')
      .replace(/^hostlist=/, '')
      .replace(/"/g, '')
      .split(/[\s,]+/)
      .filter((s) => s !== '')
      .map((s) => s.toLowerCase());
  switch (cfg.type) {
    case 'null':
      return new NullStonith(hostlist());
    case 'meatware':
      return new MeatwareStonith(ctx.log, hostlist());
    case 'command':
      if (params.length === 0) throw fail(`STONITH command: no command given (${where})`);
      return new CommandStonith(params, { timeoutMs: ctx.timeoutMs, env: ctx.env });
    default: {
      if (!/^[A-Za-z0-9_./-]+$/.test(cfg.type) || cfg.type.includes('..')) {
        throw fail(`Invalid Stonith type [${cfg.type}]`);
      }
      const tool = ctx.stonithTool ?? CLUSTER_GLUE_STONITH;
      try {
        await access(tool, constants.X_OK);
      } catch {
        throw fail(
          `Invalid Stonith type [${cfg.type}]: Vigil runs command, meatware and null itself; other types need cluster-glue's ${tool}`,
        );
      }
      const config = cfg.directive === 'stonith' ? { file: cfg.params[0] ?? '' } : { params: params.join(' ') };
      return new ClusterGlueStonith(cfg.type, config, { timeoutMs: ctx.timeoutMs, env: ctx.env, stonithTool: tool });
    }
  }
}
