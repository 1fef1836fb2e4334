/**
 * The wire fuzzer (issue 17): against a real cluster (every stage its own process, real
 * gRPC over loopback), inputs built from spec/kubedirect.proto and damaged field by field
 * (wire-fuzz-inputs.ts), random bytes, and gRPC and HTTP/2 framing errors, each sent to a
 * service of a stage: Link on the Deployment, ReplicaSet, Scheduler and Kubelet, Scaler
 * on the Autoscaler, Inspect and the standard Health/Check on all five. Each input must get a status the spec allows for
 * it (spec/10-wire-protocol.md §Errors: the reason's own code and an ErrorDetail; MALFORMED
 * for every byte string the strict decoder refuses), change no protocol state (Inspect of
 * the stage before the run and after the input), and leave the stage serving; after the
 * run the chain still converges. Prints a table of inputs and statuses by kind.
 *
 * Bounded: WIRE_FUZZ_INPUTS inputs (default 300) or WIRE_FUZZ_SECONDS seconds (default
 * 40), whichever comes first. `npm run fuzz` runs 3,000 inputs for up to 10 minutes.
 * Inputs come from a seed (printed; WIRE_FUZZ_SEED replays a run).
 */
import { mkdtempSync } from 'node:fs';
import * as http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScale } from '../../cli/cluster-commands.js';
import { stagesOf, type StageId } from '../../machines/index.js';
import { pidOf, processIsAlive, removeCluster } from '../cluster/local-cluster.js';
import { waitConverged } from '../cluster/status.js';
import type { ClusterConfig } from '../config.js';
import { errorReasons, statusOfReason, type ErrorReason } from '../wire/errors.js';
import { healthSchema } from '../wire/health.js';
import { wireSchema } from '../wire/proto.js';
import { decodeStrict, type Schema } from '../wire/strict-decoder.js';
import { testWaitMsMax } from '../../test/wait-until.js';
import { protocolStateOf as protocolStateOfStage, startConvergedCluster } from './converged-cluster.js';
import { grpcMessage, healthCheckPath, inspectGetStatePath, linkSessionPath, rawHttp2Call, rawSession, rawUnary, scalerSetScalePath, scalerSetScalesPath } from './raw-grpc.js';
import { framingKinds, messageInput, type InputKind } from './wire-fuzz-inputs.js';

const inputsMax = Number(process.env['WIRE_FUZZ_INPUTS'] ?? 300);
const secondsMax = Number(process.env['WIRE_FUZZ_SECONDS'] ?? 40);
const seed = Number(process.env['WIRE_FUZZ_SEED'] ?? Date.now() % 2 ** 31);

const dir = mkdtempSync(join(tmpdir(), 'kd-fuzz-'));
let config: ClusterConfig;
const desired = 4;

/** A service, or for the Scaler one of its two methods (SetScale, SetScales). */
type Service = 'Link' | 'Scaler' | 'ScalerSetScales' | 'Inspect' | 'Health';
interface Target {
  readonly stage: StageId;
  readonly service: Service;
}

const targets: readonly Target[] = [
  ...(['deployment', 'replicaset', 'scheduler', 'kubelet:n1'] as const).map((stage) => ({ stage, service: 'Link' as const })),
  { stage: 'autoscaler', service: 'Scaler' },
  { stage: 'autoscaler', service: 'ScalerSetScales' },
  ...(['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet:n1'] as const).map((stage) => ({ stage, service: 'Inspect' as const })),
  ...(['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet:n1'] as const).map((stage) => ({ stage, service: 'Health' as const })),
];

const typeOfService: Readonly<Record<Service, string>> = {
  Link: 'kubedirect.v1.UpstreamFrame',
  Scaler: 'kubedirect.v1.ScaleRequest',
  ScalerSetScales: 'kubedirect.v1.ScalesRequest',
  Inspect: 'kubedirect.v1.GetStateRequest',
  Health: 'grpc.health.v1.HealthCheckRequest',
};
const schemaOfService: Readonly<Record<Service, Schema>> = { Link: wireSchema, Scaler: wireSchema, ScalerSetScales: wireSchema, Inspect: wireSchema, Health: healthSchema };
const pathOfService: Readonly<Record<Service, string>> = { Link: linkSessionPath, Scaler: scalerSetScalePath, ScalerSetScales: scalerSetScalesPath, Inspect: inspectGetStatePath, Health: healthCheckPath };

