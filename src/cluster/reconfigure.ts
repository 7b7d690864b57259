/**
 * A reload applied to the engine: new or departed nodes, new, removed or changed groups, failback mode, STONITH
 * device. A group that did not change does not move. A removed group still running here is released, then
 * forgotten; a changed one (other resources) is released and then started again, with its new resources, by the
 * usual rule; a group whose preferred node changed goes there through auto_failback's own hand-over.
 */
import type { CompiledConfig } from '../config/types.js';
import { type EngineContext, type EngineOptions, type Out } from './context.js';
import { cancelStandby } from './standby.js';

export function reconfigure(
  c: EngineContext,
  out: Out,
  config: CompiledConfig,
  opts: EngineOptions,
  /** Groups whose resources changed (from the configuration diff): the engine only knows keys. */
  changed: readonly string[],
): void {
  const s = c.s;
  const oldKeys = new Set(c.groupKeys);
  const oldPref = new Map(c.groupKeys.map((g) => [g, c.pref(g)]));
  c.apply(config, opts);

  // Nodes: a new one is unknown until heard; a departed one is forgotten (the admin stopped it first).
  for (const n of c.nodes) if (n !== c.me && !s.peers.has(n)) s.peers.set(n, c.newPeer(n));
  for (const n of [...s.peers.keys()]) {
    if (c.nodes.includes(n)) continue;
    if (s.standby?.peer === n) cancelStandby(c, out, 'node removed');
    s.peers.delete(n);
    s.failbackPending.delete(n);
    s.takeovers.delete(n);
    for (const [g, h] of s.lastHolder) if (h === n) s.lastHolder.delete(g);
    out.push({ kind: 'cancelTimer', name: `flux:${n}` });
    out.push({ kind: 'cancelTimer', name: `stonith:${n}` });
  }

  // New groups start as nobody's here; the reconciler picks them up like any free group.
  for (const g of c.groupKeys) if (!oldKeys.has(g)) s.groups.set(g, 'none');

  for (const g of oldKeys) {
    if (c.isGroup(g)) continue;
    const st = s.groups.get(g);
    if (st === 'none' || st === undefined) {
      c.forget(g);
      continue;
    }
    // Still running here (or starting, or stopping): stopped first, forgotten once stopped.
    c.retiring.add(g);
    c.log(out, 'info', `Resource group ${g} is no longer in haresources: releasing it here.`);
    c.release(out, g, 'reload');
  }

  for (const g of changed) {
    if (!c.isGroup(g)) continue;
    const st = s.groups.get(g);
    if (st === 'held') {
      c.log(out, 'info', `Resource group ${g} changed in haresources: restarting it with its new resources.`);
      c.release(out, g, 'reload');
    } else if (st === 'acquiring') {
      c.restartPending.add(g);
    }
  }

  // A group held here whose preferred node is now an alive, stable peer goes there, as auto_failback would.
  if (c.autoFailback) {
    for (const g of c.groupKeys) {
      const pref = c.pref(g);
      if (oldPref.get(g) === pref || pref === c.me || s.groups.get(g) !== 'held') continue;
      const p = s.peers.get(pref);
      if (p !== undefined && p.alive && p.stable) s.failbackPending.add(pref);
    }
  }
}
