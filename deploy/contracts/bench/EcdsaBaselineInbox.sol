// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IShanduReceiver} from "../interfaces/IShandu.sol";

/// @title Baseline verifier for the gas benchmark only
/// @notice The per-message k-of-n ECDSA design used by guardian-style bridges: every message carries its
/// own signatures from a fixed set of n signers (addresses in storage), each checked with ECRECOVER, and a
/// mapping of consumed message hashes. Written only to be measured against `ShanduInbox` on the same node
/// in the same run; never deployed and not part of the product.
contract EcdsaBaselineInbox {
    address[] public signers;
    uint256 public immutable quorum;
    mapping(bytes32 => bool) public consumed;

    error BaselineRejected(string reason);

    constructor(address[] memory signers_, uint256 quorum_) {
        signers = signers_;
        quorum = quorum_;
    }

    /// @notice `signatures[k]` holds `quorum` signatures over keccak256(messages[k]), each 66 bytes:
    /// signer index (u8) ‖ r ‖ s ‖ v, indices strictly increasing.
    function deliver(bytes[] calldata messages, bytes[] calldata signatures, address recipient) external {
        for (uint256 k = 0; k < messages.length; k++) {
            bytes32 h = keccak256(messages[k]);
            if (consumed[h]) continue;
            bytes calldata sigs = signatures[k];
            if (sigs.length != quorum * 66) revert BaselineRejected("signature count");
            int256 last = -1;
            for (uint256 i = 0; i < quorum; i++) {
                bytes calldata s = sigs[i * 66:(i + 1) * 66];
                uint256 index = uint8(s[0]);
                if (int256(index) <= last) revert BaselineRejected("indices");
                last = int256(index);
                address who = ecrecover(h, uint8(s[65]), bytes32(s[1:33]), bytes32(s[33:65]));
                if (who == address(0) || who != signers[index]) revert BaselineRejected("signature");
            }
            consumed[h] = true;
            IShanduReceiver(recipient).shanduReceive(0, messages[k][0:0], uint64(k), messages[k]);
        }
    }
}
