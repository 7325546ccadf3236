//! Sites, users, access levels, API tokens and goals: Tally's management layer.
//!
//! Everything an administrator changes lives in the configuration tables
//! created by `tally-db`'s migrations (`site`, `site_url`, `user`, `access`,
//! `user_token_auth`, `goal`, `option`). This crate is the one place that
//! writes them, with Matomo's rules (MATOMO.md §10): who may do what, which
//! values are valid, and which error message the HTTP API shows when not.
//!
//! - [`authenticate`] turns a `token_auth` into a [`Principal`]: a login, the
//!   super user flag and an [`Access`] level per site.
//! - [`sites`], [`users`], [`goals`], [`segments`] (stored segments),
//!   [`annotations`] and [`privacy`] (GDPR tools, raw data anonymization,
//!   privacy settings) hold the operations. Each takes the
//!   connection, the acting principal and typed arguments, and checks access
//!   itself, so a caller cannot forget to.
//! - [`ManagementError`] displays Matomo's English messages, because the
//!   Reporting API returns them verbatim.
//!
//! Every function takes `conn: &mut MysqlConnection`: the caller owns the
//! transaction. Operations that write several rows wrap them in
//! `conn.transaction`, which becomes a savepoint inside the caller's one.
//!
//! ```no_run
//! use diesel::prelude::*;
//! use tally_management::{Access, NewSiteParams, add_site, authenticate, get_site};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut conn = MysqlConnection::establish("mysql://root@127.0.0.1/tally")?;
//! let now = time::OffsetDateTime::now_utc();
//! let admin = authenticate(&mut conn, Some("0123456789abcdef0123456789abcdef"), true, now)?;
//! let idsite = add_site(
//!     &mut conn,
//!     &admin,
//!     &NewSiteParams::new("Shop", ["https://shop.example"]),
//! )?;
//! assert!(admin.can(idsite, Access::Admin));
//! let site = get_site(&mut conn, &admin, idsite)?;
//! assert_eq!(site.main_url, "https://shop.example");
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod access;
pub mod annotations;
pub mod custom_dimensions;
pub mod failures;
pub mod goals;
mod password;
pub mod privacy;
pub mod segments;
pub mod sites;
mod support;
pub mod users;

pub use access::{Access, Principal, authenticate, sites_with_access};
pub use annotations::{
    AnnotationView, add_annotation, annotations_between, delete_all_annotations, delete_annotation,
    get_annotation, save_annotation,
};
pub use custom_dimensions::{
    DimensionChanges, DimensionParams, DimensionScope, DimensionView, ScopeView, StoredExtraction,
    active_custom_dimensions, available_extraction_dimensions, available_scopes,
    check_dimension_active, configure_existing_custom_dimension, configure_new_custom_dimension,
    configured_custom_dimensions,
};
pub use failures::{
    TrackingFailure, delete_all_tracking_failures, delete_tracking_failure, tracking_failures,
};
pub use goals::{GoalParams, GoalView, add_goal, delete_goal, get_goal, get_goals, update_goal};
pub use privacy::{
    AnonymizeIpChanges, AnonymizeIpSettings, AnonymizeOutcome, AnonymizeParams, DataSubject,
    ExportSection, PurgeCounts, RawDataSubject, anonymize_date_bounds, anonymize_ip_settings,
    anonymize_some_raw_data, delete_data_subjects, do_not_track_enabled, export_data_subjects,
    link_visit_action_columns_to_anonymize, parse_data_subjects, purge_logs_older_than,
    set_anonymize_ip_settings, set_do_not_track, visit_columns_to_anonymize,
};
pub use segments::{
    SegmentParams, SegmentView, add_segment, can_add_segment, delete_segment,
    find_segment_name_by_definition, get_all_segments, get_segment, update_segment,
};
pub use sites::{
    NewSiteParams, SiteChanges, SiteView, add_site, add_site_alias_urls, default_currency,
    delete_site, get_all_sites, get_site, global_excluded_ips, global_excluded_query_parameters,
    global_excluded_user_agents, global_search_category_parameters,
    global_search_keyword_parameters, pattern_match_site_ids, set_global_excluded_ips,
    set_global_excluded_query_parameters, set_global_excluded_user_agents,
    set_global_search_parameters, site_ids_from_url, site_urls, sites_with_at_least_view_access,
    update_site,
};
pub use users::{
    InviteStatus, PreferenceValue, UserView, add_user, create_app_specific_token, create_superuser,
    delete_app_specific_token, delete_user, get_user, get_user_preference, get_users,
    set_superuser_access, set_user_access, set_user_preference, users_access_from_site,
    verify_password,
};

