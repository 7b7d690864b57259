#!/usr/bin/env node
import '../dist/src/cli/hb_takeover.js';
