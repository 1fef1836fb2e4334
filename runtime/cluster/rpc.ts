/** Operator calls to a running stage: Inspect.GetState and Scaler.SetScale. */
import * as grpc from '@grpc/grpc-js';
import { InspectClient, ScalerClient, type WireStageState } from '../wire/proto.js';

function unary<T>(constructor: grpc.ServiceClientConstructor, address: string, method: string, request: unknown, timeoutMs: number): Promise<T> {
  const client = new constructor(address, grpc.credentials.createInsecure());
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

export function getStageState(address: string, timeoutMs = 2_000, request: { function?: string; omit_pods?: boolean } = {}): Promise<WireStageState> {
  return unary<WireStageState>(InspectClient, address, 'GetState', request, timeoutMs);
}

export function setScale(address: string, fn: string, desired: number, timeoutMs = 5_000): Promise<{ function: string; desired: number }> {
  return unary(ScalerClient, address, 'SetScale', { function: fn, desired }, timeoutMs);
}
