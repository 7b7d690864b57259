/**
 * The hosts of a CTS lab (`vigil lab cts`): the lab's namespaces (lab/topology.ts) made into the machines Heartbeat's
 * Cluster Test Suite expects. Every host gets, inside its own mount namespace:
 *
 * - its own PID namespace, started afresh at each boot with lab/cts/files/init.py as PID 1, and its own /proc (CTS
 *   runs `killall -9 heartbeat` on a node: it must see that node's processes only);
 * - a private /dev (a tmpfs with the usual device nodes), so that rsyslog's /dev/log is the host's own;
 * - rsyslog: a node keeps local7 (ha.cf's logfacility) in /var/log/ha-log and forwards it over TCP to the exerciser,
 *   whose rsyslog writes everything it gets into its /var/log/ha-log, the file CTS watches;
 * - on a node, sshd (host key, authorized key: made for this run) and atd (its own spool), as CTS and STONITH's
 *   external/ssh plugin use them; on the exerciser, an ssh client configuration with the run's key and known hosts;
 * - /etc/hosts naming the lab's hosts;
 * - /usr/sbin/{reboot,halt,poweroff,shutdown} replaced by lab/cts/files/reboot (an overlay): a "reboot" ends the
 *   host's PID namespace and the lab power-cycles the host (link down, addresses gone, boot);
 * - Heartbeat's command paths: /usr/lib/heartbeat/heartbeat, where CTS calls it (Debian's 3.0.6 installs its binary
 *   in /usr/libexec/heartbeat: a Heartbeat host gets a symbolic link to it; a Vigil host gets the launcher the
 *   Vigil .deb installs there), and on a Vigil host /usr/share/heartbeat/hb_standby and hb_takeover as the .deb
 *   installs them, and the lab's TestHeartbeatComm (lab/cts/files/TestHeartbeatComm).
 *
 * Nothing here touches the machine's own namespaces: every mount is made inside a host's mount namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { VigilError } from '../../src/util/errors.js';
import { mustRun, runCmd, sleep, waitFor, type RunResult } from '../exec.js';
import { CLIENT_IP, exists, IFACE, VIP_CIDR, type Lab } from '../topology.js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const FILES = `${REPO}lab/cts/files`;

/** Where the lab's per-host files live, as the host sees them (the host's own /var/lib/heartbeat). */
export const INSIDE = '/var/lib/heartbeat/cts-lab';
export const HEARTBEAT_BIN = '/usr/libexec/heartbeat/heartbeat';
export const CTS_LOG = '/var/log/ha-log';
export const SYSLOG_FACILITY = 'local7';

export type HostImpl = 'heartbeat' | 'vigil';
export type HostRole = 'node' | 'exerciser';

/** A clean environment, as init gives its children. */
export const CLEAN_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
};

export interface PowerEvent {
  readonly host: string;
  /** ms since the epoch */
  readonly at: number;
  /** what ended the host: `reboot` (the lab's /sbin/reboot or reboot(2)), `off` (halt/poweroff) */
  readonly cause: string;
  /** when it was booted again (undefined: left off) */
  bootedAt?: number;
}

export class CtsHost {
  private init: ChildProcess | undefined;
  private stopping = false;
  private cycling: Promise<void> | undefined;
  readonly power: PowerEvent[] = [];

  constructor(
    readonly lab: Lab,
    readonly name: string,
    readonly role: HostRole,
    /** The cluster manager a node runs (undefined on the exerciser). */
    readonly impl: HostImpl | undefined,
    /** How long a power-cycled host stays off before it boots. */
    readonly bootDelayMs = 5000,
  ) {}

  /** The lab's files of this host, as the root namespace sees them. */
  get dir(): string {
    return `${this.lab.hostPath(this.name, '/var/lib/heartbeat')}/cts-lab`;
  }

  private nsArgs(): string[] {
    return [
      `--net=/run/netns/${this.lab.netns(this.name)}`,
      `--uts=${this.lab.nsDir}/${this.name}.uts`,
      `--mount=${this.lab.nsDir}/${this.name}.mnt`,
    ];
  }

