/**
 * The daemon's read-only HTTP server (`vigil_http ADDRESS:PORT`, off by default):
 *
 *   GET /metrics            Prometheus text format (metrics.ts)
 *   GET /api/v1/status      the document `vigil status --json` prints (StatusSnapshot, `protocol: 1`)
 *   GET /api/v1/history     the persistent transition journal (?since=ISO|ms&group=KEY&limit=N), JSON array
 *   GET /api/v1/events      Server-Sent Events: transition, peer, link, health, log (?level=, ?types=), sample
 *   GET /                   the dashboard (static files shipped in dashboard/, no CDN)
 *
 * Nothing here changes state: every other method is refused (405), and so is any request with a body. Limits on
 * everything an unauthenticated client controls: connections, header size and time, request time, URL length,
 * event streams, and how far a slow stream reader may fall behind (then it is dropped, never buffered for).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import type { HistoryEntry, StatusSnapshot } from '../control/protocol.js';
import { EVENTS_VERSION, atLeast, parseLevel, type EventBus, type VigilEvent } from '../obs/events.js';
import type { LogLevel } from '../obs/log.js';
import { buildRegistry, type MetricsSource } from './metrics.js';
import type { Registry } from 'prom-client';

export const API_VERSION = 1;
/** Open connections at once (scrapers, browsers, streams). */
export const MAX_CONNECTIONS = 64;
/** Event streams at once (each holds a connection). */
export const MAX_STREAMS = 16;
export const MAX_URL = 2048;
export const MAX_HEADER_BYTES = 8192;
/** A whole request (headers in) must arrive within this; a response that is not a stream must be done in time too. */
export const REQUEST_TIMEOUT_MS = 10_000;
export const HEADERS_TIMEOUT_MS = 5_000;
/** Bytes an event stream may have queued (a reader that stopped reading) before it is dropped. */
export const MAX_STREAM_BACKLOG = 256 * 1024;
/** A comment line this often keeps proxies from closing an idle stream. */
const STREAM_PING_MS = 15_000;
/** While a stream is open: each peer's heartbeat timing this often (the dashboard's chart). */
const SAMPLE_MS = 1000;
const MAX_HISTORY = 10_000;

const DASHBOARD_DIR = fileURLToPath(new URL('../../../dashboard/', import.meta.url));
const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

export interface HttpDeps extends MetricsSource {
  readonly snapshot: () => StatusSnapshot;
  readonly events: EventBus;
  readonly history: (q: { since?: number; group?: string; limit?: number }) => Promise<HistoryEntry[]>;
  /** Where the dashboard's files are (default: dashboard/ of the package). */
  readonly dashboardDir?: string;
  readonly log: (level: 'info' | 'WARN', text: string) => void;
}

interface Stream {
  readonly res: ServerResponse;
  readonly types: ReadonlySet<string>;
  readonly level: LogLevel;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  // Everything the dashboard needs comes from this server.
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
};

export class HttpServer {
  private server: Server | undefined;
  private readonly streams = new Set<Stream>();
  private readonly sockets = new Set<Socket>();
  private unsubscribe: (() => void) | undefined;
  private ping: NodeJS.Timeout | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private seq = 0;
  private readonly files = new Map<string, Buffer>();
  private readonly registry: Registry;
  address = '';

  constructor(private readonly d: HttpDeps) {
    this.registry = buildRegistry({ ...d, streams: () => this.streams.size });
  }

  get streamCount(): number {
    return this.streams.size;
  }

