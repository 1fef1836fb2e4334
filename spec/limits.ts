/**
 * Every limit of the protocol, defined once (spec/10-wire-protocol.md §Limits).
 * Names end in `Max` (or `Min`), units and qualifiers last. Code must import these
 * names and never repeat a value. The relations between limits are asserted when
 * this module is loaded, so a contradiction fails at start rather than in production.
 */

/**
 * Sessions one upstream incarnation may open on one link; also the epoch multiplier
 * (REQ-SESS-002). This is `EPOCH_SESSIONS_PER_INCARNATION_MAX` of the design notes.
 */
export const sessionsPerIncarnationMax = 2 ** 20;

/** Incarnations of one stage (REQ-SESS-001), chosen so that every epoch is a safe integer. */
export const incarnationMax = Math.floor(Number.MAX_SAFE_INTEGER / sessionsPerIncarnationMax) - 1;

/** Pods one ReplicaSet incarnation may create: the counter `<n>` of a pod name stays below it. */
export const podOrdinalMax = 2 ** 31;

/** Characters of a function name (a DNS-1123 label). */
export const functionNameLengthMax = 63;

/** Characters of a node name (a DNS-1123 subdomain). */
export const nodeNameLengthMax = 253;

/** Characters of a stage ID: the longest is `kubelet:` followed by a node name. */
export const stageIdLengthMax = 'kubelet:'.length + nodeNameLengthMax;

/** Characters of a pod name `<function>-<incarnation>-<n>`: a function name, two dashes, two decimal numbers. */
export const podNameLengthMax = functionNameLengthMax + 2 + 16 + 10;

/** Configured functions. */
export const functionsMax = 10_000;

/** Configured nodes. */
export const nodesMax = 5_000;

/** Capacity (pods) of one node. */
export const nodeCapacityMax = 100_000;

/** Desired count of one function. */
export const desiredMax = 1_000_000;

/**
 * Entries of one `Scaler.SetScales` call (REQ-SCALE-007): a call with more is refused
 * whole. At most etcd's default operations per transaction (128), so the counts of one
 * call are stored in one etcd transaction (DEC-47).
 */
export const scaleSetsEntriesMax = 100;

/** Pod entries (alive and tombstones) one stage holds (REQ-RS-006). */
export const stagePodsMax = 2 ** 20;

/**
 * The creation window (REQ-RS-007, DEC-42): alive pods of one function the ReplicaSet
 * holds not yet confirmed running (`pending` or `provisioned`). Past it, the pods still
 * wanted are only a count: a desired count far above capacity costs entries in
 * proportion to capacity plus this window, at every stage and in the backing store.
 */
export const creationWindowPodsMax = 1_024;

/** Records in one batch frame, or in one part of a snapshot. */
export const batchRecordsMax = 1_024;

/** Encoded size of one frame, in bytes. */
export const frameBytesMax = 4 * 1024 * 1024;

/**
 * The smallest frame size limit a cluster may configure below `frameBytesMax` (a
 * runtime setting, e.g. for tests of splitting): room for a Hello with the longest
 * stage IDs and for one record of the largest size. A Rejected frame's message is
 * cut to fit.
 */
export const frameBytesMin = 1_024;

/**
 * Records (a snapshot counts each of its records) waiting in one session's send
 * queue, not yet taken by the transport. Twice `stagePodsMax`: a record for every
 * entry a stage can hold and one more for each (a provision and its tombstone), so a
 * healthy session never reaches it, even in a burst; a session whose peer stops
 * reading does, and is then ended by the sender like a link cut (REQ-FAIL-004): what
 * was queued is lost and the next session reconciles.
 */
export const sessionRecordsQueuedMax = 2 * stagePodsMax;

/**
 * Received frames waiting to be applied on one session stream; at this many the
 * receiver stops reading the stream until it has caught up (backpressure to the sender).
 */
export const receivedFramesQueuedMax = 16;

/**
 * Longest run of received records a stage applies before it lets its event loop serve
 * other work (sends, keepalives, Inspect). What a slice sends leaves after it, so this
 * also sets how many records a busy stage puts in one frame (DEC-31).
 */
export const receiveSliceMsMax = 50;

/** Characters of the message of a rejection. */
export const rejectionMessageLengthMax = 1_024;

/** First reconnection delay after a session ends (REQ-SESS-017). */
export const reconnectBackoffMsMin = 50;

/** Longest reconnection delay (REQ-SESS-017). */
export const reconnectBackoffMsMax = 5_000;

/** Silence after which a peer is considered dead (REQ-WIRE-010). */
export const linkDeadMsMax = 10_000;

