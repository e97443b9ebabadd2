//! The macro that implements `EventStore` by forwarding to an `Engine` field.

/// Implements [`crate::EventStore`] for a type with an `engine: Engine<_>` field.
///
/// `forward_event_store!(T, watch = method)` also forwards [`crate::EventStore::watch`] to
/// `T::method`, for a backend that other processes write to.
#[macro_export]
macro_rules! forward_event_store {
    ($ty:ty) => {
        $crate::forward_event_store!(@impl $ty, {});
    };
    ($ty:ty, watch = $watch:ident) => {
        $crate::forward_event_store!(@impl $ty, {
            fn watch(
                &self,
                wake: Box<dyn Fn(u64) + Send + Sync>,
            ) -> Result<(), $crate::StoreError> {
                self.$watch(wake)
            }
        });
    };
    (@impl $ty:ty, { $($extra:tt)* }) => {
        impl $crate::EventStore for $ty {
            $($extra)*
            fn append(
                &self,
                req: $crate::AppendRequest,
            ) -> Result<$crate::AppendOutcome, $crate::StoreError> {
                self.engine.guarded(|e| e.append(req))
            }
            fn append_stream_bulk(
                &self,
                bulk: $crate::BulkAppend,
                events: &mut dyn Iterator<Item = Result<$crate::NewEvent, $crate::StoreError>>,
                models: &mut dyn FnMut(u64) -> Vec<$crate::ModelWrite>,
            ) -> Result<$crate::AppendOutcome, $crate::StoreError> {
                self.engine.guarded(|e| e.append_stream_bulk(bulk, events, models))
            }
            fn read_stream(&self, stream: &str, from_version: u64) -> $crate::EventIter<'_> {
                self.engine.guarded_iter(|e| e.read_stream(stream, from_version))
            }
            fn read_all(&self, from_position: u64) -> $crate::EventIter<'_> {
                self.engine.guarded_iter(|e| e.read_all(from_position))
            }
            fn event_at(
                &self,
                position: u64,
            ) -> Result<Option<$crate::RecordedEvent>, $crate::StoreError> {
                self.engine.guarded(|e| e.event_at(position))
            }
            fn event_by_id(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::RecordedEvent>, $crate::StoreError> {
                self.engine.guarded(|e| e.event_by_id(id))
            }
            fn stream_version(&self, stream: &str) -> Result<u64, $crate::StoreError> {
                self.engine.guarded(|e| e.stream_version(stream))
            }
            fn head(&self) -> Result<$crate::Head, $crate::StoreError> {
                self.engine.watched(|e| e.head())
            }
            fn key(&self, key: &str) -> Result<Option<$crate::KeyRecord>, $crate::StoreError> {
                self.engine.guarded(|e| e.key(key))
            }
            fn whole_append_keys(
                &self,
                after: &str,
                limit: usize,
            ) -> Result<Vec<(String, $crate::KeyRecord)>, $crate::StoreError> {
                self.engine.guarded(|e| e.whole_append_keys(after, limit))
            }
            fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, $crate::StoreError> {
                self.engine.watched(|e| e.model(name))
            }
            fn model_names(&self) -> Result<Vec<String>, $crate::StoreError> {
                self.engine.watched(|e| e.model_names())
            }
            fn save_model(
                &self,
                name: &str,
                position: u64,
                bytes: Vec<u8>,
            ) -> Result<(), $crate::StoreError> {
                self.engine.guarded(|e| e.save_model(name, position, bytes))
            }
            fn verify(&self) -> Result<$crate::VerifyReport, $crate::StoreError> {
                self.engine.checked(self.engine.verify())
            }
            fn verify_each(
                &self,
                each: &mut dyn FnMut(&$crate::VerifiedEvent<'_>) -> bool,
            ) -> Result<$crate::VerifyReport, $crate::StoreError> {
                self.engine.checked(self.engine.verify_each(each))
            }
            fn damage(&self) -> Option<$crate::Damage> {
                self.engine.damage()
            }
            fn model_damage(&self) -> Option<$crate::Damage> {
                self.engine.model_damage()
            }
            fn note_model_damage(&self, name: &str, reason: &str) {
                self.engine.note_model_damage(name, reason)
            }
            fn mend_models(&self) {
                self.engine.mend_models()
            }
            fn copy_from(
                &self,
                source: &dyn $crate::EventStore,
            ) -> Result<$crate::Head, $crate::StoreError> {
                self.engine.guarded(|e| e.copy_from(source))
            }
        }
    };
}
