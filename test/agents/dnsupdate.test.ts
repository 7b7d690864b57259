import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeMessage, emptyRecord, encodeMessage, encodeName, recordOffsets } from '../../src/agents/dns-wire.js';
import { parseTsigKeyFile, signMessage, verifyResponse, type TsigKey } from '../../src/agents/tsig.js';
import { parseBgp, parseDnsUpdate, type DnsUpdateSpec } from '../../src/config/geo-resources.js';
import { parseResource } from '../../src/config/haresources.js';
import {
  TSIG_KEY_NAME,
  TSIG_SECRET,
  bindKeyText,
  digShort,
  startServer,
  stopServer,
  waitDns,
  writeBind,
  writeKnot,
} from '../../lab/dns-servers.js';
import { createNetns, netnsUnavailable } from '../helpers/netns.js';

const run = promisify(execFile);

function dns(args: string): DnsUpdateSpec {
  const r = parseDnsUpdate(args.split('::'));
  if (typeof r === 'string') assert.fail(r);
  return r;
}

test('dnsupdate arguments: per-node addresses, TTL, primaries, options', () => {
  const s = dns(
    'geo.test::www::linux1=192.0.2.10,linux2=198.51.100.10::20::server=10.0.0.53,10.1.0.53@5353::stop=delete',
  );
  assert.equal(s.zone, 'geo.test');
  assert.equal(s.name, 'www.geo.test');
  assert.deepEqual(s.addresses, { linux1: ['192.0.2.10'], linux2: ['198.51.100.10'] });
  assert.deepEqual(s.types, ['A']);
  assert.equal(s.ttl, 20);
  assert.deepEqual(s.servers, [
    { address: '10.0.0.53', port: 53 },
    { address: '10.1.0.53', port: 5353 },
  ]);
  assert.equal(s.stop, 'delete');
  assert.equal(s.keyFile, undefined);
  assert.equal(s.timeoutMs, 5000);
  // Apex, absolute names, an AAAA per node, defaults.
  const a = dns('Geo.Test.::@::linux1=2001:db8:0:0:0:0:0:10,linux1=192.0.2.1::server=10.0.0.53::key=/etc/ha.d/k');
  assert.equal(a.name, 'geo.test');
  assert.deepEqual(a.types, ['A', 'AAAA']);
  assert.equal(a.ttl, 30);
  assert.equal(a.keyFile, '/etc/ha.d/k');
  assert.equal(dns('geo.test::www.geo.test.::192.0.2.1::server=10.0.0.53').name, 'www.geo.test');
  assert.deepEqual(dns('geo.test::www::192.0.2.1::server=10.0.0.53::ttl=5').ttl, 5);
});

test('dnsupdate arguments: each mistake is named', () => {
  const bad: [string, RegExp][] = [
    ['geo.test::www', /usage: dnsupdate::<zone>/],
    ['geo.test::www::linux1=192.0.2.1', /no primary given: add ::server=/],
    ['geo.test::www::linux1=2001:db8::10::server=10.0.0.53', /without '::'/],
    ['geo.test::www::linux1=300.1.1.1::server=10.0.0.53', /invalid address \[300.1.1.1\]/],
    ['geo.test::www::linux1=192.0.2.1,linux1=192.0.2.2::server=10.0.0.53', /two A addresses/],
    ['geo.test::www::192.0.2.1,linux1=192.0.2.2::server=10.0.0.53', /not both/],
    ['geo.test::www::192.0.2.1::99999::server=10.0.0.53', /invalid TTL/],
    ['geo.test::www::192.0.2.1::server=ns1.example', /must be an IP address/],
    ['geo.test::www::192.0.2.1::server=10.0.0.53@0', /invalid port/],
    ['geo.test::www::192.0.2.1::server=10.0.0.53::stop=maybe', /stop= is keep or delete/],
    ['geo.test::www::192.0.2.1::server=10.0.0.53::key=relative', /absolute path/],
    ['geo.test::www::192.0.2.1::server=10.0.0.53::med=linux1:1', /med= does not apply/],
    ['geo.test::www::192.0.2.1::server=10.0.0.53::server=10.0.0.54', /given twice/],
    ['geo.test::other.example.::192.0.2.1::server=10.0.0.53', /not in zone geo.test/],
    ['geo.test::bad..name::192.0.2.1::server=10.0.0.53', /each label/],
    ['geo.test::www::192.0.2.1::server=10.0.0.53::timeout=0', /invalid timeout/],
  ];
  for (const [args, re] of bad) {
    const r = parseDnsUpdate(args.split('::'));
    assert.equal(typeof r, 'string', args);
    assert.match(r as string, re, args);
  }
  // Through haresources' own parser, with the resource as written.
  const r = parseResource('dnsupdate::geo.test::www::192.0.2.1');
  assert.equal(typeof r, 'string');
  const ok = parseResource('dnsupdate::geo.test::www::192.0.2.1::server=10.0.0.53');
  assert.ok(typeof ok !== 'string' && ok.dns !== undefined && ok.bgp === undefined);
});

