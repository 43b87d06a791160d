// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {EvmAttestation, ShanduRejected} from "../interfaces/IShandu.sol";
import {Bls12381} from "./Bls12381.sol";
import {Utf8} from "./Utf8.sol";

/// @notice Committees on chain: strict decoding of the canonical encoding (docs/protocol.md §4.2), the
/// validity rules (§4.5) including proofs of possession checked with the pairing precompile, the compact
/// "view" a registry stores, and attestation verification (§6.4) against a view.
///
/// View layout (stored as contract code, read with EXTCODECOPY; internal to this contract family):
///   0   32  committeeSetHash
///   32   8  epoch
///   40   2  member count n
///   42   4  threshold numerator
///   46   4  threshold denominator
///   50   8  total weight
///   58   1  group rule count r
///   59  2r  minSigners of each rule, in policy order
///   then n × 133: weight (u32) ‖ index of the member's group rule (u8, 0xff: none) ‖ EIP-2537 G1 key (128)
library Committees {
    bytes19 internal constant DOMAIN = "SHANDU-COMMITTEE-v1";
    uint256 internal constant MAX_MEMBERS = 1024;
    /// @dev A view is stored as contract code, at most 24,576 bytes (EIP-170): 180 members fit.
    uint256 internal constant MAX_EVM_MEMBERS = 180;
    uint256 internal constant MAX_NAME_BYTES = 64;
    uint256 internal constant MEMBER_VIEW_BYTES = 133;
    uint256 internal constant G1_BYTES = 128;
    uint256 internal constant G2_BYTES = 256;

    struct Member {
        bytes32 idHash;
        bytes32 groupHash;
        uint32 weight;
        /// @dev Offset of the 48-byte compressed key in the encoding; the 96-byte PoP follows it.
        uint256 keyAt;
    }

    struct Parsed {
        uint64 epoch;
        Member[] members;
        uint32 numerator;
        uint32 denominator;
        bytes32[] ruleGroups;
        uint16[] ruleMins;
    }

    // ---------------------------------------------------------------- decoding (§4.2)

    /// @notice Strict decoding with the reference decoder's order: structural errors while reading, then the
    /// encoder's value checks (first failing member or rule decides).
    function parse(bytes calldata e) internal pure returns (Parsed memory p) {
        uint256 pos = 0;
        bytes32 valueError = 0;
        if (e.length < 10) revert ShanduRejected("TRUNCATED");
        p.epoch = uint64(bytes8(e[0:8]));
        uint256 n = uint16(bytes2(e[8:10]));
        pos = 10;
        if (n == 0) revert ShanduRejected("EMPTY_COMMITTEE");
        if (n > MAX_MEMBERS) revert ShanduRejected("TOO_MANY_MEMBERS");
        p.members = new Member[](n);
        for (uint256 i = 0; i < n; i++) {
            Member memory m = p.members[i];
            uint256 len;
            (m.idHash, len, pos) = _name(e, pos);
            if (len == 0 && valueError == 0) valueError = "FIELD_TOO_LONG";
            (m.groupHash, len, pos) = _name(e, pos);
            if (len == 0 && valueError == 0) valueError = "FIELD_TOO_LONG";
            _need(e, pos + 4 + 48 + 96 + 1);
            m.weight = uint32(bytes4(e[pos:pos + 4]));
            if (m.weight == 0 && valueError == 0) valueError = "INVALID_WEIGHT";
            m.keyAt = pos + 4;
            pos += 4 + 48 + 96;
            uint256 nk = uint8(e[pos]);
            pos += 1;
            if (nk > 4) revert ShanduRejected("FIELD_TOO_LONG");
            for (uint256 k = 0; k < nk; k++) {
                _need(e, pos + 2);
                uint8 scheme = uint8(e[pos]);
                uint256 kl = uint8(e[pos + 1]);
                if (scheme != 1 && scheme != 2) revert ShanduRejected("INVALID_NATIVE_KEY");
                if (kl > 65) revert ShanduRejected("FIELD_TOO_LONG");
                pos += 2;
                _need(e, pos + kl);
                pos += kl;
                bool okLength = scheme == 1 ? (kl == 33 || kl == 65) : kl == 65;
                if (!okLength && valueError == 0) valueError = "INVALID_NATIVE_KEY";
            }
        }
        _need(e, pos + 9);
        p.numerator = uint32(bytes4(e[pos:pos + 4]));
        p.denominator = uint32(bytes4(e[pos + 4:pos + 8]));
        uint256 r = uint8(e[pos + 8]);
        pos += 9;
        p.ruleGroups = new bytes32[](r);
        p.ruleMins = new uint16[](r);
        for (uint256 i = 0; i < r; i++) {
            uint256 len;
            (p.ruleGroups[i], len, pos) = _name(e, pos);
            _need(e, pos + 2);
            p.ruleMins[i] = uint16(bytes2(e[pos:pos + 2]));
            pos += 2;
            if (valueError == 0) {
                if (p.ruleMins[i] == 0) valueError = "INVALID_THRESHOLD";
                else if (len == 0) valueError = "FIELD_TOO_LONG";
            }
        }
        if (pos != e.length) revert ShanduRejected("TRAILING_BYTES");
        if (valueError != 0) revert ShanduRejected(valueError);
    }

    function _need(bytes calldata e, uint256 end) private pure {
        if (e.length < end) revert ShanduRejected("TRUNCATED");
    }

    /// @dev A `bytes8(64)` UTF-8 name: returns its keccak (for equality tests only), length and the next offset.
    function _name(bytes calldata e, uint256 pos) private pure returns (bytes32 h, uint256 len, uint256 next) {
        _need(e, pos + 1);
        len = uint8(e[pos]);
        if (len > MAX_NAME_BYTES) revert ShanduRejected("FIELD_TOO_LONG");
        next = pos + 1 + len;
        _need(e, next);
        bytes calldata s = e[pos + 1:next];
        if (!Utf8.valid(s)) revert ShanduRejected("BAD_LENGTH");
        h = keccak256(s);
    }

    /// @notice committeeSetHash = SHA-256("SHANDU-COMMITTEE-v1" ‖ encoding) (§4.3).
    function setHash(bytes calldata e) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(DOMAIN, e));
    }

    // ---------------------------------------------------------------- validity (§4.5)

    /// @notice The validity rules of §4.5 in the reference order. `keys` and `pops` are the EIP-2537 forms of
    /// every member's key and proof of possession, in member order; they must be the decompressions of the
    /// compressed values in the encoding.
    function validate(Parsed memory p, bytes calldata e, bytes calldata keys, bytes calldata pops) internal view {
        uint256 n = p.members.length;
        if (n > MAX_EVM_MEMBERS) revert ShanduRejected("EVM_COMMITTEE_TOO_LARGE");
        if (keys.length != n * G1_BYTES || pops.length != n * G2_BYTES) revert ShanduRejected("BAD_LENGTH");
        for (uint256 i = 0; i < n; i++) {
            Member memory m = p.members[i];
            for (uint256 j = 0; j < i; j++) {
                if (p.members[j].idHash == m.idHash) revert ShanduRejected("DUPLICATE_MEMBER_ID");
            }
            bytes calldata c = e[m.keyAt:m.keyAt + 48];
            if (!Bls12381.g1Matches(c, keys[i * G1_BYTES:(i + 1) * G1_BYTES])) revert ShanduRejected("INVALID_MEMBER_KEY");
            if (!Bls12381.g1InSubgroup(keys[i * G1_BYTES:(i + 1) * G1_BYTES])) revert ShanduRejected("INVALID_MEMBER_KEY");
            for (uint256 j = 0; j < i; j++) {
                uint256 o = p.members[j].keyAt;
                if (keccak256(e[o:o + 48]) == keccak256(c)) revert ShanduRejected("DUPLICATE_PUBLIC_KEY");
            }
        }
        for (uint256 i = 0; i < n; i++) {
            uint256 pos = p.members[i].keyAt;
            bytes calldata pop = pops[i * G2_BYTES:(i + 1) * G2_BYTES];
            bool ok = Bls12381.g2Matches(e[pos + 48:pos + 144], pop)
                && Bls12381.verifyPossession(keys[i * G1_BYTES:(i + 1) * G1_BYTES], e[pos:pos + 48], pop);
            if (!ok) revert ShanduRejected("INVALID_PROOF_OF_POSSESSION");
        }
        uint256 num = p.numerator;
        uint256 den = p.denominator;
        if (den == 0 || num > den || 2 * num <= den) revert ShanduRejected("INVALID_THRESHOLD");
        for (uint256 r = 0; r < p.ruleGroups.length; r++) {
            bytes32 g = p.ruleGroups[r];
            for (uint256 q = 0; q < r; q++) {
                if (p.ruleGroups[q] == g) revert ShanduRejected("INVALID_THRESHOLD");
            }
            uint256 size = 0;
            for (uint256 i = 0; i < n; i++) {
                if (p.members[i].groupHash == g) size++;
            }
            if (size == 0) revert ShanduRejected("UNKNOWN_GROUP");
            if (size < p.ruleMins[r]) revert ShanduRejected("POLICY_UNSATISFIABLE");
        }
    }

    // ---------------------------------------------------------------- view

    /// @notice The compact form a registry stores (layout in the library comment).
    function buildView(Parsed memory p, bytes32 h, bytes calldata keys) internal pure returns (bytes memory v) {
        uint256 n = p.members.length;
        uint256 r = p.ruleGroups.length;
        uint256 total = 0;
        for (uint256 i = 0; i < n; i++) {
            total += p.members[i].weight;
        }
        v = abi.encodePacked(h, p.epoch, uint16(n), p.numerator, p.denominator, uint64(total), uint8(r));
        for (uint256 q = 0; q < r; q++) {
            v = bytes.concat(v, bytes2(p.ruleMins[q]));
        }
        for (uint256 i = 0; i < n; i++) {
            uint8 rule = 0xff;
            for (uint256 q = 0; q < r; q++) {
                if (p.ruleGroups[q] == p.members[i].groupHash) {
                    rule = uint8(q);
                    break;
                }
            }
            v = bytes.concat(v, bytes4(p.members[i].weight), bytes1(rule), keys[i * G1_BYTES:(i + 1) * G1_BYTES]);
        }
    }

    function viewSetHash(bytes memory v) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := mload(add(v, 0x20))
        }
    }

    function viewEpoch(bytes memory v) internal pure returns (uint64 epoch) {
        assembly ("memory-safe") {
            epoch := shr(192, mload(add(v, 0x40)))
        }
    }

    // ---------------------------------------------------------------- attestation (§6.4)

    struct Policy {
        uint256 n;
        uint256 numerator;
        uint256 denominator;
        uint256 totalWeight;
        uint256 rules;
    }

    function viewPolicy(bytes memory v) internal pure returns (Policy memory p) {
        uint256 w;
        assembly ("memory-safe") {
            w := mload(add(v, 0x48)) // bytes 40..71
        }
        p.n = w >> 240;
        p.numerator = (w >> 208) & 0xffffffff;
        p.denominator = (w >> 176) & 0xffffffff;
        p.totalWeight = (w >> 112) & 0xffffffffffffffff;
        p.rules = (w >> 104) & 0xff;
    }

    /// @notice Checks an attestation by the committee of view `v` over `signingRoot`, in the order of §6.4.
    /// Returns 0 when it verifies, else the failing check's code. The caller computed `signingRoot` itself.
    function checkAttestation(bytes memory v, EvmAttestation calldata a, bytes32 signingRoot) internal view returns (bytes32) {
        if (a.epoch != viewEpoch(v)) return "EPOCH_MISMATCH";
        if (a.committeeSetHash != viewSetHash(v)) return "COMMITTEE_HASH_MISMATCH";
        Policy memory p = viewPolicy(v);
        bytes calldata bits = a.signers;
        if (bits.length != (p.n + 7) / 8) return "BITFIELD_LENGTH";
        if (p.n % 8 != 0 && (uint8(bits[bits.length - 1]) >> (p.n % 8)) != 0) return "BITFIELD_TRAILING_BITS";
        bytes memory acc = new bytes(2 * G1_BYTES);
        (uint256 signers, uint256 weight, uint256[] memory ruleCounts) = _tally(v, bits, p, acc);
        if (signers == 0) return "EMPTY_SIGNER_SET";
        if (weight * p.denominator < p.numerator * p.totalWeight) return "QUORUM_WEIGHT_NOT_MET";
        for (uint256 q = 0; q < p.rules; q++) {
            uint256 min;
            assembly ("memory-safe") {
                min := shr(240, mload(add(add(v, 0x20), add(59, mul(q, 2)))))
            }
            if (ruleCounts[q] < min) return "QUORUM_GROUP_NOT_MET";
        }
        return Bls12381.verifyAggregate(acc, signingRoot, a.signature);
    }

    /// @dev Signer count, weight and per-rule counts of a bitfield; sums the signers' keys into `acc`.
    function _tally(bytes memory v, bytes calldata bits, Policy memory p, bytes memory acc)
        private
        view
        returns (uint256 signers, uint256 weight, uint256[] memory ruleCounts)
    {
        ruleCounts = new uint256[](p.rules);
        uint256 membersAt = 59 + 2 * p.rules;
        for (uint256 i = 0; i < p.n; i++) {
            if ((uint8(bits[i >> 3]) >> (i & 7)) & 1 == 0) continue;
            uint256 pos = membersAt + i * MEMBER_VIEW_BYTES;
            uint256 word;
            assembly ("memory-safe") {
                word := mload(add(add(v, 0x20), pos))
            }
            weight += word >> 224;
            uint256 rule = (word >> 216) & 0xff;
            if (rule != 0xff) ruleCounts[rule]++;
            Bls12381.accumulateG1(acc, v, pos + 5, signers == 0);
            signers++;
        }
    }
}
