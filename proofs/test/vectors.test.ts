import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { loadBls, nobleBls } from "../src/mod.ts";
import { evaluateCase } from "./vector-cases.ts";

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(join(here, "vectors")).filter((f) => f.endsWith(".json"));

describe("shared protocol vectors", async () => {
  const blst = await loadBls("blst");
  it("has every vector file", () => {
    assert.deepEqual(files.sort(), [
      "attestations.json",
      "bundles.json",
      "committees.json",
      "merkle.json",
      "messages.json",
      "rotations.json",
    ]);
  });
  for (const file of files) {
    const data = JSON.parse(readFileSync(join(here, "vectors", file), "utf8"));
    for (const bls of [blst, nobleBls]) {
      it(`${file} behaves as stated (${bls.name})`, async () => {
        assert.deepEqual(await evaluateCase(file, data, bls), []);
      });
    }
  }
  it("the committed vectors and examples are what the generator produces", () => {
    execFileSync(process.execPath, [join(here, "generate-vectors.ts"), "--check"], { stdio: "pipe" });
  });
});
