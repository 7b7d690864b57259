import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError, errorMessage } from '../util/errors.js';
import type { OpResult, ResourceAgent, StatusResult } from './agent.js';
import type { Resource, VigilExtensions } from '../config/types.js';
import { formatMailDate, loadMailTemplates, renderTemplate, type MailTemplates } from './mail-templates.js';
import {
  DEFAULT_SMTP,
  buildMessage,
  isSafeAddress,
  parseRelay,
  sendMail,
  type Envelope,
  type SmtpOptions,
  type SmtpResult,
} from './smtp.js';

/** Where pseudo-resources keep their "started" mark: Heartbeat's HA_RSCTMP. Cleared by a reboot (tmpfs). */
export const DEFAULT_RSC_STATE_DIR = '/run/resource-agents';

export type MailSender = (opts: SmtpOptions, env: Envelope, message: string) => Promise<SmtpResult>;

export interface MailToOptions {
  /** The haresources token, e.g. `MailTo::ops@example.com,dba@example.com::WebCluster`. */
  readonly spec: string;
  /** Recipients, comma-separated as in haresources. */
  readonly email: string;
  /** Second haresources argument; the templates' default subject when absent or shorter than 2 characters. */
  readonly subject: string | undefined;
  /** This node's name (`{node}`, HELO name, default sender domain). */
  readonly node: string;
  /** The group key (`{group}`). */
  readonly group: string;
  readonly stateDir: string;
  readonly templates: MailTemplates;
  readonly smtp: SmtpOptions;
  /** Envelope and header sender; default `root@<node>`, as `mail` run by Heartbeat (root) would send. */
  readonly from?: string;
  /** Wall clock (for the date in the texts). */
  readonly now: () => Date;
  /** Time zone of `{date}`; default the host's. */
  readonly timeZone?: string;
  /** Injected in unit tests; the real client otherwise. */
  readonly send?: MailSender;
  /**
   * A mail that cannot be sent does not fail the start or stop (as with Heartbeat's MailTo, whose exit status
   * is the pseudo-resource's): a dead relay must never block a failover. It is reported here for the log.
   */
  readonly onMailError?: (op: 'start' | 'stop', error: VigilError) => void;
  readonly onMailSent?: (op: 'start' | 'stop', result: SmtpResult) => void;
}

/** Splits `a@x,b@y` and checks each; throws VIGIL_ERR_RSC_SYNTAX like Heartbeat's "At least 1 Email address". */
export function parseRecipients(email: string): string[] {
  const list = email
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0)
    throw new VigilError('VIGIL_ERR_RSC_SYNTAX', 'MailTo: At least 1 Email address has to be given!');
  for (const a of list) {
    if (!isSafeAddress(a)) throw new VigilError('VIGIL_ERR_RSC_SYNTAX', `MailTo: invalid email address [${a}]`);
  }
  return list;
}

/** `MailTo::email[::subject]` arguments → the fields of MailToOptions (max two, as the resource.d wrapper allows). */
export function mailToArgs(args: readonly string[]): { email: string; subject: string | undefined } {
  if (args.length === 0 || args[0] === undefined) {
    throw new VigilError('VIGIL_ERR_RSC_SYNTAX', 'MailTo: At least 1 Email address has to be given!');
  }
  if (args.length > 2) {
    throw new VigilError(
      'VIGIL_ERR_RSC_SYNTAX',
      `MailTo: Additional parameters found: ${args.length + 1} but max. 3 are allowed!`,
    );
  }
  parseRecipients(args[0]);
  return { email: args[0], subject: args[1] };
}

/** The state file of one MailTo resource: readable name plus a hash, so `a,b` and `a_b` never share a file. */
export function mailToStateFile(stateDir: string, spec: string): string {
  const safe = spec.replace(/[^A-Za-z0-9_.@-]/g, '_').slice(0, 80);
  const h = createHash('sha1').update(spec).digest('hex').slice(0, 8);
  return join(stateDir, `vigil-MailTo_${safe}_${h}`);
}

/**
 * MailTo as a built-in: a pseudo-resource that mails on start and on stop and reports "running" between the two
 * (a mark file in the state directory, as resource-agents' ha_pseudo_resource does).
 */
export class MailToAgent implements ResourceAgent {
  readonly spec: string;
  readonly recipients: readonly string[];
  readonly stateFile: string;

  constructor(private readonly opts: MailToOptions) {
    this.spec = opts.spec;
    this.recipients = parseRecipients(opts.email);
    this.stateFile = mailToStateFile(opts.stateDir, opts.spec);
  }

