import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

/**
 * A real SMTP server for tests: aiosmtpd (Debian package python3-aiosmtpd) on loopback, delivering into a Maildir.
 * Debian's python, not whatever python3 is first in PATH: the package installs into /usr/lib/python3.
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export async function aiosmtpdMissing(): Promise<string | undefined> {
  try {
    await promisify(execFile)(SYSTEM_PYTHON, ['-c', 'import aiosmtpd']);
    return undefined;
  } catch {
    return 'needs python3-aiosmtpd (apt-get install python3-aiosmtpd) for a real SMTP server';
  }
}

/**
 * A started server, stopped after the test; or undefined, the test marked skipped, when `missing` names something
 * the machine lacks.
 */
export async function smtpServerFor(
  t: TestContext,
  missing: () => Promise<string | undefined> = aiosmtpdMissing,
): Promise<SmtpTestServer | undefined> {
  const why = await missing();
  if (why !== undefined) {
    t.skip(why);
    return undefined;
  }
  const srv = await SmtpTestServer.start();
  t.after(() => srv.stop());
  return srv;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

export interface ReceivedMail {
  readonly raw: string;
  readonly subject: string;
  readonly from: string;
  readonly to: string;
  readonly body: string;
  readonly contentType: string;
  readonly headers: Readonly<Record<string, string>>;
}

export class SmtpTestServer {
  private constructor(
    readonly port: number,
    readonly maildir: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(): Promise<SmtpTestServer> {
    const maildir = await mkdtemp(join(tmpdir(), 'vigil-rsc-mail-'));
    const port = await freePort();
    const child = spawn(
      SYSTEM_PYTHON,
      ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', join(maildir, 'box')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const srv = new SmtpTestServer(port, join(maildir, 'box'), child);
    // Python needs a moment to import asyncio and bind; 15 s leaves room on a loaded 2-core machine.
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (await canConnect(port)) return srv;
      if (Date.now() > deadline || child.exitCode !== null) {
        await srv.stop();
        throw new Error(`aiosmtpd did not start on port ${port}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const alive = (): boolean => this.child.exitCode === null && this.child.signalCode === null;
    if (alive()) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (alive()) this.child.kill('SIGKILL');
    }
    await rm(join(this.maildir, '..'), { recursive: true, force: true });
  }

  /** Every delivered mail, decoded by Python's email package (an independent RFC 2047/MIME decoder). */
  async mails(): Promise<ReceivedMail[]> {
    let files: string[];
    try {
      files = (await readdir(join(this.maildir, 'new'))).sort();
    } catch {
      return [];
    }
    const out: ReceivedMail[] = [];
    for (const f of files) {
      const path = join(this.maildir, 'new', f);
      const { stdout } = await promisify(execFile)(SYSTEM_PYTHON, ['-c', DECODE, path]);
      const d = JSON.parse(stdout) as Omit<ReceivedMail, 'raw'>;
      out.push({ ...d, raw: await readFile(path, 'latin1') });
    }
    return out;
  }

  async waitForMails(n: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.mails();
      if (m.length >= n || Date.now() > deadline) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const DECODE = `
import sys, json, email
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
print(json.dumps({
  'subject': str(m['subject']), 'from': str(m['from']), 'to': str(m['to']),
  'body': m.get_content(), 'contentType': m.get_content_type() + '; charset=' + str(m.get_content_charset()),
  'headers': {k: str(v) for k, v in m.items()},
}))
`;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      resolve(false);
    });
  });
}
