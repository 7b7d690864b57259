/**
 * The SMTP client's reply reader (ReplyReader in src/agents/smtp.ts: multi-line `250-...` replies, a size cap, a
 * timeout per reply). It is private to the module, so it is fuzzed through `sendMail` against real TCP servers on
 * loopback that answer each command with a generated reply: well-formed ones of every class, continuation lines with
 * mixed codes, bare LF, CR inside a line, missing codes, oversized replies, replies cut at any byte, pipelined extra
 * replies, silence, and a hang-up. Contract: sendMail resolves with the recipients the server took, or rejects with
 * VIGIL_ERR_SMTP; within its step timeouts; with no exception escaping to the process.
 */
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import fc from 'fast-check';
import { sendMail } from '../../src/agents/smtp.js';
import { VigilError } from '../../src/util/errors.js';
import { type AsyncTarget, ContractViolation, unexpectedThrow } from '../engine.js';
import { showBytes } from '../mutate.js';

/**
 * A reply that never completes (no line end, silence) ends in this timeout, which is an outcome, not a crash (the
 * engine's deadline, far longer, is what catches a hang). Long enough that a loaded machine's event-loop lag never
 * passes for silence; such replies are rare in the inputs, since each one holds a lane for this long.
 */
const STEP_TIMEOUT_MS = 1000;
const TO = ['a@example.com', 'b@example.com', 'c@example.com'];

interface SmtpInput {
  /** One reply per step: greeting, EHLO, (HELO), MAIL, RCPT..., DATA, end of data, QUIT. */
  readonly replies: readonly string[];
  readonly recipients: number;
  /** Write each reply in pieces of this many bytes (0: whole). */
  readonly piece: number;
  /** When the replies run out: hang up, or stay silent (the client's step timeout must end it). */
  readonly after: 'close' | 'silent';
  /**
   * pipelined: every reply at once when the client connects (one round trip, so a million conversations fit in
   * minutes; the reader queues them); interactive: one reply per command, as a real server.
   */
  readonly mode: 'pipelined' | 'interactive';
}

const code = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('220', '250', '251', '354', '221') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('421', '450', '451', '452', '500', '501', '502', '503', '550', '552', '554'),
  },
  { weight: 1, arbitrary: fc.constantFrom('000', '199', '299', '300', '999', '25', '2500', ' 250', 'abc') },
);
const text = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('OK', 'ok queued as 1234', 'mx.example.com ESMTP', 'Go ahead', 'bye', '') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  },
);
// A line end without \n leaves the reply unfinished: the client waits for its step timeout.
const eol = fc.oneof(
  { weight: 60, arbitrary: fc.constant('\r\n') },
  { weight: 4, arbitrary: fc.constantFrom('\n', '\r\r\n') },
  { weight: 1, arbitrary: fc.constantFrom('\r', '') },
);

