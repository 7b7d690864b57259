import type { StatusSnapshot } from '../../src/control/protocol.js';

/** A StatusSnapshot of linux1 with no peers, groups or history; `o` adds what a test looks at. */
export function statusSnapshot(o: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    protocol: 1,
    version: '0.1.0',
    node: 'linux1',
    pid: 1,
    startedAt: 0,
    generation: 1,
    autoFailback: 'on',
    rscstatus: 'all',
    nodes: [],
    groups: [],
    transitions: [],
    parameters: {},
    fencing: [],
    ...o,
  };
}
