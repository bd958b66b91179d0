// Web Crypto for the link password (src/core/access.rs): PBKDF2-HMAC-SHA256
// runs in the runtime's native code, off the wasm instance.

const te = new TextEncoder();

/** PBKDF2-HMAC-SHA256 of `password` → 32 bytes. */
export async function pbkdf2_sha256(password, salt, iterations) {
  const key = await crypto.subtle.importKey('raw', te.encode(password), 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256);
  return new Uint8Array(bits);
}