  /** PID (in the machine's namespace) of the host's init, if it runs. */
  async initPid(): Promise<number | undefined> {
    const pid = this.init?.pid;
    if (pid === undefined || this.init?.exitCode !== null) return undefined;
    const kids = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    const first = Number(kids.trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : undefined;
  }

  /** nsenter arguments into every namespace of the running host, its PID namespace included. */
  async enter(): Promise<string[]> {
    const init = await this.initPid();
    if (init === undefined) throw new VigilError('VIGIL_ERR_LAB', `CTS host ${this.name} is not running`);
    return [...this.nsArgs(), `--pid=/proc/${init}/ns/pid`, '--'];
  }

  async exec(cmd: string, args: readonly string[] = [], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return runCmd('nsenter', [...(await this.enter()), cmd, ...args], { ...opts, env: CLEAN_ENV });
  }

  async sh(script: string, opts: { timeoutMs?: number } = {}): Promise<RunResult> {
    return this.exec('/bin/sh', ['-c', script], opts);
  }

  /** Mount-namespace work done once, before the first boot. */
  private async mountSh(script: string): Promise<void> {
    await mustRun('nsenter', [...this.nsArgs(), '--', '/bin/sh', '-c', `set -e\n${script}`]);
  }

  /**
   * Writes the host's files and mounts them over the system's paths in its mount namespace. `hostsFile` is the
   * lab's /etc/hosts; `ssh` the run's key material.
   */
  async prepare(hostsFile: string, ssh: SshMaterial, nodes: readonly { name: string; ip: string }[]): Promise<void> {
    const d = this.dir;
    await rm(d, { recursive: true, force: true });
    await mkdir(`${d}/sbin`, { recursive: true });
    await mkdir(`${d}/hblib`, { recursive: true });
    await mkdir(`${d}/ssh`, { recursive: true, mode: 0o755 });
    await chmod(`${d}/ssh`, 0o755);
    for (const f of ['init.py', 'boot.sh']) await copyFile(`${FILES}/${f}`, `${d}/${f}`);
    for (const v of ['reboot', 'halt', 'poweroff', 'shutdown']) {
      await copyFile(`${FILES}/reboot`, `${d}/sbin/${v}`);
      await chmod(`${d}/sbin/${v}`, 0o755);
    }
    await writeFile(`${d}/hosts`, hostsFile);
    await writeFile(`${d}/rsyslog.conf`, rsyslogConf(this.role));
    // atd's spool, as the package made it (owners and modes matter to atd), empty.
    await mustRun('cp', ['-a', '/var/spool/cron', `${d}/spool-cron`]);
    await runCmd('sh', ['-c', `rm -f ${d}/spool-cron/atjobs/[!.]* ${d}/spool-cron/atspool/* 2>/dev/null; true`]);

    if (this.role === 'exerciser') {
      await writeFile(`${d}/ssh/ssh_config`, sshClientConfig());
      await writeFile(`${d}/ssh/cts_id_ed25519`, ssh.clientKey, { mode: 0o600 });
      await chmod(`${d}/ssh/cts_id_ed25519`, 0o600);
      await writeFile(`${d}/ssh/cts_id_ed25519.pub`, ssh.clientPub);
      const known = nodes.map((n) => `${n.name},${n.ip} ${ssh.hostPubs.get(n.name) ?? ''}`).join('\n');
      await writeFile(`${d}/ssh/known_hosts`, `${known}\n`);
    } else {
      const ip = this.lab.host(this.name).ip;
      await writeFile(`${d}/ssh/sshd_config`, sshdConfig(ip));
      const key = ssh.hostKeys.get(this.name);
      if (key === undefined) throw new VigilError('VIGIL_ERR_LAB', `no host key for ${this.name}`);
      await writeFile(`${d}/ssh/ssh_host_ed25519_key`, key, { mode: 0o600 });
      await chmod(`${d}/ssh/ssh_host_ed25519_key`, 0o600);
      await writeFile(`${d}/ssh/ssh_host_ed25519_key.pub`, ssh.hostPubs.get(this.name) ?? '');
      await writeFile(`${d}/ssh/authorized_keys`, ssh.clientPub, { mode: 0o600 });
      await chmod(`${d}/ssh/authorized_keys`, 0o600);
      // ssh(1) on a node too (the stonith plugin on a node, logger forwarding tests): same client settings.
      await writeFile(`${d}/ssh/ssh_config`, sshClientConfig());
      await this.writeCommandPaths();
    }

    const mounts = [
      // A private /dev: rsyslog makes /dev/log there.
      'mount -t tmpfs -o mode=755,nosuid,size=1m cts-dev /dev',
      'mknod -m 666 /dev/null c 1 3',
      'mknod -m 666 /dev/zero c 1 5',
      'mknod -m 666 /dev/full c 1 7',
      'mknod -m 666 /dev/random c 1 8',
      'mknod -m 666 /dev/urandom c 1 9',
      'mknod -m 666 /dev/tty c 5 0',
      'mkdir -m 755 /dev/pts',
      'mkdir -m 1777 /dev/shm',
      'mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts /dev/pts',
      'ln -s pts/ptmx /dev/ptmx',
      'mount -t tmpfs -o mode=1777,nosuid,nodev,size=16m shm /dev/shm',
      'ln -s /proc/self/fd /dev/fd',
      'ln -s /proc/self/fd/0 /dev/stdin',
      'ln -s /proc/self/fd/1 /dev/stdout',
      'ln -s /proc/self/fd/2 /dev/stderr',
      `mount --bind ${INSIDE}/hosts /etc/hosts`,
      `mount --bind ${INSIDE}/ssh /etc/ssh`,
      `mount --bind ${INSIDE}/rsyslog.conf /etc/rsyslog.conf`,
      `mount --bind ${INSIDE}/spool-cron /var/spool/cron`,
      `mount -t overlay -o lowerdir=${INSIDE}/sbin:/usr/sbin cts-sbin /usr/sbin`,
    ];
    if (this.role === 'node') {
      mounts.push(`mount -t overlay -o lowerdir=${INSIDE}/hblib:/usr/lib/heartbeat cts-hblib /usr/lib/heartbeat`);
      if (this.impl === 'vigil') {
        for (const f of ['hb_standby', 'hb_takeover', 'TestHeartbeatComm'])
          mounts.push(`mount --bind ${INSIDE}/${f} /usr/share/heartbeat/${f}`);
      }
    }
    await this.mountSh(mounts.join('\n'));
    await this.checkRebootIsOurs();
  }

  /** Heartbeat's command paths: where CTS calls them, as the host's implementation provides them. */
  private async writeCommandPaths(): Promise<void> {
    const d = this.dir;
    if (this.impl === 'heartbeat') {
      await symlink(HEARTBEAT_BIN, `${d}/hblib/heartbeat`);
      return;
    }
    // The launchers the Vigil .deb installs (scripts/package.sh on the packaging branch), on this machine's Node.js.
    const launcher = (script: string): string =>
      `#!/bin/sh\n# Vigil on this machine's Node.js (the .deb's launcher runs its own, /usr/lib/vigil/node).\nexec ${process.execPath} ${REPO}dist/src/cli/${script}.js "$@"\n`;
    await writeFile(`${d}/hblib/heartbeat`, launcher('heartbeat'), { mode: 0o755 });
    await writeFile(`${d}/hb_standby`, launcher('hb_standby'), { mode: 0o755 });
    await writeFile(`${d}/hb_takeover`, launcher('hb_takeover'), { mode: 0o755 });
    await copyFile(`${FILES}/TestHeartbeatComm`, `${d}/TestHeartbeatComm`);
    for (const f of ['hblib/heartbeat', 'hb_standby', 'hb_takeover', 'TestHeartbeatComm'])
      await chmod(`${d}/${f}`, 0o755);
  }

  /** Fails closed: the host's reboot must be the lab's, never the machine's. */
  private async checkRebootIsOurs(): Promise<void> {
    for (const v of ['/sbin/reboot', '/usr/sbin/reboot', '/sbin/halt', '/sbin/poweroff', '/sbin/shutdown']) {
      const r = await runCmd('nsenter', [...this.nsArgs(), '--', 'cat', v]);
      if (r.code !== 0 || !r.stdout.includes('of a CTS lab host'))
        throw new VigilError('VIGIL_ERR_LAB', `${this.name}: ${v} is not the lab's reboot; refusing to go on`);
    }
  }

  /** Boots the host: a fresh PID namespace whose init starts the host's daemons. */
  async boot(startCm: boolean): Promise<void> {
    const booted = `${this.lab.hostPath(this.name, '/run')}/cts-lab-booted`;
    await rm(booted, { force: true });
    await rm(`${this.lab.hostPath(this.name, '/run')}/cts-lab-power`, { force: true });
    this.stopping = false;
    const args = [
      ...this.nsArgs(),
      '--',
      'unshare',
      '--pid',
      '--fork',
      '--kill-child',
      '/usr/bin/python3',
      `${INSIDE}/init.py`,
      `${INSIDE}/boot.sh`,
      this.role,
      ...(startCm ? ['start-cm'] : []),
    ];
    // What init and the boot script say goes to the host's /var/log (it outlives the host's power cycles).
    const log = await open(`${this.lab.hostPath(this.name, '/var/log')}/cts-lab-init.log`, 'a');
    const child = spawn('nsenter', args, { env: CLEAN_ENV, stdio: ['ignore', log.fd, log.fd] });
    await log.close();
    this.init = child;
    child.on('exit', () => {
      if (this.init === child && !this.stopping) this.cycling = this.powerCycle();
    });
    await waitFor(`${this.name} to boot`, 60_000, async () => {
      if (child.exitCode !== null) throw new VigilError('VIGIL_ERR_LAB', `${this.name}: init exited while booting`);
      return (await exists(booted)) ? true : undefined;
    });
  }

  /** The host's init is gone (a reboot): cut the power, and boot again unless it was a halt/poweroff. */
  private async powerCycle(): Promise<void> {
    const run = this.lab.hostPath(this.name, '/run');
    const cause = (await readFile(`${run}/cts-lab-power`, 'utf8').catch(() => 'reboot')).trim() || 'reboot';
    const ev: PowerEvent = { host: this.name, at: Date.now(), cause };
    this.power.push(ev);
    await mustRun('ip', ['-n', this.lab.switchNs, 'link', 'set', this.name, 'down']);
    for (let round = 0; round < 20; round++) {
      const pids = await this.lab.hostPids(this.name);
      if (pids.length === 0) break;
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await sleep(20);
    }
    const ns = this.lab.netns(this.name);
    await runCmd('ip', ['-n', ns, '-4', 'addr', 'flush', 'dev', IFACE]);
    if (cause === 'off' || this.isStopping()) return;
    await sleep(this.bootDelayMs);
    // shutdown() may have come during the wait.
    if (this.isStopping()) return;
    await this.lab.resetRun(this.name);
    await mustRun('ip', [
      '-n',
      ns,
      'addr',
      'add',
      `${this.lab.host(this.name).ip}/${VIP_CIDR}`,
      'brd',
      '+',
      'dev',
      IFACE,
    ]);
    await mustRun('ip', ['-n', this.lab.switchNs, 'link', 'set', this.name, 'up']);
    await this.boot(true);
    ev.bootedAt = Date.now();
  }

  private isStopping(): boolean {
    return this.stopping;
  }

  /** Stops the host for good (the end of a run): no power cycle follows. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    const pid = this.init?.pid;
    if (pid !== undefined && this.init?.exitCode === null) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await this.cycling?.catch(() => undefined);
  }
}

export interface SshMaterial {
  readonly clientKey: string;
  readonly clientPub: string;
  readonly hostKeys: Map<string, string>;
  readonly hostPubs: Map<string, string>;
}

/** Fresh keys for one run: the exerciser's identity and each node's host key (ed25519, no passphrase). */
export async function makeSshMaterial(tmp: string, nodes: readonly string[]): Promise<SshMaterial> {
  await mkdir(tmp, { recursive: true });
  const gen = async (name: string): Promise<{ key: string; pub: string }> => {
    const f = `${tmp}/${name}`;
    await rm(f, { force: true });
    await rm(`${f}.pub`, { force: true });
    await mustRun('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `cts-${name}`, '-f', f]);
    const key = await readFile(f, 'utf8');
    const pub = await readFile(`${f}.pub`, 'utf8');
    return { key, pub };
  };
  const client = await gen('client');
  const hostKeys = new Map<string, string>();
  const hostPubs = new Map<string, string>();
  for (const n of nodes) {
    const k = await gen(n);
    hostKeys.set(n, k.key);
    hostPubs.set(n, k.pub.trim());
  }
  await rm(tmp, { recursive: true, force: true });
  return { clientKey: client.key, clientPub: client.pub, hostKeys, hostPubs };
}

export function sshdConfig(ip: string): string {
  return [
    '# written by vigil lab cts: keys made for this run, root by key only',
    'Port 22',
    `ListenAddress ${ip}`,
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PermitRootLogin prohibit-password',
    'AuthorizedKeysFile /etc/ssh/authorized_keys',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'PidFile /run/sshd.pid',
    // CTS starts the nodes "at the same time" with one ssh each and polls them; never refuse a connection for load.
    'MaxStartups 100:30:200',
    'MaxSessions 50',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

export function sshClientConfig(): string {
  return [
    '# written by vigil lab cts',
    'Host *',
    '  IdentityFile /etc/ssh/cts_id_ed25519',
    '  IdentitiesOnly yes',
    '  UserKnownHostsFile /etc/ssh/known_hosts',
    '  GlobalKnownHostsFile /etc/ssh/known_hosts',
    '  StrictHostKeyChecking yes',
    '  CheckHostIP no',
    '  BatchMode yes',
    '  ConnectTimeout 10',
    '  LogLevel ERROR',
    '',
  ].join('\n');
}

/**
 * A node keeps ha.cf's facility locally and forwards it to the exerciser; the exerciser writes everything it
 * receives, and its own lines (CTS logs through syslog too), to the file CTS watches. Vigil writes RFC 5424 to
 * /dev/log, Heartbeat (glibc) the traditional format: the socket uses rsyslog's normal parsers so both are read.
 */
export function rsyslogConf(role: HostRole): string {
  const common = [
    '# written by vigil lab cts',
    'global(workDirectory="/run/rsyslog" maxMessageSize="8k")',
    'module(load="imuxsock" SysSock.UseSpecialParser="off" SysSock.RateLimit.Interval="0")',
    '$FileCreateMode 0644',
  ];
  if (role === 'exerciser') {
    return [
      ...common,
      'module(load="imtcp")',
      `input(type="imtcp" port="514" address="${CLIENT_IP}")`,
      `*.* action(type="omfile" file="${CTS_LOG}" template="RSYSLOG_FileFormat")`,
      '',
    ].join('\n');
  }
  return [
    ...common,
    `${SYSLOG_FACILITY}.* action(type="omfile" file="${CTS_LOG}" template="RSYSLOG_FileFormat")`,
    `${SYSLOG_FACILITY}.* action(type="omfwd" target="${CLIENT_IP}" port="514" protocol="tcp" template="RSYSLOG_ForwardFormat" queue.type="LinkedList" queue.size="20000" action.resumeRetryCount="-1" action.resumeInterval="1")`,
    '',
  ].join('\n');
}
