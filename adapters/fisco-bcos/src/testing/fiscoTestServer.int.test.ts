/**
 * `fiscoTestServer` — a test double of a FISCO BCOS 3.x node's JSON-RPC, executing on anvil — against
 * this package's client and adapter and the offline evidence verifier, on a real anvil node. In both
 * suites: a signed TARS transaction deploys `ShanduOutbox`, signed transactions send messages through
 * it, and the source-side adapter watches them and builds evidence that verifies with the server's
 * sealers pinned. Forged signatures, foreign chain or group ids, stale or far block limits, replayed
 * nonces and tampered hashes are refused with FISCO's codes and leave anvil untouched; a reverting
 * transaction and call carry the revert data; too few seals fail the quorum; mutual TLS refuses a
 * client without a certificate.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AdapterError, startCursor, type WatchItem } from "@shandu/adapter-core";
import { type AnvilNode, startAnvil } from "@shandu/adapter-evm/testing";
import { loadArtifact } from "@shandu/deploy";
import {
  addressOf,
  type CryptoSuite,
  FiscoError,
  fiscoReceiptEvidenceVerifier,
  fiscoReceiptHash,
  messageId,
  messageSentTopic,
  publicKeyOf,
  sm3,
  suiteHash,
  toHex,
  verifyFiscoMerkleProof,
} from "@shandu/proofs";
import { encodeBytes32String, Interface } from "ethers";
import { FiscoAdapter, fiscoAdapterModule } from "../adapter.ts";
import { buildFiscoReceiptEvidence } from "../evidence.ts";
import { FiscoRpcClient, flatProof } from "../rpc.ts";
import { FiscoTransactionError } from "../status.ts";
import { decodeTransactionV3, encodeTransactionV3 } from "../transaction.ts";
import { type FiscoTestServer, startFiscoTestServer } from "./fiscoTestServer.ts";

const SOURCE = 86021n;
const DESTINATION = 86755n;
const sealerKeys = [1, 2, 3, 4].map((k) => sm3(Uint8Array.of(k, 77)));
const userKey = sm3(Uint8Array.of(9, 1));
const outboxArtifact = loadArtifact("ShanduOutbox");
const outboxAbi = new Interface(outboxArtifact.abi as never);
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/^0x/, ""), "hex"));
const sendCall = (destination: bigint, payload: string) =>
  bytes(outboxAbi.encodeFunctionData("send", [destination, "0x1234", toHex(new TextEncoder().encode(payload))]));

/**
 * The outbox's creation code for `suite` with its constructor arguments. An SM chain's compiler hashes
 * event signatures with SM3, so for "sm" the `MessageSent` topic baked into the code is swapped for its
 * SM3 form (the EVM itself stays anvil's: see the server's module docs).
 */
function outboxCode(suite: CryptoSuite, governor: Uint8Array): Uint8Array {
  let code = outboxArtifact.bytecode.slice(2);
  if (suite === "sm") {
    const keccakTopic = toHex(messageSentTopic("ecdsa")).slice(2);
    assert.equal(code.split(keccakTopic).length, 2, "the topic appears once in the outbox code");
    code = code.replace(keccakTopic, toHex(messageSentTopic("sm")).slice(2));
  }
  return bytes(code + outboxAbi.encodeDeploy([SOURCE, toHex(governor)]).slice(2));
}

let anvil: AnvilNode;
before(async () => {
  anvil = await startAnvil();
});
after(async () => {
  await anvil?.close();
});

const anvilState = async (who: Uint8Array) => ({
  block: await anvil.provider.getBlockNumber(),
  balance: await anvil.provider.getBalance(toHex(who)),
});

