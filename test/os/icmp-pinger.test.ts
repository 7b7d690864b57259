/**
 * The in-process ping-node prober: packet layout and parsing, and against a real kernel in namespaces, that it
 * counts the replies to its own probes only (ICMP_FILTER + the identifier filter), with iputils ping running beside
 * it. Needs root for the namespace part.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  echo6ReplyOnlyFilter,
  echo6Request,
  echoRequest,
  identifierFilter,
  internetChecksum,
  isEcho6Reply,
  parseEchoReply,
} from '../../src/os/icmp-pinger.js';
import { createLinked, netnsUnavailable, type NetnsFixture } from '../helpers/netns.js';

/** An IPv4 packet from `src` carrying an ICMP message of `type` with identifier `id`. */
function ipPacket(src: number[], type: number, id: number, options = 0): Buffer {
  const ihl = 20 + options;
  const b = Buffer.alloc(ihl + 16);
  b[0] = 0x40 | (ihl / 4);
  b[9] = 1; // ICMP
  Buffer.from(src).copy(b, 12);
  b[ihl] = type;
  b.writeUInt16BE(id, ihl + 4);
  return b;
}

test('echo requests carry a valid checksum, the identifier and the sequence', () => {
  const r = echoRequest(0x1234, 7);
  assert.equal(r[0], 8);
  assert.equal(r.readUInt16BE(4), 0x1234);
  assert.equal(r.readUInt16BE(6), 7);
  assert.equal(internetChecksum(r), 0, 'a packet with its checksum sums to zero');
});

test('a reply counts only as an echo reply with our identifier, whatever the IP header length', () => {
  assert.equal(parseEchoReply(ipPacket([192, 168, 1, 1], 0, 4242), 4242), '192.168.1.1');
  assert.equal(parseEchoReply(ipPacket([192, 168, 1, 1], 0, 4242, 8), 4242), '192.168.1.1', 'IP options');
  assert.equal(parseEchoReply(ipPacket([192, 168, 1, 1], 0, 4243), 4242), undefined, 'another identifier');
  assert.equal(parseEchoReply(ipPacket([192, 168, 1, 1], 8, 4242), 4242), undefined, 'a request');
  assert.equal(parseEchoReply(ipPacket([192, 168, 1, 1], 0, 4242).subarray(0, 25), 4242), undefined, 'truncated');
  const udp = ipPacket([192, 168, 1, 1], 0, 4242);
  udp[9] = 17;
  assert.equal(parseEchoReply(udp, 4242), undefined, 'not ICMP');
});

test('the socket filter loads the identifier behind the IP header and compares it', () => {
  const f = identifierFilter(0xbeef);
  assert.equal(f.length, 5 * 8);
  assert.equal(f.readUInt16LE(0), 0xb1, 'ldxb 4*([0]&0xf)');
  assert.equal(f.readUInt16LE(8), 0x48, 'ldh [x+4]');
  assert.equal(f.readUInt32LE(16 + 4), 0xbeef);
});

test('ICMPv6: echo request 128, replies 129 with our identifier, the kernel filters set for replies only', () => {
  const r = echo6Request(0x1234, 9);
  assert.deepEqual([r[0], r.readUInt16BE(2), r.readUInt16BE(4), r.readUInt16BE(6)], [128, 0, 0x1234, 9]);
  const reply = Buffer.from(r);
  reply[0] = 129;
  assert.ok(isEcho6Reply(reply, 0x1234));
  assert.ok(!isEcho6Reply(reply, 0x1235));
  assert.ok(!isEcho6Reply(r, 0x1234), 'a request is not a reply');
  const f = echo6ReplyOnlyFilter();
  assert.equal(f.length, 32);
  // struct icmp6_filter: a set bit blocks; only bit 129 (word 4, bit 1) is clear.
  assert.equal(f.readUInt32LE(16), 0xfffffffd);
  for (const w of [0, 1, 2, 3, 5, 6, 7]) assert.equal(f.readUInt32LE(w * 4), 0xffffffff);
  const bpf = identifierFilter(0xbeef, 6);
  assert.equal(bpf.length, 4 * 8);
  assert.equal(bpf.readUInt16LE(0), 0x28, 'ldh [4]: no IP header on an ICMPv6 socket');
  assert.equal(bpf.readUInt32LE(8 + 4), 0xbeef);
});

const skip = await netnsUnavailable();

interface PingerRun {
  a: Record<string, number>;
  quiet: Record<string, number>;
  errors: string[];
  stats: Record<'a' | 'quiet', { sent: number; read: number; replies: number }>;
}

/**
 * Runs two pingers in host a beside iputils ping (`pingArgs`): `a` probes every 100 ms for 15 rounds, `quiet` sends
 * one round on its first tick and then only reads, so whatever else it counts went through its filter.
 */
