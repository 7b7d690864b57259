import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromFields, toFields, type EngineMessage } from '../../src/cluster/protocol.js';
import { VigilError } from '../../src/util/errors.js';

function decode(fields: Array<[string, string]>): EngineMessage | VigilError {
  const m = new Map(fields);
  return fromFields((n) => m.get(n));
}

test('status is encoded as Heartbeat sends it (dt in hex, protocol decimal)', () => {
  assert.deepEqual(toFields({ t: 'status', st: 'active', dt: 8000, protocol: 1 }), [
    ['t', 'status'],
    ['st', 'active'],
    ['dt', '1f40'],
    ['protocol', '1'],
  ]);
  assert.deepEqual(
    decode([
      ['t', 'status'],
      ['st', 'up'],
      ['dt', '2710'],
    ]),
    {
      t: 'status',
      st: 'up',
      dt: 10000,
      protocol: undefined,
    },
  );
});

test('field order matches the captured Heartbeat 3.0.6 packets (vectors/)', () => {
  // hb-udp694-resource: t, rsc_hold, rtype, isstable
  assert.deepEqual(
    toFields({ t: 'resource', rscHold: 'none', isstable: false, info: undefined, groups: undefined }).map((f) => f[0]),
    ['t', 'rsc_hold', 'rtype', 'isstable'],
  );
  // hb-udp694-ask_resources: t=ask_resources, rsc_hold=foreign, info=me
  assert.deepEqual(
    toFields({ t: 'ask_resources', rscHold: 'foreign', info: 'me', dest: undefined, groups: undefined }),
    [
      ['t', 'ask_resources'],
      ['rsc_hold', 'foreign'],
      ['info', 'me'],
    ],
  );
  // hb-udp694-ip-request-resp: t, dest, ipaddr, weown, ok
  assert.deepEqual(
    toFields({ t: 'ip-request-resp', dest: 'linux1', ipaddr: 'IPaddr::192.168.1.50/24/eth1', weown: true }),
    [
      ['t', 'ip-request-resp'],
      ['dest', 'linux1'],
      ['ipaddr', 'IPaddr::192.168.1.50/24/eth1'],
      ['weown', 'yes'],
      ['ok', 'OK'],
    ],
  );
  // hb-udp694-repnodes: dest first, then t, nodelist "linux1 linux2 ", delnodelist " "
  assert.deepEqual(toFields({ t: 'repnodes', dest: 'linux2', nodelist: ['linux1', 'linux2'], delnodelist: [] }), [
    ['dest', 'linux2'],
    ['t', 'repnodes'],
    ['nodelist', 'linux1 linux2 '],
    ['delnodelist', ' '],
  ]);
  assert.deepEqual(toFields({ t: 'shutdone' }), [
    ['t', 'shutdone'],
    ['st', 'dead'],
  ]);
  assert.deepEqual(toFields({ t: 'stonith', node: 'linux1', result: 'n_stnth' }), [
    ['t', 'stonith'],
    ['node', 'linux1'],
    ['result', 'n_stnth'],
  ]);
});

test('bad or foreign messages come back as errors with stable codes, never throw', () => {
  const noT = decode([['st', 'up']]);
  assert.ok(noT instanceof VigilError && noT.code === 'VIGIL_ERR_MSG_FIELD');
  const badHold = decode([
    ['t', 'resource'],
    ['rsc_hold', 'some'],
  ]);
  assert.ok(badHold instanceof VigilError && badHold.code === 'VIGIL_ERR_MSG_FIELD');
  const badDt = decode([
    ['t', 'status'],
    ['st', 'up'],
    ['dt', 'zz'],
  ]);
  assert.ok(badDt instanceof VigilError && badDt.code === 'VIGIL_ERR_MSG_FIELD');
  const ack = decode([
    ['t', 'NS_ackmsg'],
    ['dest', 'a'],
  ]);
  assert.ok(ack instanceof VigilError && ack.code === 'VIGIL_ERR_MSG_TYPE');
  const noWeown = decode([
    ['t', 'ip-request-resp'],
    ['dest', 'a'],
    ['ipaddr', 'x'],
  ]);
  assert.ok(noWeown instanceof VigilError);
});

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const key = fc.stringMatching(/^[A-Za-z0-9:./_-]{1,30}$/);
const hold = fc.constantFrom('none', 'local', 'foreign', 'all' as const);
const msgArb: fc.Arbitrary<EngineMessage> = fc.oneof(
  fc.record({
    t: fc.constant('status' as const),
    st: fc.constantFrom('init', 'up', 'active', 'dead', 'ping' as const),
    dt: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    protocol: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }),
  }),
  fc.constant({ t: 'starting' as const }),
  fc.record({
    t: fc.constant('resource' as const),
    rscHold: hold,
    isstable: fc.boolean(),
    info: fc.option(fc.constantFrom('standby', 'shutdown', 'mach_down', 'req_our_resources()'), { nil: undefined }),
    groups: fc.option(fc.array(key, { minLength: 1, maxLength: 4 }), { nil: undefined }),
  }),
  fc.record({
    t: fc.constant('ask_resources' as const),
    rscHold: hold,
    info: fc.constantFrom('me', 'other', 'done' as const),
    dest: fc.option(name, { nil: undefined }),
    groups: fc.option(fc.array(key, { minLength: 1, maxLength: 4 }), { nil: undefined }),
  }),
  fc.record({ t: fc.constant('ip-request' as const), ipaddr: key }),
  fc.record({ t: fc.constant('ip-request-resp' as const), dest: name, ipaddr: key, weown: fc.boolean() }),
  fc.record({ t: fc.constant('hb_takeover' as const), rscHold: hold }),
  fc.constant({ t: 'shutdone' as const }),
  fc.record({ t: fc.constant('reqnodes' as const), dest: name }),
  fc.record({
    t: fc.constant('repnodes' as const),
    dest: name,
    nodelist: fc.array(name, { minLength: 1, maxLength: 5 }),
    delnodelist: fc.array(name, { maxLength: 2 }),
  }),
  fc.record({
    t: fc.constant('stonith' as const),
    node: name,
    result: fc.constantFrom('OK', 'badhost', 'bad', 'n_stnth', 'unneeded' as const),
  }),
  fc.record({
    t: fc.constant('num_ping_nodes' as const),
    numPing: fc.integer({ min: 0, max: 100 }),
    dest: fc.option(name, { nil: undefined }),
  }),
);

test('fromFields(toFields(m)) gives m back, and no field value is empty', () => {
  fc.assert(
    fc.property(msgArb, (m) => {
      const f = toFields(m);
      for (const [, v] of f) assert.ok(v.length > 0, 'Heartbeat rejects empty values');
      assert.deepEqual(decode(f), { ...m });
    }),
    { numRuns: 2000 },
  );
});

test('an empty exact group list survives the wire: "none of them" is not "the whole class"', () => {
  const m = { t: 'ask_resources', rscHold: 'all', info: 'done', dest: 'node1', groups: [] } as const;
  const fields = new Map(toFields(m));
  assert.equal(fields.get('vigil_groups'), ' ');
  const back = fromFields((n) => fields.get(n));
  assert.deepEqual(back, { ...m, groups: [] });
});
