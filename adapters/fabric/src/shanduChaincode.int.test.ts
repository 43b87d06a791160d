/**
 * The adapter end to end against the real Shandu chaincode, run by the test peer (a test double of a
 * Fabric gateway peer): outbox messages watched and proven by endorsements, deliveries verified and
 * executed by the inbox.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { connect, hash, signers } from "@hyperledger/fabric-gateway";
import { AdapterError, type Delivery, startCursor } from "@shandu/adapter-core";
import {
  type BatchHeader,
  type ChainId,
  committeeToJson,
  fabricEndorsementEvidenceVerifier,
  MerkleTree,
  type Message,
  MessageKind,
  messageId,
  nobleBls,
  toHex,
} from "@shandu/proofs";
import { attestBatch, pilotCommittee } from "@shandu/proofs/testing";
import { type FabricAdapter, fabricAdapterModule } from "./adapter.ts";
import { FabricTestPeer, fabricTestMsps, shanduChaincodeRunner } from "./testing/mod.ts";

const FABRIC = 3003n as ChainId;
const OTHER = 1001n as ChainId;
const enc = new TextEncoder();

const { msps } = fabricTestMsps();
const org1 = msps[0]!;
const org2 = msps[1]!;
const tc = pilotCommittee(nobleBls);

function inbound(nonce: bigint): Message {
  return {
    version: 1,
    sourceChainId: OTHER,
    destinationChainId: FABRIC,
    nonce,
    kind: MessageKind.app,
    sender: new Uint8Array(20).fill(0xa1),
    recipient: enc.encode("recorder"),
    payload: enc.encode(`deed-${nonce}`),
    source: { blockNumber: 100n + nonce, txHash: new Uint8Array(32).fill(Number(nonce)), logIndex: 0 },
  };
}

function deliveryOf(messages: Message[], signerIndices = [0, 1, 3]): Delivery {
  const tree = MerkleTree.fromLeaves(messages.map(messageId));
  const header: BatchHeader = {
    sourceChainId: OTHER,
    destinationChainId: FABRIC,
    firstNonce: messages[0]!.nonce,
    lastNonce: messages.at(-1)!.nonce,
    root: tree.root,
  };
  return {
    header,
    attestation: attestBatch(nobleBls, tc, signerIndices, header),
    committees: { genesis: tc.committee, rotations: [] },
    messages,
    proof: tree.prove(messages.map((_, i) => i)),
  };
}

describe("FabricAdapter with the Shandu chaincode in the test peer", () => {
  let peer: FabricTestPeer;
  let dir: string;
  let adapter: FabricAdapter;
  const recorded: string[] = [];

  before(async () => {
    peer = await FabricTestPeer.start({
      channel: "shandu",
      chaincodes: {
        shandu: shanduChaincodeRunner({
          initialiserMsp: "Org1MSP",
          recipients: new Map([
            [
              "recorder",
              async (call) => {
                recorded.push(toHex(call.messageId));
              },
            ],
          ]),
        }),
      },
      endorsers: [org1.peer, org2.peer],
      msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
    });
    dir = await mkdtemp(join(tmpdir(), "shandu-fabric-cc-"));
    await writeFile(join(dir, "cert.pem"), org1.peer.certificatePem);
    await writeFile(join(dir, "key.pem"), org1.peer.privateKey.export({ format: "pem", type: "pkcs8" }));
    const config = fabricAdapterModule.parseConfig({
      kind: "fabric",
      chainId: FABRIC.toString(),
      peerEndpoint: peer.endpoint,
      channel: "shandu",
      chaincode: "shandu",
      mspId: "Org1MSP",
      certFile: join(dir, "cert.pem"),
      keyFile: join(dir, "key.pem"),
    });
    adapter = (await fabricAdapterModule.create(config, { bls: nobleBls })) as FabricAdapter;

    // Initialise the inbox through the real client (the adapter has no governance calls).
    const client = new grpc.Client(peer.endpoint, grpc.credentials.createInsecure());
    const gw = connect({
      client,
      identity: { mspId: "Org1MSP", credentials: enc.encode(org1.peer.certificatePem) },
      signer: signers.newPrivateKeySigner(org1.peer.privateKey),
      hash: hash.sha256,
    });
    const cc = gw.getNetwork("shandu").getContract("shandu");
    await cc.submitTransaction(
      "ShanduInbox:initialise",
      JSON.stringify({
        chainId: FABRIC.toString(),
        genesis: committeeToJson(tc.committee),
        governor: toHex(new Uint8Array(32).fill(7)),
        governance: [],
      }),
    );
    await cc.submitTransaction("ShanduOutbox:send", OTHER.toString(), "0x0102", "0xdead");
    await cc.submitTransaction("ShanduOutbox:send", OTHER.toString(), "0x0102", "0xbeef");
    gw.close();
    client.close();
  });
  after(async () => {
    await adapter.close();
    await peer.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the outbox's messages are watched with their positions and their endorsements verify", async () => {
    const items = [];
    const ac = new AbortController();
    for await (const item of adapter.watch(startCursor(0n), { signal: ac.signal })) {
      items.push(item);
      if (items.length === 2) ac.abort();
    }
    assert.deepEqual(
      items.map((i) => [i.message.sourceChainId, i.message.destinationChainId, i.message.nonce, toHex(i.message.payload)]),
      [
        [FABRIC, OTHER, 0n, "0xdead"],
        [FABRIC, OTHER, 1n, "0xbeef"],
      ],
    );
    const verifier = fabricEndorsementEvidenceVerifier({
      msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
      policy: { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org2MSP" }] },
      channel: "shandu",
      chaincode: "shandu",
    });
    for (const item of items) {
      const evidence = await adapter.sourceEvidence(item.message);
      assert.match(
        String(verifier.verify(evidence, { message: item.message, messageId: item.id, batch: undefined as never })),
        /satisfying AND\(Org1MSP, Org2MSP\)/,
      );
    }
  });

  test("a delivery is verified and executed by the inbox once; a resubmission executes nothing", async () => {
    const lane = { sourceChainId: OTHER, destinationChainId: FABRIC };
    assert.deepEqual(await adapter.deliveryStatus(lane, 0n), { status: "not-delivered", lanePaused: false });
    const d = deliveryOf([inbound(0n), inbound(1n)]);
    const receipt = await adapter.submitBatch(d, { signal: new AbortController().signal });
    assert.deepEqual(receipt.executed, [0n, 1n]);
    assert.deepEqual(receipt.alreadyDelivered, []);
    assert.ok(receipt.tx && receipt.tx.blockNumber > 0n);
    // The recipient also ran when the delivery was evaluated and endorsed, as chaincode does on a peer.
    assert.ok(d.messages.every((m) => recorded.includes(toHex(messageId(m)))));
    assert.deepEqual(await adapter.deliveryStatus(lane, 1n), { status: "delivered", lanePaused: false });
    const height = peer.height;
    const again = await adapter.submitBatch(d, { signal: new AbortController().signal });
    assert.deepEqual(again, { tx: null, executed: [], alreadyDelivered: [0n, 1n] });
    assert.equal(peer.height, height);
  });

  test("a delivery without quorum is DELIVERY_REJECTED with the inbox's reason, and costs no transaction", async () => {
    const height = peer.height;
    const d = deliveryOf([inbound(2n)], [0]);
    await assert.rejects(adapter.submitBatch(d, { signal: new AbortController().signal }), (e: unknown) => {
      assert.ok(e instanceof AdapterError);
      assert.equal(e.code, "DELIVERY_REJECTED");
      assert.match(String(e.facts.reason), /^QUORUM/);
      return true;
    });
    assert.equal(peer.height, height);
  });
});
