import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { checkpointers, connect, type Gateway, GatewayError, hash, signers } from "@hyperledger/fabric-gateway";
import { AdapterError, cursorFromJson, cursorToJson, startCursor, type WatchItem } from "@shandu/adapter-core";
import {
  type ChainId,
  encodeMessage,
  FABRIC_MESSAGE_EVENT,
  fabricEndorsementEvidenceVerifier,
  fabricTxHash,
  type Message,
  MessageKind,
  messageIdOfEncoding,
} from "@shandu/proofs";
import { FabricAdapter, fabricAdapterModule } from "./adapter.ts";
import { type ChaincodeRunner, type FabricTestIdentity, FabricTestPeer, fabricTestMsps } from "./testing/mod.ts";

const SOURCE = 7n as ChainId;
const DEST = 9n as ChainId;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Fields 1–8 of a message (its encoding without the 44 position bytes). */
function body(nonce: bigint): Uint8Array {
  const m: Message = {
    version: 1,
    sourceChainId: SOURCE,
    destinationChainId: DEST,
    nonce,
    kind: MessageKind.app,
    sender: new Uint8Array(32).fill(1),
    recipient: new Uint8Array(20).fill(2),
    payload: enc.encode(`deed ${nonce}`),
    source: { blockNumber: 0n, txHash: new Uint8Array(32), logIndex: 0 },
  };
  const e = encodeMessage(m);
  return e.slice(0, e.length - 44);
}

/**
 * A tiny outbox chaincode for the test peer: `send()` takes the next nonce from state and emits the
 * message body as `MessageSent`; `count()` reads the nonce; `refuse()` fails like a chaincode error.
 */
const outbox: ChaincodeRunner = (inv) => {
  const n = BigInt(dec.decode(inv.getState("nonce") ?? enc.encode("0")));
  switch (inv.fn) {
    case "send":
      return {
        status: 200,
        payload: enc.encode(n.toString()),
        event: { name: FABRIC_MESSAGE_EVENT, payload: body(n) },
        writes: [{ key: "nonce", value: enc.encode((n + 1n).toString()) }],
      };
    case "other":
      return { status: 200, payload: new Uint8Array(0), event: { name: "Other", payload: new Uint8Array(1) }, writes: [] };
    case "ShanduInbox:isDelivered":
      return { status: 200, payload: enc.encode(dec.decode(inv.args[1]) === "3" ? "true" : "false"), writes: [] };
    case "ShanduInbox:lane":
      return { status: 200, payload: enc.encode('{"next":"3","paused":true}'), writes: [] };
    case "count":
      return { status: 200, payload: enc.encode(n.toString()), writes: [] };
    default:
      return { status: 500, message: `LANE_PAUSED: no function ${inv.fn}`, payload: new Uint8Array(0), writes: [] };
  }
};

const { msps, rogue } = fabricTestMsps();
const org1 = msps[0]!;
const org2 = msps[1]!;

function gatewayFor(peer: FabricTestPeer, id: FabricTestIdentity, signWith = id.privateKey): { gw: Gateway; client: grpc.Client } {
  const client = new grpc.Client(peer.endpoint, grpc.credentials.createInsecure());
  const gw = connect({
    client,
    identity: { mspId: id.mspId, credentials: enc.encode(id.certificatePem) },
    signer: signers.newPrivateKeySigner(signWith),
    hash: hash.sha256,
  });
  return { gw, client };
}

