/**
 * EtcdHttp's deadlines against a local HTTP server that accepts requests and never answers (an etcd member without
 * a leader holds requests like that): a request queued behind hung ones still fails within its own timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EtcdHttp } from '../../src/quorum/etcd-http.js';

test('a request queued behind hung ones fails within its own timeout, not theirs', async () => {
  const held: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const client = new EtcdHttp({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 30_000 });
  try {
    // Enough hung requests to take every socket the agent allows (more than its limit, whatever it is).
    const hung = Array.from({ length: 8 }, () => client.call('/v3/kv/range', {}).catch((e: unknown) => e));
    const deadline = Date.now() + 10_000;
    while (held.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(held.length >= 1, 'the server saw the hung requests');

    const t = Date.now();
    await assert.rejects(client.call('/v3/kv/range', {}, 300), /no answer within 300 ms/);
    const took = Date.now() - t;
    // Before the fix it waited for a socket, i.e. for a hung request's 30 s timeout.
    assert.ok(took < 5000, `the queued request failed after ${took} ms`);

    // The hung ones (and those still queued, which then find the server gone) fail and clear their deadlines.
    const closed = new Promise((r) => server.close(r));
    server.closeAllConnections();
    for (const e of await Promise.all(hung)) assert.ok(e instanceof Error);
    await closed;
  } finally {
    client.close();
    server.closeAllConnections();
    if (server.listening) await new Promise((r) => server.close(r));
  }
});

test('an answer in time resolves and clears its deadline', async () => {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const client = new EtcdHttp({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 300 });
  try {
    for (let i = 0; i < 10; i++) assert.deepEqual(await client.call('/v3/kv/range', {}), { ok: true });
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
