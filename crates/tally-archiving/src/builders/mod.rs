//! The core record builders, one module per plugin.

mod actions;
mod visits_summary;

pub use actions::Actions;
pub use visits_summary::VisitsSummary;
