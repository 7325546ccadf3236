//! Matomo's integer and string codes for the values stored in our tables.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::SchemaError;

/// Declares a `#[repr]`-like enum with its stored code, its name in Matomo's
/// API, and the conversions both ways.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $code:ty as $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $label:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The code stored in the database.
            pub fn code(self) -> $code {
                match self { $(Self::$variant => $value,)+ }
            }

            /// The value for a stored code.
            ///
            /// # Errors
            /// [`SchemaError::UnknownCode`] for a code Matomo does not define.
            pub fn from_code(code: $code) -> Result<Self, SchemaError> {
                match code {
                    $($value => Ok(Self::$variant),)+
                    other => Err(SchemaError::UnknownCode { what: $what, code: i64::from(other) }),
                }
            }

            /// The name Matomo uses for this value (API parameters, segments).
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $label,)+ }
            }

            /// The value for a Matomo name.
            ///
            /// # Errors
            /// [`SchemaError::UnknownName`] for any other string.
            pub fn from_name(name: &str) -> Result<Self, SchemaError> {
                match name {
                    $($label => Ok(Self::$variant),)+
                    other => Err(SchemaError::UnknownName { what: $what, name: other.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

coded_enum! {
    /// `log_action.type`: what an action name or URL is (MATOMO.md section 3.1).
    pub enum ActionType: u8 as "action type" {
        /// A normalized page URL (without scheme and `www.`).
        PageUrl = 1 => "page_url",
        /// An outlink URL, as sent.
        Outlink = 2 => "outlink",
        /// A download URL, as sent.
        Download = 3 => "download",
        /// A page title.
        PageTitle = 4 => "page_title",
        /// An ecommerce item SKU.
        EcommerceItemSku = 5 => "ecommerce_item_sku",
        /// An ecommerce item name.
        EcommerceItemName = 6 => "ecommerce_item_name",
        /// An ecommerce item category.
        EcommerceItemCategory = 7 => "ecommerce_item_category",
        /// A site search keyword.
        SiteSearch = 8 => "site_search",
        /// An event category (also the URL of an event's page).
        EventCategory = 10 => "event_category",
        /// An event action.
        EventAction = 11 => "event_action",
        /// An event name.
        EventName = 12 => "event_name",
        /// A content name (also the URL of a content's page).
        ContentName = 13 => "content_name",
        /// A content piece.
        ContentPiece = 14 => "content_piece",
        /// A content target.
        ContentTarget = 15 => "content_target",
        /// A content interaction name.
        ContentInteraction = 16 => "content_interaction",
    }
}

coded_enum! {
    /// `referer_type` (MATOMO.md section 5.1); 4 and 5 are unused historical values.
    pub enum ReferrerType: u8 as "referrer type" {
        /// Typed URL, bookmark, or same-site referrer.
        Direct = 1 => "direct",
        /// A search engine.
        SearchEngine = 2 => "search",
        /// Another website.
        Website = 3 => "website",
        /// A tagged campaign.
        Campaign = 6 => "campaign",
        /// A social network.
        Social = 7 => "social",
    }
}

coded_enum! {
    /// Archive `period` ids.
    pub enum PeriodKind: u8 as "period" {
        /// One day.
        Day = 1 => "day",
        /// Monday to Sunday.
        Week = 2 => "week",
        /// A calendar month.
        Month = 3 => "month",
        /// A calendar year.
        Year = 4 => "year",
        /// Any range of days.
        Range = 5 => "range",
    }
}

coded_enum! {
    /// The value of an archive's done flag (MATOMO.md section 4.8).
    pub enum ArchiveStatus: u8 as "archive status" {
        /// Complete and usable.
        Ok = 1 => "ok",
        /// Started and not finished (or crashed): never read.
        Error = 2 => "error",
        /// Legacy temporary archive; no longer written.
        OkTemporary = 3 => "ok_temporary",
        /// Superseded by newer data: recompute before use.
        Invalidated = 4 => "invalidated",
        /// Only some reports of a plugin archived.
        Partial = 5 => "partial",
        /// Invalidated while being computed.
        ErrorInvalidated = 6 => "error_invalidated",
    }
}

coded_enum! {
    /// A user's access level on a site (`access.access`, plus super user).
    pub enum Access: u8 as "access level" {
        /// No access.
        NoAccess = 0 => "noaccess",
        /// Read reports.
        View = 1 => "view",
        /// View, plus manage goals and segments, and track with a token.
        Write = 2 => "write",
        /// Write, plus site settings and granting access to the site.
        Admin = 3 => "admin",
        /// Everything, on every site (`user.superuser_access = 1`).
        SuperUser = 4 => "superuser",
    }
}

coded_enum! {
    /// What a goal matches on (`goal.match_attribute`, MATOMO.md section 6.1).
    pub enum GoalMatchAttribute: u8 as "goal match attribute" {
        /// A page view URL.
        Url = 1 => "url",
        /// A page view title.
        Title = 2 => "title",
        /// A download URL.
        File = 3 => "file",
        /// An outlink URL.
        ExternalWebsite = 4 => "external_website",
        /// Only triggered with `idgoal=N`.
        Manually = 5 => "manually",
        /// An event category.
        EventCategory = 6 => "event_category",
        /// An event action.
        EventAction = 7 => "event_action",
        /// An event name.
        EventName = 8 => "event_name",
        /// Visit length in minutes, compared with `greater_than`.
        VisitDuration = 9 => "visit_duration",
    }
}

coded_enum! {
    /// How a goal's pattern is compared (`goal.pattern_type`).
    pub enum GoalPatternType: u8 as "goal pattern type" {
        /// Substring.
        Contains = 1 => "contains",
        /// Whole value.
        Exact = 2 => "exact",
        /// Regular expression.
        Regex = 3 => "regex",
        /// Numeric attribute above the pattern.
        GreaterThan = 4 => "greater_than",
    }
}

/// `log_conversion.idgoal` of an ecommerce order.
pub const IDGOAL_ECOMMERCE_ORDER: i32 = 0;
/// `log_conversion.idgoal` of an abandoned cart.
pub const IDGOAL_ECOMMERCE_CART: i32 = -1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for t in ActionType::ALL {
            assert_eq!(ActionType::from_code(t.code()).unwrap(), *t);
            assert_eq!(ActionType::from_name(t.name()).unwrap(), *t);
        }
        for p in PeriodKind::ALL {
            assert_eq!(PeriodKind::from_code(p.code()).unwrap(), *p);
        }
    }

    #[test]
    fn matomo_codes() {
        assert_eq!(ActionType::SiteSearch.code(), 8);
        assert_eq!(ActionType::EventCategory.code(), 10);
        assert!(ActionType::from_code(9).is_err());
        assert_eq!(ReferrerType::Campaign.code(), 6);
        assert_eq!(ReferrerType::Social.name(), "social");
        assert!(ReferrerType::from_code(4).is_err());
        assert_eq!(PeriodKind::Range.code(), 5);
        assert_eq!(ArchiveStatus::Partial.code(), 5);
        assert!(Access::Admin > Access::Write && Access::Write > Access::View);
        assert_eq!(
            GoalMatchAttribute::from_name("external_website").unwrap(),
            GoalMatchAttribute::ExternalWebsite
        );
        assert_eq!(
            GoalPatternType::from_name("regexp")
                .unwrap_err()
                .to_string(),
            "unknown goal pattern type `regexp`"
        );
    }
}
