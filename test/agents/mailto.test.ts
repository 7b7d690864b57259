import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MailToAgent,
  createMailToAgent,
  mailToArgs,
  mailToStateFile,
  type MailToOptions,
} from '../../src/agents/mailto.js';
import { parseHaresources } from '../../src/config/haresources.js';
import { BUILTIN_TEMPLATES, formatMailDate, loadMailTemplates } from '../../src/agents/mail-templates.js';
import { isVigilError, type VigilError } from '../../src/util/errors.js';
import { freePort, smtpServerFor } from './smtp-server.js';

const WHEN = new Date(Date.UTC(2026, 10, 26, 18, 5, 42));

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-rsc-mailto-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function options(stateDir: string, port: number, over: Partial<MailToOptions> = {}): MailToOptions {
  const en = BUILTIN_TEMPLATES.en;
  assert.ok(en);
  return {
    spec: 'MailTo::ops@example.com,dba@example.com::WebCluster',
    email: 'ops@example.com,dba@example.com',
    subject: 'WebCluster',
    node: 'node1',
    group: '192.168.1.50',
    stateDir,
    templates: en,
    smtp: { host: '127.0.0.1', port, heloName: 'node1', stepTimeoutMs: 10_000 },
    now: () => WHEN,
    timeZone: 'UTC',
    ...over,
  };
}

test('date as date(1) prints it: en like the C locale, fr like fr_FR', () => {
  assert.equal(formatMailDate(WHEN, 'en', 'UTC'), 'Thu Nov 26 18:05:42 UTC 2026');
  assert.equal(formatMailDate(new Date(Date.UTC(2026, 0, 5, 3, 4, 5)), 'en', 'UTC'), 'Mon Jan  5 03:04:05 UTC 2026');
  assert.equal(formatMailDate(WHEN, 'fr', 'UTC'), 'jeu. 26 nov. 2026 18:05:42 UTC');
});

test('English texts are resource-agents MailTo subjects word for word; short subject falls back to the default', async (t) => {
  const dir = await tmp(t);
  const a = new MailToAgent(options(dir, 25));
  assert.equal(a.compose('start').subject, 'WebCluster Takeover in progress at Thu Nov 26 18:05:42 UTC 2026 on node1');
  assert.equal(
    a.compose('stop').subject,
    'WebCluster Migrating resource away at Thu Nov 26 18:05:42 UTC 2026 from node1',
  );
  const b = new MailToAgent(options(dir, 25, { subject: undefined }));
  assert.match(b.compose('start').subject, /^Resource Group Takeover in progress at /);
  const c = new MailToAgent(options(dir, 25, { subject: 'x' }));
  assert.match(c.compose('start').subject, /^Resource Group Takeover/);
  const body = a.compose('start').body;
  assert.match(body, /^WebCluster Takeover in progress at .* on node1\n\nResource group: 192\.168\.1\.50\n/);
  assert.match(body, /Resource: MailTo::ops@example\.com,dba@example\.com::WebCluster\nNode: node1\nAction: takeover/);
});

test('mailToArgs: email[, subject]; none or more than two is Heartbeat wrapper wording', () => {
  assert.deepEqual(mailToArgs(['a@b.c']), { email: 'a@b.c', subject: undefined });
  assert.deepEqual(mailToArgs(['a@b.c,d@e.f', 'Web']), { email: 'a@b.c,d@e.f', subject: 'Web' });
  assert.throws(() => mailToArgs([]), /At least 1 Email address has to be given!/);
  assert.throws(() => mailToArgs(['a@b.c', 's', 'x']), /Additional parameters found: 4 but max\. 3 are allowed!/);
  assert.throws(
    () => mailToArgs(['not-an-address']),
    (e) => isVigilError(e) && e.code === 'VIGIL_ERR_RSC_SYNTAX',
  );
});

test('state files are per resource and never collide', () => {
  const a = mailToStateFile('/run/x', 'MailTo::a@b.c,d@e.f');
  const b = mailToStateFile('/run/x', 'MailTo::a@b.c_d@e.f');
  assert.notEqual(a, b);
  assert.ok(a.startsWith('/run/x/vigil-MailTo_MailTo__a@b.c_d@e.f_'));
});

test('templates: fr shipped, per-key override from <dir>/<lang>.json, unknown variables and keys refused', async (t) => {
  const dir = await tmp(t);
  const fr = await loadMailTemplates('fr', dir);
  assert.equal(fr.defaultSubject, 'Groupe de ressources');
  await writeFile(join(dir, 'en.json'), JSON.stringify({ startSubject: '[HA] {group} up on {node}' }));
  const en = await loadMailTemplates('en', dir);
  assert.equal(en.startSubject, '[HA] {group} up on {node}');
  assert.equal(en.stopSubject, BUILTIN_TEMPLATES.en?.stopSubject);
  await writeFile(join(dir, 'de.json'), JSON.stringify({ startSubject: '{hostname}' }));
  await assert.rejects(
    loadMailTemplates('de', dir),
    (e) =>
      isVigilError(e) &&
      e.code === 'VIGIL_ERR_MAIL_TEMPLATE' &&
      /de\.json: startSubject: unknown variable \{hostname\}/.test(e.message),
  );
  await writeFile(join(dir, 'de.json'), JSON.stringify({ startSubjekt: 'x' }));
  await assert.rejects(loadMailTemplates('de', dir), /unknown key "startSubjekt"/);
  await writeFile(join(dir, 'de.json'), JSON.stringify({ startSubject: 'x' }));
  await assert.rejects(loadMailTemplates('de', dir), /mail templates for \[de\] lack "defaultSubject"/);
  await assert.rejects(loadMailTemplates('it'), /no mail templates for language \[it\] \(shipped: en, fr\)/);
  await assert.rejects(loadMailTemplates('../x'), /invalid mail language/);
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'fr.json'), '{not json');
  await assert.rejects(loadMailTemplates('fr', join(dir, 'sub')), /not valid JSON/);
});

