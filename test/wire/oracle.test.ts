/**
 * cluster-glue's own codec (libplumb, installed with heartbeat) as the oracle: the same message built
 * through its C API must serialise to the same bytes as ours, in both formats, and its output must
 * decode to the same message with our decoder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import fc from 'fast-check';
import koffi from 'koffi';
import { decodePacket, encodeClassic, encodeNetstringBody, encodeTrailer } from '../../src/wire/codec.js';
import type { Field, WireMessage } from '../../src/wire/message.js';

const LIB = '/usr/lib/libplumb.so.2';
const present = await access(LIB).then(
  () => true,
  () => false,
);

interface Plumb {
  build(m: WireMessage): unknown;
  netstring(p: unknown): Buffer;
  classic(p: unknown): Buffer | undefined;
  del(p: unknown): void;
}

function loadPlumb(): Plumb {
  const lib = koffi.load(LIB);
  const msgNew = lib.func('void *ha_msg_new(int)');
  const msgDel = lib.func('void ha_msg_del(void *)');
  const add = lib.func('int ha_msg_add(void *, const char *, const char *)');
  const addBin = lib.func('int ha_msg_addbin(void *, const char *, const uint8_t *, size_t)');
  const addStruct = lib.func('int ha_msg_addstruct(void *, const char *, void *)');
  const listAdd = lib.func('int cl_msg_list_add_string(void *, const char *, const char *)');
  const toNetstring = lib.func('void *msg2netstring_noauth(void *, _Out_ size_t *)');
  const toString = lib.func('void *msg2string(void *)');
  const free = koffi.load('libc.so.6').func('void free(void *)');
  // Strings cross as latin1 bytes, like ours.
  const cstr = (s: string) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.of(0)]);
  const build = (m: WireMessage): unknown => {
    const p: unknown = msgNew(0);
    for (const f of m.fields) {
      let rc: number;
      switch (f.type) {
        case 'string':
          rc = add(p, cstr(f.name), cstr(f.value)) as number;
          break;
        case 'binary':
          rc = addBin(p, cstr(f.name), Buffer.from(f.value), f.value.length) as number;
          break;
        case 'struct': {
          const child = build(f.value);
          rc = addStruct(p, cstr(f.name), child) as number;
          msgDel(child);
          break;
        }
        case 'list':
          rc = 1;
          for (const item of f.value) rc = Math.min(rc, listAdd(p, cstr(f.name), cstr(item)) as number);
          break;
        case 'compress':
        case 'uncompress':
          throw new Error('not built through the C API here');
      }
      assert.equal(rc, 1, `libplumb refused field ${f.name}`);
    }
    return p;
  };
  return {
    build,
    netstring(p) {
      const len = [0];
      const out: unknown = toNetstring(p, len);
      const bytes = Buffer.from(koffi.decode(out, koffi.array('uint8_t', len[0]!)) as number[]);
      free(out);
      return bytes;
    },
    classic(p) {
      const out: unknown = toString(p);
      if (out === null) return undefined;
      const s = koffi.decode(out, 'char', -1) as string;
      free(out);
      return Buffer.from(s, 'latin1');
    },
    del: (p) => {
      msgDel(p);
    },
  };
}

// Printable values keep koffi's char* decoding (UTF-8) and latin1 equal.
const text = (min: number) => fc.stringMatching(new RegExp(`^[ -~]{${min},30}$`));
const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/).filter((n) => n !== 'auth');
const flat: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ name, type: fc.constant('string' as const), value: text(1) }).map((f) => ({ ...f })),
  fc
    .record({ name, type: fc.constant('binary' as const), value: fc.uint8Array({ minLength: 1, maxLength: 30 }) })
    .map((f) => ({ ...f })),
);
const field: fc.Arbitrary<Field> = fc.oneof(
  flat,
  fc
    .record({ name, type: fc.constant('list' as const), value: fc.array(text(1), { minLength: 1, maxLength: 3 }) })
    .map((f) => ({ ...f })),
  fc
    .record({
      name,
      type: fc.constant('struct' as const),
      value: fc.array(flat, { minLength: 1, maxLength: 3 }).map((fields) => ({ fields })),
    })
    .map((f) => ({ ...f })),
);
// libplumb keeps the first of two same-named fields only for some types; distinct names keep the comparison exact.
const message = fc
  .uniqueArray(field, { minLength: 1, maxLength: 8, selector: (f) => f.name })
  .map((fields): WireMessage => ({ fields }));

test('our netstring and classic bytes equal libplumb (cluster-glue) for the same message', (t) => {
  if (!present) {
    t.skip(`needs ${LIB} (apt-get install heartbeat)`);
    return;
  }
  const plumb = loadPlumb();
  fc.assert(
    fc.property(message, (m) => {
      const p = plumb.build(m);
      try {
        const ns = plumb.netstring(p);
        assert.deepEqual(encodeNetstringBody(m), ns);
        const classic = plumb.classic(p);
        assert.ok(classic !== undefined);
        assert.equal(encodeClassic(m, { head: true }), classic.toString('latin1'));
        // And libplumb's bytes decode to the same message with our decoder.
        const d = decodePacket(Buffer.concat([ns, encodeTrailer({ index: 1, digest: '0' })]));
        assert.ok(d.ok, d.ok ? '' : d.detail);
        assert.deepEqual(d.packet.message, m);
      } finally {
        plumb.del(p);
      }
    }),
    { numRuns: 300 },
  );
});