describe("FabricTestPeer with the real fabric-gateway client", () => {
  let peer: FabricTestPeer;
  let gw: Gateway;
  let client: grpc.Client;

  before(async () => {
    peer = await FabricTestPeer.start({
      channel: "shandu",
      chaincodes: { shandu: outbox },
      endorsers: [org1.peer, org2.peer],
      msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
    });
    ({ gw, client } = gatewayFor(peer, org1.peer));
  });
  after(async () => {
    gw.close();
    client.close();
    await peer.close();
  });

  test("submit, commit status and evaluate", async () => {
    const contract = gw.getNetwork("shandu").getContract("shandu");
    const submitted = await contract.submitAsync("send");
    assert.equal(dec.decode(submitted.getResult()), "0");
    const status = await submitted.getStatus();
    assert.equal(status.successful, true);
    assert.equal(status.code, 0);
    assert.equal(status.blockNumber, 1n);
    assert.equal(dec.decode(await contract.evaluate("count")), "1");
  });

  test("a stale read is committed as MVCC_READ_CONFLICT and changes nothing", async () => {
    const contract = gw.getNetwork("shandu").getContract("shandu");
    const before = dec.decode(await contract.evaluate("count"));
    const a = await contract.newProposal("send").endorse();
    const b = await contract.newProposal("send").endorse();
    assert.equal((await (await a.submit()).getStatus()).code, 0);
    const sb = await (await b.submit()).getStatus();
    assert.equal(sb.code, 11);
    assert.equal(sb.successful, false);
    assert.equal(dec.decode(await contract.evaluate("count")), String(BigInt(before) + 1n));
  });

  test("a proposal signed by another key than the creator's is refused (ABORTED, with details)", async () => {
    const bad = gatewayFor(peer, org1.peer, org2.peer.privateKey);
    try {
      const contract = bad.gw.getNetwork("shandu").getContract("shandu");
      await assert.rejects(contract.submitTransaction("send"), (e: unknown) => {
        assert.ok(e instanceof GatewayError);
        assert.equal(e.code, grpc.status.ABORTED);
        assert.match(e.details[0]?.message ?? "", /access denied.*signature is not valid/);
        return true;
      });
      await assert.rejects(contract.evaluate("count"), (e: unknown) => e instanceof GatewayError && e.code === grpc.status.ABORTED);
    } finally {
      bad.gw.close();
      bad.client.close();
    }
  });

  test("a creator from an untrusted CA is refused", async () => {
    const bad = gatewayFor(peer, rogue.peer);
    try {
      await assert.rejects(bad.gw.getNetwork("shandu").getContract("shandu").evaluate("count"), (e: unknown) => {
        assert.ok(e instanceof GatewayError);
        assert.match(e.details[0]?.message ?? "", /not issued by a CA of Org1MSP/);
        return true;
      });
    } finally {
      bad.gw.close();
      bad.client.close();
    }
  });

  test("a chaincode refusal fails endorsement with the chaincode's message", async () => {
    const contract = gw.getNetwork("shandu").getContract("shandu");
    await assert.rejects(contract.submitTransaction("nope"), (e: unknown) => {
      assert.ok(e instanceof GatewayError);
      assert.equal(e.code, grpc.status.ABORTED);
      assert.match(e.details[0]?.message ?? "", /chaincode response 500, LANE_PAUSED: no function nope/);
      return true;
    });
  });

  test("chaincode events stream in order from a checkpoint and resume after a reconnect without gaps or repeats", async () => {
    const contract = gw.getNetwork("shandu").getContract("shandu");
    const start = peer.height;
    for (let i = 0; i < 3; i++) await contract.submitTransaction("send");
    const checkpointer = checkpointers.inMemory();
    const seen: string[] = [];
    {
      const c = gatewayFor(peer, org1.peer);
      const events = await c.gw.getNetwork("shandu").getChaincodeEvents("shandu", { startBlock: start });
      for await (const ev of events) {
        seen.push(ev.transactionId);
        await checkpointer.checkpointChaincodeEvent(ev);
        if (seen.length === 2) break;
      }
      events.close();
      c.gw.close();
      c.client.close();
    }
    await contract.submitTransaction("send");
    const c = gatewayFor(peer, org1.peer);
    const events = await c.gw.getNetwork("shandu").getChaincodeEvents("shandu", { checkpoint: checkpointer, startBlock: start });
    for await (const ev of events) {
      seen.push(ev.transactionId);
      if (seen.length === 4) break;
    }
    events.close();
    c.gw.close();
    c.client.close();
    const expected = [...peer.transactions.values()].filter((t) => t.blockNumber >= start).map((t) => t.txId);
    assert.deepEqual(seen, expected);
  });
});

