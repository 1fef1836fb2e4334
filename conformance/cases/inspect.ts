/**
 * `Inspect.GetState` (REQ-WIRE-011), for every role: the stage's own ID, its incarnation,
 * the protocol version, every link end it has with a session state named as in 02, and
 * (for pod-holding roles) the pods it holds.
 */
import * as grpc from '@grpc/grpc-js';
import { roles as allRoles, type Role } from '../../machines/index.js';
import { protocolVersion } from '../../spec/limits.js';
import { InspectClient, type WireStageState } from '../../runtime/wire/proto.js';
import type { CaseContext } from '../harness/context.js';
import type { ConformanceCase } from './case.js';
import { everyDownstreamSynced, upstreamSynced } from './helpers.js';

const upstreamStates = new Set(['disconnected', 'awaitingSnapshot', 'synced']);
const downstreamStates = new Set(['idle', 'helloDeferred', 'awaitingSync', 'synced']);

export function getState(address: string): Promise<{ state: WireStageState | null; error: string }> {
  const client = new InspectClient(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    (client as unknown as { GetState: (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: WireStageState) => void) => void }).GetState(
      { function: '', omit_pods: false },
      { deadline: Date.now() + 5_000 },
      (error, value) => {
        client.close();
        resolve(error === null ? { state: value ?? null, error: '' } : { state: null, error: `${grpc.status[error.code]} ${error.details}` });
      },
    );
  });
}

function synced(ctx: CaseContext): boolean {
  return everyDownstreamSynced(ctx) && (ctx.chain.toTestee === null || upstreamSynced(ctx));
}

export function inspectCase(role: Role): ConformanceCase {
  return {
    id: `${role}.inspect`,
    roles: [role],
    requirements: ['REQ-WIRE-011'],
    title: 'Serves Inspect.GetState with its stage ID, incarnation, sessions and pods',
    description:
      'Once synced (and, for pod-holding roles, with one pod running) the suite calls Inspect.GetState: the answer must name the testee\'s stage ID, an incarnation >= 1, protocol version 1, each of its link ends with an epoch and a session state named as in chapter 02, and the running pod.',
    async run(ctx) {
      if (!(await ctx.waitFor(['REQ-SESS-011'], 'every link of the testee synced', () => synced(ctx), 10_000))) return;
      const holdsPods = role === 'replicaset' || role === 'scheduler' || role === 'kubelet';
      if (holdsPods) {
        await ctx.scale('fn', 1);
        if (!(await ctx.waitFor(['REQ-POD-006'], 'one pod running', () => ctx.chain.runningSandboxes().length === 1 || (role === 'kubelet' && ctx.chain.podsOf('scheduler').some((p) => p.lifecycle === 'running')), 10_000))) return;
        await ctx.sleep(100);
      }
      ctx.step('Inspect.GetState');
      const { state, error } = await getState(ctx.launch.listen);
      if (!ctx.check(['REQ-WIRE-011'], state !== null, `Inspect.GetState failed: ${error}`) || state === null) return;
      ctx.check(['REQ-WIRE-011'], state.stage_id === ctx.stage, `stage_id is "${state.stage_id}", not "${ctx.stage}"`);
      ctx.check(['REQ-WIRE-011'], Number(state.incarnation) >= 1, `incarnation ${state.incarnation} must be at least 1`);
      ctx.check(['REQ-WIRE-011'], state.protocol_version === protocolVersion, `protocol_version ${state.protocol_version}`);
      const expected = [...(ctx.chain.toTestee === null ? [] : [ctx.chain.toTestee.link]), ...ctx.chain.fromTestee.keys()].sort();
      const links = (state.links ?? []).map((l) => l.link_id).sort();
      ctx.check(['REQ-WIRE-011'], JSON.stringify(links) === JSON.stringify(expected), `links ${links.join(', ')}; expected ${expected.join(', ')}`);
      for (const l of state.links ?? []) {
        const names = l.end === 'upstream' ? upstreamStates : downstreamStates;
        ctx.check(['REQ-WIRE-011'], names.has(l.state), `link ${l.link_id} (${l.end} end) is in state "${l.state}", not a state of 02 (${[...names].join(', ')})`);
        ctx.check(['REQ-WIRE-011'], l.state !== 'synced' || Number(l.epoch) > 0, `link ${l.link_id} is synced with epoch ${l.epoch}`);
      }
      if (holdsPods) ctx.check(['REQ-WIRE-011'], (state.pods ?? []).some((p) => p.state === 'running'), `the running pod must be listed in state "running"; pods: ${JSON.stringify((state.pods ?? []).map((p) => [p.record?.name, p.state]))}`);
    },
  };
}

export const inspectCases: readonly ConformanceCase[] = allRoles.map(inspectCase);
