// Compatibility against the real thing: each case is given to heartbeat 3.0.6 (`heartbeat -f`) and to Vigil's
// parser, and both must agree on accept/refuse and on the wording. Heartbeat reads fixed paths (/etc/ha.d,
// /var/lib/heartbeat, /var/run/heartbeat), so every run happens in private mount, UTS, PID and network namespaces:
// tmpfs over those directories, hostname linux1, only `lo` (no packet can leave), and killing the namespace's
// first process ends heartbeat and all its children. Needs root; skipped with a message otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeConfig } from '../../src/config/compile.js';

const HEARTBEAT = '/usr/libexec/heartbeat/heartbeat';
// Heartbeat prints its own paths with a doubled slash; Vigil's messages use the path they are given.
const HA_D = '/etc/ha.d/';

interface Case {
  readonly name: string;
  readonly hacf: string;
  readonly authkeys?: string;
  readonly mode?: number;
  readonly haresources?: string;
  readonly nodeinfo?: string;
  /** What heartbeat 3.0.6 does. */
  readonly heartbeat: 'starts' | 'refuses';
  /** What Vigil does when it deliberately differs (see the reason); default: the same as heartbeat. */
  readonly vigil?: { readonly verdict: 'starts' | 'refuses'; readonly reason: string };
  /** Text both heartbeat's log and one of Vigil's errors must contain. */
  readonly message?: string;
}