  /** Subject and body of the mail for `op`, as it would be sent now. */
  compose(op: 'start' | 'stop'): { subject: string; body: string } {
    const t = this.opts.templates;
    const given = this.opts.subject;
    // Heartbeat's SubjectLine(): a subject of fewer than two characters means "use the default".
    const subject = given !== undefined && given.length >= 2 ? given : t.defaultSubject;
    const vars = {
      subject,
      date: formatMailDate(this.opts.now(), t.lang, this.opts.timeZone),
      node: this.opts.node,
      group: this.opts.group,
      resource: this.opts.spec,
      email: this.recipients.join(', '),
      action: op === 'start' ? t.startAction : t.stopAction,
      op,
    };
    const mailSubject = renderTemplate(op === 'start' ? t.startSubject : t.stopSubject, vars);
    return { subject: mailSubject, body: renderTemplate(t.body, { ...vars, mailSubject }) };
  }

  private async mail(op: 'start' | 'stop'): Promise<void> {
    const { subject, body } = this.compose(op);
    const from = this.opts.from ?? `root@${this.opts.node}`;
    const send = this.opts.send ?? sendMail;
    try {
      const message = buildMessage({
        from,
        to: this.recipients,
        subject,
        body,
        date: this.opts.now(),
        messageId: `vigil.${randomBytes(8).toString('hex')}`,
        heloName: this.opts.smtp.heloName,
        headers: { 'X-Vigil-Resource': this.opts.spec, 'X-Vigil-Action': op },
      });
      const r = await send(this.opts.smtp, { from, to: this.recipients }, message);
      this.opts.onMailSent?.(op, r);
    } catch (e) {
      const err =
        e instanceof VigilError ? e : new VigilError('VIGIL_ERR_SMTP', errorMessage(e), undefined, { cause: e });
      this.opts.onMailError?.(op, err);
    }
  }

  async start(): Promise<OpResult> {
    await this.mail('start');
    try {
      await mkdir(this.opts.stateDir, { recursive: true, mode: 0o755 });
      await writeFile(this.stateFile, `${this.opts.group}\n`, { mode: 0o644 });
    } catch (e) {
      return { ok: false, rc: null, detail: `MailTo: cannot write ${this.stateFile}: ${(e as Error).message}` };
    }
    return { ok: true, rc: 0, detail: '' };
  }

  async stop(): Promise<OpResult> {
    await this.mail('stop');
    try {
      await rm(this.stateFile, { force: true });
    } catch (e) {
      return { ok: false, rc: null, detail: `MailTo: cannot remove ${this.stateFile}: ${(e as Error).message}` };
    }
    return { ok: true, rc: 0, detail: '' };
  }

  async status(): Promise<StatusResult> {
    try {
      await stat(this.stateFile);
      return { running: true, text: 'running' };
    } catch {
      return { running: false, text: 'stopped' };
    }
  }
}

export interface MailToContext {
  /** This node's name (lowercased, as in ha.cf). */
  readonly node: string;
  readonly vigil: Pick<VigilExtensions, 'mailRelay' | 'mailLang' | 'mailTemplatesDir' | 'rscStateDir'>;
  /** Templates already loaded (load once per daemon with `loadMailTemplates`); loaded here when absent. */
  readonly templates?: MailTemplates;
  readonly now?: () => Date;
  readonly onMailError?: MailToOptions['onMailError'];
  readonly onMailSent?: MailToOptions['onMailSent'];
}

/**
 * The built-in MailTo for a haresources `MailTo::email[::subject]` resource of group `groupKey`, configured from
 * the Vigil directives (relay, language, templates, state dir). Throws VIGIL_ERR_RSC_SYNTAX / VIGIL_ERR_CFG_VALUE /
 * VIGIL_ERR_MAIL_TEMPLATE with the reason.
 */
export async function createMailToAgent(
  resource: Resource,
  groupKey: string,
  ctx: MailToContext,
): Promise<MailToAgent> {
  const { email, subject } = mailToArgs(resource.args);
  const relay = parseRelay(ctx.vigil.mailRelay);
  if (relay === undefined) {
    throw new VigilError(
      'VIGIL_ERR_CFG_VALUE',
      `Invalid vigil_mail_relay [${ctx.vigil.mailRelay}]: expected host[:port]`,
    );
  }
  const templates = ctx.templates ?? (await loadMailTemplates(ctx.vigil.mailLang, ctx.vigil.mailTemplatesDir));
  return new MailToAgent({
    spec: resource.spec,
    email,
    subject,
    node: ctx.node,
    group: groupKey,
    stateDir: ctx.vigil.rscStateDir,
    templates,
    smtp: {
      ...relay,
      heloName: ctx.node.replace(/[^A-Za-z0-9.-]/g, '-'),
      stepTimeoutMs: DEFAULT_SMTP.stepTimeoutMs,
      totalTimeoutMs: DEFAULT_SMTP.totalTimeoutMs,
    },
    now: ctx.now ?? (() => new Date()),
    onMailError: ctx.onMailError,
    onMailSent: ctx.onMailSent,
  });
}
