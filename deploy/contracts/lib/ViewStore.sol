// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";

/// @notice Immutable data kept as the code of a contract created for it (cheaper to read than storage):
/// the code is 0x00 (STOP, so calling it does nothing) followed by the data.
library ViewStore {
    function write(bytes memory data) internal returns (address a) {
        // Init code: PUSH2 len, DUP1, PUSH1 0x0c, PUSH1 0, CODECOPY, PUSH1 0, RETURN; then 0x00 ‖ data.
        uint256 len = data.length + 1;
        if (len > 24576) revert ShanduRejected("EVM_COMMITTEE_TOO_LARGE");
        bytes memory init = abi.encodePacked(hex"61", uint16(len), hex"80600c6000396000f3", hex"00", data);
        assembly ("memory-safe") {
            a := create(0, add(init, 0x20), mload(init))
        }
        if (a == address(0)) revert ShanduRejected("VIEW_STORE_FAILED");
    }

    function read(address a) internal view returns (bytes memory data) {
        uint256 size = a.code.length;
        if (size == 0) revert ShanduRejected("EPOCH_NOT_IN_CHAIN");
        data = new bytes(size - 1);
        assembly ("memory-safe") {
            extcodecopy(a, add(data, 0x20), 1, sub(size, 1))
        }
    }
}
