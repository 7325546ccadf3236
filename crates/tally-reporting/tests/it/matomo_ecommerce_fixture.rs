//! Matomo's system test traffic "two sites, ecommerce orders with items"
//! (`tests/PHPUnit/Fixtures/TwoSitesEcommerceOrderWithItems.php` in
//! matomo-org/matomo, used by `EcommerceOrderWithItemsTest` and
//! `GoalsEcommerceTest`), sent as the PHP tracker sends it, and the day's
//! VisitsSummary, Goals and ecommerce item reports checked against the
//! numbers of Matomo's expected outputs for that fixture.
//!
//! Site 1 (ecommerce, goal 1: title contains "incredible", revenue 10),
//! one visitor from 2011-04-05 00:11:42 UTC: a first visit of four product
//! views (one matching goal 1); a second visit 1.6 h in (category pages, a
//! product page, two cart updates, two orders, a duplicate order refused,
//! a cart left open); a third at 7.5 h (product views, a cart left open);
//! the next day another attempt with the old order id, product views,
//! a cart, and two orders (one without items). Site 2: a page view, and an
//! order from another visitor reusing site 1's order id "777".

use axum::Router;
use serde_json::{Map, Value, json};
use tally_db::test_support::TestDb;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal};
use tally_reporting::{Api, ReportingConfig};
use time::macros::datetime;
use time::{Duration, PrimitiveDateTime};

use crate::common::{encode, user_with_token};
use crate::php_tracker::{At, PhpTracker};

const START: PrimitiveDateTime = datetime!(2011-04-05 00:11:42);
const CAMERAS: &str = "Electronics & Cameras";
const NICE: &str = "SKU VERY nice indeed";
const ORDER_2: &str = "1037nsjusu4s3894";

fn at(hours: f64) -> PrimitiveDateTime {
    #[expect(clippy::cast_possible_truncation, reason = "hours of the fixture")]
    let seconds = (hours * 3600.0).round() as i64;
    START + Duration::seconds(seconds)
}

fn many_categories() -> Value {
    json!([
        "Multiple Category 1",
        "",
        0,
        "Multiple Category 2",
        CAMERAS,
        "Multiple Category 4",
        "Multiple Category 5",
        "SHOULD NOT BE REPORTEDSSSSSSSSSSSSSSssssssssssssssssssssssssssstttttttttttttttttttttttuuuu!"
    ])
}

fn two_categories() -> Value {
    json!(["Category TWO LEFT in cart", "second category"])
}

async fn page(router: &Router, t: &mut PhpTracker, title: &str) -> anyhow::Result<()> {
    let query = t.page_view(title);
    t.ok(router, &query).await
}

async fn site_1(router: &Router, token: &str) -> anyhow::Result<()> {
    let mut t = PhpTracker::new(1, token, "5f0e1d2c3b4a6978", START);
    t.url = "http://example.org/index.htm".to_owned();

    // Visit 1.
    t.set_ecommerce_view("SKU2", "PRODUCT name", &json!(CAMERAS), 1111.11111);
    t.set_visit_cvar(5, "VisitorType", json!("NewLoggedOut"));
    t.set_visit_cvar(4, "ValueIsZero", json!("0"));
    page(router, &mut t, "incredible title!").await?;
    t.at = At::Datetime(at(0.1));
    t.set_ecommerce_view(NICE, "PRODUCT name", &json!(CAMERAS), 666.0);
    page(router, &mut t, "Another Product page").await?;
    t.at = At::Timestamp(at(0.2));
    t.set_ecommerce_view(NICE, "PRODUCT name", &json!(""), 888.0);
    page(router, &mut t, "Another Product page with no category").await?;
    t.at = At::Datetime(at(0.2));
    t.set_ecommerce_view(NICE, "PRODUCT name", &many_categories(), 0.0);
    page(
        router,
        &mut t,
        "Another Product page with multiple categories",
    )
    .await?;

    // Visit 2.
    t.lang = "pl".to_owned();
    t.at = At::Datetime(at(1.6));
    t.set_ecommerce_view("", "", &json!(CAMERAS), 0.0);
    page(
        router,
        &mut t,
        "Looking at Electronics & Cameras page with a page level custom variable",
    )
    .await?;
    t.at = At::Datetime(at(1.7));
    t.set_ecommerce_view("", "", &json!(CAMERAS), 0.0);
    page(
        router,
        &mut t,
        "Looking at Electronics & Cameras page again",
    )
    .await?;
    t.at = At::Datetime(at(1.8));
    t.set_ecommerce_view(NICE, "PRODUCT name", &json!(CAMERAS), 666.0);
    page(router, &mut t, "Looking at product page").await?;

    t.at = At::Datetime(at(1.9));
    t.set_visit_cvar(3, "VisitorName", json!("Great name!"));
    t.add_item(NICE, "PRODUCT name", json!(CAMERAS), 500.0, 1);
    t.add_item(NICE, "PRODUCT name", json!(CAMERAS), 500.0, 2);
    t.add_item(
        "SKU VERY nice indeed REMOVED",
        "PRODUCT name REMOVED",
        json!("Electronics & Cameras REMOVED"),
        300.0,
        1,
    );
    t.add_item(
        "SKU WILL BE DELETED",
        "BLABLA DELETED",
        json!(""),
        5_000_000.0,
        20,
    );
    let query = t.ecommerce(None, [1300.0, 0.0, 0.0, 0.0, 0.0]);
    t.ok(router, &query).await?;

    t.at = At::Datetime(at(1.95));
    t.add_item(NICE, "PRODUCT name", json!(CAMERAS), 500.0, 1);
    t.add_item(NICE, "PRODUCT name", json!(CAMERAS), 500.0, 2);
    t.add_item(
        "SKU WILL BE DELETED",
        "BLABLA DELETED",
        json!(""),
        5_000_000.0,
        20,
    );
    let query = t.ecommerce(None, [1000.0, 0.0, 0.0, 0.0, 0.0]);
    t.ok(router, &query).await?;

    t.at = At::Datetime(at(2.0));
    t.add_item(NICE, "PRODUCT name", many_categories(), 500.0, 2);
    t.add_item("ANOTHER SKU HERE", "PRODUCT name BIS", json!(""), 100.0, 6);
    let query = t.ecommerce(
        Some("937nsjusu 3894"),
        [1111.11, 1000.0, 111.0, 0.11, 666.0],
    );
    t.ok(router, &query).await?;

    // Sent as a shop's back office would: without the visit's custom
    // variables.
    t.at = At::Datetime(at(2.1));
    t.add_item("SKU2", "Canon SLR", json!(CAMERAS), 1500.0, 1);
    t.add_item(NICE, "PRODUCT name", json!(""), 11.22, 1);
    let cvars = t.take_visit_cvars();
    let query = t.ecommerce(Some(ORDER_2), [2000.0, 1500.0, 400.0, 100.0, 0.0]);
    t.ok(router, &query).await?;
    t.restore_visit_cvars(cvars);

    // The receipt page reloaded: the same order id again is refused
    // (Matomo answers its tracking failure page, we a 400).
    t.at = At::Datetime(at(2.2));
    t.add_item(
        "SKU2",
        "Canon SLR NOT!",
        json!("Electronics & Cameras NOT!"),
        15_000_000_000.0,
        10000,
    );
    let query = t.ecommerce(Some(ORDER_2), [20_000_000.0, 1500.0, 400.0, 100.0, 0.0]);
    let answer = t.send(router, &query).await?;
    assert_eq!(answer.status, 400, "{}", answer.text());

    t.at = At::Datetime(at(2.3));
    t.add_item(
        "SKU IN ABANDONED CART ONE",
        "PRODUCT ONE LEFT in cart",
        json!(""),
        500.11111112,
        2,
    );
    let query = t.ecommerce(None, [1000.0, 0.0, 0.0, 0.0, 0.0]);
    t.ok(router, &query).await?;

    // The same carts left three times: at 2.4 h (visit 2), 7.4 h (visit
    // 3) and the next day.
    for offset in [0.0, 5.0, 24.0] {
        t.at = At::Datetime(at(offset + 2.4));
        if offset >= 24.0 {
            t.add_item("SKU2", "Canon SLR", json!(CAMERAS), 1500.0, 1);
            let query = t.ecommerce(Some(ORDER_2), [20_000_000.0, 1500.0, 400.0, 100.0, 0.0]);
            let answer = t.send(router, &query).await?;
            assert_eq!(answer.status, 400, "{}", answer.text());
        }
        t.at = At::Datetime(at(offset + 2.5));
        t.set_ecommerce_view(NICE, "PRODUCT THREE LEFT in cart", &json!(""), 999.0);
        page(router, &mut t, "View product left in cart").await?;
        t.at = At::Datetime(at(offset + 2.55));
        t.set_ecommerce_view(NICE, "PRODUCT THREE LEFT in cart", &json!(""), 333.0);
        page(router, &mut t, "View product left in cart").await?;
        t.at = At::Datetime(at(offset + 2.6));
        t.set_ecommerce_view(
            "SKU IN ABANDONED CART TWO",
            "PRODUCT TWO LEFT in cart",
            &two_categories(),
            0.0,
        );
        page(router, &mut t, "View product left in cart").await?;
        t.at = At::Datetime(at(offset + 2.7));
        t.add_item(
            "SKU IN ABANDONED CART ONE",
            "PRODUCT ONE LEFT in cart",
            json!(""),
            500.11111112,
            1,
        );
        t.add_item(
            "SKU IN ABANDONED CART TWO",
            "PRODUCT TWO LEFT in cart",
            two_categories(),
            1000.0,
            2,
        );
        t.add_item(NICE, "PRODUCT THREE LEFT in cart", json!(CAMERAS), 10.0, 1);
        let query = t.ecommerce(None, [2510.11111112, 0.0, 0.0, 0.0, 0.0]);
        t.ok(router, &query).await?;
    }

    t.at = At::Datetime(at(30.7));
    t.add_item(
        "TRIPOD SKU",
        "TRIPOD - bought day after",
        json!("Tools"),
        100.0,
        2,
    );
    let query = t.ecommerce(Some("666"), [240.0, 200.0, 20.0, 20.0, 20.0]);
    t.ok(router, &query).await?;
    // An order without items still counts.
    t.at = At::Datetime(at(30.8));
    let query = t.ecommerce(Some("777"), [10000.0, 0.0, 0.0, 0.0, 0.0]);
    t.ok(router, &query).await
}