test('bgp arguments: VIP, MED per node, communities, BIRD paths', () => {
  const b = parseBgp('10.99.0.1::med=linux1:10,linux2:50::community=65000:1,65000:2::socket=/run/b.ctl'.split('::'));
  assert.ok(typeof b !== 'string', typeof b === 'string' ? b : '');
  assert.equal(b.vip, '10.99.0.1');
  assert.deepEqual(b.med, { linux1: 10, linux2: 50 });
  assert.deepEqual(b.communities, [
    [65000, 1],
    [65000, 2],
  ]);
  assert.equal(b.dev, 'lo');
  assert.equal(b.socket, '/run/b.ctl');
  assert.equal(b.include, '/etc/bird/vigil.conf');
  // IPv6: announced as a /128; written without '::', which haresources splits on.
  const v6 = parseBgp('fd99:0:0:0:0:0:0:1/128::med=linux1:10'.split('::'));
  assert.ok(typeof v6 !== 'string', typeof v6 === 'string' ? v6 : '');
  assert.equal(v6.vip, 'fd99:0:0:0:0:0:0:1');
  for (const [args, re] of [
    ['10.99.0', /not an IPv4 address/],
    ['fd99::1', /without '::'/],
    ['fd99:0:0:0:0:0:0:1/64', /not an IPv6 address .* \/128/],
    ['fd99:0:0:0:0:0:0:1:2', /not an IPv6 address/],
    ['10.99.0.1::med=linux1', /node:value/],
    ['10.99.0.1::community=70000:1', /asn:value/],
    ['10.99.0.1::include=bird.conf', /absolute path/],
    ['10.99.0.1::server=1.2.3.4', /server= does not apply/],
  ] as const) {
    const r = parseBgp(args.split('::'));
    assert.ok(typeof r === 'string', args);
    assert.match(r, re, args);
  }
});

const KEY_B64 = TSIG_SECRET;

test('TSIG key files: BIND, Knot and one-line forms; mistakes named without the secret', () => {
  const bind = parseTsigKeyFile(`# made by tsig-keygen\n${bindKeyText('Vigil-Update.')}`, '/k');
  assert.equal(bind.name, 'vigil-update');
  assert.equal(bind.algorithm, 'hmac-sha256');
  assert.deepEqual(bind.secret, Buffer.from(KEY_B64, 'base64'));
  const knot = parseTsigKeyFile(
    `# hmac-sha256:vigil-update:...\nkey:\n  - id: vigil-update\n    algorithm: hmac-sha256\n    secret: ${KEY_B64}\n`,
    '/k',
  );
  assert.deepEqual(knot, bind);
  assert.deepEqual(parseTsigKeyFile(`hmac-sha256:vigil-update:${KEY_B64}\n`, '/k'), bind);
  const bad: [string, RegExp][] = [
    ['', /no key found/],
    [`${bindKeyText('a')}${bindKeyText('b')}`, /2 keys: one key per file/],
    [`hmac-md5:k:${KEY_B64}`, /algorithm hmac-md5 is not one of/],
    ['hmac-sha256:k:c2hvcnQ=', /at least 16/],
    ['key "k" { algorithm hmac-sha256; };', /needs algorithm and secret/],
  ];
  for (const [text, re] of bad) {
    assert.throws(
      () => parseTsigKeyFile(text, '/etc/ha.d/dnsupdate.key'),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'VIGIL_ERR_DNS_KEY');
        assert.match(e.message, re);
        assert.ok(!e.message.includes(KEY_B64));
        return true;
      },
    );
  }
});

