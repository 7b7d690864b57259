import { spawn, type ChildProcess } from 'node:child_process';

export interface PingerOptions {
  readonly address: string;
  readonly intervalMs: number;
  readonly onReply: (address: string) => void;
  readonly onError: (text: string) => void;
  readonly pingPath?: string;
}

/**
 * Probes a ping node with one long-lived iputils `ping` per address (one spawn at start, none per probe:
 * a spawn costs milliseconds of event-loop time, too much for the heartbeat path at keepalive rates).
 * Restarts it with backoff if it exits; stops on `close()`.
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
    const child = spawn(this.o.pingPath ?? 'ping', ['-n', '-i', interval, '-W', '1', this.o.address], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.restarts++, 5));
      this.restartTimer = setTimeout(() => {
        this.start();
      }, delay);
    });
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}
