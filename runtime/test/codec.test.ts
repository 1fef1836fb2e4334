/** The wire codec: batching keeps exactly the records in order; bad frames are rejected whole with the spec's reason. */
import { describe, expect, it } from 'vitest';
import type { DownMessage, UpMessage } from '../../machines/index.js';
import { batchRecordsMax } from '../../spec/limits.js';
import { decodeDownstreamFrame, decodeUpstreamFrame, encodeDown, encodeUp, SnapshotAssembler } from '../wire/codec.js';
import { LinkClient } from '../wire/proto.js';
import type * as grpc from '@grpc/grpc-js';

const functions = new Set(['fn']);
const epoch = 2 ** 20 + 1;
const identity = { upstream: 'replicaset', downstream: 'scheduler' };
const pod = (n: number) => ({ name: `fn-1-${n}`, function: 'fn', priority: 0, node: null });

/** Encodes with the real proto serializer and decodes back, as the wire does. */
function overTheWire<T>(frame: T, kind: 'up' | 'down'): unknown {
  const method = (LinkClient.service as grpc.ServiceDefinition)['Session'];
  if (method === undefined) throw new Error('no Session');
  if (kind === 'down') return method.requestDeserialize(method.requestSerialize(frame));
  return method.responseDeserialize(method.responseSerialize(frame));
}

describe('encodeDown / decodeUpstreamFrame', () => {
  it('lets a provision for an unconfigured function through (the machines refuse it per pod, DEC-17) but not a scale.set', () => {
    const context = { link: 'replicaset>scheduler', functions };
    const provision = encodeDown([{ type: 'pod.provision', epoch, pod: { name: 'other-1-0', function: 'other', priority: 0, node: null } }], identity)[0];
    const decoded = decodeUpstreamFrame(overTheWire(provision, 'down'), context);
    expect(decoded.ok).toBe(true);
    const scale = encodeDown([{ type: 'scale.set', epoch, scale: { function: 'other', desired: 1 } }], { upstream: 'deployment', downstream: 'replicaset' })[0];
    const refused = decodeUpstreamFrame(overTheWire(scale, 'down'), { link: 'deployment>replicaset', functions });
    expect(refused.ok ? null : refused.rejection.reason).toBe('UNKNOWN_FUNCTION');
  });

  it('batches consecutive records of one kind and decodes exactly them, in order', () => {
    const messages: DownMessage[] = [
      { type: 'session.sync', epoch },
      ...Array.from({ length: batchRecordsMax + 5 }, (_, i): DownMessage => ({ type: 'pod.provision', epoch, pod: pod(i) })),
      { type: 'pod.tombstone', epoch, name: 'fn-1-3', origin: 'replicaset' },
      { type: 'pod.provision', epoch, pod: pod(9999) },
    ];
    const frames = encodeDown(messages, identity);
    expect(frames.map((f) => Object.keys(f).find((k) => k !== 'epoch'))).toEqual(['sync', 'provision', 'provision', 'tombstone', 'provision']);
    const decoded: DownMessage[] = [];
    for (const frame of frames) {
      const result = decodeUpstreamFrame(overTheWire(frame, 'down'), { link: 'replicaset>scheduler', functions });
      if (!result.ok) throw new Error(result.rejection.message);
      if (result.value.kind === 'records') decoded.push(...result.value.messages);
    }
    expect(decoded).toEqual(messages);
  });

  it('rejects bad frames as a whole with the specified reason', () => {
    const context = { link: 'scheduler>kubelet:n1', functions };
    const reason = (frame: unknown) => {
      const r = decodeUpstreamFrame(overTheWire(frame, 'down'), context);
      return r.ok ? 'ok' : r.rejection.reason;
    };
    expect(reason({ epoch: 0, sync: {} })).toBe('MALFORMED');
    expect(reason({ epoch })).toBe('MALFORMED');
    expect(reason({ epoch, provision: { pods: [{ name: 'fn-1-1', function: 'fn', priority: 0, node: 'n2' }] } })).toBe('MALFORMED');
    expect(reason({ epoch, provision: { pods: [{ name: 'Bad Name', function: 'fn', priority: 0, node: 'n1' }] } })).toBe('MALFORMED');
    // An unconfigured function is valid on the wire in a provision: the Kubelet refuses that pod alone (DEC-17).
    expect(reason({ epoch, provision: { pods: [{ name: 'other-1-1', function: 'other', priority: 0, node: 'n1' }] } })).toBe('ok');
    expect(reason({ epoch, tombstone: { tombstones: [{ name: 'fn-1-1', origin: 'kubelet' }] } })).toBe('MALFORMED');
    expect(reason({ epoch, scale_set: { scales: [{ function: 'fn', desired: 1 }] } })).toBe('MALFORMED');
    const many = Array.from({ length: batchRecordsMax + 1 }, (_, i) => ({ name: `fn-1-${i}`, function: 'fn', priority: 0, node: 'n1' }));
    expect(reason({ epoch, provision: { pods: many } })).toBe('BATCH_TOO_LARGE');
    expect(reason({ epoch, provision: { pods: [{ name: 'fn-1-1', function: 'fn', priority: 0, node: 'n1' }] } })).toBe('ok');
    const scaleContext = { link: 'autoscaler>deployment', functions };
    const scale = decodeUpstreamFrame(overTheWire({ epoch, scale_set: { scales: [{ function: 'nope', desired: 1 }] } }, 'down'), scaleContext);
    expect(scale.ok ? 'ok' : scale.rejection.reason).toBe('UNKNOWN_FUNCTION');
  });
});

describe('encodeUp / decodeDownstreamFrame', () => {
  it('splits a large snapshot into parts and reassembles the same snapshot', () => {
    const snapshot: UpMessage = {
      type: 'session.snapshot',
      epoch,
      scales: [],
      pods: Array.from({ length: 2 * batchRecordsMax + 1 }, (_, i) => ({ record: { ...pod(i), node: 'n1' }, phase: i % 2 === 0 ? 'running' : 'pending' })),
      tombstones: [{ record: { ...pod(99999), node: 'n1' }, origin: 'scheduler' }],
    };
    const messages: UpMessage[] = [snapshot, { type: 'pod.running', epoch, name: 'fn-1-1' }, { type: 'pod.running', epoch, name: 'fn-1-2' }];
    const frames = encodeUp(messages);
    expect(frames).toHaveLength(4);
    const assembler = new SnapshotAssembler();
    const decoded: UpMessage[] = [];
    for (const frame of frames) {
      const result = decodeDownstreamFrame(overTheWire(frame, 'up'), { link: 'scheduler>kubelet:n1', functions });
      if (!result.ok) throw new Error(result.rejection.message);
      if (result.value.kind === 'snapshot') {
        const whole = assembler.add(result.value.epoch, result.value.part);
        if (whole !== null) decoded.push(whole);
      } else if (result.value.kind === 'records') decoded.push(...result.value.messages);
    }
    expect(decoded).toEqual(messages);
  });
});
