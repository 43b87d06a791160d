// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @title Test double of FISCO BCOS 3.x `CryptoPrecompiled` (sm3, keccak256Hash, sm2Verify), for anvil
/// @notice NOT FISCO's precompile. FISCO BCOS runs `CryptoPrecompiled` as native code at address 0x100a
/// (FISCO-BCOS `bcos-framework/bcos-framework/executor/PrecompiledTypeDef.h`: `CRYPTO_ADDRESS`;
/// FISCO-BCOS-DOC `3.x/zh_CN/docs/develop/precompiled/precompiled_contract_api.md`). Anvil has no such
/// precompile, so tests install this contract's runtime code there with
/// `anvil_setCode(0x000000000000000000000000000000000000100a, deployedBytecode)` and contracts written for
/// FISCO call it unchanged. It is never deployed to a real chain.
///
/// What it reproduces, from FISCO-BCOS v3.x (v3.0.0 onwards) `bcos-executor/src/precompiled/CryptoPrecompiled.cpp`:
///
/// - Dispatch on the first four bytes of calldata. The precompile computes its selectors with the chain's
///   hash (`getFuncSelector(name, hashImpl)`): SM3 on an SM chain, keccak-256 on an ECDSA chain. Both are
///   accepted here. Fewer than four bytes or an unknown selector: the call fails (`PrecompiledError`),
///   here a revert with `CryptoPrecompiledUndefinedFunction`.
/// - `sm3(bytes)` → `bytes32` SM3 digest; `keccak256Hash(bytes)` → `bytes32` keccak-256 digest.
/// - `sm2Verify(bytes32 message, bytes publicKey, bytes32 r, bytes32 s)` → `(bool, address)`. The key is
///   64 bytes `x ‖ y` (no 0x04; the native code prepends it: `bcos-crypto/.../fastsm2/fast_sm2.cpp`
///   `fast_sm2_verify`). `message` is not the signed digest: the signer hashed `e = SM3(Z_A ‖ message)`
///   with the GB/T 32918 default user id "1234567812345678" (`fast_sm2.cpp` `c_userId`, `sm2_do_verify`),
///   as FISCO's SM2 transaction signatures do. On success it returns `(true, SM3(publicKey)[12:32])`
///   (`right160(sm3Hash(publicKey))`), on any failure `(false, address(0))`: the native code throws
///   inside a `try` (`SM2Crypto::recover` throws `InvalidSignature`; `KeyImpl` throws on a key shorter than
///   64 bytes) and the `catch` encodes `(false, Address())`. The address is SM3-derived even on an ECDSA
///   chain.
/// - Verification as in TASSL/OpenSSL 1.1.1 `crypto/sm2/sm2_sign.c` `sm2_sig_verify` (GB/T 32918.2 §7):
///   r and s in [1, n−1]; t = (r + s) mod n ≠ 0; (x1, y1) = s·G + t·P_A, not the point at infinity;
///   accept iff (e + x1) mod n = r. The key must be a curve point with coordinates below p
///   (`EC_POINT_bn2point` → `EC_POINT_oct2point` refuses anything else).
/// - Argument decoding as FISCO's `ContractABICodec::abiOut`, which swallows decoding errors and leaves
///   the arguments it could not read empty: a malformed `sm2Verify` call answers `(false, address(0))`,
///   a malformed `sm3` / `keccak256Hash` call hashes the empty string. `bytes` need not be zero-padded.
///
/// Differences: a `publicKey` longer than 64 bytes is refused here; the native code copies it into a
/// 65-byte stack buffer (undefined behaviour), verifies with its first 64 bytes and derives the address
/// from all of them. `curve25519VRFVerify(bytes,bytes,bytes)` is not provided (it reverts as unknown).
/// Gas is not FISCO's precompile pricing: this is EVM code, and one `sm2Verify` costs about 1.3M gas (about
/// half of it in SM3, 80k gas per 64-byte block), so calls need a generous gas limit.
contract FiscoCryptoPrecompileDouble {
    /// @notice The call named no function this double provides (FISCO: "CryptoPrecompiled call undefined function!").
    error CryptoPrecompiledUndefinedFunction(bytes4 selector);

    // Selectors: the first four bytes of SM3 (SM chain) and of keccak-256 (ECDSA chain) of the signature.
    bytes4 internal constant SM3_SM = 0xf25611b5; // sm3(bytes)
    bytes4 internal constant SM3_ECDSA = 0xfb34363c;
    bytes4 internal constant KECCAK256_HASH_SM = 0xb6510107; // keccak256Hash(bytes)
    bytes4 internal constant KECCAK256_HASH_ECDSA = 0xeb90f459;
    bytes4 internal constant SM2_VERIFY_SM = 0x22ede61e; // sm2Verify(bytes32,bytes,bytes32,bytes32)
    bytes4 internal constant SM2_VERIFY_ECDSA = 0xcbdb3a67;

    // sm2p256v1 (GB/T 32918.5-2017); a = p − 3.
    uint256 internal constant P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF;
    uint256 internal constant A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC;
    uint256 internal constant B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93;
    uint256 internal constant N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123;
    uint256 internal constant GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7;
    uint256 internal constant GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0;

    /// @dev ENTL ‖ ID of Z_A: the bit length of "1234567812345678" (128 = 0x0080) and the id itself.
    bytes internal constant ENTL_ID = hex"008031323334353637383132333435363738";

    fallback(bytes calldata input) external returns (bytes memory) {
        if (input.length < 4) revert CryptoPrecompiledUndefinedFunction(bytes4(0));
        bytes4 selector = bytes4(input[:4]);
        bytes calldata params = input[4:];
        if (selector == SM2_VERIFY_SM || selector == SM2_VERIFY_ECDSA) {
            (bool ok, address account) = sm2VerifyCall(params);
            return abi.encode(ok, account);
        }
        if (selector == SM3_SM || selector == SM3_ECDSA) {
            (, bytes calldata data) = readBytes(params, 0);
            return abi.encode(sm3(data));
        }
        if (selector == KECCAK256_HASH_SM || selector == KECCAK256_HASH_ECDSA) {
            (, bytes calldata data) = readBytes(params, 0);
            return abi.encode(keccak256(data));
        }
        revert CryptoPrecompiledUndefinedFunction(selector);
    }

    // ---------------------------------------------------------------------------------------------------
    // Arguments
    // ---------------------------------------------------------------------------------------------------

    /// @dev The `bytes` argument whose head (offset word) is at `head` of `params`, read as FISCO's
    /// `ContractABICodec::deserialize(bytes&, offset)` does: the offset word and the length word must lie
    /// inside `params`, and so must the `length` bytes after it; padding is not required. `ok` is false and
    /// `out` empty otherwise.
    function readBytes(bytes calldata params, uint256 head) internal pure returns (bool ok, bytes calldata out) {
        out = params[0:0];
        uint256 size = params.length;
        if (size < 32 || head > size - 32) return (false, out);
        uint256 offset = uint256(bytes32(params[head:head + 32]));
        if (offset > size - 32) return (false, out);
        uint256 length = uint256(bytes32(params[offset:offset + 32]));
        if (length > size - 32 - offset) return (false, out);
        return (true, params[offset + 32:offset + 32 + length]);
    }

    /// @dev `sm2Verify(bytes32 message, bytes publicKey, bytes32 r, bytes32 s)` on its ABI-encoded arguments.
    /// Arguments that cannot be read leave `publicKey` empty or `r`/`s` zero, which FISCO answers with
    /// `(false, 0)`; so does this.
    function sm2VerifyCall(bytes calldata params) internal view returns (bool, address) {
        if (params.length < 128) return (false, address(0));
        (bool ok, bytes calldata publicKey) = readBytes(params, 32);
        if (!ok) return (false, address(0));
        return sm2Verify(bytes32(params[0:32]), publicKey, uint256(bytes32(params[64:96])), uint256(bytes32(params[96:128])));
    }

    // ---------------------------------------------------------------------------------------------------
    // SM2 (GB/T 32918.2-2016 §7, verification)
    // ---------------------------------------------------------------------------------------------------

    /// @notice Whether (r, s) is an SM2 signature of `message` (with Z_A of the default user id) by the
    /// 64-byte key `x ‖ y`; on success also the key's FISCO account, the last 20 bytes of SM3(x ‖ y).
    function sm2Verify(bytes32 message, bytes calldata publicKey, uint256 r, uint256 s) internal view returns (bool, address) {
        if (publicKey.length != 64) return (false, address(0));
        if (r == 0 || r >= N || s == 0 || s >= N) return (false, address(0));
        uint256 t = addmod(r, s, N);
        if (t == 0) return (false, address(0));
        uint256 px = uint256(bytes32(publicKey[0:32]));
        uint256 py = uint256(bytes32(publicKey[32:64]));
        if (!onCurve(px, py)) return (false, address(0));
        (bool finite, uint256 x1) = mulAdd(s, t, px, py);
        if (!finite) return (false, address(0));
        if (addmod(signedDigest(message, publicKey), x1, N) != r) return (false, address(0));
        return (true, address(uint160(uint256(sm3(publicKey)))));
    }

    /// @dev e = SM3(Z_A ‖ message), Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) (GB/T 32918.2 §5.5, §7.1).
    function signedDigest(bytes32 message, bytes calldata publicKey) internal pure returns (uint256) {
        bytes32 z = sm3(abi.encodePacked(ENTL_ID, A, B, GX, GY, publicKey));
        return uint256(sm3(abi.encodePacked(z, message)));
    }

    /// @dev Whether (x, y) is an affine point of the curve with both coordinates reduced: y² = x³ + ax + b (mod p).
    function onCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= P || y >= P) return false;
        uint256 rhs = addmod(mulmod(addmod(mulmod(x, x, P), A, P), x, P), B, P);
        return mulmod(y, y, P) == rhs;
    }

    /// @dev The affine x of u·G + v·Q (Q = (qx, qy) on the curve), by Shamir's trick over the table
    /// {G, Q, G + Q} in Jacobian coordinates; `finite` is false for the point at infinity.
    function mulAdd(uint256 u, uint256 v, uint256 qx, uint256 qy) internal view returns (bool finite, uint256 x) {
        // table[0..1] = G, table[2..3] = Q, table[4..5] = G + Q (affine), table[6] = 1 iff G + Q is finite.
        uint256[7] memory table;
        table[0] = GX;
        table[1] = GY;
        table[2] = qx;
        table[3] = qy;
        {
            (uint256 sx, uint256 sy, uint256 sz) = jacobianAddAffine(GX, GY, 1, qx, qy);
            if (sz != 0) {
                (table[4], table[5]) = toAffine(sx, sy, sz);
                table[6] = 1;
            }
        }
        uint256 X;
        uint256 Y;
        uint256 Z; // Z = 0: the point at infinity
        for (uint256 i = 256; i > 0;) {
            unchecked {
                --i;
            }
            (X, Y, Z) = jacobianDouble(X, Y, Z);
            uint256 k = ((u >> i) & 1) | (((v >> i) & 1) << 1);
            if (k == 0 || (k == 3 && table[6] == 0)) continue;
            unchecked {
                (X, Y, Z) = jacobianAddAffine(X, Y, Z, table[2 * k - 2], table[2 * k - 1]);
            }
        }
        if (Z == 0) return (false, 0);
        uint256 zi = invModP(Z);
        return (true, mulmod(X, mulmod(zi, zi, P), P));
    }

    /// @dev 2·(x, y, z) in Jacobian coordinates for a = −3 ("dbl-2001-b", Bernstein–Lange Explicit-Formulas
    /// Database): delta = z², gamma = y², beta = x·gamma, alpha = 3(x − delta)(x + delta),
    /// x3 = alpha² − 8beta, z3 = (y + z)² − gamma − delta, y3 = alpha(4beta − x3) − 8gamma².
    function jacobianDouble(uint256 x, uint256 y, uint256 z) internal pure returns (uint256 x3, uint256 y3, uint256 z3) {
        if (z == 0) return (0, 0, 0);
        uint256 delta = mulmod(z, z, P);
        uint256 gamma = mulmod(y, y, P);
        uint256 beta = mulmod(x, gamma, P);
        uint256 alpha = mulmod(3, mulmod(addmod(x, P - delta, P), addmod(x, delta, P), P), P);
        x3 = addmod(mulmod(alpha, alpha, P), P - mulmod(8, beta, P), P);
        uint256 yz = addmod(y, z, P);
        z3 = addmod(mulmod(yz, yz, P), P - addmod(gamma, delta, P), P);
        y3 = addmod(mulmod(alpha, addmod(mulmod(4, beta, P), P - x3, P), P), P - mulmod(8, mulmod(gamma, gamma, P), P), P);
    }

    /// @dev (x1, y1, z1) + (x2, y2) with the second point affine (z2 = 1): u2 = x2·z1², s2 = y2·z1³,
    /// h = u2 − x1, r = s2 − y1, x3 = r² − h³ − 2·x1·h², y3 = r(x1·h² − x3) − y1·h³, z3 = z1·h.
    /// Handles the infinity operand, equal points (doubling) and opposite points (infinity).
    function jacobianAddAffine(uint256 x1, uint256 y1, uint256 z1, uint256 x2, uint256 y2)
        internal
        pure
        returns (uint256 x3, uint256 y3, uint256 z3)
    {
        if (z1 == 0) return (x2, y2, 1);
        uint256 zz = mulmod(z1, z1, P);
        uint256 h = addmod(mulmod(x2, zz, P), P - x1, P);
        uint256 r = addmod(mulmod(y2, mulmod(zz, z1, P), P), P - y1, P);
        if (h == 0) {
            if (r == 0) return jacobianDouble(x1, y1, z1);
            return (0, 0, 0);
        }
        uint256 hh = mulmod(h, h, P);
        uint256 hhh = mulmod(hh, h, P);
        uint256 v = mulmod(x1, hh, P);
        x3 = addmod(addmod(mulmod(r, r, P), P - hhh, P), P - addmod(v, v, P), P);
        y3 = addmod(mulmod(r, addmod(v, P - x3, P), P), P - mulmod(y1, hhh, P), P);
        z3 = mulmod(z1, h, P);
    }

    /// @dev Affine (x / z², y / z³) of a finite Jacobian point.
    function toAffine(uint256 x, uint256 y, uint256 z) internal view returns (uint256, uint256) {
        uint256 zi = invModP(z);
        uint256 zi2 = mulmod(zi, zi, P);
        return (mulmod(x, zi2, P), mulmod(y, mulmod(zi2, zi, P), P));
    }

    /// @dev z^(p−2) mod p (Fermat) through the modexp precompile at 0x05; z must be non-zero mod p.
    function invModP(uint256 z) internal view returns (uint256 zi) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), z)
            mstore(add(m, 0x80), sub(P, 2))
            mstore(add(m, 0xa0), P)
            if iszero(staticcall(gas(), 0x05, m, 0xc0, m, 0x20)) { revert(0, 0) }
            zi := mload(m)
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // SM3 (GB/T 32905-2016)
    // ---------------------------------------------------------------------------------------------------

    /// @notice The SM3 digest of `data`.
    function sm3(bytes memory data) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            // Scratch memory past the free memory pointer (not reserved; nothing else runs meanwhile):
            //   v   8 words   the chaining value V(i), one 32-bit word per memory word
            //   reg 8 words   the registers A..H during one compression
            //   w   68 words  the expanded message W0..W67 (W'j = Wj ⊕ Wj+4 is formed when used)
            //   buf           the padded message: data ‖ 0x80 ‖ 0…0 ‖ 64-bit bit length, a multiple of 64 bytes
            function rotl(x, n) -> y {
                y := and(or(shl(n, x), shr(sub(32, n), x)), 0xffffffff)
            }
            function p0(x) -> y {
                y := xor(xor(x, rotl(x, 9)), rotl(x, 17))
            }
            function p1(x) -> y {
                y := xor(xor(x, rotl(x, 15)), rotl(x, 23))
            }
            // One round j (§5.3.3): SS1, SS2, TT1, TT2 and the register shift.
            function round(reg, j, wj, wj4) {
                let a := mload(reg)
                let e := mload(add(reg, 0x80))
                let a12 := rotl(a, 12)
                let tj := 0x79cc4519
                if gt(j, 15) { tj := 0x7a879d8a }
                let ss1 := rotl(and(add(add(a12, e), rotl(tj, mod(j, 32))), 0xffffffff), 7)
                let ss2 := xor(ss1, a12)
                let b := mload(add(reg, 0x20))
                let c := mload(add(reg, 0x40))
                let f := mload(add(reg, 0xa0))
                let g := mload(add(reg, 0xc0))
                // FFj, GGj: XOR for j < 16, majority / choice after
                let ff := xor(xor(a, b), c)
                let gg := xor(xor(e, f), g)
                if gt(j, 15) {
                    ff := or(or(and(a, b), and(a, c)), and(b, c))
                    gg := or(and(e, f), and(not(e), g))
                }
                let tt1 := and(add(add(add(and(ff, 0xffffffff), mload(add(reg, 0x60))), ss2), xor(wj, wj4)), 0xffffffff)
                let tt2 := and(add(add(add(and(gg, 0xffffffff), mload(add(reg, 0xe0))), ss1), wj), 0xffffffff)
                mstore(add(reg, 0x60), c) // D ← C
                mstore(add(reg, 0x40), rotl(b, 9)) // C ← B <<< 9
                mstore(add(reg, 0x20), a) // B ← A
                mstore(reg, tt1) // A ← TT1
                mstore(add(reg, 0xe0), g) // H ← G
                mstore(add(reg, 0xc0), rotl(f, 19)) // G ← F <<< 19
                mstore(add(reg, 0xa0), e) // F ← E
                mstore(add(reg, 0x80), p0(tt2)) // E ← P0(TT2)
            }
            // CF(V, block) (§5.3.2, §5.3.3): V ← ABCDEFGH ⊕ V.
            function compress(v, reg, w, blk) {
                for { let j := 0 } lt(j, 16) { j := add(j, 1) } {
                    mstore(add(w, shl(5, j)), shr(224, mload(add(blk, shl(2, j)))))
                }
                for { let j := 16 } lt(j, 68) { j := add(j, 1) } {
                    let p := add(w, shl(5, j))
                    // Wj = P1(Wj−16 ⊕ Wj−9 ⊕ (Wj−3 <<< 15)) ⊕ (Wj−13 <<< 7) ⊕ Wj−6
                    let x := p1(xor(xor(mload(sub(p, 512)), mload(sub(p, 288))), rotl(mload(sub(p, 96)), 15)))
                    mstore(p, xor(xor(x, rotl(mload(sub(p, 416)), 7)), mload(sub(p, 192))))
                }
                for { let i := 0 } lt(i, 0x100) { i := add(i, 0x20) } { mstore(add(reg, i), mload(add(v, i))) }
                for { let j := 0 } lt(j, 64) { j := add(j, 1) } {
                    let p := add(w, shl(5, j))
                    round(reg, j, mload(p), mload(add(p, 0x80)))
                }
                for { let i := 0 } lt(i, 0x100) { i := add(i, 0x20) } {
                    mstore(add(v, i), xor(mload(add(v, i)), mload(add(reg, i))))
                }
            }

            let v := mload(0x40)
            let reg := add(v, 0x100)
            let w := add(reg, 0x100)
            let buf := add(w, mul(68, 0x20))
            let len := mload(data)
            let padded := shl(6, add(shr(6, add(len, 8)), 1))
            // zero the padding area first (scratch memory may hold old data), then lay out the message
            for { let i := 0 } lt(i, padded) { i := add(i, 0x20) } { mstore(add(buf, i), 0) }
            // the bit length fills the last word's low 8 bytes; the data and the 0x80 byte come after it, as
            // that word's store also covers up to 24 bytes before them
            mstore(add(buf, sub(padded, 0x20)), shl(3, len))
            mcopy(buf, add(data, 0x20), len)
            mstore8(add(buf, len), 0x80)

            // IV (§4.1)
            mstore(v, 0x7380166f)
            mstore(add(v, 0x20), 0x4914b2b9)
            mstore(add(v, 0x40), 0x172442d7)
            mstore(add(v, 0x60), 0xda8a0600)
            mstore(add(v, 0x80), 0xa96f30bc)
            mstore(add(v, 0xa0), 0x163138aa)
            mstore(add(v, 0xc0), 0xe38dee4d)
            mstore(add(v, 0xe0), 0xb0fb0e4e)

            for { let off := 0 } lt(off, padded) { off := add(off, 64) } { compress(v, reg, w, add(buf, off)) }

            for { let i := 0 } lt(i, 8) { i := add(i, 1) } {
                digest := or(digest, shl(sub(224, shl(5, i)), mload(add(v, shl(5, i)))))
            }
        }
    }
}
