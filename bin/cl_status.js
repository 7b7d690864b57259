#!/usr/bin/env node
import '../dist/src/cli/cl_status.js';