const KEY: TsigKey = { name: 'vigil-update', algorithm: 'hmac-sha256', secret: Buffer.from(KEY_B64, 'base64') };

/** The server's side of RFC 8945 (written independently of src/agents/tsig.ts): a signed answer to `request`. */
function signAnswer(
  request: Buffer,
  requestMac: Buffer,
  key: TsigKey,
  time: number,
  opts: { error?: number; tamper?: boolean } = {},
): Buffer {
  const reply = Buffer.from(request.subarray(0, 12));
  reply.writeUInt16BE(0x8000 | (5 << 11), 2); // QR, UPDATE, NOERROR
  reply.writeUInt16BE(0, 6);
  reply.writeUInt16BE(0, 8);
  reply.writeUInt16BE(0, 10);
  // The zone section only (an UPDATE answer need not echo the rest).
  const qd = request.subarray(12, 12 + encodeName('geo.test').length + 4);
  reply.writeUInt16BE(1, 4);
  const unsigned = Buffer.concat([reply, qd]);
  const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
  const t48 = Buffer.alloc(6);
  t48.writeUIntBE(time, 0, 6);
  const vars = Buffer.concat([
    encodeName(key.name),
    u16(255),
    Buffer.alloc(4),
    encodeName(key.algorithm),
    t48,
    u16(300),
    u16(opts.error ?? 0),
    u16(0),
  ]);
  const mac = createHmac('sha256', key.secret)
    .update(u16(requestMac.length))
    .update(requestMac)
    .update(unsigned)
    .update(vars)
    .digest();
  if (opts.tamper === true) mac[0] = mac[0]! ^ 1;
  const rdata = Buffer.concat([
    encodeName(key.algorithm),
    t48,
    u16(300),
    u16(mac.length),
    mac,
    request.subarray(0, 2),
    u16(opts.error ?? 0),
    u16(0),
  ]);
  const rr = Buffer.concat([encodeName(key.name), u16(250), u16(255), Buffer.alloc(4), u16(rdata.length), rdata]);
  const out = Buffer.concat([unsigned, rr]);
  out.writeUInt16BE(1, 10);
  return out;
}

