/** `shandu attester --config <file> --member <id>`: runs one committee member's attester until Ctrl-C. */
import { startAttester } from "@shandu/gateway";
import { loadBls } from "@shandu/proofs";
import type { Command } from "../command.ts";
import { CliError } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { ADAPTER_MODULES, readConfig, runUntilStopped, serviceLogger } from "../services.ts";

const USAGE = `Usage: shandu attester --config <shandu.yaml> --member <member id> [--log-level …]

Runs the attester of one committee member (its entry under attesters: in the config): watches the
source chain of every lane, waits for finality, builds the batches every honest member builds (one per
lane and window of policy.batch.windowBlocks blocks, at most policy.batch.maxMessages messages), signs
each with the member's BLS key (blsKeyFile, which must be mode 0600) and submits the partial signature
to the gateway. Its state directory remembers what it signed: after a restart it re-sends the same
signatures and never signs a different root for a range it signed.
`;

export const command: Command = {
  name: "attester",
  usage: USAGE,
  async run(argv, ctx) {
    const { values } = parseFlags(
      argv,
      { config: { type: "string", short: "c" }, member: { type: "string", short: "m" }, "log-level": { type: "string" } },
      "attester",
    );
    const config = await readConfig(values.config as string | undefined, "attester");
    const member = values.member as string | undefined;
    if (!member) {
      throw new CliError("MISSING_ARGUMENT", "`shandu attester` needs --member <member id>", {
        hint: `Members in this config: ${config.attesters.map((a) => a.member).join(", ") || "(none)"}.`,
      });
    }
    const log = serviceLogger(ctx, "shandu", values["log-level"] as string | undefined);
    const bls = await loadBls();
    return runUntilStopped(
      ctx,
      "attester",
      () => startAttester(config, member, { modules: ADAPTER_MODULES, bls, log }),
      () => `shandu attester: ${member} ready`,
    );
  },
};
