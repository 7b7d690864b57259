import { createWriteStream, type WriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';

import type { LogLevel } from '../util/vocabulary.js';

export type { LogLevel } from '../util/vocabulary.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `Mon DD HH:MM:SS` in local time, as syslog-format Heartbeat files are written (`syslogmsgfmt`). */
export function syslogTime(d: Date): string {
  return `${MONTHS[d.getMonth()] ?? '???'} ${String(d.getDate()).padStart(2, ' ')} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `YYYY/MM/DD_HH:MM:SS`, the HA_DATEFMT Heartbeat's shell scripts log with. */
export function haDate(d: Date): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())}_${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * One log line in Heartbeat's shape:
 * daemon lines  `Mon DD HH:MM:SS node heartbeat: [pid]: info: text`
 * script lines  `YYYY/MM/DD_HH:MM:SS  ResourceManager(default)[pid]:    info: text`
 */
export function formatLine(
  d: Date,
  node: string,
  tag: string,
  pid: number,
  level: LogLevel,
  text: string,
  style: 'daemon' | 'script' = 'daemon',
): string {
  if (style === 'script') return `${haDate(d)}  ${tag}[${pid}]:\t${level}: ${text}\n`;
  return `${syslogTime(d)} ${node} ${tag}: [${pid}]: ${level}: ${text}\n`;
}

// C0 controls but tab, DEL, and C1 controls (a terminal reads 0x9b as CSI). Wire strings are latin1, one char a byte.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHAR = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_CHARS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

/**
 * One log line stays one line: node names, field values and script output come from the network or from files an
 * admin does not read first, and a raw newline in them could forge a line ("Resources being acquired...") for
 * whoever greps the log. Control characters are written as `\n`, `\r` or `\xNN`.
 */
export function escapeControl(text: string): string {
  if (!CONTROL_CHAR.test(text)) return text;
  return text.replace(CONTROL_CHARS, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A destination for log lines; the syslog writer implements it too. */
export interface LogSink {
  write(level: LogLevel, line: string, text: string): void;
  close(): Promise<void>;
}

/**
 * Appends lines to a file without blocking the event loop. The queue is bounded: when the disk stalls,
 * lines beyond the limit are dropped and counted (a full disk must not take the heartbeat path down with it).
 * The file is reopened when it was rotated away (inode changed) or on `reopen()` (SIGHUP).
 */
export class FileSink implements LogSink {
  private stream: WriteStream | undefined;
  private pending = 0;
  private ino: number | undefined;
  dropped = 0;
  private checking = false;
  private lastCheck = 0;

  constructor(
    readonly path: string,
    private readonly levels: ReadonlySet<LogLevel>,
    private readonly maxPending = 10_000,
  ) {}

  write(level: LogLevel, line: string): void {
    if (!this.levels.has(level)) return;
    if (this.pending >= this.maxPending) {
      this.dropped++;
      return;
    }
    this.maybeCheckRotation();
    const s = this.open();
    this.pending++;
    s.write(line, (err) => {
      this.pending--;
      if (err) this.dropped++;
    });
  }

  private open(): WriteStream {
    if (this.stream === undefined) {
      const s = createWriteStream(this.path, { flags: 'a', mode: 0o644 });
      // A log file that cannot be opened must not crash the daemon; the lines are counted as dropped.
      // Failed writes are counted in their callbacks; the next line tries to open the file again.
      s.on('error', () => {
        if (this.stream === s) this.stream = undefined;
      });
      this.stream = s;
    }
    return this.stream;
  }

  private maybeCheckRotation(): void {
    const now = Date.now();
    if (this.checking || now - this.lastCheck < 5000) return;
    this.lastCheck = now;
    this.checking = true;
    stat(this.path).then(
      (st) => {
        this.checking = false;
        if (this.ino !== undefined && st.ino !== this.ino) void this.reopen();
        this.ino = st.ino;
      },
      () => {
        this.checking = false;
        // Deleted under us (logrotate without create): start a new file.
        if (this.ino !== undefined) void this.reopen();
        this.ino = undefined;
      },
    );
  }

  /** Closes the current file; the next line opens the path anew. Resolves once the old file is flushed. */
  reopen(): Promise<void> {
    const old = this.stream;
    this.stream = undefined;
    if (old === undefined) return Promise.resolve();
    return new Promise((resolve) => old.end(resolve));
  }

  close(): Promise<void> {
    return this.reopen();
  }
}

export interface LoggerOptions {
  readonly node: string;
  readonly pid: number;
  readonly tag: string;
  readonly sinks: readonly LogSink[];
  readonly now?: () => Date;
}

/** The daemon's logger: Heartbeat's line format, fanned out to logfile, debugfile and syslog. */
export class Logger {
  debugLevel = 0;
  /** Every line written, level and text (the HTTP event stream); set by the daemon. */
  tap: ((level: LogLevel, text: string) => void) | undefined;
  constructor(private opts: LoggerOptions) {}

  /** A reload: lines go to the new destinations from now on; the old ones are flushed and closed. */
  async setSinks(sinks: readonly LogSink[]): Promise<void> {
    const old = this.opts.sinks;
    this.opts = { ...this.opts, sinks };
    await Promise.all(old.filter((s) => !sinks.includes(s)).map((s) => s.close()));
  }

  log(level: LogLevel, raw: string): void {
    if (level === 'debug' && this.debugLevel === 0) return;
    const text = escapeControl(raw);
    const line = formatLine(
      (this.opts.now ?? (() => new Date()))(),
      this.opts.node,
      this.opts.tag,
      this.opts.pid,
      level,
      text,
    );
    for (const s of this.opts.sinks) s.write(level, line, text);
    this.tap?.(level, text);
  }

  /** A line of a resource script run, in the ResourceManager shape. */
  script(level: LogLevel, raw: string, pid = this.opts.pid): void {
    const text = escapeControl(raw);
    const line = formatLine(
      (this.opts.now ?? (() => new Date()))(),
      this.opts.node,
      'ResourceManager(default)',
      pid,
      level,
      text,
      'script',
    );
    for (const s of this.opts.sinks) s.write(level, line, text);
  }

  info(text: string): void {
    this.log('info', text);
  }
  warn(text: string): void {
    this.log('WARN', text);
  }
  error(text: string): void {
    this.log('ERROR', text);
  }
  crit(text: string): void {
    this.log('CRIT', text);
  }
  debug(text: string): void {
    this.log('debug', text);
  }

  async close(): Promise<void> {
    await Promise.all(this.opts.sinks.map((s) => s.close()));
  }
}

export const ALL_LEVELS: ReadonlySet<LogLevel> = new Set<LogLevel>(['debug', 'info', 'WARN', 'ERROR', 'CRIT']);
export const NON_DEBUG_LEVELS: ReadonlySet<LogLevel> = new Set<LogLevel>(['info', 'WARN', 'ERROR', 'CRIT']);
