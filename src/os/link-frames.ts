/**
 * What the gratuitous ARP (garp.ts) and the unsolicited Neighbour Advertisements (ndisc.ts) share: both are whole
 * Ethernet frames written on a send-only AF_PACKET socket, a few rounds apart, stopped early when the takeover that
 * asked for them is cancelled.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ARPHRD_ETHER, closeFd, interfaceHw, interfaceIndex, openPacketSocket, sendFrame } from './libc.js';
import { VigilError } from '../util/errors.js';

export interface EthernetInterface {
  readonly ifindex: number;
  readonly mac: Uint8Array;
}

/** The device's index and MAC; `what` names the announcement in the error when it has none or is not Ethernet. */
export function ethernetInterface(device: string, what: string): EthernetInterface {
  const ifindex = interfaceIndex(device);
  const hw = interfaceHw(device);
  if (ifindex === 0 || hw === undefined) {
    throw new VigilError('VIGIL_ERR_NO_DEVICE', `${what}: no such interface ${device}`);
  }
  if (hw.type !== ARPHRD_ETHER) {
    throw new VigilError('VIGIL_ERR_ARP_SEND', `${what}: ${device} is not an Ethernet device (type ${hw.type})`);
  }
  return { ifindex, mac: hw.address };
}

export interface LinkFrame {
  readonly frame: Uint8Array;
  readonly protocol: number;
  readonly destination: Uint8Array;
}

/** Sends every frame once a round, `count` rounds `intervalMs` apart; returns the rounds sent before any abort. */
export async function sendRounds(
  ifindex: number,
  frames: readonly LinkFrame[],
  count: number,
  intervalMs: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  // Protocol 0: this socket only sends, so the kernel queues no incoming frames on it.
  const fd = openPacketSocket(0);
  let sent = 0;
  try {
    for (let i = 0; i < count; i++) {
      if (signal?.aborted === true) break;
      if (i > 0 && intervalMs > 0) {
        try {
          await delay(intervalMs, undefined, { signal });
        } catch {
          break; // aborted
        }
      }
      for (const f of frames) sendFrame(fd, ifindex, f.frame, f.protocol, f.destination);
      sent++;
    }
  } finally {
    closeFd(fd);
  }
  return sent;
}
