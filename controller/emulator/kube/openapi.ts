/**
 * The OpenAPI v2 document of the Kubernetes API emulator, as kubectl 1.20 fetches it before it
 * validates a manifest on the client (`kubectl apply`/`create`, `--validate=true` being the default):
 * `GET /openapi/v2` with `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, the
 * document encoded as gnostic's openapi.v2.Document protocol buffer. Without an answer kubectl
 * refuses to apply anything unless told `--validate=false`.
 *
 * The document carries no definitions: kubectl validates a kind on the client only when the
 * document defines it (by its x-kubernetes-group-version-kind), so it leaves every object to the
 * server, where the emulator validates custom resources against their CRD schemas (schema.ts) and
 * answers 422 Invalid naming the field, as kube-apiserver does.
 */

/** protobuf wire format: a length-delimited field (wire type 2) with its tag. */
function lengthDelimited(field: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload])
}

function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7 }
  out.push(n)
  return Buffer.from(out)
}

const text = (field: number, s: string): Buffer => lengthDelimited(field, Buffer.from(s, 'utf8'))

/**
 * Media type of the protobuf form as kubectl asks for it. The answer is labelled
 * application/octet-stream: Go's mime parser, which client-go runs on every Content-Type, refuses
 * the "@" in this one.
 */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf'

/**
 * openapi.v2.Document { swagger = 1; info = 2 (Info { title = 1; version = 2 }) } and, for clients
 * that ask for JSON, the same document as JSON.
 */
export function openApiV2(version: string): { protobuf: Buffer; json: Record<string, unknown> } {
  const title = 'Kubernetes'
  const info = Buffer.concat([text(1, title), text(2, version)])
  return {
    protobuf: Buffer.concat([text(1, '2.0'), lengthDelimited(2, info)]),
    json: { swagger: '2.0', info: { title, version }, paths: {}, definitions: {} },
  }
}
