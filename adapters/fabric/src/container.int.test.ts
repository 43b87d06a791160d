/**
 * A real Hyperledger Fabric 2.5 network from the official images, started with `testcontainers`
 * (`./testing/fabricContainer.ts`: one etcdraft orderer joined through the channel participation API,
 * a peer of Org1MSP and one of Org2MSP, channel `shandu`, the Shandu chaincode running as a service and
 * committed with the channel's default policy, both organisations). Through the real
 * `@hyperledger/fabric-gateway` client, as Org1's user: `ShanduInbox:initialise`, then
 * `ShanduOutbox:send`. The adapter's `watch` must yield that message at the transaction's block and id,
 * and its `"fabric-endorsement"` evidence must verify with both organisations' CA certificates pinned
 * and the policy AND(Org1MSP, Org2MSP) — and fail `FABRIC_UNKNOWN_CA` when Org2's CA is not pinned.
 *
 * NOT YET RUN: written on a machine without a container runtime; only the skip path has run. Where no
 * container runtime is reachable, every test is reported skipped with the reason
 * (`skipped: no container runtime (…)`), so the run stays green without pretending anything passed.
 */
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, afterEach, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { connect, type Gateway, hash, signers } from "@hyperledger/fabric-gateway";
import { type ChainAdapter, startCursor, type WatchItem } from "@shandu/adapter-core";
import {
  committeeToJson,
  EvidenceError,
  fabricEndorsementEvidenceVerifier,
  fabricTxHash,
  loadBls,
  type Message,
  messageId,
  toHex,
} from "@shandu/proofs";
import { pilotCommittee } from "@shandu/proofs/testing";
import { fabricAdapterModule } from "./adapter.ts";
import {
  FABRIC_ORDERER_IMAGE,
  FABRIC_PEER_IMAGE,
  type FabricNetwork,
  probeContainerRuntime,
  skipWithoutRuntime,
  startFabricNetwork,
} from "./testing/fabricContainer.ts";

const runtime = await probeContainerRuntime(20_000);
const skip = skipWithoutRuntime(runtime);

const START_MS = 15 * 60_000;
const STEP_MS = 3 * 60_000;

const SOURCE = 3003n;
const DESTINATION = 2002n;
const RECIPIENT = "0x7368616e6475"; // "shandu"
const PAYLOAD = new TextEncoder().encode("volunteer hours 3.5");

/** After a failed test, what the containers printed (`passed` is on the context from Node 21.7 on). */
function showOutputOnFailure(t: { diagnostic(message: string): void }, net: FabricNetwork | undefined): void {
  if ((t as { passed?: boolean }).passed === false && net) t.diagnostic(net.logs());
}

