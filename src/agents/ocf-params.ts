/**
 * How a haresources entry's `::` arguments become an OCF agent's parameters (OCF_RESKEY_*), with no I/O.
 *
 * Heartbeat 3 reached OCF agents through wrappers in /etc/ha.d/resource.d (shipped by the heartbeat package), each
 * mapping positional arguments its own way: `Filesystem::/dev/sdb1::/data::ext4` set device, directory and fstype.
 * Vigil keeps each wrapper's order and its OCF_RESOURCE_INSTANCE (agents name state files after it: a MailTo started
 * by Heartbeat's wrapper is seen as running by Vigil), so a haresources written for Heartbeat keeps working once the
 * heartbeat package and its wrappers are gone. Any other agent (nginx, pgsql, mysql, drbd...) and the explicit
 * `ocf:provider:agent` form take `name=value` arguments: `nginx::configfile=/etc/nginx/nginx.conf`.
 */

export interface OcfCall {
  /** OCF_RESKEY_<name> = value. */
  readonly params: Readonly<Record<string, string>>;
  /** OCF_RESOURCE_INSTANCE, as Heartbeat's wrapper named it. */
  readonly instance: string;
}

type WrapperMap = (args: readonly string[]) => OcfCall | string;

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A parameter value becomes an environment variable: keep it to one sane line. */
const MAX_PARAM_LENGTH = 4096;
const MAX_PARAMS = 64;

function count(agent: string, args: readonly string[], min: number, max: number, usage: string): string | undefined {
  if (args.length < min || args.length > max) {
    return `${agent} takes ${min === max ? String(min) : `${min} to ${max}`} argument${max === 1 ? '' : 's'} (${agent}::${usage}), got ${args.length}`;
  }
  return undefined;
}

function fixed(agent: string, names: readonly string[], instanceOf: (a: readonly string[]) => string): WrapperMap {
  return (args) => {
    const bad = count(agent, args, names.length, names.length, names.join('::'));
    if (bad !== undefined) return bad;
    const params: Record<string, string> = {};
    names.forEach((n, i) => (params[n] = args[i] ?? ''));
    return { params, instance: instanceOf(args) };
  };
}

/** Optional trailing arguments, set only when given (the wrappers test `[ "x$2" != "x" ]`). */
function optional(
  agent: string,
  names: readonly string[],
  min: number,
  instanceOf: (p: Record<string, string>) => string,
  defaults: Readonly<Record<string, string>> = {},
): WrapperMap {
  return (args) => {
    const bad = count(agent, args, min, names.length, names.map((n, i) => (i < min ? n : `[${n}]`)).join('::'));
    if (bad !== undefined) return bad;
    const params: Record<string, string> = { ...defaults };
    names.forEach((n, i) => {
      const v = args[i];
      if (v !== undefined) params[n] = v;
    });
    return { params, instance: instanceOf(params) };
  };
}

/** `ip[/cidr[/nic]]` as the IPv6addr wrapper splits it. */
function ipv6(args: readonly string[]): OcfCall | string {
  const bad = count('IPv6addr', args, 1, 1, 'address[/cidr[/nic]]');
  if (bad !== undefined) return bad;
  const arg = args[0] ?? '';
  const [addr = '', mask, nic] = arg.split('/');
  const params: Record<string, string> = { ipv6addr: addr };
  if (mask !== undefined && mask !== '') params.cidr_netmask = mask;
  if (nic !== undefined && nic !== '') params.nic = nic;
  return { params, instance: `IPv6addr_${arg}` };
}

/**
 * The wrappers of Heartbeat 3.0.6's resource.d, by agent name (IPaddr and IPaddr2 are built into Vigil and never
 * get here). Each comment is the wrapper's usage line.
 */
