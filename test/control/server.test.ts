import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../../src/control/client.js';
import { ControlServer, parseRequest } from '../../src/control/server.js';
import { VigilError, isVigilError } from '../../src/util/errors.js';

test('requests are validated: unknown commands and bad arguments are refused with a code', () => {
  assert.deepEqual(parseRequest('{"cmd":"standby","which":"foreign"}'), { cmd: 'standby', which: 'foreign' });
  assert.deepEqual(parseRequest('{"cmd":"cleanup"}'), { cmd: 'cleanup' });
  assert.deepEqual(parseRequest('{"cmd":"cleanup","group":"192.168.1.50"}'), { cmd: 'cleanup', group: '192.168.1.50' });
  assert.deepEqual(parseRequest('{"cmd":"fence-ack","node":"linux1"}'), { cmd: 'fence-ack', node: 'linux1' });
  for (const bad of [
    'nope',
    '{}',
    '{"cmd":"standby","which":"half"}',
    '{"cmd":"rm -rf"}',
    '[]',
    '{"cmd":"fence-ack"}',
    '{"cmd":"fence-ack","node":""}',
    '{"cmd":"cleanup","group":7}',
  ]) {
    assert.throws(
      () => parseRequest(bad),
      (e) => isVigilError(e) && e.code === 'VIGIL_ERR_CONTROL_REQUEST',
      bad,
    );
  }
});

test('the socket is root-only, answers requests, reports handler errors by code, and cleans up', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-ctl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sub', 'control.sock');
  const server = new ControlServer({
    path,
    handler: (req) => {
      if (req.cmd === 'standby')
        throw new VigilError('VIGIL_ERR_CONTROL_REFUSED', 'Standby mode is not supported in legacy mode');
      return Promise.resolve({ echo: req.cmd });
    },
  });
  await server.listen();
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await request({ cmd: 'status' }, path), { ok: true, result: { echo: 'status' } });
  assert.deepEqual(await request({ cmd: 'standby', which: 'all' }, path), {
    ok: false,
    code: 'VIGIL_ERR_CONTROL_REFUSED',
    message: 'Standby mode is not supported in legacy mode',
  });
  // An oversized request is refused, and the server keeps serving others.
  const reply = await new Promise<string>((resolve) => {
    const s = connect(path);
    let buf = '';
    s.on('data', (d) => (buf += d.toString()));
    s.on('close', () => {
      resolve(buf);
    });
    s.write('x'.repeat(70 * 1024));
  });
  assert.match(reply, /request too long/);
  assert.equal((await request({ cmd: 'reload' }, path)).ok, true);
  await server.close();
  await assert.rejects(stat(path));
  await assert.rejects(request({ cmd: 'status' }, path), /not running/);
});