async fn site_2(router: &Router, token: &str) -> anyhow::Result<()> {
    let mut t = PhpTracker::new(2, token, "0a1b2c3d4e5f6071", at(1.0));
    t.url = "http://example-site2.com/index.htm".to_owned();
    t.set_visit_cvar(1, "cvar Name 1", json!("cvar Value 1"));
    page(router, &mut t, "one page visit").await?;
    // Another visitor, without a URL: the same order id as on site 1 is
    // recorded (order ids are per site).
    let mut t = PhpTracker::new(2, token, "1a2b3c4d5e6f7081", at(30.9));
    t.add_item(
        "TRIPOD SKU",
        "TRIPOD - bought day after",
        json!("Tools"),
        100.0,
        2,
    );
    let query = t.ecommerce(Some("777"), [250.0, 0.0, 0.0, 0.0, 0.0]);
    t.ok(router, &query).await
}

struct Reports {
    api: Api,
    token: String,
}

impl Reports {
    async fn json(&self, method: &str, period: &str, extra: &str) -> anyhow::Result<Value> {
        self.site_json(1, method, period, extra).await
    }

    async fn site_json(
        &self,
        idsite: u32,
        method: &str,
        period: &str,
        extra: &str,
    ) -> anyhow::Result<Value> {
        self.query(&format!(
            "method={method}&idSite={idsite}&period={period}&date=2011-04-05{extra}"
        ))
        .await
    }

    /// `module=API&<query>` as JSON; an answer other than 200 is an error.
    async fn query(&self, query: &str) -> anyhow::Result<Value> {
        crate::common::api_json(&self.api, &self.token, query).await
    }

    /// [`Reports::json`] of site 1 with `segment` (as Matomo's test passes
    /// it, URL-encoded here once more for the query string).
    async fn segmented(&self, method: &str, period: &str, segment: &str) -> anyhow::Result<Value> {
        self.json(method, period, &format!("&segment={}", encode(segment)))
            .await
    }

    async fn day(&self, method: &str, extra: &str) -> anyhow::Result<Value> {
        self.json(method, "day", extra).await
    }

    async fn week(&self, method: &str, extra: &str) -> anyhow::Result<Value> {
        self.json(method, "week", extra).await
    }
}

async fn fixture() -> anyhow::Result<(TestDb, Reports)> {
    let db = TestDb::new()?;
    let token = {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for (name, ecommerce) in [
            (
                "A very long name for a very tiny test site, that also reaches the 90 character limit fully",
                true,
            ),
            ("Piwik test", false),
        ] {
            let params = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                ecommerce: Some(ecommerce),
                sitesearch: Some(true),
                start_date: Some(START - Duration::days(1)),
                ..NewSiteParams::new(name, ["http://piwik.net/"])
            };
            management::add_site(&mut conn, &root, &params)?;
        }
        let goal = GoalParams {
            revenue: 10.0,
            allow_multiple: true,
            ..GoalParams::new(
                "title match, triggered ONCE",
                "title",
                "incredible",
                "contains",
            )
        };
        management::add_goal(&mut conn, &root, 1, &goal)?;
        user_with_token(&mut conn, "root", None)?
    };
    let tracker = tally_tracking::http::Tracker::start(
        db.pool()?,
        &tally_tracking::http::TrackerConfig::default(),
    )?;
    let router = tally_tracking::http::router(tracker);
    site_1(&router, &token).await?;
    site_2(&router, &token).await?;
    let api = Api::new(
        db.pool()?,
        tally_archiving::Registry::core(),
        tally_archiving::ArchivingConfig::default(),
        ReportingConfig::default(),
    );
    Ok((db, Reports { api, token }))
}

/// Each row's label and the given columns it has (a column Matomo's
/// expected output leaves out is left out here too).
fn pick(rows: &Value, columns: &[&str]) -> Vec<Value> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let mut picked = Map::new();
                    picked.insert("label".to_owned(), row["label"].clone());
                    for column in columns {
                        if let Some(value) = row.get(*column) {
                            picked.insert((*column).to_owned(), value.clone());
                        }
                    }
                    Value::Object(picked)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn ecommerce_orders_give_matomos_visits_and_goals() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let summary = reports.day("VisitsSummary.get", "").await?;
    assert_eq!(
        summary,
        json!({
            "nb_uniq_visitors": 1,
            "nb_users": 0,
            "nb_visits": 3,
            "nb_actions": 13,
            "nb_visits_converted": 2,
            "bounce_count": 0,
            "sum_visit_length": 5403,
            "max_actions": 6,
            "bounce_rate": "0%",
            "nb_actions_per_visit": 4.3,
            "avg_time_on_site": 1801
        })
    );
    let overall = json!({
        "nb_conversions": 3,
        "nb_visits_converted": 2,
        "revenue": 3121.11,
        "conversion_rate": "66.67%",
        "nb_conversions_new_visit": 1,
        "nb_visits_converted_new_visit": 1,
        "revenue_new_visit": 10,
        "conversion_rate_new_visit": "100%",
        "nb_conversions_returning_visit": 2,
        "nb_visits_converted_returning_visit": 1,
        "revenue_returning_visit": 3111.11,
        "conversion_rate_returning_visit": "50%"
    });
    assert_eq!(reports.day("Goals.get", "").await?, overall);
    assert_eq!(reports.day("Goals.get", "&idGoal=").await?, overall);

    let order = reports.day("Goals.get", "&idGoal=ecommerceOrder").await?;
    assert_eq!(
        order,
        json!({
            "nb_conversions": 2,
            "nb_visits_converted": 1,
            "revenue": 3111.11,
            "revenue_subtotal": 2500,
            "revenue_tax": 511,
            "revenue_shipping": 100.11,
            "revenue_discount": 666,
            "items": 10,
            "avg_order_revenue": 1555.56,
            "conversion_rate": "33.33%",
            "nb_conversions_new_visit": 0,
            "nb_visits_converted_new_visit": 0,
            "revenue_new_visit": 0,
            "revenue_subtotal_new_visit": 0,
            "revenue_tax_new_visit": 0,
            "revenue_shipping_new_visit": 0,
            "revenue_discount_new_visit": 0,
            "items_new_visit": 0,
            "avg_order_revenue_new_visit": 0,
            "conversion_rate_new_visit": "0%",
            "nb_conversions_returning_visit": 2,
            "nb_visits_converted_returning_visit": 1,
            "revenue_returning_visit": 3111.11,
            "revenue_subtotal_returning_visit": 2500,
            "revenue_tax_returning_visit": 511,
            "revenue_shipping_returning_visit": 100.11,
            "revenue_discount_returning_visit": 666,
            "items_returning_visit": 10,
            "avg_order_revenue_returning_visit": 1555.56,
            "conversion_rate_returning_visit": "50%"
        })
    );
    let cart = reports
        .day("Goals.get", "&idGoal=ecommerceAbandonedCart")
        .await?;
    assert_eq!(
        cart,
        json!({
            "nb_conversions": 2,
            "nb_visits_converted": 2,
            "revenue": 5020.22,
            "items": 8,
            "avg_order_revenue": 2510.11,
            "conversion_rate": "66.67%",
            "nb_conversions_new_visit": 0,
            "nb_visits_converted_new_visit": 0,
            "revenue_new_visit": 0,
            "items_new_visit": 0,
            "avg_order_revenue_new_visit": 0,
            "conversion_rate_new_visit": "0%",
            "nb_conversions_returning_visit": 2,
            "nb_visits_converted_returning_visit": 2,
            "revenue_returning_visit": 5020.22,
            "items_returning_visit": 8,
            "avg_order_revenue_returning_visit": 2510.11,
            "conversion_rate_returning_visit": "100%"
        })
    );
    Ok(())
}

