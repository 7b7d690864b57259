import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { VigilError, isVigilError, errorMessage } from '../util/errors.js';
import { type AccessPolicy, type PeerCreds, authorize, commandClass, isAdmin } from './access.js';
import { MAX_REQUEST_BYTES, type ControlRequest, type ControlResponse } from './protocol.js';

/**
 * The request grammar, checked by hand: a schema library costs the daemon ~11 MB of RSS for eight small shapes.
 * Unknown fields are dropped; every value is checked for type and length.
 */
const WHICH = new Set(['all', 'local', 'foreign']);
/** The most history entries one request returns (about 3 MB of JSON). */
export const MAX_HISTORY_ENTRIES = 10_000;

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
    case 'history': {
      const group = text('group', 1024, true);
      if (group instanceof Error) return group.message;
      const num = (name: string, max: number): number | undefined | Error => {
        const v = o[name];
        if (v === undefined) return undefined;
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
          return new Error(`${name}: expected a whole number from 0 to ${max}`);
        return v;
      };
      const since = num('since', Number.MAX_SAFE_INTEGER);
      if (since instanceof Error) return since.message;
      const limit = num('limit', MAX_HISTORY_ENTRIES);
      if (limit instanceof Error) return limit.message;
      return {
        cmd: 'history',
        ...(group === undefined ? {} : { group }),
        ...(since === undefined ? {} : { since }),
        ...(limit === undefined ? {} : { limit }),
      };
    }
    case 'explain': {
      const group = text('group', 1024, true);
      if (group instanceof Error) return group.message;
      return group === undefined ? { cmd: 'explain' } : { cmd: 'explain', group };
    }
    default:
      return `unknown command ${typeof o.cmd === 'string' ? o.cmd.slice(0, 64) : typeof o.cmd}`;
  }
}

export type ControlHandler = (req: ControlRequest) => Promise<unknown>;

/**
 * Per-connection access control. The socket is then connectable by anyone (mode 0666 by default): the file mode
 * cannot express apiauth (`uid=nagios`, several groups), so the kernel's peer credentials and the policy are the gate.
 */
export interface ControlAccess {
  readonly policy: AccessPolicy;
  /** The peer's credentials (SO_PEERCRED); undefined when they cannot be read, and then everything is refused. */
  readonly peer: (sock: Socket) => PeerCreds | undefined;
  readonly mode?: number;
}

export interface ControlServerOptions {
  readonly path: string;
  readonly handler: ControlHandler;
  /** Socket file mode without `access`: 0600, root only (the file mode is then the only gate). */
  readonly mode?: number;
  /**
   * Checks each caller against a policy. If peer credentials turn out unreadable here (checked once at listen), the
   * server falls back to mode 0600 without checks: root only, as before, rather than refusing everyone.
   */
  readonly access?: ControlAccess;
  readonly log?: (level: 'info' | 'warn', text: string) => void;
  readonly maxClients?: number;
  /** A client that says nothing for this long is dropped (a stuck tool must not hold a slot forever). */
  readonly idleTimeoutMs?: number;
}

