import { compileConfig } from '../../src/config/compile.js';
import type { CompiledConfig, ResourceGroup } from '../../src/config/types.js';

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

/** The tutorial's haresources line, `linux1 192.168.1.50`, as the parser reads it from `file`. */
export function tutorialGroup(file: string): ResourceGroup {
  return {
    key: '192.168.1.50',
    node: 'linux1',
    resources: [
      {
        spec: '192.168.1.50',
        type: 'IPaddr',
        args: ['192.168.1.50'],
        ip: { address: '192.168.1.50', cidr: undefined, nic: undefined, broadcast: undefined },
      },
    ],
    origin: { file, line: 1 },
  };
}
