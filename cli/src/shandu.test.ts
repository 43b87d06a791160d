/**
 * End to end: the real launcher in a child process, as a user runs it. Detailed behaviour is tested
 * in-process (commands/verify.test.ts, main.test.ts); these cases prove the process boundary — exit
 * codes, stdout/stderr separation, and starting under a Node too old to run TypeScript.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { accessSync, constants, realpathSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { committeeFromJson, committeeSetHash, loadBls, STEP_NAMES, toHex } from "@shandu/proofs";
import { overview } from "./main.ts";
import { type BundleFixtures, writeBundleFixtures } from "./testing/bundleFixtures.ts";
import { runShandu } from "./testing/runShandu.ts";

/** A Node on PATH that cannot strip types (older than 22.18), to exercise the launcher's re-exec. */
function olderNode(): string | undefined {
  const self = realpathSync(process.execPath);
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/bin", "/usr/local/bin"];
  for (const dir of dirs) {
    const candidate = join(dir, "node");
    try {
      accessSync(candidate, constants.X_OK);
      if (realpathSync(candidate) === self) continue;
      const [major = 0, minor = 0] = execFileSync(candidate, ["-p", "process.versions.node"], { encoding: "utf8" })
        .trim()
        .split(".")
        .map(Number);
      if (major < 22 || (major === 22 && minor < 18)) return candidate;
    } catch {
      // not there or not runnable: try the next
    }
  }
  return undefined;
}

let root: string;
let fx: BundleFixtures;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "shandu-cli-e2e-"));
  fx = await writeBundleFixtures(await loadBls(), root);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("the shandu launcher", { concurrency: 2 }, () => {
  test("`node cli/bin/shandu.js --help` prints the overview and exits 0", async () => {
    const r = await runShandu(["--help"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, overview());
    assert.equal(r.stderr, "");
  });

  const old = olderNode();
  test("under a Node too old for TypeScript it re-runs itself with the pinned Node, passing exit codes through", {
    skip: old ? false : "no Node older than 22.18 on PATH",
  }, async () => {
    const typo = await runShandu(["verfy"], { node: old });
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, "");
    assert.match(typo.stderr, /unknown command "verfy"/);
    // Were the pinned Node missing too, it says what to do instead of failing obscurely.
    const stuck = await runShandu(["--help"], { node: old, env: { ...process.env, SHANDU_LAUNCHED_BY: "test" } });
    assert.equal(stuck.code, 2);
    assert.match(stuck.stderr, /Shandu needs Node ≥ 22\.18 .*run `npm ci` in the repository so the pinned Node 24 is installed/);
  });
});

describe("shandu verify, end to end", { concurrency: 2 }, () => {
  test("a directory of bundles: trust anchor found beside them, ✓/✗ per step, failures named, exit 1", async () => {
    const r = await runShandu(["verify", "bundles"], { cwd: root });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, "");
    assert.ok(r.stdout.startsWith("trust anchor: bundles/genesis.json (found beside the bundles)\n"), r.stdout);
    const lines = r.stdout.split("\n");
    const stepOf = (file: string, step: string) => {
      const start = lines.findIndex((l) => l.startsWith(`bundles/${file}  `));
      assert.ok(start >= 0, `${file} missing:\n${r.stdout}`);
      return lines[start + 1 + STEP_NAMES.indexOf(step as (typeof STEP_NAMES)[number])] ?? "";
    };
    assert.match(stepOf("valid.json", "attestation"), /^ {2}✓ attestation\s+3\/4 members/);
    assert.match(stepOf("valid.bin", "attestation"), /^ {2}✓ attestation/);
    assert.match(stepOf("tampered-payload.json", "message"), /^ {2}✗ message\s+MESSAGE_ID_MISMATCH: /);
    assert.match(stepOf("tampered-payload.json", "inclusion"), /^ {2}– inclusion\s+not checked: an earlier step failed$/);
    assert.match(stepOf("forged-signature.json", "attestation"), /^ {2}✗ attestation\s+BAD_SIGNATURE: /);
    assert.match(stepOf("wrong-genesis.json", "trust-anchor"), /^ {2}✗ trust-anchor\s+GENESIS_MISMATCH: /);
    assert.match(stepOf("not-json.json", "format"), /^ {2}✗ format\s+NOT_A_BUNDLE: /);
    assert.ok(!r.stdout.includes("bundles/genesis.json  "), "genesis.json is not verified as a bundle");
    assert.match(
      r.stdout,
      /\n4 verified, 4 failed: bundles\/forged-signature.json, bundles\/not-json.json, bundles\/tampered-payload.json, bundles\/wrong-genesis.json\n$/,
    );
  });

  test("--json: stdout is one JSON document and nothing else", async () => {
    const r = await runShandu(["verify", "--json", "--genesis", fx.genesis, fx.valid, fx.forgedSignature]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "");
    const out = JSON.parse(r.stdout);
    const trusted = toHex(committeeSetHash(committeeFromJson(JSON.parse(await readFile(fx.genesis, "utf8")))));
    assert.equal(out.trustAnchor.path, fx.genesis);
    assert.equal(out.trustAnchor.committeeSetHash, trusted);
    assert.deepEqual(
      out.bundles.map((b: { file: string; ok: boolean }) => [b.file, b.ok]),
      [
        [fx.valid, true],
        [fx.forgedSignature, false],
      ],
    );
    assert.deepEqual(out.bundles[1].steps[5], {
      step: "attestation",
      status: "failed",
      code: "BAD_SIGNATURE",
      detail: out.bundles[1].steps[5].detail,
    });
    assert.equal(out.verified, 1);
    assert.equal(out.failed, 1);
  });

  test("no trust anchor: usage error on stderr, exit 2", async () => {
    const r = await runShandu(["verify", fx.valid]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^shandu: error: no trust anchor.*\n {2}A bundle can only be verified against a genesis committee you trust.*Pass --genesis/,
    );
  });
});
