/**
 * The HTTP side of this folder's test doubles of a FISCO BCOS 3.x node: JSON-RPC 2.0, one request per
 * POST body, always HTTP 200, answered as the node's RPC writes answers — `{jsonrpc, id, result}` or
 * `{jsonrpc, id, error: {code, message}}` (`bcos-rpc/bcos-rpc/jsonrpc/JsonRpcInterface.cpp`,
 * `onRPCRequest` and `toJsonResponse`). Over HTTPS it asks every client for a certificate from the given
 * CA and refuses clients without one, as a node with `rpc.disable_ssl=false` does.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";

/** An error answer: thrown by a handler, sent as `{code, message}`. */
export class JsonRpcFault extends Error {
  override readonly name = "JsonRpcFault";
  readonly code: number;

  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** Server side of mutual TLS, PEM text. */
export interface TestTlsOptions {
  /** The server's certificate and key. */
  cert: string;
  key: string;
  /** The CA that issues client certificates; clients without one it issued are refused. */
  ca: string;
}

export type JsonRpcHandler = (method: string, params: unknown[]) => unknown;

export interface JsonRpcTestServer {
  /** `http(s)://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 32 << 20;

/** Serves `handler` on 127.0.0.1 (`port` 0: a free one). Handler errors other than {@link JsonRpcFault} become −32603. */
export async function serveJsonRpc(handler: JsonRpcHandler, o: { port?: number; tls?: TestTlsOptions } = {}): Promise<JsonRpcTestServer> {
  const reply = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on("end", async () => {
      let id: unknown = null;
      try {
        let r: { id?: unknown; method?: unknown; params?: unknown };
        try {
          r = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof r;
        } catch {
          throw new JsonRpcFault(-32700, "Invalid JSON was received by the server.");
        }
        id = r?.id ?? null;
        if (typeof r?.method !== "string" || !Array.isArray(r.params)) {
          throw new JsonRpcFault(-32600, "The JSON sent is not a valid Request object.");
        }
        reply(res, { jsonrpc: "2.0", id, result: await handler(r.method, r.params) });
      } catch (e) {
        const error = e instanceof JsonRpcFault ? { code: e.code, message: e.message } : { code: -32603, message: String(e) };
        reply(res, { jsonrpc: "2.0", id, error });
      }
    });
  };
  const server: Server = o.tls
    ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key, ca: o.tls.ca, requestCert: true, rejectUnauthorized: true }, onRequest)
    : createHttpServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `${o.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
