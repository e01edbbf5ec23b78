//! Carts: line items and the totals they must add up to. A `Cart` that exists is valid
//! (parse, don't validate): the only way to get one is `Cart::new`, which checks every rule of
//! the contract and reports all broken rules at once, each naming its JSON path.

use crate::money::Currency;
use crate::FieldError;
use serde::{Deserialize, Serialize};

pub const MAX_ITEMS: usize = 1000;
pub const MAX_TEXT: usize = 255;
/// Tax rates are basis points: 2500 = 25 %.
pub const MAX_TAX_RATE: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    Physical,
    Discount,
    ShippingFee,
    SalesTax,
    Digital,
    GiftCard,
    StoreCredit,
    Surcharge,
}

impl ItemType {
    /// Discounts, gift cards and store credit reduce what is owed, so their amounts are
    /// negative (Klarna's and Kustom's order-line convention); everything else adds to it.
    pub fn reduces_total(self) -> bool {
        matches!(self, Self::Discount | Self::GiftCard | Self::StoreCredit)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    #[serde(rename = "type")]
    pub kind: ItemType,
    pub reference: Option<String>,
    pub name: String,
    pub quantity: i64,
    pub unit_price: i64,
    pub total_amount: i64,
    pub tax_rate: i64,
    pub total_discount_amount: i64,
    pub total_tax_amount: i64,
}

/// What a merchant asked for, before any rule is checked.
#[derive(Debug, Clone)]
pub struct CartInput {
    pub order_amount: i64,
    pub order_tax_amount: Option<i64>,
    pub purchase_currency: String,
    pub items: Vec<LineItem>,
}

/// A cart whose totals, signs and sizes obey the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    order_amount: i64,
    order_tax_amount: i64,
    currency: Currency,
    items: Vec<LineItem>,
}

impl Cart {
    pub fn new(input: CartInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let currency = Currency::parse(&input.purchase_currency)
            .map_err(|e| errors.push(e))
            .ok();
        check_item_count(input.items.len(), &mut errors);
        for (i, item) in input.items.iter().enumerate() {
            check_item(&format!("order_items[{i}]"), item, &mut errors);
        }
        let order_tax_amount = check_totals(&input, &mut errors);
        match (currency, errors.is_empty()) {
            (Some(currency), true) => Ok(Self {
                order_amount: input.order_amount,
                order_tax_amount,
                currency,
                items: input.items,
            }),
            _ => Err(errors),
        }
    }

    pub fn order_amount(&self) -> i64 {
        self.order_amount
    }
    pub fn order_tax_amount(&self) -> i64 {
        self.order_tax_amount
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    pub fn items(&self) -> &[LineItem] {
        &self.items
    }

    /// Rebuilds a cart that was validated when it was stored. Storage is trusted; the
    /// database never holds a cart that did not pass `Cart::new`.
    pub fn from_stored(
        order_amount: i64,
        order_tax_amount: i64,
        currency: Currency,
        items: Vec<LineItem>,
    ) -> Self {
        Self {
            order_amount,
            order_tax_amount,
            currency,
            items,
        }
    }
}

fn check_item_count(n: usize, errors: &mut Vec<FieldError>) {
    if n == 0 || n > MAX_ITEMS {
        errors.push(FieldError::new(
            "order_items",
            format!("must hold 1 to {MAX_ITEMS} items, got {n}"),
        ));
    }
}

fn check_text(path: String, value: &str, required: bool, errors: &mut Vec<FieldError>) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(path, "must not be empty"));
    } else if value.chars().count() > MAX_TEXT {
        errors.push(FieldError::new(
            path,
            format!("must be at most {MAX_TEXT} characters"),
        ));
    }
}