export const HEARTBEAT_WRAPPERS: ReadonlyMap<string, WrapperMap> = new Map<string, WrapperMap>([
  // AudibleAlarm [nodelist...]
  ['AudibleAlarm', (args) => ({ params: { nodelist: args.join(' ') }, instance: 'AudibleAlarm' })],
  // Delay [startdelay [stopdelay]] (startdelay defaults to 10)
  [
    'Delay',
    optional('Delay', ['startdelay', 'stopdelay'], 0, (p) => `Delay_${p.startdelay ?? ''}`, { startdelay: '10' }),
  ],
  // Filesystem device directory [fstype [options]]
  [
    'Filesystem',
    optional('Filesystem', ['device', 'directory', 'fstype', 'options'], 2, (p) => `Filesystem_${p.device ?? ''}`),
  ],
  // ICP driveid device
  ['ICP', fixed('ICP', ['driveid', 'device'], (a) => `ICP_${a[0] ?? ''}`)],
  // IPsrcaddr ipaddress
  ['IPsrcaddr', fixed('IPsrcaddr', ['ipaddress'], () => 'IPsrcaddr')],
  // IPv6addr address[/cidr[/nic]]
  ['IPv6addr', ipv6],
  // LVM volgrpname
  ['LVM', fixed('LVM', ['volgrpname'], () => 'LVM')],
  // LinuxSCSI scsi
  ['LinuxSCSI', fixed('LinuxSCSI', ['scsi'], (a) => `LinuxSCSI_${a[0] ?? ''}`)],
  // MailTo email [subject]
  ['MailTo', optional('MailTo', ['email', 'subject'], 1, () => 'MailTo')],
  // Raid1 raidconf raiddev
  ['Raid1', fixed('Raid1', ['raidconf', 'raiddev'], (a) => `Raid1_${a[0] ?? ''}`)],
  // SendArp ip/nic
  [
    'SendArp',
    (args) => {
      const bad = count('SendArp', args, 1, 1, 'ip/nic');
      if (bad !== undefined) return bad;
      const [ip = '', ...rest] = (args[0] ?? '').split('/');
      return { params: { ip, nic: rest.join('/') }, instance: `SendArp_${ip}` };
    },
  ],
  // ServeRAID serveraid mergegroup
  ['ServeRAID', fixed('ServeRAID', ['serveraid', 'mergegroup'], (a) => `ServeRAID_${a[0] ?? ''}`)],
  // WAS [port|config]
  [
    'WAS',
    (args) => {
      const bad = count('WAS', args, 0, 1, '[port|configfile]');
      if (bad !== undefined) return bad;
      const a = args[0];
      const params: Record<string, string> = a === undefined ? {} : /^[0-9]+$/.test(a) ? { port: a } : { config: a };
      return { params, instance: 'WAS' };
    },
  ],
  // WinPopup [hostfile] (defaults to "hosts")
  ['WinPopup', optional('WinPopup', ['hostfile'], 0, () => 'WinPopup', { hostfile: 'hosts' })],
  // Xinetd service
  ['Xinetd', fixed('Xinetd', ['service'], () => 'Xinetd')],
  // apache [configfile]
  ['apache', optional('apache', ['configfile'], 0, (p) => `apache_${p.configfile ?? ''}`)],
  // db2 instance
  ['db2', fixed('db2', ['instance'], (a) => `db2_${a[0] ?? ''}`)],
  // ids [informixdir informixserver onconfig]
  [
    'ids',
    (args) => {
      if (args.length !== 0 && args.length !== 3)
        return `ids takes 0 or 3 arguments (ids::informixdir::informixserver::onconfig), got ${args.length}`;
      const [informixdir, informixserver, onconfig] = args;
      const params: Record<string, string> =
        informixdir === undefined
          ? {}
          : { informixdir, informixserver: informixserver ?? '', onconfig: onconfig ?? '' };
      return { params, instance: `ids_${params.informixserver ?? ''}` };
    },
  ],
  // portblock protocol portno action
  ['portblock', fixed('portblock', ['protocol', 'portno', 'action'], (a) => `portblock_${a.join('_')}`)],
]);

/** `name=value` arguments → parameters; an error string when one is not of that form. */
export function namedParams(agent: string, args: readonly string[]): Record<string, string> | string {
  if (args.length > MAX_PARAMS) return `${agent}: more than ${MAX_PARAMS} parameters`;
  const params: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    const name = eq < 0 ? '' : a.slice(0, eq);
    if (!PARAM_NAME.test(name)) {
      return `${agent} takes name=value parameters (${agent}::configfile=/etc/${agent}.conf), not [${a}]`;
    }
    params[name] = a.slice(eq + 1);
  }
  return params;
}

/** A stable OCF_RESOURCE_INSTANCE for an agent Heartbeat had no wrapper for: the agent and its parameter values. */
function genericInstance(agent: string, params: Readonly<Record<string, string>>): string {
  const vals = Object.values(params);
  const raw = vals.length === 0 ? agent : `${agent}_${vals.join('_')}`;
  return raw.replace(/[^A-Za-z0-9_.:@+-]/g, '_').slice(0, 200);
}

/**
 * The call for an agent named in haresources. `explicit` is the `ocf:provider:agent` form, which always takes
 * name=value arguments; a bare name uses Heartbeat's wrapper order when there was one.
 */
export function ocfCall(agent: string, args: readonly string[], explicit: boolean): OcfCall | string {
  const wrapper = explicit ? undefined : HEARTBEAT_WRAPPERS.get(agent);
  let call: OcfCall | string;
  if (wrapper !== undefined) call = wrapper(args);
  else {
    const params = namedParams(agent, args);
    call = typeof params === 'string' ? params : { params, instance: genericInstance(agent, params) };
  }
  if (typeof call === 'string') return call;
  for (const [k, v] of Object.entries(call.params)) {
    if (v.length > MAX_PARAM_LENGTH) return `${agent}: parameter ${k} is longer than ${MAX_PARAM_LENGTH} characters`;
    if (v.includes('\n') || v.includes('\0')) return `${agent}: parameter ${k} spans lines`;
  }
  return call;
}

/** What an OCF exit code means (the log says it in words, as Heartbeat's hto-mapfuncs did). */
export function ocfExitMeaning(rc: number): string {
  switch (rc) {
    case 0:
      return 'success';
    case 1:
      return 'generic error';
    case 2:
      return 'invalid argument';
    case 3:
      return 'function unimplemented';
    case 4:
      return 'insufficient privilege';
    case 5:
      return 'program not installed';
    case 6:
      return 'program not configured';
    case 7:
      return 'not running';
    default:
      return 'unknown error';
  }
}
