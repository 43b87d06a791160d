import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fabricTestMsps, signP256 } from "@shandu/adapter-fabric/testing";
import {
  buildBatch,
  bundleFor,
  bundleToJson,
  committeeFromJson,
  committeeSetHash,
  concatBytes,
  encodeMessage,
  FABRIC_MESSAGE_EVENT,
  fabricEndorsementEvidence,
  fabricTxHash,
  loadBls,
  type Message,
  MessageKind,
  STEP_NAMES,
  toHex,
} from "@shandu/proofs";
import { attestBatch, pilotCommittee } from "@shandu/proofs/testing";
import { type BundleFixtures, ROTATION_ACTIVATES_AT, writeBundleFixtures } from "../testing/bundleFixtures.ts";
import { runInProcess as runShandu } from "../testing/runInProcess.ts";

let root: string;
let fx: BundleFixtures;
let trustedHash: string;

/** The checklist line of `step` in the block printed for `file`. */
function stepLine(stdout: string, file: string, step: string): string {
  const block = stdout.split("\n\n").find((b) => b.startsWith(`${file}  `));
  assert.ok(block, `no block for ${file} in:\n${stdout}`);
  const line = block.split("\n").find((l) => l.slice(4).startsWith(`${step} `));
  assert.ok(line, `no ${step} line for ${file} in:\n${block}`);
  return line;
}