test('TSIG: a request carries a MAC over message and variables; answers are checked against it', () => {
  const now = 1_800_000_000;
  const msg = encodeMessage({
    type: 'query',
    id: 4242,
    flags: 5 << 11,
    questions: [{ name: 'geo.test', type: 'SOA', class: 'IN' }],
  });
  const signed = signMessage(msg, KEY, now);
  // The MAC, recomputed by hand from RFC 8945 §4.3.3.
  const t48 = Buffer.alloc(6);
  t48.writeUIntBE(now, 0, 6);
  const vars = Buffer.concat([
    encodeName('vigil-update'),
    Buffer.from([0, 255, 0, 0, 0, 0]),
    encodeName('hmac-sha256'),
    t48,
    Buffer.from([1, 44, 0, 0, 0, 0]),
  ]);
  assert.deepEqual(signed.mac, createHmac('sha256', KEY.secret).update(msg).update(vars).digest());
  const decoded = decodeMessage(signed.message);
  assert.equal(decoded.additionals?.length, 1);
  assert.equal(decoded.additionals[0]?.type, 'TSIG');
  assert.equal(decoded.id, 4242);

  assert.deepEqual(verifyResponse(signAnswer(signed.message, signed.mac, KEY, now), KEY, signed.mac, now + 2), {
    ok: true,
  });
  const tampered = verifyResponse(
    signAnswer(signed.message, signed.mac, KEY, now, { tamper: true }),
    KEY,
    signed.mac,
    now,
  );
  assert.equal(tampered.ok, false);
  const late = verifyResponse(signAnswer(signed.message, signed.mac, KEY, now), KEY, signed.mac, now + 301);
  assert.ok(!late.ok && /fudge 300/.test(late.why));
  const badsig = verifyResponse(signAnswer(signed.message, signed.mac, KEY, now, { error: 16 }), KEY, signed.mac, now);
  assert.ok(!badsig.ok && badsig.tsigError === 16 && /BADSIG/.test(badsig.why));
  const other: TsigKey = { ...KEY, secret: Buffer.alloc(32, 7) };
  assert.equal(verifyResponse(signAnswer(signed.message, signed.mac, other, now), KEY, signed.mac, now).ok, false);
  const unsigned = Buffer.from(signed.message.subarray(0, recordOffsets(signed.message).additionals[0]));
  unsigned.writeUInt16BE(0, 10);
  unsigned[2] = unsigned[2]! | 0x80;
  assert.match((verifyResponse(unsigned, KEY, signed.mac, now) as { why: string }).why, /not signed/);
});

test('RFC 2136 records dns-packet cannot name: class NONE and empty RDATA, at the right offsets', () => {
  const buf = encodeMessage(
    {
      type: 'query',
      id: 1,
      flags: 5 << 11,
      questions: [{ name: 'geo.test', type: 'SOA', class: 'IN' }],
      answers: [
        emptyRecord('www.geo.test', 'A'),
        { name: 'www.geo.test', type: 'AAAA', class: 'IN', ttl: 0, data: '2001:db8::1' },
      ],
      authorities: [
        emptyRecord('www.geo.test', 'A'),
        { name: 'www.geo.test', type: 'A', class: 'IN', ttl: 30, data: '192.0.2.1' },
      ],
    },
    { noneClassAnswers: [0] },
  );
  const offs = recordOffsets(buf);
  assert.equal(offs.end, buf.length);
  const classAt = (o: number): number => buf.readUInt16BE(o + encodeName('www.geo.test').length + 2);
  const typeAt = (o: number): number => buf.readUInt16BE(o + encodeName('www.geo.test').length);
  assert.equal(classAt(offs.answers[0]!), 254);
  assert.equal(typeAt(offs.answers[0]!), 1);
  assert.equal(buf.readUInt16BE(offs.answers[0]! + encodeName('www.geo.test').length + 8), 0, 'RDLENGTH 0');
  assert.equal(classAt(offs.answers[1]!), 1);
  assert.equal(classAt(offs.authorities[0]!), 255);
  assert.equal(typeAt(offs.authorities[1]!), 1);
});

// ---- against real servers in a network namespace ----

const DRIVER = fileURLToPath(new URL('./dnsupdate-driver.js', import.meta.url));

interface DriverOut {
  result: {
    ok?: boolean;
    running?: boolean;
    detail?: string;
    text?: string;
    rcode?: number;
    after?: { A?: { values: string[] } };
  };
  logs: { level: string; text: string }[];
  ms: number;
  outcomes: { kind: string; ackMs?: number }[];
}

async function drive(ns: string, req: Record<string, unknown>): Promise<DriverOut> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, DRIVER, JSON.stringify(req)], {
    timeout: 60_000,
  });
  return JSON.parse(stdout) as DriverOut;
}

