/**
 * What a case works with: the testee (restart, kill), the reference peers and their
 * links (faults), steps, checks that name requirements, and waits that fail with the
 * requirement they were waiting for.
 */
import * as grpc from '@grpc/grpc-js';
import type { Role, StageId } from '../../machines/index.js';
import { statusOfReason, type ErrorReason } from '../../runtime/wire/errors.js';
import { ScalerClient } from '../../runtime/wire/proto.js';
import type { LaunchConfig } from '../../runtime/launch-config.js';
import { outcomeOf, type ClientStream, type ServerStream, type StreamOutcome } from './links.js';
import type { PeerChain } from './peer-chain.js';
import type { LogEntry, RunLog } from './run-log.js';
import type { SeededRandom as Random } from '../../simulator/random.js';
import { stopMsMax, type TesteeProcess } from './launch.js';

/** How a violation of the launch contract's stop rule is named (spec/11, launch contract item 5: stop within 5 s of SIGTERM). */
/** Terminations during one timed-out wait from which the wait's message calls it churn. */
const churnRecordsMin = 10;

export const launchContractStop = 'LAUNCH-STOP (spec/11 launch contract 5)';

/** A case that cannot run in this mode (e.g. it restarts the testee under --attach). */
export class CaseSkipped extends Error {
  override readonly name = 'CaseSkipped';
}

export class CaseContext {
  constructor(
    readonly role: Role,
    readonly stage: StageId,
    readonly launch: LaunchConfig,
    readonly chain: PeerChain,
    readonly log: RunLog,
    readonly random: Random,
    private readonly testee: TesteeProcess | null,
  ) {}

  step(name: string): void {
    this.log.beginStep(name);
  }

