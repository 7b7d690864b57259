import { connect, type Socket } from 'node:net';
import { VigilError } from '../util/errors.js';

/**
 * A small SMTP client (RFC 5321) for notices. Chosen over piping to /usr/sbin/sendmail because a stock
 * Debian server has no MTA installed (Heartbeat's MailTo then fails silently: `mail` is missing), while a
 * relay (the site's smarthost, or a local MTA on port 25) is what admins already run. Every step is bounded:
 * one timeout per reply, one for the whole transaction (a server answering each step just in time, for each of
 * 50 recipients, must not hold a failover for minutes), a cap on reply size, on the message and on recipients.
 */
export interface SmtpOptions {
  readonly host: string;
  readonly port: number;
  /** Name sent in EHLO/HELO: this node's name. */
  readonly heloName: string;
  /** Longest wait for the connection and for each server reply. */
  readonly stepTimeoutMs: number;
  /**
   * Longest time for the whole transaction, from connect to the reply to QUIT; default
   * {@link DEFAULT_SMTP_TOTAL_MS}, or `stepTimeoutMs` when that is longer.
   */
  readonly totalTimeoutMs?: number;
}

export interface Envelope {
  readonly from: string;
  readonly to: readonly string[];
}

export interface SmtpResult {
  /** Recipients the server accepted (RCPT TO answered 2xx). */
  readonly accepted: readonly string[];
  /** Recipients the server refused, with its reply. */
  readonly rejected: readonly { readonly address: string; readonly reply: string }[];
  /** The server's final reply to the message data (e.g. `250 OK queued as …`). */
  readonly reply: string;
}

export const SMTP_LIMITS = {
  /** A reply longer than this (all its lines together) is treated as a broken server. */
  replyBytes: 16 * 1024,
  messageBytes: 1024 * 1024,
  recipients: 50,
} as const;

export const DEFAULT_SMTP_TOTAL_MS = 30_000;

export const DEFAULT_SMTP: Omit<SmtpOptions, 'heloName'> = {
  host: 'localhost',
  port: 25,
  stepTimeoutMs: 10_000,
  totalTimeoutMs: DEFAULT_SMTP_TOTAL_MS,
};

/** `host[:port]` as written in `vigil_mail_relay`; `[v6]:port` for IPv6 literals. */
export function parseRelay(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/.exec(text);
  if (m === null) return undefined;
  const host = m[1] ?? m[2];
  const port = m[3] === undefined ? 25 : Number(m[3]);
  if (host === undefined || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** A mailbox is sent inside `<...>` on a command line: anything that could end or split that line is refused. */
export function isSafeAddress(a: string): boolean {
  return a.length > 0 && a.length <= 254 && /^[^\s<>"\\,;()[\]]+@[A-Za-z0-9.[\]:-]+$/.test(a);
}

interface Reply {
  readonly code: number;
  readonly text: string;
}

/** Reads CRLF-terminated SMTP replies (multi-line `250-...` ... `250 ...`) from a socket, one at a time. */
class ReplyReader {
  private buf = '';
  private lines: string[] = [];
  private waiter: ((r: Reply | Error) => void) | undefined;
  private failure: Error | undefined;
  private readonly queue: (Reply | Error)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buf += chunk;
      if (this.buf.length + this.lines.join('').length > SMTP_LIMITS.replyBytes) {
        this.fail(new VigilError('VIGIL_ERR_SMTP', 'SMTP server reply too long'));
        return;
      }
      this.parse();
    });
    socket.on('error', (e) => {
      this.fail(new VigilError('VIGIL_ERR_SMTP', `SMTP connection error: ${e.message}`, undefined, { cause: e }));
    });
    socket.on('close', () => {
      this.fail(new VigilError('VIGIL_ERR_SMTP', 'SMTP server closed the connection'));
    });
  }

  private parse(): void {
    for (;;) {
      const i = this.buf.indexOf('\n');
      if (i < 0) return;
      const line = this.buf.slice(0, i).replace(/\r$/, '');
      this.buf = this.buf.slice(i + 1);
      const m = /^(\d{3})([ -])(.*)$/.exec(line) ?? /^(\d{3})()$/.exec(line);
      if (m === null) {
        this.fail(new VigilError('VIGIL_ERR_SMTP', `malformed SMTP reply: ${line.slice(0, 200)}`));
        return;
      }
      this.lines.push(line);
      if (m[2] !== '-') {
        this.push({ code: Number(m[1]), text: this.lines.join('\n') });
        this.lines = [];
      }
    }
  }

  private push(r: Reply | Error): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w(r);
    } else {
      this.queue.push(r);
    }
  }

  /** Ends the conversation: the pending and every later `next` reject with `e`. */
  fail(e: Error): void {
    if (this.failure !== undefined) return;
    this.failure = e;
    this.push(e);
    this.socket.destroy();
  }

  next(what: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const settle = (r: Reply | Error): void => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.fail(new VigilError('VIGIL_ERR_SMTP', `SMTP server did not answer ${what} within ${this.timeoutMs} ms`));
        reject(this.failure ?? new Error('timeout'));
      }, this.timeoutMs);
      const queued = this.queue.shift();
      if (queued !== undefined) settle(queued);
      else if (this.failure !== undefined) settle(this.failure);
      else this.waiter = settle;
    });
  }
}

