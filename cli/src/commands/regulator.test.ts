/** `shandu regulator keygen / seal / open`: keys on disk, sealing, and opening what an attested bundle commits to. */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  buildBatch,
  bundleFor,
  bundleToJson,
  committeeToJson,
  concatBytes,
  envelopeFromJson,
  fromHex,
  loadBls,
  type Message,
  MessageKind,
  type ProofBundle,
  supervisorKeyFromJson,
  toHex,
} from "@shandu/proofs";
import { attestBatch, pilotCommittee } from "@shandu/proofs/testing";
import { runInProcess } from "../testing/runInProcess.ts";

let root: string;
let keys: string;
let envelopes: string;
let sealed: { commitment: string; envelope: { scheme: string; context: string; enc: string; ciphertext: string } };
const record = JSON.stringify({ name: "李四", idNumber: "440301199202022345", trip: { from: "福田", to: "南山", km: 9.1 } });

/** A message whose payload is a 4-byte header followed by the commitment at byte 4. */
function message(commitment: Uint8Array): Message {
  const enc = new TextEncoder();
  return {
    version: 1,
    sourceChainId: 1001n,
    destinationChainId: 2002n,
    nonce: 5n,
    kind: MessageKind.app,
    sender: enc.encode("shanghai-lowcarbon-outbox"),
    recipient: enc.encode("shenzhen-welfare-inbox"),
    payload: concatBytes(enc.encode("DEED"), commitment, enc.encode("|credits=12")),
    source: { blockNumber: 77n, txHash: new Uint8Array(32).fill(3), logIndex: 0 },
  };
}

async function writeBundle(name: string, b: ProofBundle): Promise<string> {
  const path = join(root, name);
  await writeFile(path, JSON.stringify(bundleToJson(b)));
  return path;
}

let bundles: { good: string; unbound: string; forged: string; noEnvelope: string; otherCommitment: string };

