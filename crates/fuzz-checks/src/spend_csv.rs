//! The spend import CSV: never panics, stops at the first bad row, and every row or
//! refusal names a line that exists in the input.

use grant_ledger_projections::SpendRows;

pub fn spend_csv(data: &[u8]) {
    // Lines are counted by newlines; a final line without one still counts.
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let rows = match SpendRows::new(data) {
        Ok(rows) => rows,
        Err(e) => {
            assert!(!e.to_string().contains('\n'), "{e}");
            return;
        }
    };
    let mut last_line = 1;
    for row in rows {
        match row {
            Ok(row) => {
                assert!(row.line > last_line, "line {} after {last_line}", row.line);
                assert!(row.line <= lines, "line {} of {lines}", row.line);
                assert!(row.amount.is_positive());
                last_line = row.line;
            }
            Err(e) => {
                let message = e.to_string();
                assert!(message.starts_with("line "), "{message:?}");
                assert!(!message.contains('\n'), "{message:?}");
            }
        }
    }
}