/// The columns of Matomo's item reports.
const ITEM_COLUMNS: [&str; 11] = [
    "revenue",
    "quantity",
    "orders",
    "abandoned_carts",
    "nb_visits",
    "nb_uniq_visitors",
    "nb_actions",
    "avg_price",
    "avg_quantity",
    "conversion_rate",
    "segment",
];

#[tokio::test]
async fn ecommerce_orders_give_matomos_item_reports() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let skus = reports.day("Goals.getItemsSku", "").await?;
    assert_eq!(
        pick(&skus, &ITEM_COLUMNS),
        vec![
            json!({"label": "SKU2", "revenue": 1500, "quantity": 1, "orders": 1, "nb_visits": 1,
                "nb_uniq_visitors": 1, "nb_actions": 1, "avg_price": 1500, "avg_quantity": 1,
                "conversion_rate": "100%", "segment": "productSku==SKU2"}),
            json!({"label": NICE, "revenue": 1011.22, "quantity": 3, "orders": 2, "nb_visits": 3,
                "nb_uniq_visitors": 1, "nb_actions": 8, "avg_price": 255.61, "avg_quantity": 1.5,
                "conversion_rate": "66.67%", "segment": "productSku==SKU+VERY+nice+indeed"}),
            json!({"label": "ANOTHER SKU HERE", "revenue": 600, "quantity": 6, "orders": 1,
                "avg_price": 100, "avg_quantity": 6, "conversion_rate": "0%",
                "segment": "productSku==ANOTHER+SKU+HERE"}),
            json!({"label": "SKU IN ABANDONED CART TWO", "nb_visits": 2, "nb_uniq_visitors": 1,
                "nb_actions": 2, "avg_price": 0, "avg_quantity": 0, "conversion_rate": "0%",
                "segment": "productSku==SKU+IN+ABANDONED+CART+TWO"}),
        ]
    );
    let names = reports.day("Goals.getItemsName", "").await?;
    assert_eq!(
        pick(&names, &ITEM_COLUMNS[..10]),
        vec![
            json!({"label": "Canon SLR", "revenue": 1500, "quantity": 1, "orders": 1,
                "avg_price": 1500, "avg_quantity": 1, "conversion_rate": "0%"}),
            json!({"label": "PRODUCT name", "revenue": 1011.22, "quantity": 3, "orders": 2,
                "nb_visits": 2, "nb_uniq_visitors": 1, "nb_actions": 5, "avg_price": 255.61,
                "avg_quantity": 1.5, "conversion_rate": "100%"}),
            json!({"label": "PRODUCT name BIS", "revenue": 600, "quantity": 6, "orders": 1,
                "avg_price": 100, "avg_quantity": 6, "conversion_rate": "0%"}),
            json!({"label": "PRODUCT THREE LEFT in cart", "nb_visits": 2, "nb_uniq_visitors": 1,
                "nb_actions": 4, "avg_price": 666, "avg_quantity": 0, "conversion_rate": "0%"}),
            json!({"label": "PRODUCT TWO LEFT in cart", "nb_visits": 2, "nb_uniq_visitors": 1,
                "nb_actions": 2, "avg_price": 0, "avg_quantity": 0, "conversion_rate": "0%"}),
        ]
    );
    let categories = reports.day("Goals.getItemsCategory", "").await?;
    let multiple = |n: u32| {
        json!({"label": format!("Multiple Category {n}"), "revenue": 1000, "quantity": 2,
            "orders": 1, "nb_visits": 1, "nb_uniq_visitors": 1, "nb_actions": 1,
            "avg_price": 500, "avg_quantity": 2, "conversion_rate": "100%"})
    };
    assert_eq!(
        pick(&categories, &ITEM_COLUMNS[..10]),
        vec![
            json!({"label": "Electronics & Cameras", "revenue": 2500, "quantity": 3,
                "orders": 2, "nb_visits": 3, "nb_uniq_visitors": 2, "nb_actions": 6,
                "avg_price": 1000, "avg_quantity": 1.5, "conversion_rate": "66.67%"}),
            multiple(1),
            multiple(2),
            multiple(4),
            multiple(5),
            json!({"label": "Product Category not defined", "revenue": 611.22, "quantity": 7,
                "orders": 2, "nb_visits": 3, "nb_uniq_visitors": 1, "nb_actions": 5,
                "avg_price": 55.61, "avg_quantity": 3.5, "conversion_rate": "66.67%"}),
            json!({"label": "Category TWO LEFT in cart", "nb_visits": 2, "nb_uniq_visitors": 1,
                "nb_actions": 2, "avg_price": 0, "avg_quantity": 0, "conversion_rate": "0%"}),
            json!({"label": "second category", "nb_visits": 2, "nb_uniq_visitors": 1,
                "nb_actions": 2, "avg_price": 0, "avg_quantity": 0, "conversion_rate": "0%"}),
        ]
    );
    Ok(())
}

