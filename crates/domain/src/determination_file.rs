//! Reading the determination file format of the CLI contract (TOML). Parsing
//! is pure, so it lives here: text in, a validated [`Determination`] or an
//! error naming the offending key out.
//!
//! The file is walked by hand rather than through serde derive so that every
//! error names its key in the file's own terms (`allocation[3].amount`,
//! counting from 1) instead of a line number into serde's internals.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use toml::{Table, Value};

use crate::determination::{
    Allocation, Basis, Component, Determination, GrantPeriod, Instalment, Working,
};
use crate::error::DomainError;
use crate::identifiers::Funder;
use crate::limits::{
    MAX_ALLOCATIONS, MAX_AUTHORITIES_PER_ALLOCATION, MAX_COMPONENTS, MAX_DETERMINATION_FILE_BYTES,
};
use crate::money::Money;

/// Parses and validates a determination file.
pub fn parse_determination(toml_text: &str) -> Result<Determination, DomainError> {
    if toml_text.len() > MAX_DETERMINATION_FILE_BYTES {
        return Err(DomainError::malformed(format!(
            "determination file is {} bytes, above the limit of {MAX_DETERMINATION_FILE_BYTES}",
            toml_text.len()
        )));
    }
    let root: Table = toml::from_str(toml_text).map_err(|error| {
        let line = error.span().map(|span| {
            // Byte offsets from toml are char boundaries, but a wrong one
            // must cost the line number, not a panic.
            toml_text
                .get(..span.start)
                .unwrap_or(toml_text)
                .matches('\n')
                .count()
                + 1
        });
        // toml's messages may span lines; the CLI promises one sentence.
        let message = error
            .message()
            .trim()
            .trim_end_matches('.')
            .replace('\n', "; ");
        match line {
            Some(line) => DomainError::malformed(format!(
                "determination file is not valid TOML at line {line}: {message}"
            )),
            None => {
                DomainError::malformed(format!("determination file is not valid TOML: {message}"))
            }
        }
    })?;
    let top = Fields::new(
        "",
        &root,
        &[
            "id",
            "title",
            "financial_year",
            "made_on",
            "payment_deadline",
            "grant_period",
            "instalments",
            "allocation",
            "component",
            "funder",
            "instalment",
        ],
    )?;
    let period = top.table("grant_period")?;
    let period = Fields::new("grant_period", period, &["start", "end"])?;
    let instalments = top.integer("instalments")?;
    let schedule = match top.optional("instalment") {
        None => Vec::new(),
        Some(_) => top
            .tables("instalment", crate::limits::MAX_INSTALMENTS as usize)?
            .into_iter()
            .map(|fields| instalment(&fields))
            .collect::<Result<Vec<_>, _>>()?,
    };
    // With a schedule the deadline is its last due date, so it may be left out.
    let payment_deadline = match (top.optional("payment_deadline"), schedule.last()) {
        (None, Some(last)) => last.due,
        _ => top.date("payment_deadline")?,
    };
    let determination = Determination {
        id: top.string("id")?,
        title: top.string("title")?,
        financial_year: top.string("financial_year")?,
        made_on: top.date("made_on")?,
        payment_deadline,
        grant_period: GrantPeriod {
            start: period.date("start")?,
            end: period.date("end")?,
        },
        instalments: u32::try_from(instalments).map_err(|_| {
            bad(
                "instalments",
                format!(
                    "{instalments} must be between 1 and {}",
                    crate::limits::MAX_INSTALMENTS
                ),
            )
        })?,
        allocations: top
            .tables("allocation", MAX_ALLOCATIONS)?
            .into_iter()
            .map(|fields| allocation(&fields))
            .collect::<Result<_, _>>()?,
        components: match top.optional("component") {
            None => Vec::new(),
            Some(_) => top
                .tables("component", MAX_COMPONENTS)?
                .into_iter()
                .map(|fields| component(&fields))
                .collect::<Result<_, _>>()?,
        },
        funder: match top.optional("funder") {
            None => None,
            Some(_) => {
                let funder = Fields::new("funder", top.table("funder")?, &["name", "org_id"])?;
                Some(Funder {
                    name: funder.string("name")?,
                    org_id: funder.string("org_id")?,
                })
            }
        },
        schedule,
    };
    determination.validate()?;
    Ok(determination)
}

