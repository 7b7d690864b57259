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
    const hung = Array.from({ length: 12 }, () => client.call('/v3/kv/range', {}).catch((e: unknown) => e));
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

/** A member that answers `{"from": name}` after `delayMs` (never, if undefined); stop() closes it. */
async function member(name: string, delayMs: number | undefined) {
  const seen: number[] = [];
  const server = http.createServer((_req, res) => {
    seen.push(Date.now());
    if (delayMs === undefined) return;
    setTimeout(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ from: name }));
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: async () => {
      server.closeAllConnections();
      if (server.listening) await new Promise((r) => server.close(r));
    },
  };
}

test('hedged: a member holding the request (an election) is not given up on; the next is asked as well', async () => {
  // a answers after 600 ms, b never: one attempt at a time with a 200 ms timeout renews nothing.
  const a = await member('a', 600);
  const b = await member('b', undefined);
  const client = new EtcdHttp({ endpoints: [a.url, b.url], timeoutMs: 200 });
  try {
    await assert.rejects(client.call('/v3/lease/keepalive', {}), /etcd unreachable/);
    const t = Date.now();
    assert.deepEqual(await client.hedged('/v3/lease/keepalive', {}, 200, 2000), { from: 'a' });
    const took = Date.now() - t;
    assert.ok(took >= 550 && took < 1500, `answered after ${took} ms`);
    assert.ok(b.seen.length >= 2, 'b was asked too, after the stagger');
  } finally {
    client.close();
    await a.stop();
    await b.stop();
  }
});

test('hedged: a refusing member costs no stagger; the first answer wins; all silent until the deadline fails', async () => {
  const dead = await member('dead', 0);
  const deadUrl = dead.url;
  await dead.stop(); // connection refused from now on
  const slow = await member('slow', 100);
  const fast = await member('fast', 0);
  const client = new EtcdHttp({ endpoints: [deadUrl, slow.url, fast.url], timeoutMs: 1000 });
  try {
    const t = Date.now();
    // dead refuses at once, so slow is asked at once, not 1000 ms later; fast only when dead, asked again after
    // 200 ms, refuses again: slow's answer (100 ms) wins.
    assert.deepEqual(await client.hedged('/v3/kv/range', {}, 1000, 3000), { from: 'slow' });
    assert.ok(Date.now() - t < 900, `took ${Date.now() - t} ms`);
    assert.equal(fast.seen.length, 0, 'fast was never needed');
    // The member that answered is asked first next time.
    assert.equal(client.preferred(), slow.url);
  } finally {
    client.close();
    await slow.stop();
    await fast.stop();
  }
  const h1 = await member('h1', undefined);
  const h2 = await member('h2', undefined);
  const silent = new EtcdHttp({ endpoints: [h1.url, h2.url], timeoutMs: 100 });
  try {
    const t = Date.now();
    await assert.rejects(silent.hedged('/v3/kv/range', {}, 100, 500), /etcd unreachable/);
    const took = Date.now() - t;
    assert.ok(took >= 450 && took < 2000, `failed after ${took} ms`);
  } finally {
    silent.close();
    await h1.stop();
    await h2.stop();
  }
});

test('hedged: a member answering an error ("leader changed") is asked again until it answers', async () => {
  let calls = 0;
  const server = http.createServer((_req, res) => {
    calls++;
    res.setHeader('content-type', 'application/json');
    if (calls < 3) {
      res.statusCode = 503;
      res.end('{"error":"etcdserver: leader changed"}');
    } else res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const client = new EtcdHttp({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 300 });
  try {
    assert.deepEqual(await client.hedged('/v3/kv/range', {}, 300, 3000), { ok: true });
    assert.equal(calls, 3);
  } finally {
    client.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
