import type { Command } from 'commander';

// Placeholder replaced by the lab work (issue 3).
export function registerLab(_program: Command): void {
  /* no lab verbs yet */
}
