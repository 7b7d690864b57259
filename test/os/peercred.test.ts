import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketFd, socketPeer } from '../../src/os/peercred.js';

test('the accepted end of a Unix socket tells the kernel-recorded pid, uid, gid and groups of the caller', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-peercred-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 's');
  const accepted = new Promise<Socket>((resolve) => {
    const srv = createServer((s) => {
      resolve(s);
      srv.close();
    });
    srv.listen(path);
  });
  await new Promise((r) => setTimeout(r, 50));
  const c = connect(path);
  const s = await accepted;
  t.after(() => {
    s.destroy();
    c.destroy();
  });
  assert.equal(typeof socketFd(s), 'number');
  const p = socketPeer(s);
  assert.ok(p !== undefined, 'Node exposes the fd (_handle.fd) and SO_PEERCRED reads');
  assert.equal(p.pid, process.pid);
  assert.equal(p.uid, process.getuid?.());
  assert.equal(p.gid, process.getgid?.());
  // Node's getgroups() adds the effective gid; the kernel's list is the supplementary groups alone.
  const mine = new Set(process.getgroups?.() ?? []);
  mine.delete(p.gid);
  const peers = new Set(p.groups ?? []);
  peers.delete(p.gid);
  assert.deepEqual([...peers].sort(), [...mine].sort());
  s.destroy();
  c.destroy();
  // Closed: no fd, so no credentials (the server then refuses the caller).
  await new Promise((r) => setImmediate(r));
  assert.equal(socketPeer(s), undefined);
  assert.equal(socketPeer(new Socket()), undefined);
});
