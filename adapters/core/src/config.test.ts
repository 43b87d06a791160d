import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { nobleBls } from "@shandu/proofs";
import { pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { createAdapter } from "./config.ts";
import { ADAPTER_ERROR_DISPOSITIONS, AdapterError, deliveryRejected } from "./errors.ts";
import { MemoryAdapter, memoryAdapterModule } from "./memory.ts";
import { connectedChains } from "./testing/mod.ts";

function invalidAt(path: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof AdapterError, `expected AdapterError, got ${String(e)}`);
    assert.equal(e.code, "INVALID_CONFIG");
    assert.equal(e.facts.path, path);
    assert.ok(e.message.includes(`at ${path}:`), e.message);
    assert.equal(e.disposition, "reject");
    return true;
  };
}

describe("memory adapter config", () => {
  const module = memoryAdapterModule([]);

  test("parses a chain id from a decimal string or an integer", () => {
    assert.deepEqual(module.parseConfig({ kind: "memory", chainId: "18446744073709551615" }), {
      kind: "memory",
      chainId: 18446744073709551615n,
    });
    assert.equal(module.parseConfig({ kind: "memory", chainId: 7 }).chainId, 7n);
  });

  const bad: [string, unknown, string][] = [
    ["a negative chain id", { kind: "memory", chainId: "-1" }, "chainId"],
    ["a chain id past u64", { kind: "memory", chainId: "18446744073709551616" }, "chainId"],
    ["a fractional chain id", { kind: "memory", chainId: 1.5 }, "chainId"],
    ["a missing chain id", { kind: "memory" }, "chainId"],
    ["another kind", { kind: "evm", chainId: "1" }, "kind"],
    ["an unknown field", { kind: "memory", chainId: "1", rpcUrl: "http://x" }, "rpcUrl"],
    ["not an object", "memory", "(root)"],
  ];
  for (const [name, raw, path] of bad) {
    test(`refuses ${name}, naming ${path}`, () => {
      assert.throws(() => module.parseConfig(raw), invalidAt(path));
    });
  }
});

describe("createAdapter", () => {
  let committee: TestCommittee;
  before(() => {
    committee = pilotCommittee(nobleBls);
  });
  test("creates the adapter the config names from the explicit map", async () => {
    const net = connectedChains({ committee });
    const adapter = await createAdapter(net.modules, { kind: "memory", chainId: "2" }, { bls: nobleBls });
    assert.ok(adapter instanceof MemoryAdapter);
    assert.equal(adapter.chainId, 2n);
    assert.equal(adapter.kind, "memory");
    await adapter.close();
  });

  test("refuses a kind missing from the map, including inherited names", async () => {
    const net = connectedChains({ committee });
    await assert.rejects(createAdapter(net.modules, { kind: "evm", chainId: "1" }, { bls: nobleBls }), invalidAt("kind"));
    await assert.rejects(createAdapter(net.modules, { kind: "toString" }, { bls: nobleBls }), invalidAt("kind"));
    await assert.rejects(createAdapter(net.modules, null, { bls: nobleBls }), invalidAt("kind"));
  });

  test("refuses a chain id with no memory chain behind it", async () => {
    const net = connectedChains({ committee });
    await assert.rejects(createAdapter(net.modules, { kind: "memory", chainId: "9" }, { bls: nobleBls }), invalidAt("chainId"));
  });
});

describe("AdapterError", () => {
  test("takes its disposition from the code", () => {
    assert.equal(new AdapterError("RPC_UNAVAILABLE", "down").disposition, "retry");
    assert.equal(new AdapterError("LANE_PAUSED", "paused").disposition, "retry");
    assert.equal(new AdapterError("REORG_BELOW_FINALITY", "fault").disposition, "reject");
    assert.equal(new AdapterError("WRONG_CHAIN_ID", "wrong").disposition, "reject");
    for (const [code, disposition] of Object.entries(ADAPTER_ERROR_DISPOSITIONS)) {
      assert.ok(disposition === "retry" || disposition === "reject", code);
    }
  });

  test("deliveryRejected keeps its own reason over one in the facts it carries", () => {
    const e = deliveryRejected("BAD_SIGNATURE", "refused", { facts: { reason: "inner", nonce: 3n } });
    assert.equal(e.code, "DELIVERY_REJECTED");
    assert.equal(e.facts.reason, "BAD_SIGNATURE");
    assert.equal(e.facts.nonce, 3n);
    assert.equal(e.disposition, "reject");
  });
});
