//! `verify`: the full scan of the log, checking every position, link, hash and stream
//! version against the committed head and the stream index.

use super::*;

impl<B: Backend> Engine<B> {
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let head = self.backend.head()?;
        let mut expected: u64 = 1;
        let mut prev = [0u8; 32];
        let mut streams: HashMap<String, u64> = HashMap::new();
        let tampered = |position: u64, reason: String| StoreError::Tampered { position, reason };
        if head.position > 0 {
            for item in self.backend.raw_range(1, head.position) {
                let (position, raw) = item?;
                if position != expected {
                    return Err(tampered(
                        expected,
                        format!("missing: the next stored position is {position}"),
                    ));
                }
                let env = envelope::decode(raw.as_ref())
                    .map_err(|r| tampered(position, format!("envelope does not decode: {r}")))?;
                let f = &env.fields;
                if f.position != position {
                    return Err(tampered(
                        position,
                        format!("envelope says position {}", f.position),
                    ));
                }
                if f.prev_hash != prev {
                    return Err(tampered(
                        position,
                        "prev_hash is not the previous event's hash".into(),
                    ));
                }
                if !env.hash_matches() {
                    return Err(tampered(
                        position,
                        "hash does not match the event's contents".into(),
                    ));
                }
                let last = match streams.get_mut(f.stream) {
                    Some(v) => v,
                    None => streams.entry(f.stream.to_owned()).or_insert(0),
                };
                if f.stream_version != *last + 1 {
                    return Err(tampered(
                        position,
                        format!(
                            "stream {} version {} follows version {}",
                            f.stream, f.stream_version, *last
                        ),
                    ));
                }
                *last += 1;
                prev = env.hash;
                expected += 1;
            }
        }
        if expected - 1 != head.position {
            return Err(tampered(
                expected,
                format!("missing: the committed head is {}", head.position),
            ));
        }
        if prev != head.hash {
            return Err(tampered(
                head.position,
                "hash differs from the committed head hash".into(),
            ));
        }
        let indexed = self.backend.all_streams()?;
        if streams.len() != indexed.len() {
            return Err(tampered(
                head.position,
                format!(
                    "the log holds {} streams, the stream index {}",
                    streams.len(),
                    indexed.len()
                ),
            ));
        }
        for (stream, version) in indexed {
            let logged = streams.get(&stream).copied().unwrap_or(0);
            if logged != version {
                return Err(tampered(
                    head.position,
                    format!(
                        "stream {stream} is indexed at version {version}, the log holds {logged}"
                    ),
                ));
            }
        }
        Ok(VerifyReport {
            events: head.position,
            head,
        })
    }
}
