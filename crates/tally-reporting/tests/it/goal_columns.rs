//! The goal-column filters (`filter_update_columns_when_show_all_goals`,
//! `idGoal`, `filter_show_goal_columns_process_goals`,
//! `filter_add_columns_when_show_all_columns`) on visit-dimension reports,
//! compared with literal outputs worked out by hand.
//!
//! Traffic of 2026-11-12 on site 1 (ecommerce, goal 1 "Thanks" worth 5 on
//! `thank-you`, goal 2 "Signup" worth 3 on `signup`), added to
//! `common::traffic` (other days):
//!
//! - visitor G from Google views `/` and `/thank-you` (+60 s: goal 1), then
//!   orders for 120.5 (two items) at +300 s;
//! - visitor H comes directly and views `/signup` (goal 2) and `/` (+30 s);
//! - visitor I comes directly and views `/` only.

use time::macros::datetime;

use crate::common::{Fixture, Visit};

const DAY: &str = "method=Referrers.getReferrerType&idSite=1&period=day&date=2026-11-12";

async fn fixture() -> anyhow::Result<Fixture> {
    let f = Fixture::new().await?;
    {
        let mut conn = f.db.conn()?;
        let root = tally_management::Principal::super_user("test");
        let signup = tally_management::GoalParams {
            revenue: 3.0,
            ..tally_management::GoalParams::new("Signup", "url", "signup", "contains")
        };
        tally_management::add_goal(&mut conn, &root, 1, &signup)?;
        let changes = tally_management::SiteChanges {
            ecommerce: Some(true),
            ..tally_management::SiteChanges::default()
        };
        tally_management::update_site(&mut conn, &root, 1, &changes)?;
    }
    f.track(&[
        Visit {
            idsite: 1,
            visitor: "1111111111111111",
            start: datetime!(2026-11-12 10:00 UTC),
            referrer: "https://www.google.com/search?q=hats",
            hits: &[(0, "/", "Home"), (60, "/thank-you", "Thanks")],
        },
        Visit {
            idsite: 1,
            visitor: "2222222222222222",
            start: datetime!(2026-11-12 11:00 UTC),
            referrer: "",
            hits: &[(0, "/signup", "Signup"), (30, "/", "Home")],
        },
        Visit {
            idsite: 1,
            visitor: "3333333333333333",
            start: datetime!(2026-11-12 12:00 UTC),
            referrer: "",
            hits: &[(0, "/", "Home")],
        },
    ])
    .await?;
    f.track_order(
        "1111111111111111",
        datetime!(2026-11-12 10:05 UTC),
        ("A1", "120.5", r#"[["SKU1","Hat",["Hats"],60.25,2]]"#),
    )
    .await?;
    Ok(f)
}

#[tokio::test(flavor = "multi_thread")]
async fn show_all_goals_without_id_goal_adds_conversion_rates_per_goal() -> anyhow::Result<()> {
    let f = fixture().await?;
    let json = f
        .get(&format!(
            "{DAY}&format=json&filter_update_columns_when_show_all_goals=1"
        ))
        .await?;
    // Conversion rates: 1 of 2 direct visits converted (goal 2), the
    // search visit converted (goals 0 and 1). Revenue per visit sums the
    // integer parts of the goals' revenue, as Matomo's `(int)` does: 3 / 2
    // and (120 + 5) / 1. Goals in the order the rows show them: 2, 0, 1.
    assert_eq!(
        json.text(),
        concat!(
            r#"[{"label":"Direct Entry","nb_uniq_visitors":2,"nb_visits":2,"nb_actions":3,"nb_users":0,"max_actions":2,"sum_visit_length":31,"bounce_count":1,"nb_visits_converted":1,"#,
            r#""goals":{"idgoal=2":{"nb_conversions":1,"nb_visits_converted":1,"revenue":3}},"nb_conversions":1,"revenue":3,"#,
            r#""conversion_rate":"50%","nb_actions_per_visit":1.5,"avg_time_on_site":16,"bounce_rate":"50%","revenue_per_visit":1.5,"#,
            r#""goal_2_conversion_rate":"50%","goal_0_conversion_rate":"0%","goal_1_conversion_rate":"0%","segment":"referrerType==direct","referrer_type":1},"#,
            r#"{"label":"Search Engines","nb_uniq_visitors":1,"nb_visits":1,"nb_actions":2,"nb_users":0,"max_actions":2,"sum_visit_length":303,"bounce_count":0,"nb_visits_converted":1,"#,
            r#""goals":{"idgoal=ecommerceOrder":{"nb_conversions":1,"nb_visits_converted":1,"revenue":120.5,"revenue_subtotal":0,"revenue_tax":0,"revenue_shipping":0,"revenue_discount":0,"items":2},"#,
            r#""idgoal=1":{"nb_conversions":1,"nb_visits_converted":1,"revenue":5}},"nb_conversions":2,"revenue":125.5,"#,
            r#""conversion_rate":"100%","nb_actions_per_visit":2,"avg_time_on_site":303,"bounce_rate":"0%","revenue_per_visit":125,"#,
            r#""goal_2_conversion_rate":"0%","goal_0_conversion_rate":"100%","goal_1_conversion_rate":"100%","segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}]"#
        )
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn one_goal_all_goals_and_the_ecommerce_order() -> anyhow::Result<()> {
    let f = fixture().await?;
    let one = f
        .get(&format!(
            "{DAY}&format=json&filter_update_columns_when_show_all_goals=1&idGoal=1&hideColumns=nb_uniq_visitors,nb_users,max_actions,goals"
        ))
        .await?;
    // The four metrics of goal 1 only; zeros where a row lacks the goal.
    assert_eq!(
        one.text(),
        concat!(
            r#"[{"label":"Direct Entry","nb_visits":2,"nb_actions":3,"sum_visit_length":31,"bounce_count":1,"nb_visits_converted":1,"nb_conversions":1,"revenue":3,"#,
            r#""conversion_rate":"50%","nb_actions_per_visit":1.5,"avg_time_on_site":16,"bounce_rate":"50%","revenue_per_visit":1.5,"#,
            r#""goal_1_conversion_rate":"0%","goal_1_nb_conversions":0,"goal_1_revenue_per_visit":0,"goal_1_revenue":0,"segment":"referrerType==direct","referrer_type":1},"#,
            r#"{"label":"Search Engines","nb_visits":1,"nb_actions":2,"sum_visit_length":303,"bounce_count":0,"nb_visits_converted":1,"nb_conversions":2,"revenue":125.5,"#,
            r#""conversion_rate":"100%","nb_actions_per_visit":2,"avg_time_on_site":303,"bounce_rate":"0%","revenue_per_visit":125,"#,
            r#""goal_1_conversion_rate":"100%","goal_1_nb_conversions":1,"goal_1_revenue_per_visit":5,"goal_1_revenue":5,"segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}]"#
        )
    );
    let all = f
        .get(&format!(
            "{DAY}&format=json&filter_update_columns_when_show_all_goals=1&idGoal=0&filter_limit=1&showColumns=nb_visits,revenue_per_visit,goal_0_revenue,goal_1_nb_conversions,goal_2_conversion_rate"
        ))
        .await?;
    // idGoal=0: the four metrics of every goal (Direct Entry has the most
    // visits and comes first).
    assert_eq!(
        all.text(),
        r#"[{"label":"Direct Entry","nb_visits":2,"revenue_per_visit":1.5,"goal_2_conversion_rate":"50%","goal_0_revenue":0,"goal_1_nb_conversions":0,"segment":"referrerType==direct","referrer_type":1}]"#
    );
    let sales = f
        .get(
            "method=UserCountry.getCountry&idSite=1&period=day&date=2026-11-12&format=xml\
             &filter_update_columns_when_show_all_goals=ecommerceOrder\
             &filter_show_goal_columns_process_goals=ecommerceOrder&idGoal=ecommerceOrder",
        )
        .await?;
    // Matomo's "sales by country" request (its `goals_ecommerce` system
    // test): one row, every visit of an unknown country. 2 of 3 visits
    // converted; revenue per visit (120 + 5 + 3) / 3; the order: 1
    // conversion of 3 visits, 120.5 / 3 per visit, 120.5 per order.
    // (Matomo names the nested goal `ecommerceOrder`, see
    // MATOMO-DIFFERENCES.md.)
    assert_eq!(
        sales.text(),
        "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n\
         <result>\n\
         \t<row>\n\
         \t\t<label>Unknown</label>\n\
         \t\t<nb_uniq_visitors>3</nb_uniq_visitors>\n\
         \t\t<nb_visits>3</nb_visits>\n\
         \t\t<nb_actions>5</nb_actions>\n\
         \t\t<nb_users>0</nb_users>\n\
         \t\t<max_actions>2</max_actions>\n\
         \t\t<sum_visit_length>334</sum_visit_length>\n\
         \t\t<bounce_count>1</bounce_count>\n\
         \t\t<nb_visits_converted>2</nb_visits_converted>\n\
         \t\t<goals>\n\
         \t\t\t<row idgoal='ecommerceOrder'>\n\
         \t\t\t\t<nb_conversions>1</nb_conversions>\n\
         \t\t\t\t<nb_visits_converted>1</nb_visits_converted>\n\
         \t\t\t\t<revenue>120.5</revenue>\n\
         \t\t\t\t<revenue_subtotal>0</revenue_subtotal>\n\
         \t\t\t\t<revenue_tax>0</revenue_tax>\n\
         \t\t\t\t<revenue_shipping>0</revenue_shipping>\n\
         \t\t\t\t<revenue_discount>0</revenue_discount>\n\
         \t\t\t\t<items>2</items>\n\
         \t\t\t</row>\n\
         \t\t\t<row idgoal='1'>\n\
         \t\t\t\t<nb_conversions>1</nb_conversions>\n\
         \t\t\t\t<nb_visits_converted>1</nb_visits_converted>\n\
         \t\t\t\t<revenue>5</revenue>\n\
         \t\t\t</row>\n\
         \t\t\t<row idgoal='2'>\n\
         \t\t\t\t<nb_conversions>1</nb_conversions>\n\
         \t\t\t\t<nb_visits_converted>1</nb_visits_converted>\n\
         \t\t\t\t<revenue>3</revenue>\n\
         \t\t\t</row>\n\
         \t\t</goals>\n\
         \t\t<nb_conversions>3</nb_conversions>\n\
         \t\t<revenue>128.5</revenue>\n\
         \t\t<conversion_rate>66.67%</conversion_rate>\n\
         \t\t<nb_actions_per_visit>1.7</nb_actions_per_visit>\n\
         \t\t<avg_time_on_site>111</avg_time_on_site>\n\
         \t\t<bounce_rate>33%</bounce_rate>\n\
         \t\t<revenue_per_visit>42.67</revenue_per_visit>\n\
         \t\t<goal_ecommerceOrder_conversion_rate>33.33%</goal_ecommerceOrder_conversion_rate>\n\
         \t\t<goal_ecommerceOrder_nb_conversions>1</goal_ecommerceOrder_nb_conversions>\n\
         \t\t<goal_ecommerceOrder_revenue_per_visit>40.17</goal_ecommerceOrder_revenue_per_visit>\n\
         \t\t<goal_ecommerceOrder_revenue>120.5</goal_ecommerceOrder_revenue>\n\
         \t\t<goal_ecommerceOrder_avg_order_revenue>120.5</goal_ecommerceOrder_avg_order_revenue>\n\
         \t\t<goal_ecommerceOrder_items>2</goal_ecommerceOrder_items>\n\
         \t\t<code>xx</code>\n\
         \t\t<logo>plugins/Morpheus/icons/dist/flags/xx.png</logo>\n\
         \t\t<segment>countryCode==xx</segment>\n\
         \t\t<logoHeight>16</logoHeight>\n\
         \t</row>\n\
         </result>"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn show_all_columns_and_formatted_goal_columns() -> anyhow::Result<()> {
    let f = fixture().await?;
    let columns = f
        .get(&format!(
            "{DAY}&format=csv&convertToUnicode=0&filter_add_columns_when_show_all_columns=1&showColumns=nb_visits,conversion_rate,nb_actions_per_visit,avg_time_on_site,bounce_rate"
        ))
        .await?;
    assert_eq!(
        columns.text(),
        "label,nb_visits,conversion_rate,nb_actions_per_visit,avg_time_on_site,bounce_rate,metadata_segment,metadata_referrer_type\n\
         Direct Entry,2,50%,1.5,16,50%,referrerType==direct,1\n\
         Search Engines,1,100%,2,303,0%,referrerType==search,2"
    );
    let formatted = f
        .get(&format!(
            "{DAY}&format=json&format_metrics=all&filter_update_columns_when_show_all_goals=1&idGoal=1&showColumns=revenue,avg_time_on_site,revenue_per_visit,goal_1_conversion_rate,goal_1_revenue"
        ))
        .await?;
    // The filters' metric objects format as Matomo's: the report now has
    // some, so `all` also makes the stored revenue money (sites are in EUR).
    assert_eq!(
        formatted.text(),
        concat!(
            r#"[{"label":"Direct Entry","revenue":"\u20ac3","avg_time_on_site":"16s","revenue_per_visit":"\u20ac1.50","goal_1_conversion_rate":"0%","goal_1_revenue":"\u20ac0","segment":"referrerType==direct","referrer_type":1},"#,
            r#"{"label":"Search Engines","revenue":"\u20ac125.50","avg_time_on_site":"5 min 3s","revenue_per_visit":"\u20ac125","goal_1_conversion_rate":"100%","goal_1_revenue":"\u20ac5","segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}]"#
        )
    );
    // `disable_generic_filters=1` turns the goal-column filters off.
    let disabled = f
        .get(&format!(
            "{DAY}&format=json&disable_generic_filters=1&filter_update_columns_when_show_all_goals=1&showColumns=nb_visits,revenue_per_visit"
        ))
        .await?;
    assert_eq!(
        disabled.text(),
        concat!(
            r#"[{"label":"Direct Entry","nb_visits":2,"segment":"referrerType==direct","referrer_type":1},"#,
            r#"{"label":"Search Engines","nb_visits":1,"segment":"referrerType==search","referrer_type":2,"idsubdatatable":2}]"#
        )
    );
    Ok(())
}