async function runPingers(
  fx: NetnsFixture,
  addresses: readonly string[],
  pingArgs: readonly string[],
): Promise<PingerRun> {
  const url = new URL('../../src/os/icmp-pinger.js', import.meta.url).href;
  const script = `
    const { IcmpPinger } = await import(${JSON.stringify(url)});
    const { spawn } = await import('node:child_process');
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const got = { a: {}, quiet: {}, errors: [], stats: {} };
    const make = (name, id, intervalMs) => {
      const p = new IcmpPinger({
        addresses: ${JSON.stringify(addresses)}, intervalMs, id,
        onReply: (addr) => { got[name][addr] = (got[name][addr] ?? 0) + 1; },
        onError: (t) => got.errors.push(t),
      });
      p.open();
      return p;
    };
    const a = make('a', 4242, 100);
    const quiet = make('quiet', 4343, 1e9);
    const ping = spawn('ping', ${JSON.stringify(pingArgs)}, { stdio: 'ignore' });
    const pingDone = new Promise((r) => ping.on('exit', r));
    for (let i = 0; i < 15; i++) {
      a.tick();
      quiet.tick();
      await sleep(100);
    }
    await pingDone;
    await sleep(200);
    // Reads the last round's replies; the round it sends itself is not waited for.
    a.tick();
    quiet.tick();
    got.stats = { a: a.stats, quiet: quiet.stats };
    a.close();
    quiet.close();
    console.log(JSON.stringify(got));
  `;
  const { stdout } = await fx.exec('a', [process.execPath, '--input-type=module', '-e', script], 30_000);
  return JSON.parse(stdout) as PingerRun;
}

describe('IcmpPinger in namespaces', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;

  before(async () => {
    fx = await createLinked('vtic', ['a', 'b'], ['10.76.1']);
  });
  after(async () => {
    await fx.cleanup();
  });

  test('counts the replies to its own probes only, beside iputils ping and another pinger', async () => {
    const got = await runPingers(fx, ['10.76.1.2', '10.76.1.99'], ['-n', '-c', '10', '-i', '0.1', '10.76.1.2']);
    // 15 rounds were answered; the bounds allow for a late first reply (neighbour resolution).
    const a = got.a['10.76.1.2'] ?? 0;
    assert.ok(a >= 13 && a <= 15, `replies counted: ${a}`);
    assert.equal(got.a['10.76.1.99'], undefined, 'nobody answers for .99');
    assert.deepEqual(got.quiet, { '10.76.1.2': 1 }, 'only the reply to its single round');
    // The kernel filters, not only the parser: nothing but that one reply was even queued for it.
    assert.deepEqual(got.stats.quiet, { sent: 2, read: 1, replies: 1 });
    assert.equal(got.stats.a.read, got.stats.a.replies);
    assert.deepEqual(got.errors, []);
  });
});

describe('IcmpPinger with IPv6 ping nodes, in namespaces', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;

  before(async () => {
    fx = await createLinked('v6aic', ['a', 'b'], ['10.76.2'], { ipv6: true });
    await fx.exec('a', ['ip', 'addr', 'add', '2001:db8:76::1/64', 'dev', 'eth1', 'nodad']);
    await fx.exec('b', ['ip', 'addr', 'add', '2001:db8:76::2/64', 'dev', 'eth1', 'nodad']);
  });
  after(async () => {
    await fx.cleanup();
  });

  test('one pinger, both families: its own replies only, beside ping -6 and another pinger', async () => {
    const got = await runPingers(
      fx,
      ['2001:db8:76::2', '2001:db8:76::99', '10.76.2.2'],
      ['-6', '-n', '-c', '10', '-i', '0.1', '2001:db8:76::2'],
    );
    const v6 = got.a['2001:db8:76::2'] ?? 0;
    const v4 = got.a['10.76.2.2'] ?? 0;
    assert.ok(v6 >= 13 && v6 <= 15, `IPv6 replies counted: ${v6}`);
    assert.ok(v4 >= 13 && v4 <= 15, `IPv4 replies counted: ${v4}`);
    assert.equal(got.a['2001:db8:76::99'], undefined, 'nobody answers for ::99');
    assert.deepEqual(got.quiet, { '2001:db8:76::2': 1, '10.76.2.2': 1 }, 'only the replies to its single round');
    // The kernel filters (ICMP6_FILTER, the identifier): nothing else was queued, not ping -6's replies.
    assert.deepEqual(got.stats.quiet, { sent: 3, read: 2, replies: 2 });
    assert.equal(got.stats.a.read, got.stats.a.replies);
    assert.deepEqual(got.errors, []);
  });
});
