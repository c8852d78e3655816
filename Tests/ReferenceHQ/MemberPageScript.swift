/// The member page's script: vanilla JavaScript, no packages.
///
/// On first visit it makes a non-extractable P-256 key with WebCrypto and keeps it in IndexedDB
/// (database `ag-member`, store `keys`, key the member id), registers the public half at
/// `POST /m/{member}/credential`, and caches the bound credential beside it, renewing it in its
/// last 5 minutes. Every 10 s it signs a proof (ES256 over `["AG2 proof v2", SHA-256(credential), now]`)
/// and shows the AG2 v2 code `"AG2:" + Base45(CBOR [credential, now, signature])` through `/qr.svg`.
///
/// State for tests: `window.agState = {ready, text, error}`, the text in `<output id="ag2-text">`,
/// and `document.title` "AG2 ready" once the first code has loaded. Outside a browser (node, no
/// `document`) it only defines `globalThis.agMember`, its pure functions, for tests.
enum MemberPageScript {
    static let source = #"""
        "use strict";
        globalThis.agMember = (() => {
          const REFRESH_S = 10;       // a proof is redrawn this often
          const RENEW_BEFORE_S = 300; // the credential is renewed in its last 5 minutes
          const RETRY_S = 60;         // a failed renewal waits this long while the old credential lasts
          const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

          // CBOR (RFC 8949), deterministic: shortest heads, map keys sorted by their encoding.
          const be32 = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
          function head(major, n) {
            const m = major << 5;
            if (n < 24) return [m | n];
            if (n < 0x100) return [m | 24, n];
            if (n < 0x10000) return [m | 25, n >> 8, n & 255];
            if (n < 0x100000000) return [m | 26, ...be32(n)];
            return [m | 27, ...be32(Math.floor(n / 0x100000000)), ...be32(n >>> 0)];
          }
          function compareBytes(a, b) {
            for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
            return a.length - b.length;
          }
          // Integers, Uint8Array (bstr), strings (tstr), arrays and Maps; returns an array of bytes.
          function encode(value) {
            if (typeof value === "number") {
              if (!Number.isSafeInteger(value)) throw new Error("CBOR: not an integer: " + value);
              return value >= 0 ? head(0, value) : head(1, -1 - value);
            }
            if (value instanceof Uint8Array) return head(2, value.length).concat(Array.from(value));
            if (typeof value === "string") {
              const bytes = new TextEncoder().encode(value);
              return head(3, bytes.length).concat(Array.from(bytes));
            }
            if (Array.isArray(value)) {
              return value.reduce((out, item) => out.concat(encode(item)), head(4, value.length));
            }
            if (value instanceof Map) {
              const entries = [...value].map(([k, v]) => [encode(k), encode(v)]);
              entries.sort((a, b) => compareBytes(a[0], b[0]));
              return entries.reduce((out, [k, v]) => out.concat(k, v), head(5, entries.length));
            }
            throw new Error("CBOR: cannot encode " + typeof value);
          }
          const cbor = (value) => new Uint8Array(encode(value));

          // Base45 (RFC 9285): two bytes to three characters, a last odd byte to two.
          function base45(bytes) {
            let out = "";
            for (let i = 0; i + 1 < bytes.length; i += 2) {
              const n = bytes[i] * 256 + bytes[i + 1];
              out += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
            }
            if (bytes.length % 2 === 1) {
              const n = bytes[bytes.length - 1];
              out += B45[n % 45] + B45[Math.floor(n / 45)];
            }
            return out;
          }

          function fromBase64url(text) {
            const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
            return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          }

          // The holder's proof (AG2 v2, docs/token.md): ES256 over ["AG2 proof v2", SHA-256(credential), now].
          async function signature(privateKey, credential, now) {
            const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", credential));
            const toBeSigned = cbor(["AG2 proof v2", digest, now]);
            // WebCrypto's ECDSA signature is raw r || s, as the profile wants it.
            return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, toBeSigned));
          }

          async function ag2Text(privateKey, credential, now) {
            return "AG2:" + base45(cbor([credential, now, await signature(privateKey, credential, now)]));
          }

          class PageError extends Error {
            constructor(message, retry) { super(message); this.retry = retry; }
          }

