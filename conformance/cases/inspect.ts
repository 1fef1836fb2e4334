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
import { everyDownstreamSynced, upstreamLink, upstreamSynced } from './helpers.js';

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

/**
 * How long a case waits (DEC-61) for Inspect.GetState to show a session state the suite brought
 * about (a session synced, a session ended). Generous: the deadline is how long a broken
 * testee may take to be declared broken, and the shared machines this runs on see load
 * averages of 20 to 40.
 */
export const sessionStateSeenMsMax = 20_000;

/**
 * Waits until Inspect.GetState shows the testee's end of its upstream link in `wanted`
 * (with `epoch`, when given); after `sessionStateSeenMsMax` a violation of `requirements`
 * and REQ-WIRE-011 saying the state last reported.
 */
async function upstreamEndShows(ctx: CaseContext, requirements: readonly string[], wanted: 'idle' | 'synced', epoch: number | null, what: string): Promise<boolean> {
  const link = upstreamLink(ctx).link;
  let last = 'no answer yet';
  const shown = async (): Promise<boolean> => {
    const answer = await getState(ctx.launch.listen);
    const end = answer.state?.links.find((l) => l.link_id === link);
    last = answer.state === null ? `Inspect.GetState failed: ${answer.error}` : end === undefined ? `no link ${link} in the answer` : `${end.state} at epoch ${end.epoch}`;
    return end?.state === wanted && (epoch === null || Number(end.epoch) === epoch);
  };
  const state = epoch === null ? wanted : `${wanted} at epoch ${epoch}`;
  return ctx.waitFor([...requirements, 'REQ-WIRE-011'], () => `Inspect.GetState to show the link ${link} ${state}: ${what} (last answer: ${last})`, shown, sessionStateSeenMsMax);
}

/**
 * Waits until the testee shows its upstream link idle: the session the suite ended or cut
 * is over there (REQ-SESS-018), so what the testee does at `link.lost` has been done.
 */
export function upstreamSessionEnded(ctx: CaseContext, what: string): Promise<boolean> {
  return upstreamEndShows(ctx, ['REQ-SESS-018'], 'idle', null, what);
}

/**
 * Waits until the testee shows its upstream link synced at `epoch`: the session.sync the
 * peer sent has arrived (a peer that sent it is synced before the testee is, and a session
 * cut in between never synced at the testee, REQ-SESS-021).
 */
export function upstreamSessionSyncedAtTestee(ctx: CaseContext, epoch: number, what: string): Promise<boolean> {
  return upstreamEndShows(ctx, ['REQ-SESS-011'], 'synced', epoch, what);
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
