/**
 * The etcd client against a real etcd 3.4 (Debian's etcd-server), through its JSON gateway: create-if-absent under a
 * lease, a refused claim naming the owner, renewals, revocation, the watch, and reachability. Skipped without etcd.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyOwner } from '../../src/cluster/types.js';
import { QuorumClient } from '../../src/quorum/client.js';
import { EtcdHttp } from '../../src/quorum/etcd-http.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdAvailable, makeTls, startEtcd } from './etcd-fixture.js';

const G = 'IPaddr::192.168.1.50/24/eth1';

function client(url: string, node: string, extra: readonly string[] = []): QuorumClient {
  return new QuorumClient({
    http: new EtcdHttp({ endpoints: [...extra, url], timeoutMs: 500 }),
    prefix: '/vigil/test',
    node,
    ttlMs: 5000,
    probeEveryMs: 300,
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('claim, refuse, renew, watch, revoke, and reachability, against a real etcd', async (t) => {
  if (!(await etcdAvailable())) {
    t.skip('etcd is not installed (apt-get install etcd-server)');
    return;
  }
  const etcd = await startEtcd();
  // A dead endpoint first: the client must move on to the live one.
  const a = client(etcd.url, 'linux1', ['http://127.0.0.1:1']);
  const b = client(etcd.url, 'linux2');
  const seen: Array<{ group: string; owner: KeyOwner | undefined; revision: number }> = [];
  let reachable: boolean | undefined;
  try {
    b.start({
      keyState: (group, owner, revision) => seen.push({ group, owner, revision }),
      absent: () => undefined,
      reachable: (r) => {
        reachable = r;
      },
      log: () => undefined,
    });
    await waitFor('reachable', () => (reachable === true ? true : undefined));

    const mine = await a.claim(G);
    assert.ok(mine.ok);
    assert.ok(mine.revision > 0);
    const lease = mine.lease;
    const theirs = await b.claim(G);
    assert.ok(!theirs.ok);
    assert.deepEqual(theirs.owner, { node: 'linux1', lease });
    // The watch saw the key created by linux1.
    await waitFor('the put', () => seen.find((e) => e.owner?.lease === lease));
    assert.equal(await a.renew(lease), 'renewed');
    assert.equal(await a.renew('12345'), 'gone');
    await a.disown(lease);
    const del = await waitFor('the delete', () => seen.find((e) => e.owner === undefined && e.group === G));
    assert.ok(del.revision > mine.revision);
    // Free again: linux2 gets it, with a higher revision (the fencing token grows).
    const next = await b.claim(G);
    assert.ok(next.ok);
    assert.ok(next.revision > mine.revision);
    // etcd stops answering: unreachable, and renewals fail (they do not say "gone").
    etcd.freeze();
    await waitFor('unreachable', () => (reachable === false ? true : undefined));
    assert.equal(await b.renew(next.lease), 'failed');
    etcd.thaw();
    await waitFor('reachable again', () => (reachable === true ? true : undefined));
  } finally {
    await a.stop();
    await b.stop();
    await etcd.stop();
  }
});

test('TLS as etcd runs in production: server certificate checked against the CA, client certificate required', async (t) => {
  if (!(await etcdAvailable())) {
    t.skip('etcd is not installed (apt-get install etcd-server)');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'vigil-etcd-tls-'));
  const tls = await makeTls(dir);
  const etcd = await startEtcd(tls);
  const [ca, cert, key] = await Promise.all([readFile(tls.ca), readFile(tls.clientCert), readFile(tls.clientKey)]);
  const withCert = new QuorumClient({
    http: new EtcdHttp({ endpoints: [etcd.url], tls: { ca, cert, key }, timeoutMs: 2000 }),
    prefix: '/vigil/tls',
    node: 'linux1',
    ttlMs: 5000,
    probeEveryMs: 1000,
  });
  const noCert = new QuorumClient({
    http: new EtcdHttp({ endpoints: [etcd.url], tls: { ca }, timeoutMs: 2000 }),
    prefix: '/vigil/tls',
    node: 'linux2',
    ttlMs: 5000,
    probeEveryMs: 1000,
  });
  const noCa = new QuorumClient({
    http: new EtcdHttp({ endpoints: [etcd.url], tls: { cert, key }, timeoutMs: 2000 }),
    prefix: '/vigil/tls',
    node: 'linux2',
    ttlMs: 5000,
    probeEveryMs: 1000,
  });
  try {
    const r = await withCert.claim(G);
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(await withCert.renew(r.lease), 'renewed');
    const refused = await noCert.claim(G);
    assert.ok(!refused.ok && refused.owner === undefined, 'no client certificate: etcd does not answer');
    const untrusted = await noCa.claim(G);
    assert.ok(!untrusted.ok && /certificate/i.test(untrusted.error ?? ''), JSON.stringify(untrusted));
  } finally {
    await withCert.stop();
    await noCert.stop();
    await noCa.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
