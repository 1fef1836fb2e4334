/**
 * The HTTP endpoint of a stage's `/metrics` and `/healthz` (observer.ts). On a loopback
 * address it is plain HTTP, as before: only processes of the same host can reach it. On
 * any other address (an operator's choice, e.g. `0.0.0.0:9100` for a Prometheus on another
 * host) it is HTTPS with the cluster's mutual TLS: TLS 1.3, a client certificate of the
 * cluster's CA required in the handshake, and the identity in it must be one of
 * `tls.metricsClientIdentities` (default `operator`), else 403. Why not plain HTTP beyond
 * loopback: the metrics name every function, node, link and epoch and count the pods, which
 * is the cluster's shape, and a plaintext `/healthz` can be answered by anyone on the path
 * (REQ-SEC-006).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { tlsVersion, type EndpointSecurity } from '../security/credentials.js';
import { identityOfPeerCertificate } from '../security/identity.js';

export type { EndpointSecurity } from '../security/credentials.js';

export type EndpointHandler = (request: IncomingMessage, response: ServerResponse) => void;

/** The refusal of a request by the peer of `socket`, or null when its identity may read the endpoint. */
export function endpointRefusalOf(security: EndpointSecurity, socket: TLSSocket): string | null {
  const identity = identityOfPeerCertificate(security.material.trustDomain, socket.getPeerCertificate());
  if (identity.kind === 'none') return `no identity of the trust domain ${security.material.trustDomain}: ${identity.why}`;
  if (security.allowed.has(identity.name)) return null;
  return `"${identity.name}" may not read this endpoint; allowed: ${[...security.allowed].join(', ')} (tls.metricsClientIdentities)`;
}

/** Serves `handler` on host:port (port 0: a free one), over mutual TLS when `security` is given; resolves with the server and its port. */
export async function listenEndpoint(
  address: string,
  handler: EndpointHandler,
  security: EndpointSecurity | null,
  onRefused: (why: string) => void,
): Promise<{ server: Server; port: number }> {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  const server =
    security === null
      ? createHttpServer(handler)
      : createHttpsServer(
          {
            key: security.material.key,
            cert: security.material.cert,
            ca: security.material.ca,
            requestCert: true,
            rejectUnauthorized: true,
            minVersion: tlsVersion,
            maxVersion: tlsVersion,
          },
          (request, response) => {
            const refusal = endpointRefusalOf(security, request.socket as TLSSocket);
            if (refusal === null) return handler(request, response);
            onRefused(refusal);
            response.writeHead(403, { 'content-type': 'text/plain' }).end(`forbidden: ${refusal}\n`);
          },
        );
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const info = server.address();
      resolve(typeof info === 'object' && info !== null ? info.port : port);
    });
  });
  return { server, port: bound };
}