interface JsonOutput {
  trustAnchor: { path: string; source: string; committeeSetHash: string; epoch: string; members: string[] };
  mode: { backend: string; nowSeconds: string | null; strict: boolean; fabricMsps: string | null };
  bundles: {
    file: string;
    ok: boolean;
    messageId: string | null;
    steps: { step: string; status: string; detail: string; code?: string }[];
  }[];
  verified: number;
  failed: number;
  interrupted: boolean;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "shandu-cli-verify-"));
  fx = await writeBundleFixtures(await loadBls(), root);
  trustedHash = toHex(committeeSetHash(committeeFromJson(JSON.parse(await readFile(fx.genesis, "utf8")))));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("shandu verify", () => {
  test("a valid JSON bundle verifies: every deciding step ✓, exit 0", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.valid]);
    assert.equal(r.code, 0, r.stderr);
    for (const step of ["format", "trust-anchor", "committee-chain", "message", "inclusion", "attestation"]) {
      assert.match(stepLine(r.stdout, fx.valid, step), /^ {2}✓ /);
    }
    assert.match(stepLine(r.stdout, fx.valid, "source-evidence"), /^ {2}– source-evidence\s+not checked: none in this bundle$/);
    assert.match(r.stdout, new RegExp(`trust anchor: ${fx.genesis}\\n  genesis committee ${trustedHash}`));
    assert.match(r.stdout, /\n1 verified, 0 failed\n$/);
    assert.equal(r.stderr, "");
  });

  test("a valid binary bundle verifies", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.validBinary]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(stepLine(r.stdout, fx.validBinary, "attestation"), /✓ attestation\s+3\/4 members/);
  });

  test("a tampered payload fails at the message step with MESSAGE_ID_MISMATCH, later steps not checked, exit 1", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.tamperedPayload]);
    assert.equal(r.code, 1);
    assert.match(stepLine(r.stdout, fx.tamperedPayload, "committee-chain"), /✓ committee-chain/);
    assert.match(stepLine(r.stdout, fx.tamperedPayload, "message"), /^ {2}✗ message\s+MESSAGE_ID_MISMATCH: /);
    assert.match(stepLine(r.stdout, fx.tamperedPayload, "inclusion"), /^ {2}– inclusion\s+not checked: an earlier step failed$/);
    assert.match(r.stdout, new RegExp(`\\n0 verified, 1 failed: ${fx.tamperedPayload}\\n$`));
  });

  test("a forged signature fails at the attestation step with BAD_SIGNATURE", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.forgedSignature]);
    assert.equal(r.code, 1);
    assert.match(stepLine(r.stdout, fx.forgedSignature, "inclusion"), /✓ inclusion/);
    assert.match(stepLine(r.stdout, fx.forgedSignature, "attestation"), /^ {2}✗ attestation\s+BAD_SIGNATURE: /);
  });

  test("a bundle from another genesis fails at the trust anchor with GENESIS_MISMATCH, naming both hashes", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.wrongGenesis]);
    assert.equal(r.code, 1);
    const line = stepLine(r.stdout, fx.wrongGenesis, "trust-anchor");
    assert.match(line, /^ {2}✗ trust-anchor\s+GENESIS_MISMATCH: /);
    assert.ok(line.includes(`trusted=${trustedHash}`), line);
  });

  test("a file that is not JSON gives a failed report at the format step, not a crash", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.notJson, fx.valid]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, new RegExp(`${fx.notJson} {2}\\(not read as a bundle\\)`));
    assert.match(stepLine(r.stdout, fx.notJson, "format"), /^ {2}✗ format\s+NOT_A_BUNDLE: not valid JSON$/);
    assert.match(r.stdout, new RegExp(`\\n1 verified, 1 failed: ${fx.notJson}\\n$`));
  });

  test("a bundle with a malformed genesis committee (empty member id) gives a failed report, not a crash", async () => {
    const bundle = JSON.parse(await readFile(fx.valid, "utf8"));
    bundle.committees.genesis.members[0].id = "";
    const path = join(root, "empty-member-id.json");
    await writeFile(path, JSON.stringify(bundle));
    const r = await runShandu(["verify", "--genesis", fx.genesis, path, fx.valid]);
    assert.equal(r.code, 1);
    assert.match(stepLine(r.stdout, path, "format"), /^ {2}✗ format\s+[A-Z_]+: .*member/);
    assert.match(r.stdout, /\n1 verified, 1 failed: /);
  });

  test("a directory uses the genesis.json beside the bundles, says so, and verifies every bundle in name order", async () => {
    const r = await runShandu(["verify", "bundles"], { cwd: root });
    assert.equal(r.code, 1);
    assert.ok(r.stdout.startsWith("trust anchor: bundles/genesis.json (found beside the bundles)\n"), r.stdout);
    const headers = r.stdout.split("\n").filter((l) => l.startsWith("bundles/"));
    assert.deepEqual(
      headers.map((h) => h.split("  ")[0]),
      [
        "forged-signature.json",
        "not-json.json",
        "rotated.json",
        "tampered-payload.json",
        "valid.bin",
        "valid.json",
        "with-evidence.json",
        "wrong-genesis.json",
      ].map((n) => `bundles/${n}`),
    );
    assert.match(
      r.stdout,
      /\n4 verified, 4 failed: bundles\/forged-signature.json, bundles\/not-json.json, bundles\/tampered-payload.json, bundles\/wrong-genesis.json\n$/,
    );
  });

  test("--json writes one parseable document with the trust anchor, every step of every bundle, and the counts", async () => {
    const r = await runShandu(["verify", "--json", fx.dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "");
    const out = JSON.parse(r.stdout) as JsonOutput;
    assert.deepEqual(out.trustAnchor, {
      path: join(fx.dir, "genesis.json"),
      source: "beside-bundles",
      committeeSetHash: trustedHash,
      epoch: "0",
      members: ["shanghai-lowcarbon", "shenzhen-welfare", "clearing-bank", "regulator"],
    });
    assert.deepEqual(out.mode, { backend: out.mode.backend, nowSeconds: null, strict: false, fabricMsps: null });
    assert.equal(out.bundles.length, 8);
    assert.equal(out.verified, 4);
    assert.equal(out.failed, 4);
    assert.equal(out.interrupted, false);
    for (const b of out.bundles)
      assert.deepEqual(
        b.steps.map((s) => s.step),
        STEP_NAMES,
        b.file,
      );
    const failedAt = (file: string) => {
      const b = out.bundles.find((x) => x.file === file);
      assert.ok(b, file);
      assert.equal(b.ok, false);
      const s = b.steps.find((x) => x.status === "failed");
      return `${s?.step}:${s?.code}`;
    };
    assert.equal(failedAt(fx.tamperedPayload), "message:MESSAGE_ID_MISMATCH");
    assert.equal(failedAt(fx.forgedSignature), "attestation:BAD_SIGNATURE");
    assert.equal(failedAt(fx.wrongGenesis), "trust-anchor:GENESIS_MISMATCH");
    assert.equal(failedAt(fx.notJson), "format:NOT_A_BUNDLE");
    const valid = out.bundles.find((b) => b.file === fx.valid);
    assert.equal(valid?.ok, true);
    assert.match(valid?.messageId ?? "", /^0x[0-9a-f]{64}$/);
    assert.equal(out.bundles.find((b) => b.file === fx.notJson)?.messageId, null);
  });

  test("without --genesis and without a genesis.json beside the bundles: usage error, exit 2", async () => {
    const r = await runShandu(["verify", fx.valid]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^shandu: error: no trust anchor/);
    assert.match(r.stderr, /only be verified against a genesis committee you trust/);
    assert.match(r.stderr, /Pass --genesis <committee\.json>/);
  });

  test("naming dir/*.json picks up dir/genesis.json as the trust anchor rather than as a bundle", async () => {
    const r = await runShandu(["verify", join(fx.dir, "genesis.json"), fx.valid]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\(found beside the bundles\)/);
    assert.match(r.stdout, /\n1 verified, 0 failed\n$/);
  });

  test("--rotations: with --now, a bundle that omits a known rotation is expired; a forked one conflicts", async () => {
    const now = String(ROTATION_ACTIVATES_AT + 500n);
    const alone = await runShandu(["verify", "--genesis", fx.genesis, "--now", now, fx.valid]);
    assert.equal(alone.code, 0, "on its own, a bundle without rotations cannot show that its committee was rotated out");
    const known = await runShandu(["verify", "--genesis", fx.genesis, "--now", now, "--rotations", fx.knownRotations, fx.valid]);
    assert.equal(known.code, 1);
    assert.match(stepLine(known.stdout, fx.valid, "committee-chain"), /✗ committee-chain\s+EPOCH_EXPIRED/);
    const rotated = await runShandu(["verify", "--genesis", fx.genesis, "--now", now, "--rotations", fx.knownRotations, fx.rotated]);
    assert.equal(rotated.code, 0, rotated.stdout);
    const forked = await runShandu(["verify", "--genesis", fx.genesis, "--rotations", fx.forkedRotations, fx.rotated]);
    assert.equal(forked.code, 1);
    assert.match(stepLine(forked.stdout, fx.rotated, "committee-chain"), /✗ committee-chain\s+ROTATION_CONFLICT/);
    const bad = await runShandu(["verify", "--genesis", fx.genesis, "--rotations", fx.genesis, fx.valid]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /rotations file .* is not a JSON array/);
  });

  test("--now applies the rotation rules; without it the report says grace periods were not applied", async () => {
    const early = await runShandu(["verify", "--genesis", fx.genesis, "--now", String(ROTATION_ACTIVATES_AT - 1n), fx.rotated]);
    assert.equal(early.code, 1);
    assert.match(stepLine(early.stdout, fx.rotated, "committee-chain"), /✗ committee-chain\s+EPOCH_NOT_YET_ACTIVE: /);
    const later = await runShandu(["verify", "--json", "--genesis", fx.genesis, "--now", String(ROTATION_ACTIVATES_AT + 1n), fx.rotated]);
    assert.equal(later.code, 0, later.stdout);
    assert.equal((JSON.parse(later.stdout) as JsonOutput).mode.nowSeconds, String(ROTATION_ACTIVATES_AT + 1n));
    const audit = await runShandu(["verify", "--genesis", fx.genesis, fx.rotated, fx.valid]);
    assert.equal(audit.code, 0, audit.stdout);
    assert.match(stepLine(audit.stdout, fx.rotated, "committee-chain"), /no clock given: grace periods not applied/);
  });

  test("--strict fails bundles whose source or destination evidence was not checked", async () => {
    const lenient = await runShandu(["verify", "--genesis", fx.genesis, fx.withEvidence]);
    assert.equal(lenient.code, 0);
    assert.match(
      stepLine(lenient.stdout, fx.withEvidence, "source-evidence"),
      /– source-evidence\s+not checked: no verifier for evidence kind "fabric-endorsement": pin .* with --fabric-msps <file> to check it$/,
    );
    const strict = await runShandu(["verify", "--strict", "--genesis", fx.genesis, fx.withEvidence]);
    assert.equal(strict.code, 1);
    assert.match(stepLine(strict.stdout, fx.withEvidence, "source-evidence"), /✗ source-evidence\s+EVIDENCE_NOT_CHECKED: /);
    assert.match(stepLine(strict.stdout, fx.withEvidence, "destination-evidence"), /✗ destination-evidence\s+EVIDENCE_NOT_CHECKED: /);
    // An earlier failure stays the news: evidence after it stays "not checked".
    const broken = await runShandu(["verify", "--strict", "--genesis", fx.genesis, fx.forgedSignature]);
    assert.match(stepLine(broken.stdout, fx.forgedSignature, "source-evidence"), /– source-evidence\s+not checked: an earlier step failed/);
  });

  test("EVM receipt and delivery evidence is checked by default", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.withEvmEvidence]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      stepLine(r.stdout, fx.withEvmEvidence, "source-evidence"),
      /✗ source-evidence\s+EVIDENCE_MALFORMED: evm-receipt evidence is malformed/,
    );
    assert.match(
      stepLine(r.stdout, fx.withEvmEvidence, "destination-evidence"),
      /✓ destination-evidence\s+nonce 10 executed: delivery proven in block 0x[0-9a-f]{64} #99 \(header hash; compare with EVM chain 31338\), .*from inbox 0x(b2){20} \(not pinned for chain 2002/,
    );
  });

  test("FISCO BCOS delivery evidence is checked by default", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, fx.withFiscoEvidence]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(
      stepLine(r.stdout, fx.withFiscoEvidence, "destination-evidence"),
      /✓ destination-evidence\s+nonce 11 executed: delivery proven in FISCO block #77 0x[0-9a-f]{64} \(sm\), sealed by a quorum of the header's own 4 sealers \(not pinned for chain 2002: .*from inbox 0x(f1){20} \(not pinned/,
    );
  });

  test("the genesis may be wrapped as a shandu.committee document; --backend noble gives the same verdict", async () => {
    const wrapped = join(root, "wrapped-genesis.json");
    const committee = JSON.parse(await readFile(fx.genesis, "utf8"));
    await writeFile(wrapped, JSON.stringify({ format: "shandu.committee", version: 1, committee }));
    const r = await runShandu(["verify", "--json", "--backend", "noble", "--genesis", wrapped, fx.valid, fx.forgedSignature]);
    assert.equal(r.code, 1);
    const out = JSON.parse(r.stdout) as JsonOutput;
    assert.equal(out.mode.backend, "noble");
    assert.equal(out.trustAnchor.committeeSetHash, trustedHash);
    assert.deepEqual(
      out.bundles.map((b) => b.ok),
      [true, false],
    );
  });

  test("usage errors exit 2 with a hint and nothing on stdout", async () => {
    const emptyish = join(root, "emptyish");
    await mkdir(join(emptyish, "inner"), { recursive: true });
    const cases: [string[], RegExp][] = [
      [["verify", "--genesis", fx.genesis, join(root, "missing.json")], /missing\.json does not exist/],
      [["verify", "--genesis", join(root, "nope.json"), fx.valid], /genesis file .*nope\.json does not exist/],
      [["verify", "--genesis", fx.notJson, fx.valid], /genesis file .* is not valid JSON/],
      [["verify", "--genesis", fx.valid, fx.valid], /is a proof bundle, not a genesis committee/],
      [["verify", "--genesis", fx.genesis, "--now", "yesterday", fx.valid], /--now yesterday is not a time in unix seconds/],
      [["verify", "--genesis", fx.genesis, "--backend", "gpu", fx.valid], /--backend gpu is not a BLS backend/],
      [["verify", "--genesys", fx.genesis, fx.valid], /unknown flag --genesys[\s\S]*Did you mean --genesis\?/],
      [["verify", "--genesis"], /--genesis/],
      [["verify"], /no bundles given/],
      [["verify", emptyish], /holds no bundle files[\s\S]*shandu verify .*inner/],
    ];
    for (const [args, message] of cases) {
      const r = await runShandu(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, "", args.join(" "));
      assert.match(r.stderr, /^shandu: error: /, args.join(" "));
      assert.match(r.stderr, message, args.join(" "));
    }
  });

  test("a genesis whose proof of possession is wrong is refused before any bundle is checked", async () => {
    const committee = JSON.parse(await readFile(fx.genesis, "utf8")) as { members: { proofOfPossession: string }[] };
    const [a, b] = committee.members;
    assert.ok(a && b);
    [a.proofOfPossession, b.proofOfPossession] = [b.proofOfPossession, a.proofOfPossession];
    const path = join(root, "swapped-pop-genesis.json");
    await writeFile(path, JSON.stringify(committee));
    const r = await runShandu(["verify", "--genesis", path, fx.valid]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a usable committee: INVALID_PROOF_OF_POSSESSION/);
  });

  test("over 20 bundles only failures are printed in full unless --verbose", async () => {
    const many = join(root, "many");
    await mkdir(many);
    await copyFile(fx.genesis, join(many, "genesis.json"));
    await Promise.all(Array.from({ length: 24 }, (_, i) => copyFile(fx.valid, join(many, `b${String(i).padStart(2, "0")}.json`))));
    await copyFile(fx.forgedSignature, join(many, "b99.json"));
    const compact = await runShandu(["verify", many]);
    assert.equal(compact.code, 1);
    const headers = (s: string) => s.split("\n").filter((l) => l.startsWith(`${many}/`));
    assert.deepEqual(
      headers(compact.stdout).map((h) => h.split("  ")[0]),
      [join(many, "b99.json")],
    );
    assert.match(compact.stdout, /checking 25 bundles; only failures are shown in full/);
    assert.match(compact.stdout, new RegExp(`\\n24 verified, 1 failed: ${many}/b99\\.json\\n$`));
    assert.equal(compact.stderr, "", "no progress bar when stderr is not a terminal");
    const verbose = await runShandu(["verify", "--verbose", many]);
    assert.equal(headers(verbose.stdout).length, 25);

    const onTerminal = await runShandu(["verify", many], { stderrIsTTY: true });
    assert.equal(onTerminal.code, 1);
    assert.match(onTerminal.stderr, /verifying \[#+\] 25\/25 100% \d+\/s/);
    assert.ok(onTerminal.stderr.endsWith("\r\x1b[K"), "the bar is cleared before the summary");
    assert.equal(onTerminal.stdout, compact.stdout, "the bar never reaches stdout");

    const controller = new AbortController();
    const stopped = await runShandu(["verify", "--verbose", many], {
      signal: controller.signal,
      onStdout: (text) => {
        if (text.includes("b02.json")) controller.abort();
      },
    });
    assert.equal(stopped.code, 130);
    assert.equal(headers(stopped.stdout).length, 3);
    assert.match(stopped.stdout, /\n3 verified, 0 failed\ninterrupted: 3 of 25 bundles checked before Ctrl-C\n$/);
  });
});

