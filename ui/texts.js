// Each language's texts are a file of their own (the WebAssembly carries none; the build names
// each file by its content). An app asks for a language's through window.ssprTexts, which
// fetches each file at most once. The language the app will most likely start in is asked for
// at once, beside the WebAssembly: a link's ?lang=, else the one chosen on this device, else the
// browser's. Only a guess (the app decides), which saves a round trip before the first page.
// Put in front of each app's boot.js by scripts/build-frontend.sh.
const textFiles = { en: "./texts-en.json", nl: "./texts-nl.json" };
const textsAsked = {};
window.ssprTexts = (lang) =>
  (textsAsked[lang] ??= fetch(new URL(textFiles[lang], import.meta.url))
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`texts: HTTP ${r.status}`))))
    .catch((e) => {
      delete textsAsked[lang];
      throw e;
    }));
let chosen = null;
try {
  chosen = localStorage.getItem("sspr-lang");
} catch {
  // No storage in this browser mode.
}
const guess = (new URLSearchParams(location.search).get("lang") || chosen || navigator.language || "")
  .slice(0, 2)
  .toLowerCase();
window.ssprTexts(Object.hasOwn(textFiles, guess) ? guess : "en").catch(() => {});