describe(`Fabric 2.5: ${FABRIC_ORDERER_IMAGE}, two peers in ${FABRIC_PEER_IMAGE}, the Shandu chaincode as a service`, () => {
  let net: FabricNetwork | undefined;
  let gateway: Gateway | undefined;
  let client: grpc.Client | undefined;

  before(
    async () => {
      if (skip) return;
      net = await startFabricNetwork({ startTimeoutMs: START_MS / 3, stepTimeoutMs: STEP_MS });
      const org1 = net.orgs[0];
      client = new grpc.Client(net.peerEndpoint, grpc.credentials.createSsl(readFileSync(net.tlsCaFile)), {
        "grpc.ssl_target_name_override": net.tlsServerName,
      });
      gateway = connect({
        client,
        identity: { mspId: org1.mspId, credentials: readFileSync(org1.user.certFile) },
        signer: signers.newPrivateKeySigner(createPrivateKey(readFileSync(org1.user.keyFile))),
        hash: hash.sha256,
      });
    },
    { timeout: START_MS + 60_000 },
  );
  after(
    async () => {
      gateway?.close();
      client?.close();
      await net?.stop();
    },
    { timeout: 2 * 60_000 },
  );

  afterEach((t) => showOutputOnFailure(t, net));

  const started = (): { net: FabricNetwork; gateway: Gateway } =>
    net && gateway ? { net, gateway } : assert.fail("the network did not start");

  test("a message sent through the outbox is watched by the adapter and its endorsements verify against the pinned CAs", {
    skip,
    timeout: STEP_MS * 2,
  }, async () => {
    const { net, gateway } = started();
    const network = gateway.getNetwork(net.channel);
    const bls = await loadBls("noble");

    // Initialise the inbox (the outbox reads the chain id from its configuration). Gossip may need a
    // moment before the gateway can find Org2's peer for the AND policy, so this is retried.
    const config = {
      chainId: SOURCE.toString(),
      genesis: committeeToJson(pilotCommittee(bls).committee),
      governor: toHex(new Uint8Array(32).fill(0x11)),
      governance: [{ chainId: "1001", sender: toHex(new Uint8Array(20).fill(0x22)) }],
    };
    const inbox = network.getContract(net.chaincode, "ShanduInbox");
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      try {
        await inbox.submitTransaction("initialise", JSON.stringify(config));
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 3000));
      }
    }

    // Send one message and learn where it was committed.
    const outbox = network.getContract(net.chaincode);
    const submitted = await outbox.submitAsync("send", { arguments: [DESTINATION.toString(), RECIPIENT, toHex(PAYLOAD)] });
    const result = JSON.parse(new TextDecoder().decode(submitted.getResult())) as { nonce: string };
    const status = await submitted.getStatus();
    assert.ok(status.successful, `the send transaction committed VALID (code ${status.code})`);
    const txId = submitted.getTransactionId();

    const adapter: ChainAdapter = await fabricAdapterModule.create(
      fabricAdapterModule.parseConfig({
        kind: "fabric",
        chainId: SOURCE.toString(),
        peerEndpoint: net.peerEndpoint,
        tlsCaFile: net.tlsCaFile,
        tlsServerName: net.tlsServerName,
        channel: net.channel,
        chaincode: net.chaincode,
        mspId: net.orgs[0].mspId,
        certFile: net.orgs[0].user.certFile,
        keyFile: net.orgs[0].user.keyFile,
        rpcTimeoutMs: 60_000,
      }),
      { bls },
    );
    try {
      let m: Message | undefined;
      for await (const item of adapter.watch(startCursor(), { signal: AbortSignal.timeout(60_000) }) as AsyncIterable<WatchItem>) {
        m = item.message;
        break;
      }
      assert.ok(m, "the adapter watched the message");
      assert.equal(m.sourceChainId, SOURCE);
      assert.equal(m.destinationChainId, DESTINATION);
      assert.equal(m.nonce.toString(), result.nonce);
      assert.equal(toHex(m.recipient), RECIPIENT);
      assert.deepEqual(m.payload, PAYLOAD);
      assert.equal(m.source.blockNumber, status.blockNumber, "the block the commit status names");
      assert.deepEqual(m.source.txHash, fabricTxHash(txId), "the transaction id's 32 bytes");
      assert.equal(m.source.logIndex, 0);

      const evidence = await adapter.sourceEvidence(m);
      const ctx = {
        message: m,
        messageId: messageId(m),
        batch: {
          sourceChainId: SOURCE,
          destinationChainId: DESTINATION,
          firstNonce: m.nonce,
          lastNonce: m.nonce,
          root: new Uint8Array(32),
        },
      };
      const [org1, org2] = net.orgs;
      const pinned = fabricEndorsementEvidenceVerifier({
        msps: { [org1.mspId]: [org1.caPem], [org2.mspId]: [org2.caPem] },
        policy: { outOf: 2, rules: [{ signedBy: org1.mspId }, { signedBy: org2.mspId }] },
        channel: net.channel,
        chaincode: net.chaincode,
      });
      assert.match(pinned.verify(evidence, ctx), /endorsed by 2 identities of Org1MSP, Org2MSP satisfying AND\(Org1MSP, Org2MSP\)/);

      // Without Org2's CA the same evidence is refused: each endorsement must come from a pinned CA.
      const org1Only = fabricEndorsementEvidenceVerifier({ msps: { [org1.mspId]: [org1.caPem] }, policy: { signedBy: org1.mspId } });
      assert.throws(
        () => org1Only.verify(evidence, ctx),
        (e: unknown) => e instanceof EvidenceError && e.code === "FABRIC_UNKNOWN_CA",
      );
    } finally {
      await adapter.close();
    }
  });
});
