/**
 * The explorer's server: node:http on 127.0.0.1 only. Routes:
 *   GET /                 the page (explorer/client/)
 *   GET /app.js, /app.css its script and stylesheet
 *   GET /api/model        what is explored (ModelInfo)
 *   GET /api/state?path=  the state at the end of a path of action indices (StateResponse)
 * A bad request is answered 400 with `{ error }` saying why, an unknown route 404, any
 * other method 405; nothing a client sends stops the server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientAssets } from './client-assets.js';
import { PathError, parsePath, type Exploration } from './exploration.js';
import { requestTargetLengthMax, pathLengthMax } from './limits.js';
import type { ErrorResponse, ModelInfo, TraceInfo } from './view.js';
import { scaleStepsOf } from '../checker/chain/presets.js';

export interface ExplorerServer {
  readonly url: string;
  readonly close: () => Promise<void>;
}

export interface ExplorerServerOptions {
  readonly exploration: Exploration;
  readonly assets: ClientAssets;
  readonly trace: TraceInfo | null;
  /** 0: any free port. */
  readonly port: number;
  /** Called with any error a request raised that was not the client's (answered 500). */
  readonly onInternalError: (error: Error) => void;
}

/** A request the server refuses: status and reason. */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function modelInfo(exploration: Exploration, trace: TraceInfo | null): ModelInfo {
  const check = exploration.check;
  return {
    preset: check.name,
    description: check.description,
    variant: check.chain.variant,
    stages: Object.keys(exploration.stateAt([]).world.stages),
    links: Object.keys(exploration.stateAt([]).world.links),
    nodes: check.chain.nodes.map((n) => ({ name: n.name, capacity: n.capacity })),
    scaleScript: check.scaleScript.map((s) => ({ function: s.function, desired: s.desired })),
    scaleSteps: scaleStepsOf(check),
    properties: exploration.propertyList(),
    trace,
    pathLengthMax,
  };
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function route(options: ExplorerServerOptions, info: ModelInfo, request: IncomingMessage, response: ServerResponse): void {
  const target = request.url ?? '/';
  if (target.length > requestTargetLengthMax) throw new RequestError(400, `the request target has ${target.length} characters; at most ${requestTargetLengthMax} (requestTargetLengthMax)`);
  if (request.method !== 'GET' && request.method !== 'HEAD') throw new RequestError(405, `${request.method ?? '?'} is not served here: the explorer answers GET only`);
  let url: URL;
  try {
    url = new URL(target, 'http://127.0.0.1');
  } catch {
    throw new RequestError(400, `cannot parse the request target "${target.slice(0, 80)}"`);
  }
  switch (url.pathname) {
    case '/':
      return send(response, 200, 'text/html; charset=utf-8', options.assets.html);
    case '/app.js':
      return send(response, 200, 'text/javascript; charset=utf-8', options.assets.script);
    case '/app.css':
      return send(response, 200, 'text/css; charset=utf-8', options.assets.stylesheet);
    case '/api/model':
      return sendJson(response, 200, info);
    case '/api/state': {
      const unknown = [...url.searchParams.keys()].filter((k) => k !== 'path');
      if (unknown.length > 0) throw new RequestError(400, `unknown query parameter "${unknown[0]}": /api/state takes only path`);
      if (url.searchParams.getAll('path').length > 1) throw new RequestError(400, 'give path once');
      try {
        return sendJson(response, 200, options.exploration.describePath(parsePath(url.searchParams.get('path'))));
      } catch (error) {
        if (error instanceof PathError) throw new RequestError(400, error.message);
        throw error;
      }
    }
    default:
      throw new RequestError(404, `no such page or API: ${url.pathname} (the API is /api/model and /api/state?path=...)`);
  }
}

export function startExplorerServer(options: ExplorerServerOptions): Promise<ExplorerServer> {
  const info = modelInfo(options.exploration, options.trace);
  const server: Server = createServer((request, response) => {
    try {
      route(options, info, request, response);
    } catch (error) {
      const known = error instanceof RequestError;
      if (!known) options.onInternalError(error as Error);
      const body: ErrorResponse = { error: known ? error.message : `internal error: ${(error as Error).message}` };
      if (!response.headersSent) sendJson(response, known ? error.status : 500, body);
      else response.destroy();
    }
  });
  // A malformed request line or headers: answer 400 instead of dropping the socket silently.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nmalformed HTTP request\n');
    else socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
