/**
 * One way to write an epoch (issue 21 item 5): `epoch incarnation.counter` in kd status,
 * the checker's text and HTML, the simulator's and kd validate's violation messages and
 * the conformance logs; never the raw number (1048577) or another prefix (e2097153,
 * synced@...). Each output is produced here from a real run or a real value.
 */
import { describe, expect, it } from 'vitest';
import { epochOf } from '../../../machines/index.js';
import { formatStatus, type ClusterStatus } from '../../../runtime/cluster/status.js';
import { epochText, summarizeFrame } from '../../../conformance/harness/run-log.js';
import { loadCheckConfig } from '../../chain/config-file.js';
import { ChainModel } from '../../chain/model.js';
import { buildTrace } from '../../chain/trace.js';
import { search } from '../../engine/search.js';
import { traceToHtml } from '../html.js';
import { traceToMermaid } from '../mermaid.js';
import { traceToSvg } from '../svg.js';

/** A raw epoch (incarnation × 2^20 + counter) or an epoch written with a prefix other than `epoch `. */
// A pod name ends in an ordinal (the forged pods of the forgedPod fault: lo-0-10485781), which is no epoch.
const otherForms = /(?<!-)\b\d{6,}\b|\be\d+(\.\d+)?\b|@\d/;

describe('epochs are written one way', () => {
  it('kd status: each session as "state, epoch i.c"', () => {
    const status: ClusterStatus = {
      stages: [
        {
          stage: 'replicaset',
          address: '127.0.0.1:7003',
          reachable: true,
          incarnation: 2,
          warm: true,
          restarts: null,
          sessions: [
            { link: 'deployment>replicaset', end: 'downstream', state: 'synced', epoch: epochOf(1, 3), lastRejection: '' },
            { link: 'replicaset>scheduler', end: 'upstream', state: 'awaitingSnapshot', epoch: epochOf(2, 1), lastRejection: 'STALE_EPOCH' },
            { link: 'replicaset>other', end: 'upstream', state: 'disconnected', epoch: 0, lastRejection: '' },
          ],
          cache: { dirty: 0, clean: 1, tombstones: 0, waiting: 0 },
          scales: [],
        },
      ],
      functions: [{ function: 'fn', desired: 1, running: 1, waiting: 0 }],
      store: null,
      converged: true,
      problems: [],
    };
    const text = formatStatus(status);
    expect(text).toContain('deployment>replicaset(down): synced, epoch 1.3');
    expect(text).toContain('replicaset>scheduler(up): awaitingSnapshot, epoch 2.1, last rejection STALE_EPOCH');
    expect(text).toContain('replicaset>other(up): disconnected');
    expect(text).not.toMatch(otherForms);
  });

  it('the checker: arrow labels, HTML, Mermaid and the INV-FENCING message of a no-fencing counterexample', () => {
    const config = loadCheckConfig('ci', 'no-fencing');
    const result = search(new ChainModel(config), { strategy: 'bfs' });
    if (result.violation === null) throw new Error('no counterexample');
    expect(result.violation.message).toMatch(/of epoch \d+\.\d+ on /);
    expect(result.violation.message).not.toMatch(otherForms);
    const trace = buildTrace(config, result.violation);
    const epochs = trace.steps.flatMap((s) => (s.delivered === null ? [] : [s.delivered.epoch]));
    expect(epochs.length).toBeGreaterThan(0);
    for (const text of [traceToSvg(trace), traceToMermaid(trace), traceToHtml(trace)]) {
      const visible = text.replace(/<[^>]*>/g, ' ').replace(/#\d+;/g, ' ');
      expect(visible).toMatch(/epoch \d+\.\d+/);
      expect(visible.match(otherForms), visible.match(otherForms)?.[0]).toBeNull();
    }
  });

  it('the conformance log: a frame summary and epoch texts', () => {
    expect(summarizeFrame({ epoch: String(epochOf(3, 2)), body: 'hello', hello: { upstream_stage_id: 'scheduler', downstream_stage_id: 'kubelet:n1', protocol_version: 1 } })).toBe('hello epoch 3.2 scheduler->kubelet:n1 v1');
    expect(epochText(epochOf(1, 1))).toBe('epoch 1.1');
    expect(epochText('garbage')).toBe('epoch garbage');
  });
});
