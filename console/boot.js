// Loads the console's WebAssembly. A file of its own (not inline) so the CSP can forbid inline
// scripts. Both URLs are relative to this file, so any path under /console/ loads the same app.
import init from "./sspr-console.js";

init({ module_or_path: new URL("./sspr-console_bg.wasm", import.meta.url) });
