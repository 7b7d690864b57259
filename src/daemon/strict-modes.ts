import { join, resolve } from 'node:path';
import { CLUSTER_GLUE_STONITH } from '../agents/stonith.js';
import type { CompiledConfig } from '../config/types.js';
import { type ConfigWarning, warning } from '../config/warnings.js';
import { findResourceScript, readOptionalConfigFile, resourceScriptDirs } from '../os/config-files.js';
import { TrustChecker, type TrustProblem } from '../os/file-trust.js';
import { VigilError, type SourceLocation } from '../util/errors.js';
import { runsScript } from './resources.js';

/**
 * Strict modes, as sshd's StrictModes: Vigil refuses to run as root on configuration or scripts that another user
 * could change (group/other-writable, not owned by root, or in a directory they could write). As another user (a
 * developer's `vigil check --config-dir ./examples/tutorial`) the same findings are warnings, and files owned by
 * that user are fine: the rule is about what root will execute.
 */

/** One path Vigil trusts, and why (for the message and the file:line it is reported at). */
export interface TrustTarget {
  readonly path: string;
  /** `it is the resource script of apache (haresources line 3), which Vigil runs as root` */
  readonly why: string;
  readonly location: SourceLocation;
}

/**
 * What Vigil trusts in this configuration: the config directory and its three files, resource.d and shellfuncs (sourced
 * by scripts), the resource scripts haresources names (as Heartbeat's lookup finds them; built-in agents have none),
 * health-check commands, and the STONITH program and its configuration file.
 */
export async function trustTargets(configDir: string, config: CompiledConfig | undefined): Promise<TrustTarget[]> {
  const dir = resolve(configDir);
  const out: TrustTarget[] = [{ path: dir, why: 'it is the configuration directory', location: { file: configDir } }];
  for (const f of ['ha.cf', 'authkeys', 'haresources']) {
    out.push({ path: join(dir, f), why: 'Vigil reads it as root', location: { file: join(configDir, f) } });
  }
  out.push(
    {
      path: join(dir, 'resource.d'),
      why: 'it holds the resource scripts',
      location: { file: join(configDir, 'resource.d') },
    },
    {
      path: join(dir, 'shellfuncs'),
      why: 'resource scripts source it as root',
      location: { file: join(configDir, 'shellfuncs') },
    },
  );
  if (config === undefined) return out;

  const dirs = resourceScriptDirs(dir);
  for (const g of config.groups) {
    const lookups = g.resources
      .filter((r) => runsScript(config, r))
      .map(async (r) => ({ r, path: await findResourceScript(r.type, dirs) }));
    for (const { r, path } of await Promise.all(lookups)) {
      if (path === undefined) continue; // missing: reported by the script checks, and fails the start
      const location = { file: g.origin.file, line: g.origin.line };
      out.push({
        path,
        why: `it is the resource script of ${r.type} (haresources line ${g.origin.line}), which Vigil runs as root`,
        location,
      });
      // A script put in a directory searched earlier would be run instead.
      const at = dirs.findIndex((x) => path.startsWith(`${x}/`));
      for (const d of at > 0 ? dirs.slice(0, at) : []) {
        out.push({
          path: d,
          why: `a ${r.type} put there would run as root instead (haresources line ${g.origin.line})`,
          location,
        });
      }
    }
  }
  const h = config.hacf;
  for (const c of h.vigil.healthChecks) {
    if (c.target.kind !== 'command') continue;
    const prog = c.target.argv[0];
    if (prog !== undefined) {
      const location = c.origin ?? { file: join(configDir, 'ha.cf') };
      out.push({ path: prog, why: `it is the health check ${c.id}, which Vigil runs as root`, location });
    }
  }
  if (h.vigil.notifyProgram !== '') {
    out.push({
      path: h.vigil.notifyProgram,
      why: 'it is the vigil_notify program, which Vigil runs as root on every transition',
      location: h.origins.vigil_notify ?? { file: join(configDir, 'ha.cf') },
    });
  }
  const s = h.stonith;
  if (s !== undefined) {
    const at = { file: s.origin.file, line: s.origin.line };
    let params = s.params;
    if (s.directive === 'stonith' && s.params[0] !== undefined) {
      out.push({ path: s.params[0], why: 'it is the STONITH configuration file', location: at });
      if (s.type === 'command') {
        // createStonithDevice reads the command from the file's first line that is not blank or a comment.
        const text = (await readOptionalConfigFile(s.params[0]))?.text ?? '';
        const line = text.split('\n').find((l) => l.trim() !== '' && !l.trimStart().startsWith('#')) ?? '';
        params = line.trim().split(/\s+/);
      }
    }
    if (s.type === 'command' && params[0] !== undefined) {
      out.push({ path: params[0], why: 'it is the STONITH command, which Vigil runs as root', location: at });
    } else if (s.type !== 'null' && s.type !== 'meatware' && s.type !== 'command') {
      out.push({
        path: CLUSTER_GLUE_STONITH,
        why: `it is cluster-glue's stonith tool, which Vigil runs as root for ${s.type}`,
        location: at,
      });
    }
  }
  return out;
}

