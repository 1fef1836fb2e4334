/**
 * The tiny models by name and JSON arguments, so that worker threads of the parallel
 * search (which build their own copy of a model) can make them: `tinyModel({ name, args })`.
 */
import { isMainThread } from 'node:worker_threads';
import type { Model } from '../model.js';
import type { ModelFactory } from '../parallel.js';
import { counterModel, mutexModel, spinnerModel, starvationModel, twoCountersModel } from './tiny-models.js';

export interface TinySpec {
  readonly name: 'counter' | 'twoCounters' | 'mutex' | 'spinner' | 'starvation';
  readonly args: readonly unknown[];
}

export function tinyModel(spec: TinySpec): Model<unknown, unknown> {
  const a = spec.args;
  switch (spec.name) {
    case 'counter':
      return counterModel(a[0] as Parameters<typeof counterModel>[0]) as Model<unknown, unknown>;
    case 'twoCounters':
      return twoCountersModel(a[0] as number, a[1] as number, a[2] as number | undefined) as Model<unknown, unknown>;
    case 'mutex':
      return mutexModel(a[0] as 'buggy' | 'atomic', (a[1] ?? {}) as Parameters<typeof mutexModel>[1]) as Model<unknown, unknown>;
    case 'spinner':
      return spinnerModel(a[0] as boolean) as Model<unknown, unknown>;
    case 'starvation':
      return starvationModel(a[0] as boolean) as Model<unknown, unknown>;
  }
}

export function tinyFactory(spec: TinySpec): ModelFactory {
  return { module: new URL('./tiny-factories.ts', import.meta.url).href, exportName: 'tinyModel', argument: spec };
}

/**
 * A tiny model whose copy in a worker thread stops running JavaScript at its first
 * transition (blocked for good, as a thread that ran out of heap is gone): the parallel
 * search must notice the silence instead of waiting for that worker forever.
 */
export function tinyModelFrozenInWorker(spec: TinySpec): Model<unknown, unknown> {
  const model = tinyModel(spec);
  if (isMainThread) return model;
  return {
    ...model,
    next(state, action) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      return model.next(state, action);
    },
  };
}