before(async () => {
  root = await mkdtemp(join(tmpdir(), "shandu-cli-regulator-"));
  keys = join(root, "supervisor");
  envelopes = join(root, "envelopes");
  await writeFile(join(root, "record.json"), record);

  const kg = await runInProcess(["regulator", "keygen", "--out", keys]);
  assert.equal(kg.code, 0, kg.stderr);
  const s = await runInProcess([
    "regulator",
    "seal",
    "--pub",
    join(keys, "supervisor.pub"),
    "--context",
    "shandu-envelope-v1|1001|trip-2024-000099",
    "--envelopes",
    envelopes,
    join(root, "record.json"),
  ]);
  assert.equal(s.code, 0, s.stderr);
  sealed = JSON.parse(s.stdout) as typeof sealed;

  const bls = await loadBls("noble");
  const pilot = pilotCommittee(bls);
  await writeFile(join(root, "genesis.json"), JSON.stringify(committeeToJson(pilot.committee)));
  const commitment = fromHex(sealed.commitment);
  const batch = buildBatch([message(commitment)]);
  const att = attestBatch(bls, pilot, [0, 1, 3], batch.header);
  const committees = { genesis: pilot.committee, rotations: [] };
  const ref = { commitment, payloadOffset: 4, scheme: "hpke-x25519-sha256-aes128gcm" };
  const good = bundleFor(batch, 0, att, committees, { regulatorEnvelope: ref });
  const otherCommitment = new Uint8Array(32).fill(0x42);
  const other = buildBatch([message(otherCommitment)]);
  bundles = {
    good: await writeBundle("good.json", good),
    unbound: await writeBundle("unbound.json", { ...good, regulatorEnvelope: { ...ref, payloadOffset: 5 } }),
    forged: await writeBundle("forged.json", {
      ...good,
      attestation: { ...att, signature: attestBatch(bls, pilotCommittee(bls, "x"), [0, 1, 3], batch.header).signature },
    }),
    noEnvelope: await writeBundle("no-envelope.json", { ...good, regulatorEnvelope: null }),
    otherCommitment: await writeBundle(
      "other.json",
      bundleFor(other, 0, attestBatch(bls, pilot, [0, 1, 3], other.header), committees, {
        regulatorEnvelope: { ...ref, commitment: otherCommitment },
      }),
    ),
  };
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const openArgs = (bundle: string, key = join(keys, "supervisor.key")) => [
  "regulator",
  "open",
  bundle,
  "--key",
  key,
  "--envelopes",
  envelopes,
];

test("keygen writes a 0600 secret key and a public key; the secret is never printed", async () => {
  const key = join(keys, "supervisor.key");
  assert.equal((await stat(key)).mode & 0o777, 0o600);
  const pair = supervisorKeyFromJson(JSON.parse(await readFile(key, "utf8")));
  const pub = JSON.parse(await readFile(join(keys, "supervisor.pub"), "utf8")) as { publicKey: string };
  assert.equal(pub.publicKey, toHex(pair.publicKey));
  assert.ok(!JSON.stringify(pub).includes(toHex(pair.secretKey).slice(2)));
  // A second keygen would replace the key: refused without --force.
  const again = await runInProcess(["regulator", "keygen", "--out", keys]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /--force/);
  assert.ok(!again.stderr.includes(toHex(pair.secretKey).slice(2)));
});

test("seal prints the commitment and the envelope and stores it under the commitment", async () => {
  assert.match(sealed.commitment, /^0x[0-9a-f]{64}$/);
  const stored = JSON.parse(await readFile(join(envelopes, `${sealed.commitment.slice(2)}.json`), "utf8")) as unknown;
  assert.deepEqual(stored, sealed.envelope);
  assert.equal(new TextDecoder().decode(envelopeFromJson(stored).context), "shandu-envelope-v1|1001|trip-2024-000099");
});

test("open verifies the bundle, checks the envelope and prints the plaintext", async () => {
  const r = await runInProcess([...openArgs(bundles.good), "--genesis", join(root, "genesis.json")]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${record}\n`);
  assert.match(r.stderr, /bound at byte 4 of the attested payload/);
  assert.match(r.stderr, /trip-2024-000099/);
  // genesis.json beside the bundle is the fallback trust anchor; --out writes the raw bytes.
  const out = join(root, "plain.bin");
  const r2 = await runInProcess([...openArgs(bundles.good), "--out", out]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(await readFile(out, "utf8"), record);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
});

test("every failure exits 1 with its code and what to do next", async () => {
  const cases: [string[], string][] = [
    [openArgs(bundles.unbound), "ENVELOPE_NOT_BOUND"],
    [openArgs(bundles.forged), "BAD_SIGNATURE"],
    [openArgs(bundles.noEnvelope), "NO_ENVELOPE"],
    [openArgs(bundles.otherCommitment), "ENVELOPE_NOT_FOUND"],
  ];
  for (const [args, code] of cases) {
    const r = await runInProcess(args);
    assert.equal(r.code, 1, `${code}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`shandu regulator: ${code}: .*\\n  \\S`), r.stderr);
    assert.equal(r.stdout, "");
  }

  // An envelope file that is not the committed one (here: its ciphertext changed) is refused before decryption.
  const path = join(envelopes, `${sealed.commitment.slice(2)}.json`);
  const original = await readFile(path, "utf8");
  try {
    const ct = sealed.envelope.ciphertext;
    await writeFile(path, JSON.stringify({ ...sealed.envelope, ciphertext: `${ct.slice(0, -2)}${ct.endsWith("00") ? "01" : "00"}` }));
    const r = await runInProcess(openArgs(bundles.good));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ENVELOPE_COMMITMENT_MISMATCH/);
    await writeFile(path, "{ not json");
    assert.match((await runInProcess(openArgs(bundles.good))).stderr, /ENVELOPE_MALFORMED/);
  } finally {
    await writeFile(path, original);
  }

  // Another supervisor's key: the envelope matches, but does not open.
  const other = join(root, "other-supervisor");
  assert.equal((await runInProcess(["regulator", "keygen", "--out", other])).code, 0);
  const wrong = await runInProcess(openArgs(bundles.good, join(other, "supervisor.key")));
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /ENVELOPE_DECRYPT_FAILED: .*\n {2}.*another supervisor key/);
  assert.equal(wrong.stdout, "");
});

test("usage errors exit 2", async () => {
  assert.equal((await runInProcess(["regulator"])).code, 2);
  assert.equal((await runInProcess(["regulator", "open", bundles.good, "--key", join(keys, "supervisor.key")])).code, 2);
  assert.equal((await runInProcess(["regulator", "seal", "--pub", join(keys, "supervisor.pub"), join(root, "record.json")])).code, 2);
  const noAnchor = await runInProcess([...openArgs(bundles.good), "--genesis", join(root, "missing.json")]);
  assert.equal(noAnchor.code, 2);
  const help = await runInProcess(["help", "regulator"]);
  assert.match(help.stdout, /regulator open/);
});
