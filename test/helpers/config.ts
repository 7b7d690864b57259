import { compileConfig } from '../../src/config/compile.js';
import type { CompiledConfig } from '../../src/config/types.js';

export interface ConfigTexts {
  readonly hacf: string;
  readonly haresources: string;
  /** Default: one sha1 key. */
  readonly authkeys?: string;
  /** Default: linux1. */
  readonly localNode?: string;
  /** Default: /etc/ha.d. */
  readonly dir?: string;
}

/** The three files' texts compiled as if read from the config directory, authkeys at mode 0600. */
export function compileTexts(o: ConfigTexts): CompiledConfig {
  const dir = o.dir ?? '/etc/ha.d';
  return compileConfig({
    configDir: dir,
    localNode: o.localNode ?? 'linux1',
    hacf: { file: `${dir}/ha.cf`, text: o.hacf },
    authkeys: { file: `${dir}/authkeys`, text: o.authkeys ?? 'auth 1\n1 sha1 k\n', mode: 0o600 },
    haresources: { file: `${dir}/haresources`, text: o.haresources },
  }).config;
}
