//! Matomo's system test "abandoned cart without conversions"
//! (`plugins/Ecommerce/tests/System/AbandonedCartWithoutConversionsTest.php`,
//! fixture `plugins/Ecommerce/tests/Fixtures/AbandonedCartWithoutConversions.php`
//! in matomo-org/matomo), sent as the PHP tracker sends it, and every
//! `test_abandonedCartWithoutConversions*` expected output checked.
//!
//! An ecommerce site with one goal that never converts; two visitors on
//! 2011-04-05: the first views a page, the second views a page an hour
//! later and leaves a cart of two items six minutes after. The site's only
//! conversion is that abandoned cart, so every goal report asked for
//! `idGoal=ecommerceAbandonedCart` shows it, and the item reports show it
//! only with `abandonedCarts=1`.

use serde_json::{Value, json};
use tally_db::test_support::TestDb;
use tally_management::GoalParams;
use tally_reporting::Api;
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{
    DAYS_TO_CONVERSION, VISITS_UNTIL_CONVERSION, api_json, api_text, matomo_site, reporting_api,
    tracker_routes,
};
use crate::php_tracker::{At, PhpTracker};

/// `$dateTime` of the fixture.
const START: PrimitiveDateTime = datetime!(2011-04-05 00:11:42);
const SKU: &str = "SKU IN ABANDONED CART ONE";
const NAME: &str = "PRODUCT ONE LEFT in cart";

/// `Date::addHour`: whole seconds of the hours after the fixture's time.
fn at(hours: f64) -> At {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    At::Datetime(START + Duration::seconds(seconds))
}

struct Reports {
    _db: TestDb,
    api: Api,
    token: String,
}

impl Reports {
    /// `method` on site 1 for `period` at the fixture's date, as JSON.
    async fn json(&self, method: &str, period: &str, extra: &str) -> anyhow::Result<Value> {
        api_json(
            &self.api,
            &self.token,
            &format!("method={method}&idSite=1&period={period}&date=2011-04-05{extra}"),
        )
        .await
    }

    /// The same as XML, the form of Matomo's expected files.
    async fn xml(&self, method: &str, extra: &str) -> anyhow::Result<String> {
        api_text(
            &self.api,
            &self.token,
            &format!("method={method}&idSite=1&period=day&date=2011-04-05{extra}&format=xml"),
        )
        .await
    }
}

async fn fixture() -> anyhow::Result<Reports> {
    let goal = GoalParams {
        revenue: 10.0,
        allow_multiple: true,
        ..GoalParams::new(
            "title match, triggered NEVER",
            "title",
            "saldkfjaslkdfjsalkdjf",
            "contains",
        )
    };
    let (db, token) = matomo_site(
        START,
        |site| {
            site.name = "test site".to_owned();
            site.ecommerce = Some(true);
            site.sitesearch = Some(true);
        },
        &[goal],
    )?;
    let router = tracker_routes(&db, &tally_tracking::http::TrackerConfig::default())?;

    // A visit without ecommerce.
    let mut first = PhpTracker::new(1, &token, "a1b2c3d4e5f60718", START);
    first.url = "http://piwik.net/here/we/go".to_owned();
    let query = first.page_view("one page visit");
    first.ok(&router, &query).await?;

    // Another visitor an hour later, leaving a cart.
    let mut second = PhpTracker::new(1, &token, "b1c2d3e4f5a60718", START);
    second.url = "http://piwik.net/here/we/go".to_owned();
    second.at = at(1.0);
    let query = second.page_view("one page visit");
    second.ok(&router, &query).await?;
    second.at = at(1.1);
    second.add_item(SKU, NAME, json!(""), 500.111_111_12, 2);
    let query = second.ecommerce(None, [1000.0, 0.0, 0.0, 0.0, 0.0]);
    second.ok(&router, &query).await?;

    Ok(Reports {
        api: reporting_api(&db)?,
        _db: db,
        token,
    })
}

const CART: &str = "&idGoal=ecommerceAbandonedCart";

