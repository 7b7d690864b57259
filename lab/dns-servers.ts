/**
 * Real DNS servers for the geo lab and the dnsupdate tests: BIND 9 (Debian's bind9) or Knot DNS as the zone's
 * primary, unbound as a caching resolver. Each runs in the foreground inside a lab namespace, with its own
 * configuration, zone, journal and pid files in a directory of the run (never /etc/bind or the root namespace's
 * services), and is stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError } from '../src/util/errors.js';
import { nowMs, runCmd, sleep } from './exec.js';

export const GEO_ZONE = 'geo.test';
export const TSIG_KEY_NAME = 'vigil-update';
/** A fixed test secret (32 bytes, base64): lab only. */
export const TSIG_SECRET = 'dmlnaWwtZ2VvLWxhYi10c2lnLXNlY3JldC0wMTIzNDU=';

export interface ZoneSpec {
  readonly zone: string;
  /** Names (relative to the zone) the key may update (A and AAAA). */
  readonly updatable: readonly string[];
  /** Extra zone file lines (relative names). */
  readonly records?: readonly string[];
  /** SOA minimum: how long resolvers cache "no such name" (RFC 2308). */
  readonly negativeTtl?: number;
  /** The primary's own address (the NS record's glue). */
  readonly nsAddress: string;
}

export function bindKeyText(name = TSIG_KEY_NAME, secret = TSIG_SECRET): string {
  return `key "${name}" {\n\talgorithm hmac-sha256;\n\tsecret "${secret}";\n};\n`;
}

export function knotKeyText(name = TSIG_KEY_NAME, secret = TSIG_SECRET): string {
  return `key:\n  - id: ${name}\n    algorithm: hmac-sha256\n    secret: ${secret}\n`;
}

function zoneFile(z: ZoneSpec): string {
  return [
    '$TTL 60',
    `@ IN SOA ns1.${z.zone}. hostmaster.${z.zone}. 1 60 30 600 ${z.negativeTtl ?? 5}`,
    `@ IN NS ns1.${z.zone}.`,
    `ns1 IN A ${z.nsAddress}`,
    ...(z.records ?? []),
    '',
  ].join('\n');
}

export interface ServerFiles {
  readonly dir: string;
  /** argv that runs the server in the foreground. */
  readonly argv: readonly string[];
  readonly kind: 'bind' | 'knot' | 'unbound' | 'bird';
}

/** named.conf, the key and the zone under `dir`: a primary that lets the key update the listed names only. */
export async function writeBind(dir: string, z: ZoneSpec, listen: readonly string[], port = 53): Promise<ServerFiles> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vigil-update.key'), bindKeyText(), { mode: 0o600 });
  await writeFile(join(dir, `${z.zone}.zone`), zoneFile(z));
  const grants = z.updatable.map((n) => `\t\tgrant ${TSIG_KEY_NAME} name ${n}.${z.zone}. A AAAA;`).join('\n');
  const conf = `options {
	directory "${dir}";
	pid-file "${dir}/named.pid";
	session-keyfile "${dir}/session.key";
	managed-keys-directory "${dir}";
	listen-on port ${port} { ${listen.map((a) => `${a};`).join(' ')} };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
};
controls { };
logging {
	channel file { file "${dir}/named.log" versions 1 size 5m; print-time yes; severity info; };
	category default { file; };
	category update { file; };
};
include "${dir}/vigil-update.key";
zone "${z.zone}" {
	type primary;
	file "${dir}/${z.zone}.zone";
	update-policy {
${grants}
	};
};
`;
  await writeFile(join(dir, 'named.conf'), conf);
  return { dir, kind: 'bind', argv: ['named', '-f', '-4', '-c', join(dir, 'named.conf')] };
}

/** knot.conf, the key and the zone under `dir`: an ACL lets the key update the listed names (A, AAAA) only. */
export async function writeKnot(dir: string, z: ZoneSpec, listen: readonly string[], port = 53): Promise<ServerFiles> {
  await mkdir(join(dir, 'db'), { recursive: true });
  await writeFile(join(dir, `${z.zone}.zone`), zoneFile(z));
  const conf = `server:
    rundir: "${dir}"
    pidfile: "${dir}/knot.pid"
${listen.map((a) => `    listen: ${a}@${port}`).join('\n')}
log:
  - target: "${dir}/knot.log"
    any: info
database:
    storage: "${dir}/db"
${knotKeyText()}acl:
  - id: vigil
    key: ${TSIG_KEY_NAME}
    action: update
    update-type: [A, AAAA]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [${z.updatable.map((n) => `${n}.${z.zone}.`).join(', ')}]
zone:
  - domain: ${z.zone}
    storage: "${dir}"
    file: "${z.zone}.zone"
    zonefile-sync: -1
    journal-content: changes
    acl: vigil
`;
  await writeFile(join(dir, 'knot.conf'), conf);
  return { dir, kind: 'knot', argv: ['knotd', '-c', join(dir, 'knot.conf')] };
}