const NODES = 'node linux1 linux2\nauto_failback on\n';
const CASES: readonly Case[] = [
  {
    name: 'the tutorial shape on lo',
    hacf: `${NODES}keepalive 1\ndeadtime 10\nbcast lo\nping 127.0.0.1\n`,
    heartbeat: 'starts',
  },
  {
    name: 'udp alias',
    hacf: `${NODES}udp lo\n`,
    heartbeat: 'starts',
    message: "WARNING: directive 'udp' replaced by 'bcast'",
  },
  { name: 'udpport after bcast', hacf: `${NODES}bcast lo\nudpport 700\n`, heartbeat: 'starts' },
  {
    name: 'only a ping medium',
    hacf: `${NODES}ping 127.0.0.1\n`,
    heartbeat: 'starts',
    vigil: {
      verdict: 'refuses',
      reason: 'with no heartbeat link no node hears another and every node would take every group',
    },
  },
  { name: 'ucast6 to a link-local peer', hacf: `${NODES}ucast6 lo fe80::2\n`, heartbeat: 'starts' },
  {
    name: 'ucast6 to a multicast address',
    hacf: `${NODES}ucast6 lo ff02::1\n`,
    heartbeat: 'refuses',
    message: 'ucast6 [lo] bad addr [ff02::1]',
  },
  {
    name: 'ucast6 on an absent device',
    hacf: `${NODES}bcast lo\nucast6 eth9 fe80::2\n`,
    heartbeat: 'refuses',
    vigil: {
      verdict: 'starts',
      reason: 'the config is checked without the host; vigil check warns the device is absent',
    },
  },
  { name: 'mcast6 on a link-local group', hacf: `${NODES}mcast6 lo ff02::694 694 1 0\n`, heartbeat: 'starts' },
  {
    name: 'mcast6 global-scope group',
    hacf: `${NODES}mcast6 lo ff0e::694 694 1 0\n`,
    heartbeat: 'refuses',
    message: 'mcast6 [lo] bad addr [ff0e::694]',
  },
  {
    name: 'mcast6 hops above 4',
    hacf: `${NODES}mcast6 lo ff02::694 694 5 0\n`,
    heartbeat: 'refuses',
    message: 'mcast6 [lo] bad hops [5]',
  },
  {
    name: 'ping6 node next to IPv6 heartbeats',
    hacf: `${NODES}ucast6 lo fe80::2\nping6 2001:db8::1\n`,
    heartbeat: 'starts',
  },
  {
    name: 'IPv6 resources written both ways',
    hacf: `${NODES}bcast lo\n`,
    haresources: 'linux1 IPv6addr::2001:db8:0:0:0:0:0:50/64/lo\nlinux2 IPaddr2::2001:db8::51/64/lo\n',
    heartbeat: 'starts',
  },
  {
    name: 'nodeinfo names the node',
    hacf: `node Alpha linux2\nauto_failback on\nbcast lo\n`,
    nodeinfo: 'ALPHA\n',
    haresources: 'alpha 10.0.0.1\n',
    heartbeat: 'starts',
  },
  { name: 'keepalive 2s', hacf: `${NODES}keepalive 2s\nbcast lo\n`, heartbeat: 'refuses' },
  {
    name: 'unknown directive',
    hacf: `${NODES}bcast lo\nfoo bar\n`,
    heartbeat: 'refuses',
    message: `Illegal directive [foo] in ${HA_D}/ha.cf`,
  },
  {
    name: 'deadtime too small',
    hacf: `${NODES}keepalive 1500ms\ndeadtime 3\nbcast lo\n`,
    heartbeat: 'refuses',
    message: 'Dead time [3000] is too small compared to keeplive [1500]',
  },
  {
    name: 'initdead below deadtime',
    hacf: `${NODES}deadtime 10\ninitdead 5\nbcast lo\n`,
    heartbeat: 'refuses',
    message: 'Initial dead time [5000] is smaller than deadtime [10000]',
  },
  {
    name: 'mcast ttl above 4',
    hacf: `${NODES}mcast lo 225.0.0.1 694 5 0\n`,
    heartbeat: 'refuses',
    message: 'mcast [lo] bad ttl [5]',
  },
  {
    name: 'ucast without a peer',
    hacf: `${NODES}ucast lo\n`,
    heartbeat: 'refuses',
    message: 'ucast: [lo] missing target IP address/hostname',
  },
  { name: 'no media', hacf: NODES, heartbeat: 'refuses', message: 'No heartbeat media defined' },
  {
    name: 'this node not listed',
    hacf: 'node linux2\nauto_failback on\nbcast lo\n',
    haresources: 'linux2 10.0.0.1\n',
    heartbeat: 'refuses',
    message: 'Current node [linux1] not in configuration!',
  },
  {
    name: 'autojoin with haresources',
    hacf: `${NODES}autojoin any\nbcast lo\n`,
    heartbeat: 'refuses',
    message: 'R1 style resource management conflicts with  autojoin set',
  },
  {
    name: 'bad hbgenmethod',
    hacf: `${NODES}hbgenmethod foo\nbcast lo\n`,
    heartbeat: 'refuses',
    message: 'Illegal hb generation method [foo]',
  },
  {
    name: 'authkeys readable by group',
    hacf: `${NODES}bcast lo\n`,
    mode: 0o640,
    heartbeat: 'refuses',
    message: `Bad permissions on keyfile [${HA_D}/authkeys], 600 recommended.`,
  },
  { name: 'authkeys group-writable only', hacf: `${NODES}bcast lo\n`, mode: 0o620, heartbeat: 'starts' },
  {
    name: 'auth selects a missing key',
    hacf: `${NODES}bcast lo\n`,
    authkeys: 'auth 2\n1 sha1 k\n',
    heartbeat: 'refuses',
    message: `Auth Key [2] not found in keyfile [${HA_D}/authkeys]`,
  },
  {
    name: 'key before auth',
    hacf: `${NODES}bcast lo\n`,
    authkeys: '1 sha1 k\nauth 1\n',
    heartbeat: 'refuses',
    message: `Auth Key [1] not found in keyfile [${HA_D}/authkeys]`,
  },
  {
    name: 'md5 without a key',
    hacf: `${NODES}bcast lo\n`,
    authkeys: 'auth 1\n1 md5\n',
    heartbeat: 'refuses',
    message: 'Auth method [md5] requires a key',
  },
  {
    name: 'sha256 key',
    hacf: `${NODES}bcast lo\n`,
    authkeys: 'auth 1\n1 sha256 k\n',
    heartbeat: 'refuses',
    vigil: { verdict: 'starts', reason: 'sha256 is a documented Vigil-only method (vigil check warns)' },
  },
  {
    name: 'haresources names an unknown node',
    hacf: `${NODES}bcast lo\n`,
    haresources: 'linux3 10.0.0.1\n',
    heartbeat: 'refuses',
    message: `Bad nodename in ${HA_D}/haresources [linux3]`,
  },
  {
    name: 'duplicate group key',
    hacf: `${NODES}bcast lo\n`,
    haresources: 'linux1 10.0.0.1\nlinux2 10.0.0.1\n',
    heartbeat: 'starts',
    vigil: {
      verdict: 'refuses',
      reason: 'the group key is its identity on the wire (ip-request): two groups cannot share one',
    },
  },
  {
    name: 'non-numeric hopfudge',
    hacf: `${NODES}hopfudge x\nbcast lo\n`,
    heartbeat: 'starts',
    vigil: { verdict: 'refuses', reason: 'heartbeat reads atoi("x") = 0 silently; Vigil names the mistake' },
  },
];

