/**
 * Receipt evidence built from a real anvil node (prague) and checked by the offline verifier of
 * `@shandu/proofs`: messages sent by the real `ShanduOutbox` from legacy, EIP-2930 and EIP-1559
 * transactions sharing one block, several messages in one receipt, and a block of 130 transactions,
 * whose tries have branch and extension nodes.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import { AdapterError } from "@shandu/adapter-core";
import {
  concatBytes,
  decodeMessage,
  type Evidence,
  EvidenceError,
  type EvidenceVerifier,
  evmReceiptEvidenceVerifier,
  fromHex,
  type Message,
  messageId,
  type RlpItem,
  rlpDecode,
  toHex,
} from "@shandu/proofs";
import { ContractFactory, Interface, type JsonRpcProvider, type TransactionRequest, type Wallet } from "ethers";
import { buildReceiptEvidence } from "./evidence.ts";
import { type AnvilNode, deployContract, startAnvil } from "./testing/mod.ts";

const SHANDU_CHAIN = 1001n;
const DESTINATION = 2002n;
const GWEI = 1_000_000_000n;

/** Sends several outbox messages from one transaction, after an unrelated log. */
const MULTI_SENDER = `
// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;
interface IOutbox { function send(uint64 destinationChainId, bytes calldata recipient, bytes calldata payload) external returns (uint64); }
contract MultiSender {
    event Noise(uint256 indexed count, bytes recipient);
    function sendMany(address outbox, uint64 destination, bytes calldata recipient, bytes[] calldata payloads) external {
        emit Noise(payloads.length, recipient);
        for (uint256 i = 0; i < payloads.length; i++) IOutbox(outbox).send(destination, recipient, payloads[i]);
    }
}`;

