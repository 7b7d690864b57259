import { request, ControlUnavailable } from '../control/client.js';
import type { ControlRequest, ControlResponse } from '../control/protocol.js';

/** `Mon DD HH:MM:SS host prog: [pid]: LEVEL: text` on stderr, the way Heartbeat's tools report errors. */
export function toolError(prog: string, text: string): void {
  const d = new Date();
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${months[d.getMonth()] ?? ''} ${String(d.getDate()).padStart(2, ' ')} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  process.stderr.write(`${stamp} ${hostname()} ${prog}: [${process.pid}]: ERROR: ${text}\n`);
}

function hostname(): string {
  return process.env.HOSTNAME ?? 'localhost';
}

/**
 * Sends a request; `undefined` when no daemon answers (the caller prints its own wording). A socket that refuses
 * this user comes back as the daemon's own refusal would: `{ ok: false, code: 'VIGIL_ERR_CONTROL_DENIED' }`.
 */
export async function tryRequest(req: ControlRequest): Promise<ControlResponse | undefined> {
  try {
    return await request(req);
  } catch (e) {
    if (e instanceof ControlUnavailable) {
      return e.code === 'VIGIL_ERR_CONTROL_DENIED' ? { ok: false, code: e.code, message: e.message } : undefined;
    }
    throw e;
  }
}

/** True for a refusal of this user (not of the command): the tools then say "permission denied", never "stopped". */
export function isDenied(resp: ControlResponse | undefined): boolean {
  return resp?.ok === false && resp.code === 'VIGIL_ERR_CONTROL_DENIED';
}
