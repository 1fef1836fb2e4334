/**
 * JSON Schemas (draft-07) of the two files an operator writes or reads: the cluster
 * configuration every stage reads (`cluster.json`, runtime/config.ts) and the hosts file
 * of `kd deploy plan` (hosts-file.ts). They are the configuration reference: the operator
 * guide's tables are generated from them (docs/build/config-reference.ts), and `kd config
 * check`, `kd deploy plan` and `kd deploy start` validate files against them (with ajv)
 * before the checks that need more than a schema (one autoscaler, links, files present).
 * Every object is closed (`additionalProperties: false`): a misspelt key is an error.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { functionNameLengthMax, functionsMax, nodeCapacityMax, nodesMax } from '../../spec/limits.js';
import { frameBytesMax, frameBytesMin, receiveSliceMsMax } from '../../spec/limits.js';
import { variantNames } from '../../spec/variants.js';
import { sandboxDrivers } from '../config.js';
import { defaultMetricsPort, defaultStagePort, hostsMax } from './hosts-file.js';

type Schema = Record<string, unknown>;

const dnsLabel = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';
const hostPort = '^(\\[[0-9a-fA-F:]+\\]|[^:\\[\\]]+):[0-9]{1,5}$';
const stageId = '^(autoscaler|deployment|replicaset|scheduler|kubelet:[a-z0-9]([a-z0-9-]*[a-z0-9])?)$';
const identityList = (what: string): Schema => ({ type: 'array', minItems: 1, items: { type: 'string', minLength: 1 }, description: what, default: ['operator'] });

const criSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['endpoint'],
  description: 'The cri driver: the container runtime to run each pod in.',
  properties: {
    endpoint: { type: 'string', pattern: '^(unix://)?/\\S+$', description: "The runtime's CRI socket, e.g. unix:///run/containerd/containerd.sock." },
    image: { type: 'string', description: "The pod container's image, already in the runtime (npm run cri:image).", default: 'kubedirect.local/sandbox:1' },
  },
};

const sandboxSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['startDelayMs', 'killDelayMs'],
  description: "The Kubelets' sandbox runtime.",
  properties: {
    driver: { enum: [...sandboxDrivers], default: 'simulated', description: 'simulated: timers; process: a child process per sandbox; cri: a container per pod through the CRI.' },
    startDelayMs: { type: 'integer', minimum: 0, description: 'Simulated driver: time a sandbox takes to start.' },
    killDelayMs: { type: 'integer', minimum: 0, description: 'Simulated driver: time a sandbox takes to stop.' },
    cri: criSchema,
  },
};

/** The schema of cluster.json. */
export const clusterConfigSchema: Schema = {
  title: 'Cluster configuration (cluster.json)',
  description: 'What every stage of one cluster reads: the chain, where each stage listens, and how it runs.',
  type: 'object',
  additionalProperties: false,
  required: ['chain', 'stages'],
  properties: {
    chain: {
      type: 'object',
      additionalProperties: false,
      required: ['functions', 'nodes'],
      description: 'The functions and nodes of the chain.',
      properties: {
        functions: {
          type: 'array',
          minItems: 1,
          maxItems: functionsMax,
          description: 'The functions; a higher priority wins at preemption.',
          items: { type: 'object', additionalProperties: false, required: ['name', 'priority'], properties: { name: { type: 'string', pattern: dnsLabel, maxLength: functionNameLengthMax }, priority: { type: 'integer' } } },
        },
        nodes: {
          type: 'array',
          minItems: 1,
          maxItems: nodesMax,
          description: 'The nodes, one Kubelet each, with their capacity in sandboxes.',
          items: { type: 'object', additionalProperties: false, required: ['name', 'capacity'], properties: { name: { type: 'string', pattern: dnsLabel }, capacity: { type: 'integer', minimum: 0, maximum: nodeCapacityMax } } },
        },
        variant: { enum: ['correct', ...variantNames], default: 'correct', description: 'A known-bad protocol variant, for testing test suites only.' },
      },
    },
    stages: {
      type: 'object',
      description: 'Every stage of the chain by its ID (autoscaler, deployment, replicaset, scheduler, kubelet:NODE).',
      propertyNames: { pattern: stageId },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['address', 'dataDir'],
        properties: {
          address: { type: 'string', pattern: hostPort, description: 'host:port the stage serves gRPC on and is dialled at; beyond loopback only with tls.' },
          dataDir: { type: 'string', minLength: 1, description: 'Durable data (incarnation, desired counts, sandboxes, trace); relative to the file.' },
          metricsAddress: { type: 'string', pattern: hostPort, description: '/metrics and /healthz: plain HTTP on loopback; beyond loopback only with tls, over mutual TLS.' },
        },
      },
    },
    sandbox: sandboxSchema,
    flow: {
      type: 'object',
      additionalProperties: false,
      description: 'Flow control of the links.',
      properties: {
        frameBytesMax: { type: 'integer', minimum: frameBytesMin, maximum: frameBytesMax, description: 'A frame size limit below the spec\'s.' },
        receiveSliceMsFirst: { type: 'integer', minimum: 1, maximum: receiveSliceMsMax, description: 'A shorter first slice of received records after an empty queue, ms, each further slice twice as long up to receiveSliceMsMax (DEC-69); absent: every slice as long as allowed.' },
      },
    },
    linkDialAddresses: { type: 'object', additionalProperties: { type: 'string', pattern: hostPort }, description: 'Tests of faults: the address the upstream of a link dials instead (loopback).' },
    store: {
      type: 'object',
      additionalProperties: false,
      required: ['kind'],
      description: 'The backing store of desired counts and Pod objects.',
      properties: {
        kind: { enum: ['file', 'etcd'], default: 'file' },
        dir: { type: 'string', description: 'file: where objects/pods/ goes (default: the file\'s directory).' },
        endpoint: { type: 'string', description: 'etcd: its client URL on loopback, http://127.0.0.1:2379.' },
        podObjects: { type: 'boolean', default: true, description: 'Whether the stages write Pod objects.' },
      },
    },
    transport: {
      type: 'object',
      additionalProperties: false,
      required: ['kind'],
      description: 'How the links travel: direct gRPC, or through etcd (the benchmark baseline).',
      properties: { kind: { enum: ['direct', 'store-mediated'], default: 'direct' }, etcd: { type: 'string' }, prefix: { type: 'string' } },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['trustDomain'],
      description: 'Mutual TLS 1.3 between stages, for the operator, and for metrics beyond loopback.',
      properties: {
        trustDomain: { type: 'string', description: 'The SPIFFE trust domain of the identities.', default: 'cluster.local' },
        certsDir: { type: 'string', description: 'ca.crt and IDENTITY.crt/.key as kd certs or kd deploy plan write them.' },
        ca: { type: 'string', description: 'The CA certificate, instead of certsDir/ca.crt.' },
        identities: {
          type: 'object',
          description: 'Per identity, its certificate and key files, instead of certsDir\'s.',
          additionalProperties: { type: 'object', additionalProperties: false, required: ['cert', 'key'], properties: { cert: { type: 'string' }, key: { type: 'string' } } },
        },
        operatorIdentities: identityList('Who may call Inspect (kd status).'),
        scalerClientIdentities: identityList('Who may call Scaler (kd scale).'),
        metricsClientIdentities: identityList('Who may read /metrics and /healthz served beyond loopback.'),
      },
    },
    host: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'stages'],
      description: 'One host of a multi-host deployment: the stages that run here (only their keys are present). [] on an operator\'s machine.',
      properties: { name: { type: 'string', minLength: 1 }, stages: { type: 'array', items: { type: 'string', pattern: stageId } } },
    },
  },
};

