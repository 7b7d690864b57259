/**
 * What one unauthenticated packet costs `WireProtocol.receive` (the built code, from dist), per class of hostile
 * input and per size: time per packet and per input byte, the outcome (drop reason, or accepted), and the peak
 * memory the receiving process had to grab (growth of its maximum RSS while it received the class).
 *
 * The receiver is `linux2` of the tutorial cluster with the lab's hostile authkeys (`auth 1`, `1 sha1 ...`,
 * `2 crc`), which has already accepted a few genuine status packets of linux1 (so replays meet real state).
 * Each row runs in a child process of its own (`node --expose-gc`), so one row's garbage or peak is not another's.
 *
 * Not a test: prints a markdown table (or JSON lines with --json). `--out FILE` also appends the rows as JSON lines,
 * tagged with `--label` (e.g. before / after a fix), the date, Node's version and the commit, for bench/RESULTS.md.
 *   npx tsc -p tsconfig.json && node dist/bench/hostile-cost.js [--seconds S] [--json] [--only CLASS,...]
 *     [--out bench/results/hostile-cost.jsonl --label before]
 */
import { execFile } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseAuthkeys } from '../src/config/authkeys.js';
import { SimulatedClock } from '../src/util/clock.js';
import { signNetstring } from '../src/wire/auth.js';
import { encodeTrailer } from '../src/wire/codec.js';
import { WireProtocol } from '../src/wire/protocol.js';
import {
  buildBomb,
  flatFanoutFor,
  flip,
  HOSTILE_CLASSES,
  type HostileClass,
  type Identity,
  MAX_UDP_PAYLOAD,
  payloadBomb,
  randomBytesOf,
  seeded,
  signedPacket,
  statusMessage,
  trailerFor,
  type BombShape,
  type Signature,
} from '../lab/hostile-packets.js';

const SELF = fileURLToPath(import.meta.url);
const KEYS = parseAuthkeys('auth 1\n1 sha1 MaClefSecrete\n2 crc\n', { file: 'authkeys', mode: undefined }).authkeys;
const GEN = 0x6b08470a;
const LINUX1: Identity = {
  name: 'linux1',
  uuid: new Uint8Array(Buffer.from('0123456789abcdef', 'latin1')),
  generation: GEN,
};
const FOREIGN: Identity = { name: 'mallory', uuid: new Uint8Array(16).fill(7), generation: 1 };
const WRONG: Signature = { kind: 'sha1', index: 1, key: 'NotTheClusterKey' };
const LEAF = 256 * 1024 - 64;

interface Row {
  readonly cls: HostileClass;
  readonly label: string;
  /** Packets cycled through (fresh seqnos where the class needs them). */
  readonly build: () => Buffer[];
  /** What the packet asks a receiver to inflate if it parses everything (bombs). */
  readonly asks?: number;
  /**
   * A fresh receiver each time the packet list starts over: forgeries with rising seqnos that a receiver accepts
   * would otherwise be duplicates from the second round on, and the row would time the cheap duplicate drop.
   */
  readonly freshEachRound?: boolean;
}

function authentic(seq: number, gen = GEN, padTo?: number): Buffer {
  return signNetstring(statusMessage(LINUX1, seq, gen, { deadtimeMs: 10_000, padTo, tsSeconds: 0x6b084709 }), KEYS);
}

function flipped(p: Buffer, rand: () => number): Buffer {
  const b = Buffer.from(p);
  // Flip bytes inside the fields (never the seq) so the packet still parses and costs the full check.
  for (let i = 0; i < 4; i++) {
    const at = 4 + Math.floor(rand() * (b.length - 60));
    b[at] = (b[at] ?? 0) ^ (1 + Math.floor(rand() * 255));
  }
  return b;
}

const SIZES = [
  ['300 B', undefined],
  ['60 KB', 60_000],
] as const;

