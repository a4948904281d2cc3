//! The limit on bids per auction (docs/RULES.md, "Limits on hostile
//! input"): the last bid allowed is taken, the next is `INVALID_ORDER` and
//! changes nothing but the bidder's nonce, and a full auction still clears
//! within what one answer may carry.

use prost::Message;

use super::tests::Market;
use super::*;
use crate::num::Amount;

/// An id of the longest form (36 characters) starting with `prefix`.
fn longest(prefix: &str) -> String {
    format!("{prefix}{}", "0".repeat(36 - prefix.len()))
}

fn bid(actor: &str, auction: &str, id: &str) -> String {
    format!(r#"{{"as":"{actor}","cmd":"auction_bid","auction":"{auction}","id":"{id}","price":"50.00","qty":1}}"#)
}

/// The state's image with `actor`'s nonce as given (a rejected command
/// moves nothing else).
fn image_with_nonce(state: &mut State, actor: AcctIdx, nonce: u64) -> Vec<u8> {
    let now = std::mem::replace(&mut state.accounts[actor as usize].last_nonce, nonce);
    let image = postcard::to_allocvec(&*state).unwrap();
    state.accounts[actor as usize].last_nonce = now;
    image
}

#[test]
fn an_auction_takes_at_most_max_bids_per_auction() {
    let mut m = Market::trading();
    // Bidders and ids of the longest form: the close below is the largest
    // answer an auction can give.
    let (one, two) = (longest("HZ-BIDDER-ONE-"), longest("HZ-BIDDER-TWO-"));
    let au = longest("AU-FULL-");
    for b in [&one, &two] {
        m.ok(&format!(
            r#"{{"as":"HZ-EEB","cmd":"create_account","id":"{b}","role":"entity"}}"#
        ));
        m.ok(&format!(
            r#"{{"as":"OP","cmd":"deposit","account":"{b}","amount":"1000000.00"}}"#
        ));
    }
    let qty = MAX_BIDS_PER_AUCTION as i64 + 10;
    m.ok(&format!(
        r#"{{"as":"ZJ-DEE","cmd":"issue","instrument":"ZJEA-2025","to":"ZJ-DEE","qty":{}}}"#,
        qty + 1
    ));
    m.ok(&format!(r#"{{"as":"ZJ-DEE","cmd":"auction_open","id":"{au}","instrument":"ZJEA-2025","qty":{qty},"reserve_price":"50.00"}}"#));
    m.ok(r#"{"as":"ZJ-DEE","cmd":"auction_open","id":"AU2","instrument":"ZJEA-2025","qty":1,"reserve_price":"50.00"}"#);

    // All but one bid straight through the auction's own code (every check
    // and effect of a bid, without signing 10,000 envelopes).
    let bidder = m.state.idx(&one).unwrap();
    let price = Amount::parse("50.00").unwrap();
    for i in 0..MAX_BIDS_PER_AUCTION - 1 {
        let id = longest(&format!("B{i}-"));
        m.state.auction_bid(bidder, &au, &id, &price, 1).unwrap();
    }
    m.state.check_invariants();

    // The last one allowed, from another bidder, through the whole path.
    m.ok(&bid(&two, &au, &longest("LAST-")));
    assert_eq!(m.state.auctions[&au].bids.len(), MAX_BIDS_PER_AUCTION);

    // The next is refused whoever bids, and changes nothing but the nonce.
    for who in [&two, &one] {
        let idx = m.state.idx(who).unwrap();
        let nonce = m.state.accounts[idx as usize].last_nonce;
        let before = image_with_nonce(&mut m.state, idx, nonce);
        m.err(&bid(who, &au, &longest("NEXT-")), Code::InvalidOrder);
        assert_ne!(m.state.accounts[idx as usize].last_nonce, nonce, "the nonce is used up");
        assert_eq!(
            image_with_nonce(&mut m.state, idx, nonce),
            before,
            "the refused bid changed the state"
        );
    }
    // The limit is the auction's: another auction takes the same bid.
    m.ok(&bid(&two, "AU2", &longest("NEXT-")));

    // A full auction clears: one trade per bid, and the close's outcome
    // (its answer and its journal entry) fits in a 4 MiB gRPC message.
    let close = m.ok(&format!(r#"{{"as":"OP","cmd":"auction_close","auction":"{au}"}}"#));
    assert_eq!(close.events.len(), MAX_BIDS_PER_AUCTION);
    let bytes = outcome_to_pb(&Ok(close)).encoded_len();
    assert!(bytes < 4 << 20, "the close's outcome is {bytes} bytes");
}
