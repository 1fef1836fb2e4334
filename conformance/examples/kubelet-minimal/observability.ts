/**
 * `Inspect.GetState` (REQ-WIRE-011: read-only, one consistent moment, the state names of
 * 04) and the standard `grpc.health.v1.Health` readiness service of 11 §Launch contract.
 */
import * as grpc from '@grpc/grpc-js';
import { protocolVersion } from '../../../spec/limits.js';
import type { Kubelet } from './kubelet.js';
import type { LinkServer } from './link-server.js';

export interface StageIdentity {
  readonly stage: string;
  readonly incarnation: number;
}

export function inspectHandlers(identity: StageIdentity, kubelet: Kubelet, link: LinkServer): grpc.UntypedServiceImplementation {
  return {
    GetState: (call: grpc.ServerUnaryCall<{ function: string; omitPods: boolean }, object>, callback: grpc.sendUnaryData<object>) => {
      const { function: only, omitPods } = call.request;
      const linkState = link.state();
      const pods = omitPods
        ? []
        : kubelet
            .sandboxes()
            .filter((sandbox) => only === '' || sandbox.record.function === only)
            .map((sandbox) => ({ record: sandbox.record, state: sandbox.state, tombstoneOrigin: sandbox.origin ?? '' }));
      callback(null, {
        stageId: identity.stage,
        incarnation: identity.incarnation,
        warm: true, // a Kubelet that serves has rebuilt its pods (02 §Warm and cold)
        protocolVersion,
        links: [
          {
            linkId: linkState.linkId,
            end: 'downstream',
            state: linkState.state,
            epoch: linkState.epoch,
            syncedOnce: linkState.syncedOnce,
            ...(linkState.lastRejection === null ? {} : { lastRejection: linkState.lastRejection }),
          },
        ],
        pods,
      });
    },
  };
}

/** Services this stage answers SERVING for; "" is the whole server. */
const servedServices = new Set(['', 'kubedirect.v1.Link', 'kubedirect.v1.Inspect']);

export function healthHandlers(): grpc.UntypedServiceImplementation {
  return {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, object>, callback: grpc.sendUnaryData<object>) => {
      if (!servedServices.has(call.request.service)) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service}"` });
        return;
      }
      callback(null, { status: 'SERVING' });
    },
    Watch: (call: grpc.ServerWritableStream<{ service: string }, object>) => {
      // Serving from the first call to the end of the process: one answer, then silence.
      call.write({ status: servedServices.has(call.request.service) ? 'SERVING' : 'SERVICE_UNKNOWN' });
    },
  };
}
