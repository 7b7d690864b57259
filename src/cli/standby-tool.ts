import type { StandbyWhich } from '../control/protocol.js';
import { toolError, tryRequest } from './tool-common.js';

/**
 * hb_standby / hb_takeover [all|foreign|local|failback]: ask the local daemon to give up (standby) or take
 * (takeover) resources. Same arguments, wording and exit codes as Heartbeat's scripts (usage → 1).
 */
export async function standbyTool(prog: 'hb_standby' | 'hb_takeover', argv: readonly string[]): Promise<number> {
  const usage = (): number => {
    process.stdout.write('usage:\n');
    process.stderr.write(`${prog} [all|foreign|local|failback]\n`);
    return 1;
  };
  if (argv.length >= 2) {
    process.stdout.write(`${prog}: too many arguments\n`);
    return usage();
  }
  const arg = argv[0] ?? 'all';
  if (arg === '--help') return usage();
  if (!['all', 'foreign', 'local', 'failback'].includes(arg)) {
    process.stdout.write(`${prog}: wrong resources(${arg}).\n`);
    return usage();
  }
  const which = (arg === 'failback' ? 'foreign' : arg) as StandbyWhich;
  const resp = await tryRequest({ cmd: prog === 'hb_standby' ? 'standby' : 'takeover', which });
  if (resp === undefined) {
    toolError(prog, 'Heartbeat is not running on this machine.');
    return 1;
  }
  if (!resp.ok) {
    toolError(prog, resp.message);
    return 1;
  }
  if (prog === 'hb_standby') process.stderr.write(`${haLogStamp(process.stderr.isTTY)}Going standby [${which}].\n`);
  return 0;
}

/**
 * hb_standby says "Going standby" through the shell functions' ha_log, which (no logfile or syslog in the
 * tool's environment) writes to stderr: bare on a terminal, else after `date "+%b %d %T "`.
 */
export function haLogStamp(tty: boolean, d = new Date()): string {
  if (tty) return '';
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${months[d.getMonth()] ?? ''} ${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} `;
}
