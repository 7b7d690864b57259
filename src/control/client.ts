import { connect } from 'node:net';
import { DEFAULT_CONTROL_SOCKET, type ControlRequest, type ControlResponse } from './protocol.js';

/** Why a request did not get an answer: the tools map these to Heartbeat's exit codes. */
export class ControlUnavailable extends Error {
  override readonly name = 'ControlUnavailable';
  constructor(
    readonly code: 'VIGIL_ERR_CONTROL_UNAVAILABLE',
    message: string,
  ) {
    super(message);
  }
}

export function controlSocketPath(): string {
  return process.env.VIGIL_CONTROL_SOCKET ?? DEFAULT_CONTROL_SOCKET;
}

/** One request, one response; rejects with ControlUnavailable when no daemon answers. */
export function request(req: ControlRequest, path = controlSocketPath(), timeoutMs = 10_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const fail = (why: string): void => {
      sock.destroy();
      reject(new ControlUnavailable('VIGIL_ERR_CONTROL_UNAVAILABLE', why));
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
      sock.end();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as ControlResponse);
      } catch {
        fail('garbled answer from the daemon');
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      fail(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'the daemon is not running' : e.message);
    });
  });
}
