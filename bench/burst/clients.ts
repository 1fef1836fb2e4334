/**
 * Long-lived Scaler and Inspect clients of one cluster (runtime/cluster/rpc.ts opens a
 * channel per call, which is fine for `kd` but would add a connection set-up to every
 * scale request the benchmark times and to every poll of the replay).
 */
import * as grpc from '@grpc/grpc-js';
import { InspectClient, ScalerClient, type WireStageState } from '../../runtime/wire/proto.js';

type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (error: grpc.ServiceError | null, reply: unknown) => void) => void;

function call<T>(client: grpc.Client, method: string, request: unknown, timeoutMs: number): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (fn === undefined) throw new Error(`no method ${method}`);
  return new Promise<T>((resolve, reject) => {
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (error, reply) => (error !== null ? reject(error) : resolve(reply as T)));
  });
}

export class StageClients {
  private readonly scaler: grpc.Client;
  private readonly inspectors = new Map<string, grpc.Client>();

  constructor(autoscalerAddress: string, inspectAddresses: ReadonlyMap<string, string>) {
    this.scaler = new ScalerClient(autoscalerAddress, grpc.credentials.createInsecure());
    for (const [stage, address] of inspectAddresses) this.inspectors.set(stage, new InspectClient(address, grpc.credentials.createInsecure()));
  }

  setScale(fn: string, desired: number, timeoutMs = 30_000): Promise<unknown> {
    return call(this.scaler, 'SetScale', { function: fn, desired }, timeoutMs);
  }

  /** Scaler.SetScales: every count in one call, all stored or none (REQ-SCALE-007). */
  setScales(scales: ReadonlyArray<{ function: string; desired: number }>, timeoutMs = 30_000): Promise<unknown> {
    return call(this.scaler, 'SetScales', { scales }, timeoutMs);
  }

  getState(stage: string, timeoutMs = 5_000): Promise<WireStageState> {
    const client = this.inspectors.get(stage);
    if (client === undefined) throw new Error(`no Inspect client for ${stage}`);
    return call(client, 'GetState', {}, timeoutMs);
  }

  close(): void {
    this.scaler.close();
    for (const c of this.inspectors.values()) c.close();
  }
}
