/**
 * gRPC credentials for mutual TLS (spec/10-wire-protocol.md §Security):
 *
 * - Server (every stage): TLS 1.3 only, a client certificate issued by the cluster's CA
 *   required during the handshake (a peer without one never gets a call through), and an
 *   access check before any handler runs: a `Link.Session` only from the configured
 *   upstream (REQ-SEC-002), `Inspect` only from operator identities and `Scaler` only from
 *   scaler client identities (REQ-SEC-005), the health service from any identity of the
 *   trust domain. A refused call ends with `UNAUTHENTICATED` (a certificate without an
 *   identity of the trust domain) or `PERMISSION_DENIED` with reason `UNAUTHORIZED_UPSTREAM`
 *   before the handler sees it, so no epoch is read and no state changes. Because only the
 *   configured upstream gets a Link.Session through, the handler's check that
 *   `Hello.upstream_stage_id` is the configured upstream is the check that it is the
 *   authenticated identity (REQ-SEC-003).
 * - Client (an upstream's links, the `kd` command line): TLS 1.3 only, this identity's
 *   certificate, and the server's certificate must chain to the CA and carry exactly the
 *   URI SAN of the stage the client means to reach (REQ-SEC-004); anything else fails the
 *   connection attempt before any message is sent.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { linkEnds, type StageId } from '../../machines/index.js';
import { isLoopbackAddress, upstreamLinkOf, type ClusterConfig } from '../config.js';
import { rejection, statusOf, type ErrorReason } from '../wire/errors.js';
import { InspectClient, LinkClient, ScalerClient } from '../wire/proto.js';
import { identityOfCertificate, identityOfPeerCertificate, operatorIdentity, spiffeIdOf, tlsServerName } from './identity.js';
import { identityFilesOf, type TlsConfig } from './tls-config.js';

/** A TLS setting that cannot work (missing file, wrong identity): the operator must change the configuration or the certificates. */
export class TlsConfigurationError extends Error {}

/** The only TLS version offered or accepted (REQ-SEC-001). */
export const tlsVersion = 'TLSv1.3';

export { tlsServerName };

/** Channel options a client of a TLS stage needs besides its credentials. */
export const tlsChannelOptions: grpc.ChannelOptions = { 'grpc.ssl_target_name_override': tlsServerName };

/** The PEM files of one identity, read and checked. */
export interface TlsMaterial {
  readonly trustDomain: string;
  readonly identity: string;
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new TlsConfigurationError(`tls: cannot read the ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (make it with "npx kd certs")`);
  }
}

/**
 * Reads the CA, certificate and key of `identity` and checks that they fit: the
 * certificate is issued by the CA, names exactly this identity, has not expired, and the
 * key is its key. Every problem is an Error naming the file and the fix.
 */
export function loadTlsMaterial(tls: TlsConfig, identity: string): TlsMaterial {
  const files = identityFilesOf(tls, identity);
  const ca = readPem(tls.ca, 'CA certificate');
  const cert = readPem(files.cert, `certificate of ${identity}`);
  const key = readPem(files.key, `key of ${identity}`);
  let caCertificate: X509Certificate;
  let certificate: X509Certificate;
  try {
    caCertificate = new X509Certificate(ca);
  } catch (error) {
    throw new TlsConfigurationError(`tls: ${tls.ca} is not a PEM certificate: ${(error as Error).message}`);
  }
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TlsConfigurationError(`tls: ${files.cert} is not a PEM certificate: ${(error as Error).message}`);
  }
  if (!certificate.verify(caCertificate.publicKey))
    throw new TlsConfigurationError(`tls: ${files.cert} was not issued by the CA ${tls.ca}; issue it again with "npx kd certs" (--force for a new CA)`);
  const named = identityOfCertificate(tls.trustDomain, certificate);
  if (named.kind !== 'identity') throw new TlsConfigurationError(`tls: ${files.cert}: ${named.why}`);
  if (named.name !== identity) throw new TlsConfigurationError(`tls: ${files.cert} is the identity "${named.name}", not "${identity}" (expected URI SAN ${spiffeIdOf(tls.trustDomain, identity)})`);
  if (Date.parse(certificate.validTo) <= Date.now()) throw new TlsConfigurationError(`tls: ${files.cert} expired on ${certificate.validTo}; issue a new one with "npx kd certs --force"`);
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(key))) throw new Error('mismatch');
  } catch {
    throw new TlsConfigurationError(`tls: ${files.key} is not the private key of ${files.cert}`);
  }
  return { trustDomain: tls.trustDomain, identity, ca, cert, key };
}

// ---------------------------------------------------------------------------
// Who may call what
// ---------------------------------------------------------------------------

export interface AccessRule {
  /** Identities allowed. */
  readonly allowed: ReadonlySet<string>;
  /** The link named in a rejection ('' for Scaler and Inspect). */
  readonly link: string;
  /** What is refused, for messages: "a Link.Session", "Inspect"... */
  readonly what: string;
}

