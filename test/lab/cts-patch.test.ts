/**
 * lab/cts/cts-py3.patch, the Python 3 port of Heartbeat's CTS: it applies to the shipped files, every hunk carries
 * its reason, nothing CTS asserts, audits or times changes (every string and number literal of the shipped modules
 * survives, apart from the build placeholders), and the ported CTS builds Heartbeat's test and audit lists.
 * No root needed; skipped when Debian's heartbeat package (its CTS) or python3 is missing.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCmd } from '../../lab/exec.js';
import { CTS_DIR, PATCH, preparePortedCts } from '../../lab/cts/run.js';

const PYTHON = '/usr/bin/python3';
const MODULES = ['CTS.py', 'CTSlab.py', 'CM_hb.py', 'CTStests.py', 'CTSaudits.py'];

async function available(): Promise<string | undefined> {
  for (const f of [`${CTS_DIR}/CTSlab.py`, PYTHON, '/usr/bin/patch']) {
    try {
      await access(f);
    } catch {
      return `${f} missing (Debian's heartbeat package, python3 and patch are needed)`;
    }
  }
  return undefined;
}

/** The ported CTS in a temporary directory for `body`; skipped with a message when this machine lacks CTS. */
async function withPortedCts(t: TestContext, body: (dir: string) => Promise<void>): Promise<void> {
  const missing = await available();
  if (missing !== undefined) {
    t.skip(missing);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'vigil-cts-'));
  try {
    await preparePortedCts(`${dir}/cts`);
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('every hunk of the patch says why, right above it', async () => {
  const text = await readFile(PATCH, 'utf8');
  const lines = text.split('\n');
  let hunks = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!(lines[i] ?? '').startsWith('--- ')) continue;
    hunks++;
    // The reason: a `#  N. file: ...` paragraph ending on the line above the header.
    let j = i - 1;
    while (j >= 0 && (lines[j] ?? '').startsWith('#      ')) j--;
    assert.match(lines[j] ?? '', new RegExp(`^# *${hunks}\\. \\S+: \\S`), `hunk ${hunks} (line ${i + 1})`);
    // One hunk per section.
    let k = i + 3;
    while (k < lines.length && /^[ +\-\\]/.test(lines[k] ?? '')) k++;
    assert.ok(!(lines[k] ?? '').startsWith('@@'), `section of hunk ${hunks} holds more than one hunk`);
  }
  assert.ok(hunks >= 20, `${hunks} hunks`);
});

test('the patch applies to the shipped CTS, compiles, and changes no literal but the placeholders', async (t) => {
  await withPortedCts(t, async (dir) => {
    const r = await runCmd(PYTHON, ['-m', 'py_compile', ...[...MODULES, 'CM_vigil.py'].map((m) => `${dir}/cts/${m}`)]);
    assert.equal(r.code, 0, r.stderr);
    // Python's own tokenizer: every STRING and NUMBER token, counted, before and after.
    const script = `
import collections, json, sys, tokenize
def lits(p):
    c = collections.Counter()
    with open(p, 'rb') as f:
        for t in tokenize.tokenize(f.readline):
            if t.type in (tokenize.STRING, tokenize.NUMBER):
                c[t.string] += 1
    return c
out = {}
for m in sys.argv[3:]:
    a, b = lits(sys.argv[1] + '/' + m), lits(sys.argv[2] + '/' + m)
    out[m] = {'removed': dict(a - b), 'added': dict(b - a)}
print(json.dumps(out))
`;
    await writeFile(`${dir}/lits.py`, script);
    const l = await runCmd(PYTHON, [`${dir}/lits.py`, CTS_DIR, `${dir}/cts`, ...MODULES]);
    assert.equal(l.code, 0, l.stderr);
    const diff = JSON.parse(l.stdout) as Record<
      string,
      { removed: Record<string, number>; added: Record<string, number> }
    >;
    const removed = Object.assign({}, ...Object.values(diff).map((d) => d.removed)) as Record<string, number>;
    const added = Object.values(diff).flatMap((d) => Object.keys(d.added));
    // Only the two build placeholders go, replaced by their value.
    assert.deepEqual(removed, { '"@HA_VARLOGDIR@/ha-log"': 1, '"@HA_VARLOGDIR@/ha-log-"': 1 });
    // What comes in: those values, the separator of a join, the byte-transparent encoding. No pattern, no number.
    for (const a of added) assert.ok(['"/var/log/ha-log"', '"/var/log/ha-log-"', '" "', '"latin-1"'].includes(a), a);
  });
});

test("the ported CTS builds CM_hb's test and audit lists (Heartbeat's and Vigil's cluster manager)", async (t) => {
  await withPortedCts(t, async (dir) => {
    await writeFile(`${dir}/ha.cf`, 'auto_failback on\nnode localhost\n');
    await writeFile(`${dir}/haresources`, 'localhost IPaddr::192.168.1.50/24/eth1\n');
    const script = `
import os, sys
sys.path.insert(0, sys.argv[1])
os.chdir(sys.argv[1])
import CTSlab, CM_hb, CM_vigil, CTStests, CTSaudits
for cls in (CM_hb.HeartbeatCM, CM_vigil.VigilCM):
    env = CTSlab.CtsLab(["localhost"])
    env["HAdir"] = sys.argv[2]
    env["LogFileName"] = os.devnull
    env["logger"] = (CTSlab.StdErrLog(env),)
    env["DoStonith"] = 1
    env["DoStandby"] = 1
    env["DoBSC"] = 0
    env["use_logd"] = 0
    env["XmitLoss"] = "0.0"
    env["RecvLoss"] = "0.0"
    env["oprofile"] = []
    env["SuppressMonitoring"] = None
    env["ResCanStop"] = 0
    env.SupplyDefaults()
    cm = cls(env)
    tests = [t.name for t in CTStests.TestList(cm)]
    audits = [a.name() for a in CTSaudits.AuditList(cm) if a.is_applicable()]
    print(cls.__name__, " ".join(tests), "|", " ".join(audits))
`;
    await writeFile(`${dir}/list.py`, script);
    const r = await runCmd(PYTHON, [`${dir}/list.py`, `${dir}/cts`, dir]);
    assert.equal(r.code, 0, r.stderr);
    const want =
      'Flip Restart Stonith StartOnebyOne SimulStart SimulStop StopOnebyOne RestartOnebyOne standby DetectionTime Split_brain SpecialTest1 | ResourceAudit';
    assert.deepEqual(r.stdout.trim().split('\n'), [`HeartbeatCM ${want}`, `VigilCM ${want}`]);
  });
});
