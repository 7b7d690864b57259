/**
 * journald's native protocol (systemd.journal-fields(7), "Native Journal Protocol"): one datagram per entry to
 * /run/systemd/journal/socket, each field `NAME=value\n` (or, for a value with a newline, `NAME\n`, its length as a
 * little-endian u64, the bytes and `\n`). Used instead of RFC 5424 on /dev/log under systemd (`vigil_journald`):
 * journald keeps the fields, so `journalctl -u vigil GROUP=…` and `SYSLOG_IDENTIFIER=heartbeat` work.
 *
 * Log lines go out as SYSLOG_IDENTIFIER=heartbeat with Heartbeat's message text (`info: Link linux2:eth1 up.`),
 * PRIORITY, SYSLOG_FACILITY, SYSLOG_PID, NODE, and GROUP when the line names a configured group. Transitions, peer
 * and link changes (from the event bus) go out as SYSLOG_IDENTIFIER=vigil with EVENT, GROUP, REASON, PEER...: a
 * filter on the `heartbeat` tag sees exactly Heartbeat's lines.
 */
import { access } from 'node:fs/promises';
import { closeFd, openUnixDatagramSocket, sendUnixDatagram } from '../os/libc.js';
import type { VigilEvent } from './events.js';
import type { DaemonStats } from './stats.js';
import type { LogLevel, LogSink } from './log.js';

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

const PRIORITY: Readonly<Record<LogLevel, number>> = { CRIT: 2, ERROR: 3, WARN: 4, info: 6, debug: 7 };

/** Field names: uppercase letters, digits and underscores, not starting with `_` (journald drops the rest). */
const FIELD_NAME = /^[A-Z0-9][A-Z0-9_]{0,63}$/;

/** One entry in the native format. Fields whose name is not valid are left out. */
export function encodeEntry(fields: Readonly<Record<string, string | number | undefined>>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, raw] of Object.entries(fields)) {
    if (raw === undefined || !FIELD_NAME.test(k)) continue;
    const v = String(raw);
    if (!v.includes('\n')) {
      parts.push(Buffer.from(`${k}=${v}\n`, 'utf8'));
      continue;
    }
    const bytes = Buffer.from(v, 'utf8');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(bytes.length));
    parts.push(Buffer.from(`${k}\n`, 'utf8'), len, bytes, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Does this process run under systemd with journald listening (what `vigil_journald auto` asks)? */
export async function underJournald(env: NodeJS.ProcessEnv = process.env, socket = JOURNAL_SOCKET): Promise<boolean> {
  if (env.INVOCATION_ID === undefined && env.JOURNAL_STREAM === undefined) return false;
  return access(socket).then(
    () => true,
    () => false,
  );
}

export interface JournaldOptions {
  readonly node: string;
  /** syslog facility code (daemon = 3). */
  readonly facility: number;
  /** Configured group keys: a log line that names one gets GROUP. */
  readonly groups: () => readonly string[];
  readonly path?: string;
  readonly identifier?: string;
  /** Counts what journald did not take (the sink is rebuilt by a reload; the count lives on). */
  readonly stats?: DaemonStats;
}

export class JournaldSink implements LogSink {
  private fd: number | undefined;
  dropped = 0;

  constructor(private readonly o: JournaldOptions) {}

  private send(fields: Record<string, string | number | undefined>): void {
    try {
      this.fd ??= openUnixDatagramSocket();
      sendUnixDatagram(this.fd, this.o.path ?? JOURNAL_SOCKET, encodeEntry(fields));
    } catch {
      // Non-blocking: journald busy or gone. Counted, never waited for.
      this.dropped++;
      if (this.o.stats !== undefined) this.o.stats.journaldDropped++;
    }
  }

  write(level: LogLevel, _line: string, text: string): void {
    if (level === 'debug') return;
    const group = this.o.groups().find((g) => text.includes(g));
    this.send({
      MESSAGE: `${level}: ${text}`,
      PRIORITY: PRIORITY[level],
      SYSLOG_IDENTIFIER: this.o.identifier ?? 'heartbeat',
      SYSLOG_FACILITY: this.o.facility,
      SYSLOG_PID: process.pid,
      NODE: this.o.node,
      GROUP: group,
    });
  }

  /** A structured record of an event (transitions, peers, links, health); log events are already lines. */
  event(e: VigilEvent): void {
    const base = {
      SYSLOG_IDENTIFIER: 'vigil',
      SYSLOG_FACILITY: this.o.facility,
      SYSLOG_PID: process.pid,
      NODE: this.o.node,
      EVENT: e.type,
    };
    switch (e.type) {
      case 'transition':
        this.send({
          ...base,
          PRIORITY: e.reason === 'stop-failed' || e.reason === 'start-failed' || e.reason === 'lost' ? 3 : 5,
          MESSAGE: `group ${e.group}: ${e.from} → ${e.to} (${e.reason}${e.peer === undefined ? '' : ` ${e.peer}`}; ${e.cause})`,
          GROUP: e.group,
          STATE: e.to,
          OLD_STATE: e.from,
          REASON: e.reason,
          CAUSE: e.cause,
          PEER: e.peer,
          DURATION_MS: e.durationMs,
        });
        return;
      case 'peer':
        this.send({
          ...base,
          PRIORITY: e.change === 'dead' ? 4 : 6,
          MESSAGE: `${e.kind === 'ping' ? 'ping node' : 'node'} ${e.peer}: ${e.change}${e.status === undefined ? '' : ` ${e.status}`}`,
          PEER: e.peer,
          CHANGE: e.change,
        });
        return;
      case 'link':
        this.send({
          ...base,
          PRIORITY: e.status === 'dead' ? 4 : 6,
          MESSAGE: `link ${e.peer}:${e.link} ${e.status}`,
          PEER: e.peer,
          LINK: e.link,
          STATUS: e.status,
        });
        return;
      case 'health':
        if (e.ok && e.state === 'up') return; // a passing check every few seconds is noise in a journal
        this.send({
          ...base,
          PRIORITY: e.ok ? 6 : 4,
          MESSAGE: `health check ${e.check} of group ${e.group}: ${e.ok ? 'ok' : 'failed'} (${e.state})${e.detail === undefined ? '' : `: ${e.detail}`}`,
          GROUP: e.group,
          CHECK: e.check,
          STATE: e.state,
        });
        return;
      case 'log':
        return;
    }
  }

  close(): Promise<void> {
    if (this.fd !== undefined) closeFd(this.fd);
    this.fd = undefined;
    return Promise.resolve();
  }
}