describe("FabricTestPeer's Deliver service with the real fabric-gateway client", () => {
  let peer: FabricTestPeer;
  let gw: Gateway;
  let client: grpc.Client;

  before(async () => {
    peer = await FabricTestPeer.start({
      channel: "shandu",
      chaincodes: { shandu: outbox },
      endorsers: [org1.peer, org2.peer],
      msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
    });
    ({ gw, client } = gatewayFor(peer, org1.peer));
  });
  after(async () => {
    gw.close();
    client.close();
    await peer.close();
  });

  test("blocks stream from a start block, then new blocks as they are committed", async () => {
    const contract = gw.getNetwork("shandu").getContract("shandu");
    await contract.submitTransaction("send");
    await contract.submitTransaction("send");
    const blocks = await gw.getNetwork("shandu").getBlockEvents({ startBlock: 0n });
    const seen: bigint[] = [];
    const sending = (async () => {
      while (seen.length < 3) await new Promise((r) => setTimeout(r, 5));
      await contract.submitTransaction("other");
    })();
    for await (const block of blocks) {
      seen.push(BigInt(block.getHeader()!.getNumber()));
      assert.deepEqual(block.serializeBinary(), peer.blocks[Number(seen.at(-1))]!.serializeBinary());
      if (seen.length === 4) break;
    }
    blocks.close();
    await sending;
    assert.deepEqual(seen, [0n, 1n, 2n, 3n]);
  });

  test("filtered blocks carry each transaction's id, validation code and chaincode event without its payload", async () => {
    const contract = gw.getNetwork("shandu").getContract("shandu");
    const start = peer.height;
    const a = await contract.newProposal("send").endorse();
    const b = await contract.newProposal("send").endorse();
    await (await a.submit()).getStatus();
    await (await b.submit()).getStatus();
    const blocks = await gw.getNetwork("shandu").getFilteredBlockEvents({ startBlock: start });
    const got = [];
    for await (const fb of blocks) {
      assert.equal(fb.getChannelId(), "shandu");
      const [tx] = fb.getFilteredTransactionsList();
      const ev = tx!.getTransactionActions()!.getChaincodeActionsList()[0]!.getChaincodeEvent()!;
      got.push([
        BigInt(fb.getNumber()),
        tx!.getTxid(),
        tx!.getTxValidationCode(),
        ev.getChaincodeId(),
        ev.getEventName(),
        ev.getPayload_asU8().length,
      ]);
      if (got.length === 2) break;
    }
    blocks.close();
    assert.deepEqual(got, [
      [start, a.getTransactionId(), 0, "shandu", FABRIC_MESSAGE_EVENT, 0],
      [start + 1n, b.getTransactionId(), 11, "shandu", FABRIC_MESSAGE_EVENT, 0],
    ]);
  });

  test("a seek by a creator outside the channel's MSPs, or on another channel, is answered with a status", async () => {
    const bad = gatewayFor(peer, rogue.peer);
    try {
      const blocks = await bad.gw.getNetwork("shandu").getBlockEvents({ startBlock: 0n });
      await assert.rejects(
        (async () => {
          for await (const _ of blocks) assert.fail("no block for a forbidden creator");
        })(),
        /Unexpected status response: 403/,
      );
      const other = await gw.getNetwork("elsewhere").getFilteredBlockEvents({ startBlock: 0n });
      await assert.rejects(
        (async () => {
          for await (const _ of other) assert.fail("no block of an unknown channel");
        })(),
        /Unexpected status response: 404/,
      );
    } finally {
      bad.gw.close();
      bad.client.close();
    }
  });
});

