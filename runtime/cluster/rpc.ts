/** Operator calls to a running stage: Inspect.GetState, Scaler.SetScale and Scaler.SetScales. */
import * as grpc from '@grpc/grpc-js';
import type { StageId } from '../../machines/index.js';
import { endpointOf, type ClusterConfig } from '../config.js';
import { operatorChannelOf } from '../security/credentials.js';
import { InspectClient, ScalerClient, type WireStageState } from '../wire/proto.js';

/** Where an operator call goes: an address (plaintext, loopback only) or an address with the operator's TLS channel. */
export type StageTarget = string | { readonly address: string; readonly credentials: grpc.ChannelCredentials; readonly options: grpc.ChannelOptions };

/** The target of an operator call to `stage`: with the operator identity when the cluster has tls. */
export function stageTargetOf(config: ClusterConfig, stage: StageId): StageTarget {
  const address = endpointOf(config, stage).address;
  return config.tls === undefined ? address : { address, ...operatorChannelOf(config, stage) };
}

function unary<T>(constructor: grpc.ServiceClientConstructor, target: StageTarget, method: string, request: unknown, timeoutMs: number): Promise<T> {
  const client =
    typeof target === 'string' ? new constructor(target, grpc.credentials.createInsecure()) : new constructor(target.address, target.credentials, target.options);
  return new Promise<T>((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: unknown, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: T) => void) => void>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, value) => {
      client.close();
      if (error !== null) reject(error);
      else resolve(value);
    });
  });
}

export function getStageState(target: StageTarget, timeoutMs = 2_000, request: { function?: string; omit_pods?: boolean } = {}): Promise<WireStageState> {
  return unary<WireStageState>(InspectClient, target, 'GetState', request, timeoutMs);
}

/** Scaler.SetScales: several desired counts, all stored or none (REQ-SCALE-007). */
export function setScales(target: StageTarget, scales: ReadonlyArray<{ function: string; desired: number }>, timeoutMs = 5_000): Promise<{ scales: Array<{ function: string; desired: number }> }> {
  return unary(ScalerClient, target, 'SetScales', { scales }, timeoutMs);
}

export function setScale(target: StageTarget, fn: string, desired: number, timeoutMs = 5_000): Promise<{ function: string; desired: number }> {
  return unary(ScalerClient, target, 'SetScale', { function: fn, desired }, timeoutMs);
}
