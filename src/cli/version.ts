import { readFile } from 'node:fs/promises';

/**
 * The version in the package.json shipped beside dist/ (every way of installing keeps it there): the one place a
 * release number is written by hand. `unknown` when it cannot be read.
 */
export async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../../../package.json', import.meta.url), 'utf8');
    const v = (JSON.parse(text) as { version?: unknown }).version;
    return typeof v === 'string' ? v : 'unknown';
  } catch {
    return 'unknown';
  }
}