describe("FabricAdapter against the test peer", () => {
  let peer: FabricTestPeer;
  let dir: string;
  let adapter: FabricAdapter;
  let config: ReturnType<typeof fabricAdapterModule.parseConfig>;

  before(async () => {
    peer = await FabricTestPeer.start({
      channel: "shandu",
      chaincodes: { shandu: outbox },
      endorsers: [org1.peer, org2.peer],
      msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
    });
    dir = await mkdtemp(join(tmpdir(), "shandu-fabric-"));
    await writeFile(join(dir, "cert.pem"), org1.peer.certificatePem);
    await writeFile(join(dir, "key.pem"), org1.peer.privateKey.export({ format: "pem", type: "pkcs8" }));
    config = fabricAdapterModule.parseConfig({
      kind: "fabric",
      chainId: SOURCE.toString(),
      peerEndpoint: peer.endpoint,
      channel: "shandu",
      chaincode: "shandu",
      mspId: "Org1MSP",
      certFile: join(dir, "cert.pem"),
      keyFile: join(dir, "key.pem"),
    });
    adapter = (await fabricAdapterModule.create(config, { bls: undefined as never })) as FabricAdapter;
  });
  after(async () => {
    await adapter.close();
    await peer.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the config schema refuses a bad endpoint and an unknown field", () => {
    assert.throws(
      () => fabricAdapterModule.parseConfig({ ...config, peerEndpoint: "nope" }),
      (e: unknown) => e instanceof AdapterError && e.code === "INVALID_CONFIG",
    );
    assert.throws(
      () => fabricAdapterModule.parseConfig({ kind: "fabric", extra: 1 }),
      (e: unknown) => e instanceof AdapterError && e.code === "INVALID_CONFIG",
    );
  });

  test("watch yields the outbox's messages with their Fabric positions, resumes after a cursor, and its evidence verifies", async () => {
    // Send three messages and one unrelated event through the real client.
    const { gw, client } = gatewayFor(peer, org1.peer);
    const cc = gw.getNetwork("shandu").getContract("shandu");
    await cc.submitTransaction("send");
    await cc.submitTransaction("other");
    await cc.submitTransaction("send");
    await cc.submitTransaction("send");
    gw.close();
    client.close();

    const items = [];
    const finalized: bigint[] = [];
    const ac = new AbortController();
    for await (const item of adapter.watch(startCursor(0n), { signal: ac.signal, onFinalized: (b) => finalized.push(b) })) {
      items.push(item);
      if (items.length === 3) ac.abort();
    }
    assert.deepEqual(
      items.map((i) => i.message.nonce),
      [0n, 1n, 2n],
    );
    const sends = [...peer.transactions.values()].filter((t) => t.event?.getEventName() === FABRIC_MESSAGE_EVENT);
    for (const [k, item] of items.entries()) {
      assert.equal(item.message.source.blockNumber, sends[k]!.blockNumber);
      assert.deepEqual(item.message.source.txHash, fabricTxHash(sends[k]!.txId));
      assert.equal(item.message.source.logIndex, 0);
      assert.deepEqual(item.id, messageIdOfEncoding(encodeMessage(item.message)));
      assert.deepEqual(item.cursor, { blockNumber: sends[k]!.blockNumber, eventIndex: 0, blockHash: null });
    }
    assert.ok(finalized.length >= 2 && finalized.every((b, i) => i === 0 || b >= finalized[i - 1]!));

    // Resume strictly after the second item.
    const resumed = [];
    const ac2 = new AbortController();
    for await (const item of adapter.watch(items[1]!.cursor, { signal: ac2.signal })) {
      resumed.push(item);
      ac2.abort();
    }
    assert.deepEqual(
      resumed.map((i) => i.message.nonce),
      [2n],
    );

    // A new adapter (a restarted attester) resumes from the persisted cursor and waits for new messages.
    const restarted = (await fabricAdapterModule.create(config, { bls: undefined as never })) as FabricAdapter;
    try {
      const cursor = cursorFromJson(JSON.parse(JSON.stringify(cursorToJson(items[2]!.cursor))));
      const live = [];
      const ac3 = new AbortController();
      const sending = (async () => {
        const c = gatewayFor(peer, org1.peer);
        await c.gw.getNetwork("shandu").getContract("shandu").submitTransaction("send");
        c.gw.close();
        c.client.close();
      })();
      for await (const item of restarted.watch(cursor, { signal: ac3.signal })) {
        live.push(item);
        ac3.abort();
      }
      await sending;
      assert.deepEqual(
        live.map((i) => i.message.nonce),
        [3n],
      );
    } finally {
      await restarted.close();
    }

    // The endorsements the test peer made pass the fabric-endorsement verifier.
    const verifier = fabricEndorsementEvidenceVerifier({
      msps: Object.fromEntries(msps.map((m) => [m.mspId, [m.caPem]])),
      policy: { outOf: 2, rules: [{ signedBy: "Org1MSP" }, { signedBy: "Org2MSP" }] },
      channel: "shandu",
      chaincode: "shandu",
    });
    for (const item of items) {
      const evidence = await adapter.sourceEvidence(item.message);
      const detail = verifier.verify(evidence, { message: item.message, messageId: item.id, batch: undefined as never });
      assert.match(String(detail), /endorsed by 2 identities of Org1MSP, Org2MSP/);
    }
    // Evidence for a message at another position is refused.
    const moved = { ...items[0]!.message, source: { ...items[0]!.message.source, blockNumber: 99n } };
    const unknownTx = { ...items[0]!.message, source: { ...items[0]!.message.source, txHash: new Uint8Array(32).fill(0xee) } };
    await assert.rejects(adapter.sourceEvidence(unknownTx), (e: unknown) => e instanceof AdapterError && e.code === "MESSAGE_NOT_FOUND");
    await assert.rejects(adapter.sourceEvidence(moved), (e: unknown) => e instanceof AdapterError && e.code === "MESSAGE_NOT_FOUND");
  });

  test("watch reports every committed block final while no message comes, and skips the events of invalid transactions", async () => {
    const { gw, client } = gatewayFor(peer, org1.peer);
    try {
      const cc = gw.getNetwork("shandu").getContract("shandu");
      const count = BigInt(new TextDecoder().decode(await cc.evaluate("count")));
      // Two sends endorsed on the same state: the second commits as MVCC_READ_CONFLICT, its event never happened.
      const a = await cc.newProposal("send").endorse();
      const b = await cc.newProposal("send").endorse();
      await (await a.submit()).getStatus();
      assert.equal((await (await b.submit()).getStatus()).code, 11);
      const from = { blockNumber: peer.height - 2n, eventIndex: -1, blockHash: null };
      const finalized: bigint[] = [];
      const items: WatchItem[] = [];
      const ac = new AbortController();
      const watching = (async () => {
        for await (const item of adapter.watch(from, { signal: ac.signal, onFinalized: (n) => finalized.push(n) })) items.push(item);
      })();
      // Caught up: the last block is final although it holds no message.
      const last = peer.height - 1n;
      while (!finalized.includes(last)) await new Promise((r) => setTimeout(r, 5));
      // A block without any chaincode event is reported too.
      await cc.submitTransaction("count");
      while (!finalized.includes(last + 1n)) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      await watching;
      assert.deepEqual(
        items.map((i) => i.message.nonce),
        [count],
      );
      assert.deepEqual(finalized, [from.blockNumber, from.blockNumber + 1n, from.blockNumber + 2n]);
    } finally {
      gw.close();
      client.close();
    }
  });

  test("deliveryStatus evaluates the inbox; a lane ending elsewhere is WRONG_LANE", async () => {
    const lane = { sourceChainId: DEST, destinationChainId: SOURCE };
    assert.deepEqual(await adapter.deliveryStatus(lane, 3n), { status: "delivered", lanePaused: true });
    assert.deepEqual(await adapter.deliveryStatus(lane, 4n), { status: "not-delivered", lanePaused: true });
    await assert.rejects(
      adapter.deliveryStatus({ sourceChainId: SOURCE, destinationChainId: DEST }, 0n),
      (e: unknown) => e instanceof AdapterError && e.code === "WRONG_LANE",
    );
    await assert.rejects(adapter.destinationEvidence(lane, 3n), (e: unknown) => e instanceof AdapterError && e.code === "UNSUPPORTED");
  });

  test("the client identity can come from an MSP directory (signcerts/ and keystore/), checked for exactly one of each", async () => {
    const msp = join(dir, "msp");
    await mkdir(join(msp, "signcerts"), { recursive: true });
    await mkdir(join(msp, "keystore"), { recursive: true });
    await writeFile(join(msp, "signcerts", "peer0-cert.pem"), org1.peer.certificatePem);
    await writeFile(join(msp, "keystore", "priv_sk"), org1.peer.privateKey.export({ format: "pem", type: "pkcs8" }));
    const { certFile: _c, keyFile: _k, ...rest } = config;
    const fromMsp = fabricAdapterModule.parseConfig({ ...rest, chainId: SOURCE.toString(), mspDir: msp });
    const a = (await fabricAdapterModule.create(fromMsp, { bls: undefined as never })) as FabricAdapter;
    try {
      assert.deepEqual(
        await a.deliveryStatus({ sourceChainId: DEST, destinationChainId: SOURCE }, 0n),
        await adapter.deliveryStatus({ sourceChainId: DEST, destinationChainId: SOURCE }, 0n),
      );
    } finally {
      await a.close();
    }
    // Two keys to choose from: refused, naming the folder.
    await writeFile(join(msp, "keystore", "other_sk"), "x");
    await assert.rejects(
      fabricAdapterModule.create(fromMsp, { bls: undefined as never }),
      (e: unknown) => e instanceof AdapterError && e.code === "INVALID_CONFIG" && e.facts.path === "mspDir/keystore",
    );
    // Both forms at once, or neither: refused by the schema.
    assert.throws(
      () => fabricAdapterModule.parseConfig({ ...rest, chainId: SOURCE.toString(), mspDir: msp, certFile: "c.pem", keyFile: "k.pem" }),
      AdapterError,
    );
    assert.throws(() => fabricAdapterModule.parseConfig({ ...rest, chainId: SOURCE.toString() }), AdapterError);
  });

  test("after close every call throws CLOSED", async () => {
    const other = (await fabricAdapterModule.create(config, { bls: undefined as never })) as FabricAdapter;
    await other.close();
    await assert.rejects(
      other.deliveryStatus({ sourceChainId: DEST, destinationChainId: SOURCE }, 0n),
      (e: unknown) => e instanceof AdapterError && e.code === "CLOSED",
    );
  });

  test("the signing key in the key file must be a PEM key", () => {
    assert.throws(
      () => new FabricAdapter(config, { cert: enc.encode(org1.peer.certificatePem), key: enc.encode("not a key") }),
      (e: unknown) => e instanceof AdapterError && e.code === "INVALID_CONFIG",
    );
    assert.ok(createPrivateKey(org1.peer.privateKey.export({ format: "pem", type: "pkcs8" })));
  });
});
