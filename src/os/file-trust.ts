import { realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * sshd's StrictModes for what Vigil runs as root: a file is only as safe as its owner, its mode, and every directory
 * above it (whoever can write a directory can replace the file in it). "Trusted" owners are root, and the user Vigil
 * runs as when that is not root (a developer's checkout).
 */

export interface StatLike {
  readonly mode: number;
  readonly uid: number;
  readonly isDirectory: boolean;
}

export interface TrustProblem {
  readonly path: string;
  readonly kind: 'writable' | 'owner';
  /** What is wrong, for a human: `writable by group and others (mode 0777)`. */
  readonly text: string;
  /** The command that fixes it. */
  readonly fix: string;
}

const S_ISVTX = 0o1000;

function shellQuote(p: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(p) ? p : `'${p.replaceAll("'", "'\\''")}'`;
}

/** Pure: what is wrong with one path's owner and mode. */
export function judgeStat(path: string, st: StatLike, trustedUids: ReadonlySet<number>): TrustProblem[] {
  const out: TrustProblem[] = [];
  const perm = st.mode & 0o7777;
  const who = [(perm & 0o020) !== 0 ? 'group' : '', (perm & 0o002) !== 0 ? 'others' : ''].filter((w) => w !== '');
  // A sticky directory (/tmp) lets others add entries but not replace or remove ours, whose owner is checked in turn.
  const sticky = st.isDirectory && (perm & S_ISVTX) !== 0;
  if (who.length > 0 && !sticky) {
    out.push({
      path,
      kind: 'writable',
      text: `writable by ${who.join(' and ')} (mode ${perm.toString(8).padStart(4, '0')})`,
      fix: `chmod go-w ${shellQuote(path)}`,
    });
  }
  if (!trustedUids.has(st.uid)) {
    out.push({
      path,
      kind: 'owner',
      text: `owned by uid ${st.uid}, not root`,
      fix: `chown root ${shellQuote(path)}`,
    });
  }
  return out;
}

/** The directories above `path`, nearest first, up to but not including `/`. */
export function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let d = dirname(path); d !== '/' && d !== '.' && !out.includes(d); d = dirname(d)) out.push(d);
  return out;
}

/** Checks paths and the directories above them, each path stat'ed once per checker (shared directories are common). */
export class TrustChecker {
  private readonly stats = new Map<string, Promise<StatLike | undefined>>();
  constructor(private readonly trustedUids: ReadonlySet<number>) {}

  private statOf(path: string): Promise<StatLike | undefined> {
    let p = this.stats.get(path);
    if (p === undefined) {
      p = stat(path).then(
        (st) => ({ mode: st.mode, uid: st.uid, isDirectory: st.isDirectory() }),
        () => undefined,
      );
      this.stats.set(path, p);
    }
    return p;
  }

  private async judge(paths: readonly string[]): Promise<TrustProblem[]> {
    const results = await Promise.all(
      paths.map(async (p) => {
        const st = await this.statOf(p);
        return st === undefined ? [] : judgeStat(p, st, this.trustedUids);
      }),
    );
    return results.flat();
  }

  /**
   * `path` itself and every directory above it; through a symlink, also the real file and the directories above it
   * (both the link and its target can be swapped). A missing path is not a problem by itself (whoever needs it says
   * so), but whoever can write above it could create it: its directories are checked. Absolute paths only.
   */
  async check(path: string): Promise<TrustProblem[]> {
    if (!path.startsWith('/')) return [];
    if ((await this.statOf(path)) === undefined) return this.judge(ancestors(path));
    const chain = [path, ...ancestors(path)];
    const real = await realpath(path).catch(() => path);
    if (real !== path) for (const p of [real, ...ancestors(real)]) if (!chain.includes(p)) chain.push(p);
    return this.judge(chain);
  }
}
