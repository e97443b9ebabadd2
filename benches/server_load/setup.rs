//! The ledger the load needs: 31/7421, a finance token, a token per region, every region paid.

use std::net::SocketAddr;

use crate::http::{expect_status, Conn};
use crate::{BenchResult, DETERMINATION, DETERMINATION_PATH, PAID_ON, PURPOSE, SPENT_ON};

/// A region's spending token, and the spend body every request of its clients sends.
pub(crate) struct RegionToken {
    pub(crate) token: String,
    pub(crate) body: Vec<u8>,
}

pub(crate) struct Setup {
    pub(crate) finance: String,
    pub(crate) regions: Vec<RegionToken>,
    /// Events in the ledger once it is set up: the baseline for the durability check.
    pub(crate) events: u64,
}

/// 31/7421 imported, a finance token and a token per region, every region paid in full.
pub(crate) async fn prepare(addr: SocketAddr, admin: &str) -> BenchResult<Setup> {
    let mut http = Conn::connect(addr).await?;
    let body = serde_json::json!({ "builtin": DETERMINATION });
    expect_status(
        &http
            .json("POST", "/api/v1/determinations", admin, None, &body)
            .await?,
        &[200, 201],
        "import 31/7421",
    )?;
    let shown = http
        .send(
            "GET",
            &format!("/api/v1/determinations/{DETERMINATION_PATH}"),
            admin,
            None,
            None,
        )
        .await?;
    expect_status(&shown, &[200], "show 31/7421")?;
    let shown: serde_json::Value = serde_json::from_slice(&shown.body)?;
    let allocations = shown["allocations"]
        .as_array()
        .ok_or("determination show has no allocations")?;
    let finance = grant(&mut http, admin, "finance", "finance").await?;
    let mut regions = Vec::with_capacity(allocations.len());
    for allocation in allocations {
        let region = allocation["region"]
            .as_str()
            .ok_or("an allocation without a region")?;
        let amount = allocation["amount"]
            .as_str()
            .ok_or("an allocation without an amount")?;
        let slug = slug(region);
        let token = grant(
            &mut http,
            admin,
            &format!("lead-{slug}"),
            &format!("region:{slug}"),
        )
        .await?;
        let payment = serde_json::json!({
            "determination": DETERMINATION,
            "region": region,
            "amount": amount,
            "date": PAID_ON,
        });
        expect_status(
            &http
                .json("POST", "/api/v1/payments", &finance, None, &payment)
                .await?,
            &[201],
            &format!("pay {region}"),
        )?;
        let body = serde_json::to_vec(&serde_json::json!({
            "determination": DETERMINATION,
            "region": region,
            "amount": "1.00",
            "date": SPENT_ON,
            "purpose": PURPOSE,
        }))?;
        regions.push(RegionToken { token, body });
    }
    if regions.is_empty() {
        return Err("31/7421 has no regions to spend for".into());
    }
    let verified = http
        .send("GET", "/api/v1/verify", admin, None, None)
        .await?;
    expect_status(&verified, &[200], "verify")?;
    let verified: serde_json::Value = serde_json::from_slice(&verified.body)?;
    let events = verified["events"]
        .as_u64()
        .ok_or("GET /verify gave no event count")?;
    Ok(Setup {
        finance,
        regions,
        events,
    })
}

pub(crate) async fn grant(
    http: &mut Conn,
    admin: &str,
    name: &str,
    role: &str,
) -> BenchResult<String> {
    let body = serde_json::json!({ "name": name, "role": role });
    let granted = http
        .json("POST", "/api/v1/access", admin, None, &body)
        .await?;
    expect_status(&granted, &[201], &format!("grant {role} to {name}"))?;
    let granted: serde_json::Value = serde_json::from_slice(&granted.body)?;
    Ok(granted["token"]
        .as_str()
        .ok_or("POST /access answered without a token")?
        .to_string())
}

/// A region's slug: lower case, each run of other characters one hyphen.
pub(crate) fn slug(region: &str) -> String {
    let mut out = String::with_capacity(region.len());
    for c in region.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}
