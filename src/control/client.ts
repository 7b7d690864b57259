import { connect } from 'node:net';
import { DEFAULT_CONTROL_SOCKET, type ControlRequest, type ControlResponse } from './protocol.js';

/**
 * Why a request did not get an answer: no daemon (VIGIL_ERR_CONTROL_UNAVAILABLE), or the socket refused this user
 * (VIGIL_ERR_CONTROL_DENIED: EACCES on connect, a root-only socket). The tools map these to their exit codes.
 */
export class ControlUnavailable extends Error {
  override readonly name = 'ControlUnavailable';
  constructor(
    readonly code: 'VIGIL_ERR_CONTROL_UNAVAILABLE' | 'VIGIL_ERR_CONTROL_DENIED',
    message: string,
  ) {
    super(message);
  }
}

/** What the tools print when the socket itself refuses them: the daemon runs, this user may not talk to it. */
export function socketDeniedMessage(path: string): string {
  return `permission denied: cannot connect to ${path}: the socket is root-only (a daemon that cannot check callers, or an older Vigil); run as root`;
}

export function controlSocketPath(): string {
  return process.env.VIGIL_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
}

/** A parsed answer is a ControlResponse only if it has the shape one has. */
function isControlResponse(x: unknown): x is ControlResponse {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  if (o.ok === true) return 'result' in o;
  return o.ok === false && typeof o.code === 'string' && typeof o.message === 'string';
}

/**
 * One request, one response; rejects with ControlUnavailable when no daemon answers, when it answers something that
 * is not a ControlResponse, or when it hangs up before a whole line. Always settles (the timeout covers the rest).
 */
export function request(req: ControlRequest, path = controlSocketPath(), timeoutMs = 10_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    let settled = false;
    const fail = (why: string, code: ControlUnavailable['code'] = 'VIGIL_ERR_CONTROL_UNAVAILABLE'): void => {
      if (settled) return;
      settled = true;
      sock.destroy();
      reject(new ControlUnavailable(code, why));
    };
    sock.setTimeout(timeoutMs, () => {
      fail(`no answer from ${path} within ${timeoutMs} ms`);
    });
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.slice(0, nl));
      } catch {
        fail('garbled answer from the daemon');
        return;
      }
      if (!isControlResponse(parsed)) {
        fail('garbled answer from the daemon');
        return;
      }
      settled = true;
      sock.end();
      resolve(parsed);
    });
    sock.on('close', () => {
      fail(`the daemon closed ${path} without an answer`);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // EACCES is about this user, not the daemon: saying "not running" would send an operator down the wrong path.
      if (e.code === 'EACCES' || e.code === 'EPERM') fail(socketDeniedMessage(path), 'VIGIL_ERR_CONTROL_DENIED');
      else fail(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'the daemon is not running' : e.message);
    });
  });
}
