import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError } from '../util/errors.js';

/**
 * MailTo's texts. The English subjects are resource-agents' MailTo word for word
 * (`<subject> Takeover in progress at <date> on <node>`, `<subject> Migrating resource away at <date> from <node>`),
 * so filters admins wrote for Heartbeat's mails keep matching.
 */
export interface MailTemplates {
  readonly lang: string;
  /** Used for `{subject}` when haresources gives none (Heartbeat: `Resource Group`). */
  readonly defaultSubject: string;
  readonly startSubject: string;
  readonly stopSubject: string;
  /** Body of both mails; `{mailSubject}` is the subject line just built. */
  readonly body: string;
  /** What `{action}` says for a start / a stop. */
  readonly startAction: string;
  readonly stopAction: string;
}

/** Every `{name}` a template may use. */
export const MAIL_VARIABLES = [
  'subject',
  'date',
  'node',
  'group',
  'resource',
  'email',
  'action',
  'op',
  'mailSubject',
] as const;
export type MailVariable = (typeof MAIL_VARIABLES)[number];

export const BUILTIN_TEMPLATES: Readonly<Record<string, MailTemplates>> = {
  en: {
    lang: 'en',
    defaultSubject: 'Resource Group',
    startSubject: '{subject} Takeover in progress at {date} on {node}',
    stopSubject: '{subject} Migrating resource away at {date} from {node}',
    body:
      '{mailSubject}\n\n' +
      'Resource group: {group}\n' +
      'Resource: {resource}\n' +
      'Node: {node}\n' +
      'Action: {action}\n' +
      'Date: {date}\n',
    startAction: 'takeover (start)',
    stopAction: 'release (stop)',
  },
  fr: {
    lang: 'fr',
    defaultSubject: 'Groupe de ressources',
    startSubject: '{subject} : reprise en cours le {date} sur {node}',
    stopSubject: '{subject} : ressources déplacées le {date} depuis {node}',
    body:
      '{mailSubject}\n\n' +
      'Groupe de ressources : {group}\n' +
      'Ressource : {resource}\n' +
      'Nœud : {node}\n' +
      'Action : {action}\n' +
      'Date : {date}\n',
    startAction: 'reprise (démarrage)',
    stopAction: 'libération (arrêt)',
  },
};

const TEXT_KEYS = ['defaultSubject', 'startSubject', 'stopSubject', 'body', 'startAction', 'stopAction'] as const;
const TEMPLATE_BYTES = 16 * 1024;

/** Throws VIGIL_ERR_MAIL_TEMPLATE naming `where` when a template uses an unknown `{name}`. */
export function checkTemplate(text: string, where: string): void {
  for (const m of text.matchAll(/\{([A-Za-z]+)\}/g)) {
    const name = m[1] ?? '';
    if (!(MAIL_VARIABLES as readonly string[]).includes(name)) {
      throw new VigilError(
        'VIGIL_ERR_MAIL_TEMPLATE',
        `${where}: unknown variable {${name}} (known: ${MAIL_VARIABLES.join(', ')})`,
      );
    }
  }
}

export function renderTemplate(text: string, vars: Readonly<Partial<Record<MailVariable, string>>>): string {
  return text.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => vars[name as MailVariable] ?? whole);
}

/**
 * Templates for `lang`: the built-in ones, overridden key by key by `<dir>/<lang>.json` when `dir` is given
 * (so an admin can reword one subject, or add a language by writing every key).
 */
export async function loadMailTemplates(lang: string, dir?: string): Promise<MailTemplates> {
  if (!/^[a-z]{2,3}(?:[_-][A-Za-z]{2,4})?$/.test(lang)) {
    throw new VigilError('VIGIL_ERR_MAIL_TEMPLATE', `invalid mail language [${lang}]`);
  }
  const base = BUILTIN_TEMPLATES[lang] ?? BUILTIN_TEMPLATES[lang.slice(0, 2)];
  let custom: Record<string, unknown> | undefined;
  if (dir !== undefined) {
    const file = join(dir, `${lang}.json`);
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new VigilError('VIGIL_ERR_MAIL_TEMPLATE', `${file}: cannot read: ${(e as Error).message}`);
      }
    }
    if (text !== undefined) {
      if (text.length > TEMPLATE_BYTES) {
        throw new VigilError('VIGIL_ERR_MAIL_TEMPLATE', `${file}: larger than ${TEMPLATE_BYTES} bytes`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (e) {
        throw new VigilError('VIGIL_ERR_MAIL_TEMPLATE', `${file}: not valid JSON: ${(e as Error).message}`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new VigilError('VIGIL_ERR_MAIL_TEMPLATE', `${file}: expected a JSON object`);
      }
      custom = parsed as Record<string, unknown>;
      for (const [k, v] of Object.entries(custom)) {
        if (!(TEXT_KEYS as readonly string[]).includes(k)) {
          throw new VigilError(
            'VIGIL_ERR_MAIL_TEMPLATE',
            `${file}: unknown key "${k}" (known: ${TEXT_KEYS.join(', ')})`,
          );
        }
        if (typeof v !== 'string') throw new VigilError('VIGIL_ERR_MAIL_TEMPLATE', `${file}: "${k}" must be a string`);
        checkTemplate(v, `${file}: ${k}`);
      }
    }
  }
  if (base === undefined && custom === undefined) {
    throw new VigilError(
      'VIGIL_ERR_MAIL_TEMPLATE',
      `no mail templates for language [${lang}] (shipped: ${Object.keys(BUILTIN_TEMPLATES).join(', ')})`,
    );
  }
  const out: Record<string, string> = { lang };
  for (const k of TEXT_KEYS) {
    const v = custom?.[k] ?? base?.[k];
    if (typeof v !== 'string') {
      throw new VigilError('VIGIL_ERR_MAIL_TEMPLATE', `mail templates for [${lang}] lack "${k}"`);
    }
    out[k] = v;
  }
  return out as unknown as MailTemplates;
}

const EN_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const EN_MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FR_DAYS = ['dim.', 'lun.', 'mar.', 'mer.', 'jeu.', 'ven.', 'sam.'];
const FR_MONTHS = ['janv.', 'févr.', 'mars', 'avril', 'mai', 'juin', 'juil.', 'août', 'sept.', 'oct.', 'nov.', 'déc.'];

/**
 * The date as `date(1)` prints it in that language (what Heartbeat's MailTo put in its subject):
 * en `Thu Nov 26 18:05:42 UTC 2026`, fr `jeu. 26 nov. 2026 18:05:42 UTC`. `timeZone` defaults to the host's.
 */
export function formatMailDate(d: Date, lang: string, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(d);
  const get = (t: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === t)?.value ?? '';
  const wd = EN_DAYS.indexOf(get('weekday'));
  const mon = Number(get('month')) - 1;
  const day = Number(get('day'));
  const time = `${get('hour')}:${get('minute')}:${get('second')}`;
  const tz = get('timeZoneName');
  if (lang.startsWith('fr')) return `${FR_DAYS[wd] ?? ''} ${day} ${FR_MONTHS[mon] ?? ''} ${get('year')} ${time} ${tz}`;
  return `${EN_DAYS[wd] ?? ''} ${EN_MONTHS[mon] ?? ''} ${String(day).padStart(2, ' ')} ${time} ${tz} ${get('year')}`;
}
