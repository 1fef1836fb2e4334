/**
 * The standard gRPC health service (spec/health.proto, package grpc.health.v1), which
 * the conformance launch contract uses for readiness (spec/11-conformance.md): a stage
 * answers SERVING for the service "" once it accepts sessions.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repositoryPath } from '../repository-paths.js';
import { protoLoaderOptions } from './proto.js';
import { schemaOf, type Schema } from './strict-decoder.js';
import { isUndecodable, type Undecodable } from './undecodable.js';

export const healthProtoPath = repositoryPath('spec', 'health.proto');

const healthDefinition = protoLoader.loadSync(healthProtoPath, protoLoaderOptions);
/** The schema the strict decoder reads health requests with. */
export const healthSchema: Schema = schemaOf(healthDefinition);
const loaded = grpc.loadPackageDefinition(healthDefinition) as unknown as {
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};

export const HealthClient = loaded.grpc.health.v1.Health;

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/**
 * Handlers for the Health service (registered with the strict decoder, strict-decoder.ts):
 * `serving()` says whether the stage accepts sessions now; `undecodable(why)` is the
 * status of a request that is not one.
 */
export function healthService(serving: () => boolean, undecodable: (why: string) => grpc.ServiceError): grpc.UntypedServiceImplementation {
  const statusOf = (service: string): ServingStatus => (service === '' ? (serving() ? 'SERVING' : 'NOT_SERVING') : 'SERVICE_UNKNOWN');
  return {
    Check: (call: grpc.ServerUnaryCall<{ service: string } | Undecodable, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (isUndecodable(call.request)) return callback(undecodable(call.request.undecodable));
      const status = statusOf(call.request.service ?? '');
      if (status === 'SERVICE_UNKNOWN') return callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"; this stage reports only the service ""` });
      callback(null, { status });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string } | Undecodable, unknown>) => {
      if (isUndecodable(call.request)) return call.emit('error', undecodable(call.request.undecodable));
      // The status of a running stage does not change until it stops: report it once and keep the stream open.
      call.write({ status: statusOf(call.request.service ?? '') });
    },
  };
}
