/**
 * The BGP wire codec's public face: every message, capability, attribute, family and helper, pure
 * (no I/O, logging or metrics). Other parts import from here, not from the modules.
 *
 * Conventions (dns-packet style triplets, see docs/architecture.md "Conventions"):
 * - Message codecs work on whole messages, header included: `encodeX(value, buf, offset): bytes
 *   written`, `decodeX(buf, offset, length[, ctx])`, `xEncodingLength(value[, ctx])`. Decoders expect
 *   a header already checked (by Framer or decodeMessage) and throw BgpError, never anything else.
 * - `decodeMessage`/`encodeMessage` handle any message by its `type`; `Framer` cuts a TCP stream.
 * - UPDATE has a bulk path (decodeUpdateBulk, encodeUpdatesBulk) that hands prefixes out as numbers.
 * - Negotiated session state travels in a CodecContext (context.ts), never in hidden state.
 */
export * from './afi.js'
export * from './context.js'
export * from './errors.js'
export * from './header.js'
export * from './capabilities.js'
export * from './open.js'
export * from './notification.js'
export * from './keepalive.js'
export * from './route-refresh.js'
export * from './as-path.js'
export * from './attributes.js'
export * from './communities.js'
export * from './ext-communities.js'
export * from './nlri.js'
export * from './update.js'
export * from './bulk.js'
export * from './message.js'
export * from './framer.js'
// Named explicitly: communities.ts has its own readU32/writeU32 (writeU32 returning void there);
// the cursor's versions, returning the next offset, are the ones the public face offers.
export { Cursor, shortReadError, truncated, readU16, readU32, writeU16, writeU24, writeU32, type ShortReadError } from './cursor.js'
