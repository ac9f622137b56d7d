/**
 * The session and routes of the live GoBGP interop test, as plain data: live-gobgp-run.ts builds
 * our messages from them with the codec, live-gobgp.test.ts checks what gobgp reports against them.
 */
export const LIVE = {
  gobgpAsn: 64512,
  gobgpRouterId: '192.0.2.50',
  gobgpAddress: '127.0.0.2',
  ourAsn: 64513,
  ourAddress: '127.0.0.21',
  vpn: {
    prefix: '172.16.50.0/24',
    rd: { admin: 64513, assigned: 50 },
    label: 5000,
    nextHop: '192.0.2.21',
    med: 33,
    communityLow: 1,
    routeTargets: {
      as2: { admin: 64513, assigned: 50 },
      ipv4: { admin: '10.0.0.1', assigned: 5 },
      as4: { admin: 4200000001, assigned: 7 },
    },
    tunnelType: 13,
  },
  unicast: {
    prefix: '10.50.0.0/16',
    nextHop: '192.0.2.21',
    large: { global: 64513, local1: 7, local2: 8 },
  },
} as const