/** Lines starting with '.' get a second one (RFC 5321 §4.5.2); bare LF and CR become CRLF. */
export function dotStuff(message: string): string {
  const lines = message.replace(/\r\n|\r|\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\r\n') + '\r\n';
}

/**
 * Sends one message: EHLO (HELO if refused), MAIL FROM, RCPT TO each, DATA, QUIT. Resolves when the server
 * accepted the data for at least one recipient; otherwise rejects with VIGIL_ERR_SMTP carrying the server's words.
 */
export async function sendMail(opts: SmtpOptions, env: Envelope, message: string): Promise<SmtpResult> {
  if (!isSafeAddress(env.from)) throw new VigilError('VIGIL_ERR_SMTP', `invalid sender address [${env.from}]`);
  if (env.to.length === 0) throw new VigilError('VIGIL_ERR_SMTP', 'no recipient');
  if (env.to.length > SMTP_LIMITS.recipients) {
    throw new VigilError('VIGIL_ERR_SMTP', `more than ${SMTP_LIMITS.recipients} recipients`);
  }
  for (const a of env.to) {
    if (!isSafeAddress(a)) throw new VigilError('VIGIL_ERR_SMTP', `invalid recipient address [${a}]`);
  }
  const data = dotStuff(message);
  if (Buffer.byteLength(data, 'utf8') > SMTP_LIMITS.messageBytes) {
    throw new VigilError('VIGIL_ERR_SMTP', `message larger than ${SMTP_LIMITS.messageBytes} bytes`);
  }
  if (!/^[A-Za-z0-9.-]+$/.test(opts.heloName)) {
    throw new VigilError('VIGIL_ERR_SMTP', `invalid HELO name [${opts.heloName}]`);
  }

  const socket = connect({ host: opts.host, port: opts.port });
  socket.setNoDelay(true);
  const reader = new ReplyReader(socket, opts.stepTimeoutMs);
  const totalMs = Math.min(
    2 ** 31 - 1,
    Math.max(1, opts.totalTimeoutMs ?? Math.max(DEFAULT_SMTP_TOTAL_MS, opts.stepTimeoutMs)),
  );
  const overall = setTimeout(() => {
    reader.fail(new VigilError('VIGIL_ERR_SMTP', `SMTP transaction did not finish within ${totalMs} ms`));
  }, totalMs);
  const send = (line: string): void => {
    socket.write(`${line}\r\n`, 'utf8');
  };
  const expect = async (what: string, ok: (code: number) => boolean): Promise<Reply> => {
    const r = await reader.next(what);
    if (!ok(r.code)) throw new VigilError('VIGIL_ERR_SMTP', `SMTP ${what} refused: ${r.text}`);
    return r;
  };
  const is2 = (c: number): boolean => c >= 200 && c < 300;
  try {
    await expect('greeting', is2);
    send(`EHLO ${opts.heloName}`);
    const ehlo = await reader.next('EHLO');
    if (!is2(ehlo.code)) {
      send(`HELO ${opts.heloName}`);
      await expect('HELO', is2);
    }
    send(`MAIL FROM:<${env.from}>`);
    await expect('MAIL FROM', is2);
    const accepted: string[] = [];
    const rejected: { address: string; reply: string }[] = [];
    for (const to of env.to) {
      send(`RCPT TO:<${to}>`);
      const r = await reader.next('RCPT TO');
      if (is2(r.code)) accepted.push(to);
      else rejected.push({ address: to, reply: r.text });
    }
    if (accepted.length === 0) {
      throw new VigilError(
        'VIGIL_ERR_SMTP',
        `SMTP server refused every recipient: ${rejected.map((x) => `${x.address}: ${x.reply}`).join('; ')}`,
      );
    }
    send('DATA');
    await expect('DATA', (c) => c === 354);
    socket.write(data, 'utf8');
    send('.');
    const final = await expect('message data', is2);
    send('QUIT');
    // The message is accepted already; a server that hangs up without answering QUIT changes nothing.
    await reader.next('QUIT').catch(() => undefined);
    return { accepted, rejected, reply: final.text };
  } finally {
    clearTimeout(overall);
    socket.destroy();
  }
}

/** RFC 2047 `=?UTF-8?B?...?=` words for a header value with non-ASCII text; ASCII passes unchanged. */
export function encodeHeaderValue(value: string): string {
  const clean = value.replace(/[\r\n]+/g, ' ');

  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  // Each encoded word is at most 75 characters: 12 of wrapping leave 63, i.e. 45 bytes of base64 input.
  // Characters are never split between words (RFC 2047 §5: each word must decode to whole characters).
  const words: string[] = [];
  let chunk = '';
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ');
}

export interface PlainMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly body: string;
  readonly date: Date;
  /** Unique part of the Message-ID (left of '@'). */
  readonly messageId: string;
  readonly heloName: string;
  /** Extra headers, name → value (ASCII names; values are encoded like the subject). */
  readonly headers?: Readonly<Record<string, string>>;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date in UTC (`Thu, 26 Nov 2026 18:05:42 +0000`). */
export function rfc5322Date(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()] ?? ''}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/**
 * A text/plain UTF-8 message. A non-ASCII body goes base64 (7-bit clean, so no relay needs 8BITMIME);
 * an ASCII one goes as is.
 */
export function buildMessage(m: PlainMessage): string {
  const body = m.body.replace(/\r\n|\r|\n/g, '\n');
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(body);
  const headers: string[] = [
    `From: ${m.from}`,
    `To: ${m.to.join(', ')}`,
    `Subject: ${encodeHeaderValue(m.subject)}`,
    `Date: ${rfc5322Date(m.date)}`,
    `Message-ID: <${m.messageId}@${m.heloName}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    `Content-Transfer-Encoding: ${ascii ? '7bit' : 'base64'}`,
  ];
  for (const [name, value] of Object.entries(m.headers ?? {})) {
    if (!/^[A-Za-z0-9-]+$/.test(name)) throw new VigilError('VIGIL_ERR_SMTP', `invalid header name [${name}]`);
    headers.push(`${name}: ${encodeHeaderValue(value)}`);
  }
  let encoded: string;
  if (ascii) {
    encoded = body;
  } else {
    const b64 = Buffer.from(body, 'utf8').toString('base64');
    encoded = (b64.match(/.{1,76}/g) ?? []).join('\n');
  }
  return `${headers.join('\r\n')}\r\n\r\n${encoded.replace(/\n/g, '\r\n')}\r\n`;
}
