// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BatchHeader, CommitteeInput, EvmAttestation} from "../interfaces/IShandu.sol";
import {BatchTree} from "../lib/BatchTree.sol";
import {CommitteeCore} from "../lib/CommitteeCore.sol";
import {Committees} from "../lib/Committees.sol";
import {MessageCodec} from "../lib/MessageCodec.sol";

/// @notice Exposes the contracts' internal checks so that the shared test vectors (proofs/test/vectors)
/// can be run against them one case at a time. For tests only; never deployed by the deploy scripts.
contract ShanduVectorHarness {
    function messageId(bytes calldata m) external view returns (bytes32 id, uint64 sourceChainId, uint64 destinationChainId, uint64 nonce, uint8 kind) {
        MessageCodec.Fields memory f = MessageCodec.decode(m);
        return (MessageCodec.id(m), f.sourceChainId, f.destinationChainId, f.nonce, f.kind);
    }

    function verifyMultiproof(bytes32 root, uint256 treeSize, uint256[] memory indices, bytes32[] memory leaves, bytes32[] calldata siblings)
        external
        view
        returns (bool)
    {
        BatchTree.verify(root, treeSize, indices, leaves, siblings);
        return true;
    }

    /// @notice Validates `c` (§4.2, §4.5) and returns its committeeSetHash.
    function checkCommittee(CommitteeInput calldata c) external view returns (bytes32) {
        CommitteeCore.Parsed memory p = CommitteeCore.parse(c.encoding);
        Committees.validate(p, c.encoding, c.keys, c.pops);
        return CommitteeCore.setHash(c.encoding);
    }

    /// @notice Verifies `a` for header `h` against the committee `c` (validated first); returns the §6.4
    /// code, or 0 when it verifies.
    function checkAttestation(CommitteeInput calldata c, BatchHeader calldata h, EvmAttestation calldata a) external view returns (bytes32) {
        CommitteeCore.Parsed memory p = CommitteeCore.parse(c.encoding);
        Committees.validate(p, c.encoding, c.keys, c.pops);
        bytes32 setHash = CommitteeCore.setHash(c.encoding);
        bytes memory v = Committees.buildView(p, setHash, c.keys);
        bytes32 root = sha256(
            abi.encodePacked(bytes16("SHANDU-ATTEST-v1"), setHash, p.epoch, h.sourceChainId, h.destinationChainId, h.root, h.firstNonce, h.lastNonce)
        );
        return Committees.checkAttestation(v, a, root);
    }
}
