/**
 * Mutation of valid seeds, as arbitraries: a list of edits drawn by fast-check and applied to a generated
 * structurally valid input. Positions are naturals taken modulo the length, so fast-check shrinks them towards the
 * start and towards fewer edits. Bytes for the wire, UTF-16 text for the configuration files and JSON.
 */
import fc from 'fast-check';

export type Edit =
  | { readonly k: 'flip'; readonly at: number; readonly bit: number }
  | { readonly k: 'set'; readonly at: number; readonly value: number }
  | { readonly k: 'delete'; readonly at: number; readonly len: number }
  | { readonly k: 'insert'; readonly at: number; readonly text: string }
  | { readonly k: 'dup'; readonly at: number; readonly len: number; readonly to: number }
  | { readonly k: 'truncate'; readonly at: number }
  | { readonly k: 'splice'; readonly at: number; readonly from: number; readonly len: number }
  /** Netstring length corruption: the nth `<digits>:` gets another value. */
  | { readonly k: 'length'; readonly nth: number; readonly how: 'inc' | 'dec' | 'zero-pad' | 'huge' | 'empty' | 'big' };

/** The edits of one input, and a second document to splice from. */
export interface Mutation {
  readonly edits: readonly Edit[];
  readonly donor: string;
}

/**
 * Edits over a "string of units": for bytes each char is one byte (latin1), for text it is a UTF-16 unit.
 * `tokens` are the parser's own delimiters and keywords: inserting them reaches further than random units.
 */
export function editArb(tokens: readonly string[], maxUnit: number): fc.Arbitrary<Edit> {
  const unit = fc.integer({ min: 0, max: maxUnit });
  return fc.oneof(
    fc.record({
      k: fc.constant('flip' as const),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: maxUnit > 255 ? 15 : 7 }),
    }),
    fc.record({ k: fc.constant('set' as const), at: fc.nat(), value: unit }),
    fc.record({ k: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 32 }) }),
    fc.record({
      k: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...tokens) },
        fc.array(unit, { minLength: 1, maxLength: 8 }).map((u) => String.fromCharCode(...u)),
      ),
    }),
    fc.record({
      k: fc.constant('dup' as const),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 64 }),
      to: fc.nat(),
    }),
    fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({
      k: fc.constant('splice' as const),
      at: fc.nat(),
      from: fc.nat(),
      len: fc.integer({ min: 1, max: 200 }),
    }),
    fc.record({
      k: fc.constant('length' as const),
      nth: fc.nat({ max: 63 }),
      how: fc.constantFrom(
        'inc' as const,
        'dec' as const,
        'zero-pad' as const,
        'huge' as const,
        'empty' as const,
        'big' as const,
      ),
    }),
  );
}

export function mutationArb(
  tokens: readonly string[],
  maxUnit: number,
  donor: fc.Arbitrary<string>,
  maxEdits = 4,
): fc.Arbitrary<Mutation> {
  return fc.record({
    edits: fc.array(editArb(tokens, maxUnit), { minLength: 1, maxLength: maxEdits }),
    donor,
  });
}

const LENGTH_RE = /\d+:/g;

function corruptLength(s: string, nth: number, how: Extract<Edit, { k: 'length' }>['how']): string {
  const found = [...s.matchAll(LENGTH_RE)];
  if (found.length === 0) return s;
  const m = found[nth % found.length];
  if (m === undefined) return s;
  const digits = m[0].slice(0, -1);
  const n = Number(digits);
  let repl: string;
  switch (how) {
    case 'inc':
      repl = String(n + 1);
      break;
    case 'dec':
      repl = String(Math.max(0, n - 1));
      break;
    case 'zero-pad':
      repl = `0${digits}`;
      break;
    case 'huge':
      repl = '99999999';
      break;
    case 'empty':
      repl = '';
      break;
    case 'big':
      repl = '123456789012';
      break;
  }
  return s.slice(0, m.index) + repl + s.slice(m.index + digits.length);
}

/** Applies the edits in order; `maxUnit` bounds `set`/`flip` results (255 for bytes). */
export function applyMutation(s: string, m: Mutation, maxUnit: number): string {
  let t = s;
  for (const e of m.edits) {
    const pos = (at: number): number => (t.length === 0 ? 0 : at % (t.length + 1));
    switch (e.k) {
      case 'flip': {
        if (t.length === 0) break;
        const i = e.at % t.length;
        const c = (t.charCodeAt(i) ^ (1 << e.bit)) & maxUnit;
        t = t.slice(0, i) + String.fromCharCode(c) + t.slice(i + 1);
        break;
      }
      case 'set': {
        if (t.length === 0) break;
        const i = e.at % t.length;
        t = t.slice(0, i) + String.fromCharCode(e.value & maxUnit) + t.slice(i + 1);
        break;
      }
      case 'delete': {
        const i = pos(e.at);
        t = t.slice(0, i) + t.slice(i + e.len);
        break;
      }
      case 'insert': {
        const i = pos(e.at);
        t = t.slice(0, i) + e.text + t.slice(i);
        break;
      }
      case 'dup': {
        const i = pos(e.at);
        const piece = t.slice(i, i + e.len);
        const j = pos(e.to);
        t = t.slice(0, j) + piece + t.slice(j);
        break;
      }
      case 'truncate':
        t = t.slice(0, pos(e.at));
        break;
      case 'splice': {
        const i = pos(e.at);
        const d = m.donor;
        const from = d.length === 0 ? 0 : e.from % d.length;
        t = t.slice(0, i) + d.slice(from, from + e.len) + t.slice(i);
        break;
      }
      case 'length':
        t = corruptLength(t, e.nth, e.how);
        break;
    }
  }
  return t;
}

/** A byte string shown so that a regression test can hold it: JSON with every non-printable byte escaped. */
export function showBytes(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Lines of a file as a line-level arbitrary: each generated line joined with LF, sometimes CRLF. */
export function joinLines(lines: readonly string[], crlf: boolean, finalNewline: boolean): string {
  const nl = crlf ? '\r\n' : '\n';
  return lines.join(nl) + (finalNewline ? nl : '');
}

/** Strings that pick a JS object apart when used as a key: a parser indexing a plain object with input must not. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupGetter__',
] as const;