/** Connection slots only admins may take: a local user holding every other slot cannot lock root's tools out. */
const ADMIN_RESERVED_SLOTS = 8;
/** Refusals of state-changing commands logged per minute (a local user must not be able to flood the log). */
const MAX_DENIALS_LOGGED_PER_MINUTE = 10;

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
  private nonAdminClients = 0;
  /** The policy in force: set once listen() has seen that peer credentials can be read. */
  private policy: AccessPolicy | undefined;
  private probe: ((creds: PeerCreds | undefined) => void) | undefined;
  private denialsLogged = 0;
  private denialWindowStart = 0;
  constructor(private readonly opts: ControlServerOptions) {}

  /** Whether callers are checked against the policy (false: root-only socket, no checks). */
  get checksPeers(): boolean {
    return this.policy !== undefined;
  }

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
    this.server = server;
    // Root-only while we find out whether callers can be checked at all.
    await chmod(this.opts.path, this.opts.access === undefined ? (this.opts.mode ?? 0o600) : 0o600);
    const access = this.opts.access;
    if (access === undefined) return;
    const why = await this.probePeerCredentials();
    if (why !== undefined) {
      this.opts.log?.(
        'warn',
        `control socket ${this.opts.path}: ${why}; it stays root-only (mode 0600) and apiauth is not applied`,
      );
      return;
    }
    this.policy = access.policy;
    await chmod(this.opts.path, access.mode ?? 0o666);
  }

  /** Connects to itself once: undefined when the accepted end's credentials can be read, else why not. */
  private async probePeerCredentials(): Promise<string | undefined> {
    const seen = new Promise<PeerCreds | undefined>((resolve) => {
      this.probe = resolve;
    });
    const c = connect(this.opts.path);
    c.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, 2000);
    });
    try {
      const r = await Promise.race([seen, timeout]);
      if (r === 'timeout') return 'cannot connect to it to test peer credentials';
      if (r === undefined) return 'peer credentials (SO_PEERCRED) cannot be read on this system';
      return undefined;
    } finally {
      clearTimeout(timer);
      this.probe = undefined;
      c.destroy();
    }
  }

  private accept(sock: Socket): void {
    const access = this.opts.access;
    const creds = access?.peer(sock);
    const probe = this.probe;
    if (probe !== undefined) {
      // While probing the socket is 0600: only root (the probe itself, normally) can be here.
      this.probe = undefined;
      sock.destroy();
      probe(creds);
      return;
    }
    const policy = this.policy;
    const counted = policy !== undefined && !isAdmin(policy, creds);
    if (counted) {
      const max = this.opts.maxClients ?? 32;
      if (this.nonAdminClients >= Math.max(1, max - ADMIN_RESERVED_SLOTS)) {
        this.reply(sock, { ok: false, code: 'VIGIL_ERR_CONTROL_REFUSED', message: 'too many connections, try again' });
        sock.end();
        sock.on('error', () => sock.destroy());
        setTimeout(() => sock.destroy(), 1000).unref();
        return;
      }
      this.nonAdminClients++;
    }
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
        void this.handle(sock, line, creds);
      }
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => {
      this.clients.delete(sock);
      if (counted) this.nonAdminClients--;
    });
  }

  private async handle(sock: Socket, line: string, creds: PeerCreds | undefined): Promise<void> {
    let resp: ControlResponse;
    try {
      const req = parseRequest(line);
      const policy = this.policy;
      if (policy !== undefined) {
        const d = authorize(policy, creds, req.cmd);
        if (!d.allow) {
          this.logDenial(req.cmd, creds);
          throw new VigilError('VIGIL_ERR_CONTROL_DENIED', d.message);
        }
      }
      resp = { ok: true, result: await this.opts.handler(req) };
    } catch (e) {
      resp = isVigilError(e)
        ? { ok: false, code: e.code, message: e.message }
        : { ok: false, code: 'VIGIL_ERR_INTERNAL', message: errorMessage(e) };
    }
    this.reply(sock, resp);
  }

  /** A refused state change is worth a log line (someone tried); refused reads are not (monitoring misconfigured). */
  private logDenial(cmd: ControlRequest['cmd'], creds: PeerCreds | undefined): void {
    if (commandClass(cmd) !== 'admin') return;
    const now = Date.now();
    if (now - this.denialWindowStart > 60_000) {
      this.denialWindowStart = now;
      this.denialsLogged = 0;
    }
    if (++this.denialsLogged > MAX_DENIALS_LOGGED_PER_MINUTE) return;
    const who = creds === undefined ? 'an unidentified caller' : `uid ${creds.uid} (pid ${creds.pid})`;
    this.opts.log?.('warn', `control: ${cmd} refused to ${who}: not root`);
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
