//! The rulebook's error codes (RULEBOOK.md 12).

use std::fmt;

/// Why a command was rejected. A rejected command changes nothing; the
/// code is what the rulebook names, reported in replays, over gRPC (in the
/// status details) and in the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    Malformed,
    UnknownCommand,
    UnknownAccount,
    BadSignature,
    Replayed,
    NotPermitted,
    UnknownInstrument,
    UnknownOrder,
    UnknownProposal,
    UnknownAuction,
    UnknownFactorSet,
    ReportNotFound,
    AccountFrozen,
    MarketClosed,
    MarketHalted,
    MarketOpen,
    InvalidDate,
    YearClosed,
    ReportState,
    ReportNotConfirmed,
    AuctionClosed,
    InvalidQuantity,
    InvalidPrice,
    InvalidAmount,
    InvalidOrder,
    PriceOutOfBand,
    PriceBelowReserve,
    VintageNotEligible,
    DuplicateId,
    AccountExists,
    InstrumentExists,
    FactorSetExists,
    AllocationExists,
    GroupConflict,
    InsufficientHoldings,
    InsufficientFunds,
    PositionLimitExceeded,
    OffsetLimitExceeded,
    ExceedsObligation,
}

/// The gRPC status class a code maps to (RULEBOOK.md 12). The ledger does
/// not know gRPC; the service turns this into a `tonic::Code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
}

impl Code {
    /// Every code, for tests and documentation.
    pub const ALL: [Code; 39] = [
        Code::Malformed,
        Code::UnknownCommand,
        Code::UnknownAccount,
        Code::BadSignature,
        Code::Replayed,
        Code::NotPermitted,
        Code::UnknownInstrument,
        Code::UnknownOrder,
        Code::UnknownProposal,
        Code::UnknownAuction,
        Code::UnknownFactorSet,
        Code::ReportNotFound,
        Code::AccountFrozen,
        Code::MarketClosed,
        Code::MarketHalted,
        Code::MarketOpen,
        Code::InvalidDate,
        Code::YearClosed,
        Code::ReportState,
        Code::ReportNotConfirmed,
        Code::AuctionClosed,
        Code::InvalidQuantity,
        Code::InvalidPrice,
        Code::InvalidAmount,
        Code::InvalidOrder,
        Code::PriceOutOfBand,
        Code::PriceBelowReserve,
        Code::VintageNotEligible,
        Code::DuplicateId,
        Code::AccountExists,
        Code::InstrumentExists,
        Code::FactorSetExists,
        Code::AllocationExists,
        Code::GroupConflict,
        Code::InsufficientHoldings,
        Code::InsufficientFunds,
        Code::PositionLimitExceeded,
        Code::OffsetLimitExceeded,
        Code::ExceedsObligation,
    ];

    /// The code as the rulebook spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Malformed => "MALFORMED",
            Code::UnknownCommand => "UNKNOWN_COMMAND",
            Code::UnknownAccount => "UNKNOWN_ACCOUNT",
            Code::BadSignature => "BAD_SIGNATURE",
            Code::Replayed => "REPLAYED",
            Code::NotPermitted => "NOT_PERMITTED",
            Code::UnknownInstrument => "UNKNOWN_INSTRUMENT",
            Code::UnknownOrder => "UNKNOWN_ORDER",
            Code::UnknownProposal => "UNKNOWN_PROPOSAL",
            Code::UnknownAuction => "UNKNOWN_AUCTION",
            Code::UnknownFactorSet => "UNKNOWN_FACTOR_SET",
            Code::ReportNotFound => "REPORT_NOT_FOUND",
            Code::AccountFrozen => "ACCOUNT_FROZEN",
            Code::MarketClosed => "MARKET_CLOSED",
            Code::MarketHalted => "MARKET_HALTED",
            Code::MarketOpen => "MARKET_OPEN",
            Code::InvalidDate => "INVALID_DATE",
            Code::YearClosed => "YEAR_CLOSED",
            Code::ReportState => "REPORT_STATE",
            Code::ReportNotConfirmed => "REPORT_NOT_CONFIRMED",
            Code::AuctionClosed => "AUCTION_CLOSED",
            Code::InvalidQuantity => "INVALID_QUANTITY",
            Code::InvalidPrice => "INVALID_PRICE",
            Code::InvalidAmount => "INVALID_AMOUNT",
            Code::InvalidOrder => "INVALID_ORDER",
            Code::PriceOutOfBand => "PRICE_OUT_OF_BAND",
            Code::PriceBelowReserve => "PRICE_BELOW_RESERVE",
            Code::VintageNotEligible => "VINTAGE_NOT_ELIGIBLE",
            Code::DuplicateId => "DUPLICATE_ID",
            Code::AccountExists => "ACCOUNT_EXISTS",
            Code::InstrumentExists => "INSTRUMENT_EXISTS",
            Code::FactorSetExists => "FACTOR_SET_EXISTS",
            Code::AllocationExists => "ALLOCATION_EXISTS",
            Code::GroupConflict => "GROUP_CONFLICT",
            Code::InsufficientHoldings => "INSUFFICIENT_HOLDINGS",
            Code::InsufficientFunds => "INSUFFICIENT_FUNDS",
            Code::PositionLimitExceeded => "POSITION_LIMIT_EXCEEDED",
            Code::OffsetLimitExceeded => "OFFSET_LIMIT_EXCEEDED",
            Code::ExceedsObligation => "EXCEEDS_OBLIGATION",
        }
    }

    /// Parses a code as the rulebook spells it.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// The gRPC status class of RULEBOOK.md 12.
    pub fn status_class(self) -> StatusClass {
        use Code::*;
        match self {
            Malformed | UnknownCommand | InvalidQuantity | InvalidPrice | InvalidAmount | InvalidOrder
            | InvalidDate | PriceOutOfBand | PriceBelowReserve => StatusClass::InvalidArgument,
            BadSignature => StatusClass::Unauthenticated,
            NotPermitted | AccountFrozen => StatusClass::PermissionDenied,
            UnknownAccount | UnknownInstrument | UnknownOrder | UnknownProposal | UnknownAuction | UnknownFactorSet
            | ReportNotFound => StatusClass::NotFound,
            AccountExists | InstrumentExists | FactorSetExists | AllocationExists | DuplicateId | GroupConflict
            | Replayed => StatusClass::AlreadyExists,
            _ => StatusClass::FailedPrecondition,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(c));
        }
        assert_eq!(Code::parse("NOPE"), None);
    }

    #[test]
    fn status_classes_follow_the_rulebook() {
        assert_eq!(Code::Malformed.status_class(), StatusClass::InvalidArgument);
        assert_eq!(Code::PriceOutOfBand.status_class(), StatusClass::InvalidArgument);
        assert_eq!(Code::BadSignature.status_class(), StatusClass::Unauthenticated);
        assert_eq!(Code::AccountFrozen.status_class(), StatusClass::PermissionDenied);
        assert_eq!(Code::ReportNotFound.status_class(), StatusClass::NotFound);
        assert_eq!(Code::Replayed.status_class(), StatusClass::AlreadyExists);
        assert_eq!(Code::MarketClosed.status_class(), StatusClass::FailedPrecondition);
        assert_eq!(Code::VintageNotEligible.status_class(), StatusClass::FailedPrecondition);
        assert_eq!(Code::MarketHalted.status_class(), StatusClass::FailedPrecondition);
        assert_eq!(Code::GroupConflict.status_class(), StatusClass::AlreadyExists);
        assert_eq!(
            Code::PositionLimitExceeded.status_class(),
            StatusClass::FailedPrecondition
        );
    }
}
