// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IShanduReceiver, ShanduRejected} from "../interfaces/IShandu.sol";
import {ShanduInboxBase} from "../ShanduInboxBase.sol";
import {AllianceRoles, IShanduAlliance} from "./IShanduAlliance.sol";

/// @title The alliance registry of one chain (docs/governance.md)
/// @notice Roles per Shandu chain, lane limits, the approved committee of measuring institutions and the
/// sponsor of each credit class. It changes only through governance payloads carried by Shandu app
/// messages: delivered by this chain's inbox (so attested under the committee's quorum policy, which
/// requires the regulator) and sent by one of the governance sources fixed at deployment. Owner-less, no
/// initializer. Every operation is idempotent and emits an event naming the message that ran it; a refusal
/// reverts with `ShanduRejected(code)`, and the inbox records the message as failed (retryable).
contract ShanduAlliance is IShanduAlliance, IShanduReceiver {
    uint8 public constant GOVERNANCE_VERSION = 1;
    uint8 public constant OP_GRANT = 1;
    uint8 public constant OP_REVOKE = 2;
    uint8 public constant OP_SET_LANE_LIMIT = 3;
    uint8 public constant OP_PAUSE_LANE = 4;
    uint8 public constant OP_RESUME_LANE = 5;
    uint8 public constant OP_SET_MEASURERS = 6;
    uint8 public constant OP_SET_CLASS_SPONSOR = 7;
    uint256 internal constant ROLE_LENGTH = 31;
    uint256 internal constant LANE_LIMIT_LENGTH = 42;
    uint256 internal constant LANE_LENGTH = 10;
    uint256 internal constant MEASURERS_LENGTH = 34;
    uint256 internal constant CLASS_SPONSOR_LENGTH = 54;

    /// @dev Two slots: the flags share the first with `capacity`.
    struct Lane {
        bool open;
        bool paused;
        uint128 capacity;
        uint128 refillPerSecond;
    }

    uint64 public immutable chainId;
    /// @notice The only caller of `shanduReceive`: this chain's Shandu inbox.
    address public immutable inbox;

    ShanduInboxBase.GovernanceSource[] private _sources;
    /// @dev keccak256 of each sender whose messages from a source chain are obeyed.
    mapping(uint64 sourceChainId => mapping(bytes32 senderHash => bool)) private _isSource;
    mapping(uint8 role => mapping(uint64 roleChainId => mapping(address account => bool))) private _roles;
    mapping(uint64 laneChainId => Lane) private _lanes;
    bytes32 public measurerCommittee;
    mapping(bytes32 creditClass => address) public classSponsor;

    /// @param sources the (source chain, sender) pairs whose governance messages are obeyed: at least one,
    /// none on this chain, each sender 1–64 bytes as Shandu messages carry it, no pair twice.
    constructor(uint64 chainId_, address inbox_, ShanduInboxBase.GovernanceSource[] memory sources) {
        if (chainId_ == 0) revert ShanduRejected("INVALID_CHAIN_ID");
        if (inbox_ == address(0)) revert ShanduRejected("INVALID_INBOX");
        if (sources.length == 0) revert ShanduRejected("NO_GOVERNANCE_SOURCE");
        chainId = chainId_;
        inbox = inbox_;
        for (uint256 i = 0; i < sources.length; i++) {
            ShanduInboxBase.GovernanceSource memory g = sources[i];
            if (g.chainId == 0 || g.chainId == chainId_ || g.sender.length == 0 || g.sender.length > 64) {
                revert ShanduRejected("INVALID_GOVERNANCE_SOURCE");
            }
            bytes32 h = keccak256(g.sender);
            if (_isSource[g.chainId][h]) revert ShanduRejected("DUPLICATE_GOVERNANCE_SOURCE");
            _isSource[g.chainId][h] = true;
            _sources.push(g);
        }
    }

    // ---------------------------------------------------------------- views

    function hasRole(uint8 role, uint64 roleChainId, address account) external view returns (bool) {
        return _roles[role][roleChainId][account];
    }

    function laneLimit(uint64 laneChainId) external view returns (bool open, bool paused, uint128 capacity, uint128 refillPerSecond) {
        Lane storage l = _lanes[laneChainId];
        return (l.open, l.paused, l.capacity, l.refillPerSecond);
    }

    /// @notice Whether governance messages from `sender` on `sourceChainId` are obeyed.
    function isGovernanceSource(uint64 sourceChainId, bytes calldata sender) external view returns (bool) {
        return _isSource[sourceChainId][keccak256(sender)];
    }

    /// @notice The governance sources fixed at deployment, in the constructor's order.
    function governanceSources() external view returns (ShanduInboxBase.GovernanceSource[] memory) {
        return _sources;
    }

    // ---------------------------------------------------------------- governance

    function shanduReceive(uint64 sourceChainId, bytes calldata sender, uint64 nonce, bytes calldata payload) external {
        if (msg.sender != inbox) revert ShanduRejected("NOT_INBOX");
        if (!_isSource[sourceChainId][keccak256(sender)]) revert ShanduRejected("UNKNOWN_GOVERNANCE_SOURCE");
        if (payload.length < 2) revert ShanduRejected("MALFORMED_PAYLOAD");
        if (uint8(payload[0]) != GOVERNANCE_VERSION) revert ShanduRejected("UNKNOWN_VERSION");
        uint8 op = uint8(payload[1]);
        if (op == OP_GRANT || op == OP_REVOKE) {
            _length(payload, ROLE_LENGTH);
            uint8 role = uint8(payload[2]);
            uint64 roleChainId = uint64(bytes8(payload[3:11]));
            address account = address(bytes20(payload[11:31]));
            if (role == 0 || role > AllianceRoles.MAX_ROLE) revert ShanduRejected("INVALID_ROLE");
            if (roleChainId == 0) revert ShanduRejected("INVALID_CHAIN_ID");
            if (account == address(0)) revert ShanduRejected("INVALID_ACCOUNT");
            _roles[role][roleChainId][account] = op == OP_GRANT;
            if (op == OP_GRANT) emit RoleGranted(role, roleChainId, account, sourceChainId, nonce);
            else emit RoleRevoked(role, roleChainId, account, sourceChainId, nonce);
        } else if (op == OP_SET_LANE_LIMIT) {
            _length(payload, LANE_LIMIT_LENGTH);
            uint64 laneChainId = _laneChainId(payload);
            uint128 capacity = uint128(bytes16(payload[10:26]));
            uint128 refillPerSecond = uint128(bytes16(payload[26:42]));
            if (capacity == 0) revert ShanduRejected("INVALID_LANE_LIMIT");
            Lane storage l = _lanes[laneChainId];
            l.open = true;
            l.capacity = capacity;
            l.refillPerSecond = refillPerSecond;
            emit LaneLimitSet(laneChainId, capacity, refillPerSecond, sourceChainId, nonce);
        } else if (op == OP_PAUSE_LANE || op == OP_RESUME_LANE) {
            _length(payload, LANE_LENGTH);
            uint64 laneChainId = _laneChainId(payload);
            bool paused = op == OP_PAUSE_LANE;
            _lanes[laneChainId].paused = paused;
            emit LanePaused(laneChainId, paused, sourceChainId, nonce);
        } else if (op == OP_SET_MEASURERS) {
            _length(payload, MEASURERS_LENGTH);
            bytes32 committeeSetHash = bytes32(payload[2:34]);
            measurerCommittee = committeeSetHash;
            emit MeasurersSet(committeeSetHash, sourceChainId, nonce);
        } else if (op == OP_SET_CLASS_SPONSOR) {
            _length(payload, CLASS_SPONSOR_LENGTH);
            bytes32 creditClass = bytes32(payload[2:34]);
            address sponsor = address(bytes20(payload[34:54]));
            if (sponsor == address(0)) revert ShanduRejected("INVALID_ACCOUNT");
            if (!_roles[AllianceRoles.SPONSOR][chainId][sponsor]) revert ShanduRejected("SPONSOR_NOT_REGISTERED");
            classSponsor[creditClass] = sponsor;
            emit ClassSponsorSet(creditClass, sponsor, sourceChainId, nonce);
        } else {
            revert ShanduRejected("UNKNOWN_OP");
        }
    }

    // ---------------------------------------------------------------- internals

    function _length(bytes calldata payload, uint256 want) private pure {
        if (payload.length != want) revert ShanduRejected("MALFORMED_PAYLOAD");
    }

    /// @dev The lane's chain id (bytes 2–9): another chain than this one, and not 0.
    function _laneChainId(bytes calldata payload) private view returns (uint64 laneChainId) {
        laneChainId = uint64(bytes8(payload[2:10]));
        if (laneChainId == 0 || laneChainId == chainId) revert ShanduRejected("INVALID_CHAIN_ID");
    }
}
