/**
 * The engine's typed view of Heartbeat's messages: one variant per `t=` type the engine sends or
 * reads, with Heartbeat's field names and value encodings. Control fields (src, srcuuid, seq, hg,
 * ts, ld, ttl, auth, destuuid) belong to the wire layer; the engine gets `from` and `generation`
 * alongside each decoded message instead.
 *
 * `toFields` emits fields in the order Heartbeat 3.0.6 puts them on the wire (see
 * ../shared/vectors), so a packet built from it is byte-identical once the wire layer appends the
 * control fields.
 */
import { VigilError } from '../util/errors.js';

export type RscHold = 'none' | 'local' | 'foreign' | 'all';
import { NODE_STATUSES, type NodeStatus } from '../util/vocabulary.js';
export type AskInfo = 'me' | 'other' | 'done';
export type StonithResult = 'OK' | 'badhost' | 'bad' | 'n_stnth' | 'unneeded';

/**
 * Vigil-only field on `resource`/`ask_resources`: the exact group keys, space separated. Sent only
 * in clusters of more than two nodes, where Heartbeat's local/foreign split cannot name the groups
 * (Heartbeat ignores unknown fields, and two-node traffic stays byte-identical to Heartbeat's).
 */
export const VIGIL_GROUPS_FIELD = 'vigil_groups';

export type EngineMessage =
  /** Heartbeat. `dt` = the sender's deadtime in ms (hex on the wire); absent from old peers. */
  | {
      readonly t: 'status';
      readonly st: NodeStatus;
      readonly dt: number | undefined;
      readonly protocol: number | undefined;
    }
  /** Ping-node answer (ICMP echo reply carrying our own NS_st); `from` is the ping node's name. */
  | { readonly t: 'NS_st'; readonly st: 'ping'; readonly info: string | undefined }
  | { readonly t: 'starting' }
  | {
      readonly t: 'resource';
      readonly rscHold: RscHold;
      readonly isstable: boolean;
      /** `req_our_resources()`, `standby`, `shutdown`, `mach_down` or absent. */
      readonly info: string | undefined;
      readonly groups: readonly string[] | undefined;
    }
  | {
      readonly t: 'ask_resources';
      readonly rscHold: RscHold;
      readonly info: AskInfo;
      readonly dest: string | undefined;
      readonly groups: readonly string[] | undefined;
    }
  | { readonly t: 'ip-request'; readonly ipaddr: string }
  | { readonly t: 'ip-request-resp'; readonly dest: string; readonly ipaddr: string; readonly weown: boolean }
  | { readonly t: 'hb_takeover'; readonly rscHold: RscHold }
  | { readonly t: 'shutdone' }
  | { readonly t: 'reqnodes'; readonly dest: string }
  | {
      readonly t: 'repnodes';
      readonly dest: string;
      readonly nodelist: readonly string[];
      readonly delnodelist: readonly string[];
    }
  | { readonly t: 'stonith'; readonly node: string; readonly result: StonithResult }
  /**
   * ipfail's client messages (2-node ping-count arbitration), sent with `dest` = the other node.
   * Checked live against the real ipfail 3.0.6 (test/lab/ipfail.test.ts).
   */
  | { readonly t: 'num_ping_nodes'; readonly numPing: number; readonly dest: string | undefined }
  | { readonly t: 'you_are_dead'; readonly dest: string | undefined }
  | { readonly t: 'abort_giveup'; readonly dest: string | undefined };

export type MessageType = EngineMessage['t'];

const RSC_HOLDS: readonly RscHold[] = ['none', 'local', 'foreign', 'all'];
const ASK_INFOS: readonly AskInfo[] = ['me', 'other', 'done'];
const STONITH_RESULTS: readonly StonithResult[] = ['OK', 'badhost', 'bad', 'n_stnth', 'unneeded'];

/** Heartbeat writes node lists as `"n1 n2 "` and an empty list as `" "` (empty values are illegal on the wire). */
function nodeList(names: readonly string[]): string {
  return names.length === 0 ? ' ' : names.map((n) => `${n} `).join('');
}

function splitList(v: string): string[] {
  return v.split(' ').filter((s) => s.length > 0);
}

