use super::*;

pub(crate) fn item(name: &str, quantity: i64, unit_price: i64) -> LineItem {
    LineItem {
        kind: ItemType::Physical,
        reference: None,
        name: name.into(),
        quantity,
        unit_price,
        total_amount: quantity * unit_price,
        tax_rate: 2500,
        total_discount_amount: 0,
        total_tax_amount: quantity * unit_price / 5,
    }
}

fn input(items: Vec<LineItem>) -> CartInput {
    CartInput {
        order_amount: items.iter().map(|i| i.total_amount).sum(),
        order_tax_amount: None,
        purchase_currency: "SEK".into(),
        items,
    }
}

fn paths(result: Result<Cart, Vec<FieldError>>) -> Vec<String> {
    result.unwrap_err().into_iter().map(|e| e.path).collect()
}

#[test]
fn a_consistent_cart_is_accepted_and_tax_defaults_to_the_sum() {
    let cart = Cart::new(input(vec![item("Coffee", 2, 3500), item("Bun", 1, 2500)])).unwrap();
    assert_eq!(cart.order_amount(), 9500);
    assert_eq!(cart.order_tax_amount(), 1400 + 500);
    assert_eq!(cart.currency().code(), "SEK");
}

#[test]
fn order_amount_must_match_the_items_with_both_numbers_in_the_message() {
    let mut i = input(vec![item("A", 1, 239000)]);
    i.order_amount = 240000;
    let errs = Cart::new(i).unwrap_err();
    assert_eq!(errs[0].path, "order_amount");
    assert!(
        errs[0].message.contains("(240000 != 239000)"),
        "{}",
        errs[0]
    );
}

#[test]
fn order_amount_must_be_positive() {
    let mut i = input(vec![item("A", 1, 0)]);
    i.order_amount = 0;
    assert_eq!(paths(Cart::new(i)), ["order_amount"]);
}

#[test]
fn given_order_tax_must_match() {
    let mut i = input(vec![item("A", 1, 1000)]);
    i.order_tax_amount = Some(201);
    assert_eq!(paths(Cart::new(i)), ["order_tax_amount"]);
    let mut ok = input(vec![item("A", 1, 1000)]);
    ok.order_tax_amount = Some(200);
    assert!(Cart::new(ok).is_ok());
}

#[test]
fn unknown_currency_is_rejected() {
    let mut i = input(vec![item("A", 1, 1000)]);
    i.purchase_currency = "ABC".into();
    assert_eq!(paths(Cart::new(i)), ["purchase_currency"]);
}

#[test]
fn item_count_is_bounded() {
    assert_eq!(
        paths(Cart::new(input(vec![]))),
        ["order_items", "order_amount"]
    );
    let many = (0..1001).map(|_| item("x", 1, 1)).collect();
    assert_eq!(paths(Cart::new(input(many))), ["order_items"]);
    let max = (0..1000).map(|_| item("x", 1, 1)).collect();
    assert!(Cart::new(input(max)).is_ok());
}

#[test]
fn each_item_rule_names_its_path() {
    type Case = (fn(&mut LineItem), &'static str);
    let cases: Vec<Case> = vec![
        (|i| i.name = "".into(), "order_items[1].name"),
        (|i| i.name = "n".repeat(256), "order_items[1].name"),
        (
            |i| i.reference = Some("r".repeat(256)),
            "order_items[1].reference",
        ),
        (|i| i.tax_rate = 10_001, "order_items[1].tax_rate"),
        (|i| i.tax_rate = -1, "order_items[1].tax_rate"),
        (|i| i.total_amount += 1, "order_items[1].total_amount"),
    ];
    for (mutate, path) in cases {
        let mut bad = item("B", 1, 1000);
        mutate(&mut bad);
        let mut i = input(vec![item("A", 1, 1000), bad]);
        i.order_amount = i.items.iter().map(|i| i.total_amount).sum();
        assert!(paths(Cart::new(i)).contains(&path.to_string()), "{path}");
    }
}

#[test]
fn quantity_must_be_at_least_one() {
    let mut bad = item("B", 1, 1000);
    bad.quantity = 0;
    bad.total_amount = 0;
    bad.total_tax_amount = 0;
    let mut i = input(vec![item("A", 1, 1000), bad]);
    i.order_amount = 1000;
    assert_eq!(paths(Cart::new(i)), ["order_items[1].quantity"]);
}

#[test]
fn discounts_are_negative_and_subtract() {
    let mut discount = item("Member discount", 1, -500);
    discount.kind = ItemType::Discount;
    discount.total_tax_amount = -100;
    let cart = Cart::new(input(vec![item("A", 1, 1000), discount.clone()])).unwrap();
    assert_eq!(cart.order_amount(), 500);
    assert_eq!(cart.order_tax_amount(), 100);

    discount.unit_price = 500;
    discount.total_amount = 500;
    discount.total_tax_amount = 100;
    let errs = paths(Cart::new(input(vec![item("A", 1, 1000), discount])));
    assert!(errs.contains(&"order_items[1].unit_price".to_string()));
}

#[test]
fn positive_items_cannot_be_negative() {
    let bad = item("A", 1, -100);
    let mut i = input(vec![item("B", 1, 1000), bad]);
    i.order_amount = 900;
    assert!(paths(Cart::new(i)).contains(&"order_items[1].unit_price".to_string()));
}

#[test]
fn line_discount_is_subtracted_from_the_line_total() {
    let mut line = item("A", 3, 1000);
    line.total_discount_amount = 500;
    line.total_amount = 2500;
    line.total_tax_amount = 500;
    assert!(Cart::new(input(vec![line.clone()])).is_ok());
    line.total_discount_amount = -1;
    line.total_amount = 3001;
    assert!(paths(Cart::new(input(vec![line])))
        .contains(&"order_items[0].total_discount_amount".into()));
}

#[test]
fn overflow_is_a_field_error_not_a_panic() {
    let mut big = item("A", 1, 1);
    big.quantity = i64::MAX;
    big.unit_price = 2;
    big.total_amount = 1;
    big.total_tax_amount = 0;
    assert!(paths(Cart::new(input(vec![big]))).contains(&"order_items[0].total_amount".into()));
    let huge = vec![
        item("A", 1, i64::MAX / 2 + 1),
        item("B", 1, i64::MAX / 2 + 1),
    ];
    let mut i = input(vec![]);
    i.items = huge;
    i.order_amount = 1;
    assert!(paths(Cart::new(i)).contains(&"order_items".into()));
}

#[test]
fn tax_cannot_exceed_the_line_amount() {
    let mut line = item("A", 1, 1000);
    line.total_tax_amount = 1001;
    assert!(paths(Cart::new(input(vec![line]))).contains(&"order_items[0].total_tax_amount".into()));
}
