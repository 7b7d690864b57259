import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScriptAgent, locateScript } from '../../src/agents/script.js';
import { smtpServerFor, aiosmtpdMissing } from './smtp-server.js';

/**
 * resource-agents' own MailTo, run the way Heartbeat runs it: `/etc/ha.d/resource.d/MailTo <email> <subject> start`.
 * It mails through `$MAILCMD` (default `mail`, from ocf-binaries). Debian has no `mail` by default: bsd-mailx or
 * mailutils provide it but need a local MTA. s-nail (no MTA needed) speaks SMTP itself; here it stands in as
 * `mail`, pointed at a real SMTP server on loopback through its MAILRC.
 */
const SNAIL = '/usr/bin/s-nail';

async function missing(): Promise<string | undefined> {
  try {
    await locateScript('MailTo', ['/etc/ha.d/resource.d']);
  } catch {
    return 'needs resource-agents (/etc/ha.d/resource.d/MailTo)';
  }
  try {
    await access(SNAIL);
  } catch {
    return 'needs s-nail (apt-get install s-nail) to give the MailTo script a working `mail`';
  }
  return aiosmtpdMissing();
}

test('the real resource-agents MailTo through ScriptAgent: args + op, status by text, mails delivered', async (t) => {
  const srv = await smtpServerFor(t, missing);
  if (srv === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-rsc-mailwrap-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'rsctmp'));
  await symlink(SNAIL, join(dir, 'bin', 'mail'));
  await writeFile(
    join(dir, 'mailrc'),
    `set v15-compat\nset mta=smtp://127.0.0.1:${srv.port} smtp-auth=none\nset sendwait\nset nosave\n`,
  );
  const baseEnv = {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    // HA_RSCTMP: where ha_pseudo_resource keeps MailTo's "started" mark; private to this test.
    HA_RSCTMP: join(dir, 'rsctmp'),
    MAILRC: join(dir, 'mailrc'),
  };
  const path = await locateScript('MailTo');
  assert.equal(path, '/etc/ha.d/resource.d/MailTo');

  // Without a `mail` command (a stock Debian server) start fails: resource-agents' OCF_ERR_INSTALLED (5).
  const bare = new ScriptAgent('MailTo::ops@example.com::Web', path, ['ops@example.com', 'Web'], {
    env: baseEnv,
    timeoutMs: 30_000,
  });
  const noMail = await bare.start();
  assert.equal(noMail.ok, false);
  assert.equal(noMail.rc, 5);

  const agent = new ScriptAgent('MailTo::ops@example.com::Web', path, ['ops@example.com', 'Web'], {
    env: { ...baseEnv, PATH: `${join(dir, 'bin')}:${baseEnv.PATH}` },
    timeoutMs: 30_000,
  });
  const before = await agent.status();
  assert.equal(before.running, false, before.text);
  assert.deepEqual(await agent.start(), { ok: true, rc: 0, detail: '' });
  const during = await agent.status();
  assert.equal(during.running, true, during.text);
  assert.match(during.text, /running/);
  assert.deepEqual(await agent.stop(), { ok: true, rc: 0, detail: '' });
  const after = await agent.status();
  assert.equal(after.running, false, after.text);
  assert.match(after.text, /Resource is stopped/);

  const mails = await srv.waitForMails(2);
  assert.equal(mails.length, 2);
  const node = hostname();
  const start = mails.find((m) => m.subject.includes('Takeover'));
  const stop = mails.find((m) => m.subject.includes('Migrating'));
  assert.ok(start && stop, mails.map((m) => m.subject).join(' | '));
  assert.match(start.subject, new RegExp(`^Web Takeover in progress at .+ on ${node}$`));
  assert.match(stop.subject, new RegExp(`^Web Migrating resource away at .+ from ${node}$`));
  assert.equal(start.to, 'ops@example.com');
  assert.match(start.body, /Command line was:\n\s+\/usr\/lib\/ocf\/resource\.d\/+heartbeat\/MailTo start/);
});
