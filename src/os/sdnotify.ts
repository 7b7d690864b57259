import { closeFd, openUnixDatagramSocket, sendUnixDatagram } from './libc.js';

/**
 * systemd's notify protocol (Type=notify, WatchdogSec=): READY=1 once the node runs, WATCHDOG=1 at half the
 * watchdog period, STOPPING=1 on shutdown, STATUS= for `systemctl status`. A no-op outside systemd.
 */
export class SdNotify {
  private readonly path: string | undefined;
  private fd: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  failures = 0;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.path = env.NOTIFY_SOCKET;
    const usec = Number(env.WATCHDOG_USEC ?? '');
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    if (this.path !== undefined && Number.isFinite(usec) && usec > 0 && forUs) {
      this.watchdog = setInterval(
        () => {
          this.send('WATCHDOG=1');
        },
        Math.max(100, usec / 2000),
      );
      this.watchdog.unref();
    }
  }

  get active(): boolean {
    return this.path !== undefined;
  }

  send(state: string): void {
    if (this.path === undefined) return;
    try {
      this.fd ??= openUnixDatagramSocket();
      sendUnixDatagram(this.fd, this.path, Buffer.from(state));
    } catch {
      this.failures++;
    }
  }

  close(): void {
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    if (this.fd !== undefined) closeFd(this.fd);
    this.fd = undefined;
  }
}
