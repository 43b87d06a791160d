import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AdapterError } from "@shandu/adapter-core";
import { evmAdapterModule } from "./adapter.ts";
import { parseEvmConfig } from "./config.ts";
import { loadSigner } from "./signer.ts";

const OUTBOX = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const INBOX = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const base = { kind: "evm", chainId: "1001", rpcUrl: "http://127.0.0.1:8545", evmChainId: 31337, outbox: OUTBOX, finalityDepthBlocks: 3 };

function invalidAt(path: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof AdapterError, `expected AdapterError, got ${String(e)}`);
    assert.equal(e.code, "INVALID_CONFIG");
    assert.equal(e.facts.path, path);
    assert.equal(e.disposition, "reject");
    return true;
  };
}

describe("EVM adapter config", () => {
  test("parses a minimal config and fills the defaults", () => {
    const c = evmAdapterModule.parseConfig(base);
    assert.equal(c.chainId, 1001n);
    assert.equal(c.evmChainId, 31337n);
    assert.equal(c.outbox, OUTBOX);
    assert.equal(c.inbox, undefined);
    assert.equal(c.pollIntervalMs, 2000);
    assert.equal(c.gas.limitMultiplier, 1.2);
    assert.equal(c.maxRetries, 3);
    assert.equal(c.deploymentBlock, 0n);
  });

  test("normalises addresses to their checksum form and reads wei amounts as bigint", () => {
    const c = parseEvmConfig({
      ...base,
      outbox: OUTBOX.toLowerCase(),
      inbox: INBOX,
      signer: { keyEnv: "SHANDU_EVM_KEY" },
      gas: { limitMultiplier: 1.5, maxFeePerGasWei: "100000000000", maxPriorityFeePerGasWei: 2 },
    });
    assert.equal(c.outbox, OUTBOX);
    assert.equal(c.gas.maxFeePerGasWei, 100_000_000_000n);
    assert.equal(c.gas.maxPriorityFeePerGasWei, 2n);
    assert.deepEqual(c.signer, { keyEnv: "SHANDU_EVM_KEY" });
  });

  const bad: [string, unknown, string][] = [
    ["neither outbox nor inbox", { ...base, outbox: undefined }, "outbox"],
    ["a short address", { ...base, outbox: "0x1234" }, "outbox"],
    ["a bad checksum", { ...base, inbox: INBOX.replace("E7734", "e7734") }, "inbox"],
    ["a websocket URL", { ...base, rpcUrl: "ws://127.0.0.1:8545" }, "rpcUrl"],
    ["a zero EVM chain id", { ...base, evmChainId: 0 }, "evmChainId"],
    ["a Shandu chain id past u64", { ...base, chainId: "18446744073709551616" }, "chainId"],
    ["a negative finality depth", { ...base, finalityDepthBlocks: -1 }, "finalityDepthBlocks"],
    ["no finality depth", { ...base, finalityDepthBlocks: undefined }, "finalityDepthBlocks"],
    ["a key written into the config", { ...base, signer: { key: "0x01" } }, "signer"],
    ["both key sources", { ...base, signer: { keyFile: "/k", keyEnv: "K" } }, "signer"],
    ["a gas multiplier below 1", { ...base, gas: { limitMultiplier: 0.9 } }, "gas.limitMultiplier"],
    ["a negative fee", { ...base, gas: { maxFeePerGasWei: "-1" } }, "gas.maxFeePerGasWei"],
    ["an unknown field", { ...base, confirmations: 3 }, "confirmations"],
    ["another kind", { ...base, kind: "fabric" }, "kind"],
  ];
  for (const [name, raw, path] of bad) {
    test(`refuses ${name}, naming ${path}`, () => {
      assert.throws(() => parseEvmConfig(raw), invalidAt(path));
    });
  }
});

describe("signing key sources", () => {
  const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "shandu-evm-key-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("reads a key file (whitespace and 0x optional) and an environment variable", async () => {
    const file = join(dir, "key");
    await writeFile(file, `${KEY.slice(2)}\n`, { mode: 0o600 });
    const fromFile = await loadSigner({ keyFile: file });
    const fromEnv = await loadSigner({ keyEnv: "K" }, { K: KEY });
    assert.equal(fromFile.address, fromEnv.address);
    assert.equal(fromFile.address, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
  });

  test("refuses a missing file, an unset variable and a malformed key without echoing it", async () => {
    await assert.rejects(loadSigner({ keyFile: join(dir, "absent") }), invalidAt("signer.keyFile"));
    await assert.rejects(loadSigner({ keyEnv: "UNSET" }, {}), invalidAt("signer.keyEnv"));
    const secretish = "0xzz6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    await assert.rejects(loadSigner({ keyEnv: "K" }, { K: secretish }), (e: unknown) => {
      invalidAt("signer.keyEnv")(e);
      assert.ok(!(e as Error).message.includes(secretish.slice(4)));
      return true;
    });
    // Zero is 32 bytes of hex but no secp256k1 key.
    await assert.rejects(loadSigner({ keyEnv: "K" }, { K: `0x${"00".repeat(32)}` }), invalidAt("signer.keyEnv"));
  });
});
