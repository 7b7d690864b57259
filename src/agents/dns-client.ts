/**
 * One DNS exchange with one server: UDP with retransmission (a lost datagram on a WAN costs one retry interval, not
 * the whole deadline), TCP when the answer comes back truncated. Every exchange ends by its deadline.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { VigilError } from '../util/errors.js';
import type { DnsServerSpec } from '../config/geo-resources.js';

export interface ExchangeOptions {
  /** performance.now() value at which the exchange gives up. */
  readonly deadline: number;
  /** First retransmission after this long; doubles up to 1 s. */
  readonly retryMs?: number;
}

export const DEFAULT_RETRY_MS = 200;
const MAX_RETRY_MS = 1000;
/** A DNS message over TCP is at most 64 KiB; over UDP we never ask for more than that either. */
const MAX_MESSAGE = 65_535;

export function describeServer(s: DnsServerSpec): string {
  const host = isIPv6(s.address) ? `[${s.address}]` : s.address;
  return s.port === 53 ? host : `${host}@${s.port}`;
}

function timeout(server: DnsServerSpec, how: string): VigilError {
  return new VigilError('VIGIL_ERR_DNS', `no answer from ${describeServer(server)} (${how})`);
}

/** Is `reply` the answer to `query` (same ID, QR set)? */
function answers(query: Buffer, reply: Buffer): boolean {
  return reply.length >= 12 && reply.readUInt16BE(0) === query.readUInt16BE(0) && ((reply[2] ?? 0) & 0x80) !== 0;
}

/** Sends over UDP until an answer with the query's ID comes from the server, or the deadline. */
export function exchangeUdp(server: DnsServerSpec, query: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock: UdpSocket = createSocket(isIPv6(server.address) ? 'udp6' : 'udp4');
    let retry = opts.retryMs ?? DEFAULT_RETRY_MS;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (result: Error | Buffer): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      sock.close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const send = (): void => {
      const left = opts.deadline - performance.now();
      if (left <= 0) {
        finish(timeout(server, 'UDP'));
        return;
      }
      sock.send(query, server.port, server.address, (e) => {
        if (e !== null)
          finish(new VigilError('VIGIL_ERR_DNS', `cannot send to ${describeServer(server)}: ${e.message}`));
      });
      timer = setTimeout(send, Math.min(retry, left));
      retry = Math.min(MAX_RETRY_MS, retry * 2);
    };
    sock.on('message', (msg, rinfo) => {
      if (rinfo.address !== server.address || rinfo.port !== server.port) return;
      if (answers(query, msg)) finish(msg);
    });
    sock.on('error', (e) => {
      finish(new VigilError('VIGIL_ERR_DNS', `UDP to ${describeServer(server)}: ${e.message}`));
    });
    sock.bind(0, () => {
      send();
    });
  });
}

/** One query over TCP (two-byte length prefix each way), bounded by the deadline. */
export function exchangeTcp(server: DnsServerSpec, query: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const left = opts.deadline - performance.now();
    if (left <= 0) {
      reject(timeout(server, 'TCP'));
      return;
    }
    const sock = connect({ host: server.address, port: server.port });
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => {
      finish(timeout(server, 'TCP'));
    }, left);
    const finish = (result: Error | Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size > MAX_MESSAGE + 2) {
        finish(new VigilError('VIGIL_ERR_DNS', `answer from ${describeServer(server)} larger than 64 KiB`));
        return;
      }
      const all = Buffer.concat(chunks);
      if (all.length < 2) return;
      const want = all.readUInt16BE(0);
      if (all.length < 2 + want) return;
      const reply = all.subarray(2, 2 + want);
      if (!answers(query, reply))
        finish(new VigilError('VIGIL_ERR_DNS', `${describeServer(server)} answered another query`));
      else finish(reply);
    });
    sock.on('error', (e) => {
      finish(new VigilError('VIGIL_ERR_DNS', `TCP to ${describeServer(server)}: ${e.message}`));
    });
    sock.on('close', () => {
      finish(new VigilError('VIGIL_ERR_DNS', `${describeServer(server)} closed the TCP connection without an answer`));
    });
  });
}

/** UDP first; a truncated answer (TC) is asked again over TCP. */
export async function exchange(server: DnsServerSpec, query: Buffer, opts: ExchangeOptions): Promise<Buffer> {
  const reply = await exchangeUdp(server, query, opts);
  if (((reply[2] ?? 0) & 0x02) === 0) return reply;
  return exchangeTcp(server, query, opts);
}
