import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { VigilError, isVigilError, errorMessage } from '../util/errors.js';
import { MAX_REQUEST_BYTES, type ControlRequest, type ControlResponse } from './protocol.js';

/**
 * The request grammar, checked by hand: a schema library costs the daemon ~11 MB of RSS for eight small shapes.
 * Unknown fields are dropped; every value is checked for type and length.
 */
const WHICH = new Set(['all', 'local', 'foreign']);

function validate(json: unknown): ControlRequest | string {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'expected an object';
  const o = json as Record<string, unknown>;
  const text = (name: string, max: number, optional: boolean): string | undefined | Error => {
    const v = o[name];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.length < 1 || v.length > max)
      return new Error(`${name}: expected a string of 1-${max} characters`);
    return v;
  };
  switch (o.cmd) {
    case 'status':
    case 'reload':
    case 'shutdown':
      return { cmd: o.cmd };
    case 'standby':
    case 'takeover':
      if (typeof o.which !== 'string' || !WHICH.has(o.which)) return 'which: expected all, local or foreign';
      return { cmd: o.cmd, which: o.which as 'all' | 'local' | 'foreign' };
    case 'debug':
      if (o.delta !== 1 && o.delta !== -1) return 'delta: expected 1 or -1';
      return { cmd: 'debug', delta: o.delta };
    case 'cleanup': {
      const group = text('group', 1024, true);
      if (group instanceof Error) return group.message;
      return group === undefined ? { cmd: 'cleanup' } : { cmd: 'cleanup', group };
    }
    case 'fence-ack': {
      const node = text('node', 256, false);
      if (node instanceof Error) return node.message;
      return { cmd: 'fence-ack', node: node ?? '' };
    }
    default:
      return `unknown command ${typeof o.cmd === 'string' ? o.cmd.slice(0, 64) : typeof o.cmd}`;
  }
}

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
  const r = validate(json);
  if (typeof r === 'string') throw new VigilError('VIGIL_ERR_CONTROL_REQUEST', `bad request: ${r}`);
  return r;
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
        : { ok: false, code: 'VIGIL_ERR_INTERNAL', message: errorMessage(e) };
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
