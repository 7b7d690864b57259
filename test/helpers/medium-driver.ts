/**
 * Runs one Medium inside a network namespace for the transport tests: a child `node` started by
 * `ip netns exec`, driven by JSON lines on stdin, reporting JSON lines on stdout. The medium has to live in the
 * namespace (sockets, ifindexes and its device watch all belong to one), hence a process and not an in-test object.
 *
 * `node --test dist/test/` also loads this file as a test file: it only exports, so nothing runs then.
 */
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createMedium, type UdpMediumSpec, type UdpMediumOptions } from '../../src/transport/index.js';
import * as libc from '../../src/os/libc.js';
import type { NetnsFixture } from './netns.js';

export interface SocketReport {
  readonly role: 'send' | 'recv';
  readonly device: string;
  readonly reuseaddr: number;
  readonly reuseport: number;
  readonly broadcast: number;
  readonly dontroute: number;
  readonly tos: number;
  readonly mcastTtl: number;
  readonly mcastLoop: number;
  readonly mcastIf: string;
  /** IPv6 sockets (-1 on an IPv4 one). */
  readonly v6only: number;
  readonly mcastHops6: number;
  readonly mcastLoop6: number;
  /** IPV6_MULTICAST_IF: an ifindex. */
  readonly mcastIf6: number;
}

export type DriverOutput =
  | {
      ev: 'ready';
      state: string;
      peerIsSelf: boolean;
      ifindex: number;
      dest: { address: string; port: number } | null;
      sockets: SocketReport[];
    }
  | { ev: 'start-failed'; code: string; message: string }
  | { ev: 'packet'; text: string; from: { address: string; port: number }; link: string }
  | { ev: 'event'; type: string; detail: string }
  | { ev: 'stats'; state: string; ifindex: number; stats: Record<string, number> };

type Command = { cmd: 'send'; text: string } | { cmd: 'stats' } | { cmd: 'check' } | { cmd: 'close' };

function out(o: DriverOutput): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

function report(fd: number, role: 'send' | 'recv'): SocketReport {
  // An option of the other family reads as -1 (the kernel may refuse it).
  const g = (level: number, name: number): number => {
    try {
      return libc.getIntOption(fd, level, name);
    } catch {
      return -1;
    }
  };
  let mcastIf = '';
  try {
    mcastIf = libc.getMulticastInterface(fd);
  } catch {
    /* an IPv6 socket */
  }
  return {
    role,
    device: libc.boundDevice(fd),
    reuseaddr: g(libc.SOL_SOCKET, libc.SO_REUSEADDR),
    reuseport: g(libc.SOL_SOCKET, libc.SO_REUSEPORT),
    broadcast: g(libc.SOL_SOCKET, libc.SO_BROADCAST),
    dontroute: g(libc.SOL_SOCKET, libc.SO_DONTROUTE),
    tos: g(libc.IPPROTO_IP, libc.IP_TOS),
    mcastTtl: g(libc.IPPROTO_IP, libc.IP_MULTICAST_TTL),
    mcastLoop: g(libc.IPPROTO_IP, libc.IP_MULTICAST_LOOP),
    mcastIf,
    v6only: g(libc.IPPROTO_IPV6, libc.IPV6_V6ONLY),
    mcastHops6: g(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_HOPS),
    mcastLoop6: g(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_LOOP),
    mcastIf6: g(libc.IPPROTO_IPV6, libc.IPV6_MULTICAST_IF),
  };
}

export async function main(): Promise<void> {
  const { spec, options } = JSON.parse(process.env.VIGIL_DRIVER_SPEC ?? '{}') as {
    spec: UdpMediumSpec;
    options: UdpMediumOptions;
  };
  const medium = createMedium(spec, options);
  medium.onPacket((bytes, from, link) => {
    out({ ev: 'packet', text: Buffer.from(bytes).toString('utf8'), from, link });
  });
  medium.onEvent((e) => {
    const detail = e.type === 'error' ? `${e.error.code}: ${e.error.message}` : JSON.stringify(e);
    out({ ev: 'event', type: e.type, detail });
  });
  try {
    await medium.start();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    out({ ev: 'start-failed', code: err.code ?? '', message: err.message ?? String(e) });
    process.exit(0);
  }
  out({
    ev: 'ready',
    state: medium.state,
    peerIsSelf: medium.peerIsSelf,
    ifindex: medium.boundIfindex,
    dest: medium.destination ?? null,
    sockets: medium.sockets().map((s) => report(s.fd, s.role)),
  });
  const rl = createInterface({ input: process.stdin });
  rl.on('close', () => {
    void medium.close().then(() => process.exit(0));
  });
  for await (const line of rl) {
    const c = JSON.parse(line) as Command;
    switch (c.cmd) {
      case 'send':
        medium.send(Buffer.from(c.text, 'utf8'));
        break;
      case 'check':
      case 'stats':
        if (c.cmd === 'check') await medium.checkDevice();
        out({ ev: 'stats', state: medium.state, ifindex: medium.boundIfindex, stats: { ...medium.stats } });
        break;
      case 'close':
        await medium.close();
        process.exit(0);
    }
  }
}

