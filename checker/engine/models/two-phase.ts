/**
 * Two-phase commit, as in the TLA+ example TwoPhase (Lamport, Gray): one transaction
 * manager (TM) and N resource managers (RMs) that exchange messages through a set that
 * only grows. A standard model for measuring the engine itself (bench/checker.ts): TLC's
 * counts are known (296,448 distinct states at N = 7, 10,340,352 at N = 9).
 *
 * The state is packed into two int32 words:
 *   rms      2 bits per RM: 0 working, 1 prepared, 2 committed, 3 aborted
 *   control  bits 0-1 tmState (0 init, 1 committed, 2 aborted), bit 2 the Commit message,
 *            bit 3 the Abort message, then N bits tmPrepared, then N bits of Prepared messages
 * Actions are numbers: kind * N + rm for the per-RM kinds, in the order of `twoPhaseKinds`.
 */
import { finish, type Fingerprint } from '../fingerprint.js';
import type { Model, ModelViolation } from '../model.js';

export interface TwoPhaseState {
  readonly rms: number;
  readonly control: number;
}

/** The actions of TwoPhase.tla; TMCommit and TMAbort take no RM (their rm part is 0). */
export const twoPhaseKinds = ['TMRcvPrepared', 'RMPrepare', 'RMChooseToAbort', 'RMRcvCommitMsg', 'RMRcvAbortMsg', 'TMCommit', 'TMAbort'] as const;

const working = 0;
const prepared = 1;
const committed = 2;
const aborted = 3;
const tmInit = 0;
const tmCommitted = 1;
const tmAborted = 2;
const commitMessage = 4;
const abortMessage = 8;
/** RMs the packing holds: 4 + 2N control bits in one int32 word. */
export const twoPhaseResourceManagersMax = 14;

const none: readonly ModelViolation[] = [];

export function twoPhaseModel(resourceManagers: number): Model<TwoPhaseState, number> {
  const n = resourceManagers;
  if (!Number.isInteger(n) || n < 1 || n > twoPhaseResourceManagersMax) throw new RangeError(`TwoPhase takes 1 to ${twoPhaseResourceManagersMax} resource managers, not ${n}`);
  const tmPreparedAt = 4;
  const messagesAt = 4 + n;
  const all = (1 << n) - 1;
  const rmOf = (s: TwoPhaseState, r: number) => (s.rms >>> (2 * r)) & 3;
  const withRm = (s: TwoPhaseState, r: number, value: number): TwoPhaseState => ({ rms: (s.rms & ~(3 << (2 * r))) | (value << (2 * r)), control: s.control });
  const kind = (name: (typeof twoPhaseKinds)[number]) => twoPhaseKinds.indexOf(name) * n;
  const [tmRcvPrepared, rmPrepare, rmChooseToAbort, rmRcvCommit, rmRcvAbort, tmCommit, tmAbort] = twoPhaseKinds.map((k) => kind(k)) as [number, number, number, number, number, number, number];

  return {
    name: `TwoPhase (${n} resource managers)`,
    initialState: () => ({ rms: 0, control: 0 }),
    actions(s) {
      const actions: number[] = [];
      const tm = s.control & 3;
      const tmPrepared = (s.control >>> tmPreparedAt) & all;
      const preparedMessages = (s.control >>> messagesAt) & all;
      for (let r = 0; r < n; r++) {
        const rm = rmOf(s, r);
        if (tm === tmInit && ((preparedMessages >>> r) & 1) === 1) actions.push(tmRcvPrepared + r);
        if (rm === working) actions.push(rmPrepare + r, rmChooseToAbort + r);
        if ((s.control & commitMessage) !== 0) actions.push(rmRcvCommit + r);
        if ((s.control & abortMessage) !== 0) actions.push(rmRcvAbort + r);
      }
      if (tm === tmInit && tmPrepared === all) actions.push(tmCommit);
      if (tm === tmInit) actions.push(tmAbort);
      return actions;
    },
    next(s, action) {
      const r = action % n;
      switch (action - r) {
        case tmRcvPrepared:
          return { state: { rms: s.rms, control: s.control | (1 << (tmPreparedAt + r)) }, violations: none };
        case rmPrepare:
          return { state: { rms: withRm(s, r, prepared).rms, control: s.control | (1 << (messagesAt + r)) }, violations: none };
        case rmChooseToAbort:
          return { state: withRm(s, r, aborted), violations: none };
        case rmRcvCommit:
          return { state: withRm(s, r, committed), violations: none };
        case rmRcvAbort:
          return { state: withRm(s, r, aborted), violations: none };
        case tmCommit:
          return { state: { rms: s.rms, control: (s.control & ~3) | tmCommitted | commitMessage }, violations: none };
        case tmAbort:
          return { state: { rms: s.rms, control: (s.control & ~3) | tmAborted | abortMessage }, violations: none };
        default:
          throw new RangeError(`TwoPhase has no action ${action}`);
      }
    },
    key: (s) => `${s.rms},${s.control}`,
    fingerprint: (s: TwoPhaseState): Fingerprint => {
      let a = Math.imul(0x811c9dc5 ^ s.rms, 0x01000193);
      a = Math.imul(a ^ s.control, 0x01000193);
      let b = Math.imul(0x9747b28c ^ s.rms, 0x5bd1e995);
      b ^= b >>> 15;
      b = Math.imul(b ^ s.control, 0x5bd1e995);
      b ^= b >>> 13;
      return finish(a, b);
    },
    // TCConsistent: no RM has committed while another has aborted.
    invariants(s) {
      let sawCommitted = false;
      let sawAborted = false;
      for (let r = 0; r < n; r++) {
        const rm = rmOf(s, r);
        if (rm === committed) sawCommitted = true;
        else if (rm === aborted) sawAborted = true;
      }
      return sawCommitted && sawAborted ? [{ property: 'TC-CONSISTENT', message: 'one resource manager committed and another aborted' }] : none;
    },
    fairness: () => null,
    describe: (action) => (action >= tmCommit ? (twoPhaseKinds[action / n] as string) : `${twoPhaseKinds[Math.floor(action / n)] as string}(rm${action % n})`),
    packedWidth: 2,
    pack(s, into, at) {
      into[at] = s.rms;
      into[at + 1] = s.control;
    },
    unpack: (from, at) => ({ rms: from[at] as number, control: from[at + 1] as number }),
  };
}

/** For worker threads of the parallel search (ModelFactory): the argument is N. */
export function twoPhaseModelOf(resourceManagers: number): Model<TwoPhaseState, number> {
  return twoPhaseModel(resourceManagers);
}
