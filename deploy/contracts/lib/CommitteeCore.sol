// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";
import {Utf8} from "./Utf8.sol";

/// @notice What every on-chain committee registry shares, whatever keys it checks signatures with: strict
/// decoding of the canonical encoding (docs/protocol.md §4.2), `committeeSetHash` (§4.3), the policy rules
/// of §4.5 (threshold, group rules), the header of the compact "view" a registry stores, and the quorum
/// check of §4.4 against that header. Uses no opcode newer than Paris, so that both the BLS registry
/// (`Committees`, Prague) and the native-key registry for FISCO BCOS (`NativeCommittees`, Paris) build on it.
///
/// View header (stored as contract code with `ViewStore`; the member entries that follow it are the
/// registry's own):
///   0   32  committeeSetHash
///   32   8  epoch
///   40   2  member count n
///   42   4  threshold numerator
///   46   4  threshold denominator
///   50   8  total weight
///   58   1  group rule count r
///   59  2r  minSigners of each rule, in policy order
///   then n entries, each starting with: weight (u32) ‖ index of the member's group rule (u8, 0xff: none)
library CommitteeCore {
    bytes19 internal constant DOMAIN = "SHANDU-COMMITTEE-v1";
    uint256 internal constant MAX_MEMBERS = 1024;
    uint256 internal constant MAX_NAME_BYTES = 64;
    /// @dev Bytes of the view header before the rules' minSigners.
    uint256 internal constant VIEW_HEADER_BYTES = 59;
    /// @dev In an encoded member, the BLS key (48) and proof of possession (96) come between the weight and
    /// the native key count.
    uint256 internal constant BLS_KEY_AND_POP_BYTES = 144;

    struct Member {
        bytes32 idHash;
        bytes32 groupHash;
        uint32 weight;
        /// @dev Offset of the 48-byte compressed key in the encoding; the 96-byte PoP follows it, then the
        /// native key count.
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
            _need(e, pos + 4 + BLS_KEY_AND_POP_BYTES + 1);
            m.weight = uint32(bytes4(e[pos:pos + 4]));
            if (m.weight == 0 && valueError == 0) valueError = "INVALID_WEIGHT";
            m.keyAt = pos + 4;
            pos += 4 + BLS_KEY_AND_POP_BYTES;
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

    /// @notice The epoch an encoding names (its first 8 bytes), or 0 when it is shorter than that; the
    /// decoder refuses such an encoding (`TRUNCATED`).
    function encodedEpoch(bytes memory e) internal pure returns (uint64 epoch) {
        if (e.length < 8) return 0;
        assembly ("memory-safe") {
            epoch := shr(192, mload(add(e, 0x20)))
        }
    }

    // ---------------------------------------------------------------- validity (§4.5)

    /// @notice §4.5 rule 2.1 for member `i`: its id differs from every earlier member's.
    function checkUniqueId(Parsed memory p, uint256 i) internal pure {
        bytes32 id = p.members[i].idHash;
        for (uint256 j = 0; j < i; j++) {
            if (p.members[j].idHash == id) revert ShanduRejected("DUPLICATE_MEMBER_ID");
        }
    }

    /// @notice §4.5 rule 2.3 for member `i`: its compressed BLS key differs from every earlier member's. (A
    /// key's validity, rule 2.2, needs a BLS12-381 implementation and is the BLS registry's.)
    function checkUniqueBlsKey(Parsed memory p, bytes calldata e, uint256 i) internal pure {
        uint256 keyAt = p.members[i].keyAt;
        bytes32 key = keccak256(e[keyAt:keyAt + 48]);
        for (uint256 j = 0; j < i; j++) {
            uint256 o = p.members[j].keyAt;
            if (keccak256(e[o:o + 48]) == key) revert ShanduRejected("DUPLICATE_PUBLIC_KEY");
        }
    }

    /// @notice §4.5 rules 4 and 5: a threshold strictly above one half and at most one, then each group rule
    /// names a group of its own, with members, and at least `minSigners` of them.
    function checkPolicy(Parsed memory p) internal pure {
        uint256 num = p.numerator;
        uint256 den = p.denominator;
        if (den == 0 || num > den || 2 * num <= den) revert ShanduRejected("INVALID_THRESHOLD");
        uint256 n = p.members.length;
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

    /// @notice The view header (layout in the library comment), before the member entries.
    function viewHeader(Parsed memory p, bytes32 h) internal pure returns (bytes memory v) {
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
    }

    /// @notice Member `i`'s view entry prefix: its weight and the index of its group's rule (0xff: none).
    function memberPrefix(Parsed memory p, uint256 i) internal pure returns (bytes5) {
        uint8 rule = 0xff;
        bytes32 g = p.members[i].groupHash;
        for (uint256 q = 0; q < p.ruleGroups.length; q++) {
            if (p.ruleGroups[q] == g) {
                rule = uint8(q);
                break;
            }
        }
        return bytes5(uint40(p.members[i].weight) << 8 | rule);
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

    /// @notice Offset in the view of the first member entry.
    function membersAt(Policy memory p) internal pure returns (uint256) {
        return VIEW_HEADER_BYTES + 2 * p.rules;
    }

    // ---------------------------------------------------------------- attestation checks (§6.4)

    /// @notice §6.2: a bitfield of exactly ceil(n/8) bytes with no bit set at a position ≥ n; 0 when it is
    /// one, else `BITFIELD_LENGTH` or `BITFIELD_TRAILING_BITS`.
    function bitfieldCode(bytes calldata bits, uint256 n) internal pure returns (bytes32) {
        if (bits.length != (n + 7) / 8) return "BITFIELD_LENGTH";
        if (n % 8 != 0 && (uint8(bits[bits.length - 1]) >> (n % 8)) != 0) return "BITFIELD_TRAILING_BITS";
        return 0;
    }

    /// @notice §4.4 steps 2 and 3 for signers of weight `weight` and per-rule member counts `ruleCounts`:
    /// 0 when the policy of view `v` is met, else `QUORUM_WEIGHT_NOT_MET` or `QUORUM_GROUP_NOT_MET`.
    function quorumCode(bytes memory v, Policy memory p, uint256 weight, uint256[] memory ruleCounts) internal pure returns (bytes32) {
        if (weight * p.denominator < p.numerator * p.totalWeight) return "QUORUM_WEIGHT_NOT_MET";
        for (uint256 q = 0; q < p.rules; q++) {
            uint256 min;
            assembly ("memory-safe") {
                min := shr(240, mload(add(add(v, 0x20), add(59, mul(q, 2)))))
            }
            if (ruleCounts[q] < min) return "QUORUM_GROUP_NOT_MET";
        }
        return 0;
    }
}

/// @notice The structural decoding every committee validator contract offers.
abstract contract CommitteeDecoder {
    /// @notice Structural decoding only (§4.2); returns the committee's epoch and committeeSetHash.
    function parse(bytes calldata encoding) external pure returns (uint64 epoch, bytes32 setHash) {
        CommitteeCore.Parsed memory p = CommitteeCore.parse(encoding);
        return (p.epoch, CommitteeCore.setHash(encoding));
    }
}
