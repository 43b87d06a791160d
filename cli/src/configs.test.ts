/**
 * Every example config under deploy/configs/ parses with the adapters the services run, and a broken
 * config is refused with an error naming the field.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { GatewayError, loadConfig, parseConfig } from "@shandu/gateway";
import { parse } from "yaml";
import { ADAPTER_MODULES } from "./services.ts";

const CONFIGS = fileURLToPath(new URL("../../deploy/configs/", import.meta.url));
const files = readdirSync(CONFIGS).filter((f) => f.endsWith(".yaml"));

test("there are example configs", () => assert.ok(files.length >= 2, files.join(",")));

for (const f of files) {
  test(`deploy/configs/${f} parses`, async () => {
    const c = await loadConfig(join(CONFIGS, f), ADAPTER_MODULES);
    assert.ok(c.chains.size >= 2);
    assert.ok(c.lanes.length >= 1);
    for (const l of c.lanes) assert.notEqual(l.sourceChainId, l.destinationChainId);
    assert.ok(c.committee.genesisFile.startsWith("/"), "paths are resolved against the file");
  });
}

/** The parts of laptop.yaml the cases below change. */
interface RawConfig {
  lanes: { to: string }[];
  chains: Record<string, Record<string, unknown>>;
  attesters: { member: string }[];
  [field: string]: unknown;
}

function fieldOf(mutate: (raw: RawConfig) => void): string {
  const raw = parse(readFileSync(join(CONFIGS, "laptop.yaml"), "utf8")) as RawConfig;
  mutate(raw);
  try {
    parseConfig(raw, ADAPTER_MODULES, CONFIGS);
  } catch (e) {
    assert.ok(e instanceof GatewayError, String(e));
    assert.equal(e.code, "INVALID_REQUEST");
    return String(e.facts.field);
  }
  assert.fail("the config was accepted");
}

test("errors name the field", () => {
  assert.equal(
    fieldOf((r) => {
      r.lanes[0]!.to = "hangzhou";
    }),
    "lanes.0.to",
  );
  assert.equal(
    fieldOf((r) => {
      r.chains["shenzhen-welfare"]!.rpcUrl = "ftp://x";
    }),
    "chains.shenzhen-welfare.rpcUrl",
  );
  assert.equal(
    fieldOf((r) => {
      r.gatway = {};
    }),
    "gatway",
  );
  assert.equal(
    fieldOf((r) => {
      r.chains["shenzhen-welfare"]!.chainId = "86021";
    }),
    "chains.shenzhen-welfare.chainId",
  );
  assert.equal(
    fieldOf((r) => {
      r.nats = {};
    }),
    "nats.servers",
  );
  assert.equal(
    fieldOf((r) => {
      r.policy = { batch: { maxMessages: 0 } };
    }),
    "policy.batch.maxMessages",
  );
  assert.equal(
    fieldOf((r) => {
      r.attesters[1]!.member = r.attesters[0]!.member;
    }),
    "attesters.1.member",
  );
});
