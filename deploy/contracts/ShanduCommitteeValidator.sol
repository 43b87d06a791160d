// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {CommitteeInput} from "./interfaces/IShandu.sol";
import {CommitteeCore, CommitteeDecoder} from "./lib/CommitteeCore.sol";
import {Committees} from "./lib/Committees.sol";
import {ViewStore} from "./lib/ViewStore.sol";

/// @title Shandu committee validator
/// @notice Stateless: decodes a committee strictly (docs/protocol.md §4.2), applies the validity rules
/// (§4.5, proofs of possession included) and writes the committee's compact view. Each inbox creates its
/// own in its constructor; anyone may call it, which changes nothing but creates an unreferenced view.
contract ShanduCommitteeValidator is CommitteeDecoder {
    /// @notice Decodes and validates `c` and stores its view; reverts with the §4.2 / §4.5 code otherwise.
    function register(CommitteeInput calldata c) external returns (uint64 epoch, bytes32 setHash, address view_) {
        CommitteeCore.Parsed memory p = CommitteeCore.parse(c.encoding);
        setHash = CommitteeCore.setHash(c.encoding);
        Committees.validate(p, c.encoding, c.keys, c.pops);
        view_ = ViewStore.write(Committees.buildView(p, setHash, c.keys));
        epoch = p.epoch;
    }
}
