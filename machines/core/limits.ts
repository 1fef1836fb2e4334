/**
 * Every limit of the protocol machines, named `...Max`, defined here and only here.
 * Their relations are asserted when this module loads.
 */
import { assert } from './assert.js';

/** Sessions one upstream incarnation may open on one link before it must restart (epoch encoding). */
export const sessionsPerIncarnationMax = 2 ** 20;
/** Incarnations a process may have: epoch = incarnation * sessionsPerIncarnationMax + session must stay a safe integer. */
export const incarnationMax = Math.floor(Number.MAX_SAFE_INTEGER / sessionsPerIncarnationMax) - 1;
/** Pods the ReplicaSet may create per incarnation (ordinal in the pod name). */
export const podOrdinalMax = 2 ** 31;
/** Desired count of one function. */
export const desiredMax = 1_000_000;
/** Sandboxes one Kubelet may hold (its configured capacity may not exceed this). */
export const nodeCapacityMax = 100_000;
/** Length of a function name (it becomes part of pod names). */
export const functionNameLengthMax = 63;
/** Length of a pod name: function name, two dashes and two decimal numbers. */
export const podNameLengthMax = functionNameLengthMax + 2 + 16 + 10;

assert(Number.isSafeInteger(incarnationMax * sessionsPerIncarnationMax + sessionsPerIncarnationMax), 'epoch must be a safe integer');
assert(podNameLengthMax <= 253, 'pod names must remain valid Kubernetes object names');