test('a dead relay does not fail start or stop (as Heartbeat MailTo): the error is reported, status follows', async (t) => {
  const dir = await tmp(t);
  const port = await freePort();
  const errors: [string, VigilError][] = [];
  const a = new MailToAgent(options(dir, port, { onMailError: (op, e) => errors.push([op, e]) }));
  assert.deepEqual(await a.status(), { running: false, text: 'stopped' });
  assert.deepEqual(await a.start(), { ok: true, rc: 0, detail: '' });
  assert.deepEqual(await a.status(), { running: true, text: 'running' });
  assert.equal((await a.stop()).ok, true);
  assert.equal((await a.status()).running, false);
  // Stop of a stopped MailTo succeeds (LSB: stop when stopped is success).
  assert.equal((await a.stop()).ok, true);
  assert.deepEqual(
    errors.map(([op, e]) => [op, e.code]),
    [
      ['start', 'VIGIL_ERR_SMTP'],
      ['stop', 'VIGIL_ERR_SMTP'],
      ['stop', 'VIGIL_ERR_SMTP'],
    ],
  );
});

test('MailTo through a real SMTP server: start and stop mails, English and French, status between', async (t) => {
  const srv = await smtpServerFor(t);
  if (srv === undefined) return;
  const dir = await tmp(t);
  const errors: VigilError[] = [];
  const en = new MailToAgent(options(dir, srv.port, { onMailError: (_op, e) => errors.push(e) }));
  assert.equal((await en.start()).ok, true);
  assert.equal((await en.status()).running, true);
  assert.equal((await en.stop()).ok, true);
  assert.equal((await en.status()).running, false);

  const fr = new MailToAgent(
    options(dir, srv.port, {
      spec: 'MailTo::ops@example.com::Grappe-Été',
      email: 'ops@example.com',
      subject: 'Grappe-Été',
      templates: await loadMailTemplates('fr'),
      onMailError: (_op, e) => errors.push(e),
    }),
  );
  assert.equal((await fr.start()).ok, true);
  assert.deepEqual(errors, []);

  const mails = await srv.waitForMails(3);
  assert.equal(mails.length, 3);
  const bySubject = (re: RegExp): (typeof mails)[number] => {
    const m = mails.find((x) => re.test(x.subject));
    assert.ok(m, `no mail matching ${String(re)} in ${mails.map((x) => x.subject).join(' | ')}`);
    return m;
  };
  const start = bySubject(/Takeover/);
  assert.equal(start.subject, 'WebCluster Takeover in progress at Thu Nov 26 18:05:42 UTC 2026 on node1');
  assert.equal(start.from, 'root@node1');
  assert.equal(start.to, 'ops@example.com, dba@example.com');
  assert.equal(start.headers['X-RcptTo'], 'ops@example.com, dba@example.com');
  assert.equal(start.headers['X-Vigil-Action'], 'start');
  assert.match(start.body, /Resource group: 192\.168\.1\.50\n/);
  const stop = bySubject(/Migrating/);
  assert.equal(stop.subject, 'WebCluster Migrating resource away at Thu Nov 26 18:05:42 UTC 2026 from node1');
  assert.match(stop.body, /Action: release \(stop\)/);
  const frMail = bySubject(/reprise/);
  assert.equal(frMail.subject, 'Grappe-Été : reprise en cours le jeu. 26 nov. 2026 18:05:42 UTC sur node1');
  assert.match(
    frMail.body,
    /Groupe de ressources : 192\.168\.1\.50\nRessource : MailTo::ops@example\.com::Grappe-Été\nNœud : node1\nAction : reprise \(démarrage\)\n/,
  );
  assert.match(frMail.raw, /^Subject: =\?UTF-8\?B\?/m);
  assert.match(frMail.raw, /^Content-Transfer-Encoding: base64/m);
});

test('createMailToAgent: from a haresources resource and the vigil_mail_* / vigil_rsc_state_dir settings', async (t) => {
  const dir = await tmp(t);
  const { groups } = parseHaresources('node1 192.168.1.50 MailTo::ops@example.com::Web\n', {
    file: '/etc/ha.d/haresources',
    nodes: ['node1', 'node2'],
  });
  const g = groups[0];
  const res = g?.resources[1];
  assert.ok(g && res);
  const vigil = { mailRelay: '127.0.0.1:2525', mailLang: 'fr', mailTemplatesDir: join(dir, 'none'), rscStateDir: dir };
  const a = await createMailToAgent(res, g.key, { node: 'node1', vigil, now: () => WHEN });
  assert.equal(a.spec, 'MailTo::ops@example.com::Web');
  assert.deepEqual(a.recipients, ['ops@example.com']);
  assert.ok(a.stateFile.startsWith(`${dir}/vigil-MailTo_`));
  assert.match(a.compose('start').subject, /^Web : reprise en cours le .* sur node1$/);
  assert.match(a.compose('start').body, /Groupe de ressources : 192\.168\.1\.50\n/);
  await assert.rejects(
    createMailToAgent(res, g.key, { node: 'node1', vigil: { ...vigil, mailRelay: 'a:99999' } }),
    (e) =>
      isVigilError(e) && e.code === 'VIGIL_ERR_CFG_VALUE' && /Invalid vigil_mail_relay \[a:99999\]/.test(e.message),
  );
  await assert.rejects(
    createMailToAgent({ ...res, args: [] }, g.key, { node: 'node1', vigil }),
    /At least 1 Email address/,
  );
});
