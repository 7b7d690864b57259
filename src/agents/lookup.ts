import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findResourceScript, resourceScriptDirs } from '../os/config-files.js';
import { VigilError } from '../util/errors.js';
import { OCF_ROOT } from './ocf.js';
import { ocfCall, type OcfCall } from './ocf-params.js';
import { unitName } from './systemd.js';

/** Where a haresources resource is carried out. */
export type AgentLocation =
  | { readonly kind: 'script'; readonly path: string }
  | {
      readonly kind: 'ocf';
      readonly path: string;
      readonly provider: string;
      readonly agent: string;
      readonly call: OcfCall;
    }
  | { readonly kind: 'systemd'; readonly unit: string };

/** The provider Heartbeat's wrappers used, and the one a bare name is looked up in. */
export const DEFAULT_OCF_PROVIDER = 'heartbeat';

const OCF_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

async function executableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** `ocf:provider:agent` → its parts, `undefined` for any other name, an error string for a bad one. */
export function parseOcfName(type: string): { provider: string; agent: string } | string | undefined {
  if (!type.startsWith('ocf:')) return undefined;
  const parts = type.split(':');
  const [, provider = '', agent = ''] = parts;
  if (parts.length !== 3 || !OCF_NAME.test(provider) || !OCF_NAME.test(agent))
    return `invalid OCF agent name [${type}]: write ocf:<provider>:<agent>, e.g. ocf:heartbeat:nginx`;
  return { provider, agent };
}

function rscError(message: string): VigilError {
  return new VigilError('VIGIL_ERR_RSC_SCRIPT', message);
}

/**
 * Heartbeat's lookup, then further: `systemd:<unit>`; `ocf:<provider>:<agent>`; a bare name in resource.d, then
 * /etc/init.d (Heartbeat's order), then as an OCF agent of the heartbeat provider — where Heartbeat's resource.d
 * wrappers sent it, so removing the heartbeat package and its wrappers breaks nothing.
 * Throws VIGIL_ERR_RSC_SCRIPT (`Cannot locate resource script X`, Heartbeat's wording) or VIGIL_ERR_RSC_ARGS.
 */
export async function locateAgent(
  type: string,
  args: readonly string[],
  configDir: string,
  ocfRoot = OCF_ROOT,
): Promise<AgentLocation> {
  if (type.startsWith('systemd:')) {
    const unit = unitName(type.slice('systemd:'.length));
    if (unit === undefined) throw rscError(`invalid systemd unit name [${type}]`);
    if (args.length > 0)
      throw new VigilError('VIGIL_ERR_RSC_ARGS', `${type} takes no arguments (configure the unit itself)`);
    return { kind: 'systemd', unit };
  }
  const ocf = parseOcfName(type);
  if (typeof ocf === 'string') throw rscError(ocf);
  if (ocf !== undefined) {
    const path = join(ocfRoot, 'resource.d', ocf.provider, ocf.agent);
    if (!(await executableFile(path))) throw rscError(`Cannot locate resource script ${type} (no executable ${path})`);
    return ocfLocation(path, ocf.provider, ocf.agent, args, true);
  }
  const script = await findResourceScript(type, resourceScriptDirs(configDir));
  if (script !== undefined) return { kind: 'script', path: script };
  if (OCF_NAME.test(type)) {
    const path = join(ocfRoot, 'resource.d', DEFAULT_OCF_PROVIDER, type);
    if (await executableFile(path)) return ocfLocation(path, DEFAULT_OCF_PROVIDER, type, args, false);
  }
  throw rscError(`Cannot locate resource script ${type}`);
}

function ocfLocation(
  path: string,
  provider: string,
  agent: string,
  args: readonly string[],
  explicit: boolean,
): AgentLocation {
  const call = ocfCall(agent, args, explicit);
  if (typeof call === 'string') throw new VigilError('VIGIL_ERR_RSC_ARGS', call);
  return { kind: 'ocf', path, provider, agent, call };
}

/**
 * For `vigil check`: where `type` would run from (a path, `systemd:<unit>`), or undefined when nothing would.
 * A systemd unit is taken on trust: units can be generated at boot, and only a running systemd knows them all.
 */
export async function agentWhere(type: string, configDir: string, ocfRoot = OCF_ROOT): Promise<string | undefined> {
  if (type.startsWith('systemd:')) {
    const unit = unitName(type.slice('systemd:'.length));
    return unit === undefined ? undefined : `systemd:${unit}`;
  }
  try {
    // Arguments are checked when the resource runs; here only the location matters, so a wrapper-less call.
    const loc = await locateAgent(type, [], configDir, ocfRoot);
    return loc.kind === 'systemd' ? `systemd:${loc.unit}` : loc.path;
  } catch (e) {
    if (e instanceof VigilError && e.code === 'VIGIL_ERR_RSC_ARGS') {
      // Found, only the (empty) arguments were refused.
      const ocf = parseOcfName(type);
      const agent = typeof ocf === 'object' ? ocf : { provider: DEFAULT_OCF_PROVIDER, agent: type };
      return join(ocfRoot, 'resource.d', agent.provider, agent.agent);
    }
    return undefined;
  }
}
