/**
 * Bodies of the protocol messages the wire layer itself sends or that peers require an answer to,
 * field order as Heartbeat writes them (see the vectors).
 */
import { type WireMessage, msg, str } from './message.js';
import { hex } from './control.js';

import type { NodeStatus } from '../util/vocabulary.js';

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
