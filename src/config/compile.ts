import { VigilError, VigilErrors } from '../util/errors.js';
import { analyzeAuthkeys } from './authkeys.js';
import { analyzeHaCf } from './hacf.js';
import { analyzeHaresources } from './haresources.js';
import type { CompiledConfig, HaCf, ResourceGroup } from './types.js';
import type { ConfigWarning } from './warnings.js';

/** The three files as read by src/os/config-files.ts: text plus what the checks need. */
export interface ConfigSources {
  /** Directory the files came from (normally /etc/ha.d). */
  readonly configDir: string;
  /** This host's name (--node, nodeinfo, or uname -n); lowercased here. */
  readonly localNode: string;
  readonly hacf: { readonly file: string; readonly text: string };
  readonly authkeys: { readonly file: string; readonly text: string; readonly mode: number | undefined };
  readonly haresources: { readonly file: string; readonly text: string };
}

export interface ConfigAnalysis {
  /** Present only when there is no error. */
  readonly config: CompiledConfig | undefined;
  /** Every error of every file, in file order (ha.cf, authkeys, haresources). */
  readonly errors: readonly VigilError[];
  readonly warnings: readonly ConfigWarning[];
}

/** Validates the three files together, reporting every error of every file (never throws on bad input). */
export function analyzeConfig(src: ConfigSources): ConfigAnalysis {
  const hacf = analyzeHaCf(src.hacf.text, { file: src.hacf.file, localNode: src.localNode });
  const auth = analyzeAuthkeys(src.authkeys.text, { file: src.authkeys.file, mode: src.authkeys.mode });
  // haresources is checked against the nodes ha.cf did define, even when ha.cf has other errors.
  const rsc = analyzeHaresources(src.haresources.text, { file: src.haresources.file, nodes: hacf.hacf.nodes });
  const errors = [
    ...hacf.errors,
    ...auth.errors,
    ...rsc.errors,
    ...healthCheckErrors(hacf.hacf, rsc.groups),
    ...groupNodesErrors(hacf.hacf, rsc.groups),
  ];
  const warnings = [...hacf.warnings, ...auth.warnings, ...rsc.warnings];
  if (errors.length > 0 || auth.authkeys === undefined) {
    if (errors.length === 0) {
      errors.push(
        new VigilError('VIGIL_ERR_AUTH_CONFIG', 'Authentication configuration error.', { file: src.authkeys.file }),
      );
    }
    return { config: undefined, errors, warnings };
  }
  const config: CompiledConfig = {
    configDir: src.configDir,
    hacf: hacf.hacf,
    authkeys: auth.authkeys,
    groups: rsc.groups,
  };
  return { config, errors, warnings };
}

/** Compiles the three files into one CompiledConfig; throws VigilErrors listing every error found. */
export function compileConfig(src: ConfigSources): { config: CompiledConfig; warnings: readonly ConfigWarning[] } {
  const r = analyzeConfig(src);
  if (r.config === undefined) throw new VigilErrors(r.errors);
  return { config: r.config, warnings: r.warnings };
}

/** A health check must name a haresources group (by its first resource) and, for `resource`, one of its members. */
function healthCheckErrors(hacf: HaCf, groups: readonly ResourceGroup[]): VigilError[] {
  const out: VigilError[] = [];
  for (const c of hacf.vigil.healthChecks) {
    const g = groups.find((x) => x.key === c.group);
    if (g === undefined) {
      out.push(
        new VigilError(
          'VIGIL_ERR_HEALTH_CONFIG',
          `vigil_health_check: no resource group [${c.group}] in haresources (name a group by its first resource)`,
          c.origin,
        ),
      );
      continue;
    }
    const t = c.target;
    if (t.kind === 'resource' && !g.resources.some((r) => r.spec === t.resource || r.type === t.resource)) {
      out.push(
        new VigilError(
          'VIGIL_ERR_HEALTH_CONFIG',
          `vigil_health_check: group [${c.group}] has no resource [${t.resource}]`,
          c.origin,
        ),
      );
    }
  }
  return out;
}

/** A `vigil_group_nodes` line names a haresources group, only `node`s, and starts with the group's preferred node. */
function groupNodesErrors(hacf: HaCf, groups: readonly ResourceGroup[]): VigilError[] {
  const out: VigilError[] = [];
  for (const l of hacf.vigil.groupNodes) {
    const g = groups.find((x) => x.key === l.group);
    const bad = (text: string): void => {
      out.push(new VigilError('VIGIL_ERR_CFG_VALUE', `vigil_group_nodes ${l.group}: ${text}`, l.origin));
    };
    if (g === undefined) {
      bad('no such resource group in haresources (name a group by its first resource)');
      continue;
    }
    const unknown = l.nodes.filter((n) => !hacf.nodes.includes(n));
    if (unknown.length > 0) bad(`${unknown.join(', ')} not declared with a node directive`);
    if (l.nodes[0] !== g.node) bad(`the list must start with the group's haresources node, ${g.node}`);
  }
  return out;
}
