/**
 * What the daemon tells its observers as it happens: group transitions (with the engine's reason), peers and
 * links coming and going, health-check results and log lines. The HTTP event stream (`/api/v1/events`), the notify
 * hook, the history journal and the metrics all listen here, so none of them parses log text.
 *
 * Publishing is synchronous and cheap when nobody listens (one Set walk); a listener that throws is dropped rather
 * than allowed to break the path that published (the heartbeat path publishes link changes).
 */
import type { LogLevel } from './log.js';

/** Version of the event documents (`/api/v1/events`, the history journal, the notify FIFO): bumped on a change. */
export const EVENTS_VERSION = 1;

export interface TransitionEvent {
  readonly type: 'transition';
  /** Wall-clock ms. */
  readonly at: number;
  /** This node (the one whose state changed). */
  readonly node: string;
  readonly group: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  readonly cause: string;
  readonly peer?: string;
  /** On completions (acquiring → held, releasing → none): how long the move took, ms. */
  readonly durationMs?: number;
}

export interface PeerEvent {
  readonly type: 'peer';
  readonly at: number;
  readonly peer: string;
  /** alive, restarted, returned (after a partition), dead, shutdown (clean stop), status (new status word). */
  readonly change: 'alive' | 'restarted' | 'returned' | 'dead' | 'shutdown' | 'status';
  /** For ping nodes: `ping`. */
  readonly kind: 'node' | 'ping';
  readonly status?: string;
}

export interface LinkEvent {
  readonly type: 'link';
  readonly at: number;
  readonly peer: string;
  readonly link: string;
  readonly status: 'up' | 'dead';
}

export interface HealthEvent {
  readonly type: 'health';
  readonly at: number;
  readonly group: string;
  readonly check: string;
  readonly ok: boolean;
  readonly state: string;
  readonly detail?: string;
  readonly durationMs: number;
}

export interface LogEvent {
  readonly type: 'log';
  readonly at: number;
  readonly level: LogLevel;
  readonly text: string;
}

export type VigilEvent = TransitionEvent | PeerEvent | LinkEvent | HealthEvent | LogEvent;

export type EventListener = (e: VigilEvent) => void;

/** Listeners are few (HTTP streams are capped, plus notify, history, metrics): a bound on top of that. */
export const MAX_LISTENERS = 64;

export class EventBus {
  private readonly listeners = new Set<EventListener>();
  /** Listeners dropped because they threw (a bug in an observer must not reach the daemon). */
  dropped = 0;

  /** Returns the unsubscribe function; throws past MAX_LISTENERS (callers cap their own clients first). */
  on(l: EventListener): () => void {
    if (this.listeners.size >= MAX_LISTENERS) throw new Error('too many event listeners');
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  get size(): number {
    return this.listeners.size;
  }

  publish(e: VigilEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        this.listeners.delete(l);
        this.dropped++;
      }
    }
  }
}

/** Log levels from the least to the most severe, for `?level=` filters. */
export const LEVEL_ORDER: readonly LogLevel[] = ['debug', 'info', 'WARN', 'ERROR', 'CRIT'];

export function parseLevel(text: string | null): LogLevel | undefined {
  if (text === null) return undefined;
  const t = text.toLowerCase();
  if (t === 'warning') return 'WARN';
  return LEVEL_ORDER.find((l) => l.toLowerCase() === t);
}

export function atLeast(level: LogLevel, min: LogLevel): boolean {
  return LEVEL_ORDER.indexOf(level) >= LEVEL_ORDER.indexOf(min);
}
