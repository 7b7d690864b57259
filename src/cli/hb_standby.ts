import { standbyTool } from './standby-tool.js';

process.exitCode = await standbyTool('hb_standby', process.argv.slice(2));
