/** `shandu fisco decode-tx / tx-hash` on the FISCO BCOS golden vectors and on bytes that must be refused. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { runInProcess } from "../testing/runInProcess.ts";

const vectors = fileURLToPath(new URL("../../../adapters/fisco-bcos/test/vectors/", import.meta.url));
const expected = (
  JSON.parse(readFileSync(`${vectors}expected.json`, "utf8")) as { vectors: { name: string; file: string; hash: string; sender: string }[] }
).vectors;
const lines = new Map(
  readFileSync(`${vectors}vectors.txt`, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" ") as [string, string]),
);
const hexOf = (v: { name: string; file: string }) =>
  v.file === "vectors.txt" ? lines.get(v.name)! : readFileSync(vectors + v.file, "utf8").trim();

test("decode-tx detects format and suite and prints hash and sender of every golden vector", async () => {
  for (const v of expected) {
    const r = await runInProcess(["fisco", "decode-tx", `0x${hexOf(v)}`]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { hash: string; sender: string; suite: string; format: string };
    assert.equal(out.hash, `0x${v.hash}`, v.name);
    assert.equal(out.sender, v.sender, v.name);
    assert.equal(out.suite, v.name.endsWith("GM") ? "sm" : "ecdsa", v.name);
    assert.match(out.format, v.name === "V2_GM" ? /2\.x/ : /3\.x/);
  }
});

test("tx-hash reads @file and prints only the hash", async () => {
  const r = await runInProcess(["fisco", "tx-hash", "@txv0.hex"], { cwd: vectors });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `0x${expected.find((v) => v.name === "JAVA_TXV0")!.hash}\n`);
});

test("a transaction that does not check out exits 1 with the reason; bytes that are not one exit 2", async () => {
  const v = expected.find((x) => x.name === "HELLOWORLD_SET_TX")!;
  const forged = hexOf(v).replace("68656c6c6f2c20776f726c64", "68656c6c6f2c20776f726c65"); // "hello, world" → "hello, worle"
  const bad = await runInProcess(["fisco", "decode-tx", forged]);
  assert.equal(bad.code, 1);
  assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, "HASH_MISMATCH");
  const garbage = await runInProcess(["fisco", "decode-tx", "1a0102"]);
  assert.equal(garbage.code, 2);
  assert.match(garbage.stderr, /TARS_MALFORMED/);
  const usage = await runInProcess(["fisco", "decode-tx", "xyz"]);
  assert.equal(usage.code, 2);
  const wrongSub = await runInProcess(["fisco", "decode"]);
  assert.equal(wrongSub.code, 2);
  assert.match(wrongSub.stderr, /decode-tx/);
});
