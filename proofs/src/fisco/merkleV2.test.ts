import assert from "node:assert/strict";
import { test } from "node:test";
import { concatBytes, fromHex, toHex } from "../bytes.ts";
import { FiscoError } from "../errors.ts";
import { keccak256 } from "./crypto.ts";
import {
  type FiscoV2ProofLevel,
  type FiscoV2Receipt,
  fiscoV2MerkleLeaf,
  fiscoV2MerkleProof,
  fiscoV2MerkleRoot,
  fiscoV2ReceiptRlp,
  verifyFiscoV2MerkleProof,
  verifyFiscoV2ReceiptProof,
  verifyFiscoV2TransactionProof,
} from "./merkleV2.ts";
import { sm3 } from "./sm3.ts";

const h = (s: string) => fromHex(s.startsWith("0x") ? s : `0x${s}`);
const refused = (f: () => unknown) => assert.throws(f, (e) => e instanceof FiscoError && e.code === "MERKLE_PROOF_INVALID");

/**
 * Golden vector: the worked example of FISCO-BCOS-DOC `docs/design/merkle_proof.md` (release-2), a
 * `getTransactionByHashWithProof` answer for transaction 0x8ab2…6357 at index 0x8c of block 0x1b on a
 * 2.2.0 chain, with the hash of every level and the root taken from the block header. The page prints
 * the root with its last hex digit missing (63 digits); the three level hashes it prints in full.
 */
const DOC = {
  txHash: "0x8ab2b200320671cab4862312d834dcfa8b7d74e18a647e9fd4324076542a6357",
  index: 0x8c,
  leaf: "818c8ab2b200320671cab4862312d834dcfa8b7d74e18a647e9fd4324076542a6357",
  proof: [
    {
      left: [
        "81800be7f26ba151d7a4706808edad0ba42fe83b58531e9ee75011fef30d4e566118",
        "818105c837280e25ed26e3c185fe2c909f2aa021df122772b36af70ee5a9b3e45df0",
        "8182649e6b2420ef2ab08358931000ef0b5b4a58c7df898d49249cc25a1f8afef63a",
        "8183af3f8b5d63b3c98ea02ac0013a160dde06ffc1a4d0c3f7b16124d8e4e81cbabd",
        "81848355dfbb711717d4173e54d17f9ba23fe4f18558eee9806ae7a9b4cb3b28af79",
        "81858c894d870cdb930917006b6f11de907fd89cf1c825efc01e816f7c988792cce6",
        "8186d851bc330fa5e5122cce8a1b2315989baf78736f2a48115a303ed3b569421e32",
        "81875ac50f93440900a145119d9cd8aeab4dfbc5eff5fa2d5a826394fc244c822bfa",
        "81889912e677ebc796aead4bcdbd15f0fc70c1adfedf67ca8d147d3a7e1322d1b410",
        "8189138e33fb4e18bfd6a47940e8613cad120d34f7c8ca2901c02649290f092e6757",
        "818a6f9dfc50e3053c3858b2ffa26085cce5ff78480209a8cb84b38f28a4cc953732",
        "818b1f65fc5db96d74bbe2726b2ed94c074b6abd0e8cbd0b31d46d5f6b6b8a809a05",
      ],
      right: [
        "818de3a4d26bc038bc364bdebf4aaf80a21709d1fa2ac21d2da527fa7a70b8d6c89a",
        "818ee380f8ea824a989f5354ee3d169100c23baab390471183c0c28f9090373b64f6",
        "818f30d2fb70f7a2240403ac563b884aec7e7a4b9d0f35eeaadb790d5c28ba1667c4",
      ],
    },
    {
      left: [
        "54d76311eb6d04ef5050dc6b4d7123c19d480254697b1d4a3f4f1b40340e0211",
        "d2324309fab418afcd1464422b6f52fa9fb914d97c7723e7f2ff94bcfc2ccf6f",
        "48ce4d23e17cdda81df5a356419bd6ad96c621bb1bf23b80e46aeeee49d55264",
        "3c84f5bab45be8a8d0067c6000eede4e44d646b1148612d55264faf9aa4983ff",
        "4c8e80c9ca7e104325b8c31ca6644ccf075a4c950cae767c979284218b51807f",
        "25873a13a821be1d99d3d7dea1fe575f827a42641527d515ad69c39eb36dae72",
        "8ab68393bd9b08a631ecc124dc7b4ee6541e0599debf92506750d3846c071bcf",
        "d498097ddd1404b6f80e88cd4e84c13ec1d39b6482ffc7014d4b9b84d149b99a",
      ],
      right: [
        "63cd6c8c4f7c3e34711b23866aa1f1a25c121757804d1534d1f4ae2845a1f00b",
        "a1025cdf4b0fb375621a486929a5d63a7dd98a70c2c1455a38b75bada8c06d7b",
        "2d7322ebf4fe8c5088945888151825860f0f90b1e68bef2f8f2d7b8f60896574",
        "cda5f95b02c2fa12de2aa459f932a01095b41d3dbdad618d18ade4f5750c2f37",
        "8ec46dd6ef3d8784d598529df711a7e18ab4cdebbdc959220806afa779033761",
        "bb3379a814efb11f6f1c6472fd67e66725ac038e8563f019c7035a8097622ff9",
        "9311fb5c9ae432243c5096b29e3551781fe801e82035e2e350c2850246de70c0",
      ],
    },
    {
      left: [],
      right: [
        "1d462e3d09fb445e26408a525cda37660667001e4404ae187ff9a6b0960955a4",
        "19d97826e27d99129ccd3ab39cd4b6e6c508b568e9007761c13dc27ef4bc032c",
        "60e5b1c331d963a19b175a5d69cba14b792bbc5e089d06333c78fce738fcc7d4",
      ],
    },
    { left: [], right: [] },
  ],
  levelHashes: [
    "0xcd9a95abaf830b3aed4c9d5f6dc71d7802baf03c42bc55bcb647d93e614e4592",
    "0x1d77e6364520ebc619b3d9c7782428a0d45695f48baabad134b46dd65fcf1d39",
    "0xecbc0529c1961c18a0ea4381a235542c968af53ab682cd610b5a0bfedc22feef",
  ],
  printedRoot: "0xedf6863d1e53598e4d276854ce979155b299016bd61ef83160ab93a79a7b614",
};
const docProof: FiscoV2ProofLevel[] = DOC.proof.map((l) => ({ left: l.left.map(h), right: l.right.map(h) }));
const docRoot = h("0xedf6863d1e53598e4d276854ce979155b299016bd61ef83160ab93a79a7b6142");

