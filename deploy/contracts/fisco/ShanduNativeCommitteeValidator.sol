// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";
import {CommitteeCore, CommitteeDecoder} from "../lib/CommitteeCore.sol";
import {ViewStore} from "../lib/ViewStore.sol";
import {NativeCommitteeInput} from "./interfaces/IShanduNativeInbox.sol";
import {NativeCommittees} from "./lib/NativeCommittees.sol";

/// @title Shandu native-key committee validator
/// @notice Stateless, for one native key scheme: decodes a committee strictly (docs/protocol.md §4.2),
/// checks what can be checked without a pairing (`NativeCommittees.buildView`) and writes the committee's
/// compact view. Each native inbox creates its own in its constructor; anyone may call it, which changes
/// nothing but creates an unreferenced view.
contract ShanduNativeCommitteeValidator is CommitteeDecoder {
    /// @notice 1 = secp256k1, 2 = SM2.
    uint8 public immutable scheme;

    constructor(uint8 scheme_) {
        if (scheme_ != NativeCommittees.SECP256K1 && scheme_ != NativeCommittees.SM2) revert ShanduRejected("INVALID_NATIVE_SCHEME");
        scheme = scheme_;
    }

    /// @notice Decodes and validates `c` and stores its view; reverts with the §4.2 / §4.5 / native-key code
    /// otherwise.
    function register(NativeCommitteeInput calldata c) external returns (uint64 epoch, bytes32 setHash, address view_) {
        CommitteeCore.Parsed memory p = CommitteeCore.parse(c.encoding);
        setHash = CommitteeCore.setHash(c.encoding);
        view_ = ViewStore.write(NativeCommittees.buildView(p, setHash, c.encoding, c.keys, scheme));
        epoch = p.epoch;
    }
}
