//! The statement builder every query with arguments goes through. It numbers its own
//! placeholders (`$1…`, which both SQLite and PostgreSQL accept through sqlx's `Any` driver)
//! in the order arguments are added, so no `$n` is ever counted by hand and a statement's
//! text and its binding order cannot drift apart.
//!
//! sqlx's own `QueryBuilder` does not fit: over `Any` it writes `?` placeholders, which
//! PostgreSQL rejects.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::Any;

/// A write transaction (see `writer.rs`); the lifetime is kept for the callers' signatures.
pub(crate) type Tx<'a> = super::WriteTx;

/// A value to bind. Nulls keep their type: PostgreSQL infers a parameter's type from what is
/// bound, and a text null where a bigint belongs is an error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_string()))
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Self::Text(v.map(str::to_string))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}

/// A row to write: each column with its value, so a column list and its values come from
/// one place and cannot be put in different orders.
pub(crate) type Columns = Vec<(&'static str, Arg)>;

/// SQL under construction with its arguments, numbered `$1…` in the order they are added.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Adds an argument and returns its placeholder, for text that names it more than once.
    pub fn param(&mut self, arg: impl Into<Arg>) -> String {
        self.args.push(arg.into());
        format!("${}", self.args.len())
    }

    /// Adds an argument and appends its placeholder.
    pub fn bind(&mut self, arg: impl Into<Arg>) -> &mut Self {
        let placeholder = self.param(arg);
        self.push(&placeholder)
    }

    /// Appends ` AND <condition>` where `$?` in `condition` stands for the new argument.
    pub fn and(&mut self, condition: &str, arg: impl Into<Arg>) -> &mut Self {
        let placeholder = self.param(arg);
        self.push(" AND ")
            .push(&condition.replace("$?", &placeholder))
    }

    /// Appends the placeholders of `args`, separated by commas.
    pub fn list(&mut self, args: impl IntoIterator<Item = Arg>) -> &mut Self {
        for (i, arg) in args.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(arg);
        }
        self
    }

    /// Appends `INSERT INTO <table> (<columns>) SELECT <their values>`, for a row that the
    /// `FROM` appended next decides whether to write.
    pub fn insert_select(&mut self, table: &str, row: Columns) -> &mut Self {
        self.push(&format!(
            "INSERT INTO {table} ({}) SELECT ",
            column_list(&row)
        ));
        self.list(row.into_iter().map(|(_, arg)| arg))
    }

    /// Appends `(<columns>) VALUES (<their values>)` for an `INSERT`.
    pub fn values(&mut self, row: Columns) -> &mut Self {
        self.push("(").push(&column_list(&row)).push(") VALUES (");
        self.list(row.into_iter().map(|(_, arg)| arg)).push(")")
    }

    /// The same statement between `before` and `after`, with the same arguments: for the
    /// count and the page of one filter.
    pub fn around(&self, before: &str, after: &str) -> Sql {
        Sql {
            text: format!("{before}{}{after}", self.text),
            args: self.args.clone(),
        }
    }

    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        self.args
            .iter()
            .fold(sqlx::query(&self.text), |q, a| match a {
                Arg::Text(s) => q.bind(s.as_deref()),
                Arg::Int(i) => q.bind(*i),
            })
    }

    pub fn query_as<T>(&self) -> QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow>,
    {
        self.args
            .iter()
            .fold(sqlx::query_as(&self.text), |q, a| match a {
                Arg::Text(s) => q.bind(s.as_deref()),
                Arg::Int(i) => q.bind(*i),
            })
    }
}

/// The names of `row`'s columns, comma-separated.
pub(crate) fn column_list(row: &Columns) -> String {
    let names: Vec<&str> = row.iter().map(|(name, _)| *name).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_order_arguments_are_added() {
        let mut sql = Sql::new("SELECT 1 FROM t WHERE a = ");
        sql.bind("x");
        let again = sql.param(7);
        sql.push(" AND (b = ")
            .push(&again)
            .push(" OR c = ")
            .push(&again)
            .push(")");
        sql.and("d IN ($?)", None::<String>);
        assert_eq!(
            sql.text(),
            "SELECT 1 FROM t WHERE a = $1 AND (b = $2 OR c = $2) AND d IN ($3)"
        );
        assert_eq!(
            sql.args,
            vec![Arg::from("x"), Arg::Int(Some(7)), Arg::Text(None)]
        );
    }

    #[test]
    fn an_insert_names_each_column_beside_its_value() {
        let mut sql = Sql::new("INSERT INTO t ");
        sql.values(vec![("a", Arg::from(1)), ("b", Arg::from("two"))]);
        assert_eq!(sql.text(), "INSERT INTO t (a, b) VALUES ($1, $2)");
    }
}
