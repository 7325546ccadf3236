//! Ecommerce products: items sold and left in abandoned carts by SKU, name
//! and category, with their product page views (MATOMO.md sections 6.3,
//! 6.4 and 7.5; Matomo's `plugins/Goals/RecordBuilders/ProductRecord.php`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tally_datatable::{ColumnKey, Columns, DataTable, Value, metrics};
use tally_schema::IDGOAL_ECOMMERCE_CART;

use crate::ArchiveError;
use crate::builders::goals::money;
use crate::builders::int;
use crate::context::{DayContext, SharedScan};
use crate::grouping::Groups;
use crate::logs::{ActionName, EcommerceItemColumn, ItemGroup, ProductViewGroup, SpecialAction};
use crate::record::{Record, RecordBuilder};

/// [`Ecommerce::ITEMS_SKU`], [`Ecommerce::ITEMS_NAME`],
/// [`Ecommerce::ITEMS_CATEGORY`] (ordered items) and their `_Cart`
/// variants (items of abandoned carts), built for ecommerce sites only.
///
/// Item rows come from `log_conversion_item` (not deleted, by
/// `server_time`), labelled with the item's SKU, name or category action
/// name: column 23 `revenue` (ROUND(SUM(quantity * price), 2)), 24
/// `quantity`, 25 `price` (the sum of item prices; the API divides) and 26
/// `orders` (distinct orders; for carts the visits with the cart). Items
/// with order id `'0'` are cart items, others ordered items. The category
/// reports read all five category columns: an item counts under each of
/// its categories. Product page views (`log_link_visit_action` rows with
/// the matching `idaction_product_*` column) add 2 `nb_visits`, 1
/// `nb_uniq_visitors`, 3 `nb_actions` (views) and `avg_price_viewed` (the
/// average `product_price`, 0 without one, rounded to 2 decimals) to the
/// same label in both the order and the cart table, so a product that was
/// only viewed has a row with view metrics only. An empty label (or
/// `"0"`) is `Value not defined` for the SKU, name and first category; an
/// empty second to fifth category is skipped. Whole amounts are stored as
/// integers. Tables keep [`Ecommerce::max_rows`] rows, sorted by item
/// revenue. Longer periods use the default aggregation: every column is
/// summed, `avg_price_viewed` included (as in Matomo, the sum of the
/// daily averages).
///
/// Differences from Matomo:
/// - Items are grouped by action name, not by action id: two `log_action`
///   rows with the same name make one group (Matomo sums their groups,
///   which differs only in the distinct order count).
/// - Views of an empty second to fifth category are skipped like items;
///   Matomo's view loop means to skip them but tests for `false` where the
///   label is `null`, and adds a row without a label.
/// - Whole revenues, prices and averages are integers, others floats;
///   Matomo keeps floats or the strings MySQL returned (both render as the
///   same numbers).
#[derive(Debug, Clone)]
pub struct Ecommerce {
    /// Rows of each report (`datatable_archiving_maximum_rows_products`,
    /// default 10000).
    pub max_rows: usize,
}

impl Default for Ecommerce {
    fn default() -> Self {
        Self { max_rows: 10_000 }
    }
}

impl Ecommerce {
    /// Ordered items by SKU.
    pub const ITEMS_SKU: &'static str = "Goals_ItemsSku";
    /// Abandoned-cart items by SKU.
    pub const ITEMS_SKU_CART: &'static str = "Goals_ItemsSku_Cart";
    /// Ordered items by name.
    pub const ITEMS_NAME: &'static str = "Goals_ItemsName";
    /// Abandoned-cart items by name.
    pub const ITEMS_NAME_CART: &'static str = "Goals_ItemsName_Cart";
    /// Ordered items by category (all five category columns).
    pub const ITEMS_CATEGORY: &'static str = "Goals_ItemsCategory";
    /// Abandoned-cart items by category.
    pub const ITEMS_CATEGORY_CART: &'static str = "Goals_ItemsCategory_Cart";
}

/// Each order record, its cart record and the item columns it reads (the
/// first one is the report's own dimension).
const REPORTS: [(&str, &str, &[EcommerceItemColumn]); 3] = [
    (
        Ecommerce::ITEMS_SKU,
        Ecommerce::ITEMS_SKU_CART,
        &[EcommerceItemColumn::Sku],
    ),
    (
        Ecommerce::ITEMS_NAME,
        Ecommerce::ITEMS_NAME_CART,
        &[EcommerceItemColumn::Name],
    ),
    (
        Ecommerce::ITEMS_CATEGORY,
        Ecommerce::ITEMS_CATEGORY_CART,
        &[
            EcommerceItemColumn::Category,
            EcommerceItemColumn::Category2,
            EcommerceItemColumn::Category3,
            EcommerceItemColumn::Category4,
            EcommerceItemColumn::Category5,
        ],
    ),
];

/// The label of an item without a value in the report's own dimension.
const NOT_DEFINED: &str = "Value not defined";

/// The sort column before truncation: item revenue (id 23).
const SORT_BY_ITEM_REVENUE: &str = "23";

/// The row label of an item or view, `None` for an empty additional
/// category (PHP's `empty()`: NULL, `""` and `"0"`).
fn row_label(label: Option<&str>, own_dimension: bool) -> Option<&str> {
    match label {
        Some(label) if !label.is_empty() && label != "0" => Some(label),
        _ if own_dimension => Some(NOT_DEFINED),
        _ => None,
    }
}

