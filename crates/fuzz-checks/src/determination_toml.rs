//! The determination file (TOML): never panics; a refusal is one sentence; an accepted
//! determination survives the JSON it is stored as in the log, and its formula check runs.

use grant_ledger_domain::{check, parse_determination, Determination};

pub fn determination_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_determination(text) {
        Ok(determination) => {
            let json = serde_json::to_string(&determination).expect("a determination serialises");
            let back: Determination = serde_json::from_str(&json).expect("and reads back");
            assert_eq!(back, determination);
            let _ = check(&determination);
        }
        Err(e) => {
            let message = e.to_string();
            assert!(!message.contains('\n'), "{message:?}");
        }
    }
}
