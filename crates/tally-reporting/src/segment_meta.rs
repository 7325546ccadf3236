//! What `API.getSegmentsMetadata` says of each segment: Matomo's category,
//! English name, accepted values and whether only registered users may use
//! it, and the order Matomo sorts them in (`SegmentMetadata::sortSegments`).
//! The segments themselves (what they compare) live in
//! `tally_archiving::segment`; a test keeps the two lists in step.

use std::cmp::Ordering;

/// The category a segment is listed under, in Matomo's category order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Category {
    Visitors,
    VisitorLocation,
    CustomVariables,
    Behaviour,
    Events,
    Acquisition,
    Ecommerce,
}

impl Category {
    /// The English display name (`CategoryList`'s).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Visitors => "Visitors",
            Self::VisitorLocation => "Visitor location",
            Self::CustomVariables => "Custom Variables",
            Self::Behaviour => "Behaviour",
            Self::Events => "Events",
            Self::Acquisition => "Acquisition",
            Self::Ecommerce => "Ecommerce",
        }
    }
}

/// A segment's `acceptedValues`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// Matomo lists none.
    None,
    /// A fixed text.
    Text(&'static str),
    /// The device brand names, naturally sorted and comma-separated
    /// (Matomo lists every brand DeviceDetector knows; we list ours).
    DeviceBrands,
}

impl Accepted {
    pub(crate) fn text(self) -> Option<String> {
        match self {
            Self::None => None,
            Self::Text(text) => Some(text.to_owned()),
            Self::DeviceBrands => {
                let mut brands: Vec<&str> = tally_tracking::device::brand_names().collect();
                // `natcasesort`: no brand name of ours has digits, so the
                // natural order is the case-insensitive one.
                brands.sort_by_cached_key(|name| name.to_lowercase());
                Some(brands.join(", "))
            }
        }
    }
}

/// One segment as `API.getSegmentsMetadata` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentMeta {
    pub(crate) segment: &'static str,
    pub(crate) category: Category,
    /// `type`: `metric` (a number) or `dimension`.
    pub(crate) metric: bool,
    /// The English name.
    pub(crate) name: &'static str,
    pub(crate) accepted: Accepted,
    /// Matomo's dimensions that refuse anonymous users: their entry
    /// carries `permission`, whether the caller is a registered user.
    pub(crate) registered_only: bool,
    /// `unionOfSegments`: the segments a union stands for.
    pub(crate) union: &'static [&'static str],
}

const PLAIN: SegmentMeta = SegmentMeta {
    segment: "",
    category: Category::Visitors,
    metric: false,
    name: "",
    accepted: Accepted::None,
    registered_only: false,
    union: &[],
};

/// Segments whose `needsMostFrequentValues` is false (the ones whose
/// suggestions come from a static list sorted by usage).
const NO_MOST_FREQUENT_VALUES: [&str; 3] = ["browserName", "operatingSystemName", "countryName"];

impl SegmentMeta {
    /// `needsMostFrequentValues`.
    pub(crate) fn needs_most_frequent_values(&self) -> bool {
        !NO_MOST_FREQUENT_VALUES.contains(&self.segment)
    }
}

/// The metadata of a built-in segment; `None` for one Matomo does not list
/// (`clientType`, whose segment Matomo's `ClientType` dimension has
/// commented out).
pub(crate) fn find(segment: &str) -> Option<&'static SegmentMeta> {
    SEGMENTS.iter().find(|meta| meta.segment == segment)
}

/// Matomo's `sortSegments`: by category order; within Custom Variables by
/// segment name; elsewhere metrics first, then by name, then by segment
/// name descending. Names compare as bytes (`strcmp`).
pub(crate) fn compare(
    a: (Category, bool, &str, &str),
    b: (Category, bool, &str, &str),
) -> Ordering {
    let (category_a, metric_a, name_a, segment_a) = a;
    let (category_b, metric_b, name_b, segment_b) = b;
    category_a.cmp(&category_b).then_with(|| {
        if category_a == Category::CustomVariables {
            return segment_a.cmp(segment_b);
        }
        metric_b
            .cmp(&metric_a)
            .then_with(|| name_a.cmp(name_b))
            .then_with(|| segment_b.cmp(segment_a))
    })
}

