/**
 * etcd's v3 API through its JSON gateway (grpc-gateway, on the client port of every member since etcd 3.3), over
 * node:http/https: no dependency, a few hundred lines, and nothing on the heartbeat path. Keys, values and ranges are
 * base64, 64-bit ids decimal strings. The gateway is etcd's documented HTTP API; the etcd3 npm package would bring
 * @grpc/grpc-js (bench/quorum-client.md weighs both).
 *
 * Requests go to one member at a time; an error or a timeout moves on to the next member (round robin from where the
 * last success was), so losing one member costs one timeout at most once. Requests that may run twice (lease
 * keep-alives, reads) can be hedged instead (`hedged`): a member that is slow to answer is not given up on, the next
 * one is asked as well.
 */
import http from 'node:http';
import https from 'node:https';
import { VigilError, errorMessage } from '../util/errors.js';

export interface EtcdTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface EtcdHttpOptions {
  /** scheme://host:port, every member. */
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
  /** One attempt at one member. */
  readonly timeoutMs: number;
}

/** The longest answer accepted (a range over a cluster's group keys is a few KB). */
const MAX_BODY = 1 << 20;
/**
 * Connections per member. A member without a leader holds requests until its own timeout, so several may hang at
 * once (hedged keep-alives wait through an election on every member); each request's deadline counts from the call
 * (time queued for a socket included), never from the socket.
 */
const MAX_SOCKETS = 8;
/** A hedged request asks a member that answered with an error (or refused the connection) again after this long. */
const RETRY_PAUSE_MS = 200;

