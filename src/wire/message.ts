/**
 * The message model shared by both wire formats: an ordered list of named, typed fields, exactly as
 * cluster-glue's `ha_msg` keeps them. Order matters: signatures cover the serialised order, and
 * re-encoding a received message must reproduce its bytes.
 *
 * Strings are byte strings: each UTF-16 code unit stands for one byte (latin1), so any packet
 * round-trips byte for byte. Heartbeat itself treats values as C strings; everything it sends is ASCII.
 */
import { VigilError } from '../util/errors.js';

export type FieldType = 'string' | 'binary' | 'struct' | 'list' | 'compress' | 'uncompress';

/** Numeric type tags on the wire: `(N)name=value`. */
export const FIELD_TYPE_CODES: Readonly<Record<FieldType, number>> = {
  string: 0,
  binary: 1,
  struct: 2,
  list: 3,
  compress: 4,
  uncompress: 5,
};

export const FIELD_TYPES_BY_CODE: readonly FieldType[] = [
  'string',
  'binary',
  'struct',
  'list',
  'compress',
  'uncompress',
];

export type Field =
  | { readonly name: string; readonly type: 'string'; readonly value: string }
  | { readonly name: string; readonly type: 'binary'; readonly value: Uint8Array }
  | { readonly name: string; readonly type: 'list'; readonly value: readonly string[] }
  /** `compress`/`uncompress` carry a nested message; on the wire `compress` is its zlib-deflated netstring form. */
  | { readonly name: string; readonly type: 'struct' | 'compress' | 'uncompress'; readonly value: WireMessage };

export interface WireMessage {
  readonly fields: readonly Field[];
}

/** Heartbeat's limit on a whole message (MAXMSG): 256 KiB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Nested structs deeper than this are refused (cluster-glue has 16 newline symbols, one per depth). */
export const MAX_DEPTH = 8;
/** A bound on field count so a 256 KiB packet of tiny fields cannot become a huge object graph. */
export const MAX_FIELDS = 4096;

export function str(name: string, value: string): Field {
  return { name, type: 'string', value };
}

export function bin(name: string, value: Uint8Array): Field {
  return { name, type: 'binary', value };
}

export function msg(...fields: Field[]): WireMessage {
  return { fields };
}

export function getField(m: WireMessage, name: string): Field | undefined {
  return m.fields.find((f) => f.name === name);
}

/** The value of a string field, or undefined if absent or not a string. */
export function getString(m: WireMessage, name: string): string | undefined {
  const f = getField(m, name);
  return f?.type === 'string' ? f.value : undefined;
}

export function getBinary(m: WireMessage, name: string): Uint8Array | undefined {
  const f = getField(m, name);
  return f?.type === 'binary' ? f.value : undefined;
}

/**
 * `ha_msg_mod` semantics: replace the first field of that name in place (keeping its position),
 * or append it. This is how Heartbeat adds control fields, so positions in the vectors follow from it.
 */
export function setField(m: WireMessage, field: Field): WireMessage {
  const i = m.fields.findIndex((f) => f.name === field.name);
  if (i < 0) return { fields: [...m.fields, field] };
  const fields = m.fields.slice();
  fields[i] = field;
  return { fields };
}

export function withoutField(m: WireMessage, name: string): WireMessage {
  return { fields: m.fields.filter((f) => f.name !== name) };
}

/** Byte-string helpers: one char per byte. */
export function bytesToStr(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Validates what both encoders require; throws VIGIL_ERR_MSG_FIELD. */
export function checkField(f: Field): void {
  if (f.name.length === 0) throw new VigilError('VIGIL_ERR_MSG_FIELD', 'empty field name');
  if (/[=\n\r\0]/.test(f.name) || f.name.startsWith('(')) {
    throw new VigilError('VIGIL_ERR_MSG_FIELD', `illegal field name ${JSON.stringify(f.name)}`);
  }
  switch (f.type) {
    case 'string':
      if (f.value.length === 0) throw new VigilError('VIGIL_ERR_MSG_FIELD', `empty value for field ${f.name}`);
      break;
    case 'binary':
      if (f.value.length === 0) throw new VigilError('VIGIL_ERR_MSG_FIELD', `empty value for field ${f.name}`);
      break;
    case 'list':
      if (f.value.length === 0) throw new VigilError('VIGIL_ERR_MSG_FIELD', `empty list for field ${f.name}`);
      break;
    case 'struct':
    case 'compress':
    case 'uncompress':
      break;
  }
}
