import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, Logger, NON_DEBUG_LEVELS, ALL_LEVELS, formatLine } from '../../src/obs/log.js';

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
