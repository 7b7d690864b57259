/**
 * A small libpcap (classic format, not pcapng) reader for tests: Ethernet frames carrying IPv4
 * with UDP or ICMP payloads. Only what the vectors need; anything else is reported as `other`.
 */
import { readFile } from 'node:fs/promises';

export interface PcapPacket {
  /** Capture timestamp in microseconds since the epoch. */
  readonly tsUs: number;
  readonly proto: 'udp' | 'icmp' | 'other';
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** ICMP type (8 echo request, 0 echo reply). */
  readonly icmpType?: number;
  /** UDP payload, or the ICMP echo payload after the 8-byte ICMP header. */
  readonly payload: Uint8Array;
}

const LINKTYPE_ETHERNET = 1;

function ip4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

export function parsePcap(buf: Uint8Array): PcapPacket[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 24) throw new Error('pcap: file shorter than its global header');
  const magic = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
    le = true;
    nano = magic === 0xa1b23c4d;
  } else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) {
    le = false;
    nano = magic === 0x4d3cb2a1;
  } else {
    throw new Error(`pcap: bad magic ${magic.toString(16)}`);
  }
  const linktype = dv.getUint32(20, le);
  if (linktype !== LINKTYPE_ETHERNET) throw new Error(`pcap: unsupported link type ${linktype}`);
  const out: PcapPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const incl = dv.getUint32(off + 8, le);
    off += 16;
    if (off + incl > buf.length) throw new Error('pcap: truncated record');
    const frame = buf.subarray(off, off + incl);
    off += incl;
    const tsUs = sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac);
    out.push(parseEthernet(frame, tsUs));
  }
  return out;
}

function parseEthernet(f: Uint8Array, tsUs: number): PcapPacket {
  const other: PcapPacket = { tsUs, proto: 'other', srcIp: '', dstIp: '', payload: f };
  if (f.length < 14) return other;
  let etOff = 12;
  let etype = (f[etOff]! << 8) | f[etOff + 1]!;
  if (etype === 0x8100) {
    etOff += 4;
    etype = (f[etOff]! << 8) | f[etOff + 1]!;
  }
  if (etype !== 0x0800) return other;
  const ip = f.subarray(etOff + 2);
  if (ip.length < 20 || ip[0]! >> 4 !== 4) return other;
  const ihl = (ip[0]! & 0x0f) * 4;
  const total = (ip[2]! << 8) | ip[3]!;
  const proto = ip[9]!;
  const srcIp = ip4(ip, 12);
  const dstIp = ip4(ip, 16);
  const l4 = ip.subarray(ihl, Math.min(total, ip.length));
  if (proto === 17 && l4.length >= 8) {
    const ulen = (l4[4]! << 8) | l4[5]!;
    return {
      tsUs,
      proto: 'udp',
      srcIp,
      dstIp,
      srcPort: (l4[0]! << 8) | l4[1]!,
      dstPort: (l4[2]! << 8) | l4[3]!,
      payload: l4.subarray(8, Math.min(ulen, l4.length)),
    };
  }
  if (proto === 1 && l4.length >= 8) {
    return { tsUs, proto: 'icmp', srcIp, dstIp, icmpType: l4[0]!, payload: l4.subarray(8) };
  }
  return { ...other, srcIp, dstIp };
}

export async function readPcap(path: string): Promise<PcapPacket[]> {
  return parsePcap(new Uint8Array(await readFile(path)));
}
