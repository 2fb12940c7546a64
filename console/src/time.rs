//! Times as the staff member reads them: in the browser's local time zone.

use sspr_protocol::UnixTime;

fn date(at: UnixTime) -> js_sys::Date {
    // Unix seconds fit an f64 exactly for millions of years.
    let millis = at as f64 * 1000.0;
    js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis))
}

/// `2026-12-02 14:05`, in the browser's local time.
pub fn local(at: UnixTime) -> String {
    let date = date(at);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// `14:05`, in the browser's local time: for moments later today.
pub fn clock(at: UnixTime) -> String {
    let date = date(at);
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}