/** Test-side handle on a driver process. */
export class MediumDriver {
  readonly lines: DriverOutput[] = [];
  private waiters: { pred: (o: DriverOutput) => boolean; resolve: (o: DriverOutput) => void }[] = [];
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      let o: DriverOutput;
      try {
        o = JSON.parse(line) as DriverOutput;
      } catch {
        return;
      }
      this.lines.push(o);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(o)) return true;
        w.resolve(o);
        return false;
      });
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
  }

  static launch(fx: NetnsFixture, host: string, spec: UdpMediumSpec, options: UdpMediumOptions = {}): MediumDriver {
    const url = new URL('./medium-driver.js', import.meta.url).href;
    const child = fx.spawn(host, [process.execPath, '-e', `import(${JSON.stringify(url)}).then((m) => m.main())`], {
      VIGIL_DRIVER_SPEC: JSON.stringify({ spec, options }),
    });
    return new MediumDriver(child);
  }

  /** Resolves with the first line (already seen or future) matching `pred`; rejects after `ms`. */
  waitFor<T extends DriverOutput>(pred: (o: DriverOutput) => o is T, ms: number, what: string): Promise<T>;
  waitFor(pred: (o: DriverOutput) => boolean, ms: number, what: string): Promise<DriverOutput>;
  waitFor(pred: (o: DriverOutput) => boolean, ms: number, what: string): Promise<DriverOutput> {
    const seen = this.lines.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(
            `timeout after ${ms} ms waiting for ${what}; stderr: ${this.stderr}; got ${JSON.stringify(this.lines)}`,
          ),
        );
      }, ms);
      this.waiters.push({
        pred,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      });
    });
  }

  async ready(ms = 10_000): Promise<Extract<DriverOutput, { ev: 'ready' }>> {
    const o = await this.waitFor((l) => l.ev === 'ready' || l.ev === 'start-failed', ms, 'ready');
    if (o.ev !== 'ready') throw new Error(`driver did not start: ${JSON.stringify(o)}; stderr: ${this.stderr}`);
    return o;
  }

  command(c: Command): void {
    this.child.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  packets(): Extract<DriverOutput, { ev: 'packet' }>[] {
    return this.lines.filter((l): l is Extract<DriverOutput, { ev: 'packet' }> => l.ev === 'packet');
  }

  /** Asks for stats and waits for the answer. */
  async stats(check = false): Promise<Extract<DriverOutput, { ev: 'stats' }>> {
    const before = this.lines.length;
    this.command(check ? { cmd: 'check' } : { cmd: 'stats' });
    return this.waitFor(
      (l): l is Extract<DriverOutput, { ev: 'stats' }> => l.ev === 'stats' && this.lines.indexOf(l) >= before,
      10_000,
      'stats',
    );
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => {
        resolve();
      });
      this.command({ cmd: 'close' });
      setTimeout(() => {
        this.child.kill('SIGKILL');
      }, 3000).unref();
    });
  }
}

/** The drivers one test file launches, closed together at its end. */
export class DriverSet {
  private readonly all: MediumDriver[] = [];
  readonly launch = (...a: Parameters<typeof MediumDriver.launch>): MediumDriver => {
    const d = MediumDriver.launch(...a);
    this.all.push(d);
    return d;
  };
  readonly closeAll = async (): Promise<void> => {
    for (const d of this.all.splice(0)) await d.close();
  };
}

/** Sends until the text arrives: the first packets can race the receiver's bind on a loaded machine. */
export async function sendUntilReceived(
  from: MediumDriver,
  to: MediumDriver,
  text: string,
  waitMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!to.packets().some((p) => p.text === text)) {
    if (Date.now() > deadline) throw new Error(`${text} never arrived`);
    from.command({ cmd: 'send', text });
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const driverPath = fileURLToPath(new URL('./medium-driver.js', import.meta.url));
