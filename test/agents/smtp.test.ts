import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import {
  buildMessage,
  dotStuff,
  encodeHeaderValue,
  parseRelay,
  sendMail,
  rfc5322Date,
  type SmtpOptions,
} from '../../src/agents/smtp.js';
import { isVigilError } from '../../src/util/errors.js';
import { freePort, smtpServerFor } from './smtp-server.js';

function decodeWords(v: string): string {
  // Adjacent encoded words separated by folding whitespace join without a space (RFC 2047 §6.2).
  const words = v.split(/\r\n /);
  return words
    .map((w) => {
      const m = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/.exec(w);
      return m === null ? null : Buffer.from(m[1] ?? '', 'base64');
    })
    .reduce<Buffer | null>((acc, b) => (acc === null || b === null ? null : Buffer.concat([acc, b])), Buffer.alloc(0))
    ?.toString('utf8') as string;
}

test('encodeHeaderValue: ASCII unchanged; UTF-8 as RFC 2047 B words of ≤ 75 chars, never splitting a character', () => {
  assert.equal(encodeHeaderValue('Resource Group Takeover'), 'Resource Group Takeover');
  assert.equal(encodeHeaderValue('a\r\nBcc: x@y'), 'a Bcc: x@y');
  const fr = 'Groupe de ressources : reprise en cours sur nœud-1 — déplacé à 18 h';
  const enc = encodeHeaderValue(fr);
  for (const w of enc.split('\r\n ')) assert.ok(w.length <= 75, w);
  assert.equal(decodeWords(enc), fr);
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => {
      const e = encodeHeaderValue(s);

      assert.ok(/^[\x20-\x7e\r\n]*$/.test(e), 'header must be 7-bit');
      if (e.startsWith('=?')) {
        for (const w of e.split('\r\n ')) assert.ok(w.length <= 75);
        assert.equal(decodeWords(e), s.replace(/[\r\n]+/g, ' '));
      }
    }),
    { numRuns: 500 },
  );
});

test('dotStuff doubles leading dots and normalises line ends to CRLF', () => {
  assert.equal(dotStuff('a\n.\n..b\nc'), 'a\r\n..\r\n...b\r\nc\r\n');
  assert.equal(dotStuff('x\r\ny\r\n'), 'x\r\ny\r\n');
  assert.equal(dotStuff('x\ry'), 'x\r\ny\r\n');
});

test('parseRelay: host[:port] with port 25 by default, [v6]:port', () => {
  assert.deepEqual(parseRelay('localhost'), { host: 'localhost', port: 25 });
  assert.deepEqual(parseRelay('smtp.example.com:587'), { host: 'smtp.example.com', port: 587 });
  assert.deepEqual(parseRelay('[::1]:2525'), { host: '::1', port: 2525 });
  assert.equal(parseRelay('host:0'), undefined);
  assert.equal(parseRelay('host:70000'), undefined);
  assert.equal(parseRelay('a b'), undefined);
});

test('rfc5322Date', () => {
  assert.equal(rfc5322Date(new Date(Date.UTC(2026, 10, 26, 18, 5, 42))), 'Thu, 26 Nov 2026 18:05:42 +0000');
});

/** A scripted SMTP peer on loopback, for the failure paths a real server will not produce on demand. */
async function scripted(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConn);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { server, port: typeof a === 'object' && a !== null ? a.port : 0 };
}

/** Calls `onLine` for each CRLF-terminated line the client sends. */
function lines(s: Socket, onLine: (line: string) => void): void {
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      onLine(line);
    }
  });
}

const opts = (port: number, stepTimeoutMs = 5000): SmtpOptions => ({
  host: '127.0.0.1',
  port,
  heloName: 'node1',
  stepTimeoutMs,
});

test('a server that never greets times out with VIGIL_ERR_SMTP within the step timeout', async (t) => {
  const conns: Socket[] = [];
  const { server, port } = await scripted((s) => conns.push(s));
  t.after(() => {
    for (const s of conns) s.destroy();
    server.close();
  });
  const t0 = Date.now();
  await assert.rejects(
    sendMail(opts(port, 300), { from: 'root@node1', to: ['a@b.c'] }, 'Subject: x\r\n\r\nx\r\n'),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_SMTP' && /did not answer greeting within 300 ms/.test(e.message),
  );
  // Generous bound (2-core machine shared with others): the point is that it does not hang.
  assert.ok(Date.now() - t0 < 5000);
});