/** The schema of the hosts file of kd deploy plan. */
export const hostsFileSchema: Schema = {
  title: 'Hosts file (kd deploy plan)',
  description: 'The hosts of a multi-host deployment, written once by the operator.',
  type: 'object',
  additionalProperties: false,
  required: ['cluster', 'hosts'],
  properties: {
    cluster: {
      type: 'object',
      additionalProperties: false,
      required: ['functions'],
      description: 'What every host shares.',
      properties: {
        functions: { type: 'array', minItems: 1, items: { type: 'string', pattern: dnsLabel, maxLength: functionNameLengthMax }, description: 'Function names, in priority order (the first lowest).' },
        trustDomain: { type: 'string', default: 'cluster.local', description: 'The SPIFFE trust domain of the certificates.' },
        ports: {
          type: 'object',
          additionalProperties: false,
          description: "Base ports: a stage listens at its host's address on the base plus its role's offset (autoscaler 0, deployment 1, replicaset 2, scheduler 3, kubelet 4).",
          properties: {
            stage: { type: 'integer', minimum: 1, maximum: 65_531, default: defaultStagePort, description: 'gRPC.' },
            metrics: { type: 'integer', minimum: 1, maximum: 65_531, default: defaultMetricsPort, description: '/metrics and /healthz over mutual TLS.' },
          },
        },
        sandbox: { ...sandboxSchema, required: [] },
      },
    },
    hosts: {
      type: 'array',
      minItems: 1,
      maxItems: hostsMax,
      description: 'Every host, with the stages it runs.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'address', 'stages'],
        properties: {
          name: { type: 'string', pattern: dnsLabel, maxLength: 63, description: 'The host\'s name (in Kubernetes: its node name).' },
          address: { type: 'string', description: 'IPv4 address or DNS name (no port) its stages listen on and are dialled at.' },
          stages: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['autoscaler', 'deployment', 'replicaset', 'scheduler', 'kubelet'] }, description: 'The roles it runs; each controller on exactly one host.' },
          node: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'capacity'],
            description: 'With "kubelet": the node of its Kubelet.',
            properties: { name: { type: 'string', pattern: dnsLabel }, capacity: { type: 'integer', minimum: 0, maximum: nodeCapacityMax } },
          },
        },
      },
    },
  },
};

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, useDefaults: false });
const validators = new Map<Schema, ValidateFunction>();

function messageOf(error: ErrorObject): string {
  const where = error.instancePath === '' ? '(top level)' : error.instancePath.slice(1).replace(/\//g, '.');
  if (error.keyword === 'additionalProperties') return `${where}: unknown key "${String((error.params as { additionalProperty: string }).additionalProperty)}"`;
  if (error.keyword === 'enum') return `${where} must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where} ${error.message ?? 'is not valid'}`;
}

/** Why `value` does not match `schema`: one line per problem, with where it is; empty when it matches. */
export function schemaProblemsOf(schema: Schema, value: unknown): string[] {
  const validate = validators.get(schema) ?? ajv.compile(schema);
  validators.set(schema, validate);
  if (validate(value)) return [];
  return [...new Set((validate.errors ?? []).map(messageOf))];
}
