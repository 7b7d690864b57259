// The hostile scenario's pure parts (no root needed): the packets it builds, the file the sender reads, the log
// counts and the verdict.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { decodePacket } from '../../src/wire/codec.js';
import {
  buildBomb,
  buildMix,
  DEFAULT_MIX,
  encodePacketFile,
  flip,
  HOSTILE_CLASSES,
  type Identity,
  leafBody,
  MAX_UDP_PAYLOAD,
  seeded,
  typeTagEnds,
} from '../../lab/hostile-packets.js';
import { countLog, type HostileResult, judge, parseSnmp } from '../../lab/hostile.js';

const IDS: Identity[] = [
  { name: 'linux1', uuid: new Uint8Array(16).fill(1), generation: 100 },
  { name: 'linux2', uuid: new Uint8Array(16).fill(2), generation: 101 },
];

/** Inflates every (4) field of a netstring body, recursively: what a receiver parsing it all would inflate. */
function inflateAll(body: Buffer): number {
  let total = 0;
  let p = 4;
  while (body.toString('latin1', p, p + 4) !== '%%%\n') {
    const colon = body.indexOf(0x3a, p);
    const len = Number(body.toString('latin1', p, colon));
    const item = body.subarray(colon + 1, colon + 1 + len);
    if (item.toString('latin1', 0, 3) === '(4)') {
      const inner = inflateSync(item.subarray(item.indexOf(0x3d) + 1));
      total += inner.length + inflateAll(inner);
    }
    p = colon + 1 + len + 1;
  }
  return total;
}

test('a bomb asks exactly what its construction says, nested as deep as shaped', () => {
  const b = buildBomb({ fanouts: [3, 2, 2], leafBytes: 4096 });
  assert.equal(b.leaves, 12);
  assert.equal(b.depth, 3);
  assert.equal(inflateAll(b.body), b.inflatedBytes);
  assert.ok(b.body.length < 2000, `a small packet: ${b.body.length} bytes`);
  const leaf = leafBody(256 * 1024 - 64);
  assert.ok(leaf.length <= 256 * 1024 - 64 && leaf.length >= 256 * 1024 - 65, `leaf ${leaf.length}`);
  assert.throws(() => buildBomb({ fanouts: [1], leafBytes: 300 * 1024 }), RangeError);
});

test('a broken type tag: one `)` replaced, the rest (trailer included) intact', () => {
  const p = Buffer.from('###\n11:(0)t=status,12:(0)src=linux1,%%%\n5:1 abc,', 'latin1');
  assert.deepEqual(typeTagEnds(p), [9, 24]);
  const f = flip(seeded(1), p, 3);
  let diffs = 0;
  for (let i = 0; i < p.length; i++) if (p[i] !== f[i]) diffs++;
  assert.equal(diffs, 1);
  assert.ok(typeTagEnds(f).length === 1);
});

test('the mix: every class in its share, every packet sendable, bombs within the bound, reproducible', () => {
  const captured = Array.from({ length: 4 }, () => ({
    bytes: Buffer.from('###\n11:(0)t=status,%%%\n4:1 ab,', 'latin1'),
    info: {
      type: 'status',
      src: 'linux1',
      srcuuid: undefined,
      seq: 3,
      generation: 100,
      tsSeconds: 1,
      dest: undefined,
      destuuid: undefined,
    },
  }));
  const input = {
    current: captured,
    oldGeneration: captured,
    nodes: IDS,
    foreignName: 'mallory',
    deadtimeMs: 1000,
    seed: 7,
    mix: DEFAULT_MIX,
    cycles: 3,
    maxBombBytes: 8 << 20,
    // Fixed: two calls a second apart would otherwise stamp the forged status messages differently.
    tsSeconds: 1_800_000_000,
  };
  const mix = buildMix(input);
  assert.equal(mix.length, 300);
  for (const c of HOSTILE_CLASSES)
    assert.equal(mix.filter((p) => p.cls === c).length, 3 * DEFAULT_MIX[c], `class ${c}`);
  for (const p of mix) assert.ok(p.bytes.length > 0 && p.bytes.length <= MAX_UDP_PAYLOAD, `${p.cls} ${p.bytes.length}`);
  assert.ok(
    mix.some((p) => p.bytes.length > 60_000),
    'garbage near 64 KB',
  );
  // Wrong-key forgeries parse (they must cost a digest check, not a parse error) and carry index 1.
  const wk = mix.find((p) => p.cls === 'forged_wrongkey');
  const d = wk === undefined ? undefined : decodePacket(wk.bytes);
  assert.ok(d?.ok === true && d.packet.auth?.index === 1);
  const crc = mix.find((p) => p.cls === 'forged_crc_other');
  const dc = crc === undefined ? undefined : decodePacket(crc.bytes);
  assert.ok(dc?.ok === true && dc.packet.auth?.index === 2);
  assert.deepEqual(
    buildMix(input).map((p) => p.bytes.toString('hex')),
    mix.map((p) => p.bytes.toString('hex')),
  );
});

