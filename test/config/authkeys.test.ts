// [verified] = checked against the real heartbeat 3.0.6 (Debian) started on the file in private namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeAuthkeys, parseAuthkeys } from '../../src/config/authkeys.js';
import { VigilErrors } from '../../src/util/errors.js';

const FILE = '/etc/ha.d/authkeys';
const analyze = (text: string, mode: number | undefined = 0o600) => analyzeAuthkeys(text, { file: FILE, mode });
const messages = (text: string, mode?: number) => analyze(text, mode).errors.map((e) => e.message);

test('the tutorial keyfile: auth 1 / 1 sha1 MaClefSecrete', () => {
  const { authkeys } = parseAuthkeys('auth 1\n1 sha1 MaClefSecrete\n', { file: FILE, mode: 0o600 });
  assert.equal(authkeys.active, 1);
  assert.deepEqual(
    [...authkeys.keys.values()],
    [{ index: 1, method: 'sha1', key: 'MaClefSecrete', origin: { file: FILE, line: 2 } }],
  );
});

test('crc takes no key; md5 and sha1 need one; several keys kept for receiving', () => {
  const r = analyze('# keys\n\nauth 2\n1 md5 secret1\n2 crc\n3 sha1 s3\n');
  assert.deepEqual(r.errors, []);
  assert.equal(r.authkeys?.active, 2);
  assert.deepEqual(
    [...r.authkeys.keys.values()].map((k) => [k.index, k.method, k.key]),
    [
      [1, 'md5', 'secret1'],
      [2, 'crc', ''],
      [3, 'sha1', 's3'],
    ],
  );
  // [verified] "Auth method [crc] doesn't use a key", then the selected key is missing.
  assert.deepEqual(messages('auth 1\n1 crc extra\n'), [
    "Auth method [crc] doesn't use a key",
    `Auth Key [1] not found in keyfile [${FILE}]`,
  ]);
  // [verified] "Auth method [md5] requires a key"
  assert.deepEqual(messages('auth 1\n1 md5\n'), [
    'Auth method [md5] requires a key',
    `Auth Key [1] not found in keyfile [${FILE}]`,
  ]);
});

test('auth N must precede key line N', () => {
  // [verified] "1 sha1 k" then "auth 1": "Auth Key [1] not found in keyfile [/etc/ha.d//authkeys]"
  const r = analyze('1 sha1 k\nauth 1\n');
  assert.equal(r.errors.length, 1);
  assert.match(
    r.errors[0]!.message,
    /^Auth Key \[1\] not found in keyfile \[\/etc\/ha\.d\/authkeys\] \(the key line must come after the auth line\)/,
  );
  assert.equal(r.errors[0]!.location?.line, 2);
  // [verified] "auth 2" with only key 1.
  assert.deepEqual(messages('auth 2\n1 sha1 k\n'), [`Auth Key [2] not found in keyfile [${FILE}]`]);
  // [verified] "Missing auth directive in keyfile [...]"
  assert.deepEqual(messages('1 sha1 k\n'), [`Missing auth directive in keyfile [${FILE}]`]);
  assert.deepEqual(messages(''), [`Missing auth directive in keyfile [${FILE}]`]);
});

test('repeated auth and key lines: the values current when a key line is read count', () => {
  // [verified] "auth 3 / auth 1 / 1 sha1 k" starts; "auth 1 / 1 sha1 k / 1 md5 j" starts.
  assert.equal(analyze('auth 3\nauth 1\n1 sha1 k\n').authkeys?.active, 1);
  const r = analyze('auth 1\n1 sha1 k\n1 md5 j\n');
  assert.equal(r.authkeys?.keys.get(1)?.method, 'md5');
  assert.ok(r.warnings.some((w) => w.code === 'VIGIL_WARN_REPEATED'));
});

