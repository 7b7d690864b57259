// Operator tool kept under Heartbeat's name; it talks to the daemon's control socket,
// which arrives with the engine issue. Until then it says so and fails like a stopped daemon would.
process.stderr.write('hb_takeover: not yet available in this Vigil build (needs the Vigil daemon)\n');
process.exitCode = 3;
