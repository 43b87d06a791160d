// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";
import {Sha256} from "./Sha256.sol";

/// @notice Batch-tree multiproof verification (docs/protocol.md §3.3), with the same checks in the same
/// order and the same error codes as the reference implementation.
library BatchTree {
    uint256 internal constant MAX_TREE_SIZE = 1 << 20;

    /// @notice Reverts unless `leafValues` sit at `indices` of a tree of `treeSize` leaves with root `root`.
    /// `indices` and `leafValues` are overwritten (they hold the walk's working state).
    function verify(bytes32 root, uint256 treeSize, uint256[] memory indices, bytes32[] memory leafValues, bytes32[] calldata siblings)
        internal
        view
    {
        if (treeSize < 1) revert ShanduRejected("EMPTY_TREE");
        if (treeSize > MAX_TREE_SIZE) revert ShanduRejected("TREE_TOO_LARGE");
        uint256 count = indices.length;
        if (count < 1) revert ShanduRejected("INDEX_OUT_OF_RANGE");
        for (uint256 k = 0; k < count; k++) {
            uint256 i = indices[k];
            if (i >= treeSize) revert ShanduRejected("INDEX_OUT_OF_RANGE");
            if (k > 0 && i <= indices[k - 1]) revert ShanduRejected("INDICES_NOT_SORTED");
        }
        if (leafValues.length != count) revert ShanduRejected("LEAF_COUNT_MISMATCH");
        for (uint256 k = 0; k < count; k++) {
            leafValues[k] = Sha256.leaf(leafValues[k]);
        }
        bytes32 top = walk(treeSize, indices, leafValues, siblings);
        if (top != root) revert ShanduRejected("ROOT_MISMATCH");
    }

    /// @notice The walk of §3.3 over leaf hashes already computed; returns the computed root. Works in place:
    /// position k of a level is written at or before the position it was read from.
    function walk(uint256 size, uint256[] memory idx, bytes32[] memory hs, bytes32[] calldata siblings) internal view returns (bytes32) {
        uint256 used = 0;
        uint256 n = idx.length;
        uint256 nsib = siblings.length;
        while (size > 1) {
            uint256 out = 0;
            uint256 k = 0;
            while (k < n) {
                uint256 i = idx[k];
                bytes32 h = hs[k];
                bytes32 p;
                if (i & 1 == 0) {
                    if (i + 1 == size) {
                        p = h;
                    } else if (k + 1 < n && idx[k + 1] == i + 1) {
                        p = Sha256.node(h, hs[k + 1]);
                        k++;
                    } else {
                        if (used >= nsib) revert ShanduRejected("PROOF_TOO_SHORT");
                        p = Sha256.node(h, siblings[used]);
                        used++;
                    }
                } else {
                    if (used >= nsib) revert ShanduRejected("PROOF_TOO_SHORT");
                    p = Sha256.node(siblings[used], h);
                    used++;
                }
                idx[out] = i >> 1;
                hs[out] = p;
                out++;
                k++;
            }
            n = out;
            size = (size + 1) >> 1;
        }
        if (used != nsib) revert ShanduRejected("PROOF_TOO_LONG");
        return hs[0];
    }
}
