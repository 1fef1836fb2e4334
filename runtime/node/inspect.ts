/**
 * Inspect.GetState (REQ-WIRE-011): a stage's state at one moment, read through the
 * views of machines/stages/views.ts, in the names of the spec.
 */
import {
  clientSessionEpoch,
  clientSides,
  podCacheOf,
  serverSide,
  stageIsWarm,
  stateIsTombstone,
  type StageState,
} from '../../machines/index.js';
import { protocolVersion } from '../../spec/limits.js';
import { capacityUsed, desiredCounts, type ChainConfig } from '../../machines/index.js';
import type { WireErrorDetail, WireLinkState, WireScaleState, WireStageState } from '../wire/proto.js';

export interface InspectInput {
  readonly stage: string;
  readonly chain: ChainConfig;
  readonly state: StageState;
  readonly lastRejections: ReadonlyMap<string, WireErrorDetail>;
  readonly function: string;
  readonly omitPods: boolean;
}

function scalesOf(state: StageState): WireScaleState[] {
  return desiredCounts(state).map((d) => ({ function: d.function, known: true, desired: d.desired, clean: d.clean }));
}

export function inspectState(input: InspectInput): WireStageState {
  const { state } = input;
  const links: WireLinkState[] = [];
  const server = serverSide(state);
  if (server !== null)
    links.push({
      link_id: server.link,
      end: 'downstream',
      state: server.session,
      epoch: server.epoch,
      synced_once: server.session === 'synced',
      last_rejection: input.lastRejections.get(server.link) ?? null,
    });
  for (const side of clientSides(state))
    links.push({
      link_id: side.link,
      end: 'upstream',
      state: side.session,
      epoch: clientSessionEpoch(side),
      synced_once: side.everSynced,
      last_rejection: input.lastRejections.get(side.link) ?? null,
    });
  const keep = (fn: string): boolean => input.function === '' || fn === input.function;
  const pods = input.omitPods
    ? []
    : [...podCacheOf(state).entries()]
        .filter((e) => keep(e.record.function))
        .map((e) => ({
          record: { name: e.record.name, function: e.record.function, priority: e.record.priority, node: e.record.node ?? '' },
          state: e.lifecycle,
          tombstone_origin: stateIsTombstone(e.lifecycle) ? (e.origin ?? '') : '',
        }));
  const nodes =
    state.role === 'scheduler'
      ? input.chain.nodes.map((n) => ({
          node: n.name,
          capacity: n.capacity,
          used: capacityUsed(input.chain.variant, state.pods, n.name),
          warm: clientSides(state).find((s) => s.link === `scheduler>kubelet:${n.name}`)?.everSynced ?? false,
        }))
      : [];
  return {
    stage_id: input.stage,
    incarnation: state.incarnation,
    warm: stageIsWarm(state),
    protocol_version: protocolVersion,
    links,
    scales: scalesOf(state).filter((s) => keep(s.function)),
    pods,
    nodes,
  };
}
