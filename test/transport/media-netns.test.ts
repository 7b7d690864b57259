/**
 * bcast, ucast and mcast between real namespaces, with the socket options read back from the live sockets.
 * Needs root; skips with a message otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLinked, netnsUnavailable, type NetnsFixture } from '../helpers/netns.js';
import { DriverSet, sendUntilReceived, type MediumDriver } from '../helpers/medium-driver.js';

const skip = await netnsUnavailable();
const PORT = 47694;
// Generous: two cores shared with other jobs, and each driver is a fresh node process loading koffi.
const WAIT_MS = 10_000;

describe('media between namespaces', { skip: skip ?? false }, () => {
  let fx: NetnsFixture;
  const { launch, closeAll } = new DriverSet();

  before(async () => {
    fx = await createLinked('vtmedia', ['a', 'b'], ['10.71.1']);
  });
  after(async () => {
    await closeAll();
    await fx.cleanup();
  });

  test('bcast: options as Heartbeat sets them, packets flow both ways on the link', async () => {
    const a = launch(fx, 'a', { kind: 'bcast', dev: 'eth1', port: PORT });
    const b = launch(fx, 'b', { kind: 'bcast', dev: 'eth1', port: PORT });
    const [ra, rb] = await Promise.all([a.ready(), b.ready()]);
    assert.deepEqual(ra.dest, { address: '10.71.1.255', port: PORT });
    const send = ra.sockets.find((s) => s.role === 'send')!;
    const recv = ra.sockets.find((s) => s.role === 'recv')!;
    assert.equal(send.device, 'eth1');
    assert.equal(send.broadcast, 1);
    assert.equal(send.dontroute, 1);
    assert.equal(recv.device, 'eth1');
    assert.equal(recv.reuseaddr, 1);
    assert.equal(rb.state, 'open');

    await sendUntilReceived(a, b, 'from-a');
    const p = b.packets().find((x) => x.text === 'from-a')!;
    assert.equal(p.from.address, '10.71.1.1');
    assert.equal(p.link, 'eth1');
    await sendUntilReceived(b, a, 'from-b');
    // Broadcasts loop back to the sender; the wire layer drops them by src.
    assert.ok(a.packets().some((x) => x.text === 'from-a'));
    const st = await a.stats();
    assert.ok(st.stats.packetsSent! >= 1);
    assert.equal(st.stats.sendErrors, 0);
    await a.close();
    await b.close();
  });

  test('ucast: one peer, IP_TOS lowdelay, REUSEADDR/REUSEPORT, own address → peerIsSelf', async () => {
    const a = launch(fx, 'a', { kind: 'ucast', dev: 'eth1', peer: '10.71.1.2', port: PORT + 1 });
    const b = launch(fx, 'b', { kind: 'ucast', dev: 'eth1', peer: '10.71.1.1', port: PORT + 1 });
    const aSelf = launch(fx, 'a', { kind: 'ucast', dev: 'eth1', peer: '10.71.1.1', port: PORT + 1 });
    const [ra, , rs] = await Promise.all([a.ready(), b.ready(), aSelf.ready()]);
    assert.equal(ra.peerIsSelf, false);
    const send = ra.sockets.find((s) => s.role === 'send')!;
    const recv = ra.sockets.find((s) => s.role === 'recv')!;
    assert.equal(send.tos, 0x10);
    assert.equal(send.device, 'eth1');
    assert.equal(recv.device, 'eth1');
    assert.equal(recv.reuseaddr, 1);
    assert.equal(recv.reuseport, 1);
    assert.equal(rs.peerIsSelf, true);
    assert.equal(rs.state, 'self');
    assert.deepEqual(rs.sockets, []);

    await sendUntilReceived(a, b, 'u-from-a');
    await sendUntilReceived(b, a, 'u-from-b');
    assert.equal(b.packets().find((x) => x.text === 'u-from-a')!.from.address, '10.71.1.1');
    // Unicast does not come back to the sender.
    assert.ok(!a.packets().some((x) => x.text === 'u-from-a'));
    aSelf.command({ cmd: 'send', text: 'x' });
    const st = await aSelf.stats();
    assert.equal(st.stats.packetsSent, 0);
    assert.equal(st.stats.sendDropped, 1);
    for (const d of [a, b, aSelf]) await d.close();
  });

  test('several media on one device and port coexist (two ucast lines and a bcast), each delivering', async () => {
    const port = PORT + 3;
    const u1 = launch(fx, 'a', { kind: 'ucast', dev: 'eth1', peer: '10.71.1.2', port });
    // A peer that does not answer (node down): its line must not stop the others from binding.
    const u2 = launch(fx, 'a', { kind: 'ucast', dev: 'eth1', peer: '10.71.1.9', port });
    const bc = launch(fx, 'a', { kind: 'bcast', dev: 'eth1', port });
    const peerU = launch(fx, 'b', { kind: 'ucast', dev: 'eth1', peer: '10.71.1.1', port });
    const peerB = launch(fx, 'b', { kind: 'bcast', dev: 'eth1', port });
    await Promise.all([u1, u2, bc, peerU, peerB].map((d) => d.ready()));
    // b's broadcasts reach a's bcast medium (ucast sockets are bound to the same port and may take a copy too).
    await sendUntilReceived(peerB, bc, 'coexist-bcast');
    // b's unicast reaches a on one of the sockets bound to eth1:port; which one is the kernel's choice.
    const arrives = async (from: MediumDriver, to: MediumDriver[], text: string): Promise<void> => {
      const deadline = Date.now() + WAIT_MS;
      while (!to.some((d) => d.packets().some((p) => p.text === text))) {
        if (Date.now() > deadline) assert.fail(`${text} never arrived`);
        from.command({ cmd: 'send', text });
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // Unicast lands on one of the sockets bound to eth1:port (ucast or bcast receiver); which one is the kernel's
    // choice, as with Heartbeat. All of them report the same link, which is what matters.
    await arrives(peerU, [u1, u2, bc], 'coexist-ucast');
    await arrives(u1, [peerU, peerB], 'coexist-from-a');
    for (const d of [u1, u2, bc]) assert.ok(d.packets().every((p) => p.link === 'eth1'));
    for (const d of [u1, u2, bc, peerU, peerB]) await d.close();
  });

  test('mcast: membership on the device, ttl and loop set, loop 0 keeps our own packets away', async () => {
    const spec = { kind: 'mcast', dev: 'eth1', group: '239.71.0.1', port: PORT + 2, ttl: 3 } as const;
    const a = launch(fx, 'a', { ...spec, loop: false });
    const b = launch(fx, 'b', { ...spec, loop: true });
    const [ra, rb] = await Promise.all([a.ready(), b.ready()]);
    const sendA = ra.sockets.find((s) => s.role === 'send')!;
    assert.equal(sendA.mcastTtl, 3);
    assert.equal(sendA.mcastLoop, 0);
    assert.equal(sendA.mcastIf, '10.71.1.1');
    assert.equal(sendA.device, 'eth1');
    const recvA = ra.sockets.find((s) => s.role === 'recv')!;
    assert.equal(recvA.reuseaddr, 1);
    assert.equal(recvA.device, 'eth1');
    assert.equal(rb.sockets.find((s) => s.role === 'send')!.mcastLoop, 1);
    const groups = await fx.exec('a', ['ip', '-4', 'maddr', 'show', 'dev', 'eth1']);
    assert.match(groups.stdout, /239\.71\.0\.1/);

    await sendUntilReceived(a, b, 'm-from-a');
    await sendUntilReceived(b, a, 'm-from-b');
    assert.equal(b.packets().find((x) => x.text === 'm-from-a')!.from.address, '10.71.1.1');
    // b has loop on: it hears itself; a has loop off: it does not (b's copy of m-from-a proves a's did go out).
    assert.ok(b.packets().some((x) => x.text === 'm-from-b'));
    assert.ok(!a.packets().some((x) => x.text === 'm-from-a'));
    await a.close();
    await b.close();
  });
});
