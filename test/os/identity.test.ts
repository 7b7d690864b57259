import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  type IdentityLogLine,
  type IdentityOptions,
  MAX_GENERATION,
  formatGeneration,
  loadIdentity,
  nextGeneration,
  uuidFromNodeName,
} from '../../src/os/identity.js';
import { hex, parseHex } from '../../src/wire/control.js';
import { isVigilError } from '../../src/util/errors.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-wire-identity-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const opts = (stateDir: string, extra: Partial<IdentityOptions> = {}): IdentityOptions => ({
  stateDir,
  nodeName: 'linux1',
  uuidFrom: 'file',
  hbgenmethod: 'file',
  wallNow: () => 0x6b084709 * 1000,
  ...extra,
});

test('first start: creates hb_uuid (16 raw bytes, v4) and hb_generation from time()', async () => {
  await withDir(async (dir) => {
    const sub = path.join(dir, 'var', 'lib', 'heartbeat');
    const id = await loadIdentity(opts(sub));
    assert.equal(id.uuid.length, 16);
    assert.equal(id.uuid[6]! >> 4, 4);
    assert.deepEqual(new Uint8Array(await readFile(path.join(sub, 'hb_uuid'))), id.uuid);
    assert.equal(id.generation, 0x6b08470a);
    assert.equal(await readFile(path.join(sub, 'hb_generation'), 'latin1'), '     1795704586\n');
    assert.ok(id.log.some((l) => l.text === 'No Previous generation - starting at 1795704586'));
    assert.equal((await stat(path.join(sub, 'hb_uuid'))).mode & 0o777, 0o644);
  });
});

test("every start increments the generation; Heartbeat's own hb_uuid is kept", async () => {
  await withDir(async (dir) => {
    const hbUuid = Buffer.from('6b90aa94e4fa4c748745cc5635f06c6b', 'hex');
    await writeFile(path.join(dir, 'hb_uuid'), hbUuid);
    await writeFile(path.join(dir, 'hb_generation'), formatGeneration(41));
    const a = await loadIdentity(opts(dir));
    const b = await loadIdentity(opts(dir));
    assert.deepEqual(a.uuid, new Uint8Array(hbUuid));
    assert.deepEqual(b.uuid, new Uint8Array(hbUuid));
    assert.equal(a.generation, 42);
    assert.equal(b.generation, 43);
    assert.equal(a.log.length, 0);
    assert.equal(await readFile(path.join(dir, 'hb_generation'), 'latin1'), `${' '.repeat(13)}43\n`);
  });
});

test('uuidfrom nodename and hbgenmethod time touch no file', async () => {
  await withDir(async (dir) => {
    const id = await loadIdentity(opts(dir, { uuidFrom: 'nodename', hbgenmethod: 'time' }));
    assert.deepEqual(id.uuid, uuidFromNodeName('linux1'));
    assert.equal(Buffer.from(id.uuid).toString('latin1'), 'linux1' + '\0'.repeat(10));
    assert.equal(id.generation, 0x6b084709);
    await assert.rejects(readFile(path.join(dir, 'hb_uuid')));
    await assert.rejects(readFile(path.join(dir, 'hb_generation')));
  });
});

test('a corrupt hb_uuid is a clear error naming the file, and is left alone', async () => {
  await withDir(async (dir) => {
    await writeFile(path.join(dir, 'hb_uuid'), 'short');
    await assert.rejects(
      loadIdentity(opts(dir)),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_STATE' && e.message.includes(path.join(dir, 'hb_uuid')),
    );
    assert.equal(await readFile(path.join(dir, 'hb_uuid'), 'latin1'), 'short');
  });
});

test("a corrupt hb_generation restarts from time() with Heartbeat's BROKEN line", async () => {
  await withDir(async (dir) => {
    await writeFile(path.join(dir, 'hb_uuid'), Buffer.alloc(16, 1));
    await writeFile(path.join(dir, 'hb_generation'), 'garbage\n');
    const id = await loadIdentity(opts(dir));
    assert.equal(id.generation, 0x6b08470a);
    assert.deepEqual(id.log, [{ level: 'warn', text: 'BROKEN previous generation - starting at 1795704586' }]);
    assert.equal(await readFile(path.join(dir, 'hb_generation'), 'latin1'), formatGeneration(0x6b08470a));
  });
});

test('past 15 digits the generation keeps rising, as Heartbeat does (16 digits, then no newline)', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'hb_generation');
    await writeFile(file, formatGeneration(999_999_999_999_999));
    assert.equal(await nextGeneration(opts(dir)), 1_000_000_000_000_000);
    assert.equal(await readFile(file, 'latin1'), '1000000000000000\n');
    assert.equal(await nextGeneration(opts(dir)), 1_000_000_000_000_001);
    // Heartbeat 3.0.6 writes exactly 16 bytes: 16 digits and no newline.
    await writeFile(file, '1000000000000007');
    assert.equal(await nextGeneration(opts(dir)), 1_000_000_000_000_008);
    await writeFile(file, '000000000000041\n');
    assert.equal(await nextGeneration(opts(dir)), 42);
  });
});

test('the ceiling is the largest generation a Vigil peer accepts on the wire', () => {
  assert.equal(parseHex(hex(MAX_GENERATION)), MAX_GENERATION);
  assert.equal(parseHex(hex(MAX_GENERATION + 1)), undefined);
  assert.ok(Number.isSafeInteger(MAX_GENERATION + 1));
});

test('a stored generation at the ceiling is refused, naming the file and the fix, and left alone', async () => {
  await withDir(async (dir) => {
    const file = path.join(dir, 'hb_generation');
    await writeFile(file, formatGeneration(MAX_GENERATION - 1));
    assert.equal(await nextGeneration(opts(dir)), MAX_GENERATION);
    for (const stored of [String(MAX_GENERATION), '9999999999999999', '99999999999999999', '1'.repeat(40)]) {
      await writeFile(file, `${stored}\n`);
      await assert.rejects(
        nextGeneration(opts(dir)),
        (e) =>
          isVigilError(e) &&
          e.code === 'VIGIL_ERR_STATE' &&
          e.message.includes(file) &&
          e.message.includes(`holds generation ${stored}`) &&
          /date \+%s/.test(e.message) &&
          /vigil_peer_generations/.test(e.message),
      );
      assert.equal(await readFile(file, 'latin1'), `${stored}\n`);
    }
  });
});

test('a broken file that still starts with a number above time() does not make the generation go backwards', async () => {
  await withDir(async (dir) => {
    const log: IdentityLogLine[] = [];
    await writeFile(path.join(dir, 'hb_generation'), '5000000000000 junk\n');
    assert.equal(await nextGeneration(opts(dir), log), 5_000_000_000_001);
    assert.deepEqual(log, [{ level: 'warn', text: 'BROKEN previous generation - starting at 5000000000001' }]);
  });
});