/** Reasons the spec lets each service answer a decodable input with (every one with its own code and an ErrorDetail). */
const reasonsOfService: Readonly<Record<Service, readonly ErrorReason[]>> = {
  Link: ['STALE_EPOCH', 'UNAUTHORIZED_UPSTREAM', 'WRONG_DOWNSTREAM', 'UNSUPPORTED_VERSION', 'MALFORMED', 'BATCH_TOO_LARGE', 'UNKNOWN_FUNCTION', 'OUT_OF_ORDER'],
  Scaler: ['MALFORMED', 'UNKNOWN_FUNCTION'],
  ScalerSetScales: ['MALFORMED', 'UNKNOWN_FUNCTION'],
  Inspect: [],
  Health: [],
};

interface Input {
  readonly target: Target;
  readonly kind: InputKind;
  readonly bytes: Buffer;
}

const inputArbitrary: fc.Arbitrary<Input> = fc.constantFrom(...targets).chain((target) =>
  fc.oneof(
    { weight: 5, arbitrary: messageInput(schemaOfService[target.service], typeOfService[target.service]).map((m) => ({ target, kind: m.kind, bytes: m.bytes })) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...framingKinds), messageInput(schemaOfService[target.service], typeOfService[target.service])).map(([kind, m]) => ({ target, kind, bytes: m.bytes })) },
  ),
);

/** What came back, in one shape for every way of sending. */
interface Answer {
  readonly code: number | null;
  readonly reason: string | null;
  readonly detailReason: string | null;
}

async function send(input: Input): Promise<Answer> {
  const address = config.stages[input.target.stage]?.address ?? '';
  const path = pathOfService[input.target.service];
  switch (input.kind) {
    case 'grpc-truncated':
      return answerOf(await rawHttp2Call(address, path, grpcMessage(input.bytes, { length: input.bytes.length + 7 })));
    case 'grpc-compressed-flag':
      return answerOf(await rawHttp2Call(address, path, grpcMessage(input.bytes, { flag: 1 })));
    case 'grpc-oversize':
      return answerOf(await rawHttp2Call(address, path, grpcMessage(input.bytes, { length: 2 ** 31 })));
    case 'http2-unknown-method':
      return answerOf(await rawHttp2Call(address, `${path}Nope`, grpcMessage(input.bytes)));
    case 'http2-reset':
      await resetMidMessage(address, path, grpcMessage(input.bytes, { length: input.bytes.length + 100 }));
      return { code: null, reason: null, detailReason: null };
    default: {
      const outcome = input.target.service === 'Link' ? await rawSession(address, [input.bytes], { deadlineMs: testWaitMsMax }) : await rawUnary(address, path, input.bytes, testWaitMsMax);
      return { code: outcome.code, reason: outcome.reason, detailReason: outcome.errorDetail?.reason ?? null };
    }
  }
}

function answerOf(outcome: { code: number | null; reason: string | null; errorDetail: { reason: string } | null }): Answer {
  return { code: outcome.code, reason: outcome.reason, detailReason: outcome.errorDetail?.reason ?? null };
}

/** Opens a call, writes part of a message, and resets the stream (RST_STREAM CANCEL). */
function resetMidMessage(address: string, path: string, body: Buffer): Promise<void> {
  return new Promise<void>((resolve) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', () => {});
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => {});
    stream.write(body, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('close', () => {
      session.close();
      resolve();
    });
  });
}

/** Null when the answer is one the spec allows for the input; else what is wrong. */
function outsideSpec(input: Input, answer: Answer): string | null {
  const { service } = input.target;
  const malformed = answer.code === grpc.status.INVALID_ARGUMENT && answer.reason === 'MALFORMED' && answer.detailReason === 'MALFORMED';
  switch (input.kind) {
    case 'grpc-truncated':
    case 'grpc-compressed-flag':
      return malformed ? null : 'a framing error must be MALFORMED with an ErrorDetail';
    case 'grpc-oversize':
      return answer.code === grpc.status.RESOURCE_EXHAUSTED ? null : 'a message over the receive limit must be RESOURCE_EXHAUSTED';
    case 'http2-unknown-method':
      return answer.code === grpc.status.UNIMPLEMENTED ? null : 'an unknown method must be UNIMPLEMENTED';
    case 'http2-reset':
      return null;
    default: {
      const decoded = decodeStrict(schemaOfService[service], typeOfService[service], input.bytes);
      if (!decoded.ok) return malformed ? null : 'undecodable bytes must be MALFORMED with an ErrorDetail';
      if (service === 'Inspect') return answer.code === grpc.status.OK ? null : 'a decodable GetStateRequest must be answered';
      if (service === 'Health') return healthAnswerOutsideSpec(decoded.value, answer);
      const reason = answer.reason as ErrorReason | null;
      if (reason === null || !reasonsOfService[service].includes(reason)) return `reason ${String(reason)} is not one ${service} may answer`;
      if (answer.code !== statusOfReason[reason]) return `${reason} must have code ${statusOfReason[reason]}`;
      return answer.detailReason === reason ? null : 'no ErrorDetail with the reason';
    }
  }
}

