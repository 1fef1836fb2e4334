/**
 * Issue 17, defect 4 (REQ-SESS-021, DEC-40): one hello with a far-future epoch, whose
 * stream then closes, must not fence the link for good. The Kubelet is driven alone, as
 * the gRPC server would drive it: the real Scheduler's session, a forged hello three
 * incarnations ahead, the forger's stream closing, then the real Scheduler's next hello.
 */
import { describe, expect, it } from 'vitest';
import { initStage, schedulerToKubelet, sessionsPerIncarnationMax, serverSide, stepStage, type ChainConfig, type DownMessage, type StageState } from '../index.js';

const config: ChainConfig = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 2 }], variant: 'correct' };
const link = schedulerToKubelet('n1');
const kubelet = 'kubelet:n1';

function receive(state: StageState, message: DownMessage) {
  return stepStage(config, kubelet, state, { type: 'message.received', link, message });
}

/** A Kubelet with a synced session of the real Scheduler (incarnation 1, session 1). */
function synced(): { state: StageState; epoch: number } {
  const epoch = sessionsPerIncarnationMax + 1;
  let state = initStage(config, kubelet, { incarnation: 1 });
  state = receive(state, { type: 'session.hello', epoch }).state;
  state = receive(state, { type: 'session.sync', epoch }).state;
  return { state, epoch };
}

describe('a forged hello does not fence the link for good (REQ-SESS-021)', () => {
  it('after the forger closes its stream, the real Scheduler next hello is accepted', () => {
    const { state, epoch } = synced();
    const forged = epoch + 3 * sessionsPerIncarnationMax;
    // The forged hello supersedes the real session (whose stream the server rejects: link.lost at both ends).
    let next = stepStage(config, kubelet, state, { type: 'link.lost', link }).state;
    const accepted = receive(next, { type: 'session.hello', epoch: forged });
    expect(accepted.disposition).toBe('applied');
    next = stepStage(config, kubelet, accepted.state, { type: 'link.lost', link }).state;
    expect(serverSide(next)).toMatchObject({ session: 'idle', epoch, syncedEpoch: epoch });
    // The real Scheduler reconnects with its next session: accepted, not STALE_EPOCH.
    const real = receive(next, { type: 'session.hello', epoch: epoch + 1 });
    expect(real.disposition).toBe('applied');
    expect(real.effects.map((e) => (e.type === 'message.send' ? e.message.type : e.type))).toEqual(['session.snapshot']);
    // A late sync of the forged session is refused: nothing of it is ever applied.
    expect(receive(real.state, { type: 'session.sync', epoch: forged }).disposition).toBe('fenced');
  });

  it('a synced session still fences: after it ends, an older hello is stale', () => {
    const { state, epoch } = synced();
    const lost = stepStage(config, kubelet, state, { type: 'link.lost', link }).state;
    const stale = receive(lost, { type: 'session.hello', epoch: epoch - 1 });
    expect(stale.disposition).toBe('fenced');
    expect(stale.effects).toEqual([{ type: 'message.send', link, message: { type: 'session.rejected', epoch: epoch - 1, reason: 'stale-epoch' } }]);
  });
});