for (const suite of ["ecdsa", "sm"] as const) {
  test(`${suite}: a TARS-deployed outbox's messages are watched and their evidence verifies with the sealers pinned`, async () => {
    const server = await startFiscoTestServer({ suite, sealerKeys, signers: [0, 2, 3], anvilUrl: anvil.rpcUrl });
    const client = new FiscoRpcClient({ url: server.url, group: "group0" });
    try {
      const user = addressOf(suite, publicKeyOf(suite, userKey));
      const deployed = await client.sendTransaction(server.transaction({ secretKey: userKey, input: outboxCode(suite, user) }), {
        requireProof: true,
      });
      assert.equal(deployed.data.status, 0);
      assert.match(deployed.data.contractAddress, /^[0-9a-f]{40}$/, "stored without 0x, in lower case");
      assert.deepEqual(fiscoReceiptHash(suite, deployed.data), deployed.hash);
      const header = await client.getBlockHeader(deployed.data.blockNumber);
      verifyFiscoMerkleProof(flatProof(deployed.receiptProof, deployed.hash, suite), deployed.hash, header.data.receiptRoot, (d) =>
        suiteHash(suite, d),
      );
      const outbox = bytes(deployed.data.contractAddress);
      assert.ok((await client.getCode(outbox)).length > 0, "the code is on anvil");
      assert.equal((await client.getCode(new Uint8Array(20).fill(7))).length, 0);

      const sent = [];
      for (const payload of ["charity donation 1", "low-carbon trip 2"]) {
        sent.push(
          await client.sendTransaction(server.transaction({ secretKey: userKey, to: outbox, input: sendCall(DESTINATION, payload) })),
        );
      }
      assert.deepEqual(
        sent.map((r) => r.data.status),
        [0, 0],
      );
      const nextNonce = await client.call(outbox, bytes(outboxAbi.encodeFunctionData("nextNonce", [DESTINATION])));
      assert.equal(BigInt(toHex(nextNonce)), 2n);

      // The node's view of a transaction: the recovered sender, and a proof under txsRoot.
      const tx = await client.getTransaction(sent[0]!.transactionHash, true);
      assert.deepEqual(tx?.from, user);
      const h1 = await client.getBlockHeader(sent[0]!.data.blockNumber);
      verifyFiscoMerkleProof(flatProof(tx!.transactionProof, tx!.hash, suite), tx!.hash, h1.data.txsRoot, (d) => suiteHash(suite, d));

      // Blocks with whole transactions, block hashes and the sealer list, in the node's shapes.
      const full = (await client.request("getBlockByNumber", [1, false, false])) as { transactions: { hash: string; from: string }[] };
      assert.deepEqual(
        full.transactions.map((t) => [t.hash, t.from]),
        [[toHex(deployed.transactionHash), toHex(user)]],
      );
      assert.equal(await client.request("getBlockHashByNumber", [1]), toHex(header.dataHash));
      const sealerList = (await client.request("getSealerList")) as { nodeID: string; weight: number }[];
      assert.deepEqual(
        sealerList.map((s) => `0x${s.nodeID}`),
        server.sealers.map((s) => toHex(s)),
      );
      assert.equal(server.block(1n)?.anvilBlockNumber, BigInt(await anvil.provider.getBlockNumber()) - 2n);

      const adapter = new FiscoAdapter(
        fiscoAdapterModule.parseConfig({
          kind: "fisco-bcos",
          chainId: SOURCE.toString(),
          rpcUrl: server.url,
          suite,
          outbox: toHex(outbox),
          sealers: server.sealers.map((s) => toHex(s)),
          pollIntervalMs: 20,
        }),
      );
      try {
        const items: WatchItem[] = [];
        const stop = AbortSignal.timeout(10_000);
        for await (const item of adapter.watch(startCursor(), { signal: stop })) {
          items.push(item);
          if (items.length === 2) break;
        }
        assert.equal(items.length, 2);
        const verifier = fiscoReceiptEvidenceVerifier({
          sealers: { [SOURCE.toString()]: { suite, nodeIds: server.sealers.map((s) => toHex(s)) } },
          outboxes: { [SOURCE.toString()]: toHex(outbox) },
        });
        for (const [i, item] of items.entries()) {
          const m = item.message;
          assert.deepEqual(m.source.txHash, sent[i]!.transactionHash);
          assert.deepEqual(m.sender, user, "msg.sender on anvil is the FISCO sender");
          assert.equal(m.nonce, BigInt(i));
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
          assert.match(verifier.verify(evidence, ctx), /quorum of the 4 pinned sealers/);
        }
      } finally {
        await adapter.close();
      }
    } finally {
      await server.close();
    }
  });

  test(`${suite}: refused transactions get FISCO's codes and leave anvil untouched; reverts carry their data`, async () => {
    const server = await startFiscoTestServer({ suite, sealerKeys, anvilUrl: anvil.rpcUrl });
    const client = new FiscoRpcClient({ url: server.url, group: "group0" });
    try {
      const stranger = sm3(Uint8Array.of(9, 2, suite.length));
      const strangerAddress = addressOf(suite, publicKeyOf(suite, stranger));
      const code = async (tx: Uint8Array) => {
        try {
          await client.sendTransaction(tx);
          return "executed";
        } catch (e) {
          assert.ok(e instanceof FiscoTransactionError && e.code === "TX_REFUSED", String(e));
          return `${e.status} ${e.facts.message}`;
        }
      };
      const before = await anvilState(strangerAddress);
      const input = outboxCode(suite, strangerAddress);
      const signed = decodeTransactionV3(server.transaction({ secretKey: stranger, input }));
      // A signature that cannot be the signer's: r = 0 (ECDSA); SM2, a valid signature presenting another key.
      const forgedSignature = signed.signature.slice();
      if (suite === "ecdsa") forgedSignature.fill(0, 0, 32);
      else forgedSignature.set(publicKeyOf(suite, userKey), 64);
      assert.equal(await code(encodeTransactionV3({ ...signed, signature: forgedSignature })), "10008 InvalidSignature");
      assert.equal(await code(encodeTransactionV3({ ...signed, signature: signed.signature.subarray(0, 30) })), "10008 InvalidSignature");
      // A field changed after signing no longer hashes to the carried hash: the RPC layer refuses it.
      assert.equal(
        await code(encodeTransactionV3({ ...signed, data: { ...signed.data, nonce: "1" } })),
        "-1 transaction hash mismatching, maybe transaction version not support.",
      );
      assert.equal(await code(server.transaction({ secretKey: stranger, input, chainId: "chain9" })), "-1 Chain ID mismatch!");
      assert.equal(await code(server.transaction({ secretKey: stranger, input, groupId: "group9" })), "10007 InvalidGroupId");
      const current = server.blockNumber();
      assert.equal(await code(server.transaction({ secretKey: stranger, input, blockLimit: current })), "10001 BlockLimitCheckFail");
      assert.equal(await code(server.transaction({ secretKey: stranger, input, blockLimit: current + 601n })), "10001 BlockLimitCheckFail");
      assert.deepEqual(await anvilState(strangerAddress), before, "nothing refused reached anvil");
      assert.equal(server.blockNumber(), current);

      // At the edge of the window the transaction is taken; the same nonce again is not.
      const valid = server.transaction({ secretKey: stranger, input, blockLimit: current + 600n, nonce: "42" });
      assert.equal(await code(valid), "executed");
      const afterOne = await anvilState(strangerAddress);
      assert.equal(afterOne.block, before.block + 1);
      assert.equal(await code(valid), "10000 NonceCheckFail");
      assert.equal(await code(server.transaction({ secretKey: stranger, input, nonce: "42" })), "10000 NonceCheckFail");
      assert.deepEqual(await anvilState(strangerAddress), afterOne);
      const outbox = bytes(server.block(server.blockNumber())!.txs[0]!.receipt.contractAddress);

      // A revert is executed: it is on chain with status 16 and the revert data, as a call says too.
      const reverting = sendCall(SOURCE, "to itself");
      const reverted = await client.sendTransaction(server.transaction({ secretKey: stranger, to: outbox, input: reverting }));
      const expected = bytes(outboxAbi.encodeErrorResult("ShanduRejected", [encodeBytes32String("INVALID_DESTINATION")]));
      assert.equal(reverted.data.status, 16);
      assert.deepEqual(reverted.data.output, expected);
      assert.deepEqual(fiscoReceiptHash(suite, reverted.data), reverted.hash);
      assert.equal(reverted.data.blockNumber, current + 2n);
      const callError = await client.call(outbox, reverting).catch((e: unknown) => e);
      assert.ok(callError instanceof FiscoTransactionError && callError.code === "CALL_FAILED", String(callError));
      assert.equal(callError.status, 16);
      assert.deepEqual(callError.output, expected);

      // Too few seals: the next block's header fails the quorum when evidence is built.
      server.setSigners([0, 1]);
      const weak = await client.sendTransaction(server.transaction({ secretKey: stranger, to: outbox, input: sendCall(DESTINATION, "x") }));
      const e = await buildFiscoReceiptEvidence(client, {
        suite,
        txHash: weak.transactionHash,
        outbox,
        trustedSealers: server.sealers,
      }).catch((x: unknown) => x);
      assert.ok(e instanceof FiscoError && e.code === "SEALER_QUORUM_NOT_MET", String(e));
      assert.equal(await client.getTransactionReceipt(new Uint8Array(32), true), null);
      const wrongGroup = await new FiscoRpcClient({ url: server.url, group: "group9" }).getBlockNumber().catch((x: unknown) => x);
      assert.ok(wrongGroup instanceof FiscoError && wrongGroup.facts.code === -32000, String(wrongGroup));
    } finally {
      await server.close();
    }
  });
}

