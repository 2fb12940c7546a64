// Loads the WebAssembly app. A file of its own (not inline) so the CSP can forbid inline scripts.
import init from "./sspr-frontend.js";

// A third-party CAPTCHA widget, when the server is configured for one: loads the provider's
// script (the server's CSP allows its origin then, and only then), renders the widget into
// the element, and resolves with the token. Turnstile, hCaptcha and reCAPTCHA share this API.
const widgets = {
  turnstile: ["https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit", "turnstile"],
  hcaptcha: ["https://js.hcaptcha.com/1/api.js?render=explicit", "hcaptcha"],
  recaptcha: ["https://www.google.com/recaptcha/api.js?render=explicit", "grecaptcha"],
};
window.ssprWidget = (provider, siteKey, elementId) =>
  new Promise((resolve, reject) => {
    const [src, name] = widgets[provider] || [];
    if (!src) return reject(new Error("unknown CAPTCHA provider"));
    const render = () =>
      window[name].render(document.getElementById(elementId), {
        sitekey: siteKey,
        callback: resolve,
        "error-callback": () => reject(new Error("CAPTCHA widget error")),
      });
    const ready = () => (window[name] && window[name].render ? render() : setTimeout(ready, 50));
    if (window[name]) return ready();
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.onload = ready;
    script.onerror = () => reject(new Error("the CAPTCHA provider could not be reached"));
    document.head.appendChild(script);
  });

// Relative to this file, not to the page: any path of the portal loads the same app.
init({ module_or_path: new URL("./sspr-frontend_bg.wasm", import.meta.url) });
