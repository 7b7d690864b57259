/**
 * What the daemon does when it no longer knows its own state (an exception nobody caught, a rejected promise nobody
 * awaited, a broken invariant): stop, give up the VIPs it holds (best effort, bounded), exit non-zero. Holding on
 * to a VIP it can no longer defend would leave two hosts answering for it once the peer takes over, for as long as
 * the kernel lease runs (or for good with `vigil_vip_lease off`). Exiting must never hang: a hard exit follows.
 */

import { errorMessage } from '../util/errors.js';

export interface HeldVip {
  readonly address: string;
  readonly device: string;
  /** Known for IPv6, which is removed by address and prefix (saves a dump on the way out). */
  readonly prefixLength?: number;
}

export interface FatalDeps {
  /** One CRIT line. */
  readonly log: (text: string) => void;
  /** The VIPs held now; called once, before `stop` (which forgets them). */
  readonly heldVips: () => readonly HeldVip[];
  readonly removeVip: (v: HeldVip) => Promise<boolean>;
  /** Stops the node: no more heartbeats, renewals or decisions. */
  readonly stop: () => void;
  /** The orderly exit with this code (the daemon's own shutdown path: sockets, pidfile, logs). */
  readonly exit: (code: number) => void;
  /** If the orderly exit has not happened by `hardExitMs`. */
  readonly hardExit: (code: number) => void;
  /** Bound on removing all VIPs (they are removed in parallel). */
  readonly vipTimeoutMs?: number;
  readonly hardExitMs?: number;
}

/** EX_SOFTWARE: internal software error. */
export const FATAL_EXIT_CODE = 70;
export const FATAL_VIP_TIMEOUT_MS = 2000;
/** VIP removal plus the orderly exit's own closing (sockets, pidfile, log flush). */
export const FATAL_HARD_EXIT_MS = 5000;
/** Further errors while exiting are logged this many times, then only counted (a timer may throw on every beat). */
const MAX_LATER_ERRORS_LOGGED = 3;

function describeError(e: unknown): string {
  if (e instanceof Error) return e.stack ?? e.message;
  return String(e);
}

export interface FatalHandler {
  /** The first call starts the exit; later ones are only logged. */
  handle(kind: string, e: unknown): void;
  /** The orderly exit completed: the hard exit is not needed. */
  dispose(): void;
}

export function fatalHandler(deps: FatalDeps): FatalHandler {
  let exiting = false;
  let later = 0;
  let hard: NodeJS.Timeout | undefined;
  const hardExitMs = deps.hardExitMs ?? FATAL_HARD_EXIT_MS;
  return {
    handle(kind, e) {
      if (exiting) {
        if (++later <= MAX_LATER_ERRORS_LOGGED) deps.log(`${kind} while exiting: ${describeError(e)}`);
        return;
      }
      exiting = true;
      deps.log(`internal error (${kind}), exiting: ${describeError(e)}`);
      // Armed until the orderly exit is over (dispose), not until it starts: that is what may hang.
      hard = setTimeout(() => {
        deps.log(`exit did not complete within ${hardExitMs} ms: exiting now`);
        deps.hardExit(FATAL_EXIT_CODE);
      }, hardExitMs);
      void (async () => {
        let vips: readonly HeldVip[] = [];
        try {
          vips = deps.heldVips();
        } catch (e2) {
          deps.log(`cannot list the VIPs held here: ${describeError(e2)}`);
        }
        try {
          deps.stop();
        } catch (e2) {
          deps.log(`stopping: ${describeError(e2)}`);
        }
        await removeAll(deps, vips);
        deps.exit(FATAL_EXIT_CODE);
      })();
    },
    dispose() {
      clearTimeout(hard);
    },
  };
}

async function removeAll(deps: FatalDeps, vips: readonly HeldVip[]): Promise<void> {
  if (vips.length === 0) return;
  const bound = deps.vipTimeoutMs ?? FATAL_VIP_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, bound);
  });
  const outcome = new Map<HeldVip, string>();
  const each = vips.map(async (v) => {
    try {
      outcome.set(v, (await deps.removeVip(v)) ? 'removed' : 'already gone');
    } catch (e) {
      outcome.set(v, `not removed: ${errorMessage(e)}`);
    }
  });
  await Promise.race([Promise.all(each), timeout]);
  clearTimeout(timer);
  for (const v of vips) {
    const o = outcome.get(v) ?? `not removed within ${bound} ms`;
    deps.log(`virtual IP ${v.address} on ${v.device} ${o} before exiting`);
  }
}

/**
 * Routes uncaught exceptions and unhandled rejections to the fatal handler; `handle` takes what the node catches
 * itself (a broken invariant on the packet path). `uninstall` removes the handlers and cancels a pending hard exit:
 * call it once the daemon's exit is complete.
 */
export function installFatalHandlers(deps: FatalDeps): { handle: FatalHandler['handle']; uninstall: () => void } {
  const h = fatalHandler(deps);
  const onException = (e: Error): void => {
    h.handle('uncaught exception', e);
  };
  const onRejection = (reason: unknown): void => {
    h.handle('unhandled rejection', reason);
  };
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    handle: (kind, e) => {
      h.handle(kind, e);
    },
    uninstall: () => {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
      h.dispose();
    },
  };
}
