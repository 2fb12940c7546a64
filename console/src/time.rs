//! Times as the staff member reads them: in the browser's local time zone.

use sspr_protocol::UnixTime;

/// `2026-12-02 14:05`, in the browser's local time.
pub fn local(at: UnixTime) -> String {
    // Unix seconds fit an f64 exactly for millions of years.
    let millis = at as f64 * 1000.0;
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}