function bombShapes(): { label: string; shape: BombShape }[] {
  return [
    { label: 'flat, 1 KB packet', shape: { fanouts: [flatFanoutFor(1024, LEAF)], leafBytes: LEAF } },
    { label: 'flat, 8 KB packet', shape: { fanouts: [flatFanoutFor(8192, LEAF)], leafBytes: LEAF } },
    { label: 'flat, 60 KB packet', shape: { fanouts: [flatFanoutFor(60_000, LEAF)], leafBytes: LEAF } },
    { label: '4 levels x 4', shape: { fanouts: [4, 4, 4, 4], leafBytes: LEAF } },
    { label: '8 levels, 16 leaves', shape: { fanouts: [1, 1, 1, 1, 1, 1, 4, 4], leafBytes: LEAF } },
  ];
}

function rows(): Row[] {
  const out: Row[] = [];
  for (const [label, pad] of SIZES) {
    out.push({ cls: 'replay', label, build: () => [1, 2, 3, 4, 5].map((s) => authentic(s, GEN, pad)) });
    out.push({ cls: 'replay_oldgen', label, build: () => [20, 21, 22].map((s) => authentic(s, GEN - 1, pad)) });
    out.push({
      cls: 'flipped',
      label,
      build: () => {
        const rand = seeded(3);
        return Array.from({ length: 2000 }, (_, i) => flipped(authentic(100 + i, GEN, pad), rand));
      },
    });
  }
  out.push({
    cls: 'flipped',
    label: '300 B, one type tag broken',
    build: () => {
      const rand = seeded(4);
      return Array.from({ length: 2000 }, (_, i) => flip(rand, authentic(100 + i), 3));
    },
  });
  for (const n of [64, 1472, 16_384, MAX_UDP_PAYLOAD]) {
    out.push({
      cls: n <= 1472 ? 'garbage' : 'garbage_big',
      label: `${n} B`,
      build: () => {
        const rand = seeded(n);
        return Array.from({ length: Math.max(8, Math.floor(4_000_000 / n)) }, () => randomBytesOf(rand, n));
      },
    });
  }
  const zeros = '0'.repeat(40);
  const texts: [string, () => Buffer][] = [
    ['HTTP request', () => Buffer.from('GET / HTTP/1.1\r\nHost: 192.168.1.29:694\r\n\r\n', 'latin1')],
    [
      'classic, 60 KB of lines',
      () => {
        let s = '>>>\nt=status\nst=active\nsrc=linux1\nseq=1\nhg=1\nts=1\n';
        for (let i = 0; s.length < 60_000; i++) s += `f${i}=v\n`;
        return Buffer.from(`${s}auth=1 ${zeros}\n<<<\n`, 'latin1');
      },
    ],
    [
      '### with 4096 fields',
      () => {
        let s = '###\n';
        for (let i = 0; i < 4096; i++) s += `5:(0)${i % 10}=x,`;
        return Buffer.concat([Buffer.from(`${s}%%%\n`, 'latin1'), encodeTrailer({ index: 1, digest: zeros })]);
      },
    ],
  ];
  for (const [label, make] of texts) out.push({ cls: 'text', label, build: () => [make()] });
  for (const [label, pad] of SIZES) {
    out.push({
      cls: 'forged_wrongkey',
      label,
      build: () =>
        Array.from({ length: 2000 }, (_, i) =>
          signedPacket(statusMessage(LINUX1, 1000 + i, GEN, { padTo: pad, tsSeconds: 0x6b084709 }), WRONG),
        ),
    });
    out.push({
      cls: 'forged_crc_other',
      label,
      freshEachRound: true,
      build: () =>
        Array.from({ length: 2000 }, (_, i) =>
          signedPacket(statusMessage(LINUX1, 1 + i, GEN + 1, { padTo: pad, tsSeconds: 0x6b084709 }), {
            kind: 'crc',
            index: 2,
          }),
        ),
    });
  }
  out.push({
    cls: 'forged_crc_other',
    label: '300 B, foreign node',
    freshEachRound: true,
    build: () =>
      Array.from({ length: 2000 }, (_, i) =>
        signedPacket(statusMessage(FOREIGN, 1 + i, 1, { tsSeconds: 0x6b084709 }), { kind: 'crc', index: 2 }),
      ),
  });
  out.push({
    cls: 'forged_crc_active',
    label: '300 B',
    build: () =>
      Array.from({ length: 2000 }, (_, i) =>
        signedPacket(statusMessage(LINUX1, 1000 + i, GEN, { tsSeconds: 0x6b084709 }), { kind: 'crc', index: 1 }),
      ),
  });
  const trailers: [HostileClass, Signature][] = [
    ['bomb_notrailer', { kind: 'none' }],
    ['bomb_badtrailer', { kind: 'malformed' }],
    ['bomb_wrongdigest', WRONG],
    ['bomb_crc_other', { kind: 'crc', index: 2 }],
  ];
  for (const { label, shape } of bombShapes()) {
    const bomb = buildBomb(shape);
    for (const [cls, sig] of trailers) {
      out.push({
        cls,
        label: `${label} (${(bomb.body.length / 1024).toFixed(1)} KB)`,
        asks: bomb.inflatedBytes,
        build: () => [Buffer.concat([bomb.body, trailerFor(bomb.body, sig)])],
      });
    }
  }
  const inner = buildBomb({ fanouts: [16, 16], leafBytes: LEAF }, [Buffer.from('(0)t=status', 'latin1')]);
  for (const [name, sig] of [
    ['wrong sha1', WRONG],
    ['crc index 2', { kind: 'crc', index: 2 }],
    ['no trailer', { kind: 'none' }],
  ] as [string, Signature][]) {
    out.push({
      cls: 'payload_bomb',
      label: `16 x 16 inside, ${name}`,
      asks: inner.inflatedBytes + inner.body.length,
      build: () => [payloadBomb(inner.body, sig)],
    });
  }
  return out;
}

