/**
 * Event sources of a scenario, all on the wall clock (ms since the epoch, sub-ms precision where the source has it):
 * VIP address changes on each node (`ip -ts monitor address`), the client's neighbour entry for the VIP
 * (`ip -ts monitor neigh`), and daemon log lines (followed as they are written: Heartbeat's own timestamps have
 * one-second resolution, so the arrival time of each line is what we record, polled every 10 ms).
 */
import type { ChildProcess } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { nowMs, spawnCmd } from './exec.js';

export interface LabEvent {
  /** Wall clock, ms since the epoch. */
  t: number;
  /** Host or 'lab'. */
  source: string;
  kind: string;
  detail: string;
}

/** `[2026-11-26T17:26:49.645979]` (local time, µs) → epoch ms. */
export function parseIpTs(s: string): number | undefined {
  const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?\]/.exec(s);
  if (m === null) return undefined;
  const base = new Date(m[1]!).getTime();
  if (Number.isNaN(base)) return undefined;
  return base + (m[2] !== undefined ? Number(m[2]) * 1000 : 0);
}

/** Runs a line-producing command until stopped; every line goes to `onLine` with its arrival time. */
export class LineProcess {
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(
    cmd: string,
    args: readonly string[],
    onLine: (line: string, t: number) => void,
    onStderr?: (line: string) => void,
  ) {
    this.child = spawnCmd(cmd, args);
    const rl = createInterface({ input: this.child.stdout! });
    rl.on('line', (l) => {
      onLine(l, nowMs());
    });
    const er = createInterface({ input: this.child.stderr! });
    er.on('line', (l) => onStderr?.(l));
    this.exited = new Promise((resolve) => {
      this.child.on('close', () => {
        resolve();
      });
      this.child.on('error', () => {
        resolve();
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Watches one node's interface for the VIP being added or removed. Runs in the root mount namespace (`ip -n`),
 *  so a host power-off (which kills the host's own processes) does not kill the observer. */
export function watchAddresses(
  netns: string,
  host: string,
  iface: string,
  vip: string,
  emit: (e: LabEvent) => void,
): LineProcess {
  // A VIP held under a kernel lease (Vigil) is re-announced by every renewal (RTM_NEWADDR for an address already
  // present): that is `vip_renew`, not a new holder.
  let present = false;
  const needle = ` ${vip.includes(':') ? 'inet6' : 'inet'} ${vip}/`;
  return new LineProcess('ip', ['-n', netns, '-ts', 'monitor', 'address', 'dev', iface], (line, arrival) => {
    if (!line.includes(needle)) return;
    const t = parseIpTs(line) ?? arrival;
    const deleted = line.includes('] Deleted ');
    const kind = deleted ? 'vip_del' : present ? 'vip_renew' : 'vip_add';
    present = !deleted;
    emit({ t, source: host, kind, detail: line.replace(/\s+/g, ' ') });
  });
}

/** The client's neighbour entry for the VIP: which MAC the client actually sends to, over time. */
export function watchNeighbour(netns: string, vip: string, emit: (e: LabEvent) => void): LineProcess {
  return new LineProcess('ip', ['-n', netns, '-ts', 'monitor', 'neigh'], (line, arrival) => {
    const m = new RegExp(
      `^\\[[^\\]]+\\] (Deleted )?${vip.replace(/\./g, '\\.')} dev \\S+(?: lladdr (\\S+))? (\\S+)`,
    ).exec(line);
    if (m === null) return;
    const t = parseIpTs(line) ?? arrival;
    emit({
      t,
      source: 'client',
      kind: 'neigh',
      detail: `${m[1] !== undefined ? 'deleted ' : ''}${m[2] ?? '-'} ${m[3] ?? ''}`.trim(),
    });
  });
}

/** Follows a log file by polling (works across truncation and creation); each new line gets its arrival time. */
export class LogFollower {
  private offset = 0;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly path: string,
    private readonly onLine: (line: string, t: number) => void,
    private readonly intervalMs = 10,
  ) {}

  /** Starts at the current end of the file: only lines written from now on count. */
  async start(): Promise<void> {
    this.offset = await stat(this.path).then(
      (s) => s.size,
      () => 0,
    );
    this.timer = setInterval(() => {
      void this.poll();
    }, this.intervalMs);
  }

  private async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const size = await stat(this.path).then(
        (s) => s.size,
        () => -1,
      );
      if (size < 0) return;
      if (size < this.offset) this.offset = 0;
      if (size === this.offset) return;
      const t = nowMs();
      const fh = await open(this.path, 'r');
      try {
        // Bounded read per poll so a runaway log cannot balloon memory.
        const len = Math.min(size - this.offset, 1 << 20);
        const buf = Buffer.alloc(len);
        const { bytesRead } = await fh.read(buf, 0, len, this.offset);
        this.offset += bytesRead;
        const text = this.partial + buf.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const l of lines) if (l !== '') this.onLine(l, t);
      } finally {
        await fh.close();
      }
    } finally {
      this.busy = false;
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.poll();
  }
}
