/** How the suite reports violations: grouped when repeated, blamed on the step of the offending frame, and a timed-out wait says what the testee did instead. */
import { describe, expect, it } from 'vitest';
import { CaseContext } from '../harness/context.js';
import { describeRepetitions, RunLog, type Violation } from '../harness/run-log.js';
import { SeededRandom } from '../../simulator/random.js';

function contextOf(log: RunLog): CaseContext {
  return new CaseContext('scheduler', 'scheduler', {} as never, {} as never, log, new SeededRandom(1), null);
}

describe('RunLog violations', () => {
  it('groups a repeated violation into one with a count, also when it names another pod each time', () => {
    const log = new RunLog();
    for (let i = 0; i < 60; i++) log.violation(['REQ-TOMB-008'], 'snapshot tombstone fn-1-0: bad origin');
    for (let i = 1; i <= 7; i++) log.violation(['REQ-TOMB-008'], `snapshot tombstone my-fn-1-${i}: bad origin`);
    log.violation(['REQ-CAP-001'], 'refuses fn-1-3 for lack of capacity 2');
    log.violation(['REQ-CAP-001'], 'refuses fn-1-4 for lack of capacity 3');
    log.violation(['REQ-TOMB-008'], 'a different rule for fn-1-0');
    expect(log.violations.map((v) => [v.message, v.count, v.pods.length])).toEqual([
      ['snapshot tombstone fn-1-0: bad origin', 67, 8],
      ['refuses fn-1-3 for lack of capacity 2', 2, 2],
      ['a different rule for fn-1-0', 1, 1],
    ]);
    expect(describeRepetitions(log.violations[0] as Violation)).toBe(' (67 times, pods fn-1-0, my-fn-1-1, my-fn-1-2, my-fn-1-3, my-fn-1-4 and 3 more)');
    expect(describeRepetitions(log.violations[2] as Violation)).toBe('');
  });

  it('blames the step in which the offending frame arrived, not the step that noticed it', () => {
    const log = new RunLog();
    log.beginStep('a hello with the current epoch');
    const frame = log.add({ kind: 'frame', from: 'kubelet:n1', to: 'scheduler', summary: 'snapshot e5 []' });
    log.beginStep('the current session still works');
    log.violation(['REQ-SESS-006'], 'an equal-epoch hello was answered with a snapshot', frame);
    log.violation(['REQ-SESS-004'], 'a check without a frame');
    expect(log.violations.map((v) => [v.step, v.stepName])).toEqual([
      [1, 'a hello with the current epoch'],
      [2, 'the current session still works'],
    ]);
  });
});

describe('a wait that times out', () => {
  it('calls endless terminations churn instead of only naming what it waited for', async () => {
    const log = new RunLog();
    const ctx = contextOf(log);
    const churn = setInterval(() => {
      log.add({ kind: 'frame', from: 'scheduler', to: 'kubelet:n1', summary: 'tombstone e3 [fn-1-1/scheduler fn-1-2/scheduler]' });
      log.add({ kind: 'frame', from: 'scheduler', to: 'replicaset', summary: 'preempted e2 [fn-1-1 fn-1-2]' });
    }, 20);
    const ok = await ctx.waitFor(['REQ-SCHED-002'], 'four pods running', () => false, 400);
    clearInterval(churn);
    expect(ok).toBe(false);
    expect(log.violations[0]?.message).toMatch(/^after 0\.4 s still waiting for: four pods running; meanwhile the testee kept terminating pods, endless churn \(tombstone x\d+, preempted x\d+\)$/);
  });

  it('says when the testee sent nothing at all', async () => {
    const log = new RunLog();
    const ok = await contextOf(log).waitFor(['REQ-SESS-017'], 'a new session', () => false, 100);
    expect(ok).toBe(false);
    expect(log.violations[0]?.message).toBe('after 0.1 s still waiting for: a new session; meanwhile the testee sent nothing');
  });
});

describe('a wait on the testee\'s answers', () => {
  it('awaits an asynchronous condition (e.g. Inspect) until it holds', async () => {
    const log = new RunLog();
    let asked = 0;
    const answer = async (): Promise<boolean> => {
      asked += 1;
      await new Promise((r) => setTimeout(r, 5));
      return asked >= 3;
    };
    expect(await contextOf(log).waitFor(['REQ-WIRE-011'], 'the link idle', answer, 5_000)).toBe(true);
    expect(asked).toBe(3);
    expect(log.violations).toEqual([]);
  });

  it('says at the deadline what it last saw, not what it knew when it began', async () => {
    const log = new RunLog();
    let last = 'no answer yet';
    const answer = async (): Promise<boolean> => {
      last = 'synced at epoch 7';
      return false;
    };
    expect(await contextOf(log).waitFor(['REQ-SESS-018'], () => `the link idle (last answer: ${last})`, answer, 100)).toBe(false);
    expect(log.violations[0]?.message).toBe('after 0.1 s still waiting for: the link idle (last answer: synced at epoch 7); meanwhile the testee sent nothing');
  });
});

describe('a check that blames a frame', () => {
  it('is reported at the step of the frame that broke the rule', () => {
    const log = new RunLog();
    const ctx = contextOf(log);
    ctx.step('scale hi to 1');
    const extra = log.add({ kind: 'frame', from: 'scheduler', to: 'replicaset', summary: 'preempted e2 [fn-1-2]' });
    ctx.step('release the kills');
    ctx.check(['REQ-SCHED-006'], false, 'preempted an equal priority', extra);
    expect(log.violations.map((v) => [v.step, v.stepName, v.entry?.summary])).toEqual([[1, 'scale hi to 1', 'preempted e2 [fn-1-2]']]);
  });
});
