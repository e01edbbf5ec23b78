//! Stripe's request-body encoding: `application/x-www-form-urlencoded` with bracket
//! notation for lists (`payment_method_types[]=card_present`) and maps or nested objects
//! (`metadata[kassa_session_id]=…`, `address[line1]=…`).
//!
//! The builder keeps the `(key, value)` pairs in insertion order so tests can compare
//! them exactly, and encodes once at the end with `form_urlencoded`.

/// An ordered list of form fields for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `key=value`.
    pub(crate) fn field(mut self, key: &str, value: impl ToString) -> Self {
        self.pairs.push((key.to_owned(), value.to_string()));
        self
    }

    /// `key=value` when there is a value; Stripe treats an absent field as "unchanged" or
    /// "default", which an empty string would not be (it unsets some fields).
    pub(crate) fn opt(self, key: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.field(key, value),
            None => self,
        }
    }

    /// `key[]=v` once per value.
    pub(crate) fn list<I>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        for value in values {
            self.pairs.push((format!("{key}[]"), value.to_string()));
        }
        self
    }

    /// `key[sub]=value`: one field of a nested object.
    pub(crate) fn nested(mut self, key: &str, sub: &str, value: impl ToString) -> Self {
        self.pairs
            .push((format!("{key}[{sub}]"), value.to_string()));
        self
    }

    /// `key[sub]=value` when there is a value.
    pub(crate) fn nested_opt(self, key: &str, sub: &str, value: Option<impl ToString>) -> Self {
        match value {
            Some(value) => self.nested(key, sub, value),
            None => self,
        }
    }

    /// `key[k]=v` for each entry (metadata). An empty map sends nothing: sending
    /// `metadata=` would instead clear the object's existing metadata.
    pub(crate) fn map<'a, I>(self, key: &str, entries: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        entries
            .into_iter()
            .fold(self, |form, (k, v)| form.nested(key, k, v))
    }

    #[cfg(test)]
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The percent-encoded body (brackets are encoded too, as Stripe's own libraries do).
    pub(crate) fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.pairs)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scalar_list_map_and_nested_fields_use_bracket_notation() {
        let form = Form::new()
            .field("amount", 1099)
            .field("currency", "eur")
            .list("payment_method_types", ["card_present"])
            .map("metadata", [("kassa_session_id", "ses_1"), ("till", "2")])
            .nested("address", "line1", "Main St 1")
            .nested_opt("address", "line2", None::<&str>)
            .opt("description", Some("Coffee"))
            .opt("statement_descriptor", None::<&str>);
        assert_eq!(
            form.pairs(),
            pairs(&[
                ("amount", "1099"),
                ("currency", "eur"),
                ("payment_method_types[]", "card_present"),
                ("metadata[kassa_session_id]", "ses_1"),
                ("metadata[till]", "2"),
                ("address[line1]", "Main St 1"),
                ("description", "Coffee"),
            ])
            .as_slice()
        );
    }

    #[test]
    fn encoding_escapes_brackets_spaces_and_reserved_characters() {
        let form = Form::new()
            .field("amount", 100)
            .list("payment_method_types", ["card_present"])
            .map("metadata", [("note", "a&b=c d/é")]);
        assert_eq!(
            form.encode(),
            "amount=100&payment_method_types%5B%5D=card_present&metadata%5Bnote%5D=a%26b%3Dc+d%2F%C3%A9"
        );
    }

    #[test]
    fn encoding_round_trips_through_a_form_parser() {
        let form = Form::new()
            .nested("address", "city", "Zürich")
            .field("label", "Till #1 + 2");
        let decoded: Vec<(String, String)> = form_urlencoded::parse(form.encode().as_bytes())
            .into_owned()
            .collect();
        assert_eq!(decoded, form.pairs());
    }

    #[test]
    fn empty_form_encodes_to_nothing() {
        let form = Form::new()
            .map("metadata", [])
            .list("x", Vec::<String>::new());
        assert!(form.is_empty());
        assert_eq!(form.encode(), "");
    }
}