/** A caching resolver on `listen` that asks `stub` (the zone's primary) for the zone and nobody else. */
export async function writeUnbound(
  dir: string,
  zone: string,
  stub: string,
  listen: string,
  opts: { minTtl?: number; prefetch?: boolean } = {},
): Promise<ServerFiles> {
  await mkdir(dir, { recursive: true });
  const conf = `server:
	interface: ${listen}
	port: 53
	do-ip6: no
	do-daemonize: no
	use-syslog: no
	logfile: "${dir}/unbound.log"
	verbosity: 1
	username: ""
	chroot: ""
	directory: "${dir}"
	pidfile: "${dir}/unbound.pid"
	access-control: 0.0.0.0/0 allow
	module-config: "iterator"
	do-not-query-localhost: no
	domain-insecure: "${zone}"
${zone === 'test' || zone.endsWith('.test') ? '\t# unbound answers .test (RFC 6761) itself unless told not to\n\tlocal-zone: "test." nodefault\n' : ''}	cache-min-ttl: ${opts.minTtl ?? 0}
	prefetch: ${opts.prefetch === true ? 'yes' : 'no'}
	qname-minimisation: no
stub-zone:
	name: "${zone}"
	stub-addr: ${stub}
remote-control:
	control-enable: no
`;
  await writeFile(join(dir, 'unbound.conf'), conf);
  return { dir, kind: 'unbound', argv: ['unbound', '-d', '-c', join(dir, 'unbound.conf')] };
}

/** Starts `files.argv` inside network namespace `netns` (stdio closed: the servers log to their files). */
export function startServer(netns: string, files: ServerFiles, extraEnter: readonly string[] = []): ChildProcess {
  const [cmd, ...args] = files.argv;
  return spawn('nsenter', [`--net=/run/netns/${netns}`, ...extraEnter, '--', cmd!, ...args], { stdio: 'ignore' });
}

/** `dig +short` from inside a namespace (`rec`: recursion desired, as a client asks a resolver). */
function dig(
  netns: string,
  server: string,
  port: number,
  name: string,
  type: string,
  o: { rec: boolean; tries: number },
): ReturnType<typeof runCmd> {
  const flags = [o.rec ? '+rec' : '+norec', '+time=1', `+tries=${o.tries}`, '+short'];
  return runCmd('ip', ['netns', 'exec', netns, 'dig', `@${server}`, '-p', String(port), ...flags, name, type]);
}

/** Polls with dig until the server answers the zone's SOA (a resolver: `recursive`, as a client asks it). */
export async function waitDns(
  netns: string,
  server: string,
  zone: string,
  port = 53,
  timeoutMs = 20_000,
  recursive = false,
): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const r = await dig(netns, server, port, zone, 'SOA', { rec: recursive, tries: 1 });
    if (r.code === 0 && r.stdout.trim() !== '') return;
    if (nowMs() > deadline)
      throw new VigilError(
        'VIGIL_ERR_LAB',
        `DNS server ${server}@${port} did not answer for ${zone} within ${timeoutMs} ms`,
      );
    await sleep(100);
  }
}

/** `dig +short` from inside a namespace: the name's records of `type`, sorted. */
export async function digShort(
  netns: string,
  server: string,
  name: string,
  type: 'A' | 'AAAA',
  port = 53,
  rec = false,
): Promise<string[]> {
  const r = await dig(netns, server, port, name, type, { rec, tries: 2 });
  if (r.code !== 0)
    throw new VigilError('VIGIL_ERR_LAB', `dig ${name} ${type} @${server}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .sort();
}

/** Kills a server started with startServer and waits for it to exit (at most 5 s). */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const t = setTimeout(() => {
    try {
      process.kill(child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 5000);
  await exited;
  clearTimeout(t);
}