  /**
   * Records a violation of `requirements` unless `ok`. Returns ok. With `frame` (the log
   * entry of the testee's frame that broke the rule) the violation is blamed on the step in
   * which that frame arrived, not on the step that made the check.
   */
  check(requirements: readonly string[], ok: boolean, message: string, frame?: LogEntry): boolean {
    if (!ok) this.log.violation(requirements, message, frame);
    return ok;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /**
   * Polls `predicate` (which may ask the testee, e.g. Inspect) until it holds; after
   * `timeoutMs` records a violation of `requirements` saying what was awaited (`what`, or
   * what it says at the end, e.g. with the last answer seen).
   */
  async waitFor(requirements: readonly string[], what: string | (() => string), predicate: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const since = this.log.entries.length;
    while (Date.now() < deadline) {
      if (await predicate()) return true;
      await this.sleep(10);
    }
    if (await predicate()) return true;
    const awaited = typeof what === 'string' ? what : what();
    this.log.violation(requirements, `after ${(timeoutMs / 1000).toFixed(1)} s still waiting for: ${awaited}${this.activitySince(since)}`);
    return false;
  }

  /**
   * What the testee sent since log entry `since`, by kind and record count, so that a wait
   * that timed out points at what the testee did instead: nothing, or endless churn
   * (terminations and preemptions that never stop).
   */
  private activitySince(since: number): string {
    const counts = new Map<string, number>();
    for (const e of this.log.entries.slice(since)) {
      if (e.kind !== 'frame' || e.from !== this.stage) continue;
      const body = e.summary.split(' ')[0] ?? '?';
      const list = /\[(.*)\]/.exec(e.summary)?.[1]?.trim() ?? '';
      counts.set(body, (counts.get(body) ?? 0) + (list === '' ? 1 : list.split(/\s+/).length));
    }
    if (counts.size === 0) return '; meanwhile the testee sent nothing';
    const sent = [...counts].map(([body, n]) => `${body} x${n}`).join(', ');
    const terminations = (counts.get('tombstone') ?? 0) + (counts.get('preempted') ?? 0);
    return terminations >= churnRecordsMin ? `; meanwhile the testee kept terminating pods, endless churn (${sent})` : `; meanwhile the testee sent ${sent}`;
  }

  /** Whether `predicate` holds during the whole of `ms` (checked every 10 ms); a violation of `requirements` the first time it does not. */
  async holdsFor(requirements: readonly string[], what: string, predicate: () => boolean, ms: number): Promise<boolean> {
    const held = await this.watch(predicate, ms);
    if (!held) this.log.violation(requirements, `expected to hold for ${ms} ms, but did not: ${what}`);
    return held;
  }

  /**
   * Whether `predicate` holds during the whole of `ms` (checked every 10 ms), returning at the
   * first time it does not. Records nothing: for a caller that judges what broke it itself
   * (e.g. blaming the frame that did).
   */
  async watch(predicate: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!predicate()) return false;
      await this.sleep(10);
    }
    return predicate();
  }

  get canRestart(): boolean {
    return this.testee !== null;
  }

  private requireProcess(): TesteeProcess {
    if (this.testee === null) throw new CaseSkipped('the case restarts the testee, which --attach cannot do');
    return this.testee;
  }

  /** SIGKILL of the testee, then the same command again (a crash-restart); waits for readiness. */
  async restartTestee(): Promise<void> {
    const testee = this.requireProcess();
    this.log.add({ kind: 'fault', from: 'suite', to: this.stage, summary: 'SIGKILL of the testee, then a restart' });
    await testee.kill();
    for (const server of this.chain.fromTestee.values()) server.testeeRestarted = true;
    await testee.start();
    this.log.add({ kind: 'note', from: 'suite', to: this.stage, summary: 'the testee is ready again' });
  }

  /** SIGTERM to the testee, which must stop within 5 s (spec/11 launch contract 5; SIGKILL after that), then the same command again; waits for readiness. */
  async stopAndStartTestee(requirements: readonly string[]): Promise<void> {
    const testee = this.requireProcess();
    this.log.add({ kind: 'fault', from: 'suite', to: this.stage, summary: 'SIGTERM to the testee (an orderly stop), then a start' });
    const started = Date.now();
    const stopped = await testee.stopCompletely();
    this.check([...requirements, launchContractStop], stopped, `the testee did not stop within ${stopMsMax / 1000} s of SIGTERM and was killed with SIGKILL`);
    this.log.add({ kind: 'note', from: 'suite', to: this.stage, summary: `the testee stopped ${stopped ? `after ${Date.now() - started} ms` : '(killed)'}` });
    for (const server of this.chain.fromTestee.values()) server.testeeRestarted = true;
    await testee.start();
    this.log.add({ kind: 'note', from: 'suite', to: this.stage, summary: 'the testee is ready again' });
  }

  /** A new desired count: Scaler.SetScale at a testee Autoscaler, else at the Autoscaler peer. */
  async scale(fn: string, desired: number): Promise<void> {
    if (this.role !== 'autoscaler') return this.chain.scale(fn, desired);
    this.log.add({ kind: 'fault', from: 'suite', to: this.stage, summary: `Scaler.SetScale ${fn}=${desired}` });
    const outcome = await setScale(this.launch.listen, fn, desired);
    this.log.add({ kind: 'status', from: this.stage, to: 'suite', summary: `SetScale answered: ${outcome.code === grpc.status.OK ? 'OK' : `${grpc.status[outcome.code]} ${outcome.details}`}` });
    this.check(['REQ-SCALE-001'], outcome.code === grpc.status.OK, `Scaler.SetScale ${fn}=${desired} failed: ${grpc.status[outcome.code]} ${outcome.details}`);
  }

  /**
   * Waits for a stream to end with `reason`: a Rejected frame with it (REQ-WIRE-005), its gRPC
   * status (REQ-WIRE-006), and the status's ErrorDetail with the same reason and epoch (10
   * §Errors). `epoch`, when given, is the epoch the Rejected frame must carry.
   */
  async expectRejection(stream: ClientStream | ServerStream, reason: ErrorReason, requirements: readonly string[], what: string, timeoutMs = 3_000, epoch?: number): Promise<boolean> {
    const outcome = await outcomeOf(stream, timeoutMs);
    if (outcome === null) {
      const accepted = 'snapshotDone' in stream && stream.snapshotDone;
      this.log.violation(requirements, `${what}: ${accepted ? 'the testee accepted it and answered with a snapshot' : `the testee did not end the stream within ${timeoutMs / 1000} s`} (expected ${reason})`);
      return false;
    }
    const rejected = stream.rejections.map((r) => r.reason);
    let ok = true;
    if (!rejected.includes(reason)) {
      ok = false;
      this.log.violation(
        rejected.length === 0 ? [...requirements, 'REQ-WIRE-005'] : [...requirements, 'REQ-WIRE-006'],
        rejected.length === 0 ? `${what}: the stream ended (${grpc.status[outcome.code]}) without a Rejected frame ${reason}` : `${what}: rejected as ${rejected.join(', ')}, expected ${reason}`,
      );
    }
    const code = statusOfReason[reason];
    if (outcome.code !== code) {
      ok = false;
      this.log.violation(['REQ-WIRE-005', 'REQ-WIRE-006'], `${what}: the stream ended with gRPC status ${grpc.status[outcome.code]}, expected ${grpc.status[code]} for ${reason}`);
    }
    const frame = stream.rejections.find((r) => r.reason === reason);
    if (frame !== undefined && epoch !== undefined && frame.epoch !== epoch) {
      ok = false;
      this.log.violation(['REQ-WIRE-005'], `${what}: the Rejected frame carries epoch ${frame.epoch}, expected ${epoch}`);
    }
    return this.checkErrorDetail(outcome, frame, reason, what) && ok;
  }

  /** The ErrorDetail a rejection's status must carry in `grpc-status-details-bin` (REQ-WIRE-005, 10 §Errors), matching its Rejected frame. */
  private checkErrorDetail(outcome: StreamOutcome, frame: { reason: string; epoch: number } | undefined, reason: ErrorReason, what: string): boolean {
    const detail = outcome.errorDetail ?? null;
    if (detail === null)
      return this.check(['REQ-WIRE-005'], false, `${what}: the status carries no kubedirect.v1.ErrorDetail in its grpc-status-details-bin trailer (a google.rpc.Status, spec/google/rpc/status.proto)`);
    const problems: string[] = [];
    if (detail.reason !== reason) problems.push(`reason ${detail.reason}, expected ${reason}`);
    if (frame !== undefined && detail.epoch !== frame.epoch) problems.push(`epoch ${detail.epoch}, but the Rejected frame says ${frame.epoch}`);
    if (detail.message !== outcome.details) problems.push(`message "${detail.message}", but the status message is "${outcome.details}"`);
    return this.check(['REQ-WIRE-005'], problems.length === 0, `${what}: the ErrorDetail has ${problems.join('; ')}`);
  }
}

function setScale(address: string, fn: string, desired: number): Promise<{ code: grpc.status; details: string }> {
  const client = new ScalerClient(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (client as unknown as { SetScale: (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void }).SetScale(
      { function: fn, desired },
      { deadline: Date.now() + 5_000 },
      (error) => {
        client.close();
        resolve(error === null ? { code: grpc.status.OK, details: '' } : { code: error.code, details: error.details });
      },
    );
  });
}

/** A raw Scaler.SetScales call: several desired counts, all or nothing (REQ-SCALE-007). */
function setScales(address: string, scales: ReadonlyArray<{ function: string; desired: number }>): Promise<{ code: grpc.status; details: string }> {
  const client = new ScalerClient(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (client as unknown as { SetScales: (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void }).SetScales(
      { scales },
      { deadline: Date.now() + 5_000 },
      (error) => {
        client.close();
        resolve(error === null ? { code: grpc.status.OK, details: '' } : { code: error.code, details: error.details });
      },
    );
  });
}

/** Raw Scaler.SetScale and SetScales calls (for the Autoscaler's input validation cases). */
export { setScale, setScales };