#[tokio::test]
async fn ecommerce_carts_give_matomos_abandoned_cart_item_reports() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let skus = reports
        .day("Goals.getItemsSku", "&abandonedCarts=1")
        .await?;
    assert_eq!(
        pick(&skus, &ITEM_COLUMNS[..10]),
        vec![
            json!({"label": "SKU IN ABANDONED CART TWO", "revenue": 4000, "quantity": 4,
                "nb_visits": 2, "nb_uniq_visitors": 1, "nb_actions": 2, "abandoned_carts": 2,
                "avg_price": 1000, "avg_quantity": 2, "conversion_rate": "100%"}),
            json!({"label": "SKU IN ABANDONED CART ONE", "revenue": 1000.22, "quantity": 2,
                "abandoned_carts": 2, "avg_price": 500.11, "avg_quantity": 1,
                "conversion_rate": "0%"}),
            json!({"label": NICE, "revenue": 20, "quantity": 2, "nb_visits": 3,
                "nb_uniq_visitors": 1, "nb_actions": 8, "abandoned_carts": 2, "avg_price": 10,
                "avg_quantity": 1, "conversion_rate": "66.67%"}),
            json!({"label": "SKU2", "nb_visits": 1, "nb_uniq_visitors": 1, "nb_actions": 1,
                "avg_price": 1111.11, "avg_quantity": 0, "conversion_rate": "0%"}),
        ]
    );
    // `orders` renamed `abandoned_carts` moves to the end of the stored
    // columns, as PHP's `renameColumn` does.
    let keys: Vec<&str> = skus[0]
        .as_object()
        .map(|row| row.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "label",
            "revenue",
            "quantity",
            "nb_visits",
            "nb_uniq_visitors",
            "nb_actions",
            "abandoned_carts",
            "avg_price",
            "avg_quantity",
            "conversion_rate",
            "segment"
        ]
    );
    let categories = reports
        .day("Goals.getItemsCategory", "&abandonedCarts=1")
        .await?;
    let viewed = |label: &str| {
        json!({"label": label, "nb_visits": 1, "nb_uniq_visitors": 1, "nb_actions": 1,
            "avg_price": 0, "avg_quantity": 0, "conversion_rate": "0%"})
    };
    let left = |label: &str| {
        json!({"label": label, "revenue": 4000, "quantity": 4, "nb_visits": 2,
            "nb_uniq_visitors": 1, "nb_actions": 2, "abandoned_carts": 2, "avg_price": 1000,
            "avg_quantity": 2, "conversion_rate": "100%"})
    };
    assert_eq!(
        pick(&categories, &ITEM_COLUMNS[..10]),
        vec![
            left("Category TWO LEFT in cart"),
            left("second category"),
            json!({"label": "Product Category not defined", "revenue": 1000.22, "quantity": 2,
                "nb_visits": 3, "nb_uniq_visitors": 1, "nb_actions": 5, "abandoned_carts": 2,
                "avg_price": 500.11, "avg_quantity": 1, "conversion_rate": "66.67%"}),
            json!({"label": "Electronics & Cameras", "revenue": 20, "quantity": 2,
                "nb_visits": 3, "nb_uniq_visitors": 2, "nb_actions": 6, "abandoned_carts": 2,
                "avg_price": 10, "avg_quantity": 1, "conversion_rate": "66.67%"}),
            viewed("Multiple Category 1"),
            viewed("Multiple Category 2"),
            viewed("Multiple Category 4"),
            viewed("Multiple Category 5"),
        ]
    );
    Ok(())
}

/// The week of 2011-04-04: the next day's orders ("666" with a tripod,
/// "777" without items) and third abandoned cart join; item rows of weeks
/// carry `sum_daily_nb_uniq_visitors`.
#[tokio::test]
async fn ecommerce_week_gives_matomos_goals_and_items() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let pick_goal = |value: &Value, names: &[&str]| -> Value {
        Value::Object(
            names
                .iter()
                .map(|name| ((*name).to_owned(), value[*name].clone()))
                .collect(),
        )
    };
    let order = reports.week("Goals.get", "&idGoal=ecommerceOrder").await?;
    assert_eq!(
        pick_goal(
            &order,
            &[
                "nb_conversions",
                "nb_visits_converted",
                "revenue",
                "revenue_subtotal",
                "revenue_tax",
                "revenue_shipping",
                "revenue_discount",
                "items",
                "avg_order_revenue",
                "conversion_rate",
                "nb_conversions_returning_visit",
                "conversion_rate_returning_visit",
            ]
        ),
        json!({
            "nb_conversions": 4,
            "nb_visits_converted": 2,
            "revenue": 13351.11,
            "revenue_subtotal": 2700,
            "revenue_tax": 531,
            "revenue_shipping": 120.11,
            "revenue_discount": 686,
            "items": 12,
            "avg_order_revenue": 3337.78,
            "conversion_rate": "40%",
            "nb_conversions_returning_visit": 4,
            "conversion_rate_returning_visit": "50%"
        })
    );
    let cart = reports
        .week("Goals.get", "&idGoal=ecommerceAbandonedCart")
        .await?;
    assert_eq!(
        pick_goal(
            &cart,
            &[
                "nb_conversions",
                "nb_visits_converted",
                "revenue",
                "items",
                "avg_order_revenue",
                "conversion_rate",
                "conversion_rate_returning_visit",
            ]
        ),
        json!({
            "nb_conversions": 3,
            "nb_visits_converted": 3,
            "revenue": 7530.33,
            "items": 12,
            "avg_order_revenue": 2510.11,
            "conversion_rate": "60%",
            "conversion_rate_returning_visit": "75%"
        })
    );
    let overall = reports.week("Goals.get", "").await?;
    assert_eq!(
        pick_goal(
            &overall,
            &[
                "nb_conversions",
                "nb_visits_converted",
                "revenue",
                "conversion_rate",
                "nb_conversions_new_visit",
                "conversion_rate_returning_visit",
            ]
        ),
        // Matomo: 4 converted visits (80%, returning 75%). Its tracker
        // updates the visit of the next day's refused duplicate order
        // (visit_goal_converted = 1) before the conversion insert fails;
        // we refuse that request as a whole (docs/MATOMO-DIFFERENCES.md),
        // so that cart-only visit is not converted here.
        json!({
            "nb_conversions": 5,
            "nb_visits_converted": 3,
            "revenue": 13361.11,
            "conversion_rate": "60%",
            "nb_conversions_new_visit": 1,
            "conversion_rate_returning_visit": "50%"
        })
    );

    let columns = [
        "revenue",
        "quantity",
        "orders",
        "abandoned_carts",
        "nb_visits",
        "nb_actions",
        "sum_daily_nb_uniq_visitors",
        "avg_price",
        "avg_quantity",
        "conversion_rate",
    ];
    let skus = reports.week("Goals.getItemsSku", "").await?;
    assert_eq!(
        pick(&skus, &columns),
        vec![
            json!({"label": "SKU2", "revenue": 1500, "quantity": 1, "orders": 1, "nb_visits": 1,
                "nb_actions": 1, "sum_daily_nb_uniq_visitors": 1, "avg_price": 1500,
                "avg_quantity": 1, "conversion_rate": "100%"}),
            json!({"label": NICE, "revenue": 1011.22, "quantity": 3, "orders": 2, "nb_visits": 4,
                "nb_actions": 10, "sum_daily_nb_uniq_visitors": 2, "avg_price": 255.61,
                "avg_quantity": 1.5, "conversion_rate": "50%"}),
            json!({"label": "ANOTHER SKU HERE", "revenue": 600, "quantity": 6, "orders": 1,
                "avg_price": 100, "avg_quantity": 6, "conversion_rate": "0%"}),
            json!({"label": "TRIPOD SKU", "revenue": 200, "quantity": 2, "orders": 1,
                "avg_price": 100, "avg_quantity": 2, "conversion_rate": "0%"}),
            json!({"label": "SKU IN ABANDONED CART TWO", "nb_visits": 3, "nb_actions": 3,
                "sum_daily_nb_uniq_visitors": 2, "avg_price": 0, "avg_quantity": 0,
                "conversion_rate": "0%"}),
        ]
    );
    let names = reports
        .week("Goals.getItemsName", "&abandonedCarts=1")
        .await?;
    assert_eq!(
        pick(&names, &columns),
        vec![
            json!({"label": "PRODUCT TWO LEFT in cart", "revenue": 6000, "quantity": 6,
                "nb_visits": 3, "nb_actions": 3, "sum_daily_nb_uniq_visitors": 2,
                "abandoned_carts": 3, "avg_price": 1000, "avg_quantity": 2,
                "conversion_rate": "100%"}),
            json!({"label": "PRODUCT ONE LEFT in cart", "revenue": 1500.33, "quantity": 3,
                "abandoned_carts": 3, "avg_price": 500.11, "avg_quantity": 1,
                "conversion_rate": "0%"}),
            json!({"label": "PRODUCT THREE LEFT in cart", "revenue": 30, "quantity": 3,
                "nb_visits": 3, "nb_actions": 6, "sum_daily_nb_uniq_visitors": 2,
                "abandoned_carts": 3, "avg_price": 10, "avg_quantity": 1,
                "conversion_rate": "100%"}),
            json!({"label": "PRODUCT name", "nb_visits": 2, "nb_actions": 5,
                "sum_daily_nb_uniq_visitors": 1, "avg_price": 832.78, "avg_quantity": 0,
                "conversion_rate": "0%"}),
        ]
    );
    Ok(())
}

