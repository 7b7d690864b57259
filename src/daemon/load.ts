import { analyzeConfig } from '../config/compile.js';
import type { CompiledConfig } from '../config/types.js';
import type { ConfigWarning } from '../config/warnings.js';
import { localNodeName, readConfigDir } from '../os/config-files.js';
import { VigilErrors } from '../util/errors.js';
import { checkStrictModes, supersededWarnings } from './strict-modes.js';

/**
 * Reads and compiles /etc/ha.d as the daemon starts or reloads; throws VigilErrors with every error found, including
 * strict-mode refusals (strict-modes.ts: as root, files and scripts only root can change).
 */
export async function loadConfig(
  configDir: string,
  nodeOverride: string | undefined,
): Promise<{ config: CompiledConfig; warnings: readonly ConfigWarning[] }> {
  const host = await localNodeName(configDir);
  const localNode = (nodeOverride ?? host.name).toLowerCase();
  const { files, errors } = await readConfigDir(configDir);
  if (files.hacf === undefined || files.authkeys === undefined || files.haresources === undefined) {
    throw new VigilErrors([...errors, ...(await checkStrictModes(configDir, undefined)).errors]);
  }
  const r = analyzeConfig({
    configDir,
    localNode,
    hacf: files.hacf,
    authkeys: files.authkeys,
    haresources: files.haresources,
  });
  const strict = await checkStrictModes(configDir, r.config);
  if (r.config === undefined || strict.errors.length > 0) throw new VigilErrors([...r.errors, ...strict.errors]);
  return { config: r.config, warnings: [...supersededWarnings(r.warnings, strict.errors), ...strict.warnings] };
}
