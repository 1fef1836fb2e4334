/**
 * The standard gRPC health service (spec/health.proto, package grpc.health.v1), which
 * the conformance launch contract uses for readiness (spec/11-conformance.md): a stage
 * answers SERVING for the service "" once it accepts sessions.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repositoryPath } from '../repository-paths.js';
import { protoLoaderOptions } from './proto.js';

export const healthProtoPath = repositoryPath('spec', 'health.proto');

const loaded = grpc.loadPackageDefinition(protoLoader.loadSync(healthProtoPath, protoLoaderOptions)) as unknown as {
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

export const HealthClient = loaded.grpc.health.v1.Health;

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** Handlers for the Health service: `serving()` says whether the stage accepts sessions now. */
export function healthService(serving: () => boolean): grpc.UntypedServiceImplementation {
  const statusOf = (service: string): ServingStatus => (service === '' ? (serving() ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN');
  return {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const status = statusOf(call.request.service ?? '');
      if (status === 'SERVICE_UNKNOWN') return callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"; this stage reports only the service ""` });
      callback(null, { status });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
      // The status of a running stage does not change until it stops: report it once and keep the stream open.
      call.write({ status: statusOf(call.request.service ?? '') });
    },
  };
}
