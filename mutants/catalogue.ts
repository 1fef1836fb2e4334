/**
 * The catalogue of protocol mutants (issue 22, item 6): small bugs a careful implementer
 * could write into `machines/`, each a few text replacements anchored on source text that
 * must occur exactly once (mutants/test/catalogue.test.ts fails when an anchor no longer
 * matches: `machines/` is edited by others, so fix the anchor after a merge). `npm run
 * mutants` applies each to a scratch copy of the repository (never to `machines/` in
 * place) and runs the checker and the affected roles' conformance profiles on it
 * (mutants/README.md).
 *
 * A mutant that survives both tools is either proven equivalent (`equivalent` says why)
 * or a hole, answered by a new property, preset or case (mutants/README.md lists the open ones).
 */

/** The roles of a conformance profile (`kd conformance --role R`). */
export const conformanceRoles = ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet'] as const;
export type ConformanceRole = (typeof conformanceRoles)[number];

/** One text replacement in one file. */
export interface Edit {
  /** The file it changes, relative to the repository root (always under machines/). */
  readonly file: string;
  /** Source text that must occur exactly once in `file` (after the mutant's earlier edits). */
  readonly anchor: string;
  /** What the anchor becomes. */
  readonly replacement: string;
}

export interface Mutant {
  /** Stable, kebab-case: `--only NAME`, the README table, the conformance tests. */
  readonly name: string;
  /** The bug, as a user of the protocol would name it. */
  readonly bug: string;
  /** Its text replacements, applied in order (most mutants have one). */
  readonly edits: readonly Edit[];
  /** The conformance profiles that test the stage whose behaviour changes. */
  readonly roles: readonly ConformanceRole[];
  /** The requirement (spec/requirements.ts) the mutant breaks. */
  readonly requirement: string;
  /** Set only for a mutant proven to change no behaviour a peer or a user can see: why. */
  readonly equivalent?: string;
  /**
   * Set for a mutant a peer can see (conformance kills it) but no world of the model can:
   * why every model run stays correct with it (issue 22: "say so in the catalogue entry").
   */
  readonly unobservableInModel?: string;
}

const schedulerDecisions = 'machines/decisions/scheduler-decisions.ts';
const scheduler = 'machines/stages/scheduler.ts';
const schedulerPod = 'machines/pods/scheduler-pod.machine.ts';
const kubelet = 'machines/stages/kubelet.ts';
const kubeletPod = 'machines/pods/kubelet-pod.machine.ts';
const sessionSides = 'machines/stages/session-sides.ts';
const downstreamSession = 'machines/session/downstream-session.machine.ts';
const replicaSet = 'machines/stages/replicaset.ts';
const replicaSetDecisions = 'machines/decisions/replicaset-decisions.ts';
const deployment = 'machines/stages/deployment.ts';
const autoscaler = 'machines/stages/autoscaler.ts';
const scaleHolder = 'machines/stages/scale-holder.ts';
const replicaSetPod = 'machines/pods/replicaset-pod.machine.ts';
const upstreamSession = 'machines/session/upstream-session.machine.ts';

