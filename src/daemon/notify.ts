/**
 * Notify hooks (keepalived's notify script and notify_fifo; Pacemaker's alert agents): on every group transition
 * `vigil_notify` runs a program, and `vigil_notify_fifo` gets one line.
 *
 * The program: `PROGRAM GROUP NEW_STATE OLD_STATE NODE REASON TIME` (TIME in ISO 8601, UTC), with the same values
 * and more in the environment (VIGIL_GROUP, VIGIL_STATE, VIGIL_OLD_STATE, VIGIL_NODE, VIGIL_REASON, VIGIL_CAUSE,
 * VIGIL_PEER, VIGIL_TIME, VIGIL_TIME_MS, VIGIL_EVENT=transition, VIGIL_EVENTS_VERSION). Runs are one at a time, in
 * the order of the transitions, each bounded by `vigil_notify_timeout` (then its process group is killed); a failure
 * is logged and the next one runs. Nothing here is awaited by the engine: a hung hook never delays a failover. The
 * queue is bounded; past it, events are dropped and the log says how many.
 *
 * The FIFO: the same six fields, space-separated, one line per transition (values carry no spaces or newlines:
 * group keys, state and reason words, node names). Opened without blocking: with no reader attached the line is
 * dropped (counted), as a full pipe drops it; the daemon never waits for a slow consumer.
 */
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { EVENTS_VERSION, type TransitionEvent } from '../obs/events.js';
import type { DaemonStats } from '../obs/stats.js';
import { runFailure, runProgram } from '../os/spawn.js';
import { errorMessage } from '../util/errors.js';

/** Events waiting for the program; past this, new ones are dropped (a hook slower than the cluster moves). */
export const MAX_NOTIFY_QUEUE = 256;
/** FIFO lines waiting while the pipe is being opened. */
const MAX_FIFO_PENDING = 64;

export interface NotifySettings {
  readonly program: string;
  readonly timeoutMs: number;
  readonly fifo: string;
  /** The environment scripts get (PATH and ha.cf's env lines). */
  readonly env: NodeJS.ProcessEnv;
}

export type NotifyLog = (level: 'info' | 'WARN' | 'ERROR', text: string) => void;

/** The positional arguments of a run: GROUP NEW_STATE OLD_STATE NODE REASON TIME. */
export function notifyArgs(e: TransitionEvent): string[] {
  return [e.group, e.to, e.from, e.node, e.reason, new Date(e.at).toISOString()];
}

export function notifyEnv(e: TransitionEvent, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...base,
    VIGIL_EVENT: 'transition',
    VIGIL_EVENTS_VERSION: String(EVENTS_VERSION),
    VIGIL_GROUP: e.group,
    VIGIL_STATE: e.to,
    VIGIL_OLD_STATE: e.from,
    VIGIL_NODE: e.node,
    VIGIL_REASON: e.reason,
    VIGIL_CAUSE: e.cause,
    VIGIL_PEER: e.peer ?? '',
    VIGIL_TIME: new Date(e.at).toISOString(),
    VIGIL_TIME_MS: String(e.at),
  };
}