function receiver(): WireProtocol {
  const w = new WireProtocol({
    localNode: 'linux2',
    localUuid: new Uint8Array(16).fill(2),
    generation: 1,
    nodes: ['linux1', 'linux2'],
    keys: KEYS,
    msgfmt: 'netstring',
    ttl: 4,
    maxRexmitDelayMs: 250,
    scheduler: new SimulatedClock(),
    random: Math.random,
    loadavg: () => '0.00 0.00 0.00 1/1 1',
    transmit: () => undefined,
  });
  // linux1 is known: a few genuine packets, seq 1..10 of generation GEN.
  for (let s = 1; s <= 10; s++) w.receive(authentic(s));
  return w;
}

/**
 * Compiles the receive path (accepted, duplicate, garbage, forged) before anything is timed, on a receiver of its
 * own: otherwise the first rows pay for the JIT and their peak RSS includes the compiler's.
 */
function warmUp(): void {
  const w = receiver();
  const rand = seeded(99);
  const junk = Array.from({ length: 64 }, () => randomBytesOf(rand, 300));
  for (let i = 0; i < 20_000; i++) {
    w.receive(authentic(11 + i));
    w.receive(authentic(5));
    w.receive(junk[i % 64]!);
    if (i % 8 === 0) w.receive(signedPacket(statusMessage(LINUX1, 50_000 + i, GEN, { tsSeconds: 0x6b084709 }), WRONG));
  }
}

export interface RowResult {
  cls: HostileClass;
  /** Which packet of the class (size, shape). */
  packet: string;
  bytes: number;
  packets: number;
  us_per_packet: number;
  ns_per_byte: number;
  outcome: Record<string, number>;
  peak_rss_growth_kb: number;
  asks_inflate_bytes: number | null;
}

/** A row as `--out` records it. */
export type CostRecord = RowResult & {
  label: string;
  date: string;
  node: string;
  commit: string | null;
  seconds: number;
};

