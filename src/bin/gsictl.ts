#!/usr/bin/env node
/**
 * gsictl: the gsi-router operator CLI (show bgp summary | neighbor | route, show tunnels | fib |
 * config | gateway, clear bgp neighbor, set log-level), talking to gsi-routerd over its local socket.
 * Entry point: the only place that reads argv and the environment and sets the exit status; the
 * command itself is src/cli/gsictl.ts.
 */
import { runGsictl } from '../cli/gsictl.js'

process.exitCode = await runGsictl(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env })
