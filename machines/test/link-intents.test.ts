/**
 * Link intents (machines/README.md): a step says which sessions it opened or ended at
 * this end and with which epoch, so that a transport never has to read the hello it
 * carries or compare a session state with 'disconnected'.
 */
import { describe, expect, it } from 'vitest';
import { chainLinks, clientSessionEpoch, clientSideOf, clientWantsSession, initStage, stepStage, type ChainConfig, type DownMessage, type StageState } from '../index.js';

const config: ChainConfig = { functions: [{ name: 'fn', priority: 0 }], nodes: [{ name: 'n1', capacity: 1 }], variant: 'correct' };
const down = chainLinks.replicaSetToScheduler;
const up = chainLinks.deploymentToReplicaSet;

function side(state: StageState) {
  const client = clientSideOf(state, down);
  if (client === undefined) throw new Error('no client side');
  return client;
}

describe('link intents', () => {
  it('link.connected opens a session: an open intent with the epoch of the hello it sends', () => {
    const start = initStage(config, 'replicaset', { incarnation: 3 });
    expect(clientWantsSession(side(start))).toBe(true);
    expect(clientSessionEpoch(side(start))).toBe(0);
    const connected = stepStage(config, 'replicaset', start, { type: 'link.connected', link: down });
    const hello = connected.effects[0];
    if (hello?.type !== 'message.send') throw new Error('no hello');
    expect(connected.links).toEqual([{ kind: 'open', link: down, epoch: (hello.message as DownMessage).epoch }]);
    expect(clientWantsSession(side(connected.state))).toBe(false);
    expect(clientSessionEpoch(side(connected.state))).toBe((hello.message as DownMessage).epoch);
    // Delivered again while in the session, it opens nothing.
    expect(stepStage(config, 'replicaset', connected.state, { type: 'link.connected', link: down }).links).toEqual([]);
  });

  it('a rejected or lost session is closed at the client, with its epoch; then the side wants a new session', () => {
    const connected = stepStage(config, 'replicaset', initStage(config, 'replicaset', { incarnation: 3 }), { type: 'link.connected', link: down });
    const epoch = side(connected.state).epoch;
    const rejected = stepStage(config, 'replicaset', connected.state, { type: 'message.received', link: down, message: { type: 'session.rejected', epoch, reason: 'stale-epoch' } });
    expect(rejected.links).toEqual([{ kind: 'close', link: down, epoch }]);
    expect(clientWantsSession(side(rejected.state))).toBe(true);
    const lost = stepStage(config, 'replicaset', connected.state, { type: 'link.lost', link: down });
    expect(lost.links).toEqual([{ kind: 'close', link: down, epoch }]);
    // Nothing to close once out of the session.
    expect(stepStage(config, 'replicaset', lost.state, { type: 'link.lost', link: down }).links).toEqual([]);
  });

  it('a newer hello at the server closes the session it supersedes; the first hello closes nothing', () => {
    const start = initStage(config, 'replicaset', { incarnation: 3 });
    const first = stepStage(config, 'replicaset', start, { type: 'message.received', link: up, message: { type: 'session.hello', epoch: 5 } });
    expect(first.links).toEqual([]);
    const second = stepStage(config, 'replicaset', first.state, { type: 'message.received', link: up, message: { type: 'session.hello', epoch: 9 } });
    expect(second.links).toEqual([{ kind: 'close', link: up, epoch: 5 }]);
    const stale = stepStage(config, 'replicaset', second.state, { type: 'message.received', link: up, message: { type: 'session.hello', epoch: 7 } });
    expect(stale.disposition).toBe('fenced');
    expect(stale.links).toEqual([]);
  });
});
