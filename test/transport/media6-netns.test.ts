/**
 * ucast6 and mcast6 between real namespaces, with the socket options read back from the live sockets. Needs root;
 * skips with a message otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLinked, netnsUnavailable, type NetnsFixture } from '../helpers/netns.js';
import { DriverSet, sendUntilReceived } from '../helpers/medium-driver.js';

const skip = await netnsUnavailable();
const PORT = 47794;

describe('IPv6 media between namespaces', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;
  const { launch, closeAll } = new DriverSet();
  const ll: Record<string, string> = {};

  before(async () => {
    fx = await createLinked('v6amed', ['a', 'b'], ['10.71.2'], { ipv6: true });
    for (const [h, n] of [
      ['a', 1],
      ['b', 2],
    ] as const) {
      await fx.exec(h, ['ip', 'addr', 'add', `2001:db8:71::${n}/64`, 'dev', 'eth1', 'nodad']);
      // The interface's own link-local address, once DAD has let it go.
      for (let i = 0; i < 100; i++) {
        const { stdout } = await fx.exec(h, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth1', 'scope', 'link']);
        const m = /inet6 (fe80::[0-9a-f:]+)\/64 scope link\s*$/m.exec(stdout.replace(/\\\s+valid_lft.*$/gm, ''));
        if (m !== null && !stdout.includes('tentative')) {
          ll[h] = m[1]!;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ll[h] !== undefined, `no link-local address on ${h}`);
    }
  });
  after(async () => {
    await closeAll();
    await fx.cleanup();
  });

  test('ucast6 to a global peer: bound to the device, V6ONLY receiver, own address → peerIsSelf', async () => {
    const a = launch(fx, 'a', { kind: 'ucast6', dev: 'eth1', peer: '2001:db8:71::2', port: PORT });
    const b = launch(fx, 'b', { kind: 'ucast6', dev: 'eth1', peer: '2001:DB8:71:0:0:0:0:1', port: PORT });
    const aSelf = launch(fx, 'a', { kind: 'ucast6', dev: 'eth1', peer: '2001:db8:71::1', port: PORT });
    const [ra, rb, rs] = await Promise.all([a.ready(), b.ready(), aSelf.ready()]);
    assert.equal(ra.peerIsSelf, false);
    assert.deepEqual(ra.dest, { address: '2001:db8:71::2', port: PORT });
    assert.deepEqual(rb.dest, { address: '2001:db8:71::1', port: PORT });
    const send = ra.sockets.find((s) => s.role === 'send')!;
    const recv = ra.sockets.find((s) => s.role === 'recv')!;
    assert.equal(send.device, 'eth1');
    assert.equal(recv.device, 'eth1');
    assert.equal(recv.v6only, 1);
    assert.equal(recv.reuseaddr, 1);
    assert.equal(recv.reuseport, 1);
    assert.equal(rs.peerIsSelf, true);
    assert.deepEqual(rs.sockets, []);
    await sendUntilReceived(a, b, 'u6-from-a');
    await sendUntilReceived(b, a, 'u6-from-b');
    const p = b.packets().find((x) => x.text === 'u6-from-a')!;
    assert.equal(p.from.address, '2001:db8:71::1');
    assert.equal(p.link, 'eth1');
    for (const d of [a, b, aSelf]) await d.close();
  });

  test('ucast6 to a link-local peer goes through the device; a bcast medium on the same port keeps IPv4', async () => {
    const port = PORT + 1;
    const a = launch(fx, 'a', { kind: 'ucast6', dev: 'eth1', peer: ll.b!, port });
    const b = launch(fx, 'b', { kind: 'ucast6', dev: 'eth1', peer: ll.a!, port });
    const bc = launch(fx, 'b', { kind: 'bcast', dev: 'eth1', port });
    const bcA = launch(fx, 'a', { kind: 'bcast', dev: 'eth1', port });
    const [ra] = await Promise.all([a.ready(), b.ready(), bc.ready(), bcA.ready()]);
    assert.deepEqual(ra.dest, { address: `${ll.b!}%eth1`, port });
    await sendUntilReceived(a, b, 'll-from-a');
    await sendUntilReceived(b, a, 'll-from-b');
    // IPv4 broadcasts on the same port land on the bcast medium only: the ucast6 receiver is IPv6-only.
    await sendUntilReceived(bcA, bc, 'v4-bcast');
    assert.ok(!b.packets().some((x) => x.text === 'v4-bcast'));
    for (const d of [a, b, bc, bcA]) await d.close();
  });

  test('mcast6: joined on the device, hops and loop set, loop 0 keeps our own packets away', async () => {
    const spec = { kind: 'mcast6', dev: 'eth1', group: 'ff02::694:1', port: PORT + 2, hops: 1 } as const;
    const a = launch(fx, 'a', { ...spec, loop: false });
    const b = launch(fx, 'b', { ...spec, loop: true });
    const [ra, rb] = await Promise.all([a.ready(), b.ready()]);
    assert.deepEqual(ra.dest, { address: 'ff02::694:1%eth1', port: PORT + 2 });
    const sendA = ra.sockets.find((s) => s.role === 'send')!;
    assert.equal(sendA.mcastHops6, 1);
    assert.equal(sendA.mcastLoop6, 0);
    assert.equal(sendA.mcastIf6, ra.ifindex);
    assert.equal(sendA.device, 'eth1');
    const recvA = ra.sockets.find((s) => s.role === 'recv')!;
    assert.equal(recvA.v6only, 1);
    assert.equal(recvA.reuseaddr, 1);
    assert.equal(recvA.device, 'eth1');
    assert.equal(rb.sockets.find((s) => s.role === 'send')!.mcastLoop6, 1);
    const groups = await fx.exec('a', ['ip', '-6', 'maddr', 'show', 'dev', 'eth1']);
    assert.match(groups.stdout, /ff02::694:1/);
    await sendUntilReceived(a, b, 'm6-from-a');
    await sendUntilReceived(b, a, 'm6-from-b');
    assert.equal(
      b
        .packets()
        .find((x) => x.text === 'm6-from-a')!
        .from.address.split('%')[0],
      ll.a,
    );
    assert.ok(b.packets().some((x) => x.text === 'm6-from-b'));
    assert.ok(!a.packets().some((x) => x.text === 'm6-from-a'));
    // Bound to the group: unicast to the port is not heard here.
    const u = launch(fx, 'b', { kind: 'ucast6', dev: 'eth1', peer: '2001:db8:71::1', port: PORT + 2 });
    await u.ready();
    for (let i = 0; i < 5; i++) {
      u.command({ cmd: 'send', text: 'unicast-to-group-port' });
      await new Promise((r) => setTimeout(r, 50));
    }
    await sendUntilReceived(b, a, 'm6-after');
    assert.ok(!a.packets().some((x) => x.text === 'unicast-to-group-port'));
    for (const d of [a, b, u]) await d.close();
  });
});