export interface StrictModeReport {
  /** Refusals (running as root). */
  readonly errors: readonly VigilError[];
  /** The same findings when not running as root. */
  readonly warnings: readonly ConfigWarning[];
}

function describe(p: TrustProblem, t: TrustTarget): string {
  // Reported at the file itself: `ha.cf: writable by group (mode 0664); Vigil reads it as root`.
  if (p.path === t.path && t.location.line === undefined && resolve(t.location.file) === p.path)
    return `${p.text}; ${t.why}`;
  if (p.path === t.path) return `${p.path} is ${p.text}; ${t.why}`;
  return `${p.path} is ${p.text}, so ${t.path} in it can be replaced; ${t.why}`;
}

/**
 * Checks every trusted path and the directories above it. As root (euid 0) each problem is a VIGIL_ERR_CFG_PERMS
 * error; otherwise a VIGIL_WARN_PERMS warning, with files owned by the current user accepted.
 */
export async function checkStrictModes(
  configDir: string,
  config: CompiledConfig | undefined,
  euid = process.geteuid?.() ?? 0,
): Promise<StrictModeReport> {
  const targets = await trustTargets(configDir, config);
  const checker = new TrustChecker(new Set(euid === 0 ? [0] : [0, euid]));
  const found = await Promise.all(targets.map(async (t) => ({ t, problems: await checker.check(t.path) })));
  // One report per problem, at the most telling place: the path itself if it is a target, else a line that names
  // something inside (haresources line 3 for a writable resource.d), else the first target it was found for.
  const best = new Map<string, { p: TrustProblem; t: TrustTarget }>();
  const rank = (p: TrustProblem, t: TrustTarget): number =>
    p.path === t.path ? 2 : t.location.line !== undefined ? 1 : 0;
  for (const { t, problems } of found) {
    for (const p of problems) {
      const key = `${p.kind} ${p.path}`;
      const cur = best.get(key);
      if (cur === undefined || rank(p, t) > rank(cur.p, cur.t)) best.set(key, { p, t });
    }
  }
  const errors: VigilError[] = [];
  const warnings: ConfigWarning[] = [];
  for (const { p, t } of best.values()) {
    if (euid === 0) {
      errors.push(new VigilError('VIGIL_ERR_CFG_PERMS', `${describe(p, t)}: fix with \`${p.fix}\``, t.location));
    } else {
      warnings.push(
        warning('VIGIL_WARN_PERMS', describe(p, t), t.location, `${p.fix} (Vigil refuses this when run as root)`),
      );
    }
  }
  return { errors, warnings };
}

/** authkeys' own writable warning says less than a strict-mode error on the same file: keep the error only. */
export function supersededWarnings(warnings: readonly ConfigWarning[], errors: readonly VigilError[]): ConfigWarning[] {
  const files = new Set(errors.map((e) => e.location?.file));
  return warnings.filter((w) => !(w.code === 'VIGIL_WARN_AUTH_PERMS' && files.has(w.location?.file)));
}