/**
 * An exact list is authoritative even when empty ("none of them"): absent means Heartbeat's class. Empty values are
 * illegal on the wire, so an empty list is written as Heartbeat writes an empty node list, a lone space.
 */
function groupsField(groups: readonly string[] | undefined): Array<[string, string]> {
  if (groups === undefined) return [];
  return [[VIGIL_GROUPS_FIELD, groups.length === 0 ? ' ' : groups.join(' ')]];
}

/** Body fields (with `t`, without the wire layer's control fields) in Heartbeat's order. */
export function toFields(msg: EngineMessage): Array<[string, string]> {
  switch (msg.t) {
    case 'status': {
      const f: Array<[string, string]> = [
        ['t', 'status'],
        ['st', msg.st],
      ];
      if (msg.dt !== undefined) f.push(['dt', msg.dt.toString(16)]);
      if (msg.protocol !== undefined) f.push(['protocol', String(msg.protocol)]);
      return f;
    }
    case 'NS_st':
      return [
        ['t', 'NS_st'],
        ['st', 'ping'],
        ['info', msg.info ?? 'ping'],
      ];
    case 'starting':
      return [['t', 'starting']];
    case 'resource': {
      const f: Array<[string, string]> = [
        ['t', 'resource'],
        ['rsc_hold', msg.rscHold],
        ['rtype', 'full'],
        ['isstable', msg.isstable ? '1' : '0'],
      ];
      if (msg.info !== undefined) f.push(['info', msg.info]);
      return [...f, ...groupsField(msg.groups)];
    }
    case 'ask_resources': {
      const f: Array<[string, string]> = [
        ['t', 'ask_resources'],
        ['rsc_hold', msg.rscHold],
        ['info', msg.info],
      ];
      if (msg.dest !== undefined) f.push(['dest', msg.dest]);
      return [...f, ...groupsField(msg.groups)];
    }
    case 'ip-request':
      return [
        ['t', 'ip-request'],
        ['ipaddr', msg.ipaddr],
      ];
    case 'ip-request-resp':
      return [
        ['t', 'ip-request-resp'],
        ['dest', msg.dest],
        ['ipaddr', msg.ipaddr],
        ['weown', msg.weown ? 'yes' : 'no'],
        ['ok', 'OK'],
      ];
    case 'hb_takeover':
      return [
        ['t', 'hb_takeover'],
        ['rsc_hold', msg.rscHold],
      ];
    case 'shutdone':
      return [
        ['t', 'shutdone'],
        ['st', 'dead'],
      ];
    case 'reqnodes':
      return [
        ['t', 'reqnodes'],
        ['dest', msg.dest],
      ];
    case 'repnodes':
      // Captured order: dest comes before t in repnodes.
      return [
        ['dest', msg.dest],
        ['t', 'repnodes'],
        ['nodelist', nodeList(msg.nodelist)],
        ['delnodelist', nodeList(msg.delnodelist)],
      ];
    case 'stonith':
      return [
        ['t', 'stonith'],
        ['node', msg.node],
        ['result', msg.result],
      ];
    case 'num_ping_nodes': {
      const f: Array<[string, string]> = [
        ['t', 'num_ping_nodes'],
        ['num_ping', String(msg.numPing)],
      ];
      if (msg.dest !== undefined) f.push(['dest', msg.dest]);
      return f;
    }
    case 'you_are_dead':
    case 'abort_giveup':
      return msg.dest === undefined
        ? [['t', msg.t]]
        : [
            ['t', msg.t],
            ['dest', msg.dest],
          ];
  }
}

function fieldError(t: string, what: string): VigilError {
  return new VigilError('VIGIL_ERR_MSG_FIELD', `t=${t}: ${what}`);
}

/**
 * Decode a message from its fields. `get` returns a field's string value (the wire layer's
 * accessor). Returns a VigilError (never throws) for a missing/invalid field or a type the engine
 * does not handle (VIGIL_ERR_MSG_TYPE): the caller counts and drops it.
 */