/// Errors from management operations.
///
/// The messages of the variants a client can cause are Matomo's English
/// messages (from `lang/en.json` and the plugins' `API.php`), because the
/// Reporting API shows them verbatim; Matomo's wording is kept even where it
/// says "Matomo", so that clients matching on it keep working.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManagementError {
    /// No site has this id (`SitesManager.updateSite`/`deleteSite`'s message).
    #[error("website id = {idsite} not found")]
    UnknownSite {
        /// The id that was asked for.
        idsite: u32,
    },
    /// The principal lacks `needed` on the site
    /// (`General_ExceptionPrivilegeAccessWebsite`).
    #[error(
        "You can't access this resource as it requires '{needed}' access for the website id = {idsite}."
    )]
    NoAccess {
        /// The level the operation needs.
        needed: Access,
        /// The site.
        idsite: u32,
    },
    /// The principal has `needed` on no site at all
    /// (`General_ExceptionPrivilegeAtLeastOneWebsite`).
    #[error(
        "You can't access this resource as it requires {needed} access for at least one website."
    )]
    NoAccessToAnySite {
        /// The level the operation needs somewhere.
        needed: Access,
    },
    /// Only a super user may do this (`General_ExceptionPrivilege` with
    /// `'superuser'`, as `Access::checkUserHasSuperUserAccess` words it).
    #[error("You can't access this resource as it requires a 'superuser' access.")]
    SuperUserRequired,
    /// Only a super user or the user themself may do this
    /// (`General_ExceptionCheckUserHasSuperUserAccessOrIsTheUser`).
    #[error("The user has to be either a Super User or the user '{login}' itself.")]
    SuperUserOrSelfRequired {
        /// The user the operation is about.
        login: String,
    },
    /// The `token_auth` is unknown, expired, or secure-only but sent in a GET
    /// request. The wording is Matomo's for an API request whose token was not
    /// sent securely (`Login::onFailedAPILogin`); it names every cause on
    /// purpose, so that the answer does not tell which one applies.
    #[error(
        "Unable to authenticate with the provided token. It is either invalid, expired or is required to be sent as a POST parameter."
    )]
    InvalidToken,
    /// A parameter has an invalid value; `reason` is the full message, which
    /// names the parameter (Matomo's message where Matomo validates it).
    #[error("{reason}")]
    InvalidParameter {
        /// The parameter's name in the HTTP API (`urls`, `timezone`, `userLogin`, ...).
        name: &'static str,
        /// The message shown to the client.
        reason: String,
    },
    /// No user has this login (`UsersManager_ExceptionUserDoesNotExist`).
    #[error("User '{login}' doesn't exist.")]
    UnknownUser {
        /// The login that was asked for.
        login: String,
    },
    /// The login is taken (`UsersManager_ExceptionLoginExists`, prefixed with
    /// the field name as Matomo's validator chain does).
    #[error("Username: Username '{login}' already exists.")]
    LoginExists {
        /// The login.
        login: String,
    },
    /// The email address is taken (`UsersManager_ExceptionEmailExists`, with
    /// the validator chain's field prefix).
    #[error("Email: User with email '{email}' already exists.")]
    EmailExists {
        /// The address.
        email: String,
    },
    /// No active goal has this id on the site. Matomo has no message for it
    /// (it silently does nothing); the wording follows `website id = N not found`.
    #[error("goal id = {idgoal} not found for website id = {idsite}")]
    UnknownGoal {
        /// The site.
        idsite: u32,
        /// The goal id.
        idgoal: u32,
    },
    /// No custom dimension has this id on the site
    /// (`CustomDimensions_ExceptionDimensionDoesNotExist`).
    #[error("Dimension {iddimension} for website {idsite} does not exist.")]
    UnknownDimension {
        /// The site.
        idsite: u32,
        /// The dimension id.
        iddimension: u32,
    },
    /// The dimension exists but is not active
    /// (`CustomDimensions_ExceptionDimensionIsNotActive`).
    #[error("Dimension {iddimension} for website {idsite} is not active.")]
    InactiveDimension {
        /// The site.
        idsite: u32,
        /// The dimension id.
        iddimension: u32,
    },
    /// The only site cannot be deleted (`SitesManager_ExceptionDeleteSite`).
    #[error(
        "It is not possible to delete this website as it is the only registered website. Add a new website first, then delete this one."
    )]
    LastSite,
    /// Deleting the only super user (`UsersManager_ExceptionDeleteOnlyUserWithSuperUserAccess`
    /// + `UsersManager_ExceptionYouMustGrantSuperUserAccessFirst`).
    #[error(
        "Deleting user '{login}' is not possible. There has to be at least one user with Super User access. Please grant Super User access to another user first."
    )]
    DeleteLastSuperUser {
        /// The user.
        login: String,
    },
    /// Removing super user access from the only super user
    /// (`UsersManager_ExceptionRemoveSuperUserAccessOnlySuperUser` + `..._YouMustGrantSuperUserAccessFirst`).
    #[error(
        "Removing the Super User access from user '{login}' is not possible. There has to be at least one user with Super User access. Please grant Super User access to another user first."
    )]
    RemoveLastSuperUser {
        /// The user.
        login: String,
    },
    /// Site access of a super user cannot be changed (`UsersManager_ExceptionUserHasSuperUserAccess`).
    #[error(
        "The user '{login}' has Super User access and has already permission to access and modify all websites in Matomo. You may remove the Super User access from this user and try again."
    )]
    UserIsSuperUser {
        /// The user.
        login: String,
    },
    /// The anonymous user may only get view access or none
    /// (`UsersManager_ExceptionAnonymousAccessNotPossible`).
    #[error("You can only set access noaccess or view access to the 'anonymous' user.")]
    AnonymousAccessNotPossible,
    /// The anonymous user cannot be edited or deleted (`UsersManager_ExceptionEditAnonymous`).
    #[error(
        "The anonymous user cannot be edited or deleted. It is used by Matomo to define a user that has not logged in yet. For example, you can make your statistics public by granting the 'view' access to the 'anonymous' user."
    )]
    EditAnonymous,
    /// The password confirmation is wrong (`UsersManager_CurrentPasswordNotCorrect`).
    #[error("The current password you entered is not correct.")]
    WrongPassword,
    /// A user tried to delete their own account. Matomo has no such rule (it
    /// only protects the last super user); the wording is ours.
    #[error("You cannot delete your own user '{login}'.")]
    DeleteSelf {
        /// The user.
        login: String,
    },
    /// A user created by a non-super user needs an initial site
    /// (`UsersManager_AddUserNoInitialAccessError`).
    #[error(
        "New users must be given access to a website, please set the 'initialIdSite' parameter."
    )]
    InitialSiteRequired,
    /// A password could not be hashed, or a stored hash could not be read.
    #[error("password hash of user '{login}': {reason}")]
    PasswordHash {
        /// The user.
        login: String,
        /// What went wrong.
        reason: String,
    },
    /// The operating system's random number generator failed (tokens and
    /// salts are never generated from anything weaker).
    #[error("no randomness from the operating system: {reason}")]
    Random {
        /// The OS error.
        reason: String,
    },
    /// A segment definition that does not parse (`SegmentEditor`'s
    /// prefix, then our parser's reason).
    #[error("The specified segment is invalid: {reason}")]
    InvalidSegment {
        /// Why the parser refused it.
        reason: String,
    },
    /// No stored segment has this id (`SegmentEditor`'s `getSegmentOrFail`).
    #[error("Requested segment not found")]
    UnknownSegment {
        /// The id that was asked for.
        idsegment: u32,
    },
    /// A stored segment marked deleted.
    #[error("This segment is marked as deleted. ")]
    SegmentDeleted,
    /// Another user's segment, or an all-sites segment for a user who is
    /// not a super user (Matomo's one message for both).
    #[error(
        "You can only edit and delete custom segments that you have created yourself. This segment was created and 'shared with you' by the Super User. To modify this segment, you can first create a new one by clicking on 'Add new segment'. Then you can customize the segment's definition."
    )]
    SegmentNotEditable,
    /// The anonymous user may not change segments.
    #[error("To create, edit or delete Custom Segments, please sign in first.")]
    SignInRequired,
    /// The user may not add segments for this site
    /// (`SegmentEditor_YouDontHaveAccessToCreateSegments`).
    #[error("You don't have the required access level to create and edit segments.")]
    SegmentAccess,
    /// `enabledAllUsers=1` by a user who is not a super user.
    #[error("enabledAllUsers=1 requires Super User access")]
    SharingRequiresSuperUser,
    /// A pre-processed all-sites segment by a user who is not a super user.
    #[error(
        "Please contact Support to make these changes on your behalf.  To modify a pre-processed segment for all websites, a user must have super user access. "
    )]
    AllSitesPreProcessingRequiresSuperUser,
    /// No note has this id on the site (the `AnnotationList` message).
    #[error("There is no note with id '{idnote}' for site with id '{idsite}'.")]
    UnknownNote {
        /// The site.
        idsite: u32,
        /// The note id.
        idnote: i64,
    },
    /// The user may not add notes to the site (anonymous, or no view access).
    #[error("The current user is not allowed to add notes for site #{idsite}.")]
    CannotAddNote {
        /// The site.
        idsite: u32,
    },
    /// Neither the note's author nor a user with write access
    /// (`Annotations_YouCannotModifyThisNote`).
    #[error(
        "You cannot modify this annotation, because you did not create it, nor do you have admin access for this site."
    )]
    NoteNotEditable,
    /// `PrivacyManager`'s `visits` parameter is missing or empty (the
    /// `VisitsDataSubject` validator's message).
    #[error("No list of visits given")]
    NoVisitsGiven,
    /// An entry of `visits` lacks its `idsite` or `idvisit`.
    #[error("No {key} key set for visit at index {index}")]
    VisitKeyMissing {
        /// `idsite` or `idvisit`.
        key: &'static str,
        /// The entry's array key.
        index: String,
    },
    /// `anonymizeSomeRawData` without any anonymization chosen (Matomo's
    /// message).
    #[error("Nothing is selected to be anonymized")]
    NothingToAnonymize,
    /// A method that needs the current user's password got none
    /// (`UsersManager_ConfirmWithPassword`).
    #[error("Please enter your password to confirm this change.")]
    PasswordConfirmationRequired,
    /// Queueing a pre-processed segment's archives failed.
    #[error("queueing the segment's archives: {0}")]
    Archiving(#[source] tally_archiving::ArchiveError),
    /// A database error.
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl ManagementError {
    /// An [`InvalidParameter`](Self::InvalidParameter) error.
    pub(crate) fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}

/// The result of a management operation.
pub type Result<T, E = ManagementError> = std::result::Result<T, E>;