/** The standard health protocol: SERVING for the service "", NOT_FOUND for any other name. */
function healthAnswerOutsideSpec(request: unknown, answer: Answer): string | null {
  const service = (request as { service?: string }).service ?? '';
  if (service === '') return answer.code === grpc.status.OK ? null : 'a Health/Check of the service "" must be answered';
  return answer.code === grpc.status.NOT_FOUND ? null : `a Health/Check of the unknown service "${service.slice(0, 40)}" must be NOT_FOUND`;
}

async function protocolStateOf(stage: StageId): Promise<unknown> {
  return protocolStateOfStage(config, stage, 10_000);
}


beforeAll(async () => {
  expect(errorReasons).toContain('MALFORMED');
  config = await startConvergedCluster(dir, desired);
}, 2 * testWaitMsMax);

afterAll(async () => {
  await removeCluster(dir);
}, 30_000);

describe('wire fuzzer', () => {
  it(`${inputsMax} inputs (or ${secondsMax} s) to every service of every stage: the spec's status, no state change, every stage serving`, async () => {
    const stages = stagesOf(config.chain);
    const before = new Map<StageId, unknown>();
    for (const stage of stages) before.set(stage, await protocolStateOf(stage));
    const inputs = fc.sample(inputArbitrary, { numRuns: inputsMax, seed });
    console.log(`[wire-fuzz] seed ${seed} (WIRE_FUZZ_SEED=${seed} replays these inputs)`);
    const rows = new Map<InputKind, { inputs: number; statuses: Map<string, number> }>();
    const failures: string[] = [];
    let crashes = 0;
    let stateChanges = 0;
    let outside = 0;
    const started = performance.now();
    let sent = 0;
    for (const input of inputs) {
      if (performance.now() - started > secondsMax * 1_000) break;
      sent++;
      const answer = await send(input);
      const row = rows.get(input.kind) ?? { inputs: 0, statuses: new Map<string, number>() };
      rows.set(input.kind, row);
      row.inputs++;
      const status = answer.code === null ? 'none (reset)' : `${grpc.status[answer.code]}${answer.reason === null ? '' : `/${answer.reason}`}`;
      row.statuses.set(status, (row.statuses.get(status) ?? 0) + 1);
      const where = `${input.kind} to ${input.target.service} of ${input.target.stage} (bytes ${input.bytes.toString('hex').slice(0, 120)})`;
      const wrong = outsideSpec(input, answer);
      if (wrong !== null) {
        outside++;
        failures.push(`${where}: ${status}: ${wrong}`);
      }
      const pid = pidOf(dir, input.target.stage);
      if (pid === null || !processIsAlive(pid)) {
        crashes++;
        failures.push(`${where}: the stage died`);
        break;
      }
      const after = await protocolStateOf(input.target.stage);
      if (!isDeepStrictEqual(after, before.get(input.target.stage))) {
        stateChanges++;
        failures.push(`${where}: the stage's protocol state changed`);
        before.set(input.target.stage, after);
      }
    }
    const seconds = (performance.now() - started) / 1_000;
    const lines = [
      `wire fuzzer: ${sent} inputs in ${seconds.toFixed(1)} s, seed ${seed}`,
      '| input kind | inputs | statuses (count) |',
      '| --- | ---: | --- |',
      ...[...rows.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([kind, row]) => `| ${kind} | ${row.inputs} | ${[...row.statuses.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s} ${n}`).join(', ')} |`),
      `crashes ${crashes}, state changes ${stateChanges}, statuses outside the spec ${outside}`,
    ];
    console.log(lines.join('\n'));
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(Math.min(inputsMax, 50));
    for (const stage of stages) expect(await protocolStateOf(stage)).toEqual(before.get(stage));
  }, (secondsMax + 120) * 1_000);

  it('the chain still converges after the run', async () => {
    expect(await runScale(['fn', String(desired + 2), '--dir', dir], () => {})).toBe(0);
    await waitConverged(config, desired + 2, testWaitMsMax);
  }, 2 * testWaitMsMax);
});
