/* The config compiler's door (src/compiler.rs): imported by the widget only
   for a config beyond a preset and its options. `compile(text, fetch)`
   answers with the checked config's bytes (a Uint8Array) or the one-line
   message to log (a string); `fetch` is the loader's, taken at start. */
var ready;

export function compile(text, fetch) {
  ready = ready || fetch(new URL('leadscore_config.wasm', import.meta.url).href)
    .then(function (response) {
      if (!response.ok) throw new Error('leadscore_config.wasm: HTTP ' + response.status);
      return response.arrayBuffer();
    })
    .then(function (bytes) { return WebAssembly.instantiate(bytes, {}) })
    .then(function (made) { return made.instance.exports });
  return ready.then(function (x) {
    var input = new TextEncoder().encode(text), at = x.leadscore_alloc(input.length);
    new Uint8Array(x.memory.buffer, at, input.length).set(input);
    var out = x.leadscore_compile(at, input.length), head = new DataView(x.memory.buffer, out, 5);
    var body = new Uint8Array(x.memory.buffer.slice(out + 5, out + 5 + head.getUint32(1, true)));
    return head.getUint8(0) ? body : new TextDecoder().decode(body);
  });
}
