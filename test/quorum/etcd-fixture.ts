/**
 * A real single-member etcd (Debian's etcd-server) on 127.0.0.1, on ports the kernel picked, for the client's tests.
 * Loopback only: nothing leaves the machine. Killed by its pid at stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
    s.on('error', reject);
  });
}

export interface EtcdFixture {
  readonly url: string;
  readonly proc: ChildProcess;
  /** SIGSTOP / SIGCONT the member (it stops answering, its sockets stay open). */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export async function etcdAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('etcd', ['--version'], { stdio: 'ignore' });
    p.on('error', () => {
      resolve(false);
    });
    p.on('exit', (code) => {
      resolve(code === 0);
    });
  });
}

export async function startEtcd(): Promise<EtcdFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const proc = spawn(
    'etcd',
    [
      '--name',
      'm1',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      url,
      '--advertise-client-urls',
      url,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `m1=http://127.0.0.1:${peer}`,
    ],
    { stdio: 'ignore' },
  );
  // Ready when a request is answered.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}' }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('etcd did not start within 20 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    proc,
    freeze: () => proc.kill('SIGSTOP'),
    thaw: () => proc.kill('SIGCONT'),
    stop: async () => {
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