test('refused recipients, HELO fallback, refused connection and oversized replies are clear errors', async (t) => {
  const { server, port } = await scripted((s) => {
    s.write('220 test ESMTP\r\n');
    lines(s, (line) => {
      if (line.startsWith('EHLO')) s.write('502 5.5.1 EHLO not implemented\r\n');
      else if (line.startsWith('HELO')) s.write('250 hello\r\n');
      else if (line.startsWith('MAIL')) s.write('250 ok\r\n');
      else if (line.startsWith('RCPT')) s.write('550-5.1.1 no such\r\n550 5.1.1 user\r\n');
      else s.write('500 what\r\n');
    });
  });
  t.after(() => server.close());
  await assert.rejects(
    sendMail(opts(port), { from: 'root@node1', to: ['nobody@x.y'] }, 'x'),
    (e) =>
      isVigilError(e) &&
      e.code === 'VIGIL_ERR_SMTP' &&
      /refused every recipient: nobody@x\.y: 550-5\.1\.1 no such\n550 5\.1\.1 user/.test(e.message),
  );
  const closed = await freePort();
  await assert.rejects(
    sendMail(opts(closed), { from: 'root@node1', to: ['a@b.c'] }, 'x'),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_SMTP' && /ECONNREFUSED/.test(e.message),
  );
  const big = await scripted((s) => {
    s.write(`220-${'x'.repeat(20_000)}\r\n`);
  });
  t.after(() => big.server.close());
  await assert.rejects(
    sendMail(opts(big.port), { from: 'root@node1', to: ['a@b.c'] }, 'x'),
    (e) => isVigilError(e) && /reply too long/.test(e.message),
  );
  await assert.rejects(
    sendMail(opts(port), { from: 'root@node1', to: ['a@b.c>\r\nRCPT TO:<evil@x'] }, 'x'),
    (e) => isVigilError(e) && /invalid recipient/.test(e.message),
  );
});

test('a server that answers every step just in time is still cut off by the transaction deadline', async (t) => {
  const conns: Socket[] = [];
  // Each reply comes 250 ms after its command: well within the 2 s step timeout, but 12 recipients make the
  // transaction last over 3 s.
  const { server, port } = await scripted((s) => {
    conns.push(s);
    const later = (line: string): void => {
      setTimeout(() => {
        if (!s.destroyed) s.write(line);
      }, 250);
    };
    later('220 slow ESMTP\r\n');
    lines(s, () => {
      later('250 ok\r\n');
    });
  });
  t.after(() => {
    for (const s of conns) s.destroy();
    server.close();
  });
  const to = Array.from({ length: 12 }, (_, i) => `u${i}@b.c`);
  const t0 = Date.now();
  await assert.rejects(
    sendMail({ ...opts(port, 2000), totalTimeoutMs: 1000 }, { from: 'root@node1', to }, 'x'),
    (e) =>
      isVigilError(e) && e.code === 'VIGIL_ERR_SMTP' && /transaction did not finish within 1000 ms/.test(e.message),
  );
  const took = Date.now() - t0;
  assert.ok(took >= 900 && took < 5000, `took ${took} ms`);
  // Its socket is closed: the server sees the end of the connection.
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(conns.every((s) => s.readableEnded || s.destroyed));
});

test('sends through a real SMTP server (aiosmtpd): envelope, UTF-8 subject and body, dot-stuffing', async (t) => {
  const srv = await smtpServerFor(t);
  if (srv === undefined) return;
  const body = 'Première ligne\n.\n.point en tête\nfin — ✓\n';
  const msg = buildMessage({
    from: 'root@node1',
    to: ['ops@example.com', 'dba@example.com'],
    subject: 'Groupe de ressources : reprise en cours sur nœud1',
    body,
    date: new Date(Date.UTC(2026, 10, 26, 18, 5, 42)),
    messageId: 'test.1',
    heloName: 'node1',
  });
  const r = await sendMail(
    { host: '127.0.0.1', port: srv.port, heloName: 'node1', stepTimeoutMs: 10_000 },
    { from: 'root@node1', to: ['ops@example.com', 'dba@example.com'] },
    msg,
  );
  assert.deepEqual(r.accepted, ['ops@example.com', 'dba@example.com']);
  assert.match(r.reply, /^250/);
  const [m] = await srv.waitForMails(1);
  assert.ok(m);
  assert.equal(m.subject, 'Groupe de ressources : reprise en cours sur nœud1');
  assert.equal(m.body, body);
  assert.equal(m.contentType, 'text/plain; charset=utf-8');
  assert.equal(m.headers['X-MailFrom'], 'root@node1');
  assert.equal(m.headers['X-RcptTo'], 'ops@example.com, dba@example.com');
  assert.equal(m.headers['Message-ID'], '<test.1@node1>');
  assert.match(m.raw, /^Subject: =\?UTF-8\?B\?/m);
});