export interface AccessPolicy {
  readonly trustDomain: string;
  /** By method path (`/kubedirect.v1.Link/Session`); a path with no rule is refused. */
  readonly rules: ReadonlyMap<string, AccessRule>;
  /** Method paths under these prefixes are open to any identity of the trust domain. */
  readonly openPrefixes: readonly string[];
}

/** A refused call, as logged by the stage. */
export interface AccessRefusal {
  readonly method: string;
  readonly peer: string;
  readonly reason: ErrorReason;
  readonly message: string;
}

function pathOf(client: grpc.ServiceClientConstructor, method: string): string {
  const definition = (client.service as grpc.ServiceDefinition)[method];
  if (definition === undefined) throw new Error(`spec/kubedirect.proto: no method ${method}`);
  return definition.path;
}

export const linkSessionPath = pathOf(LinkClient, 'Session');
export const scalerSetScalePath = pathOf(ScalerClient, 'SetScale');
export const scalerSetScalesPath = pathOf(ScalerClient, 'SetScales');
export const inspectGetStatePath = pathOf(InspectClient, 'GetState');
/** The standard health service (spec/health.proto), used for readiness. */
const healthPathPrefix = '/grpc.health.v1.Health/';

/** The access policy of `stage` under `tls`: its upstream on the link, operators on Inspect, scaler clients on Scaler. */
export function accessPolicyOf(config: ClusterConfig, tls: TlsConfig, stage: StageId): AccessPolicy {
  const rules = new Map<string, AccessRule>();
  const upstreamLink = upstreamLinkOf(config, stage);
  if (upstreamLink !== null) rules.set(linkSessionPath, { allowed: new Set([linkEnds(upstreamLink).upstream]), link: upstreamLink, what: `a Link.Session on ${upstreamLink}` });
  rules.set(scalerSetScalePath, { allowed: new Set(tls.scalerClientIdentities), link: '', what: 'Scaler' });
  rules.set(scalerSetScalesPath, { allowed: new Set(tls.scalerClientIdentities), link: '', what: 'Scaler' });
  rules.set(inspectGetStatePath, { allowed: new Set(tls.operatorIdentities), link: '', what: 'Inspect' });
  return { trustDomain: tls.trustDomain, rules, openPrefixes: [healthPathPrefix] };
}

/** The refusal of a call to `method` by the peer with `certificate`, or null when it is allowed. */
export function accessRefusalOf(policy: AccessPolicy, method: string, certificate: PeerCertificate | undefined): AccessRefusal | null {
  const identity = identityOfPeerCertificate(policy.trustDomain, certificate);
  if (identity.kind === 'none') return { method, peer: '', reason: 'UNAUTHENTICATED', message: `no identity of the trust domain ${policy.trustDomain}: ${identity.why}` };
  if (policy.openPrefixes.some((prefix) => method.startsWith(prefix))) return null;
  const rule = policy.rules.get(method);
  if (rule === undefined) return { method, peer: identity.name, reason: 'UNAUTHORIZED_UPSTREAM', message: `${method} is not served to "${identity.name}"` };
  if (rule.allowed.has(identity.name)) return null;
  return {
    method,
    peer: identity.name,
    reason: 'UNAUTHORIZED_UPSTREAM',
    message: `"${identity.name}" may not open ${rule.what}; allowed: ${[...rule.allowed].join(', ')}`,
  };
}

/** A server interceptor that ends every call the policy refuses before its handler runs. */
export function accessInterceptor(policy: AccessPolicy, onRefused: (refusal: AccessRefusal) => void): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            const refusal = accessRefusalOf(policy, method.path, call.getAuthContext().sslPeerCertificate);
            if (refusal === null) return forward(metadata);
            onRefused(refusal);
            const link = policy.rules.get(method.path)?.link ?? '';
            const status = statusOf(rejection(refusal.reason, refusal.message), { epoch: 0, link });
            call.sendStatus({ ...status, details: status.details ?? refusal.message });
          },
        }),
    });
}

/** Server credentials: TLS 1.3 only, a client certificate from the CA required, the policy enforced on every call. */
class MutualTlsServerCredentials extends grpc.ServerCredentials {
  constructor(
    material: TlsMaterial,
    private readonly interceptor: grpc.ServerInterceptor,
  ) {
    super(
      { requestCert: true, rejectUnauthorized: true, minVersion: tlsVersion, maxVersion: tlsVersion },
      { ca: material.ca, cert: material.cert, key: material.key, minVersion: tlsVersion, maxVersion: tlsVersion },
    );
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }

  override _getInterceptors(): grpc.ServerInterceptor[] {
    return [this.interceptor];
  }
}

