/**
 * Bodies of the protocol messages the wire layer itself sends or that peers require an answer to,
 * field order as Heartbeat writes them (see the vectors).
 */
import { type WireMessage, msg, str } from './message.js';
import { hex } from './control.js';

export type NodeStatus = 'init' | 'up' | 'active' | 'dead' | 'ping';

/** `t=status`: `dt` is the sender's deadtime in ms (hex), `protocol=1` turns on flow control at the peer. */
export function statusBody(st: NodeStatus, deadtimeMs: number): WireMessage {
  return msg(str('t', 'status'), str('st', st), str('dt', hex(deadtimeMs)), str('protocol', '1'));
}

export function ackBody(dest: string, seq: number): WireMessage {
  return msg(str('t', 'NS_ackmsg'), str('dest', dest), str('ackseq', hex(seq)));
}

/** `firstseq`/`lastseq` are decimal here (ha_msg_add_int), unlike every other seqno. */
export function rexmitBody(dest: string, first: number, last: number): WireMessage {
  return msg(str('t', 'NS_rexmit'), str('dest', dest), str('firstseq', String(first)), str('lastseq', String(last)));
}

export type NakReason = 'seqno too low' | 'seqno not found';

/** Field order as heartbeat 3.0.6 builds it (t, firstseq, dest, info; read from the binary). */
export function nakBody(dest: string, seq: number, reason: NakReason): WireMessage {
  return msg(str('t', 'NS_nak_rexmit'), str('firstseq', hex(seq)), str('dest', dest), str('info', reason));
}

export function reqnodesBody(dest: string): WireMessage {
  return msg(str('t', 'reqnodes'), str('dest', dest));
}

/** A list as Heartbeat writes it: every name followed by a space; a lone space when empty. */
function nodeList(names: readonly string[]): string {
  return names.length === 0 ? ' ' : names.map((n) => `${n} `).join('');
}

/**
 * The answer to `reqnodes` (a real node stays out of `active` until it gets one): all configured
 * nodes, and the deleted ones.
 */
export function repnodesBody(dest: string, nodes: readonly string[], deleted: readonly string[] = []): WireMessage {
  return msg(
    str('dest', dest),
    str('t', 'repnodes'),
    str('nodelist', nodeList(nodes)),
    str('delnodelist', nodeList(deleted)),
  );
}
