// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {EvmAttestation, ShanduRejected} from "../interfaces/IShandu.sol";
import {Bls12381} from "./Bls12381.sol";
import {CommitteeCore} from "./CommitteeCore.sol";

/// @notice Committees verified with BLS on chain: the validity rules (§4.5) including proofs of possession
/// checked with the pairing precompile, the compact "view" a registry stores, and attestation
/// verification (§6.4) against a view. Decoding (§4.2), `committeeSetHash`, the policy rules and the view
/// header are `CommitteeCore`'s, shared with the native-key registry.
///
/// View layout (stored as contract code, read with EXTCODECOPY; internal to this contract family): the
/// `CommitteeCore` header, then n × 133: weight (u32) ‖ index of the member's group rule (u8, 0xff: none)
/// ‖ EIP-2537 G1 key (128)
library Committees {
    /// @dev A view is stored as contract code, at most 24,576 bytes (EIP-170): 180 members fit.
    uint256 internal constant MAX_EVM_MEMBERS = 180;
    uint256 internal constant MEMBER_VIEW_BYTES = 133;
    uint256 internal constant G1_BYTES = 128;
    uint256 internal constant G2_BYTES = 256;

    // ---------------------------------------------------------------- validity (§4.5)

    /// @notice The validity rules of §4.5 in the reference order. `keys` and `pops` are the EIP-2537 forms of
    /// every member's key and proof of possession, in member order; they must be the decompressions of the
    /// compressed values in the encoding.
    function validate(CommitteeCore.Parsed memory p, bytes calldata e, bytes calldata keys, bytes calldata pops) internal view {
        uint256 n = p.members.length;
        if (n > MAX_EVM_MEMBERS) revert ShanduRejected("EVM_COMMITTEE_TOO_LARGE");
        if (keys.length != n * G1_BYTES || pops.length != n * G2_BYTES) revert ShanduRejected("BAD_LENGTH");
        for (uint256 i = 0; i < n; i++) {
            CommitteeCore.Member memory m = p.members[i];
            CommitteeCore.checkUniqueId(p, i);
            bytes calldata c = e[m.keyAt:m.keyAt + 48];
            if (!Bls12381.g1Matches(c, keys[i * G1_BYTES:(i + 1) * G1_BYTES])) revert ShanduRejected("INVALID_MEMBER_KEY");
            if (!Bls12381.g1InSubgroup(keys[i * G1_BYTES:(i + 1) * G1_BYTES])) revert ShanduRejected("INVALID_MEMBER_KEY");
            CommitteeCore.checkUniqueBlsKey(p, e, i);
        }
        for (uint256 i = 0; i < n; i++) {
            uint256 pos = p.members[i].keyAt;
            bytes calldata pop = pops[i * G2_BYTES:(i + 1) * G2_BYTES];
            bool ok = Bls12381.g2Matches(e[pos + 48:pos + 144], pop)
                && Bls12381.verifyPossession(keys[i * G1_BYTES:(i + 1) * G1_BYTES], e[pos:pos + 48], pop);
            if (!ok) revert ShanduRejected("INVALID_PROOF_OF_POSSESSION");
        }
        CommitteeCore.checkPolicy(p);
    }

    // ---------------------------------------------------------------- view

    /// @notice The compact form a registry stores (layout in the library comment). `keys` has been checked
    /// to hold n EIP-2537 keys (`validate`).
    function buildView(CommitteeCore.Parsed memory p, bytes32 h, bytes calldata keys) internal pure returns (bytes memory) {
        uint256 n = p.members.length;
        bytes memory entries = new bytes(n * MEMBER_VIEW_BYTES);
        for (uint256 i = 0; i < n; i++) {
            bytes5 prefix = CommitteeCore.memberPrefix(p, i);
            assembly ("memory-safe") {
                let q := add(add(entries, 0x20), mul(i, MEMBER_VIEW_BYTES))
                mstore(q, prefix)
                calldatacopy(add(q, 5), add(keys.offset, mul(i, G1_BYTES)), G1_BYTES)
            }
        }
        return bytes.concat(CommitteeCore.viewHeader(p, h), entries);
    }

    // ---------------------------------------------------------------- attestation (§6.4)

    /// @notice Checks an attestation by the committee of view `v` over `signingRoot`, in the order of §6.4.
    /// Returns 0 when it verifies, else the failing check's code. The caller computed `signingRoot` itself.
    function checkAttestation(bytes memory v, EvmAttestation calldata a, bytes32 signingRoot) internal view returns (bytes32) {
        if (a.epoch != CommitteeCore.viewEpoch(v)) return "EPOCH_MISMATCH";
        if (a.committeeSetHash != CommitteeCore.viewSetHash(v)) return "COMMITTEE_HASH_MISMATCH";
        CommitteeCore.Policy memory p = CommitteeCore.viewPolicy(v);
        bytes calldata bits = a.signers;
        bytes32 code = CommitteeCore.bitfieldCode(bits, p.n);
        if (code != 0) return code;
        bytes memory acc = new bytes(2 * G1_BYTES);
        (uint256 signers, uint256 weight, uint256[] memory ruleCounts) = _tally(v, bits, p, acc);
        if (signers == 0) return "EMPTY_SIGNER_SET";
        code = CommitteeCore.quorumCode(v, p, weight, ruleCounts);
        if (code != 0) return code;
        return Bls12381.verifyAggregate(acc, signingRoot, a.signature);
    }

    /// @dev Signer count, weight and per-rule counts of a bitfield; sums the signers' keys into `acc`.
    function _tally(bytes memory v, bytes calldata bits, CommitteeCore.Policy memory p, bytes memory acc)
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
