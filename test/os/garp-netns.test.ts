/**
 * Gratuitous ARP on a real link: frames captured by tcpdump in the peer namespace are checked byte by byte, and the
 * peer's neighbour entry for the VIP moves to the sender's MAC. Needs root.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinked, netnsUnavailable, type NetnsFixture } from '../helpers/netns.js';
import { buildGarpFrames, parseMac } from '../../src/os/garp.js';

const skip = await netnsUnavailable();
const VIP = '10.76.1.50';
const OLD_MAC = '02:00:00:00:00:99';

/** The frames of a classic pcap file (tcpdump -w), little-endian microsecond format. */
function pcapFrames(file: Buffer): Buffer[] {
  assert.equal(file.readUInt32LE(0), 0xa1b2c3d4, 'pcap magic');
  const out: Buffer[] = [];
  for (let off = 24; off + 16 <= file.length;) {
    const incl = file.readUInt32LE(off + 8);
    out.push(file.subarray(off + 16, off + 16 + incl));
    off += 16 + incl;
  }
  return out;
}

describe('gratuitous ARP between namespaces', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;
  let macA: string;
  const files: string[] = [];

  before(async () => {
    fx = await createLinked('vtgarp', ['a', 'b'], ['10.76.1']);
    await fx.exec('a', ['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth1', 'label', 'eth1:0']);
    const link = JSON.parse((await fx.exec('a', ['ip', '-json', 'link', 'show', 'eth1'])).stdout) as {
      address: string;
    }[];
    macA = link[0]!.address;
  });
  after(async () => {
    await fx.cleanup();
    for (const f of files) await rm(f, { force: true });
  });

  /** Starts tcpdump in b for `frames` ARP frames from a; resolves with them once the sender has run. */
  async function capture(frames: number, send: () => Promise<unknown>): Promise<Buffer[]> {
    const file = join(tmpdir(), `${fx.prefix}-${files.length}.pcap`);
    files.push(file);
    const td = fx.spawn('b', [
      'tcpdump',
      '-i',
      'eth1',
      '-nn',
      '-U',
      '-c',
      String(frames),
      '-w',
      file,
      'arp and ether src',
      macA,
    ]);
    await new Promise<void>((resolve, reject) => {
      let err = '';
      const t = setTimeout(() => {
        reject(new Error(`tcpdump did not start: ${err}`));
      }, 10_000);
      td.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening on')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const exited = new Promise<void>((resolve) =>
      td.once('exit', () => {
        resolve();
      }),
    );
    await send();
    const timer = setTimeout(() => td.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    return pcapFrames(await readFile(file));
  }

  async function garpFromA(opts: Record<string, unknown>): Promise<{ method: string; pairsSent: number }> {
    const url = new URL('../../src/os/garp.js', import.meta.url).href;
    const script = `import(${JSON.stringify(url)}).then((m) => m.sendGratuitousArp(${JSON.stringify(opts)})).then((r) => console.log(JSON.stringify(r)))`;
    const { stdout } = await fx.exec('a', [process.execPath, '-e', script], 30_000);
    return JSON.parse(stdout) as { method: string; pairsSent: number };
  }

  test('AF_PACKET: request/reply pairs exactly as send_arp, and the peer now maps the VIP to our MAC', async () => {
    await fx.exec('b', ['ip', 'neigh', 'replace', VIP, 'lladdr', OLD_MAC, 'dev', 'eth1', 'nud', 'stale']);
    let result: { method: string; pairsSent: number } | undefined;
    const frames = await capture(6, async () => {
      result = await garpFromA({ device: 'eth1', address: VIP, count: 3, intervalMs: 100 });
    });
    assert.deepEqual(result, { method: 'packet', pairsSent: 3 });
    const { request, reply } = buildGarpFrames(parseMac(macA), VIP);
    assert.equal(frames.length, 6);
    frames.forEach((f, i) => {
      // veth does not pad to 60 bytes; a physical NIC would, with zeros after the 42 bytes checked here.
      assert.equal(
        f.subarray(0, 42).toString('hex'),
        Buffer.from(i % 2 === 0 ? request : reply).toString('hex'),
        `frame ${i}`,
      );
    });
    const neigh = JSON.parse((await fx.exec('b', ['ip', '-json', 'neigh', 'show', VIP, 'dev', 'eth1'])).stdout) as {
      lladdr?: string;
    }[];
    assert.equal(neigh[0]?.lladdr, macA);
  });

  test('arping fallback announces the VIP too (unsolicited requests, sender = target = VIP)', async () => {
    await fx.exec('b', ['ip', 'neigh', 'replace', VIP, 'lladdr', OLD_MAC, 'dev', 'eth1', 'nud', 'stale']);
    let result: { method: string; pairsSent: number } | undefined;
    const frames = await capture(2, async () => {
      result = await garpFromA({ device: 'eth1', address: VIP, count: 2, intervalMs: 1000, method: 'arping' });
    });
    assert.equal(result?.method, 'arping');
    assert.equal(frames.length, 2);
    const vipHex = Buffer.from(VIP.split('.').map(Number)).toString('hex');
    for (const f of frames) {
      assert.equal(f.readUInt16BE(20), 1, 'ARP request');
      assert.equal(f.subarray(22, 28).toString('hex'), macA.replaceAll(':', ''));
      assert.equal(f.subarray(28, 32).toString('hex'), vipHex);
      assert.equal(f.subarray(38, 42).toString('hex'), vipHex);
    }
    const neigh = JSON.parse((await fx.exec('b', ['ip', '-json', 'neigh', 'show', VIP, 'dev', 'eth1'])).stdout) as {
      lladdr?: string;
    }[];
    assert.equal(neigh[0]?.lladdr, macA);
  });

  test('a down interface is an error with the reason, not a silent arping fallback', async () => {
    await fx.exec('a', ['ip', 'link', 'set', 'eth1', 'down']);
    try {
      const url = new URL('../../src/os/garp.js', import.meta.url).href;
      const script = `import(${JSON.stringify(url)}).then((m) => m.sendGratuitousArp({ device: 'eth1', address: '${VIP}', count: 1 })).then(() => console.log('sent'), (e) => console.log(e.code + ' ' + e.message))`;
      const { stdout } = await fx.exec('a', [process.execPath, '-e', script], 30_000);
      assert.match(stdout, /^VIGIL_ERR_ARP_SEND .*ENETDOWN/);
    } finally {
      await fx.exec('a', ['ip', 'link', 'set', 'eth1', 'up']);
    }
  });
});
