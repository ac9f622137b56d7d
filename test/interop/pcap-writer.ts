/**
 * Writes BGP byte streams into a classic libpcap file (LINKTYPE_ETHERNET) so that tshark can decode
 * them: each payload is wrapped in Ethernet II, IPv4 (RFC 791, header checksum computed) and TCP
 * (RFC 9293, checksum over the pseudo-header computed, PSH+ACK, sequence numbers running on so
 * Wireshark's stream reassembly sees one clean byte stream per direction). Nothing touches a network:
 * this only builds a file.
 */
import { writeFileSync } from 'node:fs'

export interface PcapPacket {
  /** TCP payload: one or more BGP messages. */
  payload: Uint8Array
  /** Direction: false = from the client (port `clientPort`) to the server (port 179), true = back. */
  fromServer?: boolean
}

export interface PcapStreamOptions {
  clientIp?: string
  serverIp?: string
  clientPort?: number
  serverPort?: number
}

function ip4(addr: string): number[] {
  return addr.split('.').map(Number)
}

function onesComplementSum(bytes: Uint8Array, initial = 0): number {
  let sum = initial
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number)
  if (bytes.length & 1) sum += (bytes[bytes.length - 1] as number) << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return sum
}

/** Ethernet + IPv4 + TCP frame around `payload`. */
export function buildFrame(
  payload: Uint8Array,
  src: string,
  dst: string,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  ipId: number,
): Buffer {
  const tcpLen = 20 + payload.length
  const ipLen = 20 + tcpLen
  if (ipLen > 0xffff) throw new Error(`pcap: payload of ${payload.length} bytes does not fit one IPv4 packet`)
  const frame = Buffer.alloc(14 + ipLen)
  // Ethernet II: locally administered MACs, EtherType IPv4
  Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00]).copy(frame, 0)
  const ip = frame.subarray(14, 34)
  ip[0] = 0x45
  ip.writeUInt16BE(ipLen, 2)
  ip.writeUInt16BE(ipId & 0xffff, 4)
  ip.writeUInt16BE(0x4000, 6) // DF
  ip[8] = 64
  ip[9] = 6
  Buffer.from(ip4(src)).copy(ip, 12)
  Buffer.from(ip4(dst)).copy(ip, 16)
  ip.writeUInt16BE(~onesComplementSum(ip) & 0xffff, 10)
  const tcp = frame.subarray(34, 34 + tcpLen)
  tcp.writeUInt16BE(sport, 0)
  tcp.writeUInt16BE(dport, 2)
  tcp.writeUInt32BE(seq >>> 0, 4)
  tcp.writeUInt32BE(ack >>> 0, 8)
  tcp[12] = 5 << 4
  tcp[13] = 0x18 // PSH, ACK
  tcp.writeUInt16BE(0xffff, 14)
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(tcp, 20)
  const pseudo = Buffer.alloc(12)
  Buffer.from(ip4(src)).copy(pseudo, 0)
  Buffer.from(ip4(dst)).copy(pseudo, 4)
  pseudo[9] = 6
  pseudo.writeUInt16BE(tcpLen, 10)
  tcp.writeUInt16BE(~onesComplementSum(tcp, onesComplementSum(pseudo)) & 0xffff, 16)
  return frame
}

/** A pcap file holding the packets of one TCP connection, in order. */
export function buildPcap(packets: readonly PcapPacket[], o: PcapStreamOptions = {}): Buffer {
  const client = o.clientIp ?? '192.0.2.1'
  const server = o.serverIp ?? '192.0.2.2'
  const cport = o.clientPort ?? 40179
  const sport = o.serverPort ?? 179
  let cseq = 1000
  let sseq = 5000
  const parts: Buffer[] = []
  const global = Buffer.alloc(24)
  global.writeUInt32LE(0xa1b2c3d4, 0)
  global.writeUInt16LE(2, 4)
  global.writeUInt16LE(4, 6)
  global.writeUInt32LE(0xffff, 16) // snaplen
  global.writeUInt32LE(1, 20) // LINKTYPE_ETHERNET
  parts.push(global)
  packets.forEach((p, i) => {
    const frame = p.fromServer
      ? buildFrame(p.payload, server, client, sport, cport, sseq, cseq, i + 1)
      : buildFrame(p.payload, client, server, cport, sport, cseq, sseq, i + 1)
    if (p.fromServer) sseq += p.payload.length
    else cseq += p.payload.length
    const rec = Buffer.alloc(16)
    rec.writeUInt32LE(1_700_000_000 + i, 0)
    rec.writeUInt32LE(0, 4)
    rec.writeUInt32LE(frame.length, 8)
    rec.writeUInt32LE(frame.length, 12)
    parts.push(rec, frame)
  })
  return Buffer.concat(parts)
}

export function writePcap(file: string, packets: readonly PcapPacket[], o: PcapStreamOptions = {}): void {
  writeFileSync(file, buildPcap(packets, o))
}
