//! A wire dialect: how one kind of socket reads client frames and writes server frames.

use std::sync::Arc;

use app::realtime::{ClientFrame, FrameEncoder};
use domain::user::User;

use crate::ws::codec::FrameError;

/// The unified protocol or one of the original's sockets.
pub trait Dialect: Send + Sync + 'static {
    /// Reads one client text frame.
    fn parse(&self, text: &str) -> Result<ClientFrame, FrameError>;

    /// Writes server frames.
    fn encoder(&self) -> Arc<dyn FrameEncoder>;

    /// Requests the connection makes on the client's behalf right after it opens.
    fn opening_requests(&self) -> Vec<ClientFrame> {
        Vec::new()
    }

    /// Frames sent right after the opening ones.
    fn greeting(&self, _user: &User) -> Vec<Arc<str>> {
        Vec::new()
    }
}

/// PROTOCOL §3: the unified socket.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unified;

impl Dialect for Unified {
    fn parse(&self, text: &str) -> Result<ClientFrame, FrameError> {
        crate::ws::codec::parse(text)
    }

    fn encoder(&self) -> Arc<dyn FrameEncoder> {
        Arc::new(crate::ws::codec::JsonEncoder)
    }
}
