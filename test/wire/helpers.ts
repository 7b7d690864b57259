import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { AuthKeys, AuthMethod } from '../../src/config/types.js';
import { WireProtocol, type WireProtocolOptions } from '../../src/wire/protocol.js';

/** test/fixtures/vectors, resolved from dist/test/wire at run time. */
export const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/vectors');

export function keys(list: [number, AuthMethod, string][], active?: number): AuthKeys {
  const map = new Map(
    list.map(([index, method, key]) => [index, { index, method, key, origin: { file: 'authkeys', line: index + 1 } }]),
  );
  return { active: active ?? list[0]![0], keys: map };
}

export const LAB_KEYS = keys([[1, 'sha1', 'MaClefSecrete']]);

/**
 * A WireProtocol for a test, with what most tests take for granted: a uuid of the name's first letter, classic
 * format, ttl 4, Heartbeat's rexmit delay, a fixed random and loadavg, nothing sent. `o` says what differs.
 */
export function testWire(
  o: Pick<WireProtocolOptions, 'localNode' | 'scheduler' | 'keys'> & Partial<WireProtocolOptions>,
): WireProtocol {
  return new WireProtocol({
    localUuid: new Uint8Array(16).fill(o.localNode.charCodeAt(0)),
    generation: 1,
    nodes: ['a', 'b'],
    msgfmt: 'classic',
    ttl: 4,
    maxRexmitDelayMs: 250,
    random: () => 0.5,
    loadavg: () => 'l',
    transmit: () => undefined,
    ...o,
  });
}