export const mutants: readonly Mutant[] = [
  // --- Scheduler: placement and preemption (spec/05-stage-decisions.md) ---
  {
    name: 'place-on-smallest-free',
    bug: 'the Scheduler places a pod on the warm node with the least free capacity instead of the most',
    edits: [{ file: schedulerDecisions, anchor: 'for (const f of free) if (f > bestFree) bestFree = f;', replacement: 'for (const f of free) if (f > 0 && (bestFree === 0 || f < bestFree)) bestFree = f;' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-002',
  },
  {
    name: 'preempt-oldest-victim',
    bug: 'among victims of the lowest priority the Scheduler preempts the oldest pod, not the newest',
    edits: [{ file: schedulerDecisions, anchor: 'a.record.priority - b.record.priority || compareNewestFirst(a.record.name, b.record.name)', replacement: 'a.record.priority - b.record.priority || compareNewestFirst(b.record.name, a.record.name)' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-006',
  },
  {
    name: 'preempt-highest-lower-priority',
    bug: 'the Scheduler preempts the highest of the lower priorities instead of the lowest',
    edits: [{ file: schedulerDecisions, anchor: 'a.record.priority - b.record.priority || compareNewestFirst(a.record.name, b.record.name)', replacement: 'b.record.priority - a.record.priority || compareNewestFirst(a.record.name, b.record.name)' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-006',
  },
  {
    name: 'preempt-equal-priority',
    bug: 'the Scheduler preempts a pod of equal priority (endless churn)',
    edits: [{ file: schedulerDecisions, anchor: 'c.record.priority < pod.record.priority', replacement: 'c.record.priority <= pod.record.priority' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-006',
  },
  {
    name: 'preempt-despite-kills-under-way',
    bug: 'the Scheduler preempts again although terminations under way will free the room',
    edits: [{ file: schedulerDecisions, anchor: '  if (underWay >= unplaced.length) return [];\n', replacement: '  underWay = 0;\n' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-007',
  },
  {
    name: 'count-tombstones-as-free',
    bug: "the Scheduler counts a node's pods being killed as free capacity",
    edits: [{ file: schedulerDecisions, anchor: 'let used = pods.countOnNode(node, holdsCapacity);', replacement: 'let used = pods.countOnNode(node, holdsCapacity) - pods.countOnNode(node, tombstoneStates);' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-003',
  },
  {
    name: 'place-on-unsynced-kubelet',
    bug: 'the Scheduler places pods on a Kubelet whose link never synced in this incarnation (its inventory unknown)',
    edits: [{ file: scheduler, anchor: 'const warmNodes = this.config.nodes.filter((n) => this.state.toKubelets[n.name]?.everSynced === true);', replacement: 'const warmNodes = this.config.nodes;' }],
    roles: ['scheduler'],
    requirement: 'REQ-REC-006',
    equivalent:
      'here the filter never removes a node: a pod is unscheduled only after the ReplicaSet\'s session synced (upstream.provision is admitted only then), the Scheduler answers that hello only once every configured node\'s link has synced in this incarnation (REQ-REC-005), and everSynced never goes back within an incarnation. REQ-REC-006 bites only together with an early answer: cold-scheduler-places-on-unsynced',
  },
  {
    name: 'cold-scheduler-places-on-unsynced',
    bug: 'the Scheduler answers the ReplicaSet while a Kubelet link has never synced, and places pods on that node',
    edits: [
      {
        file: scheduler,
        anchor: '  warm(): boolean {\n    for (const node of this.config.nodes) if (this.state.toKubelets[node.name]?.everSynced !== true) return false;\n    return true;',
        replacement: '  warm(): boolean {\n    return true;',
      },
      { file: scheduler, anchor: 'const warmNodes = this.config.nodes.filter((n) => this.state.toKubelets[n.name]?.everSynced === true);', replacement: 'const warmNodes = this.config.nodes;' },
    ],
    roles: ['scheduler'],
    requirement: 'REQ-REC-006',
  },
  {
    name: 'scheduler-adopts-foreign-pod',
    bug: 'at a resync the Scheduler adopts a pod alive below that nobody above knows, instead of terminating it',
    edits: [{ file: scheduler, anchor: "if (resync && event !== 'snapshot.tombstone') this.adopt(", replacement: "if (resync && event === 'snapshot.absent') this.adopt(" }],
    roles: ['scheduler'],
    requirement: 'REQ-CACHE-013',
  },
  {
    name: 'scheduler-acks-tombstone-early',
    bug: 'the Scheduler acknowledges the tombstone of a bound pod at once and forgets it, before the Kubelet killed it',
    edits: [{ file: schedulerPod, anchor: ": { target: '#scheduler-pod.terminating.unsent' } as const;\n  // `drop-tombstone-before-running`", replacement: ": { target: '#scheduler-pod.gone', actions: ['sendTombstone', 'notifyTombstoneDone'] } as const;\n  // `drop-tombstone-before-running`" }],
    roles: ['scheduler'],
    requirement: 'REQ-TOMB-003',
  },
  {
    name: 'scheduler-preempts-silently',
    bug: 'the Scheduler preempts a bound pod without telling the ReplicaSet (no pod.preempted)',
    edits: [{ file: schedulerPod, anchor: "      : { target: '#scheduler-pod.terminating.unsent', actions: 'notifyPreempted' } as const;\n  const aliveWhileTerminating", replacement: "      : { target: '#scheduler-pod.terminating.unsent' } as const;\n  const aliveWhileTerminating" }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-008',
  },
  // --- Kubelet (spec/04-lifecycles.md, Kubelet sandbox) ---
  {
    name: 'kubelet-acks-kill-early',
    bug: 'the Kubelet acknowledges the tombstone of a running pod when it starts the kill, not once the sandbox is dead',
    edits: [{ file: kubeletPod, anchor: "'sandbox.failed': { target: 'gone', actions: 'notifyFailed' },\n          'upstream.tombstone': { target: 'killing', actions: 'killSandbox' },\n        },\n      },\n      killing:", replacement: "'sandbox.failed': { target: 'gone', actions: 'notifyFailed' },\n          'upstream.tombstone': { target: 'killing', actions: ['killSandbox', 'notifyTombstoneDone'] },\n        },\n      },\n      killing:" }],
    roles: ['kubelet'],
    requirement: 'REQ-TOMB-005',
  },
  {
    name: 'kubelet-admits-over-killing',
    bug: "the Kubelet's admission ignores sandboxes being killed (they still hold their room)",
    edits: [{ file: kubelet, anchor: 'const admit = sandboxesHeld(this.state.pods) < this.config.capacity;', replacement: "const admit = sandboxesHeld(this.state.pods) - this.state.pods.countIn('killing') < this.config.capacity;" }],
    roles: ['kubelet'],
    requirement: 'REQ-POD-012',
  },
  {
    name: 'kubelet-restart-forgets-kill',
    bug: 'a restarted Kubelet rebuilds a sandbox that was being killed as running (the kill is forgotten across the restart)',
    edits: [{ file: kubelet, anchor: "stepLifecycle(machines.kubeletPod, 'unknown', `inventory.${item.state}`)", replacement: "stepLifecycle(machines.kubeletPod, 'unknown', item.state === 'killing' ? 'inventory.running' : `inventory.${item.state}`)" }],
    roles: ['kubelet'],
    requirement: 'REQ-POD-013',
  },
  {
    name: 'kubelet-unknown-tombstone-unacked',
    bug: 'the Kubelet never acknowledges a tombstone for a pod it does not hold',
    edits: [{ file: kubelet, anchor: "      if (!this.state.pods.has(message.name)) {\n        this.notifyUp({ type: 'tombstone.done', epoch: this.upEpoch, name: message.name });\n        return 'applied';", replacement: "      if (!this.state.pods.has(message.name)) {\n        return 'applied';" }],
    roles: ['kubelet'],
    requirement: 'REQ-TOMB-004',
    unobservableInModel:
      "in the model the Scheduler never waits for that acknowledgement: it sends a tombstone only for a pod it holds bound or running in the current session, i.e. provisioned in it (FIFO) or confirmed by its snapshot; if the Kubelet no longer holds the pod, its pod.failed (rejected, sandbox failed) went up first and ends the Scheduler's tombstone (terminating + downstream.failed -> gone), and after a restart, crash or cut the next snapshot shows it absent (terminating + snapshot.absent -> gone). Every preset, ranks and 20 swarm configurations stay correct with it; a peer that tombstones a name never provisioned sees it (kubelet.tombstone-idempotent)",
  },
  {
    name: 'kubelet-snapshot-drops-tombstones',
    bug: "the Kubelet's snapshot leaves out the sandboxes being killed (a tombstone dropped)",
    edits: [{ file: kubelet, anchor: "...describeCache(this.state.pods, 'kubelet-pod', this.config.variant !== 'no-tombstones')", replacement: "...describeCache(this.state.pods, 'kubelet-pod', false)" }],
    roles: ['kubelet'],
    requirement: 'REQ-TOMB-007',
  },
  {
    name: 'kubelet-runs-pod-of-other-node',
    bug: 'the Kubelet starts a provisioned pod bound to another node',
    edits: [{ file: kubelet, anchor: 'if (this.state.pods.has(message.pod.name) || message.pod.node !== this.config.node) return', replacement: 'if (this.state.pods.has(message.pod.name)) return' }],
    roles: ['kubelet'],
    requirement: 'REQ-POD-007',
    equivalent:
      'no input reaches the check it removes: the runtime\'s wire codec refuses a provision naming another node as MALFORMED before the Kubelet\'s machine sees it (runtime/wire/codec.ts, REQ-WIRE-004), and in the model every Scheduler, the forged one included, provisions a Kubelet only with pods placed on its node. The machine\'s check is a second line of defence',
  },
  // --- Sessions and epochs, every stage (spec/02-sessions-and-epochs.md) ---
  {
    name: 'accept-equal-epoch-hello',
    bug: 'a downstream accepts a hello whose epoch equals its current one',
    edits: [{ file: sessionSides, anchor: "if (epoch <= side.epoch && variant !== 'no-fencing') return { kind: 'rejected' };", replacement: "if (epoch < side.epoch && variant !== 'no-fencing') return { kind: 'rejected' };" }],
    roles: ['kubelet', 'scheduler'],
    requirement: 'REQ-SESS-006',
  },
  {
    name: 'admit-older-epoch-records',
    bug: 'a downstream applies records of an older epoch (the epoch comparison flipped to "not newer")',
    edits: [{ file: sessionSides, anchor: "const epochMatches = variant === 'no-fencing' || message.epoch === side.epoch;", replacement: "const epochMatches = variant === 'no-fencing' || message.epoch <= side.epoch;" }],
    roles: ['kubelet', 'scheduler'],
    requirement: 'REQ-SESS-005',
  },
  {
    name: 'admit-records-before-sync',
    bug: 'a downstream applies records of the current epoch before the session is synced',
    edits: [{ file: sessionSides, anchor: 'return epochMatches && serverSynced(side);', replacement: 'return epochMatches;' }],
    roles: ['kubelet', 'scheduler'],
    requirement: 'REQ-SESS-011',
  },
  {
    name: 'upstream-admits-any-epoch',
    bug: 'an upstream applies messages from below whatever their epoch',
    edits: [{ file: sessionSides, anchor: "  if (message.epoch !== side.epoch && variant !== 'no-fencing') return false;\n", replacement: '' }],
    roles: ['scheduler', 'replicaset'],
    requirement: 'REQ-SESS-005',
  },
  {
    name: 'sync-any-epoch',
    bug: 'a downstream completes a handshake on a session.sync of another epoch',
    edits: [{ file: sessionSides, anchor: "if (epoch !== side.epoch && variant !== 'no-fencing') return null;", replacement: "if (epoch < 0 && variant !== 'no-fencing') return null;" }],
    roles: ['kubelet', 'scheduler'],
    requirement: 'REQ-SESS-011',
  },
  {
    name: 'unsynced-hello-fences',
    bug: 'a hello whose session ended before its sync still fences the synced epoch (DEC-40 forgotten)',
    edits: [{ file: downstreamSession, anchor: "'stage.warmed': { target: 'awaitingSync', actions: 'sendSnapshot' } as const,\n          // A hello alone fences nothing once its session is gone (DEC-40): anyone can send one.\n          'link.lost': { target: 'idle', actions: 'restoreSyncedEpoch' },", replacement: "'stage.warmed': { target: 'awaitingSync', actions: 'sendSnapshot' } as const,\n          'link.lost': 'idle'," }],
    roles: ['scheduler', 'replicaset'],
    requirement: 'REQ-SESS-021',
  },
  {
    name: 'never-reconnects',
    bug: 'an upstream opens no new session after its first one ended (its transport comes back, no hello follows)',
    edits: [
      {
        file: sessionSides,
        anchor: 'export function connectClient(machines: MachineSet, side: ClientSide, incarnation: number, out: EffectList): ClientSide {\n  return stepClientSide(',
        replacement: 'export function connectClient(machines: MachineSet, side: ClientSide, incarnation: number, out: EffectList): ClientSide {\n  if (side.sessionsOpened > 0) return side;\n  return stepClientSide(',
      },
    ],
    roles: ['scheduler'],
    requirement: 'REQ-SESS-017',
  },
  // --- ReplicaSet (spec/05-stage-decisions.md, 03-write-back-cache.md) ---
  {
    name: 'replace-terminating-pods',
    bug: 'the ReplicaSet creates replacements for pods that are still being terminated',
    edits: [{ file: replicaSetDecisions, anchor: 'const missing = desired - pods.alive - pods.terminating;', replacement: 'const missing = desired - pods.alive;' }],
    roles: ['replicaset'],
    requirement: 'REQ-RS-004',
  },
  {
    name: 'terminate-running-first',
    bug: 'at a scale-down the ReplicaSet terminates running pods before pods not yet running',
    edits: [{ file: replicaSetDecisions, anchor: '{ pending: 0, provisioned: 1, running: 2 }', replacement: '{ pending: 2, provisioned: 1, running: 0 }' }],
    roles: ['replicaset'],
    requirement: 'REQ-RS-003',
  },
  {
    name: 'reconcile-ignores-snapshot-tombstones',
    bug: "the ReplicaSet's reconciliation ignores tombstones in the Scheduler's snapshot that it does not hold",
    edits: [{ file: replicaSet, anchor: '    for (const name of snapshotNames(index)) {\n      if (this.state.pods.has(name)) continue;\n      const found = snapshotRecord(index, name);\n      assert(found !== undefined, \'a snapshot name has a record\');\n      this.adopt(', replacement: '    for (const name of snapshotNames(index)) {\n      if (this.state.pods.has(name) || index.tombstones.has(name)) continue;\n      const found = snapshotRecord(index, name);\n      assert(found !== undefined, \'a snapshot name has a record\');\n      this.adopt(' }],
    roles: ['replicaset'],
    requirement: 'REQ-RS-004',
  },
  {
    name: 'pod-names-forget-incarnation',
    bug: "a restarted ReplicaSet names new pods without its incarnation (names repeat after a restart)",
    edits: [{ file: replicaSetDecisions, anchor: 'return `${fn}-${incarnation}-${ordinal}`;', replacement: 'return `${fn}-${Math.min(incarnation, 1)}-${ordinal}`;' }],
    roles: ['replicaset'],
    requirement: 'REQ-POD-001',
  },
  // --- Deployment (desired counts, spec/03-write-back-cache.md) ---
  {
    name: 'deployment-skips-resend',
    bug: 'after a new session with the ReplicaSet the Deployment does not re-send the counts it holds',
    edits: [{ file: deployment, anchor: 'this.state = { ...this.state, scales: markAllUnsent(this.machines, scales) };', replacement: 'this.state = { ...this.state, scales };' }],
    roles: ['deployment'],
    requirement: 'REQ-SESS-010',
  },
  {
    name: 'deployment-acks-before-applied',
    bug: 'the Deployment acknowledges a desired count to the Autoscaler before the ReplicaSet applied it',
    edits: [{ file: deployment, anchor: "    this.state = { ...this.state, scales: setDesired(this.machines, this.state.scales, message.scale.function, message.scale.desired) };\n    return 'applied';", replacement: "    this.state = { ...this.state, scales: setDesired(this.machines, this.state.scales, message.scale.function, message.scale.desired) };\n    this.out.send(this.state.fromAutoscaler.link, { type: 'scale.applied', epoch: this.state.fromAutoscaler.epoch, scale: message.scale });\n    return 'applied';" }],
    roles: ['deployment'],
    requirement: 'REQ-SCALE-004',
  },
  // --- Added for issue 22's mutation depth (session of 21:28 UTC): each kind the issue lists, every role ---
  // Autoscaler
  {
    name: 'autoscaler-skips-resend',
    bug: 'after a new session with the Deployment the Autoscaler does not re-send the counts it holds (a missing resend)',
    edits: [{ file: autoscaler, anchor: '    this.state = { ...this.state, scales: markAllUnsent(this.machines, this.state.scales) };\n', replacement: '' }],
    roles: ['autoscaler'],
    requirement: 'REQ-SESS-010',
  },
  {
    name: 'autoscaler-forgets-persist',
    bug: 'the Autoscaler takes a desired count without writing it to its backing store (the count is forgotten across a restart)',
    edits: [{ file: autoscaler, anchor: "    this.out.push({ type: 'store.persist', function: fn, desired });\n", replacement: '' }],
    roles: ['autoscaler'],
    requirement: 'REQ-FAIL-002',
  },
  {
    name: 'scale-applied-any-value',
    bug: 'a holder of desired counts (Autoscaler, Deployment) marks its entry applied on an acknowledgement of another value (an acknowledgement taken for the wrong count)',
    edits: [{ file: scaleHolder, anchor: 'if (entry === undefined || entry.desired !== desired) return table;', replacement: 'if (entry === undefined) return table;' }],
    roles: ['deployment', 'autoscaler'],
    requirement: 'REQ-SCALE-004',
  },
  // Deployment
  {
    name: 'deployment-snapshot-overrides-counts',
    bug: "at round 2 the Deployment takes the ReplicaSet's counts over the newer ones it holds (a cache entry overwritten by an older value)",
    edits: [{ file: deployment, anchor: 'for (const s of snapshot.scales) if (!(s.function in scales)) scales = withEntry(', replacement: 'for (const s of snapshot.scales) scales = withEntry(' }],
    roles: ['deployment'],
    requirement: 'REQ-CACHE-011',
  },
  // ReplicaSet
  {
    name: 'replicaset-never-acks-scale',
    bug: 'the ReplicaSet applies a desired count but never acknowledges it (no scale.applied)',
    edits: [{ file: replicaSet, anchor: "    this.out.send(this.state.fromDeployment.link, { type: 'scale.applied', epoch: this.state.fromDeployment.epoch, scale: message.scale });\n", replacement: '' }],
    roles: ['replicaset'],
    requirement: 'REQ-SCALE-004',
  },
  {
    name: 'replicaset-scale-down-one-short',
    bug: 'at a scale-down the ReplicaSet terminates one pod fewer than the excess (off by one)',
    edits: [{ file: replicaSetDecisions, anchor: 'victims: ranked.slice(0, pods.alive - desired)', replacement: 'victims: ranked.slice(0, pods.alive - desired - 1)' }],
    roles: ['replicaset'],
    requirement: 'REQ-RS-003',
  },
  {
    name: 'replicaset-forgets-preempted',
    bug: 'the ReplicaSet drops a running pod the Scheduler preempted at once, before its kill is confirmed (a tombstone dropped: the replacement is created while the victim still runs)',
    edits: [
      {
        file: replicaSetPod,
        anchor: "          'downstream.preempted': 'terminating.sent',\n          'snapshot.tombstone': 'terminating.sent',\n          'decide.terminate': terminate,\n        },\n      },\n      terminating:",
        replacement: "          'downstream.preempted': 'gone',\n          'snapshot.tombstone': 'terminating.sent',\n          'decide.terminate': terminate,\n        },\n      },\n      terminating:",
      },
    ],
    roles: ['replicaset'],
    requirement: 'REQ-TOMB-003',
  },
  {
    name: 'replicaset-keeps-absent-pod',
    bug: "a provisioned pod missing from the Scheduler's snapshot stays provisioned at the ReplicaSet (a cache entry not invalidated: it waits for a pod nobody holds)",
    edits: [
      {
        file: replicaSetPod,
        anchor: "          'snapshot.absent': { target: 'gone', actions: 'recordRollback' },\n          'downstream.preempted': 'terminating.sent',\n          'snapshot.tombstone': 'terminating.sent',\n          'decide.terminate': terminate,\n        },\n      },\n      running:",
        replacement: "          'snapshot.absent': 'provisioned',\n          'downstream.preempted': 'terminating.sent',\n          'snapshot.tombstone': 'terminating.sent',\n          'decide.terminate': terminate,\n        },\n      },\n      running:",
      },
    ],
    roles: ['replicaset'],
    requirement: 'REQ-CACHE-009',
  },
  // Scheduler
  {
    name: 'scheduler-unknown-tombstone-unacked',
    bug: 'the Scheduler never acknowledges a tombstone for a pod it does not hold',
    edits: [{ file: scheduler, anchor: "      if (!this.state.pods.has(message.name)) {\n        this.notifyUp({ type: 'tombstone.done', epoch: this.upEpoch, name: message.name });\n        return 'applied';", replacement: "      if (!this.state.pods.has(message.name)) {\n        return 'applied';" }],
    roles: ['scheduler'],
    requirement: 'REQ-TOMB-004',
    unobservableInModel:
      "in the model the ReplicaSet never waits for that acknowledgement: it tombstones only a pod it holds provisioned or running in the current session (provisioned in it, FIFO, or confirmed by the Scheduler's snapshot); if the Scheduler no longer holds it, its pod.failed or pod.preempted and tombstone.done went up first and end the ReplicaSet's tombstone (terminating + downstream.failed or tombstoneDone -> gone), and after a restart, crash or cut the next snapshot shows it absent. A peer that tombstones a name never provisioned sees it: scheduler.unknown-tombstone-acknowledged",
  },
  {
    name: 'place-lowest-priority-first',
    bug: 'the Scheduler places waiting pods lowest priority first (a wrong priority comparison)',
    edits: [{ file: schedulerDecisions, anchor: 'sort((a, b) => b.record.priority - a.record.priority || (a.record.name < b.record.name ? -1 : 1))', replacement: 'sort((a, b) => a.record.priority - b.record.priority || (a.record.name < b.record.name ? -1 : 1))' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-002',
  },
  {
    name: 'scheduler-free-off-by-one',
    bug: 'the Scheduler counts one slot more on every node than its capacity leaves free (off by one)',
    edits: [{ file: schedulerDecisions, anchor: 'const free = nodes.map((n) => n.capacity - capacityUsed(input.variant, input.pods, n.name));', replacement: 'const free = nodes.map((n) => n.capacity + 1 - capacityUsed(input.variant, input.pods, n.name));' }],
    roles: ['scheduler'],
    requirement: 'REQ-SCHED-002',
  },
  // Kubelet
  {
    name: 'kubelet-refuses-last-slot',
    bug: 'the Kubelet refuses a pod when one slot is left (admission off by one)',
    edits: [{ file: kubelet, anchor: 'const admit = sandboxesHeld(this.state.pods) < this.config.capacity;', replacement: 'const admit = sandboxesHeld(this.state.pods) < this.config.capacity - 1;' }],
    roles: ['kubelet'],
    requirement: 'REQ-POD-012',
  },
  {
    name: 'kubelet-failed-kill-unacked',
    bug: 'a sandbox that dies of itself while being killed is never acknowledged (no tombstone.done)',
    edits: [{ file: kubeletPod, anchor: "          'sandbox.failed': { target: 'gone', actions: 'notifyTombstoneDone' },", replacement: "          'sandbox.failed': 'gone'," }],
    roles: ['kubelet'],
    requirement: 'REQ-TOMB-005',
    unobservableInModel:
      "the model's sandbox runtime ends a sandbox being killed only as killed: simulator/world.ts offers a failure (under the sandboxFailure budget) to starting sandboxes only, so the transition this mutant changes is unreachable in every model world, swarm's included. Open: let a sandbox being killed (or running) fail in the model; the conformance suite's sandbox runtime cannot fail a kill either (kubelet 31 cases pass)",
  },
  {
    name: 'kubelet-reports-running-at-start',
    bug: 'the Kubelet reports pod.running when it asks for the sandbox, before the sandbox has started',
    edits: [{ file: kubeletPod, anchor: "'upstream.provision': { target: 'starting', actions: 'startSandbox' },", replacement: "'upstream.provision': { target: 'starting', actions: ['startSandbox', 'notifyRunning'] }," }],
    roles: ['kubelet'],
    requirement: 'REQ-POD-011',
  },
  // Sessions and epochs
  {
    name: 'awaiting-sync-hello-fences',
    bug: 'a session that ends after its snapshot but before its sync still fences with its epoch (DEC-40 forgotten in round 2)',
    edits: [
      {
        file: downstreamSession,
        anchor: "          'sync.received': { target: 'synced', actions: 'recordSyncedEpoch' },\n          'link.lost': { target: 'idle', actions: 'restoreSyncedEpoch' },",
        replacement: "          'sync.received': { target: 'synced', actions: 'recordSyncedEpoch' },\n          'link.lost': 'idle',",
      },
    ],
    roles: ['kubelet', 'scheduler'],
    requirement: 'REQ-SESS-021',
  },
  {
    name: 'sync-epoch-not-recorded',
    bug: 'a downstream completes a handshake without recording the synced epoch (a field forgotten: a later unsynced session falls back to an older epoch)',
    edits: [{ file: downstreamSession, anchor: "'sync.received': { target: 'synced', actions: 'recordSyncedEpoch' },", replacement: "'sync.received': 'synced'," }],
    roles: ['kubelet', 'scheduler'],
    requirement: 'REQ-SESS-021',
  },
  {
    name: 'rejection-ignored-while-awaiting',
    bug: 'an upstream waiting for a snapshot ignores session.rejected (it never opens a newer session)',
    edits: [
      {
        file: upstreamSession,
        anchor: "          'link.lost': { target: 'disconnected', actions: 'closeSession' },\n          'session.rejected': { target: 'disconnected', actions: 'closeSession' },\n        },\n      },\n      synced:",
        replacement: "          'link.lost': { target: 'disconnected', actions: 'closeSession' },\n        },\n      },\n      synced:",
      },
    ],
    roles: ['scheduler', 'replicaset'],
    requirement: 'REQ-SESS-017',
  },
];

/** The mutant of that name; throws with the known names otherwise. */
export function mutantNamed(name: string): Mutant {
  const found = mutants.find((m) => m.name === name);
  if (found === undefined) throw new Error(`no mutant named "${name}"; known: ${mutants.map((m) => m.name).join(', ')}`);
  return found;
}
