//! Events for the `tracing` feature; without it they compile to nothing.
//!
//! Fields are limited to what is not secret: methods, paths, UIDs, statuses, counts,
//! durations and error messages (which never carry secrets either).

/// Emits a `tracing` event at the given level (`trace`, `debug`, ...) when the feature is on.
macro_rules! event {
    ($level:ident, $($arg:tt)+) => {
        #[cfg(feature = "tracing")]
        {
            tracing::$level!($($arg)+);
        }
    };
}

pub(crate) use event;
