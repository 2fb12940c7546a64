// Trims what wasm-bindgen leaves between an app's JS glue and its WebAssembly, which no page
// uses and every visitor downloads:
//
// 1. The stream classes Leptos's server-function client brings (wasm-streams exports
//    `IntoUnderlyingSource` & co. to JS; the apps never call a server function). Their JS
//    is removed, their exports dropped from the module with wasm-metadce, and so is whatever
//    only they reached, imports included.
// 2. The names the two files call each other by: wasm-bindgen gives every import a 16-digit
//    hash (`__wbg_addEventListener_847fd86b8c33ec43`), written once in each file, where
//    brotli cannot shorten it. wasm-opt renames imports, exports and the module to a few
//    letters and prints the mapping, which is applied to the glue here.
// 3. Custom sections (the producers, Leptos's split marker): read by tools, not by browsers.
//    The target features stay for wasm-opt, which reads them; its last round drops them.
//
// Written against the glue of wasm-bindgen 0.2.130 (pinned in Cargo.lock and scripts/setup.sh);
// every assumption about its shape is checked, and the build fails rather than ship glue that
// names something the module no longer has.
//
// Usage: node scripts/trim-bindings.mjs <dir> <crate>   (run before minifying the glue)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Thrown, not exited on: the work directory is removed on the way out.
class Refusal extends Error {}
function fail(message) {
  throw new Refusal(`trim-bindings: ${message}`);
}

const [dir, crate] = process.argv.slice(2);
if (!dir || !crate) fail("usage: trim-bindings.mjs <dir> <crate>");
const gluePath = join(dir, `${crate}.js`);
const wasmPath = join(dir, `${crate}_bg.wasm`);
const moduleName = `./${crate}_bg.js`;
let glue = readFileSync(gluePath, "utf8");

function tool(name, args) {
  return execFileSync(name, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 26 });
}

// The module as it is on disk now (node reads its imports and exports).
function compiled() {
  return new WebAssembly.Module(readFileSync(wasmPath));
}

// --- 1. The stream classes ---------------------------------------------------------------
const streamClasses = ["IntoUnderlyingByteSource", "IntoUnderlyingSink", "IntoUnderlyingSource"];
const isStreamExport = (name) => /^(__wbg_)?intounderlying/.test(name);

// The glue's top-level statements start in the first column; a class, function or object
// ends with a line that starts with `}`, and a conditional expression goes on indented.
const statements = [];
for (const line of glue.split("\n")) {
  const starts = /^[^\s}]/.test(line);
  if (starts || statements.length === 0) statements.push([line]);
  else statements[statements.length - 1].push(line);
}
const declaresStreamCode = (text) =>
  streamClasses.some(
    (c) =>
      text.startsWith(`export class ${c} `) ||
      text.startsWith(`if (Symbol.dispose) ${c}.`) ||
      text.startsWith(`const ${c}Finalization `),
  ) || text.startsWith("const __wbindgen_enum_ReadableStreamType ");
const kept = statements.filter((s) => !declaresStreamCode(s.join("\n")));
const dropped = statements.length - kept.length;
if (dropped !== streamClasses.length * 3 + 1) {
  fail(`expected ${streamClasses.length * 3 + 1} statements of stream code in ${gluePath}, found ${dropped}`);
}
glue = kept.map((s) => s.join("\n")).join("\n");
for (const name of [...streamClasses, "intounderlying", "ReadableStreamType"]) {
  if (glue.includes(name)) fail(`${gluePath} still names ${name} after its classes were removed`);
}

// Every import the glue offers, as it offers them: `        <name>: function(…) {` … `        },`,
// or, for one whose exceptions are caught, … `        }, arguments); },`.
const imports = new Map(); // name -> [first line, last line] in `lines`
let lines = glue.split("\n");
for (let i = 0; i < lines.length; i++) {
  const m = /^ {8}([A-Za-z0-9_$]+): function\(/.exec(lines[i]);
  if (!m) continue;
  const end = lines.findIndex((l, j) => j > i && /^ {8}\}(, arguments\); \})?,$/.test(l));
  if (end < 0) fail(`the import ${m[1]} in ${gluePath} has no end`);
  imports.set(m[1], [i, end]);
}
if (imports.size === 0) fail(`no imports found in ${gluePath}`);