/// Visit custom variables: slot 4 holds the value "0" (a value, not an
/// empty one), slot 3 is set in the second visit and kept by the third;
/// the back-office order without `_cvar` keeps the visit's variables.
#[tokio::test]
async fn ecommerce_visits_give_matomos_custom_variables() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let variables = reports
        .day("CustomVariables.getCustomVariables", "&expanded=1")
        .await?;
    let columns = [
        "nb_visits",
        "nb_actions",
        "sum_visit_length",
        "nb_visits_converted",
    ];
    let row = |label: &str, visits: u32, actions: u32, length: u32, converted: u32| {
        json!({"label": label, "nb_visits": visits, "nb_actions": actions,
            "sum_visit_length": length, "nb_visits_converted": converted})
    };
    assert_eq!(
        pick(&variables, &columns),
        vec![
            row("ValueIsZero", 3, 13, 5403, 2),
            row("VisitorType", 3, 13, 5403, 2),
            row("VisitorName", 2, 9, 4682, 1),
        ]
    );
    for (index, label) in [(0, "0"), (1, "NewLoggedOut"), (2, "Great name!")] {
        let subtable = pick(&variables[index]["subtable"], &columns);
        assert_eq!(subtable.len(), 1, "{subtable:?}");
        assert_eq!(subtable[0]["label"], json!(label));
        assert_eq!(
            subtable[0]["nb_visits"], variables[index]["nb_visits"],
            "{label}"
        );
        // No unique visitors, down the subtables too (Matomo's
        // CustomVariables API deletes them).
        assert!(
            variables[index]["subtable"][0]
                .get("nb_uniq_visitors")
                .is_none(),
            "{label}"
        );
    }
    assert!(
        variables[0].get("nb_uniq_visitors").is_none(),
        "{variables}"
    );
    assert_eq!(
        variables[0]["segment"],
        json!("customVariableName==ValueIsZero")
    );
    assert!(
        variables[0]["subtable"][0].get("segment").is_none(),
        "{variables}"
    );
    Ok(())
}

/// Countries from the browser language (no GeoIP database in Matomo's
/// tests either): the first visit is French, the next two Polish; each row
/// carries its goals, the ecommerce ones with their own columns, and the
/// row's conversions and revenue leave abandoned carts out.
#[tokio::test]
async fn ecommerce_visits_give_matomos_countries() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let countries = reports.day("UserCountry.getCountry", "").await?;
    let columns = [
        "nb_visits",
        "nb_actions",
        "max_actions",
        "sum_visit_length",
        "nb_visits_converted",
        "nb_conversions",
        "revenue",
    ];
    assert_eq!(
        pick(&countries, &columns),
        vec![
            json!({"label": "Poland", "nb_visits": 2, "nb_actions": 9, "max_actions": 6,
                "sum_visit_length": 4682, "nb_visits_converted": 1, "nb_conversions": 2,
                "revenue": 3111.11}),
            json!({"label": "France", "nb_visits": 1, "nb_actions": 4, "max_actions": 4,
                "sum_visit_length": 721, "nb_visits_converted": 1, "nb_conversions": 1,
                "revenue": 10}),
        ]
    );
    assert_eq!(
        countries[0]["goals"],
        json!({
            "idgoal=ecommerceAbandonedCart": {"nb_conversions": 2, "nb_visits_converted": 2,
                "revenue": 5020.22, "items": 8},
            "idgoal=ecommerceOrder": {"nb_conversions": 2, "nb_visits_converted": 1,
                "revenue": 3111.11, "revenue_subtotal": 2500, "revenue_tax": 511,
                "revenue_shipping": 100.11, "revenue_discount": 666, "items": 10}
        })
    );
    assert_eq!(
        countries[1]["goals"],
        json!({"idgoal=1": {"nb_conversions": 1, "nb_visits_converted": 1, "revenue": 10}})
    );
    Ok(())
}

/// The SKU rows of the first visit's product views (SKU2 at 1111.11, the
/// nice SKU at 666 and 888), with unique visitors in `uniq` (days'
/// `nb_uniq_visitors`, longer periods' `sum_daily_nb_uniq_visitors`).
fn first_visit_views(uniq: &str) -> Vec<Value> {
    [("SKU2", 1, json!(1111.11)), (NICE, 3, json!(777))]
        .into_iter()
        .map(|(label, actions, price)| {
            let mut row = json!({"label": label, "nb_visits": 1, "nb_actions": actions,
                "avg_price": price, "avg_quantity": 0, "conversion_rate": "0%"});
            row[uniq] = json!(1);
            row
        })
        .collect()
}

/// Item reports of segments: `countryCode==fr` keeps the first (French)
/// visit, product views only (SKU VERY nice indeed viewed at 666 and 888);
/// `pageUrl=@example.org/index.htm` keeps every visit.
#[tokio::test]
async fn ecommerce_item_reports_by_segment() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let french = reports
        .day("Goals.getItemsSku", "&segment=countryCode%3D%3Dfr")
        .await?;
    assert_eq!(
        pick(&french, &ITEM_COLUMNS[..10]),
        first_visit_views("nb_uniq_visitors")
    );
    let all = reports.day("Goals.getItemsSku", "").await?;
    let by_page = reports
        .day(
            "Goals.getItemsSku",
            "&segment=pageUrl%3D%40example.org%252Findex.htm",
        )
        .await?;
    assert_eq!(
        pick(&by_page, &ITEM_COLUMNS[..10]),
        pick(&all, &ITEM_COLUMNS[..10])
    );
    assert_eq!(by_page.as_array().map(Vec::len), Some(4));
    Ok(())
}

/// Server hours: visits by the hour they start in, conversions by the hour
/// they happen in (the second visit starts at 01:47, its orders and cart
/// are at 02:11 to 02:53, so hour 02 has goals and no visit).
#[tokio::test]
async fn ecommerce_visits_give_matomos_server_hours() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let hours = reports
        .day("VisitTime.getVisitInformationPerServerTime", "")
        .await?;
    let columns = [
        "nb_visits",
        "nb_actions",
        "sum_visit_length",
        "nb_visits_converted",
        "nb_conversions",
        "revenue",
        "goals",
    ];
    let rows: Vec<Value> = pick(&hours, &columns)
        .into_iter()
        .filter(|row| ["00", "01", "02", "07"].contains(&row["label"].as_str().unwrap_or("")))
        .collect();
    let cart = json!({"nb_conversions": 1, "nb_visits_converted": 1, "revenue": 2510.11,
        "items": 4});
    assert_eq!(
        rows,
        vec![
            json!({"label": "00", "nb_visits": 1, "nb_actions": 4, "sum_visit_length": 721,
                "nb_visits_converted": 1, "nb_conversions": 1, "revenue": 10,
                "goals": {"idgoal=1": {"nb_conversions": 1, "nb_visits_converted": 1,
                    "revenue": 10}}}),
            json!({"label": "01", "nb_visits": 1, "nb_actions": 6, "sum_visit_length": 3961,
                "nb_visits_converted": 1}),
            // Matomo's hour with conversions only has no other visit
            // columns (its ServerTime builder adds the conversions before
            // ensureAllHoursAreSet); ours has them at 0 (documented).
            // An hour of conversions only: goal metrics, and the
            // `nb_visits` 0 Matomo's output ends the row with.
            json!({"label": "02", "nb_visits": 0, "nb_conversions": 2, "revenue": 3111.11,
                "goals": {"idgoal=ecommerceAbandonedCart": cart,
                    "idgoal=ecommerceOrder": {"nb_conversions": 2, "nb_visits_converted": 1,
                        "revenue": 3111.11, "revenue_subtotal": 2500, "revenue_tax": 511,
                        "revenue_shipping": 100.11, "revenue_discount": 666, "items": 10}}}),
            json!({"label": "07", "nb_visits": 1, "nb_actions": 3, "sum_visit_length": 721,
                "nb_visits_converted": 0, "nb_conversions": 0, "revenue": 0,
                "goals": {"idgoal=ecommerceAbandonedCart": cart}}),
        ]
    );
    Ok(())
}

/// Site 2 has ecommerce off: its order converts the visit (Matomo's
/// `visit_goal_converted`) but records no conversion and no item.
#[tokio::test]
async fn ecommerce_order_on_a_site_without_ecommerce() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let goals = reports.site_json(2, "Goals.get", "week", "").await?;
    assert_eq!(
        goals,
        json!({
            "nb_conversions": 0,
            "nb_visits_converted": 1,
            "revenue": 0,
            "conversion_rate": "50%",
            "nb_conversions_new_visit": 0,
            "nb_visits_converted_new_visit": 0,
            "revenue_new_visit": 0,
            "conversion_rate_new_visit": "0%",
            "nb_conversions_returning_visit": 0,
            "nb_visits_converted_returning_visit": 1,
            "revenue_returning_visit": 0,
            "conversion_rate_returning_visit": "100%"
        })
    );
    let items = reports
        .site_json(2, "Goals.getItemsSku", "week", "")
        .await?;
    assert_eq!(items, json!([]));
    Ok(())
}