fn item_columns(item: &ItemGroup) -> Columns {
    let mut columns = Columns::new();
    for (id, value) in [
        (metrics::ECOMMERCE_ITEM_REVENUE, money(item.revenue).into()),
        (metrics::ECOMMERCE_ITEM_QUANTITY, int(item.quantity)),
        (metrics::ECOMMERCE_ITEM_PRICE, money(item.price).into()),
        (metrics::ECOMMERCE_ORDERS, int(item.orders)),
    ] {
        columns.set(ColumnKey::Id(id), value);
    }
    columns
}

/// The view columns, in Matomo's select order (2, 1, 3, then the average
/// price under its name: it has no metric id).
fn view_columns(view: &ProductViewGroup) -> Columns {
    let average = view.avg_price.unwrap_or(0.0);
    let average = (average * 100.0).round() / 100.0;
    let mut columns = Columns::new();
    columns.set(ColumnKey::Id(metrics::NB_VISITS), int(view.nb_visits));
    columns.set(
        ColumnKey::Id(metrics::NB_UNIQ_VISITORS),
        int(view.nb_uniq_visitors),
    );
    columns.set(ColumnKey::Id(metrics::NB_ACTIONS), int(view.nb_actions));
    columns.set(
        ColumnKey::from("avg_price_viewed"),
        Value::from(money(average)),
    );
    columns
}

/// The views of one product group: distinct visits and visitors, views,
/// and the prices for `AVG(product_price)` (NULL prices skipped).
#[derive(Debug, Default)]
struct ViewAccumulator {
    visits: HashSet<u64>,
    visitors: HashSet<u64>,
    views: u64,
    price_sum: f64,
    priced: u64,
}

/// `query_product_views` over the scanned views: grouped by the name of
/// the action in `column` (NULL when it has no `log_action` row), in
/// `GROUP BY` order.
fn group_product_views(
    views: &[SpecialAction],
    names: &HashMap<u32, Arc<ActionName>>,
    column: EcommerceItemColumn,
) -> Vec<ProductViewGroup> {
    let mut groups: Groups<ViewAccumulator> = Groups::default();
    for view in views {
        let Some(id) = view.product(column) else {
            continue;
        };
        let name = names.get(&id).map(|action| action.name.as_str());
        if let Some(group) = groups.entry(|key| {
            key.push(name);
            true
        }) {
            group.visits.insert(view.idvisit);
            group.visitors.insert(view.idvisitor);
            group.views += 1;
            if let Some(price) = view.price {
                group.price_sum += price;
                group.priced += 1;
            }
        }
    }
    groups
        .into_sorted()
        .into_iter()
        .map(|(mut labels, group)| ProductViewGroup {
            label: labels.pop().flatten(),
            nb_visits: group.visits.len() as u64,
            nb_uniq_visitors: group.visitors.len() as u64,
            nb_actions: group.views,
            avg_price: (group.priced > 0).then(|| group.price_sum / group.priced as f64),
        })
        .collect()
}

impl RecordBuilder for Ecommerce {
    fn plugin(&self) -> &str {
        "Goals"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::SpecialActions]
    }

    fn records(&self) -> Vec<Record> {
        REPORTS
            .iter()
            .flat_map(|(orders, carts, _)| [*orders, *carts])
            .map(|name| {
                Record::blob(name)
                    .max_rows(self.max_rows, self.max_rows)
                    .sort_by(SORT_BY_ITEM_REVENUE)
            })
            .collect()
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        if !ctx.site().ecommerce {
            return Ok(());
        }
        let logs = ctx.logs();
        // Product views: from the shared scan of special actions, for the
        // seven product columns, grouped in memory by product name.
        let views = ctx.special_actions()?;
        let names = ctx.action_names(
            views
                .iter()
                .flat_map(|view| view.products.iter().flatten().copied()),
        )?;
        for (orders_name, carts_name, columns) in REPORTS {
            let (mut orders, mut carts) = (DataTable::new(), DataTable::new());
            for (position, column) in columns.iter().enumerate() {
                let own_dimension = position == 0;
                for item in logs.query_ecommerce_items(ctx.conn(), *column)? {
                    let Some(label) = row_label(item.label.as_deref(), own_dimension) else {
                        continue;
                    };
                    let table = if item.idgoal == IDGOAL_ECOMMERCE_CART {
                        &mut carts
                    } else {
                        &mut orders
                    };
                    table.sum_row_with_label(label, item_columns(&item))?;
                }
                for view in group_product_views(&views, &names, *column) {
                    let Some(label) = row_label(view.label.as_deref(), own_dimension) else {
                        continue;
                    };
                    let columns = view_columns(&view);
                    orders.sum_row_with_label(label, columns.clone())?;
                    carts.sum_row_with_label(label, columns)?;
                }
            }
            for (name, table) in [(orders_name, orders), (carts_name, carts)] {
                if table.rows_count() > 0 {
                    ctx.insert_table(name, table);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_labels() {
        assert_eq!(row_label(Some("Shoes"), false), Some("Shoes"));
        assert_eq!(row_label(None, true), Some(NOT_DEFINED));
        assert_eq!(row_label(Some("0"), true), Some(NOT_DEFINED));
        assert_eq!(row_label(Some(""), false), None);
    }
}