// --- Fabric endorsements -------------------------------------------------------------------------

/** A protobuf field: its key, then a varint (number) or length-delimited bytes (string or bytes). */
function pb(field: number, value: number | string | Uint8Array): Uint8Array {
  const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
  if (typeof value === "number") return Uint8Array.of(...varint(field << 3), ...varint(value));
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  return concatBytes(Uint8Array.of(...varint((field << 3) | 2), ...varint(bytes.length)), bytes);
}

const FABRIC_TX = "5e1f0c3a7b9d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f2a4c6e8b0d1f";
const FABRIC_CHANNEL = "shandu";
const FABRIC_CHAINCODE = "shandu";

/** A message the Fabric outbox sent in transaction {@link FABRIC_TX} of block 5. */
const fabricMessage: Message = {
  version: 1,
  sourceChainId: 3003n,
  destinationChainId: 2002n,
  nonce: 0n,
  kind: MessageKind.app,
  sender: new Uint8Array(32).fill(0x5a),
  recipient: new TextEncoder().encode("shenzhen-welfare-inbox"),
  payload: new TextEncoder().encode("volunteer hours 3.5"),
  source: { blockNumber: 5n, txHash: fabricTxHash(FABRIC_TX), logIndex: 0 },
};

/**
 * A valid bundle whose source evidence is the endorsement, by the TEST-ONLY peers of Org1MSP and Org2MSP,
 * of the outbox transaction that emitted {@link fabricMessage}; written to `root`.
 */
