/** The standard gRPC health service (spec/health.proto): the suite's readiness probe (spec/11 §Launch contract). */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { repositoryPath } from '../../runtime/repository-paths.js';

const healthProtoPath = repositoryPath('spec', 'health.proto');
const definition = protoLoader.loadSync(healthProtoPath, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
const loaded = grpc.loadPackageDefinition(definition) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
export const HealthClient = loaded.grpc.health.v1.Health;

export type HealthAnswer = { readonly status: string } | { readonly error: grpc.ServiceError };

/** One Health/Check for the service "" with a deadline. */
export function checkHealth(address: string, deadlineMs: number): Promise<HealthAnswer> {
  const client = new HealthClient(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (m: { service: string }) => (HealthClient.service as grpc.ServiceDefinition)['Check']!.requestSerialize(m),
      (b: Buffer) => (HealthClient.service as grpc.ServiceDefinition)['Check']!.responseDeserialize(b) as { status: string },
      { service: '' },
      { deadline: Date.now() + deadlineMs },
      (error, value) => {
        client.close();
        resolve(error !== null && error !== undefined ? { error } : { status: value?.status ?? 'UNKNOWN' });
      },
    );
  });
}