/// `test_abandonedCartWithoutConversions__Goals.get_{day,week}.xml` and
/// `__Goals.getMetrics_{day,week}.xml`: the cart is the one conversion of
/// the two visits, by a new visitor, with its own revenue and items.
#[tokio::test]
async fn abandoned_cart_gives_matomos_goal_metrics() -> anyhow::Result<()> {
    let reports = fixture().await?;
    let metrics = json!({
        "nb_conversions": 1,
        "nb_visits_converted": 1,
        "revenue": 1000,
        "items": 2,
        "avg_order_revenue": 1000,
        "conversion_rate": "50%"
    });
    let mut get = metrics.clone();
    if let Some(object) = get.as_object_mut() {
        for (name, value) in [
            ("nb_conversions_new_visit", json!(1)),
            ("nb_visits_converted_new_visit", json!(1)),
            ("revenue_new_visit", json!(1000)),
            ("items_new_visit", json!(2)),
            ("avg_order_revenue_new_visit", json!(1000)),
            ("conversion_rate_new_visit", json!("50%")),
            ("nb_conversions_returning_visit", json!(0)),
            ("nb_visits_converted_returning_visit", json!(0)),
            ("revenue_returning_visit", json!(0)),
            ("items_returning_visit", json!(0)),
            ("avg_order_revenue_returning_visit", json!(0)),
            ("conversion_rate_returning_visit", json!("0%")),
        ] {
            object.insert(name.to_owned(), value);
        }
    }
    for period in ["day", "week"] {
        assert_eq!(
            reports.json("Goals.get", period, CART).await?,
            get,
            "{period}"
        );
        assert_eq!(
            reports.json("Goals.getMetrics", period, CART).await?,
            metrics,
            "{period}"
        );
    }
    Ok(())
}

/// `__Goals.getDaysToConversion_{day,week}.xml` and
/// `__Goals.getVisitsUntilConversion_{day,week}.xml`: every range, the
/// cart in "0 days" and "1 visit".
#[tokio::test]
async fn abandoned_cart_gives_matomos_conversion_ranges() -> anyhow::Result<()> {
    let reports = fixture().await?;
    let ranges = |labels: &[&str]| -> Value {
        labels
            .iter()
            .enumerate()
            .map(|(index, label)| json!({"label": label, "nb_conversions": u32::from(index == 0)}))
            .collect()
    };
    let days = ranges(&DAYS_TO_CONVERSION);
    let visits = ranges(&VISITS_UNTIL_CONVERSION);
    for period in ["day", "week"] {
        assert_eq!(
            reports
                .json("Goals.getDaysToConversion", period, CART)
                .await?,
            days,
            "{period}"
        );
        assert_eq!(
            reports
                .json("Goals.getVisitsUntilConversion", period, CART)
                .await?,
            visits,
            "{period}"
        );
    }
    Ok(())
}

/// `__Goals.getItems{Sku,Name,Category}_{day,week}.xml` (no order, no
/// product view: empty) and `_AbandonedCarts__…` (the cart's one item,
/// its `orders` renamed `abandoned_carts`, no visit columns).
#[tokio::test]
async fn abandoned_cart_gives_matomos_item_reports() -> anyhow::Result<()> {
    let reports = fixture().await?;
    for (method, label, segment) in [
        (
            "Goals.getItemsSku",
            SKU,
            "productSku==SKU+IN+ABANDONED+CART+ONE",
        ),
        (
            "Goals.getItemsName",
            NAME,
            "productName==PRODUCT+ONE+LEFT+in+cart",
        ),
        (
            "Goals.getItemsCategory",
            "Product Category not defined",
            "productCategory==Product+Category+not+defined",
        ),
    ] {
        for period in ["day", "week"] {
            assert_eq!(
                reports.json(method, period, CART).await?,
                json!([]),
                "{method} {period}"
            );
            assert_eq!(
                reports.json(method, period, "&abandonedCarts=1").await?,
                json!([{
                    "label": label,
                    "revenue": 1000.22,
                    "quantity": 2,
                    "abandoned_carts": 1,
                    "avg_price": 500.11,
                    "avg_quantity": 2,
                    "conversion_rate": "0%",
                    "segment": segment
                }]),
                "{method} {period}"
            );
        }
    }
    Ok(())
}

/// `__Goals.getGoals.xml` (the never-converting goal) and
/// `__Goals.getGoal.xml`: `idGoal=ecommerceAbandonedCart` is goal 0 to
/// PHP's `(int)`, which no site has, so the answer is PHP's `null`.
#[tokio::test]
async fn abandoned_cart_site_gives_matomos_goal_definitions() -> anyhow::Result<()> {
    let reports = fixture().await?;
    assert_eq!(
        reports.json("Goals.getGoals", "day", CART).await?,
        json!({"1": {
            "idsite": 1,
            "idgoal": 1,
            "name": "title match, triggered NEVER",
            "description": "",
            "match_attribute": "title",
            "pattern": "saldkfjaslkdfjsalkdjf",
            "pattern_type": "contains",
            "case_sensitive": 0,
            "allow_multiple": 1,
            "revenue": 10,
            "deleted": 0,
            "event_value_as_revenue": 0
        }})
    );
    assert_eq!(
        reports.xml("Goals.getGoal", CART).await?,
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<result>\n\t<success message=\"ok\" />\n</result>"
    );
    assert_eq!(
        reports.json("Goals.getGoal", "day", CART).await?,
        json!({"result": "success", "message": "ok"})
    );
    Ok(())
}
