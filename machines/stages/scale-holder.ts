/**
 * Desired counts held for a downstream (Autoscaler, Deployment): write-back entries,
 * dirty until the downstream echoes the value, re-sent in every new session.
 */
import { stepLifecycle } from '../core/lifecycle.js';
import { withEntry, type SortedRecord } from '../core/sorted.js';
import type { MachineSet } from './machine-set.js';

export interface ScaleEntry {
  readonly desired: number;
  /** State of the scale-entry machine: `unsent`, `sent` or `applied`. */
  readonly lifecycle: string;
}

export type ScaleTable = SortedRecord<ScaleEntry>;

export function setDesired(machines: MachineSet, table: ScaleTable, fn: string, desired: number): ScaleTable {
  const entry = table[fn];
  if (entry !== undefined && entry.desired === desired) return table;
  const lifecycle = entry === undefined ? 'unsent' : stepLifecycle(machines.scaleEntry, entry.lifecycle, 'decide.set').state;
  return withEntry(table, fn, { desired, lifecycle });
}

export function markAllUnsent(machines: MachineSet, table: ScaleTable): ScaleTable {
  let next = table;
  for (const [fn, entry] of Object.entries(table))
    next = withEntry(next, fn, { ...entry, lifecycle: stepLifecycle(machines.scaleEntry, entry.lifecycle, 'session.opened').state });
  return next;
}

export function markApplied(machines: MachineSet, table: ScaleTable, fn: string, desired: number): ScaleTable {
  const entry = table[fn];
  if (entry === undefined || entry.desired !== desired) return table;
  const step = stepLifecycle(machines.scaleEntry, entry.lifecycle, 'downstream.applied');
  return step.changed ? withEntry(table, fn, { ...entry, lifecycle: step.state }) : table;
}

/** Forwards every unsent entry; returns the table and the records to send, in function order. */
export function forwardUnsentScales(machines: MachineSet, table: ScaleTable): { table: ScaleTable; sent: Array<{ function: string; desired: number }> } {
  let next = table;
  const sent: Array<{ function: string; desired: number }> = [];
  for (const [fn, entry] of Object.entries(table)) {
    const step = stepLifecycle(machines.scaleEntry, entry.lifecycle, 'forward');
    if (!step.changed) continue;
    next = withEntry(next, fn, { ...entry, lifecycle: step.state });
    if (step.actions.includes('sendScale')) sent.push({ function: fn, desired: entry.desired });
  }
  return { table: next, sent };
}