async function writeFabricBundle(): Promise<string> {
  const encoding = encodeMessage(fabricMessage);
  const event = concatBytes(
    pb(1, FABRIC_CHAINCODE),
    pb(2, FABRIC_TX),
    pb(3, FABRIC_MESSAGE_EVENT),
    pb(4, encoding.subarray(0, encoding.length - 44)),
  );
  // ChaincodeAction { results = 1, events = 2, response = 3 { status = 1 }, chaincode_id = 4 { name = 2 } }
  const action = concatBytes(pb(1, Uint8Array.of(1, 2, 3)), pb(2, event), pb(3, pb(1, 200)), pb(4, pb(2, FABRIC_CHAINCODE)));
  const proposalResponsePayload = concatBytes(pb(1, new Uint8Array(32).fill(0xab)), pb(2, action));
  const endorsements = fabricTestMsps()
    .msps.slice(0, 2)
    .map(({ peer }) => {
      const endorser = concatBytes(pb(1, peer.mspId), pb(2, peer.certificatePem));
      return { endorser, signature: signP256(peer.privateKey, concatBytes(proposalResponsePayload, endorser)) };
    });
  const bls = await loadBls();
  const pilot = pilotCommittee(bls);
  const batch = buildBatch([fabricMessage]);
  const bundle = bundleFor(batch, 0, attestBatch(bls, pilot, [0, 1, 3], batch.header), { genesis: pilot.committee, rotations: [] });
  const sourceEvidence = fabricEndorsementEvidence({
    channel: FABRIC_CHANNEL,
    chaincode: FABRIC_CHAINCODE,
    txId: FABRIC_TX,
    blockNumber: 5n,
    validationCode: 0,
    proposalResponsePayload,
    endorsements,
  });
  const path = join(root, "with-fabric-evidence.json");
  await writeFile(path, JSON.stringify(bundleToJson({ ...bundle, sourceEvidence })));
  return path;
}

