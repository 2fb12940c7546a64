// Each language's texts are a file of their own (the WebAssembly carries none; the build names
// each file by its content). An app asks for a language's through window.ssprTexts, which
// fetches each file at most once. The language the app will most likely start in is asked for
// at once, beside the WebAssembly: only a guess (the app decides, also from a link's ?lang=),
// which saves a round trip before the first page when it is right.
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
try {
  const guess = (localStorage.getItem("sspr-lang") || navigator.language).slice(0, 2).toLowerCase();
  window.ssprTexts(guess in textFiles ? guess : "en").catch(() => {});
} catch {
  // No storage in this browser mode: the app asks for its language itself.
}
