//! The core's error type.

use crate::effects::EffectError;

/// Everything that can go wrong in a core operation. Messages read like skopeo's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The host failed to do something the core asked for.
    #[error("{0}")]
    Effect(#[from] EffectError),
    /// Input (a name, a manifest, a layout) is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Content did not match its digest or size.
    #[error("{0}")]
    Verification(String),
    /// The input is valid but asks for something not supported.
    #[error("{0}")]
    Unsupported(String),
    /// The operation was stopped from outside (a signal) before it finished.
    #[error("{0}")]
    Interrupted(String),
    /// A registry answered with an error (`status` 0 when it did not answer at all).
    /// `retryable` when its error codes say trying again may help.
    #[error("{message}")]
    Registry {
        status: u16,
        message: String,
        retryable: bool,
    },
}

impl Error {
    /// Adds context in front of the message, as Go's `fmt.Errorf("…: %w", err)` does.
    pub fn context(self, what: impl std::fmt::Display) -> Self {
        self.reworded(|m| format!("{what}: {m}"))
    }

    /// The same error (same kind, same retryability) with its message rewritten.
    pub fn reworded(self, reword: impl FnOnce(&str) -> String) -> Self {
        match self {
            Error::Effect(e) => {
                let message = reword(&e.to_string());
                Error::Effect(EffectError::new(e.kind, message))
            }
            Error::Invalid(m) => Error::Invalid(reword(&m)),
            Error::Verification(m) => Error::Verification(reword(&m)),
            Error::Unsupported(m) => Error::Unsupported(reword(&m)),
            Error::Interrupted(m) => Error::Interrupted(reword(&m)),
            Error::Registry {
                status,
                message,
                retryable,
            } => Error::Registry {
                status,
                message: reword(&message),
                retryable,
            },
        }
    }

    /// Whether trying the operation again may succeed (`--retry-times`), as containers/common
    /// decides it: network failures, and registry errors other than unauthorized, denied,
    /// unknown name and unknown manifest.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Effect(e) => e.kind == crate::effects::EffectErrorKind::Transient,
            Error::Registry { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