fn check_item(path: &str, item: &LineItem, errors: &mut Vec<FieldError>) {
    let at = |field: &str| format!("{path}.{field}");
    check_text(at("name"), &item.name, true, errors);
    if let Some(reference) = &item.reference {
        check_text(at("reference"), reference, false, errors);
    }
    if item.quantity < 1 {
        errors.push(FieldError::new(at("quantity"), "must be at least 1"));
    }
    if !(0..=MAX_TAX_RATE).contains(&item.tax_rate) {
        errors.push(FieldError::new(
            at("tax_rate"),
            format!("must be between 0 and {MAX_TAX_RATE} basis points"),
        ));
    }
    if item.total_discount_amount < 0 {
        errors.push(FieldError::new(
            at("total_discount_amount"),
            "must not be negative",
        ));
    }
    check_signs(path, item, errors);
    check_item_total(path, item, errors);
}

fn check_signs(path: &str, item: &LineItem, errors: &mut Vec<FieldError>) {
    let negative = item.kind.reduces_total();
    let wrong = |v: i64| if negative { v > 0 } else { v < 0 };
    let expected = if negative {
        "must not be positive for this item type"
    } else {
        "must not be negative for this item type"
    };
    for (field, value) in [
        ("unit_price", item.unit_price),
        ("total_amount", item.total_amount),
        ("total_tax_amount", item.total_tax_amount),
    ] {
        if wrong(value) {
            errors.push(FieldError::new(format!("{path}.{field}"), expected));
        }
    }
    if item.total_tax_amount.unsigned_abs() > item.total_amount.unsigned_abs() {
        errors.push(FieldError::new(
            format!("{path}.total_tax_amount"),
            "must not exceed total_amount in magnitude",
        ));
    }
}

fn check_item_total(path: &str, item: &LineItem, errors: &mut Vec<FieldError>) {
    let expected = item
        .quantity
        .checked_mul(item.unit_price)
        .and_then(|gross| gross.checked_sub(item.total_discount_amount));
    match expected {
        Some(expected) if expected == item.total_amount => {}
        Some(expected) => errors.push(FieldError::new(
            format!("{path}.total_amount"),
            format!(
                "must equal quantity × unit_price − total_discount_amount ({} != {expected})",
                item.total_amount
            ),
        )),
        None => errors.push(FieldError::new(
            format!("{path}.total_amount"),
            "quantity × unit_price is out of range",
        )),
    }
}

/// Checks the cart totals and returns the order tax amount to store (defaulted when absent).
fn check_totals(input: &CartInput, errors: &mut Vec<FieldError>) -> i64 {
    let sum = |f: fn(&LineItem) -> i64| {
        input
            .items
            .iter()
            .try_fold(0i64, |acc, item| acc.checked_add(f(item)))
    };
    let amount_sum = sum(|i| i.total_amount);
    let tax_sum = sum(|i| i.total_tax_amount);
    if input.order_amount <= 0 {
        errors.push(FieldError::new("order_amount", "must be greater than 0"));
    } else if let Some(total) = amount_sum.filter(|t| *t != input.order_amount) {
        errors.push(FieldError::new(
            "order_amount",
            format!(
                "must equal the sum of order_items[].total_amount ({} != {total})",
                input.order_amount
            ),
        ));
    }
    if amount_sum.is_none() || tax_sum.is_none() {
        errors.push(FieldError::new(
            "order_items",
            "amounts add up out of range",
        ));
    }
    let tax_total = tax_sum.unwrap_or(0);
    match input.order_tax_amount {
        Some(tax) if tax < 0 => {
            errors.push(FieldError::new("order_tax_amount", "must not be negative"));
        }
        Some(tax) if tax != tax_total && tax_sum.is_some() => {
            errors.push(FieldError::new(
                "order_tax_amount",
                format!(
                    "must equal the sum of order_items[].total_tax_amount ({tax} != {tax_total})"
                ),
            ));
        }
        _ => {}
    }
    if input.order_tax_amount.is_none() && tax_total < 0 {
        errors.push(FieldError::new(
            "order_items",
            "the sum of total_tax_amount must not be negative",
        ));
    }
    input.order_tax_amount.unwrap_or(tax_total)
}

#[cfg(test)]
#[path = "cart_tests.rs"]
mod tests;