test('the packet file: class byte, big-endian length, bytes', () => {
  const f = encodePacketFile([
    { cls: 'garbage', bytes: Buffer.from('abc') },
    { cls: 'payload_bomb', bytes: Buffer.from('z') },
  ]);
  assert.equal(f.toString('hex'), `0300000003616263` + `0d000000017a`);
});

test('log counts: dead (not ping nodes), late, restart, replay, bad node, CRIT samples', () => {
  const c = countLog([
    'Dec 07 17:56:32 linux1 heartbeat: [1]: WARN: node linux2: is dead',
    'Dec 07 17:56:32 linux1 heartbeat: [1]: WARN: node 192.168.1.1: is dead',
    'Dec 07 17:56:31 linux1 heartbeat: [1]: WARN: Late heartbeat: Node linux2: interval 8780 ms',
    'Dec 07 17:56:12 linux1 heartbeat: [1]: info: Heartbeat restart on node linux2',
    'Dec 07 17:56:05 linux1 heartbeat: [1]: ERROR: should_drop_message: attempted replay attack [linux2]? [gen = 1, curgen = 2]',
    'Dec 07 17:56:12 linux1 heartbeat: [1]: ERROR: process_status_message: bad node [mallory] in message',
    'Dec 07 17:43:28 linux1 heartbeat: [2]: CRIT: Emergency Shutdown: Master Control process died.',
  ]);
  assert.equal(c.dead, 1);
  assert.equal(c.late, 1);
  assert.equal(c.restart, 1);
  assert.equal(c.replay, 1);
  assert.equal(c.bad_node, 1);
  assert.equal(c.errors, 3);
  assert.equal(c.lines, 7);
  assert.ok(c.samples.some((s) => s.includes('Emergency Shutdown')));
});

test('kernel counters from /proc/net/snmp', () => {
  const text =
    'Ip: Forwarding DefaultTTL ReasmFails\nIp: 2 64 3\nIcmp: InMsgs\nIcmp: 5\nIcmpMsg: InType3\nIcmpMsg: 5\n' +
    'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 100 1 7 50 7\n';
  const s = parseSnmp(text);
  assert.equal(s['Udp.RcvbufErrors'], 7);
  assert.equal(s['Udp.InDatagrams'], 100);
  assert.equal(s['Ip.ReasmFails'], 3);
  assert.equal(s['IcmpMsg.InType3'], 5);
});

test('the verdict: each criterion from the measurements', () => {
  const node = (host: string, dead = 0) => ({
    host,
    pids_before: [1],
    pids_after: [1],
    up: true,
    restarted: false,
    gone_after_ms: null,
    rss_kb_before: 1,
    rss_kb_after: 1,
    rss_kb_max: 1,
    cpu_ms: 1,
    cpu_pct: 1,
    listnodes: ['linux2', 'linux1', '192.168.1.1'],
    foreign_nodes: [],
    log: { ...countLog([]), dead },
    wire: null,
    kernel: { udp_in: 0, udp_rcvbuf_errors: 0, udp_in_errors: 0, ip_reasm_fails: 0 },
    notes: [],
  });
  const ok = {
    nodes: [node('linux1'), node('linux2')],
    holders_after: ['linux1'],
    vip_events: [],
    outage_ms: 120,
  } as unknown as HostileResult;
  assert.deepEqual(judge(ok), {
    daemons_up: true,
    vip_stayed: true,
    outage_ok: true,
    no_dead_peer: true,
    no_foreign_node: true,
  });
  const bad = {
    ...ok,
    nodes: [
      { ...node('linux1', 1), restarted: true },
      { ...node('linux2'), listnodes: null },
    ],
    holders_after: ['linux1', 'linux2'],
    vip_events: ['linux2 vip_add at 22000 ms'],
    outage_ms: 1001,
  } as unknown as HostileResult;
  assert.deepEqual(judge(bad), {
    daemons_up: false,
    vip_stayed: false,
    outage_ok: false,
    no_dead_peer: false,
    no_foreign_node: null,
  });
  const moved = { ...ok, vip_events: ['linux1 vip_del at 20338 ms', 'linux1 vip_add at 40000 ms'] };
  assert.equal(judge(moved).vip_stayed, false);
  const foreign = { ...ok, nodes: [{ ...node('linux1'), foreign_nodes: ['mallory'] }, node('linux2')] };
  assert.equal(judge(foreign as unknown as HostileResult).no_foreign_node, false);
});
