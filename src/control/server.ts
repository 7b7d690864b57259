import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { z } from 'zod';
import { VigilError, isVigilError } from '../util/errors.js';
import { MAX_REQUEST_BYTES, type ControlRequest, type ControlResponse } from './protocol.js';

const which = z.enum(['all', 'local', 'foreign']);
const requestSchema = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('status') }),
  z.object({ cmd: z.literal('standby'), which }),
  z.object({ cmd: z.literal('takeover'), which }),
  z.object({ cmd: z.literal('reload') }),
  z.object({ cmd: z.literal('debug'), delta: z.union([z.literal(1), z.literal(-1)]) }),
  z.object({ cmd: z.literal('shutdown') }),
  z.object({ cmd: z.literal('cleanup'), group: z.string().min(1).max(1024).optional() }),
  z.object({ cmd: z.literal('fence-ack'), node: z.string().min(1).max(256) }),
]);

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

export interface ControlServerOptions {
  readonly path: string;
  readonly handler: ControlHandler;
  /** Socket file mode: 0600 (root only) unless a group such as haclient is configured. */
  readonly mode?: number;
  readonly maxClients?: number;
  /** A client that says nothing for this long is dropped (a stuck tool must not hold a slot forever). */
  readonly idleTimeoutMs?: number;
}

/** Parses one request line; throws VIGIL_ERR_CONTROL_REQUEST with a readable reason. */
export function parseRequest(line: string): ControlRequest {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new VigilError('VIGIL_ERR_CONTROL_REQUEST', 'request is not JSON');
  }
  const r = requestSchema.safeParse(json);
  if (!r.success)
    throw new VigilError('VIGIL_ERR_CONTROL_REQUEST', `bad request: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

export class ControlServer {
  private server: Server | undefined;
  private readonly clients = new Set<Socket>();
  constructor(private readonly opts: ControlServerOptions) {}

  async listen(): Promise<void> {
    await mkdir(dirname(this.opts.path), { recursive: true, mode: 0o755 });
    // A stale socket from a crashed daemon would make listen fail with EADDRINUSE.
    await rm(this.opts.path, { force: true });
    const server = createServer((sock) => {
      this.accept(sock);
    });
    server.maxConnections = this.opts.maxClients ?? 32;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Listen with a restrictive umask-equivalent: chmod right after, before anyone can connect usefully.
      server.listen(this.opts.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(this.opts.path, this.opts.mode ?? 0o600);
    this.server = server;
  }

  private accept(sock: Socket): void {
    this.clients.add(sock);
    sock.setEncoding('utf8');
    sock.setTimeout(this.opts.idleTimeoutMs ?? 10_000, () => sock.destroy());
    let buf = '';
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST_BYTES) {
        this.reply(sock, { ok: false, code: 'VIGIL_ERR_CONTROL_REQUEST', message: 'request too long' });
        sock.end();
        return;
      }
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void this.handle(sock, line);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.clients.delete(sock));
  }

  private async handle(sock: Socket, line: string): Promise<void> {
    let resp: ControlResponse;
    try {
      const req = parseRequest(line);
      resp = { ok: true, result: await this.opts.handler(req) };
    } catch (e) {
      resp = isVigilError(e)
        ? { ok: false, code: e.code, message: e.message }
        : { ok: false, code: 'VIGIL_ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) };
    }
    this.reply(sock, resp);
  }

  private reply(sock: Socket, resp: ControlResponse): void {
    if (!sock.destroyed) sock.write(JSON.stringify(resp) + '\n');
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    const s = this.server;
    this.server = undefined;
    if (s !== undefined)
      await new Promise<void>((resolve) =>
        s.close(() => {
          resolve();
        }),
      );
    await rm(this.opts.path, { force: true });
  }
}