          // Registers the public key; `origin` is "" in the page, HQ's URL under node.
          async function register(origin, member, publicKey) {
            const jwk = await crypto.subtle.exportKey("jwk", publicKey);
            let response;
            try {
              response = await fetch(origin + "/m/" + encodeURIComponent(member) + "/credential", {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ public_key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } }),
              });
            } catch (e) {
              throw new PageError("Cannot reach HQ. Check your connection; trying again…", true);
            }
            let body = {};
            try { body = await response.json(); } catch (e) { body = {}; }
            if (!response.ok) {
              const why = body.message || "HTTP " + response.status;
              throw new PageError("HQ refused to set up this device: " + why, response.status >= 500);
            }
            if (typeof body.credential !== "string" || typeof body.expires_at !== "number") {
              throw new PageError("HQ's answer was not a credential. Reload the page to try again.", false);
            }
            // A phone clock far from HQ's would make every proof stale at the door.
            const offset = typeof body.issued_at === "number" ? body.issued_at - Date.now() / 1000 : 0;
            return {
              credential: fromBase64url(body.credential),
              expiresAt: body.expires_at,
              clockOffset: Math.abs(offset) > 5 ? Math.round(offset) : 0,
            };
          }

          // IndexedDB "ag-member"/"keys", keyed by member id; in memory when the browser has none.
          async function openStore() {
            try {
              const db = await new Promise((resolve, reject) => {
                const request = indexedDB.open("ag-member", 1);
                request.onupgradeneeded = () => request.result.createObjectStore("keys");
                request.onsuccess = () => resolve(request.result);
                request.onerror = () => reject(request.error);
              });
              const run = (mode, action) => new Promise((resolve, reject) => {
                const tx = db.transaction("keys", mode);
                const request = action(tx.objectStore("keys"));
                tx.oncomplete = () => resolve(request.result);
                tx.onerror = tx.onabort = () => reject(tx.error);
              });
              return {
                persistent: true,
                get: (key) => run("readonly", (s) => s.get(key)),
                put: (key, value) => run("readwrite", (s) => s.put(value, key)),
              };
            } catch (e) {
              const memory = new Map();
              return {
                persistent: false,
                get: async (key) => memory.get(key),
                put: async (key, value) => { memory.set(key, value); },
              };
            }
          }

          async function start(member) {
            const $ = (id) => document.getElementById(id);
            const ui = { qr: $("qr"), status: $("status"), countdown: $("countdown"), text: $("ag2-text") };
            const state = (window.agState = { ready: false, text: null, error: null });
            const say = (message, isError) => {
              ui.status.textContent = message;
              ui.status.className = isError ? "status error" : "status";
              ui.status.hidden = false;
            };
            const fail = (message) => {
              state.error = message;
              ui.qr.hidden = true;
              ui.countdown.textContent = "";
              say(message, true);
            };
            if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
              fail("This browser cannot make a key for your pass here. Open the page over HTTPS "
                + "(or on localhost) in an up-to-date browser.");
              return;
            }
            say("Setting up this device…", false);
            let store, record;
            try {
              store = await openStore();
              record = await store.get(member);
              if (!record || !record.privateKey) {
                // Non-extractable: the private key never leaves this browser.
                const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
                record = { privateKey: pair.privateKey, publicKey: pair.publicKey };
                await store.put(member, record);
              }
            } catch (e) {
              fail("This device could not make its key: " + (e && e.message ? e.message : e));
              return;
            }
            const clock = () => Math.floor(Date.now() / 1000 + (record.clockOffset || 0));
            let lastTry = 0;
            async function renewIfDue() {
              const now = clock();
              const valid = record.credential && record.expiresAt > now;
              if (valid && record.expiresAt - now > RENEW_BEFORE_S) return;
              if (valid && Date.now() / 1000 - lastTry < RETRY_S) return;
              lastTry = Date.now() / 1000;
              try {
                Object.assign(record, await register("", member, record.publicKey));
                await store.put(member, record);
              } catch (e) {
                if (!valid) throw e; // the old credential still works until it expires
              }
            }
            ui.qr.onload = () => {
              ui.qr.hidden = false;
              ui.status.hidden = true;
              if (!state.ready) {
                state.ready = true;
                document.title = "AG2 ready";
              }
            };
            ui.qr.onerror = () => {
              ui.qr.hidden = true;
              say("HQ could not draw the code; trying again…", true);
            };
            let left = 0;
            let busy = false;
            let stopped = false;
            async function tick() {
              if (busy || stopped) return;
              if (left <= 0) {
                busy = true;
                try {
                  await renewIfDue();
                  const text = await ag2Text(record.privateKey, record.credential, clock());
                  state.text = text;
                  state.error = null;
                  ui.text.textContent = text;
                  ui.qr.src = "/qr.svg?text=" + encodeURIComponent(text);
                  left = REFRESH_S;
                } catch (e) {
                  if (e instanceof PageError && e.retry) {
                    state.error = e.message;
                    ui.qr.hidden = true;
                    say(e.message, true);
                    left = REFRESH_S;
                  } else {
                    stopped = true;
                    fail(e && e.message ? e.message : String(e));
                    return;
                  }
                } finally {
                  busy = false;
                }
              }
              ui.countdown.textContent = state.text && !state.error ? "New code in " + left + " s" : "";
              left -= 1;
            }
            // Keep the screen on while the pass shows, where the browser allows it.
            const keepAwake = () => { try { navigator.wakeLock.request("screen").catch(() => {}); } catch (e) {} };
            keepAwake();
            document.addEventListener("visibilitychange", () => {
              if (document.hidden) return;
              keepAwake();
              left = 0; // a phone back from sleep shows a fresh code at once
              tick();
            });
            await tick();
            setInterval(tick, 1000);
          }

          return { cbor, base45, fromBase64url, signature, ag2Text, register, start };
        })();
        if (typeof document !== "undefined") agMember.start(document.body.dataset.member);
        """#
}
