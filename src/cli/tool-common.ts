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

/** Sends a request; `undefined` when no daemon answers (the caller prints its own wording). */
export async function tryRequest(req: ControlRequest): Promise<ControlResponse | undefined> {
  try {
    return await request(req);
  } catch (e) {
    if (e instanceof ControlUnavailable) return undefined;
    throw e;
  }
}