fn allocation(fields: &Fields<'_>) -> Result<Allocation, DomainError> {
    fields.only(&[
        "region",
        "region_ons_code",
        "lead_authority",
        "org_id",
        "amount",
        "authorities",
        "authority_ons_codes",
        "instalment_amounts",
    ])?;
    let mut authority_ons_codes = BTreeMap::new();
    if fields.optional("authority_ons_codes").is_some() {
        let key = fields.key("authority_ons_codes");
        let table = fields.table("authority_ons_codes")?;
        if table.len() > MAX_AUTHORITIES_PER_ALLOCATION {
            return Err(bad(
                &key,
                format!("has more than {MAX_AUTHORITIES_PER_ALLOCATION} entries"),
            ));
        }
        for (authority, value) in table {
            let Value::String(code) = value else {
                return Err(wrong_type(
                    &format!("{key}.\"{authority}\""),
                    "a string such as \"E06000054\"",
                    value,
                ));
            };
            authority_ons_codes.insert(authority.clone(), code.clone());
        }
    }
    Ok(Allocation {
        region: fields.string("region")?,
        lead_authority: fields.string("lead_authority")?,
        amount: fields.money("amount")?,
        authorities: fields.strings("authorities", MAX_AUTHORITIES_PER_ALLOCATION)?,
        org_id: fields.optional_string("org_id")?,
        region_ons_code: fields.optional_string("region_ons_code")?,
        authority_ons_codes,
        instalment_amounts: match fields.optional("instalment_amounts") {
            None => Vec::new(),
            Some(_) => fields.array(
                "instalment_amounts",
                crate::limits::MAX_INSTALMENTS as usize,
                "an array of amounts such as [\"29000.00\", \"29000.00\"]",
                money_value,
            )?,
        },
    })
}

/// One `[[instalment]]`: `due`, and `share` (per cent: `"50%"`, `"50"` or `50`) or `amount`.
fn instalment(fields: &Fields<'_>) -> Result<Instalment, DomainError> {
    fields.only(&["due", "share", "amount"])?;
    let share = match fields.optional("share") {
        None => None,
        Some(value) => {
            let key = fields.key("share");
            let text = match value {
                Value::String(text) => text.trim().trim_end_matches('%').trim().to_string(),
                Value::Integer(n) => n.to_string(),
                other => return Err(wrong_type(&key, "a share such as \"50%\"", other)),
            };
            Some(
                fraction(&key, &Value::String(text.clone()))
                    .map_err(|_| bad(&key, format!("\"{text}\" is not a share such as \"50%\"")))?,
            )
        }
    };
    Ok(Instalment {
        due: fields.date("due")?,
        share,
        amount: match fields.optional("amount") {
            None => None,
            Some(_) => Some(fields.money("amount")?),
        },
    })
}

