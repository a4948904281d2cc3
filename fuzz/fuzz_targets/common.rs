//! A small market for the fuzz targets: a genesis with test keys.

use carbon_ledger::keys::test_key;
use carbon_ledger::state::State;
use carbon_proto::v1 as pb;

#[allow(dead_code)] // used by apply_commands only
pub const ACTORS: [&str; 6] = ["OP", "ZJ-DEE", "HZ-EEB", "NB-EEB", "A", "B"];

pub fn market() -> State {
    let key = |id: &str| test_key(id).verifying_key().to_bytes().to_vec();
    State::from_genesis(&pb::Genesis {
        operator: "OP".into(),
        operator_public_key: key("OP"),
        regulators: [("ZJ-DEE", "ZJ"), ("HZ-EEB", "HZ"), ("NB-EEB", "NB")]
            .iter()
            .map(|(id, j)| pb::GenesisRegulator { id: id.to_string(), jurisdiction: j.to_string(), public_key: key(id) })
            .collect(),
        origin: "fuzz".into(),
    })
    .expect("a valid genesis")
}
