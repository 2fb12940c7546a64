// Loads the WebAssembly app. A file of its own (not inline) so the CSP can forbid inline scripts.
import init from "./sspr-frontend.js";

init({ module_or_path: "./sspr-frontend_bg.wasm" });
