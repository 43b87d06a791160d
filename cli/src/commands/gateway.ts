/** `shandu gateway --config <file>`: runs the gateway until Ctrl-C. */
import { startGateway } from "@shandu/gateway";
import { loadBls } from "@shandu/proofs";
import type { Command } from "../command.ts";
import { parseFlags } from "../flags.ts";
import { ADAPTER_MODULES, readConfig, runUntilStopped, serviceLogger } from "../services.ts";

const USAGE = `Usage: shandu gateway --config <shandu.yaml> [--log-level debug|info|warn|error]

Runs the gateway: verifies partial signatures from attesters as they arrive (unknown member, wrong
epoch, bad signature and batch mismatch are refused with that code), records equivocation, aggregates at
quorum, stores (PostgreSQL at store.url, else the embedded store in store.dataDir), appends to the
transparency log, publishes attested batches to NATS JetStream, and serves gRPC (gateway.grpc) and the
auditors' HTTP/JSON API with /metrics (gateway.http). Several gateways may share one store and NATS.
Logs are JSON lines on stderr. Ctrl-C stops it cleanly.
`;

export const command: Command = {
  name: "gateway",
  usage: USAGE,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { config: { type: "string", short: "c" }, "log-level": { type: "string" } }, "gateway");
    const config = await readConfig(values.config as string | undefined, "gateway");
    const log = serviceLogger(ctx, "shandu", values["log-level"] as string | undefined);
    const bls = await loadBls();
    let ports = "";
    return runUntilStopped(
      ctx,
      "gateway",
      async () => {
        const h = await startGateway(config, { modules: ADAPTER_MODULES, bls, log });
        ports = `gRPC on port ${h.grpcPort}${h.httpPort !== null ? `, HTTP on port ${h.httpPort}` : ""}`;
        return h;
      },
      () => `shandu gateway: ready (${ports})`,
    );
  },
};
