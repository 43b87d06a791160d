// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ShanduRejected} from "../interfaces/IShandu.sol";
import {AllianceRoles, IShanduAlliance} from "./IShanduAlliance.sol";

/// @title 善度 credits of one alliance chain
/// @notice Per-user credit balances by credit class. Credits are closed-loop: they are issued for measured
/// deeds, each issuance names the sponsor who funds its redemption, and they leave a user's balance only
/// through the redemption contract (locked, then burned or refunded). There is no transfer between users,
/// no approval and no withdrawal: credits are not money.
///
/// Issuance comes only from the deed registry (`GoodDeedRegistry`), which turns attested deeds into credits
/// by an issuer's rule; this contract still checks, against the alliance registry, that the rule's issuer
/// holds `ISSUER` on this chain and that the sponsor is the one governance set for the credit class. The
/// alliance registry, the deed registry and the redemption contract are fixed at deployment (their
/// addresses are known in advance: deployed in a known order by a known account, or with CREATE2).
/// Nothing has an owner. Refusals revert with `ShanduRejected(code)`: `NOT_DEED_REGISTRY`, `NOT_ISSUER`,
/// `SPONSOR_MISMATCH`, `ZERO_AMOUNT`, `INVALID_USER`, `INSUFFICIENT_CREDITS`, `NOT_REDEMPTION_CONTRACT`
/// (and `INVALID_ALLIANCE`, `INVALID_DEED_REGISTRY`, `INVALID_REDEMPTION_CONTRACT` at deployment).
contract GoodDeedCredits {
    /// @notice The alliance registry of this chain (roles and class sponsors).
    IShanduAlliance public immutable alliance;
    /// @notice This chain's Shandu chain id, read from the alliance registry at deployment.
    uint64 public immutable chainId;
    /// @notice The only caller of `issue`.
    address public immutable deedRegistry;
    /// @notice The only caller of `lock`, `burn` and `refund`.
    address public immutable redemptionContract;

    /// @notice Credits the user can spend (issued, minus locked, burned).
    mapping(address user => mapping(bytes32 creditClass => uint256)) public balanceOf;
    /// @notice Credits held by redemptions in flight.
    mapping(address user => mapping(bytes32 creditClass => uint256)) public lockedOf;
    /// @notice Credits redeemed for good.
    mapping(address user => mapping(bytes32 creditClass => uint256)) public burnedOf;
    /// @notice Everything ever issued to the user: `balanceOf + lockedOf + burnedOf` always equals it.
    mapping(address user => mapping(bytes32 creditClass => uint256)) public issuedTo;
    /// @notice What each sponsor has committed to fund, per credit class (the settlement's input).
    mapping(address sponsor => mapping(bytes32 creditClass => uint256)) public issuedBySponsor;

    event CreditsIssued(
        address indexed user, bytes32 indexed creditClass, address indexed sponsor, uint256 amount, bytes32 deedRef, address issuer
    );
    event CreditsLocked(address indexed user, bytes32 indexed creditClass, uint256 amount);
    event CreditsBurned(address indexed user, bytes32 indexed creditClass, uint256 amount);
    event CreditsRefunded(address indexed user, bytes32 indexed creditClass, uint256 amount);

    constructor(address alliance_, address deedRegistry_, address redemptionContract_) {
        if (alliance_.code.length == 0) revert ShanduRejected("INVALID_ALLIANCE");
        if (deedRegistry_ == address(0)) revert ShanduRejected("INVALID_DEED_REGISTRY");
        if (redemptionContract_ == address(0)) revert ShanduRejected("INVALID_REDEMPTION_CONTRACT");
        alliance = IShanduAlliance(alliance_);
        chainId = IShanduAlliance(alliance_).chainId();
        deedRegistry = deedRegistry_;
        redemptionContract = redemptionContract_;
    }

    /// @notice Issues `amount` credits of `creditClass` to `user` for the deed `deedRef`, funded by `sponsor`,
    /// under the rule of `issuer`. Only the deed registry; `issuer` must hold `ISSUER` on this chain and
    /// `sponsor` must be the class's sponsor in the alliance registry (checked here as well, so that no
    /// registry bug can issue credits nobody funds).
    function issue(address user, bytes32 creditClass, uint256 amount, address sponsor, bytes32 deedRef, address issuer) external {
        if (msg.sender != deedRegistry) revert ShanduRejected("NOT_DEED_REGISTRY");
        if (!alliance.hasRole(AllianceRoles.ISSUER, chainId, issuer)) revert ShanduRejected("NOT_ISSUER");
        if (sponsor == address(0) || sponsor != alliance.classSponsor(creditClass)) revert ShanduRejected("SPONSOR_MISMATCH");
        if (amount == 0) revert ShanduRejected("ZERO_AMOUNT");
        if (user == address(0)) revert ShanduRejected("INVALID_USER");
        balanceOf[user][creditClass] += amount;
        issuedTo[user][creditClass] += amount;
        issuedBySponsor[sponsor][creditClass] += amount;
        emit CreditsIssued(user, creditClass, sponsor, amount, deedRef, issuer);
    }

    /// @notice Moves `amount` from the user's balance to the locked credits.
    function lock(address user, bytes32 creditClass, uint256 amount) external {
        _onlyRedemption(amount);
        uint256 balance = balanceOf[user][creditClass];
        if (balance < amount) revert ShanduRejected("INSUFFICIENT_CREDITS");
        balanceOf[user][creditClass] = balance - amount;
        lockedOf[user][creditClass] += amount;
        emit CreditsLocked(user, creditClass, amount);
    }

    /// @notice Burns `amount` of the user's locked credits (a confirmed redemption).
    function burn(address user, bytes32 creditClass, uint256 amount) external {
        _onlyRedemption(amount);
        _unlock(user, creditClass, amount);
        burnedOf[user][creditClass] += amount;
        emit CreditsBurned(user, creditClass, amount);
    }

    /// @notice Returns `amount` of the user's locked credits to the balance (a rejected or expired redemption).
    function refund(address user, bytes32 creditClass, uint256 amount) external {
        _onlyRedemption(amount);
        _unlock(user, creditClass, amount);
        balanceOf[user][creditClass] += amount;
        emit CreditsRefunded(user, creditClass, amount);
    }

    function _onlyRedemption(uint256 amount) private view {
        if (msg.sender != redemptionContract) revert ShanduRejected("NOT_REDEMPTION_CONTRACT");
        if (amount == 0) revert ShanduRejected("ZERO_AMOUNT");
    }

    function _unlock(address user, bytes32 creditClass, uint256 amount) private {
        uint256 locked = lockedOf[user][creditClass];
        if (locked < amount) revert ShanduRejected("INSUFFICIENT_CREDITS");
        lockedOf[user][creditClass] = locked - amount;
    }
}