fn component(fields: &Fields<'_>) -> Result<Component, DomainError> {
    fields.only(&["purpose", "basis", "amount", "uplift", "region", "working"])?;
    let basis = match fields.string("basis")?.as_str() {
        "per-region" => Basis::PerRegion,
        "per-authority" => Basis::PerAuthority,
        "fixed" => Basis::Fixed,
        other => {
            return Err(bad(
                &fields.key("basis"),
                format!("\"{other}\" is not a basis; use per-region, per-authority or fixed"),
            ))
        }
    };
    let mut uplift = BTreeMap::new();
    if fields.optional("uplift").is_some() {
        let table = fields.table("uplift")?;
        for (region, value) in table {
            let key = format!("{}.\"{region}\"", fields.key("uplift"));
            uplift.insert(region.clone(), fraction(&key, value)?);
        }
    }
    let region = match fields.optional("region") {
        None => None,
        Some(_) => Some(fields.string("region")?),
    };
    let working = match fields.optional("working") {
        None => None,
        Some(_) => {
            let table = fields.table("working")?;
            let working = Fields::new(&fields.key("working"), table, &["factors", "rate", "note"])?;
            Some(Working {
                factors: working.factors("factors")?,
                rate: working.money("rate")?,
                note: match working.optional("note") {
                    None => None,
                    Some(_) => Some(working.string("note")?),
                },
            })
        }
    };
    Ok(Component {
        purpose: fields.string("purpose")?,
        basis,
        amount: fields.money("amount")?,
        uplift,
        region,
        working,
    })
}

/// One TOML table and the key path that leads to it, so every accessor can
/// name the full key in its error.
pub(crate) struct Fields<'a> {
    path: String,
    table: &'a Table,
}

