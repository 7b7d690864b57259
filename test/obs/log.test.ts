import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, Logger, NON_DEBUG_LEVELS, ALL_LEVELS, escapeControl, formatLine } from '../../src/obs/log.js';
import { LogLimiter } from '../../src/obs/log-limiter.js';

test('daemon lines have Heartbeat syslog shape, script lines the ResourceManager shape', () => {
  const d = new Date(2026, 10, 6, 9, 5, 3);
  assert.equal(
    formatLine(d, 'linux1', 'heartbeat', 4242, 'info', 'Link linux2:eth1 up.'),
    'Nov  6 09:05:03 linux1 heartbeat: [4242]: info: Link linux2:eth1 up.\n',
  );
  assert.equal(
    formatLine(
      d,
      'linux1',
      'ResourceManager(default)',
      77,
      'info',
      'Running /etc/ha.d/resource.d/IPaddr 192.168.1.50 start',
      'script',
    ),
    '2026/11/06_09:05:03  ResourceManager(default)[77]:\tinfo: Running /etc/ha.d/resource.d/IPaddr 192.168.1.50 start\n',
  );
});

test('logfile gets info and above, debugfile everything, and a rotated file is reopened', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-log-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const logfile = new FileSink(join(dir, 'ha-log'), NON_DEBUG_LEVELS);
  const debugfile = new FileSink(join(dir, 'ha-debug'), ALL_LEVELS);
  const log = new Logger({ node: 'linux1', pid: 1, tag: 'heartbeat', sinks: [logfile, debugfile] });
  log.debugLevel = 1;
  log.info('one');
  log.debug('two');
  log.crit('three');
  await logfile.reopen();
  await rename(join(dir, 'ha-log'), join(dir, 'ha-log.1'));
  log.warn('four');
  await log.close();
  const first = await readFile(join(dir, 'ha-log.1'), 'utf8');
  assert.match(first, /info: one\n.*CRIT: three\n$/s);
  assert.doesNotMatch(first, /two/);
  assert.match(await readFile(join(dir, 'ha-log'), 'utf8'), /WARN: four\n$/);
  assert.equal((await readFile(join(dir, 'ha-debug'), 'utf8')).split('\n').length, 5);
});

test('an unwritable log file drops lines instead of crashing', async () => {
  const sink = new FileSink('/nonexistent-dir/ha-log', ALL_LEVELS);
  const log = new Logger({ node: 'n', pid: 1, tag: 'heartbeat', sinks: [sink] });
  log.info('lost');
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(sink.dropped >= 1);
  await log.close();
});

test('text from the wire cannot forge a line: control characters are escaped in every sink', () => {
  const lines: string[] = [];
  const texts: string[] = [];
  const logger = new Logger({
    node: 'linux1',
    pid: 1,
    tag: 'heartbeat',
    now: () => new Date(2026, 0, 1),
    sinks: [
      {
        write: (_level, line, text) => {
          lines.push(line);
          texts.push(text);
        },
        close: () => Promise.resolve(),
      },
    ],
  });
  logger.log('ERROR', 'bad node [x\nJan  1 00:00:00 linux1 heartbeat: [1]: info: Resources being acquired] in message');
  logger.script('info', 'out\r\x1b[2J\x9b\x00end\ttab');
  assert.equal(lines.length, 2);
  for (const l of lines) assert.equal(l.indexOf('\n'), l.length - 1, JSON.stringify(l));
  assert.match(texts[0]!, /^bad node \[x\\nJan {2}1 00:00:00 linux1/);
  assert.equal(texts[1], 'out\\r\\x1b[2J\\x9b\\x00end\ttab');
  assert.equal(escapeControl('plain text: ünïcode stays'), 'plain text: ünïcode stays');
});

test('LogLimiter: one line per interval per kind, the rest counted and reported', () => {
  let now = 0;
  const l = new LogLimiter(() => now, 1000);
  assert.equal(l.take('auth', 'dropped packet (auth): 1'), 'dropped packet (auth): 1');
  for (let i = 2; i <= 500; i++) assert.equal(l.take('auth', `dropped packet (auth): ${i}`), undefined);
  assert.equal(l.take('parse', 'dropped packet (parse): x'), 'dropped packet (parse): x');
  assert.deepEqual(l.flush(), []);
  now = 1000;
  assert.deepEqual(l.flush(), ['499 more like it suppressed, the last: dropped packet (auth): 500']);
  assert.deepEqual(l.flush(), []);
  now = 1500;
  assert.equal(l.take('auth', 'a'), undefined);
  now = 2600;
  assert.equal(l.take('auth', 'b'), 'b (1 more like it suppressed)');
  // A spray of distinct kinds does not grow the table without bound.
  for (let i = 0; i < 10_000; i++) l.take(`k${i}`, 'x');
  assert.ok((l as unknown as { keys: Map<string, unknown> }).keys.size <= 256);
});
