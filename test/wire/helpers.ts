import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { AuthKeys, AuthMethod } from '../../src/config/types.js';

/** test/fixtures/vectors, resolved from dist/test/wire at run time. */
export const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/vectors');

export function keys(list: [number, AuthMethod, string][], active?: number): AuthKeys {
  const map = new Map(
    list.map(([index, method, key]) => [index, { index, method, key, origin: { file: 'authkeys', line: index + 1 } }]),
  );
  return { active: active ?? list[0]![0], keys: map };
}

export const LAB_KEYS = keys([[1, 'sha1', 'MaClefSecrete']]);
