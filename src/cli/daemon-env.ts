/**
 * Environment the daemon is started with: by `vigil start`, by contrib/vigil.service (`Environment=` lines, kept in
 * step by test/cli/daemon-env.test.ts) and by the lab. glibc reads it at exec, so the daemon cannot set it itself.
 *
 * MALLOC_ARENA_MAX=1: glibc gives every thread that mallocs an arena of its own (up to 8 per core), and Node's
 * helper threads (V8's workers, the libuv pool) each keep a few hundred kB of one resident for a handful of small
 * allocations. The daemon's threads rarely malloc at once, so one shared arena costs no speed and about 2 MB of RSS
 * (bench/RESULTS.md). An admin's own MALLOC_ARENA_MAX wins.
 */
export const DAEMON_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** What a service manager starts a daemon with (systemd, Debian's `service`): no inherited shell environment. */
export const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment for a daemon started from `env`: DAEMON_ENV under whatever the caller set. */
export function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...DAEMON_ENV, ...env };
}
