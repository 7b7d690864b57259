/** Events in, actions out: the contract between the pure cluster engine and the daemon. */
import type { EngineMessage, RscHold } from './protocol.js';
import type { MembershipEvent } from '../membership/membership.js';
import type { LogLevel, QuorumView } from '../util/vocabulary.js';

export type { QuorumView };

export type StandbyWhich = 'all' | 'local' | 'foreign';

export type OperatorCommand =
  /** `hb_standby all|local|foreign` (`failback` = `foreign`). */
  | { readonly op: 'standby'; readonly which: StandbyWhich }
  /** `hb_takeover all|local|foreign`: ask the peer to go standby with the complement. */
  | { readonly op: 'takeover'; readonly which: StandbyWhich }
  /** Graceful stop (SIGTERM, `vigil stop`): hand everything over, then `shutdone`. */
  | { readonly op: 'shutdown' };

export type ClusterEvent =
  | { readonly kind: 'commUp' }
  /** `generation` = the incarnation heard (messages carry it too, so late ones can be told apart). */
  | {
      readonly kind: 'nodeAlive';
      readonly node: string;
      readonly generation?: number;
      /** Its first status said `active`: it is past its own start-up, running what it holds (not a fresh start). */
      readonly active?: boolean;
    }
  | { readonly kind: 'nodeRestarted'; readonly node: string; readonly generation?: number }
  | { readonly kind: 'nodeReturned'; readonly node: string; readonly generation?: number }
  | { readonly kind: 'nodeDead'; readonly node: string; readonly generation?: number }
  | { readonly kind: 'nodeShutdown'; readonly node: string }
  /** A decoded message from a peer (never our own echo). */
  | {
      readonly kind: 'message';
      readonly from: string;
      readonly generation: number;
      readonly msg: EngineMessage;
      /**
       * A holdings announcement older than one already applied from that peer (a late retransmission): what it
       * says about the peer's holdings is out of date, but a `starting` still wants our answer.
       */
      readonly stale?: boolean;
    }
  /** A timer the engine set (`setTimer`) has fired. */
  | { readonly kind: 'timer'; readonly name: string }
  | { readonly kind: 'command'; readonly command: OperatorCommand }
  | { readonly kind: 'acquireDone'; readonly group: string; readonly ok: boolean }
  | { readonly kind: 'releaseDone'; readonly group: string; readonly ok: boolean }
  | { readonly kind: 'stonithDone'; readonly node: string; readonly ok: boolean }
  /** A held group stopped running by itself (its VIP lease ran out during a local stall): release the rest. */
  | { readonly kind: 'groupLost'; readonly group: string; readonly reason: string }
  /**
   * A service health check decided whether this node may run the group (Vigil only). Not eligible: the engine
   * hands the group to a peer if it holds it, never acquires it, and refuses standby requests that would hand it
   * here; eligible again (operator cleanup) lifts all that.
   */
  | { readonly kind: 'eligibility'; readonly group: string; readonly eligible: boolean; readonly reason?: string }
  // ---- vigil_quorum etcd (cluster/ownership.ts): the answers of the quorum layer, and what etcd says
  /** The answer to `claim`: the key is ours under `lease` (created at `revision`: the fencing token), or not. */
  | { readonly kind: 'claimDone'; readonly group: string; readonly result: ClaimResult }
  /** The answer to `disown`: the key is deleted (or its lease left to expire: etcd could not be reached). */
  | { readonly kind: 'disownDone'; readonly group: string }
  /** What etcd says of a group's key (a watch event, or a read after reconnecting): its owner, or absent. */
  | {
      readonly kind: 'keyState';
      readonly group: string;
      readonly owner: KeyOwner | undefined;
      readonly revision: number;
    }
  /** This node's lease for the group can no longer be trusted to be alive (not renewed in time). */
  | { readonly kind: 'ownershipLost'; readonly group: string; readonly reason: string }
  /** etcd can (or can no longer) be reached: the watch is up and every key was read, or it is down. */
  | { readonly kind: 'quorumReachable'; readonly reachable: boolean };

/** Who owns a group's key in etcd: the node named in its value, under its lease (an etcd lease id, decimal). */
export interface KeyOwner {
  readonly node: string;
  readonly lease: string;
}

export type ClaimResult =
  | { readonly ok: true; readonly lease: string; readonly revision: number }
  /** `owner`: the key exists (held by it); without one, etcd could not be reached or refused (`error`). */
  | { readonly ok: false; readonly owner?: KeyOwner; readonly revision?: number; readonly error?: string };