/// Matomo's segments that we support, with its English names and accepted
/// values (from its system-test output of `API.getSegmentsMetadata`). Left
/// out: `bandwidth` (we store no bandwidth).
static SEGMENTS: &[SegmentMeta] = &[
    SegmentMeta {
        segment: "actions",
        category: Category::Visitors,
        metric: true,
        name: "Actions In Visit",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "daysSinceFirstVisit",
        category: Category::Visitors,
        metric: true,
        name: "Days since first visit",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "daysSinceLastEcommerceOrder",
        category: Category::Visitors,
        metric: true,
        name: "Days since last Ecommerce order",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "daysSinceLastVisit",
        category: Category::Visitors,
        metric: true,
        name: "Days since last visit",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "events",
        category: Category::Visitors,
        metric: true,
        name: "Events",
        accepted: Accepted::Text(
            "To select all visits who triggered an Event, use: &segment=events>0",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitLocalMinute",
        category: Category::Visitors,
        metric: true,
        name: "Local time — minute (start of visit)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 67, 57, 58, 59"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "interactions",
        category: Category::Visitors,
        metric: true,
        name: "Number of Interactions",
        accepted: Accepted::Text("Any positive integer"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "searches",
        category: Category::Visitors,
        metric: true,
        name: "Number of Internal Searches",
        accepted: Accepted::Text(
            "To select all visits who used internal Site Search, use: &segment=searches>0",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitCount",
        category: Category::Visitors,
        metric: true,
        name: "Number of visits",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "secondsSinceFirstVisit",
        category: Category::Visitors,
        metric: true,
        name: "Seconds since first visit",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "secondsSinceLastEcommerceOrder",
        category: Category::Visitors,
        metric: true,
        name: "Seconds since last Ecommerce order",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "secondsSinceLastVisit",
        category: Category::Visitors,
        metric: true,
        name: "Seconds since last visit",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitDuration",
        category: Category::Visitors,
        metric: true,
        name: "Visit Duration (in seconds)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitIp",
        category: Category::Visitors,
        metric: true,
        name: "Visitor IP",
        accepted: Accepted::Text(
            "13.54.122.1. </code>Select IP ranges with notation: <code>visitIp>13.54.122.0;visitIp<13.54.122.255",
        ),
        registered_only: true,
        ..PLAIN
    },
    SegmentMeta {
        segment: "browserName",
        category: Category::Visitors,
        metric: false,
        name: "Browser",
        accepted: Accepted::Text("FireFox, Internet Explorer, Chrome, Safari, Opera etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "browserCode",
        category: Category::Visitors,
        metric: false,
        name: "Browser code",
        accepted: Accepted::Text("FF, IE, CH, SF, OP etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "browserEngine",
        category: Category::Visitors,
        metric: false,
        name: "Browser engine",
        accepted: Accepted::Text("Trident, WebKit, Presto, Gecko, Blink, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "browserVersion",
        category: Category::Visitors,
        metric: false,
        name: "Browser version",
        accepted: Accepted::Text("1.0, 8.0, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "deviceBrand",
        category: Category::Visitors,
        metric: false,
        name: "Device brand",
        accepted: Accepted::DeviceBrands,
        ..PLAIN
    },
    SegmentMeta {
        segment: "deviceModel",
        category: Category::Visitors,
        metric: false,
        name: "Device model",
        accepted: Accepted::Text("iPad, Nexus 5, Galaxy S5, Fire TV, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "deviceType",
        category: Category::Visitors,
        metric: false,
        name: "Device type",
        accepted: Accepted::Text(
            "desktop, smartphone, tablet, feature phone, console, tv, car browser, smart display, camera, portable media player, phablet, smart speaker, wearable, peripheral",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "fingerprint",
        category: Category::Visitors,
        metric: false,
        name: "Fingerprint",
        accepted: Accepted::Text(
            "1eceaa833348b187 - any 16 Hexadecimal chars ID, which can be fetched from API.getLastVisitsDetails",
        ),
        registered_only: true,
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitLocalHour",
        category: Category::Visitors,
        metric: false,
        name: "Local time — hour (start of visit)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 20, 21, 22, 23"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "operatingSystemName",
        category: Category::Visitors,
        metric: false,
        name: "Operating system",
        accepted: Accepted::Text("Windows, Linux, Mac, Android, iOS etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "operatingSystemCode",
        category: Category::Visitors,
        metric: false,
        name: "Operating system code",
        accepted: Accepted::Text("WIN, LIN, MAX, AND, IOS etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "operatingSystemVersion",
        category: Category::Visitors,
        metric: false,
        name: "Operating system version",
        accepted: Accepted::Text("XP, 7, 2.3, 5.1, ..."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "profilable",
        category: Category::Visitors,
        metric: false,
        name: "Profilable",
        accepted: Accepted::Text(
            "1 for profilable (eg cookies were used), 0 for not profilable (eg no cookies were used)",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "resolution",
        category: Category::Visitors,
        metric: false,
        name: "Resolution",
        accepted: Accepted::Text("1280x1024, 800x600, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitStartServerHour",
        category: Category::Visitors,
        metric: false,
        name: "Site time — hour (start of visit)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 20, 21, 22, 23"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitServerHour",
        category: Category::Visitors,
        metric: false,
        name: "Site time — hour (time of last action)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 20, 21, 22, 23"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerDate",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — date (time of last action)",
        accepted: Accepted::Text("2018-12-31, 2018-03-20, ..."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerDayOfMonth",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — day of month (time of last action)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 29, 30, 31"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerDayOfWeek",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — day of week (time of last action)",
        accepted: Accepted::Text("1, 2, 3, 4, 5, 6, 7"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerDayOfYear",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — day of year (time of last action)",
        accepted: Accepted::Text("1, 2, 3, 4, ..., 365, 366"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitStartServerMinute",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — minute (start of visit)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 56, 57, 58, 59"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerMinute",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — minute (time of last action)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 56, 57, 58, 59"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerMonth",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — month (time of last action)",
        accepted: Accepted::Text("1, 2, 3, ..., 11, 12"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerQuarter",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — quarter (time of last action)",
        accepted: Accepted::Text("1, 2, 3, 4"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerSecond",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — second (Time of last action)",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 58, 59"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerWeekOfYear",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — week of year (time of last action)",
        accepted: Accepted::Text("1, 2, 3, 4, ..., 51, 52, 53"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEndServerYear",
        category: Category::Visitors,
        metric: false,
        name: "Time in UTC — year (time of last action)",
        accepted: Accepted::Text("2016, 2017, 2018, ..., 9998, 9999"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "userId",
        category: Category::Visitors,
        metric: false,
        name: "User ID",
        accepted: Accepted::Text(
            "any non empty unique string identifying the user (such as an email address or a username).",
        ),
        registered_only: true,
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitEcommerceStatus",
        category: Category::Visitors,
        metric: false,
        name: "Visit Ecommerce status at the end of the visit",
        accepted: Accepted::Text(
            "none, ordered, abandonedCart, orderedThenAbandonedCart. For example, to select all visits that have made an Ecommerce order, the API request would contain \"&segment=visitEcommerceStatus==ordered,visitEcommerceStatus==orderedThenAbandonedCart\"",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitId",
        category: Category::Visitors,
        metric: false,
        name: "Visit ID",
        accepted: Accepted::Text("Any integer."),
        registered_only: true,
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitConvertedGoalId",
        category: Category::Visitors,
        metric: false,
        name: "Visit converted a specific Goal Id",
        accepted: Accepted::Text("1, 2, 3, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitConvertedGoalName",
        category: Category::Visitors,
        metric: false,
        name: "Visit converted a specific Goal Name",
        accepted: Accepted::Text("myGoal, myOtherGoal, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitConverted",
        category: Category::Visitors,
        metric: false,
        name: "Visit converted at least one Goal",
        accepted: Accepted::Text("0, 1"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitorType",
        category: Category::Visitors,
        metric: false,
        name: "Visit type",
        accepted: Accepted::Text(
            "new, returning, returningCustomer. For example, to select all visitors who have returned to the website, including those who have bought something in their previous visits, the API request would contain \"&segment=visitorType==returning,visitorType==returningCustomer\"",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "visitorId",
        category: Category::Visitors,
        metric: false,
        name: "Visitor ID",
        accepted: Accepted::Text(
            "34c31e04394bdc63 - any 16 Hexadecimal chars ID, which can be fetched using the Tracking API function getVisitorId()",
        ),
        registered_only: true,
        ..PLAIN
    },
    SegmentMeta {
        segment: "city",
        category: Category::VisitorLocation,
        metric: false,
        name: "City",
        accepted: Accepted::Text("Sydney, Sao Paolo, Rome, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "continentCode",
        category: Category::VisitorLocation,
        metric: false,
        name: "Continent",
        accepted: Accepted::Text("eur, asi, amc, amn, ams, afr, ant, oce"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "countryName",
        category: Category::VisitorLocation,
        metric: false,
        name: "Country",
        accepted: Accepted::Text("Germany, France, Spain, ..."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "countryCode",
        category: Category::VisitorLocation,
        metric: false,
        name: "Country code",
        accepted: Accepted::Text("ISO 3166-1 alpha-2 country codes (de, us, fr, in, es, etc.)"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "languageCode",
        category: Category::VisitorLocation,
        metric: false,
        name: "Language",
        accepted: Accepted::Text("de, fr, en-gb, zh-cn, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "latitude",
        category: Category::VisitorLocation,
        metric: false,
        name: "Latitude",
        accepted: Accepted::Text(
            "-33.578, 40.830, etc.<br/>You can select visitors within a lat/long range using &segment=lat>X;lat<Y;long>M;long<N.",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "longitude",
        category: Category::VisitorLocation,
        metric: false,
        name: "Longitude",
        accepted: Accepted::Text("-70.664, 14.326, etc."),
        ..PLAIN
    },
    SegmentMeta {
        segment: "regionCode",
        category: Category::VisitorLocation,
        metric: false,
        name: "Region",
        accepted: Accepted::Text("01 02, OR, P8, etc.<br/>eg. region=BFC;country=fr"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableName",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name (scope visit)",
        accepted: Accepted::None,
        union: &[
            "customVariableName1",
            "customVariableName2",
            "customVariableName3",
            "customVariableName4",
            "customVariableName5",
        ],
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableName1",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 1 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableName2",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 2 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableName3",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 3 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableName4",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 4 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableName5",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 5 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageName",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name (scope page)",
        accepted: Accepted::None,
        union: &[
            "customVariablePageName1",
            "customVariablePageName2",
            "customVariablePageName3",
            "customVariablePageName4",
            "customVariablePageName5",
        ],
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageName1",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 1 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageName2",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 2 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageName3",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 3 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageName4",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 4 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageName5",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable name 5 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageValue",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value (scope page)",
        accepted: Accepted::None,
        union: &[
            "customVariablePageValue1",
            "customVariablePageValue2",
            "customVariablePageValue3",
            "customVariablePageValue4",
            "customVariablePageValue5",
        ],
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageValue1",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 1 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageValue2",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 2 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageValue3",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 3 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageValue4",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 4 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariablePageValue5",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 5 (scope page)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableValue",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value (scope visit)",
        accepted: Accepted::None,
        union: &[
            "customVariableValue1",
            "customVariableValue2",
            "customVariableValue3",
            "customVariableValue4",
            "customVariableValue5",
        ],
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableValue1",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 1 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableValue2",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 2 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableValue3",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 3 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableValue4",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 4 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "customVariableValue5",
        category: Category::CustomVariables,
        metric: false,
        name: "Custom Variable value 5 (scope visit)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "actionType",
        category: Category::Behaviour,
        metric: false,
        name: "Action Type",
        accepted: Accepted::Text(
            "A type of action, such as: pageviews, contents, sitesearches, events, outlinks, downloads",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "actionUrl",
        category: Category::Behaviour,
        metric: false,
        name: "Action URL",
        accepted: Accepted::None,
        union: &["pageUrl", "downloadUrl", "outlinkUrl", "eventUrl"],
        ..PLAIN
    },
    SegmentMeta {
        segment: "siteSearchCategory",
        category: Category::Behaviour,
        metric: false,
        name: "Category (Site Search)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "outlinkUrl",
        category: Category::Behaviour,
        metric: false,
        name: "Clicked Outlink",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "contentInteraction",
        category: Category::Behaviour,
        metric: false,
        name: "Content Interaction",
        accepted: Accepted::Text(
            "The type of interaction with the content. For instance \"click\" or \"submit\".",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "contentName",
        category: Category::Behaviour,
        metric: false,
        name: "Content Name",
        accepted: Accepted::Text("The name of a content block, for instance \"Ad Sale\""),
        ..PLAIN
    },
    SegmentMeta {
        segment: "contentPiece",
        category: Category::Behaviour,
        metric: false,
        name: "Content Piece",
        accepted: Accepted::Text("The actual content. For instance \"ad.jpg\" or \"My text ad\""),
        ..PLAIN
    },
    SegmentMeta {
        segment: "contentTarget",
        category: Category::Behaviour,
        metric: false,
        name: "Content Target",
        accepted: Accepted::Text(
            "For instance the URL of a landing page: \"http://landingpage.example.com\"",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "downloadUrl",
        category: Category::Behaviour,
        metric: false,
        name: "Download URL",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "entryPageUrl",
        category: Category::Behaviour,
        metric: false,
        name: "Entry Page URL",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "entryPageTitle",
        category: Category::Behaviour,
        metric: false,
        name: "Entry Page title",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "exitPageTitle",
        category: Category::Behaviour,
        metric: false,
        name: "Exit Page Title",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "exitPageUrl",
        category: Category::Behaviour,
        metric: false,
        name: "Exit Page URL",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "siteSearchKeyword",
        category: Category::Behaviour,
        metric: false,
        name: "Keyword (Site Search)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "siteSearchCount",
        category: Category::Behaviour,
        metric: false,
        name: "Keyword count (Site Search)",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "pageTitle",
        category: Category::Behaviour,
        metric: false,
        name: "Page Title",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "pageUrl",
        category: Category::Behaviour,
        metric: false,
        name: "Page URL",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "actionServerHour",
        category: Category::Behaviour,
        metric: false,
        name: "Site time — hour",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "actionServerMinute",
        category: Category::Behaviour,
        metric: false,
        name: "Time in UTC — minute",
        accepted: Accepted::Text("0, 1, 2, 3, ..., 56, 57, 58, 59"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "eventValue",
        category: Category::Events,
        metric: true,
        name: "Event value",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "eventAction",
        category: Category::Events,
        metric: false,
        name: "Event Action",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "eventCategory",
        category: Category::Events,
        metric: false,
        name: "Event Category",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "eventName",
        category: Category::Events,
        metric: false,
        name: "Event Name",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "eventUrl",
        category: Category::Events,
        metric: false,
        name: "Event URL",
        accepted: Accepted::Text(
            "The URL must be URL encoded, for example: http%3A%2F%2Fexample.com%2Fpath%2Fpage%3Fquery",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "referrerType",
        category: Category::Acquisition,
        metric: false,
        name: "Channel Type",
        accepted: Accepted::Text("direct, search, website, campaign"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "referrerKeyword",
        category: Category::Acquisition,
        metric: false,
        name: "Keyword",
        accepted: Accepted::Text("Encoded%20Keyword, keyword"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "referrerName",
        category: Category::Acquisition,
        metric: false,
        name: "Referrer Name",
        accepted: Accepted::Text(
            "twitter.com, www.facebook.com, Bing, Google, Yahoo, CampaignName",
        ),
        ..PLAIN
    },
    SegmentMeta {
        segment: "referrerUrl",
        category: Category::Acquisition,
        metric: false,
        name: "Referrer URL",
        accepted: Accepted::Text("http%3A%2F%2Fwww.example.org%2Freferer-page.htm"),
        ..PLAIN
    },
    SegmentMeta {
        segment: "orderId",
        category: Category::Ecommerce,
        metric: true,
        name: "Order ID",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "revenueOrder",
        category: Category::Ecommerce,
        metric: true,
        name: "Order Revenue",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "productPrice",
        category: Category::Ecommerce,
        metric: true,
        name: "Product Price",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "revenueAbandonedCart",
        category: Category::Ecommerce,
        metric: true,
        name: "Revenue Left In Cart",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "productViewPrice",
        category: Category::Ecommerce,
        metric: true,
        name: "Viewed Product Price",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "productCategory",
        category: Category::Ecommerce,
        metric: false,
        name: "Product Category",
        accepted: Accepted::None,
        union: &[
            "productCategory1",
            "productCategory2",
            "productCategory3",
            "productCategory4",
            "productCategory5",
        ],
        ..PLAIN
    },
    SegmentMeta {
        segment: "productName",
        category: Category::Ecommerce,
        metric: false,
        name: "Product Name",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "productSku",
        category: Category::Ecommerce,
        metric: false,
        name: "Product SKU",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "productViewCategory",
        category: Category::Ecommerce,
        metric: false,
        name: "Viewed Product Category",
        accepted: Accepted::None,
        union: &[
            "productViewCategory1",
            "productViewCategory2",
            "productViewCategory3",
            "productViewCategory4",
            "productViewCategory5",
        ],
        ..PLAIN
    },
    SegmentMeta {
        segment: "productViewName",
        category: Category::Ecommerce,
        metric: false,
        name: "Viewed Product Name",
        accepted: Accepted::None,
        ..PLAIN
    },
    SegmentMeta {
        segment: "productViewSku",
        category: Category::Ecommerce,
        metric: false,
        name: "Viewed Product SKU",
        accepted: Accepted::None,
        ..PLAIN
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_supported_segment_is_listed_once() {
        let listed: Vec<&str> = SEGMENTS.iter().map(|meta| meta.segment).collect();
        let unique: BTreeSet<&str> = listed.iter().copied().collect();
        assert_eq!(listed.len(), unique.len());
        let supported: BTreeSet<&str> = tally_archiving::segment::catalogue()
            .map(|(name, _)| name)
            .filter(|name| *name != "clientType")
            .collect();
        assert_eq!(unique, supported);
        assert_eq!(listed.len(), 120);
    }

    #[test]
    fn the_table_is_in_matomos_order() {
        let key = |meta: &SegmentMeta| (meta.category, meta.metric, meta.name, meta.segment);
        for pair in SEGMENTS.windows(2) {
            assert_eq!(
                compare(key(&pair[0]), key(&pair[1])),
                Ordering::Less,
                "{} before {}",
                pair[0].segment,
                pair[1].segment
            );
        }
    }

    #[test]
    fn device_brands_are_sorted_ignoring_case() {
        let text = Accepted::DeviceBrands.text().unwrap_or_default();
        assert!(text.starts_with("Acer, Alcatel, Amazon, Apple,"), "{text}");
        assert!(
            text.contains("HTC, Huawei, Hyrican, Infinix, iTel, Lava,"),
            "{text}"
        );
        assert!(text.ends_with("Xiaomi, ZTE"), "{text}");
    }
}
