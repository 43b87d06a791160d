/** `shandu relayer --config <file>`: runs a relayer until Ctrl-C. */

import { loadBls } from "@shandu/proofs";
import { startRelayer } from "@shandu/relayers";
import type { Command } from "../command.ts";
import { parseFlags } from "../flags.ts";
import { ADAPTER_MODULES, readConfig, runUntilStopped, serviceLogger } from "../services.ts";

const USAGE = `Usage: shandu relayer --config <shandu.yaml> [--name <relayer name>] [--log-level …]

Runs a relayer: one durable NATS JetStream consumer per lane (relayer.lanes, default all), shared by
every relayer of the lane. Each attested batch is delivered through the destination chain's adapter and
acked only once the destination confirmed it; batches the destination already has are skipped; transient
failures are retried with backoff, permanent ones are given up with the reason recorded (GET
/v1/terminated on relayer.http). Metrics on /metrics.
`;

export const command: Command = {
  name: "relayer",
  usage: USAGE,
  async run(argv, ctx) {
    const { values } = parseFlags(
      argv,
      { config: { type: "string", short: "c" }, name: { type: "string" }, "log-level": { type: "string" } },
      "relayer",
    );
    const config = await readConfig(values.config as string | undefined, "relayer");
    const log = serviceLogger(ctx, "shandu", values["log-level"] as string | undefined);
    const bls = await loadBls();
    const name = (values.name as string | undefined) ?? config.relayer?.name ?? "relayer";
    return runUntilStopped(
      ctx,
      "relayer",
      () => startRelayer(config, { modules: ADAPTER_MODULES, bls, log, name }),
      () => `shandu relayer: ${name} ready`,
    );
  },
};
