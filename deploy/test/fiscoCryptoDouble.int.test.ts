/**
 * `FiscoCryptoPrecompileDouble` (deploy/contracts/test) on a real anvil node, installed with `anvil_setCode`
 * at FISCO's `CryptoPrecompiled` address 0x100a and called the way FISCO contracts call the precompile:
 * SM3 known answers, SM2 signatures from `@shandu/proofs` (`signHash("sm", …)`) and FISCO's own fixed
 * vectors, every tampered or out-of-range input refused with `(false, 0x0)`, and the lenient argument
 * decoding of FISCO's codec.
 *
 * FISCO sources the expectations come from (FISCO-BCOS v3.x):
 * - bcos-executor/src/precompiled/CryptoPrecompiled.cpp — selectors, argument and return formats, `(false, 0)`
 *   from the `catch`;
 * - bcos-executor/test/unittest/libprecompiled/CryptoPrecompiledTest.cpp — sm3("abcd"), keccak256Hash("abcd"),
 *   the fixed key bcec428d… and the mismatching hash c5d24601…;
 * - bcos-crypto/test/unittests/SignatureTest.cpp (`SM2SignAndVerifyTest`) — a fixed SM2 signature r ‖ s ‖ pub
 *   over SM3("abcd");
 * - bcos-codec/bcos-codec/abi/ContractABICodec.{h,cpp} — `abiOut` swallows decoding errors.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AnvilNode, startAnvil } from "@shandu/adapter-evm/testing";
import { addressOf, concatBytes, fromHex, publicKeyOf, SM2_CURVE, signHash, sm2Verify, sm3, toHex } from "@shandu/proofs";
import { AbiCoder, getBytes, Interface } from "ethers";
import fc from "fast-check";
import { loadArtifact } from "../src/mod.ts";

const CRYPTO_ADDRESS = "0x000000000000000000000000000000000000100a";
const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";
const enc = new TextEncoder();
const abi = AbiCoder.defaultAbiCoder();

/** FISCO's `Crypto.sol` interface (bcos-executor/src/precompiled/solidity/Crypto.sol); ethers encodes with keccak selectors. */
const cryptoAbi = new Interface([
  "function sm3(bytes data) view returns (bytes32)",
  "function keccak256Hash(bytes data) view returns (bytes32)",
  "function sm2Verify(bytes32 message, bytes publicKey, bytes32 r, bytes32 s) view returns (bool, address)",
  "function curve25519VRFVerify(bytes message, bytes publicKey, bytes proof) view returns (bool, uint256)",
]);

type Suite = "sm" | "ecdsa";

/** The selector a chain of `suite` computes for `signature`: SM3 on SM chains, keccak-256 on ECDSA chains. */
function selector(suite: Suite, signature: string): string {
  if (suite === "ecdsa") return cryptoAbi.getFunction(signature)!.selector;
  return toHex(sm3(enc.encode(signature)).subarray(0, 4));
}

function calldata(suite: Suite, signature: string, args: readonly unknown[]): string {
  const fn = cryptoAbi.getFunction(signature)!;
  return selector(suite, fn.format("sighash")) + abi.encode(fn.inputs, args).slice(2);
}

const hex32 = (v: bigint) => `0x${v.toString(16).padStart(64, "0")}`;
const big = (b: Uint8Array) => BigInt(toHex(b));

function randomSecret(): Uint8Array {
  for (;;) {
    const d = crypto.getRandomValues(new Uint8Array(32));
    const v = big(d);
    if (v > 0n && v < SM2_CURVE.n - 1n) return d;
  }
}

function flipBit(b: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}

/** sqrt mod p for the SM2 field (p ≡ 3 mod 4), or undefined for a non-residue. */
function sqrtModP(a: bigint): bigint | undefined {
  const { p } = SM2_CURVE;
  const pow = (b: bigint, e: bigint) => {
    let r = 1n;
    let x = b % p;
    for (let k = e; k > 0n; k >>= 1n) {
      if (k & 1n) r = (r * x) % p;
      x = (x * x) % p;
    }
    return r;
  };
  const y = pow(a, (p + 1n) / 4n);
  return (y * y) % p === a % p ? y : undefined;
}