export class EtcdHttp {
  private current = 0;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly o: EtcdHttpOptions) {
    if (o.endpoints.length === 0) throw new VigilError('VIGIL_ERR_QUORUM', 'no etcd endpoint');
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: MAX_SOCKETS,
      ...(o.tls?.ca !== undefined ? { ca: o.tls.ca } : {}),
      ...(o.tls?.cert !== undefined ? { cert: o.tls.cert } : {}),
      ...(o.tls?.key !== undefined ? { key: o.tls.key } : {}),
    });
  }

  get endpoints(): readonly string[] {
    return this.o.endpoints;
  }

  /** One attempt at one member, ms (a hedged request asks the next member after this long). */
  get attemptMs(): number {
    return this.o.timeoutMs;
  }

  /** POST `path` with `body` to one member after the other until one answers (or all failed). */
  async call(path: string, body: unknown, timeoutMs = this.o.timeoutMs): Promise<Record<string, unknown>> {
    const n = this.o.endpoints.length;
    const errors: string[] = [];
    for (let i = 0; i < n; i++) {
      const idx = (this.current + i) % n;
      const ep = this.o.endpoints[idx] ?? '';
      try {
        const r = await this.once(ep, path, body, timeoutMs);
        this.current = idx;
        return r;
      } catch (e) {
        errors.push(`${ep}: ${errorMessage(e)}`);
        // A refusal from a member that answered (a bad request) is the same everywhere: no point going on.
        if (e instanceof VigilError && e.message.startsWith('etcd refused')) throw e;
      }
    }
    this.current = (this.current + 1) % n;
    throw new VigilError('VIGIL_ERR_QUORUM', `etcd unreachable: ${errors.join('; ')}`);
  }

  /**
   * POST `path` to the preferred member and, each time `staggerMs` passes without an answer (or at once on an error),
   * to the next member as well, keeping the earlier requests open; a member that answered with an error is asked
   * again `RETRY_PAUSE_MS` later. The first answer wins and the others are dropped; it fails at `deadlineMs`. For
   * requests that may run twice. During an etcd leader election every member holds a keep-alive until there is a
   * leader again, and answers a read "leader changed" at once: a keep-alive that waited a second still renews the
   * lease from when it was sent, a read asked again a moment later is answered, where giving up on each member in turn
   * renewed nothing and called etcd unreachable.
   */
  hedged(path: string, body: unknown, staggerMs: number, deadlineMs: number): Promise<Record<string, unknown>> {
    const n = this.o.endpoints.length;
    const start = this.current;
    const started = performance.now();
    const errors = new Map<string, string>();
    const aborts = new Set<AbortController>();
    const timers = new Set<NodeJS.Timeout>();
    return new Promise((resolve, reject) => {
      let asked = 0;
      let settled = false;
      const later = (ms: number, fn: () => void): void => {
        const t = setTimeout(() => {
          timers.delete(t);
          fn();
        }, ms);
        timers.add(t);
      };
      const settle = (): void => {
        settled = true;
        for (const t of timers) clearTimeout(t);
        for (const ac of aborts) ac.abort();
      };
      const ask = (idx: number): void => {
        const left = deadlineMs - (performance.now() - started);
        if (settled || left <= 0) return;
        const ep = this.o.endpoints[idx] ?? '';
        const ac = new AbortController();
        aborts.add(ac);
        this.once(ep, path, body, left, ac.signal).then(
          (r) => {
            aborts.delete(ac);
            if (settled) return;
            settle();
            this.current = idx;
            resolve(r);
          },
          (e: unknown) => {
            aborts.delete(ac);
            if (settled) return;
            // A refusal from a member that answered (a bad request) is the same everywhere.
            if (e instanceof VigilError && e.message.startsWith('etcd refused')) {
              settle();
              reject(e);
              return;
            }
            errors.set(ep, errorMessage(e));
            askNext();
            later(RETRY_PAUSE_MS, () => {
              ask(idx);
            });
          },
        );
      };
      const askNext = (): void => {
        if (settled || asked >= n) return;
        const idx = (start + asked) % n;
        asked++;
        ask(idx);
        if (asked < n) later(staggerMs, askNext);
      };
      later(deadlineMs, () => {
        if (settled) return;
        settle();
        this.current = (start + 1) % n;
        const why = [...errors].map(([ep, e]) => `${ep}: ${e}`).join('; ');
        reject(new VigilError('VIGIL_ERR_QUORUM', `etcd unreachable: ${why === '' ? 'no answer' : why}`));
      });
      askNext();
    });
  }

  private once(
    endpoint: string,
    path: string,
    body: unknown,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const url = new URL(path, endpoint);
    const payload = JSON.stringify(body);
    const secure = url.protocol === 'https:';
    return new Promise((outerResolve, outerReject) => {
      // The deadline runs from here: `timeout` on the request would only start once the agent gives it a socket, and
      // a request destroyed while still queued reports its error only when it gets one, so reject at once.
      const fail = (why: string): void => {
        const e = new Error(why);
        req.destroy(e);
        reject(e);
      };
      const deadline = setTimeout(() => {
        fail(`no answer within ${timeoutMs} ms`);
      }, timeoutMs);
      const onAbort = (): void => {
        fail('dropped (another member answered)');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const resolve = (v: Record<string, unknown>): void => {
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        outerResolve(v);
      };
      const reject = (e: unknown): void => {
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        outerReject(e instanceof Error ? e : new Error(String(e)));
      };
      const req = (secure ? https : http).request(
        url,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new Error('answer too large'));
            else chunks.push(c);
          });
          res.on('end', () => {
            let j: unknown;
            try {
              j = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(new Error(`not JSON (HTTP ${res.statusCode ?? 0})`));
              return;
            }
            const o = (typeof j === 'object' && j !== null ? j : {}) as Record<string, unknown>;
            if ((res.statusCode ?? 500) >= 400) {
              const msg = typeof o.error === 'string' ? o.error : typeof o.message === 'string' ? o.message : '';
              // 5xx (no leader, timeouts) are worth another member; 4xx are the request's own fault.
              if ((res.statusCode ?? 500) < 500) reject(new VigilError('VIGIL_ERR_QUORUM', `etcd refused: ${msg}`));
              else reject(new Error(`HTTP ${res.statusCode ?? 0} ${msg}`));
              return;
            }
            resolve(o);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /**
   * A streaming POST (the watch): `onLine` gets every JSON object the member sends, until the stream ends or
   * `signal` aborts. Resolves when it ends; rejects if it could not start.
   */
  stream(
    endpoint: string,
    path: string,
    body: unknown,
    onObject: (o: Record<string, unknown>) => void,
    signal: AbortSignal,
    connectTimeoutMs = this.o.timeoutMs,
  ): Promise<void> {
    const url = new URL(path, endpoint);
    const payload = JSON.stringify(body);
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(url, {
        method: 'POST',
        // Its own connection: a watch holds it for as long as it runs.
        agent: false,
        ...(secure
          ? {
              ...(this.o.tls?.ca !== undefined ? { ca: this.o.tls.ca } : {}),
              ...(this.o.tls?.cert !== undefined ? { cert: this.o.tls.cert } : {}),
              ...(this.o.tls?.key !== undefined ? { key: this.o.tls.key } : {}),
            }
          : {}),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        signal,
      });
      const connect = setTimeout(
        () => req.destroy(new Error(`no answer within ${connectTimeoutMs} ms`)),
        connectTimeoutMs,
      );
      req.on('response', (res) => {
        clearTimeout(connect);
        if ((res.statusCode ?? 500) >= 400) {
          res.resume();
          reject(new Error(`watch: HTTP ${res.statusCode ?? 0}`));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => {
          buf += text;
          if (buf.length > MAX_BODY) {
            req.destroy(new Error('watch: object too large'));
            return;
          }
          // The gateway sends one JSON object per line.
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (line === '') continue;
            try {
              onObject(JSON.parse(line) as Record<string, unknown>);
            } catch (e) {
              req.destroy(e instanceof Error ? e : new Error(String(e)));
              return;
            }
          }
        });
        res.on('end', () => {
          resolve();
        });
        res.on('error', (e) => {
          if (signal.aborted) resolve();
          else reject(e);
        });
      });
      req.on('error', (e) => {
        clearTimeout(connect);
        if (signal.aborted) resolve();
        else reject(e);
      });
      req.end(payload);
    });
  }

  /** The member the next request goes to first (the watch follows it). */
  preferred(): string {
    return this.o.endpoints[this.current] ?? this.o.endpoints[0] ?? '';
  }

  rotate(): void {
    this.current = (this.current + 1) % this.o.endpoints.length;
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: unknown): string => (typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : '');

/** The key just past every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    const v = b[i] ?? 0;
    if (v < 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i] = v + 1;
      return out.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}
