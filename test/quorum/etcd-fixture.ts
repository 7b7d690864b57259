/**
 * A real single-member etcd (Debian's etcd-server) on 127.0.0.1, on ports the kernel picked, for the client's tests.
 * Loopback only: nothing leaves the machine. Killed by its pid at stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
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

/** PEM files of a throwaway CA, a server certificate for 127.0.0.1 and a client certificate (openssl). */
export interface TlsFiles {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

function sh(cmd: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')}: exit ${String(code)}`));
    });
  });
}

/**
 * The server certificate carries clientAuth too: etcd 3.4's JSON gateway dials the member's own gRPC port with it
 * (etcd-io/etcd#17969), so with --client-cert-auth a serverAuth-only certificate makes every gateway call fail (503).
 */
export async function makeTls(dir: string): Promise<TlsFiles> {
  const days = ['-days', '2'];
  const ecKey = (file: string): string[] => [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    file,
  ];
  await sh(
    'openssl',
    ['req', '-x509', ...ecKey('ca.key'), '-out', 'ca.pem', '-subj', '/CN=vigil test CA', ...days],
    dir,
  );
  for (const [name, cn, ext] of [
    ['server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth'],
    ['client', 'linux1', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    await sh('openssl', ['req', ...ecKey(`${name}.key`), '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    await sh('sh', ['-c', `printf '${ext}\n' > ${name}.ext`], dir);
    await sh(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.pem`,
        '-extfile',
        `${name}.ext`,
        ...days,
      ],
      dir,
    );
  }
  return {
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientCert: join(dir, 'client.pem'),
    clientKey: join(dir, 'client.key'),
  };
}

export async function startEtcd(tls?: TlsFiles): Promise<EtcdFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${client}`;
  const tlsArgs =
    tls === undefined
      ? []
      : ['--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--client-cert-auth', '--trusted-ca-file', tls.ca];
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
      ...tlsArgs,
    ],
    { stdio: 'ignore' },
  );
  // Ready when the client port accepts connections (a TLS one asks for a client certificate).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(client, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => {
        resolve(false);
      });
    });
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
