/**
 * The local API's wire protocol (gsictl <-> gsi-routerd over a Unix socket): newline-delimited JSON,
 * one object per line.
 *
 *   request:  {"id": 1, "method": "show.bgp.neighbor", "params": {"address": "169.254.6.2"}}
 *   response: {"id": 1, "result": ...}  or  {"id": 1, "error": {"code": "not-found", "message": "..."}}
 *
 * Requests on one connection are answered in order. Methods are the gsictl commands, dotted; error
 * codes are stable strings (scripts may match on them), messages name the field and the reason.
 */

/** Where the daemon listens unless told otherwise. The directory is created 0700, the socket 0600. */
export const DEFAULT_SOCKET_DIR = '/run/gsi-router'
export const DEFAULT_SOCKET_PATH = `${DEFAULT_SOCKET_DIR}/gsi-routerd.sock`

export const METHODS = [
  'status',
  'show.bgp.summary',
  'show.bgp.neighbor',
  'show.bgp.route',
  'show.tunnels',
  'show.fib',
  'show.config',
  'show.gateway',
  'show.report',
  'clear.bgp.neighbor',
  'set.log-level',
  'shutdown',
] as const
export type Method = (typeof METHODS)[number]

export const ErrorCode = {
  /** Not JSON, not an object, no id or method. */
  BadRequest: 'bad-request',
  UnknownMethod: 'unknown-method',
  /** A parameter is missing, of the wrong type or out of range; the message names it. */
  InvalidParams: 'invalid-params',
  /** The neighbor (or other named object) does not exist. */
  NotFound: 'not-found',
  /** The request line exceeded MAX_REQUEST_BYTES; the connection is closed. */
  TooLarge: 'too-large',
  /** The daemon failed while answering (a bug or a kernel error); the message says what. */
  Internal: 'internal',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export interface ApiRequest {
  readonly id: number | string
  readonly method: string
  readonly params?: Record<string, unknown>
}

export interface ApiErrorBody {
  readonly code: string
  readonly message: string
}

export type ApiResponse =
  | { readonly id: number | string | null; readonly result: unknown }
  | { readonly id: number | string | null; readonly error: ApiErrorBody }

/** Requests are small (a query); a longer line is a client bug or abuse. */
export const MAX_REQUEST_BYTES = 64 * 1024

/** An error the server reports as {code, message}. */
export class ApiError extends Error {
  readonly code: string
  constructor(code: string, message: string) {
    super(message)
    this.name = 'ApiError'
    this.code = code
  }
}
