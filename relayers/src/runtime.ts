/**
 * The relayer's composition root: queue, destination adapters and the consumers, from the shared config,
 * plus a small HTTP listener with `/metrics` and `/v1/terminated` (what was given up on, and why).
 */
import { createServer } from "node:http";
import type { AdapterModules, Lane } from "@shandu/adapter-core";
import {
  type BatchQueue,
  type Closable,
  closeAll,
  createAdapters,
  createRelayerMetrics,
  GatewayError,
  type Logger,
  openQueue,
  type ShanduConfig,
  silentLogger,
} from "@shandu/gateway";
import type { Bls } from "@shandu/proofs";
import { Relayer, type RelayerEvent } from "./relayer.ts";

export interface RelayerHandle extends Closable {
  relayer: Relayer;
  httpPort: number | null;
}

export async function startRelayer(
  config: ShanduConfig,
  o: { modules: AdapterModules; bls: Bls; log?: Logger; queue?: BatchQueue; onEvent?: (e: RelayerEvent) => void; name?: string },
): Promise<RelayerHandle> {
  const r = config.relayer ?? { name: "relayer", ackWaitMs: 30_000, maxDeliver: 100, backoffMs: 1000 };
  const wanted = r.lanes ?? config.lanes;
  const lanes: Lane[] = wanted.map((w) => {
    const l = config.lanes.find((x) => x.from === w.from && x.to === w.to);
    if (!l)
      throw new GatewayError("INVALID_REQUEST", `relayer lane ${w.from} → ${w.to} is not in lanes`, { facts: { field: "relayer.lanes" } });
    return { sourceChainId: l.sourceChainId, destinationChainId: l.destinationChainId };
  });
  const opened: Closable[] = [];
  try {
    const queue = o.queue ?? (await openQueue(config, `shandu-relayer-${o.name ?? r.name}`));
    if (!o.queue) opened.push(queue);
    const destinationNames = new Set(wanted.map((w) => w.to));
    const destinations = await createAdapters(config, o.modules, o.bls, destinationNames);
    opened.push(...destinations.values());
    const metrics = createRelayerMetrics();
    const relayer = new Relayer({
      name: o.name ?? r.name,
      queue,
      lanes,
      destinations,
      ackWaitMs: r.ackWaitMs,
      maxDeliver: r.maxDeliver,
      backoffMs: r.backoffMs,
      log: (o.log ?? silentLogger).child("relayer"),
      onEvent: (e) => {
        metrics.observe(e);
        o.onEvent?.(e);
      },
    });
    relayer.start();
    opened.push(relayer);
    let httpPort: number | null = null;
    if (r.http) {
      const [host, port] = [
        r.http.listen.slice(0, r.http.listen.lastIndexOf(":")),
        Number(r.http.listen.slice(r.http.listen.lastIndexOf(":") + 1)),
      ];
      const server = createServer((req, res) => {
        void (async () => {
          try {
            if (req.method !== "GET") {
              res.writeHead(405).end();
            } else if (req.url === "/metrics") {
              res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(await metrics.render());
            } else if (req.url === "/v1/terminated") {
              res
                .writeHead(200, { "content-type": "application/json" })
                .end(JSON.stringify(await queue.listTerminations("shandu.terminated.>", 1000)));
            } else if (req.url === "/healthz") {
              res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
            } else {
              res.writeHead(404).end();
            }
          } catch (e) {
            res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: (e as Error).message } }));
          }
        })();
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      httpPort = (server.address() as { port: number }).port;
      opened.push({ close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
    }
    return { relayer, httpPort, close: () => closeAll(opened) };
  } catch (e) {
    await closeAll(opened);
    throw e;
  }
}
