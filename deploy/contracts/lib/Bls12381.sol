// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";

/// @notice BLS12-381 signatures (docs/protocol.md §5: min-pk, keys in G1, signatures in G2) on the EIP-2537
/// precompiles as activated in Prague: G1ADD 0x0b, G1MSM 0x0c, G2ADD 0x0d, PAIRING_CHECK 0x0f,
/// MAP_FP2_TO_G2 0x11 (https://eips.ethereum.org/EIPS/eip-2537), plus SHA-256 (0x02) and MODEXP (0x05) for
/// hashing to the curve (RFC 9380, https://www.rfc-editor.org/rfc/rfc9380).
///
/// Encodings are those of EIP-2537: a field element is 64 bytes (16 zero bytes, then the 48-byte big-endian
/// value), a G1 point is x ‖ y (128 bytes), a G2 point is x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1 (256 bytes), and the point
/// at infinity is all zeros.
///
/// Precompile calls. Every call checks that it succeeded AND returned exactly the expected number of bytes:
/// on a chain without EIP-2537 a call to 0x0b–0x11 "succeeds" with empty output, and every function here then
/// reverts `ShanduRejected("BLS_PRECOMPILE_MISSING")` instead of reading stale memory. A precompile that fails
/// because an input point is not valid (coordinate ≥ p, bad padding, off the curve, or — for G1MSM and the
/// pairing — outside the prime-order subgroup) is reported as a result (`false`, `INVALID_POINT`), never as a
/// missing precompile. A precompile failure that no input can cause (hashing, adding validated keys) can only
/// be running out of gas; it reverts `ShanduRejected("BLS_PRECOMPILE_FAILED")`. Where a failure is read as
/// "invalid input" (G1MSM, pairing), the call is only made with at least the EIP-2537 price in gas available,
/// else the function reverts without data, like running out of gas: a tight gas limit can therefore never
/// turn a valid point into an "invalid" answer. A failing EIP-2537 call consumes all the gas it was given, so
/// refusing an invalid point costs most of the remaining gas; that only happens to inputs that are refused.
///
/// Trust: verification functions take the public key as trusted — it must have passed `g1InSubgroup` (or
/// `isValidG1`) and not be infinity, as the registry ensures when it validates a committee — so that a pairing
/// failure can be attributed to the signature. Everything about the signature is checked here.
library Bls12381 {
    uint256 internal constant G1_BYTES = 128;
    uint256 internal constant G2_BYTES = 256;

    /// @notice docs/protocol.md §5.1: the signature and proof-of-possession domain separation tags.
    bytes internal constant DST_SIGNATURE = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    bytes internal constant DST_POP = "BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

    /// @notice Verification outcomes (`verifyStatus`). `INVALID_POINT`: the signature is infinity or a
    /// precompile refused an input point (§5.2: INVALID_SIGNATURE / SIGNATURE_INFINITY).
    uint256 internal constant VALID = 0;
    uint256 internal constant MISMATCH = 1;
    uint256 internal constant INVALID_POINT = 2;

    /// @dev EIP-2537 prices (Prague): PAIRING_CHECK 32600·k + 37700 = 102,900 with k = 2; G1MSM with k = 1 is
    /// 12,000. The minimum gas before such a call: the price, what the 63/64 rule (EIP-150) withholds
    /// (1,634 resp. 191), and about 1,000 for the call itself and its memory.
    uint256 private constant PAIRING2_MIN_GAS = 105_600;
    uint256 private constant G1MSM1_MIN_GAS = 13_200;

    // p = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab,
    // split into its high 128 and low 256 bits (the two words of its EIP-2537 encoding).
    uint256 private constant P_HI = 0x1a0111ea397fe69a4b1ba7b6434bacd7;
    uint256 private constant P_LO = 0x64774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab;

    // −g1: the negated G1 generator (x of g1, y = p − y of g1), for e(pk, H(m)) · e(−g1, σ) == 1.
    uint256 private constant NEG_G1_X_HI = 0x17f1d3a73197d7942695638c4fa9ac0f;
    uint256 private constant NEG_G1_X_LO = 0xc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb;
    uint256 private constant NEG_G1_Y_HI = 0x114d1d6855d545a8aa7d76c8cf2e21f2;
    uint256 private constant NEG_G1_Y_LO = 0x67816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca;

    // ---------------------------------------------------------------- hash to G2 (RFC 9380)

    /// @notice H(m): RFC 9380 hash_to_curve, suite BLS12381G2_XMD:SHA-256_SSWU_RO_, of a 32-byte message (a
    /// signing root, §6.1 / §7.1) under `dst` (at most 255 bytes). Returns the 256-byte G2 point.
    function hashToG2(bytes32 message, bytes memory dst) internal view returns (bytes memory h) {
        h = new bytes(G2_BYTES);
        uint256 m = _alloc(32);
        assembly ("memory-safe") {
            mstore(m, message)
        }
        _hashToG2(m, 32, _data(dst), dst.length, _data(h));
    }

    /// @notice H(m) of a message of any length (e.g. a 48-byte compressed key, for proofs of possession).
    function hashToG2(bytes memory message, bytes memory dst) internal view returns (bytes memory h) {
        h = new bytes(G2_BYTES);
        _hashToG2(_data(message), message.length, _data(dst), dst.length, _data(h));
    }

    /// @dev hash_to_curve (RFC 9380 §3) for BLS12381G2_XMD:SHA-256_SSWU_RO_: expand_message_xmd (§5.3.1) to 256
    /// bytes, hash_to_field (§5.2) into u0, u1 ∈ Fp2 (four 64-byte chunks, each reduced mod p with MODEXP 0x05),
    /// map_to_curve and clear_cofactor of each (MAP_FP2_TO_G2 does both), and their sum (G2ADD). Reads the
    /// message (`n` bytes at `m`) and DST (`d` bytes at `dst`) from memory, writes 256 bytes at `out`; uses the
    /// memory above the free memory pointer as scratch.
    function _hashToG2(uint256 m, uint256 n, uint256 dst, uint256 d, uint256 out) private view {
        // RFC 9380 §5.3.3: a longer DST would have to be hashed first. Ours are 43 bytes.
        if (d > 255) revert ShanduRejected("BAD_LENGTH");
        bool ok;
        bool sized;
        assembly ("memory-safe") {
            // Success bits are collected in `ok`, "returned exactly the expected length" in `sized`; both are
            // checked once at the end (a failed call leaves garbage that is never used: the function reverts).
            let s := mload(0x40)
            // msg_prime = Z_pad (64 zero bytes) ‖ msg ‖ I2OSP(256, 2) ‖ I2OSP(0, 1) ‖ DST ‖ I2OSP(len(DST), 1).
            // t is placed so that t ‖ byte 32 ‖ DST' later serves as the input of every b_i (no copying).
            mstore(s, 0)
            mstore(add(s, 32), 0)
            mcopy(add(s, 64), m, n)
            let t := add(s, add(34, n))
            mstore(add(t, 30), shl(232, 0x010000))
            mcopy(add(t, 33), dst, d)
            mstore8(add(add(t, 33), d), d)
            ok := staticcall(gas(), 0x02, s, add(68, add(n, d)), 0x00, 32)
            sized := eq(returndatasize(), 32)
            let b0 := mload(0x00)

            // b_1 = H(b_0 ‖ 1 ‖ DST'), b_i = H((b_0 xor b_(i−1)) ‖ i ‖ DST'); uniform_bytes = b_1 ‖ … ‖ b_8 at u.
            let u := add(t, add(d, 64))
            let il := add(34, d)
            let prev := 0
            for { let i := 1 } lt(i, 9) { i := add(i, 1) } {
                mstore(t, xor(b0, prev))
                mstore8(add(t, 32), i)
                let o := add(u, shl(5, sub(i, 1)))
                ok := and(ok, staticcall(gas(), 0x02, t, il, o, 32))
                sized := and(sized, eq(returndatasize(), 32))
                prev := mload(o)
            }

            // e_j = OS2IP(uniform_bytes[64j : 64j + 64]) mod p via MODEXP: base^1 mod p. Input: lengths (64, 1, 48),
            // the 64-byte base, the exponent 0x01, p. Output (48 bytes) goes after 16 zero bytes at f + 64j, which
            // makes u0 = (e_0, e_1) and u1 = (e_2, e_3) two EIP-2537 Fp2 elements (c0 ‖ c1).
            let e := add(u, 256)
            mstore(e, 64)
            mstore(add(e, 32), 1)
            mstore(add(e, 64), 48)
            mstore(add(e, 161), shl(128, P_HI))
            mstore(add(e, 177), P_LO)
            mstore8(add(e, 160), 1)
            let f := add(e, 224)
            for { let j := 0 } lt(j, 4) { j := add(j, 1) } {
                let src := add(u, shl(6, j))
                mstore(add(e, 96), mload(src))
                mstore(add(e, 128), mload(add(src, 32)))
                let fe := add(f, shl(6, j))
                mstore(fe, 0)
                ok := and(ok, staticcall(gas(), 0x05, e, 209, add(fe, 16), 48))
                sized := and(sized, eq(returndatasize(), 48))
            }

            // Q0 = MAP_FP2_TO_G2(u0), Q1 = MAP_FP2_TO_G2(u1) (map_to_curve and clear_cofactor), P = G2ADD(Q0, Q1).
            let g := add(f, 256)
            ok := and(ok, staticcall(gas(), 0x11, f, 128, g, 256))
            sized := and(sized, eq(returndatasize(), 256))
            ok := and(ok, staticcall(gas(), 0x11, add(f, 128), 128, add(g, 256), 256))
            sized := and(sized, eq(returndatasize(), 256))
            ok := and(ok, staticcall(gas(), 0x0d, g, 512, out, 256))
            sized := and(sized, eq(returndatasize(), 256))
        }
        // Nothing in the input can make these calls fail (every field element is < p): a failure is running out of
        // gas. On a chain without EIP-2537 the calls to 0x11 and 0x0d "succeed" with no output.
        if (!ok) revert ShanduRejected("BLS_PRECOMPILE_FAILED");
        if (!sized) revert ShanduRejected("BLS_PRECOMPILE_MISSING");
    }

    // ---------------------------------------------------------------- verification

    /// @notice Checks `e(key, H(message)) == e(g1, signature)` under `dst`: true when it holds, false when the
    /// signature is a valid point that does not verify. Reverts `ShanduRejected("INVALID_SIGNATURE_ENCODING")`
    /// when the signature is not 256 bytes, is the point at infinity, or is not a G2 subgroup point (§5.2);
    /// `ShanduRejected("BAD_LENGTH")` when the key is not 128 bytes. `key` is trusted (see the library notes):
    /// for an aggregate it is the sum of validated keys.
    function verify(bytes memory key, bytes32 message, bytes memory signature, bytes memory dst) internal view returns (bool) {
        uint256 status = verifyStatus(key, message, signature, dst);
        if (status == INVALID_POINT) revert ShanduRejected("INVALID_SIGNATURE_ENCODING");
        return status == VALID;
    }

    /// @notice `verify` returning VALID, MISMATCH or INVALID_POINT instead of reverting.
    function verifyStatus(bytes memory key, bytes32 message, bytes memory signature, bytes memory dst)
        internal
        view
        returns (uint256)
    {
        if (key.length != G1_BYTES) revert ShanduRejected("BAD_LENGTH");
        if (signature.length != G2_BYTES) return INVALID_POINT;
        uint256 buf = _alloc(800);
        assembly ("memory-safe") {
            mcopy(buf, add(key, 0x20), 128)
            mcopy(add(buf, 512), add(signature, 0x20), 256)
            mstore(add(buf, 768), message)
        }
        return _pairingVerify(buf, buf + 768, 32, _data(dst), dst.length);
    }

    /// @notice FastAggregateVerify (§5.5) for an attestation (§6.4 checks 8 and 9) under the signature DST:
    /// `acc` holds the sum of the signers' keys in its first 128 bytes (see `accumulateG1`). Returns 0 when the
    /// signature verifies, else the protocol code: "INVALID_SIGNATURE_ENCODING" (not a valid non-infinity G2
    /// subgroup point, or not 256 bytes) or "BAD_SIGNATURE".
    function verifyAggregate(bytes memory acc, bytes32 signingRoot, bytes calldata signature) internal view returns (bytes32) {
        if (acc.length < G1_BYTES) revert ShanduRejected("BAD_LENGTH");
        if (signature.length != G2_BYTES) return "INVALID_SIGNATURE_ENCODING";
        uint256 buf = _alloc(800);
        assembly ("memory-safe") {
            mcopy(buf, add(acc, 0x20), 128)
            calldatacopy(add(buf, 512), signature.offset, 256)
            mstore(add(buf, 768), signingRoot)
        }
        bytes memory dst = DST_SIGNATURE;
        uint256 status = _pairingVerify(buf, buf + 768, 32, _data(dst), dst.length);
        if (status == VALID) return 0;
        return status == MISMATCH ? bytes32("BAD_SIGNATURE") : bytes32("INVALID_SIGNATURE_ENCODING");
    }

    /// @notice PopVerify (§5.4): `pop` (256 bytes, EIP-2537) is a signature under the PoP DST of
    /// `compressedKey` (the 48 bytes committed in the committee encoding) by `key` (its 128-byte EIP-2537 form,
    /// which must have passed `g1Matches` and `g1InSubgroup`). False for a proof that does not verify, is
    /// infinity or is not a G2 subgroup point.
    function verifyPossession(bytes calldata key, bytes calldata compressedKey, bytes calldata pop) internal view returns (bool) {
        if (key.length != G1_BYTES || compressedKey.length != 48 || pop.length != G2_BYTES) return false;
        uint256 buf = _alloc(816);
        assembly ("memory-safe") {
            calldatacopy(buf, key.offset, 128)
            calldatacopy(add(buf, 512), pop.offset, 256)
            calldatacopy(add(buf, 768), compressedKey.offset, 48)
        }
        bytes memory dst = DST_POP;
        return _pairingVerify(buf, buf + 768, 48, _data(dst), dst.length) == VALID;
    }

    /// @dev `buf` holds the key at [0, 128) and the signature at [512, 768); this writes H(m) at [128, 384) and
    /// −g1 at [384, 512) and checks e(key, H(m)) · e(−g1, σ) == 1 with one PAIRING_CHECK. The signature at
    /// infinity is refused first (the pairing would accept it as a point). A key at infinity needs no test of
    /// its own: e(O, H(m)) · e(−g1, σ) = e(−g1, σ) ≠ 1 for σ ≠ O, so it gives MISMATCH as §5.5 requires.
    function _pairingVerify(uint256 buf, uint256 m, uint256 n, uint256 dst, uint256 d) private view returns (uint256 status) {
        if (_isZero(buf + 512, 256)) return INVALID_POINT;
        _hashToG2(m, n, dst, d, buf + 128);
        assembly ("memory-safe") {
            mstore(add(buf, 384), NEG_G1_X_HI)
            mstore(add(buf, 416), NEG_G1_X_LO)
            mstore(add(buf, 448), NEG_G1_Y_HI)
            mstore(add(buf, 480), NEG_G1_Y_LO)
            if lt(gas(), PAIRING2_MIN_GAS) { revert(0, 0) }
            switch staticcall(gas(), 0x0f, buf, 768, 0x00, 32)
            case 0 { status := INVALID_POINT }
            default {
                if iszero(eq(returndatasize(), 32)) {
                    mstore(0x00, 0x45a6d46500000000000000000000000000000000000000000000000000000000)
                    mstore(0x04, "BLS_PRECOMPILE_MISSING")
                    revert(0x00, 0x24)
                }
                status := iszero(eq(mload(0x00), 1)) // VALID (0) when the product is 1, else MISMATCH (1)
            }
        }
    }

    /// @notice PAIRING_CHECK of two pairs: `holds` is e(g1a, g2a) · e(g1b, g2b) == 1. `valid` is false when an
    /// input has the wrong length or the precompile refused a point (off the curve, outside the subgroup, a
    /// coordinate ≥ p); `holds` is then false too.
    function pairingCheck2(bytes memory g1a, bytes memory g2a, bytes memory g1b, bytes memory g2b)
        internal
        view
        returns (bool valid, bool holds)
    {
        if (g1a.length != G1_BYTES || g1b.length != G1_BYTES || g2a.length != G2_BYTES || g2b.length != G2_BYTES) {
            return (false, false);
        }
        uint256 buf = _alloc(768);
        assembly ("memory-safe") {
            mcopy(buf, add(g1a, 0x20), 128)
            mcopy(add(buf, 128), add(g2a, 0x20), 256)
            mcopy(add(buf, 384), add(g1b, 0x20), 128)
            mcopy(add(buf, 512), add(g2b, 0x20), 256)
            if lt(gas(), PAIRING2_MIN_GAS) { revert(0, 0) }
            valid := staticcall(gas(), 0x0f, buf, 768, 0x00, 32)
            if valid {
                if iszero(eq(returndatasize(), 32)) {
                    mstore(0x00, 0x45a6d46500000000000000000000000000000000000000000000000000000000)
                    mstore(0x04, "BLS_PRECOMPILE_MISSING")
                    revert(0x00, 0x24)
                }
                holds := eq(mload(0x00), 1)
            }
        }
    }

    // ---------------------------------------------------------------- G1 keys

    /// @notice Whether a 128-byte EIP-2537 point is a G1 point of the prime-order subgroup (coordinates < p,
    /// zero padding, on the curve, in the subgroup): G1MSM with the scalar 1 performs exactly these checks.
    /// Infinity counts as a subgroup point; `g1Matches` refuses it for keys.
    function g1InSubgroup(bytes calldata point) internal view returns (bool ok) {
        if (point.length != G1_BYTES) return false;
        uint256 buf = _alloc(160);
        assembly ("memory-safe") {
            calldatacopy(buf, point.offset, 128)
        }
        return _g1Msm1(buf);
    }

    /// @notice `g1InSubgroup` for a point in memory.
    function isValidG1(bytes memory point) internal view returns (bool) {
        if (point.length != G1_BYTES) return false;
        uint256 buf = _alloc(160);
        assembly ("memory-safe") {
            mcopy(buf, add(point, 0x20), 128)
        }
        return _g1Msm1(buf);
    }

    /// @dev G1MSM of the point at `buf` with scalar 1 (written at buf + 128); true when the precompile accepts it.
    function _g1Msm1(uint256 buf) private view returns (bool ok) {
        assembly ("memory-safe") {
            mstore(add(buf, 128), 1)
            if lt(gas(), G1MSM1_MIN_GAS) { revert(0, 0) }
            ok := staticcall(gas(), 0x0c, buf, 160, buf, 128)
            if and(ok, iszero(eq(returndatasize(), 128))) {
                mstore(0x00, 0x45a6d46500000000000000000000000000000000000000000000000000000000)
                mstore(0x04, "BLS_PRECOMPILE_MISSING")
                revert(0x00, 0x24)
            }
        }
    }

    /// @notice G1ADD: `ok` is false (and `sum` empty) when the precompile refuses an input (wrong length, a
    /// coordinate ≥ p, off the curve; G1ADD does not check the subgroup).
    function addG1(bytes memory a, bytes memory b) internal view returns (bool ok, bytes memory sum) {
        if (a.length != G1_BYTES || b.length != G1_BYTES) return (false, sum);
        sum = new bytes(G1_BYTES);
        uint256 buf = _alloc(256);
        assembly ("memory-safe") {
            mcopy(buf, add(a, 0x20), 128)
            mcopy(add(buf, 128), add(b, 0x20), 128)
            ok := staticcall(gas(), 0x0b, buf, 256, add(sum, 0x20), 128)
            if and(ok, iszero(eq(returndatasize(), 128))) {
                mstore(0x00, 0x45a6d46500000000000000000000000000000000000000000000000000000000)
                mstore(0x04, "BLS_PRECOMPILE_MISSING")
                revert(0x00, 0x24)
            }
        }
        if (!ok) sum = new bytes(0);
    }

    /// @notice Adds the 128-byte key at byte `offset` of `src` into the running sum in `acc[0:128]`; `acc` is a
    /// 256-byte buffer whose upper half is the G1ADD operand. `first` starts the sum (a copy, no precompile
    /// call). The keys must be validated points (a committee view); a failing G1ADD reverts.
    function accumulateG1(bytes memory acc, bytes memory src, uint256 offset, bool first) internal view {
        if (acc.length < 2 * G1_BYTES || offset + G1_BYTES > src.length) revert ShanduRejected("BAD_LENGTH");
        assembly ("memory-safe") {
            let a := add(acc, 0x20)
            let p := add(add(src, 0x20), offset)
            switch first
            case 0 {
                mcopy(add(a, 128), p, 128)
                let ok := staticcall(gas(), 0x0b, a, 256, a, 128)
                if iszero(ok) {
                    mstore(0x00, 0x45a6d46500000000000000000000000000000000000000000000000000000000)
                    mstore(0x04, "BLS_PRECOMPILE_FAILED")
                    revert(0x00, 0x24)
                }
                if iszero(eq(returndatasize(), 128)) {
                    mstore(0x00, 0x45a6d46500000000000000000000000000000000000000000000000000000000)
                    mstore(0x04, "BLS_PRECOMPILE_MISSING")
                    revert(0x00, 0x24)
                }
            }
            default { mcopy(a, p, 128) }
        }
    }

    /// @notice Whether a G1 (128-byte) or G2 (256-byte) EIP-2537 encoding is the point at infinity (all zeros).
    function isInfinity(bytes memory point) internal pure returns (bool) {
        if (point.length != G1_BYTES && point.length != G2_BYTES) return false;
        return _isZero(_data(point), point.length);
    }

    // ---------------------------------------------------------------- compressed ↔ uncompressed

    /// @notice Whether `point` (128 bytes, EIP-2537) is the decompression of `compressed` (48 bytes, ZCash
    /// encoding, §5.2): compression flag set, infinity flag clear, the same x, and the sign flag equal to
    /// "y > (p − 1) / 2". That y² = x³ + 4 holds, that coordinates are < p and the subgroup are left to the
    /// precompiles (`g1InSubgroup`): given a valid point with this x and sign, it is the decompression.
    function g1Matches(bytes calldata compressed, bytes calldata point) internal pure returns (bool) {
        if (compressed.length != 48 || point.length != G1_BYTES) return false;
        return _g1Matches(_offset(compressed), _offset(point), true);
    }

    /// @notice `g1Matches` for values in memory.
    function compressedG1Matches(bytes memory compressed, bytes memory point) internal pure returns (bool) {
        if (compressed.length != 48 || point.length != G1_BYTES) return false;
        return _g1Matches(_data(compressed), _data(point), false);
    }

    /// @notice Whether `point` (256 bytes, EIP-2537: x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1) is the decompression of
    /// `compressed` (96 bytes: flags and x.c1 ‖ x.c0). The sign of y ∈ Fp2 is that of y.c1, or of y.c0 when
    /// y.c1 = 0 (draft-irtf-cfrg-pairing-friendly-curves, ZCash serialization). Validity of the point is left
    /// to the precompiles, as for `g1Matches`.
    function g2Matches(bytes calldata compressed, bytes calldata point) internal pure returns (bool) {
        if (compressed.length != 96 || point.length != G2_BYTES) return false;
        return _g2Matches(_offset(compressed), _offset(point), true);
    }

    /// @notice `g2Matches` for values in memory.
    function compressedG2Matches(bytes memory compressed, bytes memory point) internal pure returns (bool) {
        if (compressed.length != 96 || point.length != G2_BYTES) return false;
        return _g2Matches(_data(compressed), _data(point), false);
    }

    /// @dev Reads words from calldata (`cd`) or memory. x from the compressed form: its first 16 bytes (flags
    /// masked off) are the high word of the EIP-2537 coordinate, the next 32 the low word.
    function _g1Matches(uint256 c, uint256 pt, bool cd) private pure returns (bool r) {
        assembly ("memory-safe") {
            function ld(p, fromCalldata) -> w {
                switch fromCalldata
                case 0 { w := mload(p) }
                default { w := calldataload(p) }
            }
            // y > (p − 1) / 2, for y given as its two EIP-2537 words.
            function aboveHalf(hi, lo) -> a {
                let halfHi := 0x0d0088f51cbff34d258dd3db21a5d66b
                let halfLo := 0xb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555
                a := or(gt(hi, halfHi), and(eq(hi, halfHi), gt(lo, halfLo)))
            }
            let w0 := ld(c, cd)
            let w1 := shr(128, ld(add(c, 32), cd))
            let flags := shr(253, w0)
            let xHi := and(shr(128, w0), 0x1fffffffffffffffffffffffffffffff)
            let xLo := or(shl(128, w0), w1)
            r := and(eq(and(flags, 6), 4), and(eq(ld(pt, cd), xHi), eq(ld(add(pt, 32), cd), xLo)))
            r := and(r, eq(and(flags, 1), aboveHalf(ld(add(pt, 64), cd), ld(add(pt, 96), cd))))
        }
    }

    function _g2Matches(uint256 c, uint256 pt, bool cd) private pure returns (bool r) {
        assembly ("memory-safe") {
            function ld(p, fromCalldata) -> w {
                switch fromCalldata
                case 0 { w := mload(p) }
                default { w := calldataload(p) }
            }
            function aboveHalf(hi, lo) -> a {
                let halfHi := 0x0d0088f51cbff34d258dd3db21a5d66b
                let halfLo := 0xb23ba5c279c2895fb39869507b587b120f55ffff58a9ffffdcff7fffffffd555
                a := or(gt(hi, halfHi), and(eq(hi, halfHi), gt(lo, halfLo)))
            }
            let w0 := ld(c, cd)
            let w1 := ld(add(c, 32), cd)
            let w2 := ld(add(c, 64), cd)
            let flags := shr(253, w0)
            // compressed = flags|x.c1 (48 bytes) ‖ x.c0 (48 bytes)
            let c1Hi := and(shr(128, w0), 0x1fffffffffffffffffffffffffffffff)
            let c1Lo := or(shl(128, w0), shr(128, w1))
            let c0Hi := and(w1, 0xffffffffffffffffffffffffffffffff)
            r := and(eq(and(flags, 6), 4), and(eq(ld(pt, cd), c0Hi), eq(ld(add(pt, 32), cd), w2)))
            r := and(r, and(eq(ld(add(pt, 64), cd), c1Hi), eq(ld(add(pt, 96), cd), c1Lo)))
            let y1Hi := ld(add(pt, 192), cd)
            let y1Lo := ld(add(pt, 224), cd)
            let sign := aboveHalf(y1Hi, y1Lo)
            if iszero(or(y1Hi, y1Lo)) { sign := aboveHalf(ld(add(pt, 128), cd), ld(add(pt, 160), cd)) }
            r := and(r, eq(and(flags, 1), sign))
        }
    }

    // ---------------------------------------------------------------- memory helpers

    function _offset(bytes calldata b) private pure returns (uint256 o) {
        assembly ("memory-safe") {
            o := b.offset
        }
    }

    function _data(bytes memory b) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := add(b, 0x20)
        }
    }

    /// @dev Reserves `size` bytes (not zeroed) above the free memory pointer.
    function _alloc(uint256 size) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(0x40, add(p, and(add(size, 31), not(31))))
        }
    }

    /// @dev Whether the `len` bytes at `p` are all zero; `len` is 128 or 256.
    function _isZero(uint256 p, uint256 len) private pure returns (bool z) {
        assembly ("memory-safe") {
            let acc := or(or(mload(p), mload(add(p, 32))), or(mload(add(p, 64)), mload(add(p, 96))))
            if eq(len, 256) {
                acc := or(acc, or(or(mload(add(p, 128)), mload(add(p, 160))), or(mload(add(p, 192)), mload(add(p, 224)))))
            }
            z := iszero(acc)
        }
    }
}
