/**
 * Crashes `npm run fuzz` found in the control client (target control-client), as plain tests with the exact inputs.
 * They fail until src/control/client.ts is fixed: its contract is "a ControlResponse, or ControlUnavailable when no
 * daemon answers". Each answer comes from a real Unix socket server that reads the request line, writes the bytes,
 * and closes the connection, as a daemon that crashed mid-answer would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlUnavailable, request } from '../../src/control/client.js';

async function daemonAnswering(answer: string): Promise<{ path: string; close: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-ctl-fuzz-'));
  const path = join(dir, 'control.sock');
  const server = createServer((sock) => {
    sock.on('error', () => undefined);
    sock.once('data', () => {
      sock.end(answer);
    });
  });
  await new Promise<void>((resolve) => {
    server.listen(path, resolve);
  });
  return {
    path,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The request's fate within `ms`: resolved, rejected, or still pending (a hang). */
async function settle(
  p: Promise<unknown>,
  ms: number,
): Promise<{ resolved: unknown } | { rejected: unknown } | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => {
      resolve('pending');
    }, ms);
  });
  try {
    return await Promise.race([
      p.then(
        (resolved) => ({ resolved }),
        (rejected: unknown) => ({ rejected }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

test('fuzz regression: an answer that is JSON but no ControlResponse is refused as garbled, not returned', async (t) => {
  // Minimal inputs of the crash "request resolved with something that is not a ControlResponse". With `null`,
  // `vigil status` then dies on `r.ok` with a TypeError instead of saying the daemon answered nonsense.
  for (const answer of ['{}\n', 'null\n', '[]\n', '"ok"\n', '{"ok":"yes","result":null}\n', '{"ok":false}\n']) {
    const d = await daemonAnswering(answer);
    t.after(d.close);
    const r = await settle(request({ cmd: 'status' }, d.path, 1000), 3000);
    assert.ok(
      typeof r === 'object' && 'rejected' in r && r.rejected instanceof ControlUnavailable,
      `answer ${JSON.stringify(answer)}: expected ControlUnavailable, got ${JSON.stringify(r)}`,
    );
  }
});

test('fuzz regression: a daemon that hangs up without a full line makes the request fail, not hang', async (t) => {
  // Minimal input of the crash "settles in bounded time": the daemon reads the request and closes the connection
  // with no answer (or half a line). The client has no 'end'/'close' handler and its timeout dies with the socket,
  // so the promise never settles; cl_status then exits with no word at all once nothing else keeps Node alive.
  for (const answer of ['', '{"ok":true,"result":1}', '{"ok":tr']) {
    const d = await daemonAnswering(answer);
    t.after(d.close);
    const r = await settle(request({ cmd: 'status' }, d.path, 500), 3000);
    assert.ok(
      typeof r === 'object' && 'rejected' in r && r.rejected instanceof ControlUnavailable,
      `answer ${JSON.stringify(answer)}: expected ControlUnavailable within 3 s, got ${JSON.stringify(r)}`,
    );
  }
});
