/**
 * Identities of the cluster (spec/10-wire-protocol.md §Security): an X.509 certificate
 * with exactly one URI subject alternative name `spiffe://<trust domain>/kubedirect/<name>`,
 * where the name is a stage ID (`scheduler`, `kubelet:n1`, ...) or a client identity
 * such as `operator` (the `kd` command line).
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { stageIdLengthMax } from '../../spec/limits.js';

export const defaultTrustDomain = 'cluster.local';
/** The identity of the `kd` command line: allowed to call Scaler and Inspect by default. */
export const operatorIdentity = 'operator';

/**
 * The TLS server name (SNI) clients send, also a DNS SAN of every certificate kd certs
 * issues (so that an HTTPS client such as a Prometheus can verify a stage's /metrics with
 * `server_name: kubedirect`). Stages are addressed by IP, which may not be sent as a server
 * name; identity is checked on the URI SAN, never on this name.
 */
export const tlsServerName = 'kubedirect';

const identityPathPrefix = '/kubedirect/';
/** A SPIFFE trust domain: lower-case letters, digits, '.', '-', '_' (at most 255 characters). */
const trustDomainPattern = /^[a-z0-9._-]{1,255}$/;
/** A stage ID or client identity: DNS-label characters with at most one ':' (kubelet:<node>). */
const identityNamePattern = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(:[a-z0-9]([a-z0-9-]*[a-z0-9])?)?$/;

/** Why a trust domain is unusable, or null. */
export function trustDomainProblem(trustDomain: unknown): string | null {
  if (typeof trustDomain !== 'string' || !trustDomainPattern.test(trustDomain))
    return `trust domain ${JSON.stringify(trustDomain)} must be lower-case letters, digits, '.', '-' or '_' (for example "${defaultTrustDomain}")`;
  return null;
}

/** Why an identity name (a stage ID or a client name) is unusable, or null. */
export function identityNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length > stageIdLengthMax || !identityNamePattern.test(name))
    return `identity ${JSON.stringify(name)} must be a stage ID (for example "scheduler" or "kubelet:n1") or a client name such as "${operatorIdentity}"`;
  return null;
}

/** `spiffe://<trust domain>/kubedirect/<name>`. */
export function spiffeIdOf(trustDomain: string, name: string): string {
  return `spiffe://${trustDomain}${identityPathPrefix}${name}`;
}

/** The identity name a SPIFFE ID of this trust domain names, or null when it is not one. */
export function identityNameOfSpiffeId(trustDomain: string, uri: string): string | null {
  const prefix = `spiffe://${trustDomain}${identityPathPrefix}`;
  if (!uri.startsWith(prefix)) return null;
  const name = uri.slice(prefix.length);
  return identityNameProblem(name) === null ? name : null;
}

/**
 * The URI entries of a subject alternative name as Node prints it
 * (`URI:spiffe://..., DNS:...`; a value with special characters is JSON-quoted).
 */
export function urisOfSubjectAltName(subjectAltName: string | undefined): string[] {
  if (subjectAltName === undefined || subjectAltName === '') return [];
  const uris: string[] = [];
  // Entries are separated by ", "; a quoted value is a JSON string and may contain ", ".
  const entry = /([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const match of subjectAltName.matchAll(entry)) {
    const [, kind, raw] = match;
    if (kind !== 'URI' || raw === undefined) continue;
    uris.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return uris;
}

/** Who a presented certificate says it is. */
export type PeerIdentity =
  | { readonly kind: 'none'; readonly why: string }
  | { readonly kind: 'identity'; readonly name: string; readonly uri: string };

/**
 * The identity of a certificate (already verified against the cluster's CA by TLS):
 * exactly one URI SAN, a SPIFFE ID of `trustDomain` under /kubedirect/.
 */
export function identityOfSubjectAltName(trustDomain: string, subjectAltName: string | undefined): PeerIdentity {
  const uris = urisOfSubjectAltName(subjectAltName);
  if (uris.length === 0) return { kind: 'none', why: 'the certificate has no URI subject alternative name' };
  if (uris.length > 1) return { kind: 'none', why: `the certificate has ${uris.length} URI subject alternative names; an identity has exactly one` };
  const uri = uris[0] ?? '';
  const name = identityNameOfSpiffeId(trustDomain, uri);
  if (name === null) return { kind: 'none', why: `"${uri}" is not an identity of the trust domain ${trustDomain} (spiffe://${trustDomain}${identityPathPrefix}NAME)` };
  return { kind: 'identity', name, uri };
}

/** The identity of a TLS peer certificate (as `getPeerCertificate()` or grpc-js's auth context gives it). */
export function identityOfPeerCertificate(trustDomain: string, certificate: PeerCertificate | undefined | null): PeerIdentity {
  if (certificate === undefined || certificate === null || certificate.raw === undefined || certificate.raw.length === 0)
    return { kind: 'none', why: 'no client certificate' };
  return identityOfSubjectAltName(trustDomain, certificate.subjectaltname);
}

/** The identity of a PEM or DER certificate. */
export function identityOfCertificate(trustDomain: string, certificate: X509Certificate): PeerIdentity {
  return identityOfSubjectAltName(trustDomain, certificate.subjectAltName);
}
