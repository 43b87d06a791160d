/**
 * FISCO BCOS transactions against the golden vectors in `test/vectors/` (sources in its README:
 * FISCO-BCOS/go-sdk `v3/types/transaction_test.go`, java-sdk v3.8.0 `TransactionDecodeTest.java`,
 * FISCO-BCOS master-2.0 `test/unittests/libethcore/TransactionTest.cpp`): every one decodes, hashes to
 * its hash, authenticates to its sender and (3.x) re-encodes to the same bytes. Tampering of each kind
 * fails with its code; transactions this package signs check out in both suites.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { addressOf, FiscoError, publicKeyOf, signHash, sm2Verify, sm3, toHex } from "@shandu/proofs";
import { checkTransactionV3, decodeTransactionV3, encodeTransactionV3, signTransactionV3, type TransactionDataV3 } from "./transaction.ts";
import { checkTransactionV2 } from "./transactionV2.ts";

const dir = new URL("../test/vectors/", import.meta.url);
const read = (f: string) => readFileSync(new URL(f, dir), "utf8").trim();
const lines = new Map(
  read("vectors.txt")
    .split("\n")
    .map((l) => l.split(" ") as [string, string]),
);
const expected = (
  JSON.parse(read("expected.json")) as { vectors: { name: string; file: string; hash: string; sender: string; signHash?: string }[] }
).vectors;
const bytesOf = (v: { name: string; file: string }) => Buffer.from(v.file === "vectors.txt" ? lines.get(v.name)! : read(v.file), "hex");
const suiteOf = (name: string) => (name.endsWith("GM") ? "sm" : "ecdsa") as "sm" | "ecdsa";
const hex = (b: Uint8Array) => toHex(b).slice(2);
const code = (f: () => unknown) => {
  try {
    f();
    return "passed";
  } catch (e) {
    assert.ok(e instanceof FiscoError, String(e));
    return e.code;
  }
};

test("SM3 known answers (GB/T 32905-2016 appendix A)", () => {
  assert.equal(hex(sm3(new TextEncoder().encode("abc"))), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  assert.equal(hex(sm3(new TextEncoder().encode("abcd".repeat(16)))), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
});

for (const v of expected.filter((x) => x.name !== "V2_GM")) {
  test(`3.x ${v.name}: hash, sender, and byte-exact re-encoding`, () => {
    const raw = bytesOf(v);
    const c = checkTransactionV3(suiteOf(v.name), raw);
    assert.equal(hex(c.hash), v.hash);
    assert.equal(toHex(c.sender), v.sender);
    assert.equal(hex(encodeTransactionV3(c.tx)), hex(raw));
    const data = lines.get(`${v.name.replace(/_GM$/, "")}_DATA${v.name.endsWith("_GM") ? "_GM" : ""}`);
    if (data) assert.ok(hex(raw).startsWith(`1a${data}0b`), "the transaction wraps the SDK's TransactionData bytes");
  });
}

test("2.x V2_GM (RLP, SM2): hash, signing hash and sender", () => {
  const v = expected.find((x) => x.name === "V2_GM")!;
  const c = checkTransactionV2("sm", bytesOf(v));
  assert.equal(hex(c.hash), v.hash);
  assert.equal(hex(c.signingHash), v.signHash);
  assert.equal(toHex(c.sender), v.sender);
  assert.equal(c.tx.groupId, 1n);
});

test("tampered transactions fail with their code", () => {
  const ecdsa = expected.find((x) => x.name === "HELLOWORLD_SET_TX")!;
  const sm = expected.find((x) => x.name === "HELLOWORLD_SET_TX_GM")!;
  for (const v of [ecdsa, sm]) {
    const suite = suiteOf(v.name);
    const tx = decodeTransactionV3(bytesOf(v));
    // A changed field no longer hashes to the carried dataHash.
    const input = Uint8Array.from(tx.data.input);
    input[4]! ^= 1;
    assert.equal(
      code(() => checkTransactionV3(suite, encodeTransactionV3({ ...tx, data: { ...tx.data, input } }))),
      "HASH_MISMATCH",
    );
    // Without the carried hash, the signature no longer matches the fields: another signer, or none.
    const stripped = encodeTransactionV3({ ...tx, dataHash: new Uint8Array(0), data: { ...tx.data, input } });
    if (suite === "sm")
      assert.equal(
        code(() => checkTransactionV3(suite, stripped)),
        "BAD_SIGNATURE",
      );
    else assert.notEqual(toHex(checkTransactionV3(suite, stripped).sender), v.sender);
    // A claimed sender that is not the signer.
    assert.equal(
      code(() => checkTransactionV3(suite, encodeTransactionV3({ ...tx, sender: new Uint8Array(20).fill(1) }))),
      "BAD_SIGNATURE",
    );
    // Read as the other suite: its carried hash is not that suite's hash of the fields.
    const other = suite === "sm" ? "ecdsa" : "sm";
    assert.equal(
      code(() => checkTransactionV3(other, bytesOf(v))),
      "HASH_MISMATCH",
    );
    // Without the carried hash: the other suite's signature shape.
    assert.equal(
      code(() => checkTransactionV3(other, encodeTransactionV3({ ...tx, dataHash: new Uint8Array(0) }))),
      "SIGNATURE_MALFORMED",
    );
  }
  const raw = bytesOf(ecdsa);
  assert.equal(
    code(() => checkTransactionV3("ecdsa", raw.subarray(0, raw.length - 10))),
    "TARS_MALFORMED",
  );
  assert.equal(
    code(() => checkTransactionV3("ecdsa", Uint8Array.of(0x1a, 0x0b))),
    "SIGNATURE_MALFORMED",
    "unsigned",
  );
  assert.equal(
    code(() => checkTransactionV3("ecdsa", Uint8Array.of(0x2c))),
    "FIELD_MISSING",
  );
  assert.equal(
    code(() => checkTransactionV3("ecdsa", Uint8Array.of(0x1a, 0x1c, 0x1c, 0x0b))),
    "TARS_MALFORMED",
    "a tag twice",
  );
  const v2 = bytesOf(expected.find((x) => x.name === "V2_GM")!);
  const flipped = Uint8Array.from(v2);
  flipped[flipped.length - 1]! ^= 1;
  assert.equal(
    code(() => checkTransactionV2("sm", flipped)),
    "BAD_SIGNATURE",
  );
  assert.equal(
    code(() => checkTransactionV2("sm", v2.subarray(0, 100))),
    "RLP_MALFORMED",
  );
});

test("transactions signed here check out in both suites", () => {
  const data: TransactionDataV3 = {
    version: 1,
    chainId: "chain0",
    groupId: "group0",
    blockLimit: 600n,
    nonce: "86021-42",
    to: "0x0102e8b6fc8cdf9626fddc1c3ea8c1e79b3fce94",
    input: Uint8Array.of(0x4e, 0xd3, 0x88, 0x5e),
    abi: "",
    value: "0",
    gasPrice: "",
    gasLimit: 3_000_000n,
    maxFeePerGas: "",
    maxPriorityFeePerGas: "",
    extension: new Uint8Array(0),
  };
  for (const suite of ["ecdsa", "sm"] as const) {
    const sk = sm3(new TextEncoder().encode(`shandu-fisco-test-${suite}`));
    const tx = signTransactionV3(suite, data, sk);
    const c = checkTransactionV3(suite, encodeTransactionV3(tx));
    assert.deepEqual(c.sender, addressOf(suite, publicKeyOf(suite, sk)));
    assert.deepEqual(c.tx.data, data);
  }
  const sk = sm3(Uint8Array.of(1));
  const sig = signHash("sm", sm3(Uint8Array.of(2)), sk);
  assert.ok(sm2Verify(sig.subarray(0, 64), sm3(Uint8Array.of(2)), sig.subarray(64)));
  assert.ok(!sm2Verify(sig.subarray(0, 64), sm3(Uint8Array.of(3)), sig.subarray(64)), "another message");
  assert.ok(!sm2Verify(sig.subarray(0, 64), sm3(Uint8Array.of(2)), publicKeyOf("sm", sm3(Uint8Array.of(9)))), "another key");
});
