import { spawn, type ChildProcess } from 'node:child_process';

export interface PingerOptions {
  readonly address: string;
  readonly intervalMs: number;
  readonly onReply: (address: string) => void;
  readonly onError: (text: string) => void;
  readonly pingPath?: string;
  /**
   * Each ping child ends by itself after this many seconds (`ping -w`) and is replaced at once; default
   * {@link PING_LIFETIME_S}. A daemon killed with SIGKILL cannot stop its children: an orphaned ping toward an
   * unreachable address, which never writes to its dead pipe, then lives at most this long instead of for ever.
   */
  readonly lifetimeS?: number;
}

export const PING_LIFETIME_S = 3600;

/**
 * Probes a ping node with one long-lived iputils `ping` per address (one spawn at start, none per probe:
 * a spawn costs milliseconds of event-loop time, too much for the heartbeat path at keepalive rates).
 * Restarts it when it ends: at once after a full lifetime (`ping -w`), with backoff after an early exit (a ping
 * that cannot start or dies at once). Stops on `close()`.
 */
export class Pinger {
  private child: ChildProcess | undefined;
  private closed = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private buf = '';

  constructor(private readonly o: PingerOptions) {}

  start(): void {
    if (this.closed) return;
    // iputils takes the interval in seconds; below 0.2 s it needs root, which the daemon is.
    const interval = Math.max(0.01, this.o.intervalMs / 1000).toFixed(3);
    const lifetimeS = Math.max(1, Math.round(this.o.lifetimeS ?? PING_LIFETIME_S));
    const args = ['-n', '-i', interval, '-W', '1', '-w', String(lifetimeS), this.o.address];
    const startedAt = performance.now();
    const child = spawn(this.o.pingPath ?? 'ping', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      this.buf += s;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.includes(' bytes from ')) {
          this.restarts = 0;
          this.o.onReply(this.o.address);
        }
      }
      if (this.buf.length > 4096) this.buf = '';
    });
    child.stderr.resume();
    child.on('error', (e) => {
      this.o.onError(`cannot run ping for ${this.o.address}: ${e.message}`);
    });
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
      if (this.closed) return;
      // Lived (nearly) its whole lifetime: a normal end, not a failure to back off from.
      const fullLife = performance.now() - startedAt >= lifetimeS * 900;
      if (fullLife) this.restarts = 0;
      const delay = fullLife ? 0 : Math.min(30_000, 1000 * 2 ** Math.min(this.restarts++, 5));
      this.restartTimer = setTimeout(() => {
        this.start();
      }, delay);
    });
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (child === undefined) return;
    child.kill('SIGKILL');
    // Even a ping stuck in the kernel, which the SIGKILL has not ended yet, no longer holds our pipe ends.
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}