/** One FIFO line; a value with whitespace (never expected) is escaped so the line keeps six fields. */
export function fifoLine(e: TransitionEvent): string {
  return (
    notifyArgs(e)
      .map((v) => v.replace(/[\s\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
      .join(' ') + '\n'
  );
}

export class Notifier {
  private readonly queue: TransitionEvent[] = [];
  private running = false;
  private droppedSinceLog = 0;
  private fifoFh: FileHandle | undefined;
  private fifoOpening = false;
  private fifoPending: string[] = [];
  private fifoChain: Promise<void> = Promise.resolve();

  constructor(
    private s: NotifySettings,
    private readonly log: NotifyLog,
    private readonly stats?: DaemonStats,
  ) {}

  /** A reload: new program, timeout, FIFO or environment; runs already queued use the new program. */
  configure(s: NotifySettings): void {
    if (s.fifo !== this.s.fifo) void this.closeFifo();
    this.s = s;
  }

  transition(e: TransitionEvent): void {
    if (this.s.fifo !== '') this.toFifo(e);
    if (this.s.program === '') return;
    if (this.queue.length >= MAX_NOTIFY_QUEUE) {
      this.droppedSinceLog++;
      if (this.stats !== undefined) this.stats.notifyDropped++;
      return;
    }
    this.queue.push(e);
    if (!this.running) void this.drain();
  }

  /** Waits for the queue to empty (tests, and a graceful stop that wants the last hooks to run). */
  async idle(limitMs: number): Promise<void> {
    const end = Date.now() + limitMs;
    while ((this.running || this.queue.length > 0) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let e = this.queue.shift(); e !== undefined; e = this.queue.shift()) {
        if (this.droppedSinceLog > 0) {
          this.log(
            'WARN',
            `vigil_notify: ${this.droppedSinceLog} event(s) dropped: the program is slower than the transitions`,
          );
          this.droppedSinceLog = 0;
        }
        const program = this.s.program;
        if (program === '') {
          this.queue.length = 0;
          break;
        }
        const r = await runProgram(program, notifyArgs(e), {
          timeoutMs: this.s.timeoutMs,
          env: notifyEnv(e, this.s.env),
          cwd: '/',
          maxOutputBytes: 4096,
        });
        if (this.stats !== undefined) this.stats.notifyRuns++;
        if (r.code !== 0) {
          if (this.stats !== undefined) this.stats.notifyFailures++;
          const out = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
          this.log(
            'ERROR',
            `vigil_notify ${program} ${e.group} ${e.to} failed: ${r.timedOut ? `timed out after ${this.s.timeoutMs} ms` : runFailure(r)}${out === '' ? '' : ` (${out})`}`,
          );
        }
      }
    } finally {
      this.running = false;
    }
  }

  private toFifo(e: TransitionEvent): void {
    const line = fifoLine(e);
    if (this.fifoFh !== undefined) {
      this.writeFifo(line);
      return;
    }
    // Nobody was attached: try now (non-blocking); lines wait, in order, for the outcome.
    if (this.fifoPending.length < MAX_FIFO_PENDING) this.fifoPending.push(line);
    else this.dropFifo(1);
    if (this.fifoOpening) return;
    void this.openFifo().then((ok) => {
      const lines = this.fifoPending.splice(0);
      if (ok) for (const l of lines) this.writeFifo(l);
      else this.dropFifo(lines.length);
    });
  }

  private dropFifo(n: number): void {
    if (this.stats !== undefined) this.stats.notifyDropped += n;
  }

  /** Writes are chained: two in flight on the threadpool could land out of order. */
  private writeFifo(line: string): void {
    const fh = this.fifoFh;
    if (fh === undefined) {
      this.dropFifo(1);
      return;
    }
    this.fifoChain = this.fifoChain.then(async () => {
      if (this.fifoFh !== fh) {
        this.dropFifo(1);
        return;
      }
      try {
        await fh.write(line);
      } catch {
        // EAGAIN (the reader is behind: the pipe is full) or EPIPE (it left): the line is dropped; reopen next time.
        this.dropFifo(1);
        await this.closeFifo();
      }
    });
  }

  private async openFifo(): Promise<boolean> {
    if (this.fifoOpening) return false;
    this.fifoOpening = true;
    const path = this.s.fifo;
    try {
      const st = await stat(path).catch(() => undefined);
      if (st === undefined) {
        const r = await runProgram('mkfifo', ['-m', '0600', path], { timeoutMs: 5000 });
        if (r.code !== 0) {
          this.log('ERROR', `vigil_notify_fifo: cannot create ${path}: ${runFailure(r)}`);
          return false;
        }
      } else if (!st.isFIFO()) {
        this.log('ERROR', `vigil_notify_fifo: ${path} exists and is not a named pipe`);
        return false;
      }
      // O_NONBLOCK: fails at once (ENXIO) while no reader is attached, and writes never wait for one.
      this.fifoFh = await open(path, constants.O_WRONLY | constants.O_NONBLOCK);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO')
        this.log('WARN', `vigil_notify_fifo ${path}: ${errorMessage(e)}`);
      return false;
    } finally {
      this.fifoOpening = false;
    }
  }

  private async closeFifo(): Promise<void> {
    const fh = this.fifoFh;
    this.fifoFh = undefined;
    await fh?.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.queue.length = 0;
    await this.closeFifo();
  }
}