async function withServer(
  t: { skip: (m: string) => void },
  kind: 'bind' | 'knot',
  body: (ns: string, cfg: string, port: number) => Promise<void>,
): Promise<void> {
  const why = await netnsUnavailable();
  if (why !== undefined) {
    t.skip(why);
    return;
  }
  const bin = kind === 'bind' ? 'named' : 'knotd';
  if (
    await run('sh', ['-c', `command -v ${bin} && command -v dig`]).then(
      () => false,
      () => true,
    )
  ) {
    t.skip(
      `needs ${bin} and dig (apt-get install ${kind === 'bind' ? 'bind9' : 'knot'} bind9-dnsutils; scripts/ensure-deps.sh)`,
    );
    return;
  }
  const fx = await createNetns('geo2', ['dns'], []);
  const dir = await mkdtemp(join(tmpdir(), `geo2-${kind}-`));
  let child: ChildProcess | undefined;
  try {
    const port = kind === 'bind' ? 53 : 5300;
    const z = { zone: 'geo.test', updatable: ['www', 'api'], nsAddress: '127.0.0.1' };
    const files =
      kind === 'bind'
        ? await writeBind(join(dir, 'srv'), z, ['127.0.0.1'], port)
        : await writeKnot(join(dir, 'srv'), z, ['127.0.0.1'], port);
    child = startServer(fx.ns('dns'), files);
    await waitDns(fx.ns('dns'), '127.0.0.1', 'geo.test', port);
    const cfg = join(dir, 'ha.d');
    await run('mkdir', ['-p', cfg]);
    await writeFile(join(cfg, 'dnsupdate.key'), bindKeyText(), { mode: 0o600 });
    await body(fx.ns('dns'), cfg, port);
  } finally {
    if (child !== undefined) await stopServer(child);
    await fx.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

const SPEC = (port: number, extra = ''): string =>
  `dnsupdate::geo.test::www::linux1=10.20.1.10,linux2=10.20.2.10::5::server=127.0.0.1@${port}${extra}`;

for (const kind of ['bind', 'knot'] as const) {
  test(`dnsupdate against ${kind === 'bind' ? 'BIND 9' : 'Knot DNS'}: publish, compare-and-swap to the peer, status, stop`, async (t) => {
    await withServer(t, kind, async (ns, configDir, port) => {
      const spec = SPEC(port, '::stop=delete');
      const a = await drive(ns, { spec, node: 'linux1', configDir, op: 'start' });
      assert.equal(a.result.ok, true, JSON.stringify(a));
      assert.match(a.logs[0]?.text ?? '', /updated \(was nothing\), acknowledged in [\d.]+ ms, verified/);
      assert.deepEqual(await digShort(ns, '127.0.0.1', 'www.geo.test', 'A', port), ['10.20.1.10']);
      // The TTL asked for is the TTL served.
      const { stdout } = await run('ip', [
        'netns',
        'exec',
        ns,
        'dig',
        '@127.0.0.1',
        '-p',
        String(port),
        '+norec',
        '+noall',
        '+answer',
        'www.geo.test',
        'A',
      ]);
      assert.match(stdout, /www\.geo\.test\.\s+5\s+IN\s+A\s+10\.20\.1\.10/);

      const again = await drive(ns, { spec, node: 'linux1', configDir, op: 'start' });
      assert.equal(again.outcomes[0]?.kind, 'already', 'a second start changes nothing');

      const b = await drive(ns, { spec, node: 'linux2', configDir, op: 'start' });
      assert.equal(b.result.ok, true, JSON.stringify(b));
      assert.match(b.logs[0]?.text ?? '', /updated \(was A 10\.20\.1\.10\)/);
      assert.deepEqual(await digShort(ns, '127.0.0.1', 'www.geo.test', 'A', port), ['10.20.2.10']);

      assert.equal((await drive(ns, { spec, node: 'linux1', configDir, op: 'status' })).result.running, false);
      const st = await drive(ns, { spec, node: 'linux2', configDir, op: 'status' });
      assert.equal(st.result.running, true, JSON.stringify(st));

      // stop=delete removes the record only where it still points here.
      const s1 = await drive(ns, { spec, node: 'linux1', configDir, op: 'stop' });
      assert.equal(s1.result.ok, true);
      assert.match(s1.logs[0]?.text ?? '', /not this node's: left as is/);
      assert.deepEqual(await digShort(ns, '127.0.0.1', 'www.geo.test', 'A', port), ['10.20.2.10']);
      const s2 = await drive(ns, { spec, node: 'linux2', configDir, op: 'stop' });
      assert.match(s2.logs[0]?.text ?? '', /removed on/);
      assert.deepEqual(await digShort(ns, '127.0.0.1', 'www.geo.test', 'A', port), []);
      // stop=keep (the default) leaves it for the next holder.
      await drive(ns, { spec: SPEC(port), node: 'linux1', configDir, op: 'start' });
      const keep = await drive(ns, { spec: SPEC(port), node: 'linux1', configDir, op: 'stop' });
      assert.deepEqual(keep.logs, []);
      assert.deepEqual(await digShort(ns, '127.0.0.1', 'www.geo.test', 'A', port), ['10.20.1.10']);

      // The race the prerequisite is for: someone else moves the name between our read and our update.
      const nsupdate = `printf 'server 127.0.0.1 ${port}\\nupdate delete www.geo.test A\\nupdate add www.geo.test 5 A 10.20.9.9\\nsend\\n' | nsupdate -y hmac-sha256:${TSIG_KEY_NAME}:${TSIG_SECRET}`;
      const race = await drive(ns, { spec: SPEC(port), node: 'linux2', configDir, op: 'race', between: nsupdate });
      assert.equal(race.result.rcode, 8, `NXRRSET expected: ${JSON.stringify(race)}`);
      assert.deepEqual(race.result.after?.A?.values, ['10.20.9.9'], 'the other writer’s address stays');
    });
  });
}

test('dnsupdate against BIND 9: a wrong secret, a skewed clock and a dead second primary are reported, bounded', async (t) => {
  await withServer(t, 'bind', async (ns, configDir) => {
    const wrong = join(configDir, 'wrong.key');
    await writeFile(wrong, bindKeyText(TSIG_KEY_NAME, Buffer.alloc(32, 1).toString('base64')), { mode: 0o600 });
    const w = await drive(ns, { spec: `${SPEC(53)}::key=${wrong}`, node: 'linux1', configDir, op: 'start' });
    assert.equal(w.result.ok, false);
    assert.match(w.result.detail ?? '', /BADSIG/);
    const skew = await drive(ns, { spec: SPEC(53), node: 'linux1', configDir, op: 'start', skewSec: 3600 });
    assert.equal(skew.result.ok, false);
    assert.match(skew.result.detail ?? '', /BADTIME/);
    // One of two primaries answers: the start succeeds, the other's failure is logged; the timeout bounds it.
    const two = await drive(ns, {
      spec: `${SPEC(53)},127.0.0.1@5399::timeout=1`,
      node: 'linux1',
      configDir,
      op: 'start',
    });
    assert.equal(two.result.ok, true, JSON.stringify(two));
    assert.ok(
      two.logs.some((l) => l.level === 'ERROR' && /127\.0\.0\.1@5399/.test(l.text)),
      JSON.stringify(two.logs),
    );
    assert.ok(two.ms < 3000, `bounded by timeout=1: ${two.ms} ms`);
    assert.deepEqual(await digShort(ns, '127.0.0.1', 'www.geo.test', 'A'), ['10.20.1.10']);
    // A name the key may not touch.
    const denied = await drive(ns, {
      spec: SPEC(53).replace('::www::', '::other::'),
      node: 'linux1',
      configDir,
      op: 'start',
    });
    assert.match(denied.result.detail ?? '', /REFUSED .*update-policy/);
  });
});
