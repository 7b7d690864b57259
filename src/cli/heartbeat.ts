import { heartbeatCompat } from './heartbeat-compat.js';

process.exitCode = await heartbeatCompat(process.argv.slice(2));