/** The test contract, compiled with the solc the contracts are built with (the outbox comes from the artifact). */
function compileMultiSender(): { abi: object[]; bytecode: string } {
  const solc = createRequire(import.meta.url)("solc") as { compile(input: string): string };
  const input = {
    language: "Solidity",
    sources: { "MultiSender.sol": { content: MULTI_SENDER } },
    settings: { evmVersion: "prague", outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  assert.deepEqual(
    (out.errors ?? []).filter((e: { severity: string }) => e.severity === "error"),
    [],
  );
  const c = out.contracts["MultiSender.sol"].MultiSender;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

/** Kinds of trie node among a proof's nodes, inline nodes included. */
function nodeKinds(proof: string[]): Set<string> {
  const kinds = new Set<string>();
  const visit = (n: RlpItem) => {
    if (!Array.isArray(n)) return;
    if (n.length === 17) {
      kinds.add("branch");
      n.forEach(visit);
    } else if (n.length === 2) {
      kinds.add((n[0] as Uint8Array)[0]! >> 4 >= 2 ? "leaf" : "extension");
      visit(n[1]!);
    }
  };
  for (const p of proof) visit(rlpDecode(fromHex(p)));
  return kinds;
}

const flipHex = (hex: string, byte: number): string => {
  const b = fromHex(hex);
  b[byte] = b[byte]! ^ 1;
  return toHex(b);
};

describe("EVM receipt evidence from anvil (prague)", () => {
  let node: AnvilNode;
  let provider: JsonRpcProvider;
  let wallets: Wallet[];
  let outboxAddress: string;
  let multiAddress: string;
  let outboxIface: Interface;
  let multiIface: Interface;
  let chainId: bigint;
  let verifier: EvidenceVerifier;
  const nonces = new Map<string, number>();

  before(async () => {
    node = await startAnvil({ hardfork: "prague" });
    provider = node.provider;
    chainId = BigInt(node.chainId);
    wallets = node.accounts.map((_, i) => node.wallet(i));
    const deployer = wallets[0]!;
    const outbox = await deployContract(deployer, "ShanduOutbox", [SHANDU_CHAIN, deployer.address]);
    outboxAddress = await outbox.getAddress();
    outboxIface = outbox.interface;
    const art = compileMultiSender();
    multiIface = new Interface(art.abi);
    const multi = await new ContractFactory(art.abi, art.bytecode, deployer).deploy();
    await multi.waitForDeployment();
    multiAddress = await multi.getAddress();
    for (const w of wallets) nonces.set(w.address, await provider.getTransactionCount(w.address, "latest"));
    verifier = evmReceiptEvidenceVerifier({ outboxes: { [SHANDU_CHAIN.toString()]: outboxAddress } });
  });

  after(async () => {
    await node?.close();
  });

  /** Signs and submits a transaction (not mined while automine is off); returns its hash. */
  async function submit(w: Wallet, tx: TransactionRequest): Promise<string> {
    const nonce = nonces.get(w.address)!;
    nonces.set(w.address, nonce + 1);
    const fees: TransactionRequest = tx.type === 2 ? { maxFeePerGas: 20n * GWEI, maxPriorityFeePerGas: GWEI } : { gasPrice: 20n * GWEI };
    const raw = await w.signTransaction({ chainId, nonce, gasLimit: 1_000_000n, value: 0n, ...fees, ...tx });
    return provider.send("eth_sendRawTransaction", [raw]);
  }

  const sendCall = (payload: Uint8Array) =>
    outboxIface.encodeFunctionData("send", [DESTINATION, toHex(new Uint8Array(20).fill(0xb2)), toHex(payload)]);

  /** Everything submitted so far goes into one new block. */
  async function mineOneBlock(submitAll: () => Promise<string[]>): Promise<string[]> {
    await provider.send("evm_setAutomine", [false]);
    let hashes: string[];
    try {
      hashes = await submitAll();
      await provider.send("evm_mine", []);
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
    return hashes;
  }

  /** The messages a transaction's receipt holds: (message, its log index in the receipt). */
  async function messagesOf(txHash: string): Promise<{ message: Message; logIndex: number }[]> {
    const receipt = await provider.send("eth_getTransactionReceipt", [txHash]);
    const out: { message: Message; logIndex: number }[] = [];
    (receipt.logs as { address: string; topics: string[]; data: string }[]).forEach((log, logIndex) => {
      if (log.address.toLowerCase() !== outboxAddress.toLowerCase()) return;
      const body = fromHex(outboxIface.parseLog(log)!.args.body as string);
      const position = new Uint8Array(44);
      const view = new DataView(position.buffer);
      view.setBigUint64(0, BigInt(receipt.blockNumber));
      position.set(fromHex(txHash), 8);
      view.setUint32(40, logIndex);
      out.push({ message: decodeMessage(concatBytes(body, position)), logIndex });
    });
    return out;
  }

  const check = (evidence: Evidence, message: Message) =>
    verifier.verify(evidence, {
      message,
      messageId: messageId(message),
      batch: {
        sourceChainId: SHANDU_CHAIN,
        destinationChainId: DESTINATION,
        firstNonce: message.nonce,
        lastNonce: message.nonce,
        root: new Uint8Array(32),
      },
    });
  const codeOf = (evidence: Evidence, message: Message): string => {
    try {
      check(evidence, message);
    } catch (e) {
      if (e instanceof EvidenceError) return e.code;
      throw e;
    }
    return "passed";
  };

  it("proves messages from legacy, EIP-2930 and EIP-1559 transactions in one block, several per receipt", async () => {
    const [a, b, c, d] = wallets.slice(1, 5) as [Wallet, Wallet, Wallet, Wallet];
    const hashes = await mineOneBlock(async () => [
      await submit(a, { type: 0, to: outboxAddress, data: sendCall(Uint8Array.of(1)) }),
      await submit(d, { type: 2, to: wallets[9]!.address, value: 1n }),
      await submit(b, {
        type: 1,
        to: outboxAddress,
        data: sendCall(Uint8Array.of(2)),
        accessList: [{ address: outboxAddress, storageKeys: [] }],
      }),
      await submit(c, {
        type: 2,
        to: multiAddress,
        data: multiIface.encodeFunctionData("sendMany", [
          outboxAddress,
          DESTINATION,
          toHex(new Uint8Array(20).fill(0xb2)),
          [toHex(Uint8Array.of(3)), toHex(new Uint8Array(300).fill(4)), "0x"],
        ]),
      }),
    ]);
    const receipts = await Promise.all(hashes.map((h) => provider.send("eth_getTransactionReceipt", [h])));
    assert.equal(new Set(receipts.map((r) => r.blockHash)).size, 1, "all in one block");
    assert.deepEqual(receipts.map((r) => Number(r.type)).sort(), [0, 1, 2, 2]);
    assert.ok(receipts.every((r) => r.status === "0x1"));

    let proven = 0;
    for (const txHash of hashes) {
      for (const { message, logIndex } of await messagesOf(txHash)) {
        const evidence = await buildReceiptEvidence(provider, { txHash, logIndexInReceipt: logIndex, outbox: outboxAddress });
        assert.match(
          check(evidence, message),
          new RegExp(`^receipt proven in block ${receipts[0].blockHash} #\\d+ .*log ${logIndex} from the pinned outbox`),
        );
        assert.equal(evidence.chainId, chainId.toString());
        proven++;
      }
    }
    assert.equal(proven, 5);

    // the multi-message receipt: Noise, then three MessageSent
    const multi = hashes[3]!;
    const [first, second] = (await messagesOf(multi)) as [{ message: Message; logIndex: number }, { message: Message; logIndex: number }];
    assert.deepEqual([first.logIndex, second.logIndex], [1, 2]);
    const evidence = await buildReceiptEvidence(provider, { txHash: multi, logIndexInReceipt: 1, outbox: outboxAddress });
    // the same evidence proves every log of the receipt, but each only at its own index
    assert.match(check(evidence, second.message), /log 2 from the pinned outbox/);
    assert.equal(codeOf(evidence, { ...second.message, source: { ...second.message.source, logIndex: 1 } }), "MESSAGE_MISMATCH");
    assert.equal(codeOf(evidence, { ...first.message, source: { ...first.message.source, logIndex: 0 } }), "LOG_MISMATCH");
    assert.equal(codeOf(evidence, { ...first.message, source: { ...first.message.source, logIndex: 4 } }), "LOG_NOT_FOUND");
    assert.equal(
      codeOf(evidence, { ...first.message, source: { ...first.message.source, txHash: fromHex(hashes[0]!) } }),
      "TX_HASH_MISMATCH",
    );
    assert.equal(codeOf(evidence, { ...first.message, payload: Uint8Array.of(9) }), "MESSAGE_MISMATCH");
    const e = evidence as Record<string, string | string[] | number>;
    const tampered: [string, Record<string, unknown>, string][] = [
      ["header", { header: flipHex(e.header as string, 100) }, "HEADER_HASH_MISMATCH"],
      ["blockHash", { blockHash: flipHex(e.blockHash as string, 0) }, "HEADER_HASH_MISMATCH"],
      ["transaction", { transaction: flipHex(e.transaction as string, 3) }, "TRIE_VALUE_MISMATCH"],
      ["receipt", { receipt: flipHex(e.receipt as string, 3) }, "TRIE_VALUE_MISMATCH"],
      ["receiptProof", { receiptProof: (e.receiptProof as string[]).map((p, i) => (i === 0 ? flipHex(p, 5) : p)) }, "TRIE_PROOF_INVALID"],
      [
        "transactionProof",
        { transactionProof: [...(e.transactionProof as string[]), (e.transactionProof as string[])[0]] },
        "TRIE_PROOF_INVALID",
      ],
      ["outbox", { outbox: flipHex(e.outbox as string, 19) }, "OUTBOX_MISMATCH"],
      ["chainId", { chainId: "1" }, "CHAIN_ID_MISMATCH"],
    ];
    for (const [name, patch, code] of tampered) assert.equal(codeOf({ ...evidence, ...patch } as Evidence, first.message), code, name);
    // unpinned, another outbox is named in the detail; the log must still come from it
    const unpinned = evmReceiptEvidenceVerifier();
    const ctx = {
      message: first.message,
      messageId: messageId(first.message),
      batch: { sourceChainId: 0n, destinationChainId: 0n, firstNonce: 0n, lastNonce: 0n, root: new Uint8Array(32) },
    };
    assert.match(unpinned.verify(evidence, ctx), new RegExp(`outbox ${outboxAddress.toLowerCase()} \\(not pinned for chain 1001`));
  });

  it("refuses positions that hold no outbox message", async () => {
    const [hash] = await mineOneBlock(async () => [
      await submit(wallets[5]!, {
        type: 2,
        to: multiAddress,
        data: multiIface.encodeFunctionData("sendMany", [outboxAddress, DESTINATION, "0x", [toHex(Uint8Array.of(7))]]),
      }),
    ]);
    const build = (txHash: string, logIndexInReceipt: number) =>
      buildReceiptEvidence(provider, { txHash, logIndexInReceipt, outbox: outboxAddress });
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        assert.ok(e instanceof AdapterError, String(e));
        return e.code;
      }
      return "built";
    };
    assert.equal(await code(build(hash!, 0)), "MESSAGE_NOT_FOUND"); // the Noise log
    assert.equal(await code(build(hash!, 2)), "MESSAGE_NOT_FOUND");
    assert.equal(await code(build(toHex(new Uint8Array(32).fill(1)), 0)), "MESSAGE_NOT_FOUND");
    assert.equal(await code(build(hash!, 1)), "built");
    const aborted = new AbortController();
    aborted.abort();
    assert.equal(
      await code(buildReceiptEvidence(provider, { txHash: hash!, logIndexInReceipt: 1, outbox: outboxAddress, signal: aborted.signal })),
      "CANCELLED",
    );
  });

  it("proves positions in a block of 130 transactions, through branch and extension nodes", async () => {
    const senders = wallets.slice(1, 9);
    // every fourth transaction sends a message, and so do the last ten, so that messages sit at positions ≥ 128
    const sendsMessage = (i: number) => i % 4 === 0 || i >= 120;
    const hashes = await mineOneBlock(async () => {
      const out: string[] = [];
      for (let i = 0; i < 130; i++) {
        const w = senders[i % senders.length]!;
        const type = [0, 1, 2][i % 3]!;
        const tx: TransactionRequest = sendsMessage(i)
          ? { type, to: outboxAddress, data: sendCall(Uint8Array.of(i)) }
          : { type, to: wallets[9]!.address, value: BigInt(i + 1), gasLimit: 21_000n };
        out.push(await submit(w, tx));
      }
      return out;
    });
    const receipts = await Promise.all(hashes.map((h) => provider.send("eth_getTransactionReceipt", [h])));
    assert.equal(new Set(receipts.map((r) => r.blockHash)).size, 1, "all in one block");
    const block = await provider.send("eth_getBlockByHash", [receipts[0].blockHash, false]);
    assert.equal(block.transactions.length, 130);

    // evidence for a third of the messages and for every message at position 126 or later
    const messages = hashes
      .map((h, i) => ({ txHash: h, position: Number(receipts[i].transactionIndex) }))
      .filter((_, i) => sendsMessage(i));
    const chosen = messages.filter(({ position }, k) => k % 3 === 0 || position >= 126);
    const kinds = new Set<string>();
    for (const { txHash } of chosen) {
      const [{ message, logIndex }] = (await messagesOf(txHash)) as [{ message: Message; logIndex: number }];
      const evidence = await buildReceiptEvidence(provider, { txHash, logIndexInReceipt: logIndex, outbox: outboxAddress });
      assert.match(check(evidence, message), /^receipt proven in block/);
      for (const k of nodeKinds([...(evidence.receiptProof as string[]), ...(evidence.transactionProof as string[])])) kinds.add(k);
    }
    assert.ok(
      chosen.some(({ position }) => position >= 128),
      "a message at a position with a two-byte key",
    );
    // RLP(128) = 0x8180 and RLP(129) = 0x8181 share the nibbles 8, 1, 8: below the root branch, an extension
    assert.ok(kinds.has("branch") && kinds.has("extension") && kinds.has("leaf"), [...kinds].join(","));
  });
});