export type ClusterAction =
  /** Broadcast (the message carries `dest` itself when it has one). */
  | { readonly kind: 'send'; readonly msg: EngineMessage }
  /** Start a group (left to right). Answer with `acquireDone`. */
  | { readonly kind: 'acquire'; readonly group: string }
  /** Stop a group (right to left). Answer with `releaseDone`. */
  | { readonly kind: 'release'; readonly group: string }
  /**
   * Announce a held group's addresses again (gratuitous ARP): a peer that held it too (a healed partition) is
   * letting go of it, and clients may still be sending to the peer's MAC.
   */
  | { readonly kind: 'reannounce'; readonly group: string }
  | { readonly kind: 'log'; readonly level: LogLevel; readonly text: string }
  /** A group changed state here; `vigil status`, the history and the metrics are built from these. */
  | { readonly kind: 'transition'; readonly transition: GroupTransition }
  /** Reset a node through the configured STONITH device. Answer with `stonithDone`. */
  | { readonly kind: 'stonith'; readonly node: string }
  /** (Re)arm a one-shot timer; a timer of the same name is replaced. Answer with `timer`. */
  | { readonly kind: 'setTimer'; readonly name: string; readonly ms: number }
  | { readonly kind: 'cancelTimer'; readonly name: string }
  /** Everything released and `shutdone` sent: the daemon may exit. */
  | { readonly kind: 'shutdownComplete' }
  /** A resource could not be stopped: Heartbeat reboots the node (`Resource STOP failure`). */
  | { readonly kind: 'reboot'; readonly reason: string }
  /** vigil_quorum etcd: create the group's key under a new lease of ours, only if absent. Answer with `claimDone`. */
  | { readonly kind: 'claim'; readonly group: string }
  /** vigil_quorum etcd: the group is stopped here: revoke its lease (deleting the key). Answer with `disownDone`. */
  | { readonly kind: 'disown'; readonly group: string; readonly lease: string };

/** What this node does with one group. `stuck` = a stop failed; treated as held for safety. */
export type GroupState = 'none' | 'acquiring' | 'held' | 'releasing' | 'stuck';

/** Why a group moves. A move's completion (acquiring → held, releasing → none) carries the reason it started with. */
export type MoveReason =
  /** Taken at start-up (initial acquisition). */
  | 'initial'
  /** A dead peer's group (mach_down takeover). */
  | 'takeover'
  /** Nobody held it, and this node is the one to pick it up. */
  | 'adopt'
  /** hb_standby / hb_takeover, on either side of the hand-over. */
  | 'standby'
  /** auto_failback: handed back to its preferred node. */
  | 'failback'
  /** Graceful stop. */
  | 'shutdown'
  /** Held on both sides of a healed partition: the loser lets go. */
  | 'heal'
  /** Heartbeat's legacy ip-request protocol (auto_failback legacy). */
  | 'legacy'
  /** A resource failed to start: the group is stopped and handed over. */
  | 'start-failed'
  /** A resource failed to stop: the group is stuck here. */
  | 'stop-failed'
  /** Its address vanished by itself (the VIP lease ran out during a local stall). */
  | 'lost'
  /** A health check ruled this node out for the group. */
  | 'ineligible'
  /** A reload removed the group, or changed its resources. */
  | 'reload'
  /** vigil_quorum etcd: the key is another node's (a claim refused), or this node's lease could not be kept. */
  | 'quorum';

export const MOVE_REASONS: readonly MoveReason[] = [
  'initial',
  'takeover',
  'adopt',
  'standby',
  'failback',
  'shutdown',
  'heal',
  'legacy',
  'start-failed',
  'stop-failed',
  'lost',
  'ineligible',
  'reload',
  'quorum',
];

export interface GroupTransition {
  readonly group: string;
  readonly from: GroupState;
  readonly to: GroupState;
  readonly reason: MoveReason;
  /** The event being handled when it happened (`nodeDead linux1`, `command standby all`, `message resource from linux2`). */
  readonly cause: string;
  /** The other node involved: the dead one, the standby partner, the other holder, the requester. */
  readonly peer?: string;
}

/**
 * init: comm not up yet; starting: sent `starting`, waiting for the peers' `resource`;
 * stable: normal operation; shutdown: giving everything up; down: `shutdone` sent.
 */
export type ResourceState = 'init' | 'starting' | 'stable' | 'shutdown' | 'down';

export interface PeerView {
  readonly name: string;
  readonly alive: boolean;
  readonly stable: boolean;
  readonly holdsKnown: boolean;
  readonly holds: readonly string[];
  readonly shuttingDown: boolean;
}

export interface ClusterSnapshot {
  readonly node: string;
  readonly rstate: ResourceState;
  /** `cl_status rscstatus`: none/local/foreign/all/transition. */
  readonly rscstatus: RscHold | 'transition';
  readonly groups: ReadonlyArray<{ readonly key: string; readonly preferred: string; readonly state: GroupState }>;
  readonly peers: readonly PeerView[];
  readonly standby: string | undefined;
  /** Groups this node must not run (health checks), with the reason. */
  readonly ineligible: Readonly<Record<string, string>>;
  /** vigil_quorum etcd: whether etcd answers, and each group's key as last known (absent = not known). */
  readonly quorum?: QuorumView;
}

/** Translate a membership event into the engine event it implies (log/link/ping events have none). */
export function clusterEventOf(ev: MembershipEvent): ClusterEvent | undefined {
  switch (ev.kind) {
    case 'commUp':
      return { kind: 'commUp' };
    case 'nodeAlive':
      return { kind: 'nodeAlive', node: ev.node, generation: ev.generation, active: ev.status === 'active' };
    case 'nodeRestarted':
      return { kind: 'nodeRestarted', node: ev.node, generation: ev.generation };
    case 'nodeReturned':
      return { kind: 'nodeReturned', node: ev.node, generation: ev.generation };
    case 'nodeDead':
      return { kind: 'nodeDead', node: ev.node, generation: ev.generation };
    case 'nodeShutdown':
      return { kind: 'nodeShutdown', node: ev.node };
    case 'log':
    case 'statusChanged':
    case 'linkUp':
    case 'linkDead':
    case 'pingNodeAlive':
    case 'pingNodeDead':
    case 'localStall':
      return undefined;
  }
}