/** Time a `Link.Session` stream has to send its Hello; past it, the stream is ended with HELLO_TIMEOUT (REQ-WIRE-015). */
export const helloWaitMsMax = 10_000;

/** Time a connection to a stage may carry no call before the stage closes it; also bounds a connection that never speaks HTTP/2 (REQ-WIRE-015). */
export const connectionIdleMsMax = 20_000;

/** Connections one peer address may hold open to one stage; more are closed at once (REQ-WIRE-015). */
export const peerConnectionsMax = 32;

/** Concurrent calls (HTTP/2 streams) one connection may carry; the HTTP/2 setting SETTINGS_MAX_CONCURRENT_STREAMS (REQ-WIRE-015). */
export const connectionStreamsMax = 32;

/** Time a `process` sandbox has to become ready after it is started; past it, it is killed and reported failed. */
export const sandboxStartMsMax = 30_000;

/** Time a `process` sandbox has to exit after SIGTERM before it gets SIGKILL. */
export const sandboxTerminationGraceMsMax = 2_000;

/** Protocol version carried in Hello (REQ-WIRE-009). Not a limit. */
export const protocolVersion = 1;

/** Largest epoch any stage can allocate. */
export const epochMax = incarnationMax * sessionsPerIncarnationMax + (sessionsPerIncarnationMax - 1);

/**
 * Upper bound of the encoded size of one record with its framing, in bytes: a pod
 * name, a function name and a node name, plus 32 bytes for tags, lengths, the
 * priority, a phase and a tombstone origin.
 */
export const podRecordBytesMax = podNameLengthMax + functionNameLengthMax + nodeNameLengthMax + 32;

/** Bytes of a frame outside its records (epoch, body tag, last flag), generously. */
export const frameOverheadBytesMax = 64;

function decimalDigits(value: number): number {
  return String(value).length;
}

/** Throws if two limits contradict each other. Runs once, when this module loads. */
export function assertLimitRelations(): void {
  const failures: string[] = [];
  const check = (holds: boolean, relation: string): void => {
    if (!holds) failures.push(relation);
  };
  check(Number.isSafeInteger(epochMax), 'the largest epoch is a safe integer');
  check(incarnationMax >= 1, 'at least one incarnation');
  check(
    functionNameLengthMax + 2 + decimalDigits(incarnationMax) + decimalDigits(podOrdinalMax) <= podNameLengthMax,
    'the longest pod name fits in podNameLengthMax',
  );
  check(podNameLengthMax <= 253, 'pod names are valid Kubernetes object names');
  check(batchRecordsMax * podRecordBytesMax + frameOverheadBytesMax <= frameBytesMax, 'a full batch of the largest records fits in frameBytesMax');
  check(desiredMax <= stagePodsMax, 'one function at its largest desired count fits in a stage');
  check(nodeCapacityMax <= stagePodsMax, 'one full node fits in a stage');
  check(creationWindowPodsMax >= 1 && creationWindowPodsMax <= stagePodsMax, 'the creation window holds at least one pod and fits in a stage');
  check(reconnectBackoffMsMin > 0, 'the first reconnection delay is positive');
  check(reconnectBackoffMsMin <= reconnectBackoffMsMax, 'reconnectBackoffMsMin <= reconnectBackoffMsMax');
  check(batchRecordsMax >= 1 && functionsMax >= 1 && nodesMax >= 1, 'every count limit is at least 1');
  check(frameBytesMin <= frameBytesMax, 'frameBytesMin <= frameBytesMax');
  check(podRecordBytesMax + frameOverheadBytesMax <= frameBytesMin, 'one record of the largest size fits in frameBytesMin');
  check(2 * (stageIdLengthMax + 3) + frameOverheadBytesMax <= frameBytesMin, 'a Hello with the longest stage IDs fits in frameBytesMin');
  check(sessionRecordsQueuedMax >= 2 * stagePodsMax, 'a session queue holds two records for every entry a stage can hold');
  check(sandboxStartMsMax > 0 && sandboxTerminationGraceMsMax > 0, 'sandbox time limits are positive');
  check(receivedFramesQueuedMax >= 2 && receiveSliceMsMax > 0 && receiveSliceMsMax < linkDeadMsMax, 'the receive queue holds frames and a slice is far shorter than linkDeadMsMax');
  check(helloWaitMsMax > 0 && linkDeadMsMax / 2 < connectionIdleMsMax, 'a hello has some time, and a link\'s keepalive pings come more often than a connection is idle');
  check(peerConnectionsMax >= 4 && connectionStreamsMax >= 4, 'a peer may hold its link, a reconnection and a few operator calls at once');
  if (failures.length > 0) {
    throw new Error(`kubedirect limits contradict each other: ${failures.join('; ')}`);
  }
}

assertLimitRelations();