interface Signed {
  message: Uint8Array;
  publicKey: Uint8Array;
  r: Uint8Array;
  s: Uint8Array;
}

function sign(message: Uint8Array, secret: Uint8Array): Signed {
  const sig = signHash("sm", message, secret);
  return { message, publicKey: sig.subarray(64), r: sig.subarray(0, 32), s: sig.subarray(32, 64) };
}

describe("FiscoCryptoPrecompileDouble at 0x100a on anvil", { timeout: 180_000 }, () => {
  let node: AnvilNode;

  before(async () => {
    node = await startAnvil();
    await node.provider.send("anvil_setCode", [CRYPTO_ADDRESS, loadArtifact("FiscoCryptoPrecompileDouble").deployedBytecode]);
  });
  after(async () => {
    await node?.close();
  });

  const call = (data: string) => node.provider.call({ to: CRYPTO_ADDRESS, data });

  async function sm3Of(data: Uint8Array, suite: Suite = "sm"): Promise<string> {
    return abi.decode(["bytes32"], await call(calldata(suite, "sm3", [data])))[0] as string;
  }

  async function verify(v: Signed, suite: Suite = "sm"): Promise<[boolean, string]> {
    const out = await call(calldata(suite, "sm2Verify", [v.message, v.publicKey, v.r, v.s]));
    const [ok, account] = abi.decode(["bool", "address"], out);
    return [ok as boolean, (account as string).toLowerCase()];
  }

  const accountOf = (publicKey: Uint8Array) => toHex(addressOf("sm", publicKey));

  test("selectors: FISCO's names hashed with SM3 (SM chain) and keccak-256 (ECDSA chain)", () => {
    assert.equal(selector("sm", "sm2Verify(bytes32,bytes,bytes32,bytes32)"), "0x22ede61e");
    assert.equal(selector("ecdsa", "sm2Verify(bytes32,bytes,bytes32,bytes32)"), "0xcbdb3a67");
    assert.equal(selector("sm", "sm3(bytes)"), "0xf25611b5");
    assert.equal(selector("ecdsa", "sm3(bytes)"), "0xfb34363c");
    assert.equal(selector("sm", "keccak256Hash(bytes)"), "0xb6510107");
    assert.equal(selector("ecdsa", "keccak256Hash(bytes)"), "0xeb90f459");
  });

  test("sm3: GB/T 32905-2016 appendix A, FISCO's sm3(\"abcd\"), and agreement with proofs' sm3 at every block boundary", async () => {
    const abc = "0x66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
    const abcd16 = "0xdebe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732";
    const abcd = "0x82ec580fe6d36ae4f81cae3c73f4a5b3b5a09c943172dc9053c69fd8e18dca1e";
    for (const suite of ["sm", "ecdsa"] as const) {
      assert.equal(await sm3Of(enc.encode("abc"), suite), abc);
      assert.equal(await sm3Of(enc.encode("abcd".repeat(16)), suite), abcd16);
      assert.equal(await sm3Of(enc.encode("abcd"), suite), abcd);
    }
    const lengths = [0, 1, 31, 32, 33, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 200, 1000];
    const datas = lengths.map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));
    const got = await Promise.all(datas.map((d) => sm3Of(d)));
    for (const [i, d] of datas.entries()) assert.equal(got[i], toHex(sm3(d)), `length ${d.length}`);
  });

  test('keccak256Hash: FISCO\'s keccak256Hash("abcd")', async () => {
    const want = "0x48bed44d1bcd124a28c27f343a817e5f5243190d3c52bf347daf876de1dbbf77";
    for (const suite of ["sm", "ecdsa"] as const) {
      const out = await call(calldata(suite, "keccak256Hash", [enc.encode("abcd")]));
      assert.equal(abi.decode(["bytes32"], out)[0], want);
    }
  });

  test('sm2Verify: FISCO\'s fixed signature over SM3("abcd") (bcos-crypto SignatureTest.cpp) verifies', async () => {
    const sig = fromHex(
      "0xcd39bf939d999ca710576a629c962edfc28608701a3a7b61c971daeac5a1399cf4a7272fa80783e171c7fd5b038a3af4521f681ebe9fd44db3b60e750c438293" +
        "f7dee65e76603ed7cd4c598d53cabe875c459e0fae4c6fd7b858189fd4741081e970bca0d5cb571a7ac30586aec71b23187d4b25e59143812f74a2744604d42b",
    );
    const secret = fromHex("0xca508b2b49c1d2dc46cbd5a011686fdc19937dbc704afe6c547a862b3e2b6c69");
    const v: Signed = { message: sm3(enc.encode("abcd")), r: sig.subarray(0, 32), s: sig.subarray(32, 64), publicKey: sig.subarray(64) };
    assert.equal(toHex(publicKeyOf("sm", secret)), toHex(v.publicKey), "the vector's key belongs to its secret");
    assert.equal(sm2Verify(sig.subarray(0, 64), v.message, v.publicKey), true, "proofs' sm2Verify accepts it too");
    for (const suite of ["sm", "ecdsa"] as const) assert.deepEqual(await verify(v, suite), [true, accountOf(v.publicKey)]);
    assert.deepEqual(await verify({ ...v, message: sm3(enc.encode("abce")) }), [false, ZERO_ADDRESS], "SignatureTest's invalidHash");
  });

  test("sm2Verify: the precompile unit test's key and hash; its mismatching hash answers (false, 0)", async () => {
    const secret = fromHex("0xbcec428d5205abe0f0cc8a734083908d9eb8563e31f943d760786edf42ad67dd");
    const v = sign(fromHex("0x82ec580fe6d36ae4f81cae3c73f4a5b3b5a09c943172dc9053c69fd8e18dca1e"), secret);
    assert.deepEqual(await verify(v), [true, accountOf(v.publicKey)]);
    const mismatch = fromHex("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    assert.deepEqual(await verify({ ...v, message: mismatch }), [false, ZERO_ADDRESS]);
  });

  test('sm2Verify: fresh keys and messages verify under both selectors and return addressOf("sm", pub)', async () => {
    const cases = Array.from({ length: 8 }, () => sign(crypto.getRandomValues(new Uint8Array(32)), randomSecret()));
    const results = await Promise.all(cases.flatMap((v) => [verify(v, "sm"), verify(v, "ecdsa")]));
    cases.forEach((v, i) => {
      assert.deepEqual(results[2 * i], [true, accountOf(v.publicKey)]);
      assert.deepEqual(results[2 * i + 1], [true, accountOf(v.publicKey)]);
    });
  });

  test("sm2Verify: keys at the edges (secret 1 = G, so G + P_A doubles; secret 2; secret n − 2)", async () => {
    for (const d of [1n, 2n, SM2_CURVE.n - 2n]) {
      const v = sign(crypto.getRandomValues(new Uint8Array(32)), fromHex(hex32(d)));
      assert.deepEqual(await verify(v), [true, accountOf(v.publicKey)], `secret ${d}`);
    }
  });

  test("sm2Verify: one flipped bit anywhere in r, s, message or key answers (false, 0)", async () => {
    const v = sign(crypto.getRandomValues(new Uint8Array(32)), randomSecret());
    const bits = [0, 7, 100, 255];
    const tampered: Signed[] = [];
    for (const b of bits) {
      tampered.push({ ...v, r: flipBit(v.r, b) }, { ...v, s: flipBit(v.s, b) }, { ...v, message: flipBit(v.message, b) });
      tampered.push({ ...v, publicKey: flipBit(v.publicKey, b) }, { ...v, publicKey: flipBit(v.publicKey, 256 + b) });
    }
    const results = await Promise.all(tampered.map((t) => verify(t)));
    for (const [i, res] of results.entries()) assert.deepEqual(res, [false, ZERO_ADDRESS], `case ${i}`);
    // and a different valid key
    assert.deepEqual(await verify({ ...v, publicKey: publicKeyOf("sm", randomSecret()) }), [false, ZERO_ADDRESS]);
  });

  test("sm2Verify: r or s = 0, = n, > n, 2^256 − 1, or r + s = n answers (false, 0)", async () => {
    const v = sign(crypto.getRandomValues(new Uint8Array(32)), randomSecret());
    const { n } = SM2_CURVE;
    const bad = [0n, n, n + 1n, (1n << 256n) - 1n];
    const cases: Signed[] = [];
    for (const x of bad) cases.push({ ...v, r: fromHex(hex32(x)) }, { ...v, s: fromHex(hex32(x)) });
    // r + s ≡ 0 (mod n): GB/T 32918.2 step B5 (t = 0)
    cases.push({ ...v, s: fromHex(hex32(n - big(v.r))) });
    // r and s shifted by n would be the same residues; they are out of range, not equivalent
    if (big(v.r) + n < 1n << 256n) cases.push({ ...v, r: fromHex(hex32(big(v.r) + n)) });
    const results = await Promise.all(cases.map((c) => verify(c)));
    for (const [i, res] of results.entries()) assert.deepEqual(res, [false, ZERO_ADDRESS], `case ${i}`);
  });

  test("sm2Verify: keys that are not 64 bytes x ‖ y of a curve point answer (false, 0)", async () => {
    const v = sign(crypto.getRandomValues(new Uint8Array(32)), randomSecret());
    const { p, a, b } = SM2_CURVE;
    // (x0 + p, y0) for the smallest x0 of a curve point: the same residues, but FISCO's oct2point refuses coordinates ≥ p
    let x0 = 0n;
    let y0: bigint | undefined;
    for (; y0 === undefined; x0++) y0 = sqrtModP((x0 ** 3n + a * x0 + b) % p);
    x0--;
    const keys = [
      new Uint8Array(0),
      v.publicKey.subarray(0, 63),
      concatBytes(Uint8Array.of(4), v.publicKey), // 65 bytes with the SEC1 prefix
      new Uint8Array(64), // (0, 0)
      concatBytes(v.publicKey.subarray(0, 32), fromHex(hex32((big(v.publicKey.subarray(32)) + 1n) % p))), // off the curve
      concatBytes(fromHex(hex32(x0 + p)), fromHex(hex32(y0))),
      concatBytes(fromHex(hex32(p)), v.publicKey.subarray(32)),
    ];
    const results = await Promise.all(keys.map((k) => verify({ ...v, publicKey: k })));
    for (const [i, res] of results.entries()) assert.deepEqual(res, [false, ZERO_ADDRESS], `key ${i}`);
  });

  test("sm2Verify agrees with proofs' sm2Verify on random tamperings (property)", async () => {
    const base = Array.from({ length: 3 }, () => sign(crypto.getRandomValues(new Uint8Array(32)), randomSecret()));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: base.length - 1 }),
        fc.constantFrom("r", "s", "message", "publicKey", "none"),
        fc.integer({ min: 0, max: 511 }),
        async (i, field, bit) => {
          const v = base[i]!;
          const t: Signed = field === "none" ? v : { ...v, [field]: flipBit(v[field], field === "publicKey" ? bit : bit & 255) };
          const want = sm2Verify(concatBytes(t.r, t.s), t.message, t.publicKey);
          assert.deepEqual(await verify(t), [want, want ? accountOf(t.publicKey) : ZERO_ADDRESS]);
        },
      ),
      { numRuns: 25 },
    );
  });

  test("arguments are decoded as FISCO's codec does: errors leave them empty instead of reverting", async () => {
    const v = sign(crypto.getRandomValues(new Uint8Array(32)), randomSecret());
    const good = calldata("sm", "sm2Verify", [v.message, v.publicKey, v.r, v.s]);
    const sel = good.slice(0, 10);
    const params = good.slice(10);
    const decodeOut = async (data: string) => abi.decode(["bool", "address"], await call(data)).map((x) => String(x).toLowerCase());
    assert.deepEqual(await decodeOut(good), ["true", accountOf(v.publicKey)]);
    const malformed = [
      sel, // no arguments
      `${sel}${params.slice(0, 2 * 100)}`, // s missing
      `${sel}${params.slice(0, 2 * (128 + 32 + 63))}`, // the key's bytes cut short
      `${sel}${params.slice(0, 64)}${hex32(1n << 200n).slice(2)}${params.slice(128)}`, // the key's offset far out
      `${sel}${params.slice(0, 2 * 128)}${"ff".repeat(32)}${params.slice(2 * 160)}`, // the key's length word far out
    ];
    for (const data of malformed) assert.deepEqual(await decodeOut(data), ["false", ZERO_ADDRESS], data.slice(0, 80));
    // `bytes` need no zero padding: FISCO reads exactly `length` bytes
    const unpadded = `${selector("sm", "sm3(bytes)")}${hex32(32n).slice(2)}${hex32(3n).slice(2)}616263`;
    assert.equal(abi.decode(["bytes32"], await call(unpadded))[0], toHex(sm3(enc.encode("abc"))));
    // sm3 / keccak256Hash with unreadable arguments hash the empty string
    const emptySm3 = toHex(sm3(new Uint8Array(0)));
    assert.equal(abi.decode(["bytes32"], await call(selector("sm", "sm3(bytes)")))[0], emptySm3);
    assert.equal(abi.decode(["bytes32"], await call(`${selector("ecdsa", "sm3(bytes)")}${hex32(64n).slice(2)}`))[0], emptySm3);
    // trailing data after the arguments is ignored
    assert.deepEqual(await decodeOut(`${good}${"ab".repeat(40)}`), ["true", accountOf(v.publicKey)]);
  });

  test("an unknown selector, calldata shorter than four bytes, or curve25519VRFVerify reverts", async () => {
    const errors = new Interface(loadArtifact("FiscoCryptoPrecompileDouble").abi);
    const cases: [string, string][] = [
      ["0x", "0x00000000"],
      ["0x22ede6", "0x00000000"],
      ["0xdeadbeef", "0xdeadbeef"],
      [calldata("sm", "curve25519VRFVerify", ["0x01", "0x02", "0x03"]), selector("sm", "curve25519VRFVerify(bytes,bytes,bytes)")],
    ];
    for (const [data, sel] of cases) {
      await assert.rejects(call(data), (err: unknown) => {
        const parsed = errors.parseError((err as { data?: string }).data ?? "0x");
        assert.equal(parsed?.name, "CryptoPrecompiledUndefinedFunction", data);
        assert.equal(parsed?.args[0], sel);
        return true;
      });
    }
  });

  test("gas: one sm2Verify stays well under 3M", async () => {
    const v = sign(crypto.getRandomValues(new Uint8Array(32)), randomSecret());
    const data = calldata("sm", "sm2Verify", [v.message, v.publicKey, v.r, v.s]);
    const total = await node.provider.estimateGas({ to: CRYPTO_ADDRESS, data });
    const bytes = getBytes(data);
    const calldataGas = bytes.reduce((acc, x) => acc + (x === 0 ? 4 : 16), 0);
    const execution = Number(total) - 21_000 - calldataGas;
    console.log(`sm2Verify: eth_estimateGas ${total}, execution ≈ ${execution}`);
    assert.ok(execution < 3_000_000, `execution gas ${execution}`);
    const sm3Gas = Number(await node.provider.estimateGas({ to: CRYPTO_ADDRESS, data: calldata("sm", "sm3", [new Uint8Array(64)]) }));
    console.log(`sm3 of 64 bytes: eth_estimateGas ${sm3Gas}`);
  });
});
