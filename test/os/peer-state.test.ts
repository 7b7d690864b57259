import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  MAX_PEER_ENTRIES,
  MAX_PEER_FILE_BYTES,
  type PeerGeneration,
  loadPeerGenerations,
  peerGenerationsFile,
  savePeerGenerations,
} from '../../src/os/peer-state.js';
import { HACF_LIMITS } from '../../src/config/hacf.js';
import { isVigilError } from '../../src/util/errors.js';
import { tinyTmpfs } from '../helpers/tmpfs.js';

type T = { after: (fn: () => Promise<void> | void) => void };

async function stateDir(t: T): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vigil-peer-state-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const U1 = '6b90aa94e4fa4c748745cc5635f06c6b';
const U2 = '00112233445566778899aabbccddeeff';

async function load(dir: string): Promise<{ map: Map<string, PeerGeneration>; problems: string[] }> {
  const problems: string[] = [];
  const map = await loadPeerGenerations(dir, (p) => problems.push(p));
  return { map, problems };
}

test('save then load gives the same map; the file is 0600, sorted, and documented by its header', async (t) => {
  const dir = await stateDir(t);
  const peers = new Map<string, PeerGeneration>([
    ['node3', { generation: 4_503_599_627_370_495, seq: 9, uuidHex: U2.toUpperCase() }],
    ['node2', { generation: 1_795_704_586, seq: 9, uuidHex: U1 }],
  ]);
  await savePeerGenerations(dir, peers);
  const file = peerGenerationsFile(dir);
  assert.equal(path.basename(file), 'vigil_peer_generations');
  assert.equal(
    await readFile(file, 'utf8'),
    `# vigil_peer_generations 1\nnode2 1795704586 9 ${U1}\nnode3 4503599627370495 9 ${U2}\n`,
  );
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const { map, problems } = await load(dir);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    map,
    new Map([
      ['node2', { generation: 1_795_704_586, seq: 9, uuidHex: U1 }],
      ['node3', { generation: 4_503_599_627_370_495, seq: 9, uuidHex: U2 }],
    ]),
  );
  await savePeerGenerations(dir, new Map());
  assert.equal((await load(dir)).map.size, 0);
});

test('no file yet: an empty map and nothing to report', async (t) => {
  const dir = await stateDir(t);
  assert.deepEqual(await load(dir), { map: new Map(), problems: [] });
  assert.deepEqual(await load(path.join(dir, 'does', 'not', 'exist')), { map: new Map(), problems: [] });
});

test('bad lines are left out with a reason; good ones kept; a repeated node keeps its higher generation', async (t) => {
  const dir = await stateDir(t);
  await writeFile(
    peerGenerationsFile(dir),
    [
      '# vigil_peer_generations 1',
      '',
      '# a comment',
      `node2 41 9 ${U1}`,
      'node3 12 9',
      `node4 -5 9 ${U1}`,
      `node5 1.5 9 ${U1}`,
      `node6 99999999999999999999 9 ${U1}`,
      'node7 7 9 not-a-uuid',
      `node8 8 9 ${U1.toUpperCase()}`,
      `node2 40 9 ${U1}`,
      `node2 43 9 ${U2}`,
      `node9\u0001 9 9 ${U1}`,
      `${'x'.repeat(300)} 1 9 ${U1}`,
      `  node10   10 9   ${U2}  `,
      '',
    ].join('\n'),
  );
  const { map, problems } = await load(dir);
  assert.deepEqual(
    map,
    new Map([
      ['node2', { generation: 43, seq: 9, uuidHex: U2 }],
      ['node10', { generation: 10, seq: 9, uuidHex: U2 }],
    ]),
  );
  // Five reasons, then a count: a file of garbage does not flood the log.
  assert.equal(problems.length, 6);
  assert.match(problems[0] ?? '', /vigil_peer_generations:5: expected <node> <generation> <seq> <uuid>; line ignored$/);
  assert.match(problems[1] ?? '', /:6: invalid generation \[-5\]/);
  assert.match(problems[5] ?? '', /5 more bad lines ignored$/);
});

test('a file that is too large, of another version, binary or a directory is ignored whole, never thrown', async (t) => {
  const cases: [string, string | Buffer | null, RegExp][] = [
    ['big', `# vigil_peer_generations 1\n${`n 1 9 ${U1}\n`.repeat(MAX_PEER_FILE_BYTES / 10)}`, /larger than 65536/],
    ['version', `# vigil_peer_generations 2\nnode2 1 ${U1}\n`, /does not start with/],
    ['empty', '', /does not start with/],
    ['binary', Buffer.from([0, 255, 10, 1, 2, 3]), /does not start with/],
    ['dir', null, /cannot be read/],
  ];
  for (const [name, content, why] of cases) {
    const dir = await stateDir(t);
    const file = peerGenerationsFile(dir);
    if (content === null) await mkdir(file);
    else await writeFile(file, content);
    const { map, problems } = await load(dir);
    assert.equal(map.size, 0, name);
    assert.equal(problems.length, 1, name);
    assert.match(problems[0] ?? '', why, name);
    assert.ok(problems[0]?.includes(file), name);
  }
});