  async listen(host: string, port: number): Promise<void> {
    const server = createServer(
      {
        maxHeaderSize: MAX_HEADER_BYTES,
        requestTimeout: REQUEST_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        // Node checks those two timeouts every 30 s by default: a client trickling its headers would hold one of
        // the MAX_CONNECTIONS for 35 s instead of 5.
        connectionsCheckingInterval: 1000,
        keepAliveTimeout: 5000,
      },
      (req, res) => {
        // An exception here would reach the daemon's fatal handler (which drops the VIPs): a read-only view must
        // never take the cluster down, so whatever goes wrong is a 500 for this request only.
        try {
          this.handle(req, res);
        } catch (e) {
          this.fail(res, e);
        }
      },
    );
    server.maxConnections = MAX_CONNECTIONS;
    // A read-only API has nothing to gain from hundreds of requests on one connection.
    server.maxRequestsPerSocket = 100;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('clientError', (_e, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (e) => {
      this.d.log('WARN', `HTTP server: ${e.message}`);
    });
    this.server = server;
    const a = server.address();
    this.address =
      typeof a === 'object' && a !== null
        ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`
        : String(a);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      this.text(res, 405, 'read-only: only GET and HEAD are served\n');
      return;
    }
    const len = req.headers['content-length'];
    if ((len !== undefined && len !== '0') || req.headers['transfer-encoding'] !== undefined) {
      this.text(res, 413, 'requests carry no body\n');
      return;
    }
    const raw = req.url ?? '/';
    if (raw.length > MAX_URL) {
      this.text(res, 414, 'URL too long\n');
      return;
    }
    let url: URL;
    try {
      url = new URL(raw, 'http://vigil');
    } catch {
      this.text(res, 400, 'bad URL\n');
      return;
    }
    const head = req.method === 'HEAD';
    switch (url.pathname) {
      case '/metrics':
        void this.metrics(res, head);
        return;
      case '/api/v1/status':
        this.json(res, this.d.snapshot(), head);
        return;
      case '/api/v1/history':
        void this.history(res, url, head);
        return;
      case '/api/v1/events':
        this.stream(req, res, url);
        return;
      case '/api':
      case '/api/v1':
        this.json(
          res,
          {
            version: API_VERSION,
            events: EVENTS_VERSION,
            endpoints: ['/api/v1/status', '/api/v1/events', '/api/v1/history', '/metrics'],
          },
          head,
        );
        return;
    }
    const s = STATIC[url.pathname];
    if (s !== undefined) {
      void this.serveFile(res, s.file, s.type, head);
      return;
    }
    this.text(res, 404, 'not found\n');
  }

  private fail(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.text(res, 500, `internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  }

  private text(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  private json(res: ServerResponse, doc: unknown, head: boolean): void {
    // Byte for byte what `vigil status --json` prints.
    const body = JSON.stringify(doc, null, 2) + '\n';
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(head ? undefined : body);
  }

  private async metrics(res: ServerResponse, head: boolean): Promise<void> {
    try {
      const body = await this.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.registry.contentType, 'Content-Length': Buffer.byteLength(body) });
      res.end(head ? undefined : body);
    } catch (e) {
      this.text(res, 500, `metrics: ${(e as Error).message}\n`);
    }
  }

