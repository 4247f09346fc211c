// flowrt JS sandbox prelude: evaluated once in every function node's QuickJS context.
//
// Everything the node's code can reach is defined here, over ONE host function
// `__host(op, payload)` that takes and returns strings (JSON). The host function
// is captured in this closure and removed from the global object, so user code
// can only reach Python through the wrappers below.
//
// Values cross the boundary as JSON. Types JSON lacks travel as one-key marker
// objects whose key starts with \u0001: {"\u0001b": base64 string} for bytes,
// {"\u0001d": epoch ms} for a Date, {"\u0001n": "NaN"} for non-finite numbers,
// {"\u0001h": token, "k": kind} for a live Python object (HTTP request,
// response, anything opaque). Parsing looks for the marker text first, so plain
// messages take the native JSON.parse fast path.
(function (G) {
  "use strict";
  const HOST = G.__host;
  const errorToString = Error.prototype.toString;
  delete G.__host;
  const M = "\u0001";
  const MB = M + "b", MD = M + "d", MH = M + "h", MN = M + "n";
  const ESC = "\\u0001";

  // ------------------------------------------------------------ host calls
  function host(op, payload) {
    const r = HOST(op, payload === undefined ? "" : payload);
    if (r === "") return undefined;
    if (r.charCodeAt(0) === 33) { // "!" error
      const info = JSON.parse(r.slice(1));
      const err = new Error(info.message);
      if (info.name) err.name = info.name;
      throw err;
    }
    return dec(r);
  }

  // ------------------------------------------------------------ Buffer
  // Node's Buffer over Uint8Array. Hex and base64 use QuickJS's native Uint8Array.fromHex/
  // toHex/fromBase64/toBase64; utf8, latin1 and ascii conversions of large values are done
  // by the host (bytes cross as base64, strings as JSON text, both native on each side),
  // small ones here, so 10 MB converts in milliseconds instead of seconds.
  const BIG = 4096; // from this many bytes or characters a conversion goes to the host
  function nodeError(Ctor, code, message) {
    const e = new Ctor(message);
    e.code = code;
    Object.defineProperty(e, "toString", { value() { return this.name + " [" + this.code + "]: " + this.message; } });
    return e;
  }
  function received(v) {
    if (v === null || v === undefined) return " Received " + v;
    if (typeof v === "function") return " Received function " + (v.name || "<anonymous>");
    if (typeof v === "object") {
      if (v instanceof Buffer) return " Received <Buffer" + (v.length ? " " + v.subarray(0, 50).toHex().replace(/(..)(?!$)/g, "$1 ") : "") + ">";
      return " Received an instance of " + ((v.constructor && v.constructor.name) || "Object");
    }
    let s = typeof v === "string" ? v : String(v);
    if (s.length > 28) s = s.slice(0, 25) + "...";
    return " Received type " + typeof v + " (" + (typeof v === "string" ? "'" + s + "'" : s) + ")";
  }
  function checkOffset(v, name, max) {
    if (typeof v !== "number") throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", 'The "' + name + '" argument must be of type number.' + received(v));
    if (!Number.isInteger(v)) throw nodeError(RangeError, "ERR_OUT_OF_RANGE", 'The value of "' + name + '" is out of range. It must be an integer. Received ' + v);
    if (v < 0 || v > max) throw nodeError(RangeError, "ERR_OUT_OF_RANGE", 'The value of "' + name + '" is out of range. It must be >= 0 && <= ' + max + ". Received " + v);
    return v;
  }
  const K_MAX_LENGTH = 4294967296;
  function checkSize(v) {
    if (typeof v !== "number") throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", 'The "size" argument must be of type number.' + received(v));
    if (!(v >= 0 && v <= K_MAX_LENGTH)) throw nodeError(RangeError, "ERR_OUT_OF_RANGE", 'The value of "size" is out of range. It must be >= 0 && <= ' + K_MAX_LENGTH + ". Received " + v);
  }
  const ENCODINGS = {
    utf8: "utf8", "utf-8": "utf8", hex: "hex", base64: "base64", base64url: "base64url",
    latin1: "latin1", binary: "latin1", ascii: "ascii",
    ucs2: "utf16le", "ucs-2": "utf16le", utf16le: "utf16le", "utf-16le": "utf16le",
  };
  function normEnc(e) {
    if (e === undefined || e === null || e === "utf8") return "utf8";
    const n = ENCODINGS[String(e).toLowerCase()];
    if (n === undefined) throw nodeError(TypeError, "ERR_UNKNOWN_ENCODING", "Unknown encoding: " + e);
    return n;
  }
  function hostOk(r) {
    if (r.charCodeAt(0) !== 61) { // not "=": "!" + error
      const info = JSON.parse(r.slice(1));
      throw new Error(info.message);
    }
    return r.slice(1);
  }
  function fromB64(s) { const u = Uint8Array.fromBase64(s); return new Buffer(u.buffer, 0, u.length); }
  // (Large strings go to the host as they are made, never concatenated: the wheel cannot
  // convert QuickJS's rope strings.)
  function hostEncode(str, e) { // string -> Buffer on the host: "utf8" | "latin1"
    // as it is when the wheel can take it (well-formed, no NUL: it cuts C strings there), else as JSON
    if (e === "utf8" && !str.isWellFormed()) str = str.toWellFormed(); // lone surrogates -> U+FFFD, as Node
    const raw = str.indexOf("\0") === -1;
    return fromB64(hostOk(HOST((raw ? "benc:" : "bencj:") + e, raw ? str : JSON.stringify(str))));
  }
  function hostDecode(b, start, end, e) { // Buffer -> string on the host: "utf8" | "latin1" | "ascii"
    return hostOk(HOST("bdec:" + e, b.subarray(start, end).toBase64()));
  }
  function utf8Encode(str) {
    if (str.length >= BIG) return hostEncode(str, "utf8");
    const out = [];
    for (let i = 0; i < str.length; i++) {
      let c = str.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
        const d = str.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
        else c = 0xfffd;
      } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Buffer(out);
  }
  function utf8Decode(b, start, end) {
    if (end - start >= BIG) return hostDecode(b, start, end, "utf8");
    let s = "";
    let i = start;
    while (i < end) {
      const c = b[i];
      let cp = 0xfffd, n = 1;
      if (c < 0x80) cp = c;
      else if (c >= 0xc2 && c < 0xe0) {
        if (i + 1 < end && (b[i + 1] & 0xc0) === 0x80) { cp = ((c & 31) << 6) | (b[i + 1] & 63); n = 2; }
      } else if (c >= 0xe0 && c < 0xf0) {
        // WHATWG: the second byte's range depends on the first (no overlongs, no surrogates)
        const lo = c === 0xe0 ? 0xa0 : 0x80, hi = c === 0xed ? 0x9f : 0xbf;
        if (i + 1 < end && b[i + 1] >= lo && b[i + 1] <= hi) {
          n = 2;
          if (i + 2 < end && (b[i + 2] & 0xc0) === 0x80) { cp = ((c & 15) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63); n = 3; }
        }
      } else if (c >= 0xf0 && c < 0xf5) {
        const lo = c === 0xf0 ? 0x90 : 0x80, hi = c === 0xf4 ? 0x8f : 0xbf;
        if (i + 1 < end && b[i + 1] >= lo && b[i + 1] <= hi) {
          n = 2;
          if (i + 2 < end && (b[i + 2] & 0xc0) === 0x80) {
            n = 3;
            if (i + 3 < end && (b[i + 3] & 0xc0) === 0x80) {
              cp = ((c & 7) << 18) | ((b[i + 1] & 63) << 12) | ((b[i + 2] & 63) << 6) | (b[i + 3] & 63); n = 4;
            }
          }
        }
      }
      s += String.fromCodePoint(cp);
      i += n;
    }
    return s;
  }
  function latin1(b, start, end) {
    if (end - start >= BIG * 16) return hostDecode(b, start, end, "latin1");
    let s = "";
    for (let i = start; i < end; i += 8192) {
      s += String.fromCharCode.apply(null, b.subarray(i, Math.min(end, i + 8192)));
    }
    return s;
  }
  function latin1Encode(str) {
    // the low byte of each UTF-16 code unit; the host needs well-formed text
    if (str.length >= BIG && str.isWellFormed()) return hostEncode(str, "latin1");
    const b = new Buffer(str.length);
    for (let i = 0; i < str.length; i++) b[i] = str.charCodeAt(i) & 255;
    return b;
  }
  function hexDecode(str) {
    const bad = str.search(/[^0-9a-fA-F]/);
    const n = (bad === -1 ? str.length : bad) & ~1; // Node stops at the first bad pair
    const u = Uint8Array.fromHex(n === str.length ? str : str.slice(0, n));
    return new Buffer(u.buffer, 0, u.length);
  }
  function b64Decode(str) {
    try { return fromB64(str); } catch (e) { /* not canonical: Node's lenient rules, on the host */ }
    return fromB64(hostOk(HOST("b64loose", JSON.stringify(str))));
  }
  function utf16Encode(str) {
    const b = new Buffer(str.length * 2);
    for (let i = 0; i < str.length; i++) { const c = str.charCodeAt(i); b[2 * i] = c & 255; b[2 * i + 1] = c >> 8; }
    return b;
  }
  function utf16Decode(b, start, end) {
    let s = "";
    for (let i = start; i + 1 < end; i += 2) s += String.fromCharCode(b[i] | (b[i + 1] << 8));
    return s;
  }
  function encodeString(str, e) {
    switch (e) {
      case "utf8": return utf8Encode(str);
      case "hex": return hexDecode(str);
      case "base64": case "base64url": return b64Decode(str);
      case "latin1": case "ascii": return latin1Encode(str);
      default: return utf16Encode(str);
    }
  }

  class Buffer extends Uint8Array {
    static from(value, encOrOffset, length) {
      if (typeof value === "string") return encodeString(value, normEnc(encOrOffset));
      if (value instanceof ArrayBuffer) return new Buffer(value, encOrOffset || 0, length === undefined ? value.byteLength - (encOrOffset || 0) : length);
      if (ArrayBuffer.isView(value)) { const b = new Buffer(value.length); b.set(value); return b; }
      if (Array.isArray(value)) return new Buffer(value.map((x) => x & 255));
      if (value && value.type === "Buffer" && Array.isArray(value.data)) return new Buffer(value.data);
      throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The first argument must be of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object." + received(value));
    }
    static alloc(size, fill, enc) {
      checkSize(size);
      const b = new Buffer(size);
      if (fill !== undefined && fill !== 0 && size > 0) b.fill(fill, 0, b.length, enc);
      return b;
    }
    static allocUnsafe(size) { checkSize(size); return new Buffer(size); }
    static isBuffer(b) { return b instanceof Buffer; }
    static isEncoding(e) { return typeof e === "string" && e !== "" && ENCODINGS[e.toLowerCase()] !== undefined; }
    static byteLength(v, enc) {
      if (typeof v !== "string") return v.byteLength;
      const e = normEnc(enc);
      if (e === "hex") return v.length >>> 1;
      if (e === "base64" || e === "base64url") {
        let n = v.length;
        while (n > 0 && v.charCodeAt(n - 1) === 61) n--;
        return (n * 3) >>> 2;
      }
      if (e === "latin1" || e === "ascii") return v.length;
      if (e === "utf16le") return v.length * 2;
      return Buffer.from(v, e).length;
    }
    static concat(list, total) {
      if (total === undefined) total = list.reduce((n, b) => n + b.length, 0);
      const out = new Buffer(total);
      let pos = 0;
      for (const b of list) {
        if (pos >= total) break;
        const part = b.length > total - pos ? b.subarray(0, total - pos) : b;
        out.set(part, pos);
        pos += part.length;
      }
      return out;
    }
    static compare(a, b) { return a.compare(b); }
    toString(enc, start, end) {
      const e = normEnc(enc);
      start = start === undefined ? 0 : Math.max(0, start | 0);
      end = end === undefined ? this.length : Math.min(this.length, end | 0);
      if (end <= start) return "";
      switch (e) {
        case "hex": return this.subarray(start, end).toHex();
        case "base64": return this.subarray(start, end).toBase64();
        case "base64url": return this.subarray(start, end).toBase64({ alphabet: "base64url", omitPadding: true });
        case "latin1": return latin1(this, start, end);
        case "ascii": {
          if (end - start >= BIG) return hostDecode(this, start, end, "ascii");
          let s = "";
          for (let i = start; i < end; i++) s += String.fromCharCode(this[i] & 127);
          return s;
        }
        case "utf16le": return utf16Decode(this, start, end);
        default: return utf8Decode(this, start, end);
      }
    }
    toJSON() { return { type: "Buffer", data: Array.from(this) }; }
    equals(o) { return this.compare(o) === 0; }
    compare(o) {
      if (this.length >= BIG && o.length >= BIG) { // hex text orders as the bytes do
        const a = this.toHex(), b = (o instanceof Uint8Array ? o : Buffer.from(o)).toHex();
        return a === b ? 0 : (a < b ? -1 : 1);
      }
      const n = Math.min(this.length, o.length);
      for (let i = 0; i < n; i++) if (this[i] !== o[i]) return this[i] < o[i] ? -1 : 1;
      return this.length === o.length ? 0 : (this.length < o.length ? -1 : 1);
    }
    // Node's rules: offsets are integers (offset up to kMaxLength, end up to the length),
    // numbers are taken & 255, a value that encodes to no bytes is an error, '' fills zeros.
    fill(value, offset, end, enc) {
      let bytes = null;
      if (typeof value === "string") {
        if (offset === undefined || typeof offset === "string") { enc = offset; offset = 0; end = this.length; }
        else if (typeof end === "string") { enc = end; end = this.length; }
        const e = normEnc(enc);
        if (value.length === 0) value = 0;
        else bytes = Buffer.from(value, e);
      } else if (value instanceof Uint8Array) bytes = value;
      if (offset === undefined) { offset = 0; end = this.length; }
      else {
        checkOffset(offset, "offset", K_MAX_LENGTH);
        end = end === undefined ? this.length : checkOffset(end, "end", this.length);
      }
      if (bytes !== null && bytes.length === 0) {
        throw nodeError(TypeError, "ERR_INVALID_ARG_VALUE", "The argument 'value' is invalid. Received " +
          (typeof value === "string" ? "'" + value + "'" : "<Buffer >"));
      }
      if (offset >= end) return this;
      if (bytes === null) return super.fill(Number(value) & 255, offset, end);
      if (bytes.length === 1) return super.fill(bytes[0], offset, end);
      let pos = offset;
      const first = Math.min(bytes.length, end - pos);
      this.set(bytes.subarray(0, first), pos);
      pos += first;
      while (pos < end) { // double the filled part each round
        const n = Math.min(pos - offset, end - pos);
        this.copyWithin(pos, offset, offset + n);
        pos += n;
      }
      return this;
    }
    slice(start, end) { return this.subarray(start, end); }
    write(str, offset, length, enc) {
      if (typeof offset === "string") { enc = offset; offset = 0; length = undefined; }
      else if (typeof length === "string") { enc = length; length = undefined; }
      offset = offset || 0;
      const src = Buffer.from(str, enc);
      const n = Math.min(src.length, this.length - offset, length === undefined ? Infinity : length);
      this.set(src.subarray(0, n), offset);
      return n;
    }
    indexOf(v, from, enc) {
      if (typeof v === "number") return super.indexOf(v, from);
      const needle = typeof v === "string" ? Buffer.from(v, enc) : v;
      outer: for (let i = from || 0; i <= this.length - needle.length; i++) {
        for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
        return i;
      }
      return -1;
    }
    includes(v, from, enc) { return this.indexOf(v, from, enc) !== -1; }
    copy(target, tStart, sStart, sEnd) {
      tStart = tStart || 0; sStart = sStart || 0; sEnd = sEnd === undefined ? this.length : sEnd;
      const n = Math.min(sEnd - sStart, target.length - tStart);
      target.set(this.subarray(sStart, sStart + n), tStart);
      return n;
    }
    readUInt8(o) { return this[o || 0]; }
    readInt8(o) { const v = this[o || 0]; return v > 127 ? v - 256 : v; }
    readUInt16BE(o) { o = o || 0; return (this[o] << 8) | this[o + 1]; }
    readUInt16LE(o) { o = o || 0; return this[o] | (this[o + 1] << 8); }
    readInt16BE(o) { const v = this.readUInt16BE(o); return v > 32767 ? v - 65536 : v; }
    readInt16LE(o) { const v = this.readUInt16LE(o); return v > 32767 ? v - 65536 : v; }
    readUInt32BE(o) { o = o || 0; return this[o] * 0x1000000 + ((this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3]); }
    readUInt32LE(o) { o = o || 0; return this[o + 3] * 0x1000000 + ((this[o + 2] << 16) | (this[o + 1] << 8) | this[o]); }
    readInt32BE(o) { o = o || 0; return (this[o] << 24) | (this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3]; }
    readInt32LE(o) { o = o || 0; return (this[o + 3] << 24) | (this[o + 2] << 16) | (this[o + 1] << 8) | this[o]; }
    readFloatBE(o) { return new DataView(this.buffer, this.byteOffset).getFloat32(o || 0, false); }
    readFloatLE(o) { return new DataView(this.buffer, this.byteOffset).getFloat32(o || 0, true); }
    readDoubleBE(o) { return new DataView(this.buffer, this.byteOffset).getFloat64(o || 0, false); }
    readDoubleLE(o) { return new DataView(this.buffer, this.byteOffset).getFloat64(o || 0, true); }
    writeUInt8(v, o) { o = o || 0; this[o] = v; return o + 1; }
    writeUInt16BE(v, o) { o = o || 0; this[o] = v >>> 8; this[o + 1] = v; return o + 2; }
    writeUInt16LE(v, o) { o = o || 0; this[o] = v; this[o + 1] = v >>> 8; return o + 2; }
    writeUInt32BE(v, o) { o = o || 0; this[o] = v >>> 24; this[o + 1] = v >>> 16; this[o + 2] = v >>> 8; this[o + 3] = v; return o + 4; }
    writeUInt32LE(v, o) { o = o || 0; this[o + 3] = v >>> 24; this[o + 2] = v >>> 16; this[o + 1] = v >>> 8; this[o] = v; return o + 4; }
  }
  Object.defineProperty(Buffer.prototype, Symbol.toStringTag, { value: "Buffer" });

  // ------------------------------------------------------------ live objects
  // One JS object per live Python object and context (while it is reachable);
  // when the JS side drops it, the host is told so it can release its reference.
  const liveCache = new Map(); // id -> WeakRef(handle)
  const liveCount = new Map(); // id -> handle objects not yet finalized
  const finalizer = new FinalizationRegistry((id) => {
    const n = (liveCount.get(id) || 1) - 1;
    if (n > 0) liveCount.set(id, n);
    else { liveCount.delete(id); if (!(liveCache.get(id) || { deref() {} }).deref()) liveCache.delete(id); HOST("release", String(id)); }
  });
  const LIVE_ID = Symbol("live");
  const callbacks = new Map();
  let nextCallback = 1;

  function liveCall(self, method, args) {
    return host("live", enc([self[LIVE_ID], method, args]));
  }
  class LiveObject {
    toJSON() { return { [MH]: this[LIVE_ID] }; }
  }
  class LiveRequest extends LiveObject {
    get(name) { const h = this.headers || {}; return h[String(name).toLowerCase()]; }
    header(name) { return this.get(name); }
  }
  // A request's fields come from the host on first use, then stay as the object's own
  // (writable) properties: a message that only passes msg.req on never asks for them.
  function ownValue(obj, name, value) {
    Object.defineProperty(obj, name, { value, writable: true, enumerable: true, configurable: true });
  }
  for (const name of ["method", "url", "originalUrl", "path", "baseUrl", "hostname", "protocol", "headers",
    "query", "params", "body", "cookies", "ip", "files"]) {
    Object.defineProperty(LiveRequest.prototype, name, {
      get() { const v = liveCall(this, "field", [name]); ownValue(this, name, v); return v; },
      set(v) { ownValue(this, name, v); },
      enumerable: true,
      configurable: true,
    });
  }
  class LiveResponse extends LiveObject {
    get statusCode() { return liveCall(this, "statusCode", []); }
    set statusCode(v) { liveCall(this, "setStatusCode", [v]); }
    get headersSent() { return liveCall(this, "headersSent", []); }
    get finished() { return liveCall(this, "finished", []); }
    get writableEnded() { return liveCall(this, "finished", []); }
    setHeader(n, v) { liveCall(this, "setHeader", [n, v]); return this; }
    getHeader(n) { return liveCall(this, "getHeader", [n]); }
    removeHeader(n) { liveCall(this, "removeHeader", [n]); }
    hasHeader(n) { return liveCall(this, "getHeader", [n]) != null; }
    writeHead(status, msgOrHeaders, headers) {
      if (typeof msgOrHeaders === "object") headers = msgOrHeaders;
      liveCall(this, "writeHead", headers === undefined ? [status] : [status, headers]);
      return this;
    }
    flushHeaders() { liveCall(this, "flushHeaders", []); }
    write(chunk, enc, cb) {
      if (typeof enc === "function") { cb = enc; enc = undefined; }
      if (typeof chunk === "string" && enc && normEnc(enc) !== "utf8") chunk = Buffer.from(chunk, enc);
      const r = liveCall(this, "write", [chunk]);
      if (cb) G.setTimeout(cb, 0);
      return r !== false;
    }
    end(chunk, enc, cb) {
      if (typeof chunk === "function") { cb = chunk; chunk = undefined; }
      if (typeof enc === "function") { cb = enc; enc = undefined; }
      if (typeof chunk === "string" && enc && normEnc(enc) !== "utf8") chunk = Buffer.from(chunk, enc);
      liveCall(this, "end", chunk === undefined || chunk === null ? [] : [chunk]);
      if (cb) G.setTimeout(cb, 0);
      return this;
    }
    // Express conveniences (msg.res._res is an Express response in Node-RED).
    status(code) { this.statusCode = code; return this; }
    set(n, v) {
      if (typeof n === "object") { for (const k in n) this.setHeader(k, n[k]); } else this.setHeader(n, v);
      return this;
    }
    header(n, v) { return this.set(n, v); }
    get(n) { return this.getHeader(n); }
    type(t) { return this.set("Content-Type", t.indexOf("/") === -1 ? "application/" + t : t); }
    json(body) {
      if (this.getHeader("content-type") == null) this.setHeader("Content-Type", "application/json; charset=utf-8");
      return this.end(JSON.stringify(body));
    }
    send(body) {
      if (body !== null && typeof body === "object" && !(body instanceof Uint8Array)) return this.json(body);
      if (typeof body === "number") { this.statusCode = body; body = String(body); }
      if (typeof body === "string" && this.getHeader("content-type") == null) this.setHeader("Content-Type", "text/html; charset=utf-8");
      return this.end(body === undefined ? undefined : body);
    }
    sendStatus(code) { this.statusCode = code; return this.end(String(code)); }
    on(event, fn) {
      if (typeof fn !== "function") return this;
      const id = nextCallback++;
      callbacks.set(id, fn);
      liveCall(this, "on", [event, id]);
      return this;
    }
    once(event, fn) { return this.on(event, fn); }
  }
  function liveObject(id, kind) {
    const ref = liveCache.get(id);
    const existing = ref && ref.deref();
    if (existing) return existing;
    const obj = kind === "res" ? new LiveResponse() : (kind === "req" ? new LiveRequest() : new LiveObject());
    Object.defineProperty(obj, LIVE_ID, { value: id });
    liveCache.set(id, new WeakRef(obj));
    liveCount.set(id, (liveCount.get(id) || 0) + 1);
    finalizer.register(obj, id);
    return obj;
  }

  // ------------------------------------------------------------ boundary encoding
  function revive(k, v) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      if (MH in v) return liveObject(v[MH], v.k);
      if (MB in v) { try { return fromB64(v[MB]); } catch (e) { return v; } } // (not made by the host)
      if (MD in v) return new Date(v[MD]);
      if (MN in v) return Number(v[MN]);
    }
    return v;
  }
  function dec(s) {
    return s.indexOf(ESC) === -1 ? JSON.parse(s) : JSON.parse(s, revive);
  }
  // Date, Uint8Array and Buffer keep a toJSON that behaves as the standard one,
  // except while the boundary encoder runs (`encoding`), when it emits markers.
  let encoding = false;
  const DateProto = Date.prototype, U8Proto = Uint8Array.prototype, BufProto = Buffer.prototype;
  const dateToJSON = DateProto.toJSON;
  const bufferToJSON = BufProto.toJSON;
  const stringify = JSON.stringify;
  function def(proto, fn) { Object.defineProperty(proto, "toJSON", { value: fn, writable: true, configurable: true }); }
  def(DateProto, function toJSON(key) {
    if (!encoding) return dateToJSON.call(this, key);
    const t = this.getTime();
    return t === t ? { [MD]: t } : null;
  });
  def(U8Proto, function toJSON() {
    if (!encoding) return Object.assign({}, this);
    return { [MB]: this.toBase64() };
  });
  def(BufProto, function toJSON() {
    if (!encoding) return bufferToJSON.call(this);
    return { [MB]: this.toBase64() };
  });
  function enc(v) {
    encoding = true;
    try {
      return stringify(v);
    } finally {
      encoding = false;
    }
  }

  // ------------------------------------------------------------ context values
  // Context stores keep references in Node-RED: `flow.get('x').n++` changes the
  // stored object. Two ways to get that here:
  // - borrowed: the memory store lends an object or array to this context; this
  //   copy is then the value (later gets return the very object) until the store
  //   takes it back (__nr_giveBack), which it does before anyone else reads it;
  // - tracked: a copy whose changes are written back into the Python object at the
  //   end of the current run (values that cannot be lent).
  const borrowed = new Map(); // "<scope>\n<key>" -> the object
  let tracked = [];
  function undefinedIfNull(v) { return v === null ? undefined : v; }
  function trackGet(scope, args) {
    if (Array.isArray(args[0])) {
      const r = host("ctx", enc([scope, "get", args]));
      // r = [values, tokens]; tokens parallel to the values read (null when not an object)
      const value = r[0], tokens = r[1];
      if (tokens) value.forEach((v, i) => { if (tokens[i] !== null) tracked.push([tokens[i], v, enc(v)]); });
      return value.map(undefinedIfNull);
    }
    // one key: "=" (borrowed already), "L\n<JSON>" (lent now), or "<token or null>\n<JSON>",
    // whose JSON is the snapshot the value is compared with at the end of the run
    // (a spurious difference only costs a no-op write-back)
    const key = args[0];
    // A value lent to this node is the value until the store takes it back (__nr_giveBack) or
    // voids the loan (__nr_forget): while it is in `borrowed`, read it without asking the host.
    // (issue 19: one host call fewer per flow.get of a lent object, ~8% of the change chain's loop)
    if (typeof key === "string" && args[1] === undefined) {
      const lent = borrowed.get(scope + "\n" + key);
      if (lent !== undefined) return lent;
    }
    // the common case without JSON around the key (which the wheel must be able to pass as
    // it is: it cuts strings at a NUL and refuses lone surrogates)
    const r = typeof key === "string" && args[1] === undefined && key.length < 1024 && key.indexOf("\0") === -1 && key.isWellFormed()
      ? HOST("cget", scope + "\n" + key)
      : HOST("ctx", enc([scope, "get", args]));
    const c = r.charCodeAt(0);
    if (c === 61) return borrowed.get(scope + "\n" + key); // "="
    if (c === 33) { // "!" error
      const info = JSON.parse(r.slice(1));
      const err = new Error(info.message);
      if (info.name) err.name = info.name;
      throw err;
    }
    const i = r.indexOf("\n");
    const text = r.slice(i + 1);
    if (text === "null") return undefined; // a missing key (the stores hold no null)
    const value = dec(text);
    if (c === 76 && i === 1) borrowed.set(scope + "\n" + key, value); // "L"
    else if (i !== 4 || c !== 110) tracked.push([Number(r.slice(0, i)), value, text]); // not "null"
    return value;
  }
  // The store takes a borrowed value back: its JSON (or "!<why>"); `token` lets the rest
  // of a run that is going on write later changes back, as for a tracked copy.
  G.__nr_giveBack = function (k, token) {
    const v = borrowed.get(k);
    borrowed.delete(k);
    if (v === undefined) return "!not borrowed";
    let text;
    try { text = enc(v); } catch (err) { return "!" + (err && err.message ? err.message : String(err)); }
    if (text === undefined) return "!not a JSON value";
    tracked.push([token, v, text]);
    return text;
  };
  G.__nr_forget = function (k) { borrowed.delete(k); return 0; };
  function flush() {
    if (tracked.length === 0) return;
    const t = tracked;
    tracked = [];
    const changed = [];
    for (const [token, obj, json] of t) {
      const now = enc(obj);
      if (now !== json) changed.push("[" + token + "," + (now === undefined ? "null" : now) + "]");
    }
    // joined, not concatenated: a long concatenation is a rope string the host cannot take
    if (changed.length) host("sync", ["[", changed.join(","), "]"].join(""));
    else HOST("sync", "");
  }

  function makeContext(scope) {
    const api = {
      get(key, store, cb) {
        if (typeof store === "function") { cb = store; store = undefined; }
        if (typeof cb === "function") {
          let r;
          try { r = trackGet(scope, [key, store]); } catch (err) { cb(err); return; }
          if (Array.isArray(key)) cb(null, ...r); else cb(null, r);
          return;
        }
        return trackGet(scope, [key, store]);
      },
      set(key, value, store, cb) {
        if (typeof store === "function") { cb = store; store = undefined; }
        try { host("ctx", enc([scope, "set", [key, value, store]])); } catch (err) { if (cb) { cb(err); return; } throw err; }
        if (typeof cb === "function") cb(null);
      },
      // flowrt's own: set key to fn(current value) without losing another process's write
      // (a compare-and-set loop on stores shared by processes; fn may run more than once)
      update(key, fn, store, cb) {
        if (typeof store === "function") { cb = store; store = undefined; }
        if (typeof fn !== "function") throw new Error("update needs a function of the current value");
        try {
          for (let attempt = 0; attempt < 1000; attempt++) {
            const r = host("ctx", enc([scope, "rfu", [key, store]]));
            let value = fn(undefinedIfNull(r[0]));
            if (value === undefined) value = null;
            if (host("ctx", enc([scope, "wiu", [key, value, r[1], store]]))) {
              if (typeof cb === "function") { cb(null, undefinedIfNull(value)); return; }
              return undefinedIfNull(value);
            }
          }
          throw new Error("context update of '" + key + "': changed 1000 times meanwhile");
        } catch (err) { if (typeof cb === "function") { cb(err); return; } throw err; }
      },
      keys(store, cb) {
        if (typeof store === "function") { cb = store; store = undefined; }
        let r;
        try { r = host("ctx", enc([scope, "keys", [store]])); } catch (err) { if (cb) { cb(err); return; } throw err; }
        if (typeof cb === "function") { cb(null, r); return; }
        return r;
      },
    };
    return api;
  }
  const context = makeContext("node");
  const flowCtx = makeContext("flow");
  const globalCtx = makeContext("global");
  Object.defineProperty(context, "flow", { get() { return flowCtx; } });
  Object.defineProperty(context, "global", { get() { return globalCtx; } });

  // ------------------------------------------------------------ errors
  function errorInfo(err) {
    if (err !== null && typeof err === "object" && "stack" in err && typeof err.message === "string") {
      const info = { kind: "error", name: err.name, message: err.message, stack: String(err.stack || "") };
      if (typeof err.code === "string") info.code = err.code; // Node-RED passes it to msg.error.code
      if (err.toString !== errorToString) { // Node's own errors read "TypeError [ERR_X]: ..."
        try { info.text = String(err); } catch (e) { /* keep name: message */ }
      }
      return info;
    }
    if (typeof err === "string") return { kind: "string", message: err };
    if (err === null) return { kind: "null", message: "null" }; // QuickJS throws null when out of memory
    let text;
    try { text = JSON.stringify(err); } catch (e) { text = String(err); }
    return { kind: "other", message: text === undefined ? String(err) : text };
  }

  // ------------------------------------------------------------ messages
  function typeName(m) {
    if (m instanceof Buffer) return "Buffer";
    if (Array.isArray(m)) return "Array";
    if (m instanceof Date) return "Date";
    return typeof m;
  }
  // Node-RED's sendResults: normalise to arrays, stamp _msgid, drop non-messages.
  function normalise(msgs, msgid, cloneFirst) {
    if (msgs === null || msgs === undefined) return null;
    if (!Array.isArray(msgs)) msgs = [msgs];
    let count = 0;
    for (let i = 0; i < msgs.length; i++) {
      let out = msgs[i];
      if (!out) continue;
      if (!Array.isArray(out)) out = msgs[i] = [out];
      for (let j = 0; j < out.length; j++) {
        const m = out[j];
        if (m === null || m === undefined) continue;
        if (typeof m === "object" && !(m instanceof Uint8Array) && !Array.isArray(m) && !(m instanceof Date)) {
          if (count === 0 && cloneFirst !== false) out[j] = cloneMessage(m);
          out[j]._msgid = msgid;
          count++;
        } else {
          host("log", enc(["error", "Function tried to send a message of type " + typeName(m)]));
          out[j] = null;
        }
      }
    }
    return count ? msgs : null;
  }
  function sendMsgs(msgs, msgid, clone) {
    const n = normalise(msgs, msgid, clone);
    if (n) host("send", enc(n));
  }

  function cloneValue(v, top) {
    if (v === null || typeof v !== "object") return v;
    if (v instanceof LiveObject) return v;
    if (v instanceof Date) return new Date(v.getTime());
    if (v instanceof Buffer) return Buffer.from(v);
    if (ArrayBuffer.isView(v)) return v.slice();
    if (v instanceof RegExp) return new RegExp(v.source, v.flags);
    if (Array.isArray(v)) return v.map((x) => cloneValue(x));
    if (v instanceof Map) return new Map(Array.from(v, ([k, x]) => [k, cloneValue(x)]));
    if (v instanceof Set) return new Set(Array.from(v, (x) => cloneValue(x)));
    const out = {};
    for (const k in v) {
      if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
      out[k] = top && (k === "req" || k === "res") ? v[k] : cloneValue(v[k]);
    }
    return out;
  }
  function cloneMessage(m) { return cloneValue(m, true); }

  // ------------------------------------------------------------ RED.util
  function parsePath(expr) {
    const parts = [];
    let i = 0;
    const s = String(expr);
    let cur = "";
    let start = true;
    while (i < s.length) {
      const c = s[i];
      if (c === ".") {
        if (cur === "" && (start || s[i - 1] !== "]")) throw new Error("Invalid property expression: unexpected . at position " + i);
        if (cur !== "") parts.push(cur);
        cur = ""; start = false; i++;
      } else if (c === "[") {
        if (cur !== "") parts.push(cur);
        cur = "";
        const q = s[i + 1];
        if (q === "'" || q === '"') {
          const endq = s.indexOf(q, i + 2);
          if (endq === -1 || s[endq + 1] !== "]") throw new Error("Invalid property expression: unterminated string at position " + i);
          parts.push(s.slice(i + 2, endq));
          i = endq + 2;
        } else {
          const end = s.indexOf("]", i);
          if (end === -1) throw new Error("Invalid property expression: unterminated [ at position " + i);
          const num = s.slice(i + 1, end);
          if (!/^\d+$/.test(num)) throw new Error("Invalid property expression: unexpected " + num + " at position " + (i + 1));
          parts.push(Number(num));
          i = end + 1;
        }
        start = false;
      } else { cur += c; i++; }
    }
    if (cur !== "") parts.push(cur);
    if (parts.length === 0) throw new Error("Invalid property expression: zero-length");
    return parts;
  }
  function getMessageProperty(msg, expr) {
    if (typeof expr === "string" && expr.indexOf("msg.") === 0) expr = expr.slice(4);
    let v = msg;
    for (const p of parsePath(expr)) {
      if (v === null || v === undefined) return undefined;
      v = v[p];
    }
    return v;
  }
  function setMessageProperty(msg, expr, value, createMissing) {
    if (typeof expr === "string" && expr.indexOf("msg.") === 0) expr = expr.slice(4);
    if (createMissing === undefined) createMissing = value !== undefined;
    const parts = parsePath(expr);
    let obj = msg;
    for (let i = 0; i < parts.length - 1; i++) {
      const p = parts[i];
      if (obj[p] === undefined || obj[p] === null || typeof obj[p] !== "object") {
        if (!createMissing) return false;
        obj[p] = typeof parts[i + 1] === "number" ? [] : {};
      }
      obj = obj[p];
    }
    const last = parts[parts.length - 1];
    if (value === undefined) { if (Array.isArray(obj) && typeof last === "number") obj.splice(last, 1); else delete obj[last]; }
    else obj[last] = value;
    return true;
  }
  function generateId() {
    let s = "";
    for (let i = 0; i < 4; i++) s += ("0000" + Math.floor(Math.random() * 0x10000).toString(16)).slice(-4);
    return s;
  }
  const RED = {
    util: {
      cloneMessage,
      getMessageProperty,
      setMessageProperty,
      generateId,
      evaluateNodeProperty(value, type, node, msg, callback) {
        let r, err = null;
        try { r = host("evalprop", enc([value, type, msg === undefined ? null : msg])); } catch (e) { err = e; }
        if (typeof callback === "function") { callback(err, r); return; }
        if (err) throw err;
        return r;
      },
      encodeObject(o) { return o; },
    },
  };

  // ------------------------------------------------------------ timers
  const timers = new Map();
  let nextTimer = 1;
  function addTimer(fn, ms, args, repeat) {
    if (typeof fn !== "function") throw new TypeError("The \"callback\" argument must be of type function");
    const id = nextTimer++;
    timers.set(id, [fn, args, repeat]);
    ms = Number(ms);
    HOST("timer", id + "," + (ms > 0 ? ms : 0) + "," + (repeat ? 1 : 0));
    return id;
  }
  function clearTimer(id) {
    if (id === undefined || id === null) return;
    id = typeof id === "object" ? id.id : id;
    if (timers.delete(id)) HOST("cleartimer", String(id));
  }
  const setTimeout = (fn, ms, ...args) => addTimer(fn, ms, args, false);
  const setInterval = (fn, ms, ...args) => addTimer(fn, ms, args, true);
  setTimeout[Symbol.for("nodejs.util.promisify.custom")] = (ms, value) => new Promise((res) => setTimeout(res, ms, value));

  // ------------------------------------------------------------ console, env
  function fmt(args) {
    return args.map((a) => {
      if (typeof a === "string") return a;
      if (a instanceof Error) return String(a.stack || a);
      try { const s = JSON.stringify(a); return s === undefined ? String(a) : s; } catch (e) { return String(a); }
    }).join(" ");
  }
  function logAt(level) { return (...args) => { host("log", enc([level, fmt(args)])); }; }
  const console = {
    log: logAt("info"), info: logAt("info"), debug: logAt("debug"), trace: logAt("trace"),
    warn: logAt("warn"), error: logAt("error"),
  };
  const env = { get(name) { const v = host("env", enc(name)); return v === null ? undefined : v; } };

  // ------------------------------------------------------------ node object
  let meta = { id: "", name: "", path: "", outputCount: 1 };
  const closeHandlers = [];
  // node.warn(err) logs the error's toString ("Error: x") as Node-RED does; other
  // values as text (objects as JSON, where Node-RED's log shows "[object Object]").
  function logText(m) {
    if (typeof m === "string") return m;
    if (m instanceof Error) { try { return String(m); } catch (e) { /* below */ } }
    return fmt([m]);
  }
  function nodeLog(level) {
    return (m) => { host("log", enc([level, logText(m)])); };
  }
  const nodeBase = {
    log: nodeLog("info"), warn: nodeLog("warn"), debug: nodeLog("debug"), trace: nodeLog("trace"),
    error(err, msg) { host("error", enc([errorInfo(err), msg === undefined ? null : msg])); },
    status(s) { host("status", enc(s === undefined ? null : s)); },
    on(event, fn) {
      if (event === "input") throw new Error("Cannot add input listener in function node");
      if (event === "close" && typeof fn === "function") closeHandlers.push(fn);
    },
  };
  // One small object per run; send/done are bound closures made on first use.
  function NodeObject(msgid, token, mode) { this._m = msgid; this._t = token; this._k = mode; }
  const NodeProto = NodeObject.prototype;
  NodeProto.log = nodeBase.log; NodeProto.warn = nodeBase.warn; NodeProto.debug = nodeBase.debug;
  NodeProto.trace = nodeBase.trace; NodeProto.error = nodeBase.error; NodeProto.status = nodeBase.status;
  NodeProto.on = nodeBase.on;
  for (const k of ["_m", "_t", "_k"]) Object.defineProperty(NodeProto, k, { writable: true, enumerable: false, value: null });
  Object.defineProperty(NodeProto, "send", {
    get() {
      const m = this._m, mode = this._k;
      const fn = mode === 2
        ? () => { nodeBase.error("Cannot send from close function"); }
        : (msgs, clone) => sendMsgs(msgs, mode === 1 ? generateId() : m, clone);
      Object.defineProperty(this, "send", { value: fn, writable: true, configurable: true });
      return fn;
    },
    set(v) { Object.defineProperty(this, "send", { value: v, writable: true, configurable: true }); },
    configurable: true,
  });
  Object.defineProperty(NodeProto, "done", {
    get() {
      const t = this._t;
      const fn = (err) => { HOST("done", enc([t, err === undefined || err === null ? null : errorInfo(err)])); };
      Object.defineProperty(this, "done", { value: fn, writable: true, configurable: true });
      return fn;
    },
    set(v) { Object.defineProperty(this, "done", { value: v, writable: true, configurable: true }); },
    configurable: true,
  });
  // node.linkcall (Node-RED 5): send a copy of msg to a link in (id or name) and resolve
  // with the message a link out in return mode brings back; errors and timeouts reject.
  NodeProto.linkcall = function linkcall(target, msg, options) {
    return new Promise((resolve, reject) => {
      if (typeof target !== "string" || target.trim() === "") throw new Error("Error link call target parameter is not valid, expected a string");
      if (typeof msg !== "object" || msg === null) throw new Error("Error link call msg parameter is not valid, expected an object");
      options = options || {};
      const clone = options.clone !== false;
      const id = nextCallback++;
      callbacks.set(id, (err, res) => {
        if (err !== null) { reject(new Error(err)); return; }
        if (!clone) { assignInPlace(msg, res); res = msg; } // the caller's msg follows the subroutine's changes
        resolve(res);
      });
      try {
        host("linkcall", enc([target, clone ? cloneMessage(msg) : msg, Number(options.timeout) || 5000, id]));
      } catch (err) { callbacks.delete(id); throw err; }
    });
  };
  function isPlain(v) { return v !== null && typeof v === "object" && (getProto(v) === ObjProto || isArray(v)); }
  function assignInPlace(dst, src) {
    for (const k of Object.keys(dst)) if (!(k in src)) delete dst[k];
    for (const k of Object.keys(src)) {
      const d = dst[k], v = src[k];
      if (isPlain(d) && isPlain(v) && isArray(d) === isArray(v)) {
        assignInPlace(d, v);
        if (isArray(d)) d.length = v.length;
      } else dst[k] = v;
    }
  }
  function makeNode(msgid, token, mode) { return new NodeObject(msgid, token, mode); }

  // ------------------------------------------------------------ entry points (taken by Python, then removed)
  let body = null, setup = null, cleanup = null;
  let lastError = "";
  function fail(err) { lastError = enc(errorInfo(err)); return 2; }
  function settle(p, token, msgid) {
    p.then((res) => {
      flushAfter(() => {
        const n = normalise(res, msgid, false);
        HOST("result", enc([token, n]));
      });
    }, (err) => { flushAfter(() => { HOST("fail", enc([token, errorInfo(err)])); }); });
  }
  function flushAfter(fn) { try { fn(); } finally { flush(); } }

  // The hot path: one message in (JSON text; `esc`: Python saw marker objects in it),
  // its result out as JSON text (one message), 0 (nothing), 1 (a Promise) or 2 (failed).
  const getProto = Object.getPrototypeOf, ObjProto = Object.prototype, isArray = Array.isArray;
  let bodyNode = true; // false: the code cannot reach `node`, so no node object is made per message
  const noNode = new NodeObject(null, 0, 0);
  // An http message's msg.req / msg.res._res come beside the text (token and kind each, the text
  // has null there): no reviver pass over the message. A result holding them in place carries
  // null there and says so in __nr_beside() (1: req, 2: res._res).
  G.__nr_run = function (s, token, esc, rq, rqk, rs, rsk) {
    encoding = false; // an uncatchable interrupt may have left it set
    let msg;
    try { msg = (esc === undefined ? s.indexOf(ESC) !== -1 : esc) ? JSON.parse(s, revive) : JSON.parse(s); } catch (e) { return fail(e); }
    let liveReq = null, liveRes = null;
    besideBits = 0;
    if (rq != null) msg.req = liveReq = liveObject(rq, rqk);
    if (rs != null) msg.res._res = liveRes = liveObject(rs, rsk);
    const msgid = msg._msgid;
    try {
      const res = body(msg, bodyNode ? new NodeObject(msgid, token, 0) : noNode);
      if (res !== null && typeof res === "object") {
        if (typeof res.then === "function") {
          settle(res, token, msgid);
          flush();
          return 1;
        }
        if (tracked.length) flush();
        if (getProto(res) === ObjProto || (!isArray(res) && !(res instanceof Uint8Array) && !(res instanceof Date))) {
          res._msgid = msgid;
          if (liveReq !== null || liveRes !== null) return stringifyBeside(res, liveReq, liveRes);
          encoding = true;
          const out = stringify(res);
          encoding = false;
          return out;
        }
      } else if (tracked.length) flush();
      const n = normalise(res, msgid, false);
      return n === null ? 0 : enc(n);
    } catch (err) {
      encoding = false;
      try { flush(); } catch (e) { /* keep the first error */ }
      return fail(err);
    }
  };
  let besideBits = 0; // what the last stringifyBeside wrote as null (read by __nr_beside)
  function stringifyBeside(res, liveReq, liveRes) {
    const wrapper = res.res;
    const bits = (liveReq !== null && res.req === liveReq ? 1 : 0) |
      (liveRes !== null && wrapper !== null && typeof wrapper === "object" && wrapper._res === liveRes ? 2 : 0);
    besideBits = bits;
    if (bits & 1) res.req = null;
    if (bits & 2) wrapper._res = null;
    try {
      // (a prefix character concatenated here would make a rope string, which the quickjs
      // wheel cannot hand to Python: the bits are read by a second call instead)
      return enc(res);
    } finally {
      if (bits & 1) res.req = liveReq;
      if (bits & 2) wrapper._res = liveRes;
    }
  }
  G.__nr_lastError = () => lastError;
  G.__nr_beside = () => besideBits;
  G.__nr_define = function (kind, fn, usesNode) {
    if (kind === "body") { body = fn; bodyNode = usesNode !== false; } else if (kind === "setup") setup = fn; else cleanup = fn;
  };
  G.__nr_meta = function (s) {
    meta = JSON.parse(s);
    for (const k of ["id", "name", "path", "outputCount"]) NodeProto[k] = meta[k];
  };
  G.__nr_setup = function (token) {
    try {
      const p = setup(makeNode(null, token, 1));
      settle(Promise.resolve(p), token, null);
      flush();
      return 1;
    } catch (err) { try { flush(); } catch (e) { /* */ } return fail(err); }
  };
  G.__nr_cleanup = function () {
    try {
      for (const fn of closeHandlers.splice(0)) fn();
      if (cleanup) cleanup(makeNode(null, 0, 2));
      flush();
      return 0;
    } catch (err) { try { flush(); } catch (e) { /* */ } return fail(err); }
  };
  G.__nr_timer = function (id) {
    const t = timers.get(id);
    if (!t) return 0;
    if (!t[2]) timers.delete(id);
    try { t[0].apply(null, t[1]); } catch (err) {
      try { host("error", enc([errorInfo(err), {}])); } catch (e) { /* */ }
    }
    flush();
    return 0;
  };
  G.__nr_callback = function (id, args) {
    const fn = callbacks.get(id);
    if (!fn) return 0;
    callbacks.delete(id);
    try { fn.apply(null, dec(args)); } catch (err) {
      try { host("error", enc([errorInfo(err), {}])); } catch (e) { /* */ }
    }
    flush();
    return 0;
  };
  G.__nr_flush = function () { flush(); return 0; };

  // ------------------------------------------------------------ crypto (Node's webcrypto subset)
  // Random bytes come from the host's CSPRNG (Python's secrets); Math.random is not one.
  function domError(name, message) { const e = new Error(message); e.name = name; return e; }
  function randomBytes(n) { return Uint8Array.fromBase64(hostOk(HOST("rand", String(n)))); }
  const INT_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array];
  const crypto = {
    getRandomValues(arr) {
      if (!INT_ARRAYS.some((C) => arr instanceof C)) throw domError("TypeMismatchError", "The data argument must be an integer-type TypedArray");
      if (arr.byteLength > 65536) throw domError("QuotaExceededError", "The requested length exceeds 65,536 bytes");
      if (arr.byteLength) new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(randomBytes(arr.byteLength));
      return arr;
    },
    randomUUID() {
      const b = randomBytes(16);
      b[6] = (b[6] & 0x0f) | 0x40; // version 4
      b[8] = (b[8] & 0x3f) | 0x80; // variant 10
      const h = b.toHex();
      return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
    },
  };

  // ------------------------------------------------------------ URLSearchParams (WHATWG, as Node's)
  const FORM_SAFE = /[A-Za-z0-9*\-._]/;
  function formEncode(str) {
    let out = "";
    for (const byte of utf8Encode(String(str).toWellFormed())) {
      const c = String.fromCharCode(byte);
      if (byte === 0x20) out += "+";
      else if (byte < 0x80 && FORM_SAFE.test(c)) out += c;
      else out += "%" + (byte < 16 ? "0" : "") + byte.toString(16).toUpperCase();
    }
    return out;
  }
  function formDecode(str) {
    str = str.replace(/\+/g, " ");
    if (str.indexOf("%") === -1) return str;
    const bytes = utf8Encode(str);
    const out = [];
    for (let i = 0; i < bytes.length; i++) {
      const h = bytes[i] === 0x25 && i + 2 < bytes.length ? String.fromCharCode(bytes[i + 1], bytes[i + 2]) : "";
      if (h && /^[0-9A-Fa-f]{2}$/.test(h)) { out.push(parseInt(h, 16)); i += 2; } else out.push(bytes[i]);
    }
    return utf8Decode(Uint8Array.from(out), 0, out.length);
  }
  const PAIRS = Symbol("pairs");
  class URLSearchParams {
    constructor(init) {
      const pairs = this[PAIRS] = [];
      if (init === undefined || init === null) return;
      if (typeof init === "object" || typeof init === "function") {
        if (typeof init[Symbol.iterator] === "function") {
          for (const pair of init) {
            const p = Array.from(pair);
            if (p.length !== 2) throw new TypeError("Each query pair must be an iterable [name, value] tuple");
            pairs.push([String(p[0]), String(p[1])]);
          }
        } else for (const k of Object.keys(init)) pairs.push([k, String(init[k])]);
        return;
      }
      let q = String(init);
      if (q[0] === "?") q = q.slice(1);
      for (const part of q.split("&")) {
        if (part === "") continue;
        const i = part.indexOf("=");
        pairs.push(i === -1 ? [formDecode(part), ""] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
      }
    }
    get size() { return this[PAIRS].length; }
    append(name, value) { this[PAIRS].push([String(name), String(value)]); }
    delete(name, value) {
      name = String(name);
      this[PAIRS] = this[PAIRS].filter(([k, v]) => k !== name || (value !== undefined && v !== String(value)));
    }
    get(name) { const p = this[PAIRS].find(([k]) => k === String(name)); return p ? p[1] : null; }
    getAll(name) { return this[PAIRS].filter(([k]) => k === String(name)).map((p) => p[1]); }
    has(name, value) { return this[PAIRS].some(([k, v]) => k === String(name) && (value === undefined || v === String(value))); }
    set(name, value) {
      name = String(name); value = String(value);
      const i = this[PAIRS].findIndex(([k]) => k === name);
      if (i === -1) { this[PAIRS].push([name, value]); return; }
      this[PAIRS][i][1] = value;
      this[PAIRS] = this[PAIRS].filter(([k], j) => k !== name || j === i);
    }
    sort() { this[PAIRS].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); } // stable, by code units
    forEach(fn, thisArg) { for (const [k, v] of this[PAIRS]) fn.call(thisArg, v, k, this); }
    keys() { return this[PAIRS].map((p) => p[0])[Symbol.iterator](); }
    values() { return this[PAIRS].map((p) => p[1])[Symbol.iterator](); }
    entries() { return this[PAIRS].map((p) => [p[0], p[1]])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this[PAIRS].map(([k, v]) => formEncode(k) + "=" + formEncode(v)).join("&"); }
  }
  Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag, { value: "URLSearchParams" });

  // ------------------------------------------------------------ the sandbox's globals
  const globals = {
    Buffer, RED, context, flow: flowCtx, global: globalCtx, env, console, crypto, URLSearchParams,
    setTimeout, clearTimeout: clearTimer, setInterval, clearInterval: clearTimer,
    setImmediate: (fn, ...args) => addTimer(fn, 0, args, false), clearImmediate: clearTimer,
  };
  for (const k in globals) Object.defineProperty(G, k, { value: globals[k], writable: true, configurable: true });
})(globalThis);
