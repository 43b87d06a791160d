// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../../interfaces/IShandu.sol";
import {CommitteeCore} from "../../lib/CommitteeCore.sol";
import {NativeAttestation} from "../interfaces/IShanduNativeInbox.sol";

/// @notice Committees whose attestations are checked with chain-native keys (the specification is
/// proofs/src/native.ts): the native keys of one scheme inside a committee encoding, checked against
/// uncompressed forms given alongside, the compact view a native registry stores, and the verification of
/// a native attestation against that view with the same checks, in the same order and with the same codes
/// as `verifyNativeAttestation`.
///
/// Schemes (docs/protocol.md §4.6): 1 = secp256k1, verified with `ecrecover` (precompile 0x01) against the
/// member's address, the last 20 bytes of keccak-256 of `x ‖ y`; 2 = SM2, verified by FISCO BCOS's
/// `CryptoPrecompiled.sm2Verify(bytes32 message, bytes publicKey, bytes32 r, bytes32 s) returns (bool,
/// address)` (FISCO-BCOS `bcos-executor/src/precompiled/CryptoPrecompiled.cpp`; 2.x:
/// `libprecompiled/extension/CryptoPrecompiled.cpp`), which hashes `SM3(Z_A ‖ message)` with the default
/// user id itself.
///
/// View layout: the `CommitteeCore` header, then n entries of weight (u32) ‖ index of the member's group
/// rule (u8, 0xff: none) ‖ key: the 20-byte address (secp256k1) or the 64-byte `x ‖ y` (SM2); all zero for
/// a member without a key of the scheme (no curve point is (0, 0), and no address of a key is 0).
library NativeCommittees {
    uint8 internal constant SECP256K1 = 1;
    uint8 internal constant SM2 = 2;
    bytes16 internal constant NATIVE_DOMAIN = "SHANDU-NATIVE-v1";
    /// @dev Bytes of one uncompressed key in `NativeCommitteeInput.keys`.
    uint256 internal constant KEY_INPUT_BYTES = 64;

    // secp256k1 (SEC 2 v2 §2.4.1): y² = x³ + 7 over F_p; half the group order, the largest low s.
    uint256 internal constant SECP_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    uint256 internal constant SECP_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    // sm2p256v1 (GB/T 32918.5-2017; proofs/src/fisco/crypto.ts SM2_CURVE): y² = x³ + ax + b over F_p.
    uint256 internal constant SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF;
    uint256 internal constant SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC;
    uint256 internal constant SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93;

    /// @notice How an inbox checks signatures: its scheme and, for SM2, where FISCO's crypto precompile is
    /// and the selector of `sm2Verify` on this chain (selectors are hashed with the chain's hash).
    struct Verifier {
        uint8 scheme;
        address sm2Precompile;
        bytes4 sm2Selector;
    }

    /// @notice Bytes of a member's key in the view.
    function keyBytes(uint8 scheme) internal pure returns (uint256) {
        return scheme == SECP256K1 ? 20 : 64;
    }

    /// @notice Bytes of one signature in `NativeAttestation.signatures`.
    function signatureBytes(uint8 scheme) internal pure returns (uint256) {
        return scheme == SECP256K1 ? 65 : 64;
    }

    // ---------------------------------------------------------------- validity and view

    /// @notice Validates the decoded committee `p` (encoding `e`) for `scheme` and returns its view. In order:
    /// per member, a unique id (`DUPLICATE_MEMBER_ID`), a unique BLS key (`DUPLICATE_PUBLIC_KEY`), and a
    /// key of the scheme that is a curve point equal to the next 64 bytes of `keys` (`INVALID_NATIVE_KEY`;
    /// `keys` too short or too long: `BAD_LENGTH`); then the threshold and group rules of §4.5
    /// (`INVALID_THRESHOLD`, `UNKNOWN_GROUP`, `POLICY_UNSATISFIABLE`); then that the members holding a key of
    /// the scheme can meet the policy on their own (`POLICY_UNSATISFIABLE`), since no one else can sign.
    /// BLS keys and proofs of possession are not checked: that needs a pairing.
    function buildView(CommitteeCore.Parsed memory p, bytes32 setHash, bytes calldata e, bytes calldata keys, uint8 scheme)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory entries = _entries(p, e, keys, scheme);
        CommitteeCore.checkPolicy(p);
        _checkHolders(p, entries, scheme);
        return bytes.concat(CommitteeCore.viewHeader(p, setHash), entries);
    }

    /// @dev The members' view entries, with the per-member checks of `buildView`.
    function _entries(CommitteeCore.Parsed memory p, bytes calldata e, bytes calldata keys, uint8 scheme)
        private
        pure
        returns (bytes memory entries)
    {
        uint256 n = p.members.length;
        uint256 size = 5 + keyBytes(scheme);
        entries = new bytes(n * size);
        uint256 used = 0;
        for (uint256 i = 0; i < n; i++) {
            CommitteeCore.checkUniqueId(p, i);
            CommitteeCore.checkUniqueBlsKey(p, e, i);
            bytes32 x;
            bytes32 y;
            (x, y, used) = _memberKey(e, p.members[i].keyAt, keys, used, scheme);
            bytes5 prefix = CommitteeCore.memberPrefix(p, i);
            assembly ("memory-safe") {
                // Entries are written in order; a write that runs past its entry is overwritten by the next.
                let q := add(add(entries, 0x20), mul(i, size))
                mstore(q, prefix)
                mstore(add(q, 5), x)
                mstore(add(q, 37), y)
            }
        }
        if (used != keys.length) revert ShanduRejected("BAD_LENGTH");
    }

    /// @dev The view key of the member whose BLS key is at `keyAt` (zero without a key of the scheme): the
    /// next 64 bytes of `keys` (from `used`), checked against the key in the encoding, as `x ‖ y` (SM2) or
    /// as the address left-aligned in `x` (secp256k1). Returns how many bytes of `keys` are used after it.
    function _memberKey(bytes calldata e, uint256 keyAt, bytes calldata keys, uint256 used, uint8 scheme)
        private
        pure
        returns (bytes32 x, bytes32 y, uint256)
    {
        (bool found, uint256 start, uint256 len) = _encodedKey(e, keyAt, scheme);
        if (!found) return (0, 0, used);
        if (keys.length < used + KEY_INPUT_BYTES) revert ShanduRejected("BAD_LENGTH");
        x = bytes32(keys[used:used + 32]);
        y = bytes32(keys[used + 32:used + 64]);
        if (!_matches(e[start:start + len], uint256(x), uint256(y), scheme)) revert ShanduRejected("INVALID_NATIVE_KEY");
        if (scheme == SECP256K1) {
            // The address ecrecover names, left-aligned (the following 12 bytes zero).
            x = bytes32(bytes20(uint160(uint256(keccak256(abi.encodePacked(x, y))))));
            y = 0;
        }
        return (x, y, used + KEY_INPUT_BYTES);
    }

    /// @dev The first native key of `scheme` of the member whose BLS key is at `keyAt`: where it starts in the
    /// encoding and its length. The encoding was decoded by `CommitteeCore.parse`, so the list is well formed.
    function _encodedKey(bytes calldata e, uint256 keyAt, uint8 scheme) private pure returns (bool found, uint256 start, uint256 len) {
        uint256 pos = keyAt + CommitteeCore.BLS_KEY_AND_POP_BYTES;
        uint256 count = uint8(e[pos]);
        pos += 1;
        for (uint256 k = 0; k < count; k++) {
            len = uint8(e[pos + 1]);
            if (uint8(e[pos]) == scheme) return (true, pos + 2, len);
            pos += 2 + len;
        }
        return (false, 0, 0);
    }

    /// @dev Whether (x, y) is a point of the scheme's curve with reduced coordinates and the point that the
    /// SEC1 key `encoded` stands for: `04 ‖ x ‖ y`, or (secp256k1 only) `02/03 ‖ x` with the parity of y.
    function _matches(bytes calldata encoded, uint256 x, uint256 y, uint8 scheme) private pure returns (bool) {
        if (!onCurve(x, y, scheme)) return false;
        uint8 tag = uint8(encoded[0]);
        if (uint256(bytes32(encoded[1:33])) != x) return false;
        if (encoded.length == 65) return tag == 4 && uint256(bytes32(encoded[33:65])) == y;
        return tag == 2 + (y & 1);
    }

    /// @notice Whether (x, y) is an affine point of the scheme's curve, both coordinates below p.
    function onCurve(uint256 x, uint256 y, uint8 scheme) internal pure returns (bool) {
        if (scheme == SECP256K1) {
            if (x >= SECP_P || y >= SECP_P) return false;
            return mulmod(y, y, SECP_P) == addmod(mulmod(mulmod(x, x, SECP_P), x, SECP_P), 7, SECP_P);
        }
        if (x >= SM2_P || y >= SM2_P) return false;
        uint256 rhs = addmod(mulmod(addmod(mulmod(x, x, SM2_P), SM2_A, SM2_P), x, SM2_P), SM2_B, SM2_P);
        return mulmod(y, y, SM2_P) == rhs;
    }

    /// @dev `POLICY_UNSATISFIABLE` unless the members with a key of the scheme, all signing, meet the policy.
    function _checkHolders(CommitteeCore.Parsed memory p, bytes memory entries, uint8 scheme) private pure {
        uint256 rules = p.ruleGroups.length;
        uint256[] memory counts = new uint256[](rules);
        uint256 total = 0;
        uint256 held = 0;
        uint256 size = 5 + keyBytes(scheme);
        for (uint256 i = 0; i < p.members.length; i++) {
            uint256 weight = p.members[i].weight;
            total += weight;
            if (!_hasKey(entries, i * size, scheme)) continue;
            held += weight;
            uint256 rule = uint8(bytes1(entries[i * size + 4]));
            if (rule != 0xff) counts[rule]++;
        }
        if (held * p.denominator < uint256(p.numerator) * total) revert ShanduRejected("POLICY_UNSATISFIABLE");
        for (uint256 q = 0; q < rules; q++) {
            if (counts[q] < p.ruleMins[q]) revert ShanduRejected("POLICY_UNSATISFIABLE");
        }
    }

    /// @dev Whether the entry at offset `entry` of `buf` holds a key (its key bytes are not all zero).
    function _hasKey(bytes memory buf, uint256 entry, uint8 scheme) private pure returns (bool has) {
        bool secp = scheme == SECP256K1;
        assembly ("memory-safe") {
            let q := add(add(buf, 0x20), add(entry, 5))
            switch secp
            case 0 { has := or(mload(q), mload(add(q, 32))) }
            default { has := shr(96, mload(q)) }
        }
    }

    // ---------------------------------------------------------------- attestation

    /// @notice Checks a native attestation by the committee of view `v` over `signingRoot` (which the caller
    /// computed itself), in the order of `verifyNativeAttestation` (proofs/src/native.ts): `EPOCH_MISMATCH`,
    /// `COMMITTEE_HASH_MISMATCH`, `BITFIELD_LENGTH`, `BITFIELD_TRAILING_BITS`, `EMPTY_SIGNER_SET`,
    /// `NATIVE_SIGNATURES_LENGTH`, then per signer in member order `NATIVE_KEY_MISSING` or
    /// `NATIVE_SIGNATURE_INVALID` (`NATIVE_VERIFIER_UNAVAILABLE` when the SM2 precompile gave no answer),
    /// then `QUORUM_WEIGHT_NOT_MET`, `QUORUM_GROUP_NOT_MET`. Returns 0 when it verifies.
    function checkAttestation(bytes memory v, NativeAttestation calldata a, bytes32 signingRoot, Verifier memory vf)
        internal
        view
        returns (bytes32)
    {
        if (a.epoch != CommitteeCore.viewEpoch(v)) return "EPOCH_MISMATCH";
        if (a.committeeSetHash != CommitteeCore.viewSetHash(v)) return "COMMITTEE_HASH_MISMATCH";
        CommitteeCore.Policy memory p = CommitteeCore.viewPolicy(v);
        bytes32 code = CommitteeCore.bitfieldCode(a.signers, p.n);
        if (code != 0) return code;
        uint256 signers = _count(a.signers);
        if (signers == 0) return "EMPTY_SIGNER_SET";
        if (a.signatures.length != signers * signatureBytes(vf.scheme)) return "NATIVE_SIGNATURES_LENGTH";
        uint256[] memory ruleCounts = new uint256[](p.rules);
        uint256 weight;
        (code, weight) = _checkSigners(v, p, a, sha256(abi.encodePacked(NATIVE_DOMAIN, vf.scheme, signingRoot)), vf, ruleCounts);
        if (code != 0) return code;
        return CommitteeCore.quorumCode(v, p, weight, ruleCounts);
    }

    /// @dev The number of bits set.
    function _count(bytes calldata bits) private pure returns (uint256 n) {
        for (uint256 b = 0; b < bits.length; b++) {
            for (uint256 x = uint8(bits[b]); x != 0; x &= x - 1) {
                n++;
            }
        }
    }

    /// @dev Each signer's signature over `digest` on its key, in member order; the signers' weight and
    /// per-rule counts.
    function _checkSigners(
        bytes memory v,
        CommitteeCore.Policy memory p,
        NativeAttestation calldata a,
        bytes32 digest,
        Verifier memory vf,
        uint256[] memory ruleCounts
    ) private view returns (bytes32 code, uint256 weight) {
        uint256 first = CommitteeCore.membersAt(p);
        uint256 k = 0;
        for (uint256 i = 0; i < p.n; i++) {
            if ((uint8(a.signers[i >> 3]) >> (i & 7)) & 1 == 0) continue;
            uint256 head;
            (code, head) = _checkSigner(v, first + i * (5 + keyBytes(vf.scheme)), a.signatures, k, digest, vf);
            if (code != 0) return (code, 0);
            k++;
            weight += head >> 224;
            uint256 rule = (head >> 216) & 0xff;
            if (rule != 0xff) ruleCounts[rule]++;
        }
    }

    /// @dev The `k`-th signature on the key of the view entry at `pos`; returns the entry's first word.
    function _checkSigner(bytes memory v, uint256 pos, bytes calldata signatures, uint256 k, bytes32 digest, Verifier memory vf)
        private
        view
        returns (bytes32 code, uint256 head)
    {
        bytes32 x;
        bytes32 y;
        assembly ("memory-safe") {
            let q := add(add(v, 0x20), pos)
            head := mload(q)
            x := mload(add(q, 5))
            y := mload(add(q, 37))
        }
        uint256 sigSize = signatureBytes(vf.scheme);
        bytes calldata sig = signatures[k * sigSize:(k + 1) * sigSize];
        if (vf.scheme == SECP256K1) {
            address member = address(bytes20(x));
            if (member == address(0)) return ("NATIVE_KEY_MISSING", head);
            if (!_secp256k1Valid(digest, sig, member)) return ("NATIVE_SIGNATURE_INVALID", head);
            return (0, head);
        }
        if (x == 0 && y == 0) return ("NATIVE_KEY_MISSING", head);
        return (_sm2Check(vf, digest, x, y, sig), head);
    }

    /// @dev A 65-byte `r ‖ s ‖ v` with v ∈ {27, 28}, non-zero r, s ≤ n/2, that `ecrecover` maps to `member`.
    function _secp256k1Valid(bytes32 digest, bytes calldata sig, address member) private pure returns (bool) {
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 recovery = uint8(sig[64]);
        if (recovery != 27 && recovery != 28) return false;
        if (r == 0 || s == 0 || uint256(s) > SECP_HALF_N) return false;
        return ecrecover(digest, recovery, r, s) == member;
    }

    /// @dev Asks FISCO's `sm2Verify(digest, x ‖ y, r, s)`: 0 when it answers (true, …), `NATIVE_SIGNATURE_INVALID`
    /// when it answers (false, …), `NATIVE_VERIFIER_UNAVAILABLE` when the call fails or its answer is not
    /// the 64-byte `(bool, address)` (no precompile at the address: the call succeeds with no data).
    function _sm2Check(Verifier memory vf, bytes32 digest, bytes32 x, bytes32 y, bytes calldata sig) private view returns (bytes32) {
        address target = vf.sm2Precompile;
        bytes4 selector = vf.sm2Selector;
        bool ok;
        uint256 answer;
        assembly ("memory-safe") {
            // sm2Verify(bytes32 message, bytes publicKey, bytes32 r, bytes32 s), ABI-encoded in free memory
            // (not kept): selector, message, offset of publicKey (0x80), r, s, then publicKey's length and bytes.
            let q := mload(0x40)
            mstore(q, selector)
            mstore(add(q, 4), digest)
            mstore(add(q, 36), 0x80)
            mstore(add(q, 68), calldataload(sig.offset))
            mstore(add(q, 100), calldataload(add(sig.offset, 32)))
            mstore(add(q, 132), 64)
            mstore(add(q, 164), x)
            mstore(add(q, 196), y)
            ok := staticcall(gas(), target, q, 228, 0, 0)
            if and(ok, eq(returndatasize(), 64)) {
                returndatacopy(0, 0, 32)
                answer := mload(0)
            }
            if iszero(eq(returndatasize(), 64)) { ok := 0 }
        }
        if (!ok || answer > 1) return "NATIVE_VERIFIER_UNAVAILABLE";
        return answer == 1 ? bytes32(0) : bytes32("NATIVE_SIGNATURE_INVALID");
    }
}
