/**
 * Bounds on what one peer may hold of a stage's gRPC server (REQ-WIRE-015), so that
 * connections and streams that never say anything cannot pile up (issue 17, defect 7):
 *
 * - `connectionIdleMsMax`: a connection with no call for this long is closed, by
 *   grpc-js's `grpc.max_connection_idle_ms`; a TCP connection that has not sent the
 *   HTTP/2 preface (or, with TLS, a ClientHello) by then is closed here (grpc-js's
 *   GOAWAY would wait for it);
 * - `connectionStreamsMax`: concurrent calls on one connection (HTTP/2
 *   SETTINGS_MAX_CONCURRENT_STREAMS, `grpc.max_concurrent_streams`);
 * - `peerConnectionsMax`: connections from one address; one more is closed at once;
 * - `helloWaitMsMax` (grpc-upstream-link.ts): a Link stream that sends no Hello.
 *
 * grpc-js has no public hook for the connections of a server: `limitPeerConnections`
 * reads its HTTP/2 servers (the private `http2Servers`) once the server is bound, and
 * asserts they are there, so that an upgrade that moves them fails the stage's start.
 */
import type { Server as NetServer, Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { connectionIdleMsMax, connectionStreamsMax, peerConnectionsMax } from '../../spec/limits.js';
import type { Logger } from './link-transport.js';

/** Bytes of the HTTP/2 client connection preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"). */
const http2PrefaceBytes = 24;

/** The gRPC server options of the bounds grpc-js enforces itself. */
export const connectionLimitOptions: grpc.ServerOptions = {
  'grpc.max_connection_idle_ms': connectionIdleMsMax,
  'grpc.max_concurrent_streams': connectionStreamsMax,
};

/** Closes every connection beyond `peerConnectionsMax` from one address, on every HTTP/2 server behind `server` (call after bindAsync). */
export function limitPeerConnections(server: grpc.Server, log: Logger, connectionsMax: number = peerConnectionsMax): void {
  const servers = (server as unknown as { http2Servers?: Map<NetServer, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0)
    throw new Error('runtime/node/connection-limits.ts: @grpc/grpc-js no longer keeps its bound servers in http2Servers; adapt the peer connection bound');
  const open = new Map<string, number>();
  for (const http2Server of servers.keys()) {
    http2Server.on('connection', (socket: Socket) => {
      const peer = socket.remoteAddress ?? 'unknown';
      const count = (open.get(peer) ?? 0) + 1;
      if (count > connectionsMax) {
        log({ event: 'connection.refused', peer, open: count - 1, peerConnectionsMax: connectionsMax });
        socket.destroy();
        return;
      }
      open.set(peer, count);
      // grpc-js's idle timeout cannot close a connection that never sent the HTTP/2 preface (its GOAWAY waits for it), nor one
      // that never finished the TLS handshake: closed here. The raw socket's bytes count both (a TLS ClientHello is longer).
      const silent = setTimeout(() => {
        if (socket.destroyed || socket.bytesRead >= http2PrefaceBytes) return;
        log({ event: 'connection.closed-silent', peer, bytesRead: socket.bytesRead, connectionIdleMsMax });
        socket.destroy();
      }, connectionIdleMsMax);
      silent.unref();
      socket.once('close', () => {
        clearTimeout(silent);
        const left = (open.get(peer) ?? 1) - 1;
        if (left === 0) open.delete(peer);
        else open.set(peer, left);
      });
    });
  }
}
