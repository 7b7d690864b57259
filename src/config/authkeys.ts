import { VigilError, VigilErrors } from '../util/errors.js';
import type { AuthKey, AuthKeys, AuthMethod } from './types.js';
import { type ConfigWarning, warning } from './warnings.js';
import { WHITESPACE, tokenize } from './values.js';

export interface ParseAuthkeysOptions {
  /** Path shown in messages (normally /etc/ha.d/authkeys). */
  readonly file: string;
  /** st_mode of the file (permission bits are enough); undefined skips the permission check (e.g. a peer's copy). */
  readonly mode: number | undefined;
}

export interface AuthkeysAnalysis {
  /** undefined when no key could be selected. */
  readonly authkeys: AuthKeys | undefined;
  readonly errors: readonly VigilError[];
  readonly warnings: readonly ConfigWarning[];
}

/** Heartbeat's MAXAUTH: key numbers 0–15. */
export const MAX_AUTH_INDEX = 15;
const MAX_LINE = 5120;

const HEARTBEAT_METHODS: ReadonlySet<string> = new Set(['crc', 'md5', 'sha1']);
/** Accepted by Vigil only; Heartbeat logs `Invalid authtype [sha256]` and refuses to start [verified]. */
export const VIGIL_ONLY_METHODS: ReadonlySet<string> = new Set(['sha256', 'sha512']);

export function parseAuthkeys(
  text: string,
  options: ParseAuthkeysOptions,
): { authkeys: AuthKeys; warnings: readonly ConfigWarning[] } {
  const r = analyzeAuthkeys(text, options);
  if (r.errors.length > 0 || r.authkeys === undefined) {
    throw new VigilErrors(
      r.errors.length > 0
        ? r.errors
        : [new VigilError('VIGIL_ERR_AUTH_CONFIG', 'Authentication configuration error.', { file: options.file })],
    );
  }
  return { authkeys: r.authkeys, warnings: r.warnings };
}

/**
 * Reads authkeys as heartbeat/auth.c does: `auth N` selects key N, but only a key line read *after* it
 * (`1 sha1 k` then `auth 1` gives `Auth Key [1] not found in keyfile` [verified]); a later line for the same
 * number replaces the earlier one; `auth` may be repeated (the value current when the key line is read counts).
 */
export function analyzeAuthkeys(text: string, options: ParseAuthkeysOptions): AuthkeysAnalysis {
  const file = options.file;
  const errors: VigilError[] = [];
  const warnings: ConfigWarning[] = [];
  const keys = new Map<number, AuthKey>();
  let authnum: number | undefined;
  let authLine: number | undefined;
  let selected: AuthKey | undefined;

  // Heartbeat checks the mode only for read bits [verified: 620 and 602 start, 640 and 604 do not].
  if (options.mode !== undefined) {
    if ((options.mode & 0o044) !== 0) {
      errors.push(
        new VigilError('VIGIL_ERR_AUTH_PERMS', `Bad permissions on keyfile [${file}], 600 recommended.`, { file }),
      );
    } else if ((options.mode & 0o022) !== 0) {
      warnings.push(
        warning(
          'VIGIL_WARN_AUTH_PERMS',
          `keyfile [${file}] is writable by group or other (mode ${(options.mode & 0o777).toString(8)})`,
          { file },
          `chmod 600 ${file}: whoever can write it can replace the cluster key`,
        ),
      );
    }
  }

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').replace(/\r$/, '');
    const at = (column?: number): { file: string; line: number; column?: number } =>
      column === undefined ? { file, line: lineNo } : { file, line: lineNo, column };
    if (line.length > MAX_LINE) {
      errors.push(new VigilError('VIGIL_ERR_CFG_LIMIT', `line longer than ${MAX_LINE} characters`, at()));
      continue;
    }
    const trimmed = line.replace(/^[ \t]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const toks = tokenize(line, WHITESPACE);
    if (trimmed.startsWith('auth')) {
      const m = /^auth[ \t]+([0-9]+)/.exec(trimmed);
      if (m === null) {
        errors.push(new VigilError('VIGIL_ERR_AUTH_CONFIG', `Invalid auth line [${line}] in ${file}`, at()));
        continue;
      }
      authnum = Number(m[1]);
      authLine = lineNo;
      continue;
    }
    const [numTok, methodTok, keyTok, ...extra] = toks;
    if (numTok === undefined || methodTok === undefined || !/^[0-9]+$/.test(numTok.text)) {
      errors.push(new VigilError('VIGIL_ERR_AUTH_CONFIG', `Auth line [${line}] is invalid.`, at()));
      continue;
    }
    const index = Number(numTok.text);
    if (index > MAX_AUTH_INDEX) {
      errors.push(new VigilError('VIGIL_ERR_AUTH_CONFIG', `Invalid authnum [${index}] in ${file}`, at(numTok.column)));
      continue;
    }
    const method = methodTok.text;
    if (!HEARTBEAT_METHODS.has(method) && !VIGIL_ONLY_METHODS.has(method)) {
      errors.push(
        new VigilError(
          'VIGIL_ERR_AUTH_CONFIG',
          `Invalid authtype [${method}] (use sha1, md5 or crc; Vigil also knows sha256 and sha512)`,
          at(methodTok.column),
        ),
      );
      continue;
    }
    // Only lines *starting* with # are comments in authkeys: `1 sha1 #k` has the key "#k" in Heartbeat.
    if (method === 'crc' && keyTok !== undefined) {
      errors.push(new VigilError('VIGIL_ERR_AUTH_CONFIG', "Auth method [crc] doesn't use a key", at(keyTok.column)));
      continue;
    }
    if (method !== 'crc' && keyTok === undefined) {
      errors.push(new VigilError('VIGIL_ERR_AUTH_CONFIG', `Auth method [${method}] requires a key`, at()));
      continue;
    }
    if (extra.length > 0 && extra[0]?.text.startsWith('#') !== true) {
      warnings.push(
        warning(
          'VIGIL_WARN_IGNORED',
          `text after the key is ignored: the key is [${keyTok?.text ?? ''}] only`,
          at(extra[0]?.column),
          'a key is one word without spaces',
        ),
      );
    }
    const key: AuthKey = {
      index,
      method: method as AuthMethod,
      key: method === 'crc' ? '' : (keyTok?.text ?? ''),
      origin: { file, line: lineNo },
    };
    if (keys.has(index)) {
      warnings.push(
        warning(
          'VIGIL_WARN_REPEATED',
          `key ${index} is defined again; this later line wins`,
          at(),
          'keep one line per key',
        ),
      );
    }
    keys.set(index, key);
    if (authnum === index) selected = key;
  }

  if (authnum === undefined) {
    errors.push(new VigilError('VIGIL_ERR_AUTH_CONFIG', `Missing auth directive in keyfile [${file}]`, { file }));
  } else if (selected === undefined) {
    const loc = authLine === undefined ? { file } : { file, line: authLine };
    const hint = keys.has(authnum) ? ' (the key line must come after the auth line)' : '';
    errors.push(
      new VigilError('VIGIL_ERR_AUTH_CONFIG', `Auth Key [${authnum}] not found in keyfile [${file}]${hint}`, loc),
    );
  }
  // A later line for the same number replaces the key in place (Heartbeat keeps a pointer to the slot),
  // so `active` names the slot and `keys` holds its final content.
  return {
    authkeys: selected === undefined ? undefined : { active: selected.index, keys },
    errors,
    warnings,
  };
}