test("golden: FISCO-BCOS-DOC merkle_proof.md — leaf, every level hash, and the header's root", () => {
  assert.deepEqual(fiscoV2MerkleLeaf(DOC.index, h(DOC.txHash)), h(DOC.leaf));
  // Each level hash, by proving it as the root's child: the proof up to that level, then the root's level.
  DOC.levelHashes.forEach((lh, k) => {
    const partial = [...docProof.slice(0, k + 1), { left: [], right: [] }];
    assert.equal(verifyFiscoV2MerkleProof(partial, h(DOC.leaf), keccak256(h(lh)), keccak256), DOC.index % 16 ** (k + 1));
  });
  assert.ok(toHex(docRoot).startsWith(DOC.printedRoot));
  assert.equal(verifyFiscoV2MerkleProof(docProof, h(DOC.leaf), docRoot, keccak256), DOC.index);
  verifyFiscoV2TransactionProof(h(DOC.txHash), DOC.index, docProof, docRoot, "ecdsa");
  // Another index, another hash, the other suite, a dropped level: refused.
  refused(() => verifyFiscoV2TransactionProof(h(DOC.txHash), 0x8b, docProof, docRoot, "ecdsa"));
  refused(() => verifyFiscoV2TransactionProof(keccak256(h(DOC.txHash)), DOC.index, docProof, docRoot, "ecdsa"));
  refused(() => verifyFiscoV2TransactionProof(h(DOC.txHash), DOC.index, docProof, docRoot, "sm"));
  refused(() => verifyFiscoV2MerkleProof(docProof.slice(0, -1), h(DOC.leaf), docRoot, keccak256));
});

test("the tree: groups of 16 hashed, the root is H(top) even for one leaf, an empty block's root is H('')", () => {
  const leaf = (i: number) => fiscoV2MerkleLeaf(i, keccak256(Uint8Array.of(i)));
  const one = leaf(0);
  assert.deepEqual(fiscoV2MerkleRoot([one], keccak256), keccak256(one));
  assert.deepEqual(fiscoV2MerkleProof([one], 0, keccak256), [{ left: [], right: [] }]);
  assert.deepEqual(fiscoV2MerkleRoot([], keccak256), keccak256(new Uint8Array(0)));
  const l17 = Array.from({ length: 17 }, (_, i) => leaf(i));
  const top = keccak256(concatBytes(keccak256(concatBytes(...l17.slice(0, 16))), keccak256(l17[16]!)));
  assert.deepEqual(fiscoV2MerkleRoot(l17, keccak256), keccak256(top));
  assert.equal(toHex(leaf(0).subarray(0, 1)), "0x80");
  assert.equal(toHex(leaf(200).subarray(0, 2)), "0x81c8");
});

