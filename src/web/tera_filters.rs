//! The templates' own filters: `decimals` prints a score as every page prints it, with two
//! decimals ("0.90", not Tera's `round`'s "0.9"), so a list's badges line up and read alike;
//! `percent` prints a share as a whole percentage ("41%").

use std::collections::HashMap;

use rocket_dyn_templates::tera::{self, Value};

/// Registers the filters with the templates' Tera.
pub(crate) fn register(tera: &mut tera::Tera) {
    tera.register_filter("decimals", decimals);
    tera.register_filter("percent", percent);
}

/// `{{ x | percent }}`: the share `x` (0 to 1) as a whole percentage; a value that is not a
/// number is refused.
fn percent(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    match value.as_f64() {
        Some(x) => Ok(Value::String(format!("{:.0}%", x * 100.0))),
        None => Err(tera::Error::msg(format!(
            "percent: expected a number, got {value}"
        ))),
    }
}

/// `{{ x | decimals }}`: `x` with two decimals; a value that is not a number is refused.
fn decimals(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    match value.as_f64() {
        Some(x) => Ok(Value::String(format!("{x:.2}"))),
        None => Err(tera::Error::msg(format!(
            "decimals: expected a number, got {value}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_with_two_decimals() {
        let none = HashMap::new();
        let f = |x: Value| decimals(&x, &none).unwrap();
        assert_eq!(f(0.9.into()), Value::String("0.90".into()));
        assert_eq!(f(0.123_456.into()), Value::String("0.12".into()));
        assert_eq!(f(1.into()), Value::String("1.00".into()));
        assert!(decimals(&Value::String("x".into()), &none).is_err());
    }

    #[test]
    fn shares_print_as_whole_percentages() {
        let none = HashMap::new();
        let f = |x: Value| percent(&x, &none).unwrap();
        assert_eq!(f(0.4123.into()), Value::String("41%".into()));
        assert_eq!(f(1.into()), Value::String("100%".into()));
        assert!(percent(&Value::String("x".into()), &none).is_err());
    }
}