test(`at most ${MAX_PEER_ENTRIES} nodes (Heartbeat's MAXNODE), on load and on save`, async (t) => {
  assert.equal(MAX_PEER_ENTRIES, HACF_LIMITS.nodes);
  const dir = await stateDir(t);
  const many = new Map<string, PeerGeneration>();
  for (let i = 0; i < MAX_PEER_ENTRIES; i++)
    many.set(`n${String(i).padStart(3, '0')}`, { generation: i, seq: 9, uuidHex: U1 });
  await savePeerGenerations(dir, many);
  assert.equal((await load(dir)).map.size, MAX_PEER_ENTRIES);
  const file = peerGenerationsFile(dir);
  await writeFile(file, `${await readFile(file, 'utf8')}zzz 1 9 ${U1}\n`);
  const { map, problems } = await load(dir);
  assert.equal(map.size, MAX_PEER_ENTRIES);
  assert.match(problems[0] ?? '', /more than 100 nodes/);
  many.set('one-too-many', { generation: 1, seq: 9, uuidHex: U1 });
  await assert.rejects(savePeerGenerations(dir, many), (e) => isVigilError(e) && e.code === 'VIGIL_ERR_INTERNAL');
});

test('a save with an entry the file cannot hold writes nothing', async (t) => {
  const dir = await stateDir(t);
  await savePeerGenerations(dir, new Map([['node2', { generation: 5, seq: 9, uuidHex: U1 }]]));
  const before = await readFile(peerGenerationsFile(dir), 'utf8');
  const bad: PeerGeneration[] = [
    { generation: 1.5, seq: 9, uuidHex: U1 },
    { generation: -1, seq: 9, uuidHex: U1 },
    { generation: Number.NaN, seq: 9, uuidHex: U1 },
    { generation: 2 ** 53, seq: 9, uuidHex: U1 },
    { generation: 1, seq: 9, uuidHex: 'abc' },
  ];
  for (const p of bad) {
    await assert.rejects(savePeerGenerations(dir, new Map([['node2', p]])), (e) => isVigilError(e));
  }
  for (const name of ['two words', '', 'tab\there', 'x'.repeat(300)]) {
    await assert.rejects(savePeerGenerations(dir, new Map([[name, { generation: 1, seq: 9, uuidHex: U1 }]])));
  }
  assert.equal(await readFile(peerGenerationsFile(dir), 'utf8'), before);
});

test('concurrent saves run one at a time: the last call wins, every call settles, no temp file is left', async (t) => {
  const dir = await stateDir(t);
  const calls: Promise<void>[] = [];
  const peers = new Map<string, PeerGeneration>();
  for (let i = 1; i <= 30; i++) {
    peers.set('node2', { generation: i, seq: 9, uuidHex: U1 });
    // The same map object, changed after each call: each call writes what it was given at call time.
    calls.push(savePeerGenerations(dir, peers));
  }
  await Promise.all(calls);
  assert.deepEqual((await load(dir)).map.get('node2'), { generation: 30, seq: 9, uuidHex: U1 });
  assert.deepEqual(await readdir(dir), ['vigil_peer_generations']);
});

test('a full disk (real tmpfs): VIGIL_ERR_STATE_WRITE naming the file, the previous content intact', async (t) => {
  const mnt = await tinyTmpfs(t);
  if (mnt === undefined) return;
  await savePeerGenerations(mnt, new Map([['node2', { generation: 7, seq: 9, uuidHex: U1 }]]));
  const before = await readFile(peerGenerationsFile(mnt), 'utf8');
  await assert.rejects(
    savePeerGenerations(mnt, new Map([['node2', { generation: 8, seq: 9, uuidHex: U1 }]])),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_STATE_WRITE' && e.message.includes(peerGenerationsFile(mnt)),
  );
  assert.equal(await readFile(peerGenerationsFile(mnt), 'utf8'), before);
  assert.deepEqual(await readdir(mnt), ['vigil_peer_generations']);
  // A failed save does not block the next ones.
  await assert.rejects(savePeerGenerations(mnt, new Map([['node2', { generation: 9, seq: 9, uuidHex: U1 }]])));
});