async function heartbeatAvailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (mount/UTS/PID/network namespaces for the real heartbeat)';
  try {
    await access(HEARTBEAT);
  } catch {
    return `needs heartbeat 3.0.6 at ${HEARTBEAT} (apt-get install heartbeat)`;
  }
  return undefined;
}

// $1 = directory holding the case's files. Polls heartbeat's log for its verdict, then kills it (by PID;
// the PID namespace ends with this script anyway).
const SCRIPT = `
set -u
mount --make-rprivate /
ip link set lo up
mount -t tmpfs vigilcfg /etc/ha.d
mkdir -p /var/lib/heartbeat /var/run/heartbeat
mount -t tmpfs vigilcfg /var/lib/heartbeat
mount -t tmpfs vigilcfg /var/run/heartbeat
mount -t tmpfs vigilcfg /var/log
cp -a "$1"/. /etc/ha.d/
hostname linux1
${HEARTBEAT} -f >/dev/null 2>&1 &
hb=$!
for i in $(seq 1 150); do
  grep -qE 'heartbeat not started|Heartbeat generation:' /var/log/hb.log 2>/dev/null && break
  kill -0 $hb 2>/dev/null || break
  sleep 0.1
done
kill -9 $hb 2>/dev/null
cat /var/log/hb.log 2>/dev/null
`;

function runHeartbeat(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'unshare',
      ['--mount', '--uts', '--net', '--pid', '--fork', 'bash', '-c', SCRIPT, 'vigilcfg-oracle', dir],
      { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && stdout === '') reject(new Error(`unshare failed: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

test('heartbeat 3.0.6 and Vigil agree on what starts and on the wording', async (t) => {
  const why = await heartbeatAvailable();
  if (why !== undefined) {
    t.skip(why);
    return;
  }
  for (const c of CASES) {
    await t.test(c.name, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vigilcfg-oracle-'));
      try {
        const hacf = `logfile /var/log/hb.log\n${c.hacf}`;
        const authkeys = c.authkeys ?? 'auth 1\n1 sha1 k\n';
        const haresources = c.haresources ?? 'linux1 10.0.0.1\n';
        const mode = c.mode ?? 0o600;
        await writeFile(join(dir, 'ha.cf'), hacf);
        await writeFile(join(dir, 'authkeys'), authkeys);
        await chmod(join(dir, 'authkeys'), mode);
        await writeFile(join(dir, 'haresources'), haresources);
        if (c.nodeinfo !== undefined) await writeFile(join(dir, 'nodeinfo'), c.nodeinfo);

        const log = await runHeartbeat(dir);
        const hbVerdict = /heartbeat not started/.test(log)
          ? 'refuses'
          : /Heartbeat generation:/.test(log)
            ? 'starts'
            : undefined;
        assert.equal(hbVerdict, c.heartbeat, `heartbeat log:\n${log}`);

        const localNode = (c.nodeinfo?.split('\n')[0] ?? 'linux1').toLowerCase();
        const r = analyzeConfig({
          configDir: HA_D,
          localNode,
          hacf: { file: `${HA_D}/ha.cf`, text: hacf },
          authkeys: { file: `${HA_D}/authkeys`, text: authkeys, mode },
          haresources: { file: `${HA_D}/haresources`, text: haresources },
        });
        const vigilVerdict = r.errors.length === 0 ? 'starts' : 'refuses';
        assert.equal(vigilVerdict, c.vigil?.verdict ?? c.heartbeat, r.errors.map((e) => e.format()).join('\n'));
        if (c.message !== undefined) {
          assert.ok(log.includes(c.message), `heartbeat did not say "${c.message}":\n${log}`);
          const said = [...r.errors.map((e) => e.message), ...r.warnings.map((w) => w.message)];
          assert.ok(
            said.some((m) => m.includes(c.message!)),
            `Vigil did not say "${c.message}": ${said.join(' | ')}`,
          );
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
