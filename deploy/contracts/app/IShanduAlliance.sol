// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

/// @notice Roles an alliance registry grants, per Shandu chain id: an account is registered as, say, an
/// exchange platform *on chain 86755*. The registry of every alliance chain holds the roles of every chain
/// in the agreement, so chain A can refuse a redemption at a platform B never registered before it locks.
library AllianceRoles {
    uint8 internal constant ISSUER = 1;
    uint8 internal constant DISTRIBUTOR = 2;
    uint8 internal constant SPONSOR = 3;
    uint8 internal constant PLATFORM = 4;
    uint8 internal constant CLEARING = 5;
    uint8 internal constant MAX_ROLE = 5;
}

/// @title The alliance registry of one chain (docs/governance.md)
/// @notice Everything here changes only through attested governance messages (Shandu app messages from
/// the governance sources fixed at deployment, delivered by the chain's inbox, so under the committee's
/// quorum policy, which requires the regulator). The app contracts read it.
interface IShanduAlliance {
    /// @notice Governance granted `role` on chain `roleChainId` to `account` (also when it already held it).
    /// `sourceChainId` and `nonce` name the governance message that did it.
    event RoleGranted(uint8 indexed role, uint64 indexed roleChainId, address indexed account, uint64 sourceChainId, uint64 nonce);
    /// @notice Governance revoked `role` on chain `roleChainId` from `account` (also when it did not hold it).
    event RoleRevoked(uint8 indexed role, uint64 indexed roleChainId, address indexed account, uint64 sourceChainId, uint64 nonce);
    /// @notice Governance set the credit-volume limit of the lane to `laneChainId`, opening it.
    event LaneLimitSet(uint64 indexed laneChainId, uint128 capacity, uint128 refillPerSecond, uint64 sourceChainId, uint64 nonce);
    /// @notice Governance paused (`paused`) or resumed (`!paused`) new redemptions on the lane to `laneChainId`.
    event LanePaused(uint64 indexed laneChainId, bool paused, uint64 sourceChainId, uint64 nonce);
    /// @notice Governance approved the committee of measuring institutions with set hash `committeeSetHash`.
    event MeasurersSet(bytes32 committeeSetHash, uint64 sourceChainId, uint64 nonce);
    /// @notice Governance made `sponsor` the sponsor of `creditClass`.
    event ClassSponsorSet(bytes32 indexed creditClass, address indexed sponsor, uint64 sourceChainId, uint64 nonce);

    /// @notice This chain's Shandu chain id.
    function chainId() external view returns (uint64);

    /// @notice Whether `account` holds `role` on Shandu chain `roleChainId`.
    function hasRole(uint8 role, uint64 roleChainId, address account) external view returns (bool);

    /// @notice The set hash of the measuring institutions' committee governance approved (0 when none).
    function measurerCommittee() external view returns (bytes32 committeeSetHash);

    /// @notice The sponsor that funds every redemption of `creditClass` (one per class; 0 when none): credits
    /// of a class are issued only with its sponsor, and settlement charges the class's redemptions to it.
    function classSponsor(bytes32 creditClass) external view returns (address sponsor);

    /// @notice The credit-volume limit of the lane to `laneChainId`: a token bucket of `capacity` credits
    /// refilled by `refillPerSecond`. `open` is false until governance set one (no redemption may use a
    /// lane before); `paused` stops new redemptions on the lane without forgetting the limit.
    function laneLimit(uint64 laneChainId)
        external
        view
        returns (bool open, bool paused, uint128 capacity, uint128 refillPerSecond);
}
