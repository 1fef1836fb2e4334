/**
 * Desired counts held for a downstream (Autoscaler, Deployment): write-back entries,
 * dirty until the downstream echoes the value, re-sent in every new session.
 */
import { assert, unreachable } from '../core/assert.js';
import { stepLifecycle } from '../core/lifecycle.js';
import { withEntry, type SortedRecord } from '../core/sorted.js';
import type { ScaleEntryEvent, ScaleEntryState } from '../scale/scale-entry.machine.js';
import type { MachineSet } from './machine-set.js';

export interface ScaleEntry {
  readonly desired: number;
  /** State of the scale-entry machine: `unsent`, `sent` or `applied`. */
  readonly lifecycle: ScaleEntryState;
}

export type ScaleTable = SortedRecord<ScaleEntry>;

type ScaleToSend = { function: string; desired: number };

/**
 * Steps one entry's machine and carries out its actions: `sendScale` adds the count to
 * `sent` (the caller sends it). Returns the entry, the same object when nothing changed.
 */
function stepScaleEntry(machines: MachineSet, fn: string, entry: ScaleEntry, event: ScaleEntryEvent, sent: ScaleToSend[]): ScaleEntry {
  const step = stepLifecycle(machines.scaleEntry, entry.lifecycle, event);
  for (const action of step.actions) {
    switch (action) {
      case 'sendScale':
        sent.push({ function: fn, desired: entry.desired });
        break;
      default:
        unreachable(action, 'scale entry action');
    }
  }
  return step.changed ? { desired: entry.desired, lifecycle: step.state } : entry;
}

/** Steps an entry on an event that sends nothing (asserted: the machine emits no `sendScale` there). */
function stepQuietly(machines: MachineSet, fn: string, entry: ScaleEntry, event: ScaleEntryEvent): ScaleEntry {
  const sent: ScaleToSend[] = [];
  const next = stepScaleEntry(machines, fn, entry, event, sent);
  assert(sent.length === 0, `a scale entry sends only when forwarded, not on ${event}`);
  return next;
}

export function setDesired(machines: MachineSet, table: ScaleTable, fn: string, desired: number): ScaleTable {
  const entry = table[fn];
  if (entry !== undefined && entry.desired === desired) return table;
  const lifecycle = entry === undefined ? 'unsent' : stepQuietly(machines, fn, entry, 'decide.set').lifecycle;
  return withEntry(table, fn, { desired, lifecycle });
}

export function markAllUnsent(machines: MachineSet, table: ScaleTable): ScaleTable {
  let next = table;
  for (const [fn, entry] of Object.entries(table)) next = withEntry(next, fn, stepQuietly(machines, fn, entry, 'session.opened'));
  return next;
}

export function markApplied(machines: MachineSet, table: ScaleTable, fn: string, desired: number): ScaleTable {
  const entry = table[fn];
  if (entry === undefined || entry.desired !== desired) return table;
  const next = stepQuietly(machines, fn, entry, 'downstream.applied');
  return next === entry ? table : withEntry(table, fn, next);
}

/** Forwards every unsent entry; returns the table and the records to send, in function order. */
export function forwardUnsentScales(machines: MachineSet, table: ScaleTable): { table: ScaleTable; sent: ScaleToSend[] } {
  let next = table;
  const sent: ScaleToSend[] = [];
  for (const [fn, entry] of Object.entries(table)) {
    const stepped = stepScaleEntry(machines, fn, entry, 'forward', sent);
    if (stepped !== entry) next = withEntry(next, fn, stepped);
  }
  return { table: next, sent };
}
