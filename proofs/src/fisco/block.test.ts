/**
 * FISCO 3.x receipts and headers: round trips, hashes bound to every field, the receipt under the
 * header's receipt root, and the sealer quorum — forged signatures, a foreign sealer list, too few
 * signers and a carried hash that lies each fail with their code. (No official receipt/header vectors
 * exist for the current hashing scheme; these fixtures are built here, in both suites.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FiscoError } from "../errors.ts";
import {
  checkSealerQuorum,
  decodeFiscoHeader,
  decodeFiscoReceipt,
  encodeFiscoHeader,
  encodeFiscoReceipt,
  type FiscoHeader,
  type FiscoReceiptData,
  fiscoHeaderHash,
  fiscoReceiptHash,
} from "./block.ts";
import { type CryptoSuite, publicKeyOf, signHash, suiteHash } from "./crypto.ts";
import { fiscoMerkleProof, fiscoMerkleRoot, verifyFiscoMerkleProof } from "./merkle.ts";
import { sm3 } from "./sm3.ts";

const code = (f: () => unknown) => {
  try {
    f();
    return "passed";
  } catch (e) {
    assert.ok(e instanceof FiscoError, String(e));
    return e.code;
  }
};

function receipt(i: number): FiscoReceiptData {
  return {
    version: 0,
    gasUsed: String(21000 + i),
    contractAddress: "",
    status: 0,
    output: new Uint8Array(0),
    logs: [
      {
        address: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        topics: [sm3(Uint8Array.of(1)), sm3(Uint8Array.of(i))],
        data: Uint8Array.of(1, 2, 3, i),
      },
    ],
    blockNumber: 77n,
    effectiveGasPrice: "",
  };
}

function block(suite: CryptoSuite, signers: number[]) {
  const keys = [1, 2, 3, 4].map((k) => sm3(Uint8Array.of(k, suite === "sm" ? 1 : 0)));
  const sealers = keys.map((k) => publicKeyOf(suite, k));
  const receipts = [0, 1, 2].map(receipt);
  const hashes = receipts.map((r) => fiscoReceiptHash(suite, r));
  const hash = (d: Uint8Array) => suiteHash(suite, d);
  const header: FiscoHeader = {
    data: {
      version: 0,
      parents: [{ blockNumber: 76n, blockHash: sm3(Uint8Array.of(76)) }],
      txsRoot: sm3(Uint8Array.of(9)),
      receiptRoot: fiscoMerkleRoot(hashes, hash),
      stateRoot: sm3(Uint8Array.of(8)),
      blockNumber: 77n,
      gasUsed: "63000",
      timestamp: 1_790_000_000_000n,
      sealer: 1n,
      sealerList: sealers,
      extraData: new Uint8Array(0),
      consensusWeights: [1n, 1n, 1n, 1n],
    },
    dataHash: new Uint8Array(0),
    signatures: [],
  };
  const h = fiscoHeaderHash(suite, header.data);
  header.dataHash = h;
  header.signatures = signers.map((i) => ({ sealerIndex: BigInt(i), signature: signHash(suite, h, keys[i]!) }));
  return { header, sealers, receipts, hashes, hash, keys };
}

for (const suite of ["ecdsa", "sm"] as const) {
  test(`${suite}: receipts and headers round-trip, and the receipt proves under the receipt root`, () => {
    const { header, receipts, hashes, hash } = block(suite, [0, 1, 2]);
    const r = decodeFiscoReceipt(encodeFiscoReceipt(receipts[1]!, hashes[1]));
    assert.deepEqual(r.data, receipts[1]);
    assert.deepEqual(fiscoReceiptHash(suite, r.data), hashes[1]);
    const back = decodeFiscoHeader(encodeFiscoHeader(header));
    assert.deepEqual(back, header);
    verifyFiscoMerkleProof(fiscoMerkleProof(hashes, 1, hash), hashes[1]!, back.data.receiptRoot, hash);
    // Every field is in the hash.
    const changed = { ...receipts[1]!, logs: [{ ...receipts[1]!.logs[0]!, data: Uint8Array.of(9) }] };
    assert.notDeepEqual(fiscoReceiptHash(suite, changed), hashes[1]);
    assert.notDeepEqual(fiscoHeaderHash(suite, { ...header.data, timestamp: header.data.timestamp + 1n }), header.dataHash);
  });

  test(`${suite}: the sealer quorum — 3 of 4 pass; forged, foreign and too few fail`, () => {
    const { header, sealers, keys } = block(suite, [0, 1, 3]);
    assert.equal(
      code(() => checkSealerQuorum(suite, header, sealers)),
      "passed",
    );
    assert.equal(
      code(() => checkSealerQuorum(suite, block(suite, [0, 2]).header, sealers)),
      "SEALER_QUORUM_NOT_MET",
    );
    // A signature by a key that is not the sealer its index names.
    const forged = {
      ...header,
      signatures: [
        ...header.signatures.slice(0, 2),
        { sealerIndex: 3n, signature: signHash(suite, header.dataHash, sm3(Uint8Array.of(99))) },
      ],
    };
    assert.equal(
      code(() => checkSealerQuorum(suite, forged, sealers)),
      "SEALER_SIGNATURE_INVALID",
    );
    // The same sealer twice does not count twice.
    const twice = { ...header, signatures: [header.signatures[0]!, header.signatures[0]!, header.signatures[1]!] };
    assert.equal(
      code(() => checkSealerQuorum(suite, twice, sealers)),
      "SEALER_SIGNATURE_INVALID",
    );
    // A header sealed by a set the verifier does not trust, however well signed.
    const foreign = sealers.map((s, i) => (i === 2 ? publicKeyOf(suite, sm3(Uint8Array.of(42))) : s));
    assert.equal(
      code(() => checkSealerQuorum(suite, header, foreign)),
      "SEALER_LIST_MISMATCH",
    );
    // A carried hash that is not the fields' hash.
    const lying = { ...header, data: { ...header.data, receiptRoot: sm3(Uint8Array.of(0)) } };
    assert.equal(
      code(() => checkSealerQuorum(suite, lying, sealers)),
      "HASH_MISMATCH",
    );
    // Signatures over another header do not carry over.
    const other = { ...header, dataHash: new Uint8Array(0), data: { ...header.data, receiptRoot: sm3(Uint8Array.of(0)) } };
    assert.equal(
      code(() => checkSealerQuorum(suite, other, sealers)),
      "SEALER_SIGNATURE_INVALID",
    );
    assert.ok(keys.length === 4);
    // No sealers at all, or weights of zero, never make a quorum, even against an empty pinned list.
    const empty = { ...header, signatures: [], data: { ...header.data, sealerList: [], consensusWeights: [] } };
    assert.equal(
      code(() => checkSealerQuorum(suite, { ...empty, dataHash: fiscoHeaderHash(suite, empty.data) }, [])),
      "SEALER_QUORUM_NOT_MET",
    );
    const zero = { ...header, signatures: [], data: { ...header.data, consensusWeights: [0n, 0n, 0n, 0n] } };
    assert.equal(
      code(() => checkSealerQuorum(suite, { ...zero, dataHash: fiscoHeaderHash(suite, zero.data) }, sealers)),
      "SEALER_QUORUM_NOT_MET",
    );
  });
}
