import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { agentWhere } from '../agents/lookup.js';
import { analyzeAuthkeys } from '../config/authkeys.js';
import { type ConfigAnalysis, analyzeConfig } from '../config/compile.js';
import { analyzeHaCf } from '../config/hacf.js';
import { type LintContext, lintConfig, respawnKey } from '../config/lint.js';
import type { CompiledConfig, MediumConfig, Resource } from '../config/types.js';
import { type ConfigWarning, formatWarning } from '../config/warnings.js';
import { type ConfigFile, localNodeName, readConfigDir, readOptionalConfigFile } from '../os/config-files.js';
import { listInterfaces } from '../os/interfaces.js';
import { isExecutable, userExistsOnHost } from '../os/users.js';
import { checkStrictModes, supersededWarnings } from '../daemon/strict-modes.js';
import { formatMs } from '../util/duration.js';
import { type VigilError, isVigilError, errorMessage } from '../util/errors.js';

export interface CheckOptions {
  configDir: string;
  node?: string;
  compare?: string;
  json?: boolean;
}

export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

interface CheckResult {
  readonly configDir: string;
  readonly localNode: string;
  readonly localNodeSource: string;
  readonly config: CompiledConfig | undefined;
  readonly errors: readonly VigilError[];
  readonly warnings: readonly ConfigWarning[];
}