export function fromFields(get: (name: string) => string | undefined): EngineMessage | VigilError {
  const t = get('t');
  if (t === undefined) return new VigilError('VIGIL_ERR_MSG_FIELD', 'message has no t= field');
  const need = (name: string): string | VigilError => {
    const v = get(name);
    return v === undefined || v.length === 0 ? fieldError(t, `missing ${name}`) : v;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | VigilError => {
    const v = need(name);
    if (v instanceof VigilError) return v;
    const hit = allowed.find((a) => a === v);
    return hit ?? fieldError(t, `bad ${name}=${v}`);
  };
  const groups = (): string[] | undefined => {
    const v = get(VIGIL_GROUPS_FIELD);
    return v === undefined ? undefined : splitList(v);
  };
  switch (t) {
    case 'status': {
      const st = oneOf('st', NODE_STATUSES);
      if (st instanceof VigilError) return st;
      const dtRaw = get('dt');
      let dt: number | undefined;
      if (dtRaw !== undefined) {
        if (!/^[0-9a-fA-F]{1,8}$/.test(dtRaw)) return fieldError(t, `bad dt=${dtRaw}`);
        dt = parseInt(dtRaw, 16);
      }
      const pRaw = get('protocol');
      let protocol: number | undefined;
      if (pRaw !== undefined) {
        if (!/^[0-9]{1,9}$/.test(pRaw)) return fieldError(t, `bad protocol=${pRaw}`);
        protocol = Number(pRaw);
      }
      return { t, st, dt, protocol };
    }
    case 'NS_st':
      return { t, st: 'ping', info: get('info') };
    case 'starting':
      return { t };
    case 'resource': {
      const rscHold = oneOf('rsc_hold', RSC_HOLDS);
      if (rscHold instanceof VigilError) return rscHold;
      const s = get('isstable');
      // Heartbeat treats a missing isstable as unstable.
      if (s !== undefined && s !== '0' && s !== '1') return fieldError(t, `bad isstable=${s}`);
      return { t, rscHold, isstable: s === '1', info: get('info'), groups: groups() };
    }
    case 'ask_resources': {
      const rscHold = oneOf('rsc_hold', RSC_HOLDS);
      if (rscHold instanceof VigilError) return rscHold;
      const info = oneOf('info', ASK_INFOS);
      if (info instanceof VigilError) return info;
      return { t, rscHold, info, dest: get('dest'), groups: groups() };
    }
    case 'ip-request': {
      const ipaddr = need('ipaddr');
      if (ipaddr instanceof VigilError) return ipaddr;
      return { t, ipaddr };
    }
    case 'ip-request-resp': {
      const dest = need('dest');
      if (dest instanceof VigilError) return dest;
      const ipaddr = need('ipaddr');
      if (ipaddr instanceof VigilError) return ipaddr;
      const weown = oneOf('weown', ['yes', 'no'] as const);
      if (weown instanceof VigilError) return weown;
      return { t, dest, ipaddr, weown: weown === 'yes' };
    }
    case 'hb_takeover': {
      const rscHold = oneOf('rsc_hold', RSC_HOLDS);
      if (rscHold instanceof VigilError) return rscHold;
      return { t, rscHold };
    }
    case 'shutdone':
      return { t };
    case 'reqnodes': {
      const dest = need('dest');
      if (dest instanceof VigilError) return dest;
      return { t, dest };
    }
    case 'repnodes': {
      const dest = need('dest');
      if (dest instanceof VigilError) return dest;
      const nl = need('nodelist');
      if (nl instanceof VigilError) return nl;
      return { t, dest, nodelist: splitList(nl), delnodelist: splitList(get('delnodelist') ?? '') };
    }
    case 'stonith': {
      const node = need('node');
      if (node instanceof VigilError) return node;
      const result = oneOf('result', STONITH_RESULTS);
      if (result instanceof VigilError) return result;
      return { t, node, result };
    }
    case 'num_ping_nodes': {
      const n = need('num_ping');
      if (n instanceof VigilError) return n;
      if (!/^[0-9]{1,6}$/.test(n)) return fieldError(t, `bad num_ping=${n}`);
      return { t, numPing: Number(n), dest: get('dest') };
    }
    case 'you_are_dead':
    case 'abort_giveup':
      return { t, dest: get('dest') };
    default:
      return new VigilError('VIGIL_ERR_MSG_TYPE', `t=${t} is not an engine message`);
  }
}
