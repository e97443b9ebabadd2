//! Reading a long JSON array one element at a time (the server's `history`), so a client
//! holds one entry at a time however long the trail is.

use std::fmt;

use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::Deserializer;

/// Why reading stopped: the caller's own error, or JSON that does not parse.
pub enum Stop<E> {
    Caller(E),
    Json(serde_json::Error),
}

/// Hands each element of the JSON array read by `de` to `each`, in order.
pub fn each_in_array<'de, R, T, E>(
    de: &mut serde_json::Deserializer<R>,
    each: &mut dyn FnMut(T) -> Result<(), E>,
) -> Result<(), Stop<E>>
where
    R: serde_json::de::Read<'de>,
    T: DeserializeOwned,
{
    struct Each<'a, T, E> {
        each: &'a mut dyn FnMut(T) -> Result<(), E>,
        failed: &'a mut Option<E>,
    }

    impl<'de, T: DeserializeOwned, E> Visitor<'de> for Each<'_, T, E> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(item) = seq.next_element::<T>()? {
                if let Err(e) = (self.each)(item) {
                    *self.failed = Some(e);
                    return Err(serde::de::Error::custom("stopped by the caller"));
                }
            }
            Ok(())
        }
    }

    let mut failed = None;
    let read = de.deserialize_seq(Each {
        each,
        failed: &mut failed,
    });
    match (read, failed) {
        (_, Some(e)) => Err(Stop::Caller(e)),
        (Err(e), None) => Err(Stop::Json(e)),
        (Ok(()), None) => de.end().map_err(Stop::Json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_is_handed_on_in_order() {
        let mut de = serde_json::Deserializer::from_str("[1, 2, 3]");
        let mut seen = Vec::new();
        let read = each_in_array(&mut de, &mut |n: u32| -> Result<(), ()> {
            seen.push(n);
            Ok(())
        });
        assert!(read.is_ok());
        assert_eq!(seen, vec![1, 2, 3]);
    }

    #[test]
    fn the_callers_error_stops_the_read() {
        let mut de = serde_json::Deserializer::from_str("[1, 2, 3]");
        let read = each_in_array(&mut de, &mut |n: u32| {
            if n == 2 {
                Err("two")
            } else {
                Ok(())
            }
        });
        assert!(matches!(read, Err(Stop::Caller("two"))));
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let mut de = serde_json::Deserializer::from_str("[1] x");
        let read = each_in_array(&mut de, &mut |_: u32| -> Result<(), ()> { Ok(()) });
        assert!(matches!(read, Err(Stop::Json(_))));
    }
}