impl<'a> Fields<'a> {
    /// Wraps a table, refusing keys it does not know.
    pub(crate) fn new(
        path: &str,
        table: &'a Table,
        known: &[&str],
    ) -> Result<Fields<'a>, DomainError> {
        let fields = Fields {
            path: path.to_string(),
            table,
        };
        fields.only(known)?;
        Ok(fields)
    }

    pub(crate) fn only(&self, known: &[&str]) -> Result<(), DomainError> {
        match self.table.keys().find(|key| !known.contains(&key.as_str())) {
            Some(unknown) => Err(bad(
                &self.key(unknown),
                format!("is not a known key; expected one of {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub(crate) fn key(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    pub(crate) fn optional(&self, name: &str) -> Option<&'a Value> {
        self.table.get(name)
    }

    fn required(&self, name: &str) -> Result<&'a Value, DomainError> {
        self.table
            .get(name)
            .ok_or_else(|| bad(&self.key(name), "is missing"))
    }

    pub(crate) fn string(&self, name: &str) -> Result<String, DomainError> {
        match self.required(name)? {
            Value::String(text) => Ok(text.clone()),
            other => Err(wrong_type(&self.key(name), "a string", other)),
        }
    }

    fn optional_string(&self, name: &str) -> Result<Option<String>, DomainError> {
        match self.optional(name) {
            None => Ok(None),
            Some(_) => self.string(name).map(Some),
        }
    }

    fn integer(&self, name: &str) -> Result<i64, DomainError> {
        match self.required(name)? {
            Value::Integer(n) => Ok(*n),
            other => Err(wrong_type(&self.key(name), "a whole number", other)),
        }
    }

    fn table(&self, name: &str) -> Result<&'a Table, DomainError> {
        match self.required(name)? {
            Value::Table(table) => Ok(table),
            other => Err(wrong_type(&self.key(name), "a table", other)),
        }
    }

    /// The array `name`, at most `limit` long, with each item read by `item` under its own
    /// key (`allocation[3]`, counting from 1). `shape` says what the array should be, for
    /// the message when it is not one.
    fn array<T>(
        &self,
        name: &str,
        limit: usize,
        shape: &str,
        mut item: impl FnMut(&str, &'a Value) -> Result<T, DomainError>,
    ) -> Result<Vec<T>, DomainError> {
        let key = self.key(name);
        let Value::Array(items) = self.required(name)? else {
            return Err(bad(&key, format!("must be {shape}")));
        };
        if items.len() > limit {
            return Err(bad(
                &key,
                format!("has {} entries, above the limit of {limit}", items.len()),
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(index, value)| item(&format!("{key}[{}]", index + 1), value))
            .collect()
    }

    /// An array of tables (`[[allocation]]`), each wrapped with its 1-based index.
    pub(crate) fn tables(&self, name: &str, limit: usize) -> Result<Vec<Fields<'a>>, DomainError> {
        let shape = format!("an array of tables, written [[{name}]]");
        self.array(name, limit, &shape, |path, value| match value {
            Value::Table(table) => Ok(Fields {
                path: path.to_string(),
                table,
            }),
            other => Err(wrong_type(path, "a table", other)),
        })
    }

    fn strings(&self, name: &str, limit: usize) -> Result<Vec<String>, DomainError> {
        self.array(
            name,
            limit,
            "an array of strings",
            |path, value| match value {
                Value::String(text) => Ok(text.clone()),
                other => Err(wrong_type(path, "a string", other)),
            },
        )
    }

    fn factors(&self, name: &str) -> Result<Vec<u32>, DomainError> {
        let shape = "an array of whole numbers such as [4, 39]";
        let limit = crate::limits::MAX_WORKING_FACTORS;
        self.array(name, limit, shape, |path, value| match value {
            Value::Integer(n) => u32::try_from(*n)
                .map_err(|_| bad(path, format!("{n} must be a positive whole number"))),
            other => Err(wrong_type(path, "a whole number", other)),
        })
    }

    /// A date, written as a TOML date (`2024-08-16`) or a string of one.
    pub(crate) fn date(&self, name: &str) -> Result<NaiveDate, DomainError> {
        let key = self.key(name);
        let text = match self.required(name)? {
            Value::Datetime(datetime) => {
                if datetime.time.is_some() || datetime.offset.is_some() {
                    return Err(bad(
                        &key,
                        format!("{datetime} must be a date without a time, such as 2024-08-16"),
                    ));
                }
                datetime.to_string()
            }
            Value::String(text) => text.clone(),
            other => return Err(wrong_type(&key, "a date such as 2024-08-16", other)),
        };
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| bad(&key, format!("\"{text}\" is not a date such as 2024-08-16")))
    }

    /// Money, written as a string in any input form (`"233200.00"`,
    /// `"£233,200"`) or a whole number. Floats are refused: TOML floats are
    /// binary and cannot hold every penny exactly.
    pub(crate) fn money(&self, name: &str) -> Result<Money, DomainError> {
        money_value(&self.key(name), self.required(name)?)
    }
}

/// Money under `key`, as [`Fields::money`] reads it.
fn money_value(key: &str, value: &Value) -> Result<Money, DomainError> {
    let parsed = match value {
        Value::String(text) => Money::parse(text),
        Value::Integer(n) => Money::parse(&n.to_string()),
        Value::Float(f) => {
            return Err(bad(
                key,
                format!("{f} is a float; write amounts as strings such as \"233200.00\""),
            ))
        }
        other => return Err(wrong_type(key, "an amount such as \"233200.00\"", other)),
    };
    parsed.map_err(|error| bad(key, error))
}

/// An uplift fraction, written as a string (`"0.14"`) so it is exact.
fn fraction(key: &str, value: &Value) -> Result<Decimal, DomainError> {
    match value {
        Value::String(text) => {
            let text = text.trim();
            let plain = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.');
            if !plain || text.len() > 20 {
                return Err(bad(
                    key,
                    format!("\"{text}\" is not a fraction such as \"0.14\""),
                ));
            }
            Decimal::from_str(text).map_err(|_| {
                bad(
                    key,
                    format!("\"{text}\" is not a fraction such as \"0.14\""),
                )
            })
        }
        Value::Integer(n) => Ok(Decimal::from(*n)),
        Value::Float(f) => Err(bad(
            key,
            format!("{f} is a float; write fractions as strings such as \"0.14\""),
        )),
        other => Err(wrong_type(key, "a fraction such as \"0.14\"", other)),
    }
}

pub(crate) fn bad(key: &str, problem: impl std::fmt::Display) -> DomainError {
    DomainError::malformed(format!("{key}: {problem}"))
}

fn wrong_type(key: &str, expected: &str, found: &Value) -> DomainError {
    bad(key, format!("must be {expected}, not {}", found.type_str()))
}
