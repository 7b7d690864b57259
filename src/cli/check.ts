// Placeholder replaced by the configuration work (issue 2).
export function runCheck(_opts: {
  configDir: string;
  node?: string;
  compare?: string;
  json?: boolean;
}): Promise<number> {
  process.stderr.write('vigil check: not yet available\n');
  return Promise.resolve(1);
}
