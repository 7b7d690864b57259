import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAX_CONFIG_FILE_BYTES,
  findResourceScript,
  localNodeName,
  readConfigDir,
  readConfigFile,
  readOptionalConfigFile,
} from '../../src/os/config-files.js';
import { VigilError } from '../../src/util/errors.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigilcfg-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('reads text and the file mode', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'authkeys'), 'auth 1\n1 sha1 clé\n');
    await chmod(join(dir, 'authkeys'), 0o640);
    const f = await readConfigFile(join(dir, 'authkeys'), 'authkeys');
    assert.equal(f.text, 'auth 1\n1 sha1 clé\n');
    assert.equal(f.mode, 0o640);
  }));

test('missing files: every one reported, with heartbeat wording', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'ha.cf'), 'node a\n');
    const { files, errors } = await readConfigDir(dir);
    assert.ok(files.hacf !== undefined);
    assert.deepEqual(
      errors.map((e) => [e.code, e.message]),
      [
        ['VIGIL_ERR_CFG_IO', `Cannot open keyfile [${dir}/authkeys].  Stop.: no such file`],
        ['VIGIL_ERR_CFG_IO', `Cannot open resources file [${dir}/haresources]: no such file`],
      ],
    );
    assert.equal(await readOptionalConfigFile(join(dir, 'nothing')), undefined);
    await assert.rejects(
      readConfigFile(dir, 'ha.cf'),
      (e: unknown) => e instanceof VigilError && /Cannot open config file/.test(e.message),
    );
  }));

test('oversized files are refused before reading', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'ha.cf'), Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1, 0x23));
    await assert.rejects(
      readConfigFile(join(dir, 'ha.cf'), 'ha.cf'),
      (e: unknown) => e instanceof VigilError && e.code === 'VIGIL_ERR_CFG_LIMIT',
    );
  }));

test('local node name: first line of nodeinfo, else uname -n; lowercased', () =>
  withDir(async (dir) => {
    assert.deepEqual(await localNodeName(dir), { name: hostname().toLowerCase(), source: 'uname -n' });
    await writeFile(join(dir, 'nodeinfo'), 'Linux1\nignored\n');
    // [verified] heartbeat 3.0.6 on a host named "other" with nodeinfo "Linux1" and `node linux1 linux2` starts.
    assert.deepEqual(await localNodeName(dir), { name: 'linux1', source: join(dir, 'nodeinfo') });
  }));

test('resource scripts: <dir>/resource.d first, executable only', () =>
  withDir(async (dir) => {
    await mkdir(join(dir, 'resource.d'));
    await writeFile(join(dir, 'resource.d', 'myapp'), '#!/bin/sh\n');
    assert.equal(await findResourceScript('myapp', [join(dir, 'resource.d')]), undefined);
    await chmod(join(dir, 'resource.d', 'myapp'), 0o755);
    assert.equal(await findResourceScript('myapp', [join(dir, 'resource.d')]), join(dir, 'resource.d', 'myapp'));
    assert.equal(await findResourceScript('nope', [join(dir, 'resource.d')]), undefined);
  }));
