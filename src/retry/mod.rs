//! Delivering entries again: the policy (pure), the senders (HTTP), and the limiter (how fast,
//! how many at once, and when to stop hammering a target). Knows nothing of the UI.

pub mod limiter;
pub mod policy;
pub mod sender;