test("every leaf of sizes 1..40, 255, 257 proves in both hashes; positions give the index; tampering fails", () => {
  for (const hash of [keccak256, sm3]) {
    for (const n of [...Array.from({ length: 40 }, (_, i) => i + 1), 255, 257]) {
      const leaves = Array.from({ length: n }, (_, i) => fiscoV2MerkleLeaf(i, hash(Uint8Array.of(i & 0xff, i >> 8))));
      const root = fiscoV2MerkleRoot(leaves, hash);
      for (let i = 0; i < n; i += n > 40 ? 17 : 1) {
        const p = fiscoV2MerkleProof(leaves, i, hash);
        assert.equal(verifyFiscoV2MerkleProof(p, leaves[i]!, root, hash), i);
        if (n > 1) refused(() => verifyFiscoV2MerkleProof(p, leaves[(i + 1) % n]!, root, hash));
      }
    }
  }
});

test("malformed proofs are refused: oversized groups, wrong sibling lengths, a last level with siblings", () => {
  const leaves = Array.from({ length: 20 }, (_, i) => fiscoV2MerkleLeaf(i, keccak256(Uint8Array.of(i))));
  const root = fiscoV2MerkleRoot(leaves, keccak256);
  const p = fiscoV2MerkleProof(leaves, 3, keccak256);
  const bad = (q: FiscoV2ProofLevel[]) => refused(() => verifyFiscoV2MerkleProof(q, leaves[3]!, root, keccak256));
  bad([{ left: [...p[0]!.left, leaves[0]!], right: p[0]!.right }, ...p.slice(1)]);
  bad([{ left: p[0]!.left.map(keccak256), right: p[0]!.right }, ...p.slice(1)]);
  bad([...p.slice(0, -1), { left: [root], right: [] }]);
  bad([]);
});

test("receipts: the RLP of 2.x fields, with remainGas only for 2.8+ chains; a receipt proof binds its fields", () => {
  const receipt = (i: number, status = 0n): FiscoV2Receipt => ({
    transactionIndex: i,
    stateRoot: new Uint8Array(32).fill(i),
    gasUsed: 21000n + BigInt(i),
    contractAddress: new Uint8Array(20),
    logsBloom: new Uint8Array(256),
    status,
    output: Uint8Array.of(i),
    remainGas: 5n,
    logs: [{ address: new Uint8Array(20).fill(1), topics: [keccak256(Uint8Array.of(i))], data: Uint8Array.of(1, 2) }],
  });
  // [root(32), 0x5208, addr(20), bloom(256), 0x80 (status 0), output, logs]: the list header is f9 01 xx.
  const enc = fiscoV2ReceiptRlp(receipt(0), false);
  assert.equal(toHex(enc.subarray(0, 1)), "0xf9");
  assert.equal(fiscoV2ReceiptRlp(receipt(0), true).length, enc.length + 1);
  for (const suite of ["ecdsa", "sm"] as const) {
    const hash = suite === "sm" ? sm3 : keccak256;
    for (const v28 of [false, true]) {
      const rs = Array.from({ length: 18 }, (_, i) => receipt(i, i === 5 ? 0x16n : 0n));
      const leaves = rs.map((r) => fiscoV2MerkleLeaf(r.transactionIndex, hash(fiscoV2ReceiptRlp(r, v28))));
      const root = fiscoV2MerkleRoot(leaves, hash);
      const p = fiscoV2MerkleProof(leaves, 5, hash);
      assert.equal(verifyFiscoV2ReceiptProof(rs[5]!, p, root, suite), v28 ? "v2.8" : "v2.0");
      refused(() => verifyFiscoV2ReceiptProof(rs[5]!, p, root, suite, v28 ? "v2.0" : "v2.8"));
      refused(() => verifyFiscoV2ReceiptProof({ ...rs[5]!, status: 0n }, p, root, suite));
      refused(() => verifyFiscoV2ReceiptProof({ ...rs[5]!, transactionIndex: 6 }, p, root, suite));
      refused(() => verifyFiscoV2ReceiptProof(rs[5]!, p, root, suite === "sm" ? "ecdsa" : "sm"));
    }
  }
});
