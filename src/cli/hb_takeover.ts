import { standbyTool } from './standby-tool.js';

process.exitCode = await standbyTool('hb_takeover', process.argv.slice(2));