/** `vigil check`: validate as Heartbeat would at start, then lint. Returns the exit code. */
export async function runCheck(opts: CheckOptions): Promise<number> {
  if (opts.node?.trim() === '' || (opts.node !== undefined && /\s/.test(opts.node))) {
    process.stderr.write('vigil check: --node needs a node name without spaces\n');
    return EXIT_USAGE;
  }
  if (opts.compare !== undefined && !(await isDirectory(opts.compare))) {
    process.stderr.write(`vigil check: --compare ${opts.compare}: not a directory\n`);
    return EXIT_USAGE;
  }
  let result: CheckResult;
  try {
    result = await check(opts);
  } catch (e) {
    if (!isVigilError(e)) throw e;
    process.stderr.write(`vigil check: ${e.message}\n`);
    return EXIT_INVALID;
  }
  const valid = result.errors.length === 0;
  if (opts.json === true) {
    process.stdout.write(`${JSON.stringify(toJson(result), null, 2)}\n`);
  } else if (valid && result.config !== undefined) {
    process.stdout.write(renderSummary(result.config, result.warnings.length));
  }
  for (const e of result.errors) process.stderr.write(`${e.format()}\n`);
  if (opts.json !== true) for (const w of result.warnings) process.stderr.write(`${formatWarning(w)}\n`);
  if (!valid) {
    const n = result.errors.length;
    // Strict modes are Vigil's own refusal: Heartbeat would start on those files.
    const who = result.errors.every((e) => e.code === 'VIGIL_ERR_CFG_PERMS')
      ? 'Vigil would not start as root with these file permissions'
      : 'Heartbeat would not start with this configuration';
    process.stderr.write(`vigil check: ${n} error${n === 1 ? '' : 's'} in ${result.configDir}: ${who}\n`);
  }
  return valid ? EXIT_VALID : EXIT_INVALID;
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function check(opts: CheckOptions): Promise<CheckResult> {
  const configDir = opts.configDir;
  const host = await localNodeName(configDir);
  const localNode = (opts.node ?? host.name).toLowerCase();
  const localNodeSource = opts.node !== undefined ? '--node' : host.source;
  const { files, errors: ioErrors } = await readConfigDir(configDir);

  let analysis: ConfigAnalysis;
  if (files.hacf !== undefined && files.authkeys !== undefined && files.haresources !== undefined) {
    analysis = analyzeConfig({
      configDir,
      localNode,
      hacf: files.hacf,
      authkeys: files.authkeys,
      haresources: files.haresources,
    });
  } else {
    analysis = analyzePartial(files.hacf, files.authkeys, localNode, ioErrors);
  }
  const config = analysis.config;
  // Who may change what root will run: errors as root (the daemon refuses them), warnings otherwise.
  const strict = await checkStrictModes(configDir, config);
  const warnings = [...supersededWarnings(analysis.warnings, strict.errors), ...strict.warnings];
  if (config !== undefined) {
    warnings.push(...lintConfig(config, await lintContext(config, opts, host, warnings)));
  }
  const errors = [...analysis.errors, ...strict.errors];
  return { configDir, localNode, localNodeSource, config: errors.length === 0 ? config : undefined, errors, warnings };
}

/** Some files could not be read: still report every error of the files that could. */
function analyzePartial(
  hacf: ConfigFile | undefined,
  authkeys: ConfigFile | undefined,
  localNode: string,
  ioErrors: readonly VigilError[],
): ConfigAnalysis {
  const errors: VigilError[] = [...ioErrors];
  const warnings: ConfigWarning[] = [];
  if (hacf !== undefined) {
    const r = analyzeHaCf(hacf.text, { file: hacf.file, localNode });
    errors.push(...r.errors);
    warnings.push(...r.warnings);
  }
  if (authkeys !== undefined) {
    const r = analyzeAuthkeys(authkeys.text, { file: authkeys.file, mode: authkeys.mode });
    errors.push(...r.errors);
    warnings.push(...r.warnings);
  }
  return { config: undefined, errors, warnings };
}

async function lintContext(
  config: CompiledConfig,
  opts: CheckOptions,
  host: { name: string; source: string },
  warnings: ConfigWarning[],
): Promise<LintContext> {
  let interfaces: LintContext['interfaces'];
  try {
    interfaces = await listInterfaces();
  } catch (e) {
    warnings.push({
      code: 'VIGIL_WARN_INTERFACE',
      message: `cannot list this host's interfaces, interface checks skipped: ${errorMessage(e)}`,
      hint: 'install iproute2',
      location: undefined,
    });
  }
  let peer: LintContext['peer'];
  if (opts.compare !== undefined) {
    const dir = opts.compare;
    const [authkeys, haresources] = await Promise.all([
      readOptionalConfigFile(join(dir, 'authkeys')),
      readOptionalConfigFile(join(dir, 'haresources')),
    ]);
    peer = { dir, authkeys, haresources };
  }
  const scripts = new Map<string, string | undefined>();
  const types = new Set(config.groups.flatMap((g) => g.resources.map((r) => r.type)));
  await Promise.all(
    [...types].map(async (t) => {
      scripts.set(t, await agentWhere(t, resolve(config.configDir)));
    }),
  );
  const respawn = new Map<string, { userExists: boolean | undefined; executable: boolean }>();
  await Promise.all(
    config.hacf.respawn.map(async (r) => {
      const command = r.argv[0] ?? '';
      const [userExists, executable] = await Promise.all([userExistsOnHost(r.user), isExecutable(command)]);
      respawn.set(respawnKey(r.user, command), { userExists, executable });
    }),
  );
  return {
    interfaces,
    hostName: opts.node !== undefined ? host : undefined,
    peer,
    scripts,
    respawn,
  };
}

function describeMedium(m: MediumConfig): string {
  switch (m.kind) {
    case 'bcast':
      return `bcast ${m.dev} on udp ${m.port}`;
    case 'ucast':
      return `ucast ${m.dev} to ${m.peer} on udp ${m.port}`;
    case 'mcast':
      return `mcast ${m.dev} group ${m.group} on udp ${m.port}, ttl ${m.ttl}, loop ${m.loop ? 'on' : 'off'}`;
    case 'ucast6':
      return `ucast6 ${m.dev} to ${m.peer} on udp ${m.port}`;
    case 'mcast6':
      return `mcast6 ${m.dev} group ${m.group} on udp ${m.port}, hops ${m.hops}, loop ${m.loop ? 'on' : 'off'}`;
    case 'serial':
      return `serial ${m.tty} at ${m.baud} baud`;
  }
}

function describeResource(r: Resource): string {
  return [r.type, ...r.args].join(' ');
}

/** The human summary printed on success. */
export function renderSummary(config: CompiledConfig, warningCount: number): string {
  const h = config.hacf;
  const rows: [string, string][] = [];
  rows.push(['nodes', h.nodes.map((n) => (n === h.localNode ? `${n} (this node)` : n)).join(', ')]);
  h.media.forEach((m, i) => rows.push([i === 0 ? 'media' : '', describeMedium(m)]));
  if (h.pingNodes.length > 0) {
    rows.push([
      h.pingNodes.length === 1 ? 'ping node' : 'ping nodes',
      h.pingNodes.map((p) => (p.group ? `${p.name} (any of ${p.addresses.join(' ')})` : p.name)).join(', '),
    ]);
  }
  rows.push(['keepalive', `${h.keepaliveMs} ms`]);
  rows.push(['deadtime', `${h.deadtimeMs} ms`]);
  rows.push(['warntime', `${h.warntimeMs} ms`]);
  rows.push(['initdead', `${h.initdeadMs} ms`]);
  if (h.pingNodes.length > 0) rows.push(['deadping', `${h.deadpingMs} ms`]);
  rows.push(['auto_failback', h.autoFailback]);
  const active = config.authkeys.keys.get(config.authkeys.active);
  rows.push(['authentication', active === undefined ? '?' : `${active.method} (key ${active.index})`]);
  const logging: string[] = [];
  if (h.logfile !== undefined) logging.push(`logfile ${h.logfile}`);
  if (h.debugfile !== undefined) logging.push(`debugfile ${h.debugfile}`);
  if (h.logfacility !== undefined) logging.push(`syslog facility ${h.logfacility}`);
  if (h.useLogd) logging.push('logd');
  rows.push(['logging', logging.join(', ')]);
  // stonith_host parameters often hold a device password: name the device only.
  if (h.stonith !== undefined) {
    rows.push(['stonith', `${h.stonith.type} (${h.stonith.directive} ${h.stonith.host ?? ''})`.replace(' )', ')')]);
  }
  if (h.watchdog !== undefined)
    rows.push(['watchdog', `${h.watchdog.device} (${formatMs(h.watchdog.timeoutS * 1000)})`]);

  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  let out = `Cluster configuration in ${config.configDir}: valid${warningCount > 0 ? ` (${warningCount} warning${warningCount === 1 ? '' : 's'})` : ''}\n`;
  for (const [k, v] of rows) out += `  ${k.padEnd(width)}${v}\n`;
  out += 'Resource groups:\n';
  if (config.groups.length === 0) out += '  (none)\n';
  for (const g of config.groups) out += `  group ${g.node}: ${g.resources.map(describeResource).join(', ')}\n`;
  return out;
}

function errorJson(e: VigilError): Record<string, unknown> {
  return {
    code: e.code,
    message: e.message,
    file: e.location?.file,
    line: e.location?.line,
    column: e.location?.column,
  };
}

/** stonith parameters (device passwords) never leave the host in output; the rest of ha.cf is not secret. */
function redactHaCf(h: CompiledConfig['hacf']): Record<string, unknown> {
  const raw = Object.fromEntries(
    Object.entries(h.raw).map(([k, v]) => [k, k === 'stonith' || k === 'stonith_host' ? '(redacted)' : v]),
  );
  return {
    ...h,
    raw,
    stonith: h.stonith === undefined ? undefined : { ...h.stonith, params: h.stonith.params.map(() => '(redacted)') },
  };
}

/** The JSON document of `vigil check --json`; authentication keys and stonith parameters are never printed. */
function toJson(r: CheckResult): Record<string, unknown> {
  const c = r.config;
  return {
    valid: r.errors.length === 0,
    configDir: r.configDir,
    localNode: r.localNode,
    localNodeSource: r.localNodeSource,
    errors: r.errors.map(errorJson),
    warnings: r.warnings.map((w) => ({
      code: w.code,
      message: w.message,
      hint: w.hint,
      file: w.location?.file,
      line: w.location?.line,
    })),
    config:
      c === undefined
        ? null
        : {
            ...c,
            hacf: redactHaCf(c.hacf),
            authkeys: {
              active: c.authkeys.active,
              keys: [...c.authkeys.keys.values()].map((k) => ({ index: k.index, method: k.method, origin: k.origin })),
            },
          },
  };
}