function gitCommit(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['rev-parse', '--short', 'HEAD'],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
      (e, out) => {
        resolve(e === null ? out.trim() : null);
      },
    );
  });
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function runRow(index: number, seconds: number): RowResult {
  const row = rows()[index];
  if (row === undefined) throw new RangeError(`no row ${index}`);
  const packets = row.build();
  warmUp();
  let w = receiver();
  gc();
  const rss0 = process.resourceUsage().maxRSS;
  const outcome: Record<string, number> = {};
  let n = 0;
  let bytes = 0;
  const t0 = performance.now();
  let t = t0;
  // At least 3 packets; small ones in batches so the clock is read rarely.
  while (n < 3 || (t - t0 < seconds * 1000 && n < 2_000_000)) {
    const batch = n < 3 ? 1 : 64;
    for (let k = 0; k < batch; k++) {
      const p = packets[n % packets.length]!;
      if (row.freshEachRound === true && n > 0 && n % packets.length === 0) w = receiver();
      const r = w.receive(p);
      const key = r.kind === 'accepted' ? 'accepted' : r.reason;
      outcome[key] = (outcome[key] ?? 0) + 1;
      bytes += p.length;
      n++;
    }
    t = performance.now();
  }
  const ms = t - t0;
  const rss1 = process.resourceUsage().maxRSS;
  return {
    cls: row.cls,
    packet: row.label,
    bytes: Math.round(bytes / n),
    packets: n,
    us_per_packet: (ms * 1000) / n,
    ns_per_byte: (ms * 1e6) / bytes,
    outcome,
    peak_rss_growth_kb: rss1 - rss0,
    asks_inflate_bytes: row.asks ?? null,
  };
}

function child(index: number, seconds: number): Promise<RowResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--expose-gc', SELF, '--row', String(index), '--seconds', String(seconds)],
      { timeout: 600_000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`row ${index}: ${err.message} ${stderr}`));
          return;
        }
        resolve(JSON.parse(stdout) as RowResult);
      },
    );
  });
}

function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function fmtOutcome(o: Record<string, number>, n: number): string {
  return Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => (v === n ? k : `${k} ${Math.round((v / n) * 100)}%`))
    .join(', ');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const seconds = Number(opt('--seconds') ?? '1');
  const rowArg = opt('--row');
  if (rowArg !== undefined) {
    process.stdout.write(JSON.stringify(runRow(Number(rowArg), seconds)) + '\n');
    return;
  }
  const only = opt('--only')?.split(',');
  for (const c of only ?? []) {
    if (!(HOSTILE_CLASSES as readonly string[]).includes(c)) throw new Error(`unknown class ${c}`);
  }
  const json = args.includes('--json');
  const outFile = opt('--out');
  const meta = {
    label: opt('--label') ?? 'run',
    date: new Date().toISOString(),
    node: process.version,
    commit: await gitCommit(),
    seconds,
  };
  const all = rows();
  const results: RowResult[] = [];
  if (!json) {
    process.stdout.write(
      `Hostile packets on WireProtocol.receive, Node ${process.version}, ${seconds} s per row (at least 3 packets)\n\n` +
        '| class | packet | bytes | µs/packet | ns/byte | outcome | peak RSS growth | asks to inflate |\n' +
        '|---|---|---:|---:|---:|---|---:|---:|\n',
    );
  }
  for (const [i, r] of all.entries()) {
    if (only !== undefined && !only.includes(r.cls)) continue;
    const res = await child(i, seconds);
    results.push(res);
    if (outFile !== undefined)
      await appendFile(outFile, JSON.stringify({ ...res, ...meta } satisfies CostRecord) + '\n');
    if (json) process.stdout.write(JSON.stringify(res) + '\n');
    else
      process.stdout.write(
        `| ${res.cls} | ${res.packet} | ${res.bytes} | ${res.us_per_packet.toFixed(res.us_per_packet < 10 ? 2 : 0)} | ` +
          `${res.ns_per_byte.toFixed(1)} | ${fmtOutcome(res.outcome, res.packets)} | ` +
          `${fmtBytes(res.peak_rss_growth_kb * 1024)} | ${res.asks_inflate_bytes === null ? '' : fmtBytes(res.asks_inflate_bytes)} |\n`,
      );
  }
  if (!json) {
    const one = buildBomb({ fanouts: [1], leafBytes: LEAF }).body.length - 8;
    const perPacket = flatFanoutFor(60_000, LEAF);
    const perLevel = Math.floor((256 * 1024 - 8) / (one + 3));
    process.stdout.write(
      `\nNot measured, computed: a (4) field inflating to 256 KiB takes ${one} bytes, so a 60 KB packet carries ` +
        `${perPacket} of them and an inflated 256 KiB level ${perLevel}; parsed through, two levels ask for ` +
        `${fmtBytes(perPacket * perLevel * LEAF)}, three for ${fmtBytes(perPacket * perLevel * perLevel * LEAF)}.\n`,
    );
  }
}

await main();