const reply: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(code, text, eol).map(([c, t, e]) => `${c} ${t}${e}`) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.array(fc.tuple(code, text), { minLength: 1, maxLength: 4 }), code, text, eol)
      .map(([more, c, t, e]) => `${more.map(([mc, mt]) => `${mc}-${mt}\r\n`).join('')}${c} ${t}${e}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '250\r\n',
      '250-\r\n250 \r\n',
      '\r\n',
      '250x\r\n',
      '250 a\rb\r\n',
      '250 ok\r\n250 extra\r\n',
      '',
      '2',
      '250-ok',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 500, max: 9000 }))
      .map(([lines, len]) => `${'250-'.concat('x'.repeat(len), '\r\n').repeat(lines)}250 end\r\n`),
  },
);

/** A conversation that mostly succeeds, with some of its replies replaced by generated ones. */
const script: fc.Arbitrary<SmtpInput> = fc
  .record({
    recipients: fc.integer({ min: 1, max: 3 }),
    changes: fc.array(fc.tuple(fc.nat({ max: 9 }), reply), { maxLength: 3 }),
    cut: fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, fc.nat({ max: 9 })),
    piece: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 7 })),
    after: fc.oneof({ weight: 200, arbitrary: fc.constant('close' as const) }, fc.constant('silent' as const)),
    mode: fc.oneof({ weight: 9, arbitrary: fc.constant('pipelined' as const) }, fc.constant('interactive' as const)),
  })
  .map(({ recipients, changes, cut, piece, after, mode }) => {
    const replies = [
      '220 mx.example.com ESMTP\r\n',
      '250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n',
      '250 2.1.0 Ok\r\n',
      ...Array.from({ length: recipients }, () => '250 2.1.5 Ok\r\n'),
      '354 End data with <CR><LF>.<CR><LF>\r\n',
      '250 2.0.0 Ok: queued as 1234\r\n',
      '221 2.0.0 Bye\r\n',
    ];
    for (const [at, r] of changes) replies[at % replies.length] = r;
    return { replies: cut === undefined ? replies : replies.slice(0, cut), recipients, piece, after, mode };
  });

/** One loopback server per concurrent input: the server knows which script it plays without a handshake. */
interface Slot {
  readonly server: Server;
  port: number;
  input: SmtpInput | undefined;
  readonly sockets: Set<Socket>;
}

async function pipeline(sock: Socket, input: SmtpInput): Promise<void> {
  const all = input.replies.join('');
  const piece = input.piece === 0 ? all.length : input.piece * 64;
  for (let i = 0; i < all.length; i += piece) {
    sock.write(all.slice(i, i + piece), 'latin1');
    // Pieces land in separate reads of the client most of the time.
    if (i + piece < all.length) await new Promise((r) => setImmediate(r));
  }
  if (input.after === 'close') sock.end();
}

function play(sock: Socket, input: SmtpInput): void {
  let step = 0;
  let data = false;
  let buf = '';
  const send = (): void => {
    const r = input.replies[step++];
    if (r === undefined) {
      if (input.after === 'close') sock.end();
      return;
    }
    if (input.piece === 0 || r.length <= input.piece) {
      sock.write(r, 'latin1');
    } else {
      for (let i = 0; i < r.length; i += input.piece) sock.write(r.slice(i, i + input.piece), 'latin1');
    }
    if (r.startsWith('354')) data = true;
  };
  sock.setEncoding('latin1');
  sock.on('error', () => undefined);
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (data) {
        if (line === '.') {
          data = false;
          send();
        }
        continue;
      }
      send();
    }
  });
  send();
}

async function openSlot(): Promise<Slot> {
  const sockets = new Set<Socket>();
  const slot: Slot = { server: createServer(), port: 0, input: undefined, sockets };
  slot.server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    if (slot.input === undefined) sock.destroy();
    else if (slot.input.mode === 'interactive') play(sock, slot.input);
    else void pipeline(sock, slot.input);
  });
  await new Promise<void>((resolve, reject) => {
    slot.server.once('error', reject);
    slot.server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  slot.port = (slot.server.address() as AddressInfo).port;
  return slot;
}

export const smtpReplyTarget: AsyncTarget<SmtpInput> = {
  kind: 'async',
  name: 'smtp-reply',
  about: 'ReplyReader via sendMail (src/agents/smtp.ts) on loopback TCP: a result or VIGIL_ERR_SMTP, in time',
  concurrency: 32,
  // Ten steps at most, each bounded by the step timeout.
  deadlineMs: 12 * STEP_TIMEOUT_MS + 2000,
  arbitrary: () => script,
  show: (i) =>
    `{"mode":"${i.mode}","recipients":${i.recipients},"piece":${i.piece},"after":"${i.after}","replies":[${i.replies.map(showBytes).join(',')}]}`,
  open: () => {
    const free: Slot[] = [];
    const all: Slot[] = [];
    const stray: unknown[] = [];
    const onStray = (e: unknown): void => {
      stray.push(e);
    };
    // An error event nobody listens to, or a rejection nobody awaits, would kill the daemon that sends a notice.
    process.on('uncaughtException', onStray);
    process.on('unhandledRejection', onStray);
    const take = async (): Promise<Slot> => {
      const s = free.pop() ?? (await openSlot());
      if (!all.includes(s)) all.push(s);
      return s;
    };
    return Promise.resolve({
      run: async (input: SmtpInput) => {
        const slot = await take();
        slot.input = input;
        try {
          return await mail(slot, input, stray);
        } finally {
          for (const s of slot.sockets) s.destroy();
          slot.input = undefined;
          free.push(slot);
        }
      },
      close: async () => {
        process.off('uncaughtException', onStray);
        process.off('unhandledRejection', onStray);
        for (const s of all) {
          for (const c of s.sockets) c.destroy();
          await new Promise<void>((resolve) => {
            s.server.close(() => {
              resolve();
            });
          });
        }
      },
    });
  },
};

async function mail(slot: Slot, input: SmtpInput, stray: unknown[]): Promise<string> {
  const to = TO.slice(0, input.recipients);
  let outcome: string;
  try {
    const r = await sendMail(
      { host: '127.0.0.1', port: slot.port, heloName: 'node1.example.com', stepTimeoutMs: STEP_TIMEOUT_MS },
      { from: 'vigil@example.com', to },
      'Subject: fuzz\r\n\r\nbody\r\n.leading dot\r\n',
    );
    if (r.accepted.length === 0 || r.accepted.some((a) => !to.includes(a))) {
      throw new ContractViolation('sendMail resolved without an accepted recipient of the envelope', JSON.stringify(r));
    }
    if (r.accepted.length + r.rejected.length !== to.length) {
      throw new ContractViolation('sendMail lost a recipient', JSON.stringify(r));
    }
    outcome = `sent:${r.accepted.length}/${to.length}`;
  } catch (e) {
    if (e instanceof ContractViolation) throw e;
    if (!(e instanceof VigilError)) throw unexpectedThrow('sendMail', e);
    if (e.code !== 'VIGIL_ERR_SMTP') throw new ContractViolation('sendMail rejected with another code', e.code);
    outcome = `refused:${e.message.replace(/:.*$/s, '').replace(/\d+/g, 'N').slice(0, 40)}`;
  }
  const e = stray.shift();
  if (e !== undefined) throw unexpectedThrow('an escaped error event or rejection', e);
  return outcome;
}