/** Writes a Fabric trust file; `over` replaces or (as undefined) removes members. */
async function writePins(name: string, over: Record<string, unknown> = {}): Promise<string> {
  const cas = Object.fromEntries(fabricTestMsps().msps.map((m) => [m.mspId, [m.caPem]]));
  const pins: Record<string, unknown> = {
    format: "shandu.fabric-trust",
    msps: cas,
    policy: { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org2MSP" }] },
    channel: FABRIC_CHANNEL,
    chaincode: FABRIC_CHAINCODE,
    ...over,
  };
  const path = join(root, name);
  await writeFile(path, JSON.stringify(pins));
  return path;
}

describe("shandu verify --fabric-msps", () => {
  let bundle: string;
  let pins: string;
  before(async () => {
    bundle = await writeFabricBundle();
    pins = await writePins("fabric-trust.json");
  });

  test("with the MSPs' CAs pinned, fabric-endorsement evidence is checked and passes, and counts for --strict", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, "--fabric-msps", pins, bundle]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `\\n  fabric-endorsement evidence checked against ${pins}: CAs of Org1MSP, Org2MSP, Org3MSP \\(channel shandu, chaincode shandu\\)\\n`,
      ),
    );
    assert.match(
      stepLine(r.stdout, bundle, "source-evidence"),
      /✓ source-evidence\s+event MessageSent of chaincode shandu on channel shandu \(pinned channel and chaincode\), tx 5e1f0c3a7b9d…, endorsed by 2 identities of Org1MSP, Org2MSP satisfying AND\(Org1MSP, Org2MSP\)/,
    );
    const strict = await runShandu(["verify", "--strict", "--genesis", fx.genesis, "--fabric-msps", pins, bundle]);
    assert.equal(strict.code, 1, "the bundle has no destination evidence");
    assert.match(stepLine(strict.stdout, bundle, "source-evidence"), /✓ source-evidence/);
    assert.match(stepLine(strict.stdout, bundle, "destination-evidence"), /✗ destination-evidence\s+EVIDENCE_NOT_CHECKED: /);
    const json = await runShandu(["verify", "--json", "--genesis", fx.genesis, "--fabric-msps", pins, bundle]);
    assert.equal((JSON.parse(json.stdout) as JsonOutput).mode.fabricMsps, pins);
  });

  test("without pins the same evidence is not checked, the step says how to pin it, and --strict fails it", async () => {
    const r = await runShandu(["verify", "--genesis", fx.genesis, bundle]);
    assert.equal(r.code, 0, r.stdout);
    assert.match(
      stepLine(r.stdout, bundle, "source-evidence"),
      /– source-evidence\s+not checked: no verifier for evidence kind "fabric-endorsement": pin the MSPs' CA certificates and the endorsement policy with --fabric-msps <file> to check it$/,
    );
    const strict = await runShandu(["verify", "--strict", "--genesis", fx.genesis, bundle]);
    assert.match(stepLine(strict.stdout, bundle, "source-evidence"), /✗ source-evidence\s+EVIDENCE_NOT_CHECKED: .*--fabric-msps/);
  });

  test("the pins decide: another policy, channel or CA set fails the evidence with its FABRIC_* code", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { policy: { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org3MSP" }] } },
        /✗ source-evidence\s+FABRIC_POLICY_NOT_SATISFIED: .*policy=AND\(Org1MSP, Org3MSP\)/,
      ],
      [{ channel: "another-channel" }, /✗ source-evidence\s+FABRIC_CHANNEL_MISMATCH: /],
      [{ chaincode: "another-chaincode" }, /✗ source-evidence\s+FABRIC_CHAINCODE_MISMATCH: /],
      [
        { msps: { Org1MSP: [fabricTestMsps().rogue.caPem], Org2MSP: [fabricTestMsps().msps[1]!.caPem] } },
        /✗ source-evidence\s+FABRIC_UNKNOWN_CA: endorsement 0's certificate was not issued by a pinned CA of its MSP/,
      ],
    ];
    for (const [i, [over, failure]] of cases.entries()) {
      const r = await runShandu(["verify", "--genesis", fx.genesis, "--fabric-msps", await writePins(`pins-${i}.json`, over), bundle]);
      assert.equal(r.code, 1, `${JSON.stringify(over)}: ${r.stdout}${r.stderr}`);
      assert.match(stepLine(r.stdout, bundle, "source-evidence"), failure);
    }
    const malformed = await runShandu(["verify", "--genesis", fx.genesis, "--fabric-msps", pins, fx.withEvidence]);
    assert.equal(malformed.code, 1);
    assert.match(stepLine(malformed.stdout, fx.withEvidence, "source-evidence"), /✗ source-evidence\s+EVIDENCE_MALFORMED: /);
  });

  test("a malformed trust file is a usage error naming it, before any bundle is read", async () => {
    const cas = Object.fromEntries(fabricTestMsps().msps.map((m) => [m.mspId, [m.caPem]]));
    const cases: [string, RegExp][] = [
      [join(root, "no-such-trust.json"), /cannot be read as JSON/],
      [fx.notJson, /cannot be read as JSON/],
      [await writePins("t-format.json", { format: "shandu.committee" }), /has no "format": "shandu\.fabric-trust"/],
      [await writePins("t-unknown.json", { sealers: [] }), /has an unknown member "sealers"/],
      [await writePins("t-no-msps.json", { msps: {} }), /msps is not an object of MSP ids/],
      [await writePins("t-empty-ca.json", { msps: { ...cas, Org1MSP: [] } }), /msps\.Org1MSP is not a non-empty array of PEM certificates/],
      [
        await writePins("t-bad-ca.json", { msps: { ...cas, Org2MSP: ["not a certificate"] } }),
        /is not usable: .*msps\[Org2MSP\]\[0\] is not a PEM X\.509/,
      ],
      [await writePins("t-no-policy.json", { policy: undefined }), /policy is not a policy object/],
      [await writePins("t-policy-shape.json", { policy: { signedBy: "Org1MSP", outOf: 1 } }), /policy must be exactly \{ "signedBy"/],
      [
        await writePins("t-unpinned.json", { policy: { signedBy: "Org9MSP" } }),
        /is not usable: .*names MSP Org9MSP, which has no pinned CA/,
      ],
      [
        await writePins("t-out-of.json", { policy: { outOf: 0, rules: [{ signedBy: "Org1MSP" }] } }),
        /is not usable: .*outOf must be 1\.\.rules\.length/,
      ],
      [await writePins("t-channel.json", { channel: "" }), /channel is not a non-empty string/],
    ];
    for (const [path, message] of cases) {
      const r = await runShandu(["verify", "--genesis", fx.genesis, "--fabric-msps", path, bundle]);
      assert.equal(r.code, 2, `${path}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, "", path);
      assert.ok(r.stderr.startsWith(`shandu: error: --fabric-msps: Fabric trust file ${path} `), r.stderr);
      assert.match(r.stderr, message, path);
      assert.match(r.stderr, /"format": "shandu\.fabric-trust"/, "the hint shows the format");
    }
  });
});
