/**
 * journald's native protocol as systemd's journal-fields(7) and sd_journal_sendv() define it: plain `NAME=value\n`
 * fields, the binary form for values with newlines, names journald accepts; when `auto` turns it on; what journald
 * does not take is counted. (What a real systemd-journald keeps of a log line and of a transition is checked in
 * test/lab/observability.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JournaldSink, encodeEntry, underJournald } from '../../src/obs/journald.js';
import { DaemonStats } from '../../src/obs/stats.js';

/** Parses a native-protocol datagram as journald's server_process_native_message does. */
function parseNative(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let p = 0;
  while (p < buf.length) {
    const nl = buf.indexOf(0x0a, p);
    assert.ok(nl > p, 'every field ends with a newline');
    const line = buf.subarray(p, nl).toString('utf8');
    const eq = line.indexOf('=');
    if (eq >= 0) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
      p = nl + 1;
      continue;
    }
    const len = Number(buf.readBigUInt64LE(nl + 1));
    out[line] = buf.subarray(nl + 9, nl + 9 + len).toString('utf8');
    assert.equal(buf[nl + 9 + len], 0x0a, 'a binary field ends with a newline');
    p = nl + 10 + len;
  }
  return out;
}

test('journald: plain and binary fields, invalid names and undefined values left out', () => {
  const b = encodeEntry({
    MESSAGE: 'info: Link linux2:eth1 up.',
    PRIORITY: 6,
    SYSLOG_IDENTIFIER: 'heartbeat',
    GROUP: undefined,
    lower: 'x',
    _SYSTEMD_UNIT: 'forged',
    CAUSE: 'two\nlines',
  });
  assert.deepEqual(parseNative(b), {
    MESSAGE: 'info: Link linux2:eth1 up.',
    PRIORITY: '6',
    SYSLOG_IDENTIFIER: 'heartbeat',
    CAUSE: 'two\nlines',
  });
  assert.ok(b.includes(Buffer.from('CAUSE\n')));
});

test('journald: auto means started by systemd with the journal socket present', async () => {
  assert.equal(await underJournald({}, '/'), false);
  assert.equal(await underJournald({ INVOCATION_ID: 'x' }, '/nonexistent/socket'), false);
  assert.equal(await underJournald({ INVOCATION_ID: 'x' }, '/'), true);
  assert.equal(await underJournald({ JOURNAL_STREAM: '8:1' }, '/'), true);
});

test('journald: entries journald does not take (no socket) are counted, never thrown', async () => {
  const stats = new DaemonStats();
  const sink = new JournaldSink({
    node: 'linux1',
    facility: 3,
    groups: () => ['IPaddr::10.0.0.50'],
    path: '/nonexistent/journal/socket',
    stats,
  });
  sink.write('info', 'unused', 'info: Link linux2:eth1 up.');
  sink.event({ type: 'peer', at: 1, peer: 'linux2', change: 'dead', kind: 'node' });
  sink.write('debug', 'unused', 'debug lines never go to journald');
  assert.equal(stats.journaldDropped, 2);
  assert.equal(sink.dropped, 2);
  await sink.close();
});