export function serverCredentialsOf(material: TlsMaterial, policy: AccessPolicy, onRefused: (refusal: AccessRefusal) => void): grpc.ServerCredentials {
  return new MutualTlsServerCredentials(material, accessInterceptor(policy, onRefused));
}

/**
 * Client credentials of `material`'s identity for a connection to `server` (a stage ID):
 * the server must present a certificate of the CA whose one URI SAN is `server`'s
 * identity (REQ-SEC-004). `onRefused` hears why a server was refused (grpc-js only
 * reports the connection attempt as failed).
 */
export function channelCredentialsOf(material: TlsMaterial, server: StageId, onRefused: (why: string) => void = () => {}): grpc.ChannelCredentials {
  const context = createSecureContext({ ca: material.ca, cert: material.cert, key: material.key, minVersion: tlsVersion, maxVersion: tlsVersion });
  const expected = spiffeIdOf(material.trustDomain, server);
  return grpc.credentials.createFromSecureContext(context, {
    checkServerIdentity: (_serverName, certificate) => {
      const identity = identityOfPeerCertificate(material.trustDomain, certificate);
      if (identity.kind === 'identity' && identity.name === server) return undefined;
      const why = `the server is not ${expected}: ${identity.kind === 'identity' ? `it is ${identity.uri}` : identity.why} (REQ-SEC-004)`;
      onRefused(why);
      return new Error(why);
    },
  });
}

// ---------------------------------------------------------------------------
// The operator's side (kd scale, kd status, kd down's checks)
// ---------------------------------------------------------------------------

const operatorMaterials = new WeakMap<TlsConfig, TlsMaterial>();

/** Credentials and channel options for an operator call to `stage`: insecure without tls, else the operator identity. */
export function operatorChannelOf(config: ClusterConfig, stage: StageId): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  const tls = config.tls;
  if (tls === undefined) return { credentials: grpc.credentials.createInsecure(), options: {} };
  let material = operatorMaterials.get(tls);
  if (material === undefined) {
    material = loadTlsMaterial(tls, operatorIdentity);
    operatorMaterials.set(tls, material);
  }
  return { credentials: channelCredentialsOf(material, stage), options: tlsChannelOptions };
}

// ---------------------------------------------------------------------------
// A stage's side: its server and its link clients
// ---------------------------------------------------------------------------

export interface StageSecurity {
  /** True when the stage runs with mutual TLS. */
  readonly tls: boolean;
  /** Credentials of the stage's gRPC server. */
  readonly server: grpc.ServerCredentials;
  /** Credentials and the extra channel options of the link client to `downstream`. */
  channelTo(downstream: StageId): { readonly credentials: grpc.ChannelCredentials; readonly options: grpc.ChannelOptions };
}

/**
 * The credentials of `stage`: plaintext when the cluster has no tls (the configuration
 * then allows loopback addresses only), else its identity's mutual TLS with the access
 * policy of accessPolicyOf. Refusals are logged (`call.refused` on the server side,
 * `link.server-refused` when a downstream is not who it should be).
 */
export function stageSecurityOf(config: ClusterConfig, stage: StageId, log: (record: Record<string, unknown>) => void): StageSecurity {
  const tls = config.tls;
  if (tls === undefined)
    return { tls: false, server: grpc.ServerCredentials.createInsecure(), channelTo: () => ({ credentials: grpc.credentials.createInsecure(), options: {} }) };
  const material = loadTlsMaterial(tls, stage);
  const server = serverCredentialsOf(material, accessPolicyOf(config, tls, stage), (refusal) => log({ event: 'call.refused', ...refusal }));
  return {
    tls: true,
    server,
    channelTo: (downstream) => ({
      credentials: channelCredentialsOf(material, downstream, (why) => log({ event: 'link.server-refused', downstream, why })),
      options: tlsChannelOptions,
    }),
  };
}

/** What protects a non-loopback endpoint: the stage's own TLS material and who may read it. */
export interface EndpointSecurity {
  readonly material: TlsMaterial;
  readonly allowed: ReadonlySet<string>;
}

/**
 * The protection of `stage`'s /metrics and /healthz: null on a loopback metricsAddress
 * (plain HTTP, same host only), else the stage's mutual TLS with the identities of
 * `tls.metricsClientIdentities` (runtime/observe/http-endpoint.ts). The configuration
 * refuses a non-loopback metricsAddress without tls (runtime/config.ts).
 */
export function metricsEndpointSecurityOf(config: ClusterConfig, stage: StageId): EndpointSecurity | null {
  const address = config.stages[stage]?.metricsAddress;
  if (address === undefined || isLoopbackAddress(address)) return null;
  const tls = config.tls;
  if (tls === undefined) throw new TlsConfigurationError(`metricsAddress "${address}" of ${stage} is not loopback and the cluster has no tls section`);
  return { material: loadTlsMaterial(tls, stage), allowed: new Set(tls.metricsClientIdentities) };
}
