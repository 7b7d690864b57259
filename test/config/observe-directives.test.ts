/** vigil_http, vigil_notify*, vigil_history_size and vigil_journald: parsed, refused with a clear message, and reloadable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileConfig } from '../../src/config/compile.js';
import { diffConfig } from '../../src/config/diff.js';
import { listenAddress, parseBytes, parseListen } from '../../src/config/vigil-directives.js';
import { isVigilError } from '../../src/util/errors.js';
import { lintConfig } from '../../src/config/lint.js';

const DIR = '/etc/ha.d';
function compile(extra: string) {
  return compileConfig({
    configDir: DIR,
    localNode: 'linux1',
    hacf: { file: `${DIR}/ha.cf`, text: `keepalive 1\ndeadtime 10\nbcast eth1\nnode linux1 linux2\n${extra}` },
    authkeys: { file: `${DIR}/authkeys`, text: 'auth 1\n1 sha1 secret\n', mode: 0o600 },
    haresources: { file: `${DIR}/haresources`, text: 'linux1 IPaddr::10.0.0.50/24/eth1\n' },
  }).config;
}

function refusal(extra: string): string {
  try {
    compile(extra);
  } catch (e) {
    if (isVigilError(e)) return e.message;
    throw e;
  }
  return '';
}

test('defaults: no HTTP server, no notify, 1 MiB of history, journald when under systemd', () => {
  const v = compile('').hacf.vigil;
  assert.equal(v.httpListen, '');
  assert.equal(v.notifyProgram, '');
  assert.equal(v.notifyFifo, '');
  assert.equal(v.notifyTimeoutMs, 10_000);
  assert.equal(v.historyBytes, 1024 * 1024);
  assert.equal(v.journald, 'auto');
});

test('vigil_http: address:port, [IPv6]:port or off; anything else refused with what is expected', () => {
  assert.equal(compile('vigil_http 127.0.0.1:9100\n').hacf.vigil.httpListen, '127.0.0.1:9100');
  assert.equal(compile('vigil_http [::1]:9100\n').hacf.vigil.httpListen, '[::1]:9100');
  assert.equal(compile('vigil_http localhost:9100\n').hacf.vigil.httpListen, 'localhost:9100');
  assert.equal(compile('vigil_http off\n').hacf.vigil.httpListen, '');
  for (const bad of ['9100', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'http://x:1', '::1:9100']) {
    assert.equal(parseListen(bad), undefined, bad);
  }
  assert.match(refusal('vigil_http 9100\n'), /Invalid vigil_http \[9100\]: expected off, or address:port/);
  assert.deepEqual(listenAddress('[::1]:9100'), { host: '::1', port: 9100 });
  assert.deepEqual(listenAddress('192.168.1.2:9100'), { host: '192.168.1.2', port: 9100 });
});

test('vigil_notify, vigil_notify_fifo, vigil_notify_timeout, vigil_history_size, vigil_journald', () => {
  const v = compile(
    'vigil_notify /etc/ha.d/notify.sh\nvigil_notify_fifo /run/vigil/events\nvigil_notify_timeout 3\nvigil_history_size 64k\nvigil_journald on\n',
  ).hacf.vigil;
  assert.equal(v.notifyProgram, '/etc/ha.d/notify.sh');
  assert.equal(v.notifyFifo, '/run/vigil/events');
  assert.equal(v.notifyTimeoutMs, 3000);
  assert.equal(v.historyBytes, 64 * 1024);
  assert.equal(v.journald, 'on');
  assert.match(
    refusal('vigil_notify notify.sh\n'),
    /Invalid vigil_notify \[notify\.sh\]: expected off, or an absolute path/,
  );
  assert.match(refusal('vigil_history_size 1k\n'), /Invalid vigil_history_size \[1k\]/);
  assert.match(refusal('vigil_journald maybe\n'), /expected auto, on or off/);
  assert.equal(parseBytes('2M'), 2 * 1024 * 1024);
  assert.equal(parseBytes('2G'), undefined);
});

test('reload: the HTTP server, the notify hook and the history size are applied in place', () => {
  const a = compile('');
  const b = compile('vigil_http 127.0.0.1:9100\nvigil_notify /bin/true\nvigil_history_size 2M\nvigil_journald off\n');
  const d = diffConfig(a, b);
  assert.deepEqual(d.needRestart, []);
  assert.deepEqual(
    d.changes.map((c) => [c.text, c.area]),
    [
      ['vigil_http off → 127.0.0.1:9100', 'http'],
      ['vigil_notify off → /bin/true', 'notify'],
      ['vigil_history_size 1048576 → 2097152', 'history'],
      ['vigil_journald auto → off', 'logging'],
    ],
  );
});

test('vigil check warns when vigil_http listens on every address, not on localhost or one address', () => {
  const codes = (extra: string): string[] => lintConfig(compile(extra)).map((w) => w.code);
  for (const any of ['0.0.0.0:9100', '[::]:9100']) {
    const w = lintConfig(compile(`vigil_http ${any}\n`)).find((x) => x.code === 'VIGIL_WARN_HTTP_ANY');
    assert.ok(w !== undefined, any);
    assert.match(w.message, /listens on every address/);
    assert.match(w.hint ?? '', /vigil_http 127\.0\.0\.1:9100/);
  }
  assert.ok(!codes('vigil_http 127.0.0.1:9100\n').includes('VIGIL_WARN_HTTP_ANY'));
  assert.ok(!codes('vigil_http 10.0.0.1:9100\n').includes('VIGIL_WARN_HTTP_ANY'));
});