  private async history(res: ServerResponse, url: URL, head: boolean): Promise<void> {
    const q = url.searchParams;
    const sinceText = q.get('since');
    let since: number | undefined;
    if (sinceText !== null) {
      since = /^\d+$/.test(sinceText) ? Number(sinceText) : Date.parse(sinceText);
      if (!Number.isFinite(since)) {
        this.text(res, 400, 'since: expected ms since the epoch or an ISO 8601 time\n');
        return;
      }
    }
    const limitText = q.get('limit');
    const limit = limitText === null ? 1000 : Number(limitText);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_HISTORY) {
      this.text(res, 400, `limit: expected 1-${MAX_HISTORY}\n`);
      return;
    }
    const group = q.get('group') ?? undefined;
    try {
      const entries = await this.d.history({
        limit,
        ...(since === undefined ? {} : { since }),
        ...(group === undefined ? {} : { group }),
      });
      this.json(res, entries, head);
    } catch (e) {
      this.text(res, 500, `history: ${(e as Error).message}\n`);
    }
  }

  private async serveFile(res: ServerResponse, file: string, type: string, head: boolean): Promise<void> {
    let body = this.files.get(file);
    if (body === undefined) {
      try {
        body = await readFile(`${this.d.dashboardDir ?? DASHBOARD_DIR}/${file}`);
      } catch {
        this.text(res, 404, `dashboard file ${file} is not installed\n`);
        return;
      }
      this.files.set(file, body);
    }
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
    res.end(head ? undefined : body);
  }

  // ---------------------------------------------------------------- event stream

  private stream(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (this.streams.size >= MAX_STREAMS) {
      res.setHeader('Retry-After', '10');
      this.text(res, 503, `too many event streams (${MAX_STREAMS})\n`);
      return;
    }
    const level = parseLevel(url.searchParams.get('level')) ?? 'info';
    const typesText = url.searchParams.get('types');
    const all = ['transition', 'peer', 'link', 'health', 'log', 'sample'];
    const types = new Set(typesText === null ? all : typesText.split(',').filter((t) => all.includes(t)));
    // A stream lives as long as the client wants: no request timeout for it.
    req.socket.setTimeout(0);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    const s: Stream = { res, types, level };
    this.streams.add(s);
    res.write(
      `retry: 2000\nevent: hello\ndata: ${JSON.stringify({ v: EVENTS_VERSION, api: API_VERSION, node: this.d.snapshot().node })}\n\n`,
    );
    const done = (): void => {
      this.streams.delete(s);
      if (this.streams.size === 0) this.idle();
    };
    res.on('close', done);
    res.on('error', done);
    this.active();
  }

  /** The first stream: listen to the bus, and start the keep-alive and the heartbeat samples. */
  private active(): void {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.d.events.on((e) => {
      this.broadcast(e);
    });
    this.ping = setInterval(() => {
      for (const s of this.streams) this.send(s, ': ping\n\n');
    }, STREAM_PING_MS);
    this.sampler = setInterval(() => {
      try {
        this.sample();
      } catch {
        // A snapshot that cannot be taken now (shutting down): no sample this second.
      }
    }, SAMPLE_MS);
  }

  /** No stream left: nothing runs for them (an idle daemon that nobody watches pays nothing). */
  private idle(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.ping);
    clearInterval(this.sampler);
    this.ping = this.sampler = undefined;
  }

  private send(s: Stream, chunk: string): void {
    if (s.res.writableLength > MAX_STREAM_BACKLOG) {
      // The reader stopped reading: drop it rather than hold the daemon's memory for it.
      this.streams.delete(s);
      s.res.destroy();
      if (this.streams.size === 0) this.idle();
      return;
    }
    s.res.write(chunk);
  }

  private broadcast(e: VigilEvent): void {
    let chunk: string | undefined;
    for (const s of this.streams) {
      if (!s.types.has(e.type)) continue;
      if (e.type === 'log' && !atLeast(e.level, s.level)) continue;
      chunk ??= `id: ${++this.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ v: EVENTS_VERSION, ...e })}\n\n`;
      this.send(s, chunk);
    }
  }

  /** Each peer's heartbeat timing now: last interval age, detector limit, mean and spread (the dashboard's chart). */
  private sample(): void {
    if (![...this.streams].some((s) => s.types.has('sample'))) return;
    const snap = this.d.snapshot();
    const now = this.d.wallNow();
    const peers = snap.nodes
      .filter((n) => n.name !== snap.node && n.type === 'normal')
      .map((n) => ({
        peer: n.name,
        status: n.status,
        ageMs: n.lastHeard === undefined ? null : Math.max(0, now - n.lastHeard),
        limitMs: n.detector?.limitMs ?? null,
        meanMs: n.detector?.meanMs ?? null,
        stddevMs: n.detector?.stddevMs ?? null,
        samples: n.detector?.samples ?? 0,
      }));
    const chunk = `event: sample\ndata: ${JSON.stringify({ v: EVENTS_VERSION, type: 'sample', at: now, peers })}\n\n`;
    for (const s of this.streams) if (s.types.has('sample')) this.send(s, chunk);
  }

  async close(): Promise<void> {
    this.idle();
    for (const s of this.streams) s.res.destroy();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }
}