/// `test_ecommerceOrderWithItems__Live.getLastVisitsDetails_day.xml`: the
/// day's three visits of site 1, newest first; the third left a cart of
/// three products, the second ordered twice (items with their categories);
/// each visit shows the visitor's lifetime orders and carts.
#[tokio::test]
async fn ecommerce_visits_give_matomos_visitor_log() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let visits = reports.day("Live.getLastVisitsDetails", "").await?;
    let ids: Vec<Value> = visits
        .as_array()
        .map(|visits| {
            visits
                .iter()
                .map(|visit| visit["idVisit"].clone())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ids, [json!(3), json!(2), json!(1)]);
    let (third, second) = (&visits[0], &visits[1]);
    for (field, value) in [
        ("visitEcommerceStatus", json!("abandonedCart")),
        (
            "visitEcommerceStatusIcon",
            json!("plugins/Morpheus/images/ecommerceAbandonedCart.svg"),
        ),
        ("secondsSinceLastEcommerceOrder", json!(21240)),
        ("visitCount", json!(3)),
        ("totalEcommerceRevenue", json!(13351.11)),
        ("totalEcommerceConversions", json!(4)),
        ("totalEcommerceItems", json!(12)),
        ("totalAbandonedCartsRevenue", json!(7530.33)),
        ("totalAbandonedCarts", json!(3)),
        ("totalAbandonedCartsItems", json!(12)),
        (
            "customVariables",
            json!({
                "3": {"customVariableName3": "VisitorName", "customVariableValue3": "Great name!"},
                "4": {"customVariableName4": "ValueIsZero", "customVariableValue4": "0"},
                "5": {"customVariableName5": "VisitorType", "customVariableValue5": "NewLoggedOut"}
            }),
        ),
    ] {
        assert_eq!(third[field], value, "visit 3: {field}");
    }
    let actions = third["actionDetails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let types: Vec<Value> = actions
        .iter()
        .map(|action| action["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!("action"),
            json!("action"),
            json!("action"),
            json!("ecommerceAbandonedCart")
        ]
    );
    assert_eq!(actions[0]["productViewPrice"], json!(999));
    assert_eq!(
        actions[0]["productViewName"],
        json!("PRODUCT THREE LEFT in cart")
    );
    assert_eq!(actions[0]["productViewSku"], json!(NICE));
    assert_eq!(actions[0]["timeSpent"], json!(180));
    assert_eq!(
        actions[2]["productViewCategories"],
        json!(["Category TWO LEFT in cart", "second category"])
    );
    let cart = &actions[3];
    let keys: Vec<&str> = cart
        .as_object()
        .map(|map| map.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "type",
            "revenue",
            "items",
            "serverTimePretty",
            "idpageview",
            "referrerType",
            "referrerName",
            "referrerKeyword",
            "itemDetails",
            "icon",
            "iconSVG",
            "title",
            "subtitle",
            "timestamp"
        ]
    );
    for (field, value) in [
        ("revenue", json!(2510.11)),
        ("items", json!(4)),
        ("referrerType", json!("direct")),
        (
            "icon",
            json!("plugins/Morpheus/images/ecommerceAbandonedCart.png"),
        ),
        ("title", json!("Abandoned Cart")),
        (
            "subtitle",
            json!(
                "$2,510.11 revenue - 4 items: PRODUCT THREE LEFT in cart, PRODUCT ONE LEFT in cart, PRODUCT TWO LEFT in cart)"
            ),
        ),
    ] {
        assert_eq!(cart[field], value, "cart: {field}");
    }
    assert_eq!(
        cart["itemDetails"][1],
        json!({"itemSKU": "SKU IN ABANDONED CART ONE", "itemName": "PRODUCT ONE LEFT in cart",
            "itemCategory": null, "price": 500.11, "quantity": 1, "categories": []})
    );
    assert_eq!(
        cart["itemDetails"][2]["categories"],
        json!(["Category TWO LEFT in cart", "second category"])
    );

    let orders: Vec<Value> = second["actionDetails"]
        .as_array()
        .map(|actions| {
            actions
                .iter()
                .filter(|action| action["type"] == json!("ecommerceOrder"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(orders.len(), 2);
    for (field, value) in [
        ("orderId", json!("937nsjusu 3894")),
        ("revenue", json!(1111.11)),
        ("revenueSubTotal", json!(1000)),
        ("revenueTax", json!(111)),
        ("revenueShipping", json!(0.11)),
        ("revenueDiscount", json!(666)),
        ("items", json!(8)),
        ("title", json!("Ordered (937nsjusu 3894)")),
        (
            "subtitle",
            json!("$1,111.11 revenue - 8 items: PRODUCT name, PRODUCT name BIS)"),
        ),
    ] {
        assert_eq!(orders[0][field], value, "order: {field}");
    }
    assert_eq!(orders[1]["orderId"], json!(ORDER_2));
    assert_eq!(
        orders[0]["itemDetails"][0]["categories"],
        json!([
            "Multiple Category 1",
            "Multiple Category 2",
            CAMERAS,
            "Multiple Category 4",
            "Multiple Category 5"
        ])
    );
    assert_eq!(
        second["visitEcommerceStatus"],
        json!("orderedThenAbandonedCart")
    );
    Ok(())
}

/// `VisitsSummary.get` of a segment: `(visits, actions, converted visits,
/// bounces, total length)`.
async fn visits_of(
    reports: &Reports,
    period: &str,
    segment: &str,
) -> anyhow::Result<(Value, Value, Value, Value, Value)> {
    let summary = reports
        .segmented("VisitsSummary.get", period, segment)
        .await?;
    Ok((
        summary["nb_visits"].clone(),
        summary["nb_actions"].clone(),
        summary["nb_visits_converted"].clone(),
        summary["bounce_count"].clone(),
        summary["sum_visit_length"].clone(),
    ))
}

/// The `_Segment*__VisitsSummary.get` and `_product*__VisitsSummary.get`
/// outputs of `EcommerceOrderWithItemsTest`: which visits each visit,
/// conversion and item segment selects.
#[tokio::test]
async fn ecommerce_segments_select_matomos_visits() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let first = (json!(1), json!(4), json!(1), json!(0), json!(721));
    let second_and_third = (json!(2), json!(9), json!(1), json!(0), json!(4682));
    let nothing = (json!(0), json!(0), json!(0), json!(0), json!(0));
    for (period, segment, expected) in [
        ("day", "visitConvertedGoalId==1", &first),
        ("week", "visitConvertedGoalId==1", &first),
        ("day", "visitConvertedGoalId!=1", &second_and_third),
        ("day", "pageTitle==incredible title!", &first),
        ("day", "visitEcommerceStatus==none", &first),
        (
            "day",
            "visitEcommerceStatus==ordered,visitEcommerceStatus==orderedThenAbandonedCart",
            &(json!(1), json!(6), json!(1), json!(0), json!(3961)),
        ),
        (
            "day",
            "visitEcommerceStatus==abandonedCart,visitEcommerceStatus==orderedThenAbandonedCart",
            &second_and_third,
        ),
        ("week", "visitorType==new", &first),
        // The visit after the ordering one is only "returning": Matomo
        // reads the last visit's seconds since an order with PHP's `?:`,
        // and that visit's 0 is falsy.
        ("week", "visitorType==returning", &second_and_third),
        (
            "week",
            "visitConvertedGoalId==1;visitConvertedGoalId!=2",
            &first,
        ),
        (
            "week",
            "visitConvertedGoalId==1;visitConvertedGoalId!=2;countryCode!=xx;deviceType!=tv",
            &first,
        ),
        (
            "week",
            "visitEcommerceStatus!=ordered;visitConvertedGoalId==1",
            &first,
        ),
        ("week", "visitConvertedGoalId==666", &nothing),
        // Items replaced in a cart are deleted, and select no visit.
        ("week", "productSku==SKU%2BWILL%2BBE%2BDELETED", &nothing),
        // The next day's order "666" (no page view): a bounce of 363 s.
        (
            "week",
            "productCategory==Tools",
            &(json!(1), json!(0), json!(1), json!(1), json!(363)),
        ),
        (
            "week",
            "productName=@bought%2Bday%2Bafter",
            &(json!(1), json!(0), json!(1), json!(1), json!(363)),
        ),
    ] {
        assert_eq!(
            &visits_of(&reports, period, segment).await?,
            expected,
            "{period} {segment}"
        );
    }
    // Matomo: 2 converted visits, length 5763, 1444 and 2 converted for
    // returning customers. The next day's visit starts with the refused
    // duplicate order in Matomo (converted, 360 s earlier); we refuse that
    // request whole (docs/MATOMO-DIFFERENCES.md).
    for segment in ["productSku==SKU%2BVERY%2Bnice%2Bindeed", "productPrice>500"] {
        assert_eq!(
            visits_of(&reports, "week", segment).await?,
            (json!(3), json!(12), json!(1), json!(0), json!(5403)),
            "{segment}"
        );
    }
    assert_eq!(
        visits_of(&reports, "week", "visitorType==returningCustomer").await?,
        (json!(2), json!(3), json!(1), json!(1), json!(1084))
    );
    Ok(())
}

/// `_SegmentRevenueOrder` and `_SegmentCartRevenueOrder`
/// (`Goals.get` and `Live.getLastVisitsDetails`): revenue segments read
/// the visit's orders (or carts) only, so `revenueOrder>500` keeps the
/// ordering visit and not the third visit's 2510.11 cart.
#[tokio::test]
async fn ecommerce_revenue_segments_give_matomos_goals_and_visits() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    for (segment, visits, rate) in [
        ("revenueOrder>500", vec![json!(2)], "100%"),
        ("revenueAbandonedCart>100", vec![json!(3), json!(2)], "50%"),
    ] {
        let goals = reports.segmented("Goals.get", "day", segment).await?;
        assert_eq!(
            goals,
            json!({
                "nb_conversions": 2,
                "nb_visits_converted": 1,
                "revenue": 3111.11,
                "conversion_rate": rate,
                "nb_conversions_new_visit": 0,
                "nb_visits_converted_new_visit": 0,
                "revenue_new_visit": 0,
                "conversion_rate_new_visit": "0%",
                "nb_conversions_returning_visit": 2,
                "nb_visits_converted_returning_visit": 1,
                "revenue_returning_visit": 3111.11,
                "conversion_rate_returning_visit": rate
            }),
            "{segment}"
        );
        let live = reports
            .segmented("Live.getLastVisitsDetails", "day", segment)
            .await?;
        let ids: Vec<Value> = live
            .as_array()
            .map(|rows| rows.iter().map(|row| row["idVisit"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(ids, visits, "{segment}");
    }
    // `__Live.getLastVisitsDetails_day` and `_LiveEcommerceStatusOrdered`:
    // the visit after the ordering one is "returning" (the last visit's 0
    // seconds since an order is falsy to Matomo's `?:`); the next day's
    // visits are returning customers.
    for (date, expected) in [
        ("2011-04-05", ["returning", "returning", "new"].as_slice()),
        (
            "2011-04-06",
            ["returningCustomer", "returningCustomer"].as_slice(),
        ),
    ] {
        let live = reports
            .query(&format!(
                "method=Live.getLastVisitsDetails&idSite=1&period=day&date={date}"
            ))
            .await?;
        let types: Vec<Value> = live
            .as_array()
            .map(|rows| rows.iter().map(|row| row["visitorType"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(types, expected, "{date}");
    }
    // Matomo's filter takes `==`, `<`, `<=`, `>`, `>=` only.
    let refused = reports
        .segmented("Goals.get", "day", "revenueOrder!=5")
        .await?;
    assert_eq!(
        refused,
        json!({"result": "error",
            "message": "segment &quot;revenueOrder&quot; does not support the operator `!=`"})
    );
    Ok(())
}

/// `Goals.get` of segments and goals: `_SegmentCountryIsFr`,
/// `_EcommerceOrderGoal_SegmentPageUrlContains`, `_SegmentVisitHasConvertedGoal`,
/// `_SegmentVisitHasNotOrderedAndConvertedGoal`,
/// `_SegmentNoVisit_HaveConvertedNonExistingGoal` and `_GoalMatchTitle`.
#[tokio::test]
async fn ecommerce_goal_segments_give_matomos_goals() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let title_goal = |rate: &str, rate_new: &str| {
        json!({
            "nb_conversions": 1,
            "nb_visits_converted": 1,
            "revenue": 10,
            "conversion_rate": rate,
            "nb_conversions_new_visit": 1,
            "nb_visits_converted_new_visit": 1,
            "revenue_new_visit": 10,
            "conversion_rate_new_visit": rate_new,
            "nb_conversions_returning_visit": 0,
            "nb_visits_converted_returning_visit": 0,
            "revenue_returning_visit": 0,
            "conversion_rate_returning_visit": "0%"
        })
    };
    for period in ["day", "week"] {
        assert_eq!(
            reports
                .segmented("Goals.get", period, "countryCode==fr")
                .await?,
            title_goal("100%", "100%"),
            "{period}"
        );
    }
    for segment in [
        "visitConvertedGoalId==1;visitConvertedGoalId!=2",
        "visitConvertedGoalId==1;visitConvertedGoalId!=2;countryCode!=xx;deviceType!=tv",
        "visitEcommerceStatus!=ordered;visitConvertedGoalId==1",
    ] {
        assert_eq!(
            reports.segmented("Goals.get", "week", segment).await?,
            title_goal("100%", "100%"),
            "{segment}"
        );
    }
    assert_eq!(
        reports.day("Goals.get", "&idGoal=1").await?,
        title_goal("33.33%", "100%")
    );
    assert_eq!(
        reports.week("Goals.get", "&idGoal=1").await?,
        title_goal("20%", "100%")
    );
    let none = reports
        .segmented("Goals.get", "week", "visitConvertedGoalId==666")
        .await?;
    assert_eq!(none["nb_conversions"], json!(0));
    assert_eq!(none["conversion_rate"], json!("0%"));
    assert_eq!(
        reports
            .segmented("VisitsSummary.get", "week", "visitConvertedGoalId==666")
            .await?["nb_visits"],
        json!(0)
    );
    for period in ["day", "week"] {
        let order = reports
            .json(
                "Goals.get",
                period,
                &format!(
                    "&idGoal=ecommerceOrder&segment={}",
                    encode("pageTitle==Looking%20at%20product%20page")
                ),
            )
            .await?;
        for (column, value) in [
            ("nb_conversions", json!(2)),
            ("revenue", json!(3111.11)),
            ("items", json!(10)),
            ("avg_order_revenue", json!(1555.56)),
            ("conversion_rate", json!("100%")),
            ("conversion_rate_returning_visit", json!("100%")),
        ] {
            assert_eq!(order[column], value, "{period} {column}");
        }
    }
    Ok(())
}

/// Item reports of segments on items (`_productSkuSegment`,
/// `_productSkuSegmentSorted`, `_productPrice`, `_productCategorySegment`,
/// `_productNameSegment`, `_productSkuSegmentDeleted`) and of visits
/// (`_SegmentVisitHasConvertedGoal`, `_SegmentNoVisit_…`): the selected
/// visits' items and product views, so a category's `conversion_rate`
/// (orders / visits that viewed it) can pass 100%.
#[tokio::test]
async fn ecommerce_item_segments_give_matomos_items() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let columns = [
        "revenue",
        "quantity",
        "orders",
        "nb_visits",
        "nb_actions",
        "sum_daily_nb_uniq_visitors",
        "avg_price",
        "avg_quantity",
        "conversion_rate",
    ];
    let ordered = |label: &str, revenue: Value, quantity: u32, orders: u32, price: Value| {
        json!({"label": label, "revenue": revenue, "quantity": quantity, "orders": orders,
            "avg_price": price, "avg_quantity": quantity / orders, "conversion_rate": "0%"})
    };
    let viewed = |label: &str, actions: u32, price: u32| {
        json!({"label": label, "nb_visits": 3, "nb_actions": actions,
            "sum_daily_nb_uniq_visitors": 2, "avg_price": price, "avg_quantity": 0,
            "conversion_rate": "0%"})
    };
    let nice = json!({"label": NICE, "revenue": 1011.22, "quantity": 3, "orders": 2,
        "nb_visits": 3, "nb_actions": 7, "sum_daily_nb_uniq_visitors": 2, "avg_price": 255.61,
        "avg_quantity": 1.5, "conversion_rate": "66.67%"});
    let skus = vec![
        ordered("SKU2", json!(1500), 1, 1, json!(1500)),
        nice.clone(),
        ordered("ANOTHER SKU HERE", json!(600), 6, 1, json!(100)),
        viewed("SKU IN ABANDONED CART TWO", 3, 0),
    ];
    let product_name = json!({"label": "PRODUCT name", "revenue": 1011.22, "quantity": 3,
        "orders": 2, "nb_visits": 1, "nb_actions": 1, "sum_daily_nb_uniq_visitors": 1,
        "avg_price": 255.61, "avg_quantity": 1.5, "conversion_rate": "200%"});
    let names = vec![
        ordered("Canon SLR", json!(1500), 1, 1, json!(1500)),
        product_name.clone(),
        ordered("PRODUCT name BIS", json!(600), 6, 1, json!(100)),
        viewed("PRODUCT THREE LEFT in cart", 6, 1332),
        viewed("PRODUCT TWO LEFT in cart", 3, 0),
    ];
    for segment in ["productSku==SKU%2BVERY%2Bnice%2Bindeed", "productPrice>500"] {
        let sku = reports
            .segmented("Goals.getItemsSku", "week", segment)
            .await?;
        assert_eq!(pick(&sku, &columns), skus, "{segment}");
        let name = reports
            .segmented("Goals.getItemsName", "week", segment)
            .await?;
        assert_eq!(pick(&name, &columns), names, "{segment}");
        let categories = reports
            .segmented("Goals.getItemsCategory", "week", segment)
            .await?;
        assert_eq!(
            pick(&categories, &columns)[0],
            json!({"label": "Electronics & Cameras", "revenue": 2500, "quantity": 3,
                "orders": 2, "nb_visits": 1, "nb_actions": 3, "sum_daily_nb_uniq_visitors": 1,
                "avg_price": 1000, "avg_quantity": 1.5, "conversion_rate": "200%"}),
            "{segment}"
        );
        assert_eq!(categories.as_array().map(Vec::len), Some(8), "{segment}");
    }

    // Sorted by visits: ties keep the revenue order.
    let sorted = reports
        .json(
            "Goals.getItemsSku",
            "week",
            &format!(
                "&filter_sort_column=nb_visits&segment={}",
                encode("productSku==SKU%2BVERY%2Bnice%2Bindeed")
            ),
        )
        .await?;
    assert_eq!(
        pick(&sorted, &columns),
        vec![
            viewed("SKU IN ABANDONED CART TWO", 3, 0),
            nice,
            ordered("ANOTHER SKU HERE", json!(600), 6, 1, json!(100)),
            ordered("SKU2", json!(1500), 1, 1, json!(1500)),
        ]
    );

    for segment in [
        "productCategory==Tools",
        "productName=@bought%2Bday%2Bafter",
    ] {
        for (method, label) in [
            ("Goals.getItemsSku", "TRIPOD SKU"),
            ("Goals.getItemsName", "TRIPOD - bought day after"),
            ("Goals.getItemsCategory", "Tools"),
        ] {
            let items = reports.segmented(method, "week", segment).await?;
            assert_eq!(
                pick(&items, &columns),
                vec![ordered(label, json!(200), 2, 1, json!(100))],
                "{segment} {method}"
            );
        }
    }
    for segment in [
        "productSku==SKU%2BWILL%2BBE%2BDELETED",
        "visitConvertedGoalId==666",
    ] {
        for method in [
            "Goals.getItemsSku",
            "Goals.getItemsName",
            "Goals.getItemsCategory",
        ] {
            assert_eq!(
                reports.segmented(method, "week", segment).await?,
                json!([]),
                "{segment} {method}"
            );
        }
    }
    // The first visit's product views only.
    let converted = reports
        .segmented(
            "Goals.getItemsSku",
            "week",
            "visitEcommerceStatus!=ordered;visitConvertedGoalId==1",
        )
        .await?;
    assert_eq!(
        pick(&converted, &columns),
        first_visit_views("sum_daily_nb_uniq_visitors")
    );
    Ok(())
}

/// `multipleDates__Goals.getItems*_day` and
/// `multipleDates_andMultipleWebsites__…`: seven days from the fixture's,
/// the next day's tripod order and product views on 2011-04-06, nothing
/// after; site 2 (ecommerce off) has no items any day. `_Website2__…`: its
/// week has none either.
#[tokio::test]
async fn ecommerce_item_reports_over_several_days_and_sites() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let dates = "period=day&date=2011-04-05,2011-04-11";
    let days = reports
        .query(&format!("method=Goals.getItemsSku&idSite=1&{dates}"))
        .await?;
    let labels = |day: &Value| -> Vec<Value> {
        day.as_array()
            .map(|rows| rows.iter().map(|row| row["label"].clone()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        labels(&days["2011-04-05"]),
        [
            json!("SKU2"),
            json!(NICE),
            json!("ANOTHER SKU HERE"),
            json!("SKU IN ABANDONED CART TWO")
        ]
    );
    assert_eq!(
        pick(&days["2011-04-06"], &ITEM_COLUMNS[..10]),
        vec![
            json!({"label": "TRIPOD SKU", "revenue": 200, "quantity": 2, "orders": 1,
                "avg_price": 100, "avg_quantity": 2, "conversion_rate": "0%"}),
            json!({"label": "SKU IN ABANDONED CART TWO", "nb_visits": 1,
                "nb_uniq_visitors": 1, "nb_actions": 1, "avg_price": 0, "avg_quantity": 0,
                "conversion_rate": "0%"}),
            json!({"label": NICE, "nb_visits": 1, "nb_uniq_visitors": 1, "nb_actions": 2,
                "avg_price": 666, "avg_quantity": 0, "conversion_rate": "0%"}),
        ]
    );
    let dates_list: Vec<&String> = days
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(dates_list.len(), 7);
    for day in [
        "2011-04-07",
        "2011-04-08",
        "2011-04-09",
        "2011-04-10",
        "2011-04-11",
    ] {
        assert_eq!(days[day], json!([]), "{day}");
    }
    for method in [
        "Goals.getItemsSku",
        "Goals.getItemsName",
        "Goals.getItemsCategory",
    ] {
        let one = reports
            .query(&format!("method={method}&idSite=1&{dates}"))
            .await?;
        let both = reports
            .query(&format!("method={method}&idSite=1,2&{dates}"))
            .await?;
        assert_eq!(both["1"], one, "{method}");
        let site_2 = both["2"].as_object().cloned().unwrap_or_default();
        assert_eq!(site_2.len(), 7, "{method}");
        assert!(site_2.values().all(|day| *day == json!([])), "{method}");
        assert_eq!(
            reports.site_json(2, method, "week", "").await?,
            json!([]),
            "{method}"
        );
    }
    Ok(())
}

/// `_API_get__API.get_{day,week}` with four columns. Matomo's week has 4
/// converted visits and 1369 s: the next day's refused duplicate order
/// converts and lengthens its visit there (docs/MATOMO-DIFFERENCES.md).
#[tokio::test]
async fn ecommerce_api_get_gives_matomos_columns() -> anyhow::Result<()> {
    let (_db, reports) = fixture().await?;
    let columns = "&columns=nb_pageviews,nb_visits,avg_time_on_site,nb_visits_converted";
    assert_eq!(
        reports.day("API.get", columns).await?,
        json!({"nb_visits": 3, "nb_visits_converted": 2, "nb_pageviews": 13,
            "avg_time_on_site": 1801})
    );
    assert_eq!(
        reports.week("API.get", columns).await?,
        json!({"nb_visits": 5, "nb_visits_converted": 3, "nb_pageviews": 16,
            "avg_time_on_site": 1297})
    );
    Ok(())
}