test('invalid lines, numbers and methods, with heartbeat wording', () => {
  // [verified] "Invalid auth line [auth x] in ...", "Auth line [foo bar] is invalid.", "Invalid authnum [16] in ...",
  // "Invalid authtype [SHA1]" (method names are case-sensitive).
  assert.deepEqual(messages('auth x\n1 sha1 k\n'), [
    `Invalid auth line [auth x] in ${FILE}`,
    `Missing auth directive in keyfile [${FILE}]`,
  ]);
  assert.equal(messages('auth 1\nfoo bar\n1 sha1 k\n')[0], 'Auth line [foo bar] is invalid.');
  assert.equal(messages('auth 1\n16 sha1 k\n')[0], `Invalid authnum [16] in ${FILE}`);
  assert.match(messages('auth 1\n1 SHA1 k\n')[0]!, /^Invalid authtype \[SHA1\]/);
  assert.match(messages('auth 1\n1 rot13 k\n')[0]!, /^Invalid authtype \[rot13\]/);
  const e = analyze('auth 1\n1 SHA1 k\n').errors[0]!;
  assert.deepEqual(e.location, { file: FILE, line: 2, column: 3 });
  assert.equal(e.code, 'VIGIL_ERR_AUTH_CONFIG');
});

test('keys are one word: extra words ignored with a warning, a trailing comment silently', () => {
  // [verified] "1 sha1 k k2" and "1 sha1 k # x" start (sscanf "%d %s %s").
  const r = analyze('auth 1\n1 sha1 k k2\n');
  assert.equal(r.authkeys?.keys.get(1)?.key, 'k');
  assert.ok(r.warnings.some((w) => w.code === 'VIGIL_WARN_IGNORED'));
  const c = analyze('auth 1\n1 sha1 k # x\n');
  assert.deepEqual(c.warnings, []);
  // Only lines starting with # are comments: "#k" is a key.
  assert.equal(analyze('auth 1\n1 sha1 #k\n').authkeys?.keys.get(1)?.key, '#k');
});

test('sha256 and sha512 are accepted (Vigil-only)', () => {
  // [verified] heartbeat refuses sha256: "Invalid authtype [sha256]"; Vigil accepts it and `vigil check` warns.
  const r = analyze('auth 1\n1 sha256 k\n2 sha512 j\n');
  assert.deepEqual(r.errors, []);
  assert.equal(r.authkeys?.keys.get(1)?.method, 'sha256');
  assert.equal(r.authkeys.keys.get(2)?.method, 'sha512');
});

test('permissions: readable by group or other refuses; writable warns; owner-only is fine', () => {
  // [verified] modes 640 and 604: "Bad permissions on keyfile [/etc/ha.d//authkeys], 600 recommended."
  // and heartbeat does not start; 620, 602, 700 and 400 start.
  for (const mode of [0o640, 0o604, 0o644, 0o666]) {
    const r = analyze('auth 1\n1 sha1 k\n', mode);
    assert.equal(r.errors.length, 1, mode.toString(8));
    assert.equal(r.errors[0]!.message, `Bad permissions on keyfile [${FILE}], 600 recommended.`);
    assert.equal(r.errors[0]!.code, 'VIGIL_ERR_AUTH_PERMS');
  }
  for (const mode of [0o600, 0o400, 0o700]) assert.deepEqual(analyze('auth 1\n1 sha1 k\n', mode).errors, []);
  for (const mode of [0o620, 0o602]) {
    const r = analyze('auth 1\n1 sha1 k\n', mode);
    assert.deepEqual(r.errors, []);
    assert.ok(r.warnings.some((w) => w.code === 'VIGIL_WARN_AUTH_PERMS'));
  }
  // A peer's copy has no meaningful mode here.
  assert.deepEqual(analyze('auth 1\n1 sha1 k\n', undefined).errors, []);
});

test('every error at once; parseAuthkeys throws VigilErrors', () => {
  const r = analyze('auth 1\nfoo\n17 sha1 k\n1 bogus k\n', 0o644);
  assert.equal(r.errors.length, 5);
  assert.throws(
    () => parseAuthkeys('auth 1\n', { file: FILE, mode: 0o600 }),
    (e: unknown) => e instanceof VigilErrors && e.errors.length === 1,
  );
});

test('CRLF line endings and leading blanks', () => {
  const r = analyze('auth 1\r\n  1 sha1 k\r\n');
  assert.equal(r.authkeys?.keys.get(1)?.key, 'k');
});
