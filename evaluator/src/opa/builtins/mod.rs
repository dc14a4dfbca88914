//! The Rego builtins the host implements, for policies whose `builtins()` export lists them
//! (OPA's Wasm runtime implements the others itself). One module per family; each builtin takes
//! its arguments as JSON (sets arrive as arrays) and returns its result or why it failed.

mod args;
mod debug;
mod encoding;
mod glob;
mod json;
mod numbers;
mod regex;
mod semver;
mod strings;
mod time;
mod units;

use serde_json::Value;

/// A builtin: its arguments, its result or why it failed.
pub(crate) type Builtin = fn(&[Value]) -> Result<Value, String>;

/// Every builtin the host implements, by name (sorted).
const BUILTINS: [(&str, Builtin); 66] = [
    ("base64.decode", encoding::base64_decode),
    ("base64.encode", encoding::base64_encode),
    ("base64.is_valid", encoding::base64_is_valid),
    ("base64url.decode", encoding::base64url_decode),
    ("base64url.encode", encoding::base64url_encode),
    ("base64url.encode_no_pad", encoding::base64url_encode_no_pad),
    ("concat", strings::concat),
    ("contains", strings::contains),
    ("endswith", strings::endswith),
    ("format_int", strings::format_int),
    ("glob.match", glob::is_match),
    ("glob.quote_meta", glob::quote_meta),
    ("hex.decode", encoding::hex_decode),
    ("hex.encode", encoding::hex_encode),
    ("indexof", strings::indexof),
    ("indexof_n", strings::indexof_n),
    ("internal.print", debug::print),
    ("json.is_valid", json::is_valid),
    ("json.marshal", json::marshal),
    ("json.patch", json::patch),
    ("json.unmarshal", json::unmarshal),
    ("lower", strings::lower),
    ("numbers.range_step", numbers::range_step),
    ("re_match", regex::is_match),
    (
        "regex.find_all_string_submatch_n",
        regex::find_all_string_submatch_n,
    ),
    ("regex.find_n", regex::find_n),
    ("regex.is_valid", regex::is_valid),
    ("regex.match", regex::is_match),
    ("regex.replace", regex::replace),
    ("regex.split", regex::split),
    ("replace", strings::replace),
    ("semver.compare", semver::compare),
    ("semver.is_valid", semver::is_valid),
    ("split", strings::split),
    ("sprintf", strings::sprintf),
    ("startswith", strings::startswith),
    ("strings.any_prefix_match", strings::any_prefix_match),
    ("strings.any_suffix_match", strings::any_suffix_match),
    ("strings.replace_n", strings::replace_n),
    ("strings.reverse", strings::reverse),
    ("substring", strings::substring),
    ("time.add_date", time::add_date),
    ("time.clock", time::clock),
    ("time.date", time::date),
    ("time.now_ns", time::now_ns),
    ("time.parse_duration_ns", time::parse_duration_ns),
    ("time.parse_ns", time::parse_ns),
    ("time.parse_rfc3339_ns", time::parse_rfc3339_ns),
    ("time.weekday", time::weekday),
    ("trace", debug::trace),
    ("trim", strings::trim),
    ("trim_left", strings::trim_left),
    ("trim_prefix", strings::trim_prefix),
    ("trim_right", strings::trim_right),
    ("trim_space", strings::trim_space),
    ("trim_suffix", strings::trim_suffix),
    ("units.parse", units::parse),
    ("units.parse_bytes", units::parse_bytes),
    ("upper", strings::upper),
    ("urlquery.decode", encoding::urlquery_decode),
    ("urlquery.decode_object", encoding::urlquery_decode_object),
    ("urlquery.encode", encoding::urlquery_encode),
    ("urlquery.encode_object", encoding::urlquery_encode_object),
    ("yaml.is_valid", json::yaml_is_valid),
    ("yaml.marshal", json::yaml_marshal),
    ("yaml.unmarshal", json::yaml_unmarshal),
];

/// The implementation of the builtin `name`, if the host has one.
pub(crate) fn lookup(name: &str) -> Option<Builtin> {
    BUILTINS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, builtin)| *builtin)
}

/// The names of the builtins the host implements (`palisade info` lists them, as `kwctl info` does).
pub fn implemented_builtins() -> Vec<&'static str> {
    BUILTINS.iter().map(|(name, _)| *name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_of_builtins_is_sorted_without_repeats() {
        let names = implemented_builtins();
        assert!(names.windows(2).all(|pair| pair[0] < pair[1]), "{names:?}");
        assert!(names.contains(&"sprintf") && names.contains(&"re_match"));
    }

    #[test]
    fn every_listed_name_has_an_implementation_and_others_none() {
        for name in [
            "sprintf",
            "regex.match",
            "units.parse",
            "time.add_date",
            "glob.match",
        ] {
            assert!(lookup(name).is_some(), "{name}");
        }
        assert!(lookup("http.send").is_none());
    }
}
