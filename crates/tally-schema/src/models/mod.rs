//! Row, insert and changeset structs, one module per table.
//!
//! Row structs derive `Selectable` with `check_for_backend`, so a field whose
//! type drifts from `schema.rs` fails to compile. Nullable columns are `Option`;
//! in changesets `Option<Option<T>>` means "leave alone" / "set NULL".

mod access;
mod annotation;
mod archive_invalidations;
mod goal;
mod log_action;
mod log_conversion;
mod log_conversion_item;
mod log_link_visit_action;
mod log_visit;
mod logimport_day_status;
mod logimport_file;
mod logimport_file_summary;
mod option;
mod segment;
mod sequence;
mod site;
mod site_url;
mod user;
mod user_token_auth;

pub use access::*;
pub use annotation::*;
pub use archive_invalidations::*;
pub use goal::*;
pub use log_action::*;
pub use log_conversion::*;
pub use log_conversion_item::*;
pub use log_link_visit_action::*;
pub use log_visit::*;
pub use logimport_day_status::*;
pub use logimport_file::*;
pub use logimport_file_summary::*;
pub use option::*;
pub use segment::*;
pub use sequence::*;
pub use site::*;
pub use site_url::*;
pub use user::*;
pub use user_token_auth::*;
