// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";

/// @notice SHA-256 through the precompile at 0x02 (docs/protocol.md §1.2: the protocol's only hash).
library Sha256 {
    /// @notice SHA-256 of `len` bytes of memory starting at `ptr`.
    function ofMemory(uint256 ptr, uint256 len) internal view returns (bytes32 h) {
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x02, ptr, len, 0x00, 0x20)
            h := mload(0x00)
        }
        if (!ok) revert ShanduRejected("SHA256_FAILED");
    }

    /// @notice H(0x00 ‖ v): a batch-tree leaf (§3.1).
    function leaf(bytes32 v) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x00)
            mstore(add(p, 1), v)
            if iszero(staticcall(gas(), 0x02, p, 33, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @notice H(0x01 ‖ l ‖ r): a batch-tree node (§3.1).
    function node(bytes32 l, bytes32 r) internal view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 1), l)
            mstore(add(p, 33), r)
            if iszero(staticcall(gas(), 0x02, p, 65, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }
}