test("mutual TLS: a client with the chain CA's certificate is served, one without a certificate is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "shandu-fisco-tls-"));
  try {
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const pem = (name: string) => join(dir, name);
    const issue = (name: string, ...ext: string[]) => {
      openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
      const signer = name === "ca" ? [] : ["-CA", "ca.crt", "-CAkey", "ca.key"];
      openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        `${name}.key`,
        "-subj",
        `/CN=${name}`,
        "-days",
        "1",
        ...signer,
        ...ext,
        "-out",
        `${name}.crt`,
      );
    };
    issue("ca");
    const leaf = ["-addext", "basicConstraints=critical,CA:FALSE"];
    issue("node", ...leaf, "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "extendedKeyUsage=serverAuth");
    issue("sdk", ...leaf, "-addext", "extendedKeyUsage=clientAuth");
    // No anvil given: the server starts its own.
    const server: FiscoTestServer = await startFiscoTestServer({
      suite: "sm",
      sealerKeys,
      tls: {
        cert: readFileSync(pem("node.crt"), "utf8"),
        key: readFileSync(pem("node.key"), "utf8"),
        ca: readFileSync(pem("ca.crt"), "utf8"),
      },
    });
    try {
      assert.ok(server.anvil, "the server started its own anvil");
      assert.match(server.url, /^https:/);
      const client = new FiscoRpcClient({
        url: server.url,
        group: "group0",
        tls: { ca: pem("ca.crt"), cert: pem("sdk.crt"), key: readFileSync(pem("sdk.key"), "utf8") },
      });
      assert.equal(await client.getBlockNumber(), 0n);
      const anonymous = new FiscoRpcClient({ url: server.url, group: "group0", tls: { ca: pem("ca.crt") }, timeoutMs: 5000 });
      const refused = await anonymous.getBlockNumber().catch((e: unknown) => e);
      assert.ok(refused instanceof AdapterError && refused.code === "RPC_UNAVAILABLE", String(refused));
      assert.match(refused.shortMessage, /^TLS with the FISCO node failed/);
      assert.throws(
        () => new FiscoRpcClient({ url: server.url, group: "group0", tls: { cert: pem("sdk.crt") } }),
        (e: unknown) => e instanceof AdapterError && e.code === "INVALID_CONFIG",
      );
      assert.throws(
        () => new FiscoRpcClient({ url: server.url, group: "group0", tls: { ca: pem("missing.crt") } }),
        (e: unknown) => e instanceof AdapterError && e.code === "INVALID_CONFIG",
      );
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