// The module's exports and imports, as wasm-metadce's graph: the exports the glue calls are
// the roots; whatever nothing reaches is removed and reported as unused.
const work = mkdtempSync(join(tmpdir(), "trim-bindings-"));
try {
  const module = compiled();
  const exported = WebAssembly.Module.exports(module).map((e) => e.name);
  const importedByModule = WebAssembly.Module.imports(module).map((i) => [i.module, i.name]);
  // The glue's calls into the module: everything else the module exports is unused.
  const called = new Set([...glue.matchAll(/\bwasm\.([A-Za-z0-9_$]+)/g)].map((m) => m[1]));
  for (const name of called) {
    if (!exported.includes(name)) fail(`the glue calls wasm.${name}, which ${wasmPath} does not export`);
  }
  if (!exported.some(isStreamExport)) fail(`${wasmPath} exports no stream classes: is this still needed?`);
  const graph = [
    { name: "root", root: true, reaches: [...called].map((e) => `export:${e}`) },
    ...exported.map((e) => ({ name: `export:${e}`, export: e })),
    ...importedByModule.map(([m, f]) => ({ name: `import:${f}`, import: [m, f] })),
  ];
  const graphPath = join(work, "graph.json");
  writeFileSync(graphPath, JSON.stringify(graph));
  const report = tool("wasm-metadce", ["--graph-file", graphPath, wasmPath, "-o", wasmPath]);
  const unused = [...report.matchAll(/^unused: (\S+)$/gm)].map((m) => m[1]);
  // The glue's functions for imports the module no longer has.
  const unusedImports = new Set(unused.filter((n) => n.startsWith("import:")).map((n) => n.slice(7)));
  const removed = new Set();
  for (const [name, [first, last]] of imports) {
    if (!unusedImports.has(name)) continue;
    for (let i = first; i <= last; i++) removed.add(i);
  }
  lines = lines.filter((_, i) => !removed.has(i));
  glue = lines.join("\n");

  // --- 2. Short names --------------------------------------------------------------------
  const mapping = JSON.parse(tool("wasm-opt", [wasmPath, "--minify-imports-and-exports-and-modules", "-o", wasmPath]));
  const short = new Map();
  for (const [module, from, to] of mapping.imports) {
    if (module !== moduleName) fail(`${wasmPath} imports from ${module}, not ${moduleName}`);
    short.set(from, to);
  }
  // The module's name is minified too: read it back from the module.
  const newModules = new Set(WebAssembly.Module.imports(compiled()).map((i) => i.module));
  if (newModules.size !== 1) fail(`${wasmPath} imports from ${newModules.size} modules, not one`);
  const [newModule] = newModules;

  glue = glue.replace(/^ {8}([A-Za-z0-9_$]+): function\(/gm, (whole, name) => {
    const to = short.get(name);
    if (to === undefined) fail(`the glue offers ${name}, which ${wasmPath} does not import`);
    short.delete(name);
    return `        ${to}: function(`;
  });
  if (short.size > 0) fail(`${wasmPath} imports what the glue does not offer: ${[...short.keys()].join(", ")}`);
  const quoted = JSON.stringify(moduleName);
  if (glue.split(quoted).length !== 2) fail(`expected ${quoted} once in ${gluePath}`);
  glue = glue.replace(quoted, () => JSON.stringify(newModule));

  const exportsRenamed = new Map(mapping.exports);
  glue = glue.replace(/\bwasm\.([A-Za-z0-9_$]+)/g, (whole, name) => {
    const to = exportsRenamed.get(name);
    if (to === undefined) fail(`the glue calls wasm.${name}, which ${wasmPath} does not export`);
    return `wasm.${to}`;
  });
  writeFileSync(gluePath, glue);

  // --- 3. Custom sections ----------------------------------------------------------------
  writeFileSync(wasmPath, withoutCustomSections(readFileSync(wasmPath)));
} catch (e) {
  if (!(e instanceof Refusal)) throw e;
  console.error(e.message);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}

// The module's bytes without its custom sections (id 0) but the target features: each section
// is its id, its size as unsigned LEB128, then its contents (a custom one starts with its name).
function withoutCustomSections(bytes) {
  const kept = [bytes.subarray(0, 8)]; // magic and version
  let at = 8;
  while (at < bytes.length) {
    const start = at;
    const id = bytes[at++];
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 28) fail(`${wasmPath} has a malformed section size`);
      const byte = bytes[at++];
      size += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    const contents = at;
    at += size;
    if (at > bytes.length) fail(`${wasmPath} ends inside a section`);
    const name = () => bytes.subarray(contents + 1, contents + 1 + bytes[contents]).toString();
    if (id !== 0 || name() === "target_features") kept.push(bytes.subarray(start, at));
  }
  return Buffer.concat(kept);
}
