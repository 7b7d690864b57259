import { closeFd, openUnixDatagramSocket, sendUnixDatagram } from '../os/libc.js';
import type { LogLevel, LogSink } from './log.js';

const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const SEVERITY: Readonly<Record<LogLevel, number>> = { CRIT: 2, ERROR: 3, WARN: 4, info: 6, debug: 7 };

export function facilityCode(name: string): number | undefined {
  return FACILITIES[name.toLowerCase()];
}

/**
 * `logfacility`: one RFC 5424 datagram per line to /dev/log (journald and rsyslog both read it), tagged
 * `heartbeat` as Heartbeat's lines are, so existing filters keep matching. Non-blocking: lines that would
 * block are dropped and counted.
 */
export class SyslogSink implements LogSink {
  private fd: number | undefined;
  dropped = 0;
  constructor(
    private readonly facility: number,
    private readonly hostname: string,
    private readonly tag = 'heartbeat',
    private readonly path = '/dev/log',
  ) {}

  write(level: LogLevel, _line: string, text: string): void {
    if (level === 'debug') return;
    const pri = this.facility * 8 + SEVERITY[level];
    const msg = `<${pri}>1 ${new Date().toISOString()} ${this.hostname} ${this.tag} ${process.pid} - - ${level}: ${text}`;
    try {
      this.fd ??= openUnixDatagramSocket();
      sendUnixDatagram(this.fd, this.path, Buffer.from(msg, 'utf8'));
    } catch {
      this.dropped++;
    }
  }

  close(): Promise<void> {
    if (this.fd !== undefined) closeFd(this.fd);
    this.fd = undefined;
    return Promise.resolve();
  }
}
